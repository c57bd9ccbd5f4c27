/** scripts/load's output: the progress line every interval, the summary, and the JSON of it all. */
import { FD_SLACK, rssVerdict, type FdVerdict, type ProcSample, type RssVerdict } from "./footprint.ts";
import type { LoadOptions } from "./config.ts";
import type { LoadRun } from "./run.ts";
import type { ErrorKind, LoadStats } from "./stats.ts";

const MiB = 1024 * 1024;

function errorsCol(stats: LoadStats): string {
  const total = stats.errorTotal();
  if (!total) return "errors 0";
  return `errors ${total} (${[...stats.errors].map(([k, e]) => `${k} ×${e.count}`).join(", ")})`;
}

/** One line: elapsed, work done (and its rate since the last line), errors, latency of this interval, each process's RSS and fds. */
export function progressLine(t: number, stats: LoadStats, before: Record<string, number>, procs: Record<string, ProcSample>, watchesOpen: number): string {
  const c = (k: string) => stats.counts[k] ?? 0;
  const d = (k: string) => c(k) - (before[k] ?? 0);
  const lat = stats.takeInterval().summary();
  return [
    `${t.toFixed(0).padStart(5)} s`,
    `small ${c("small")} (+${d("small")}) p50/p95/p99 ${lat.p50}/${lat.p95}/${lat.p99} ms`,
    `watches ${watchesOpen} open, ${c("watchEvents")} events (+${d("watchEvents")}), ${c("watchReopens")} re-opened`,
    `writes ${c("writes")}`,
    `exec ${c("execSessions")} sessions, ${c("execRoundTrips")} round trips (+${d("execRoundTrips")})`,
    `pf ${(c("pfBytes") / MiB).toFixed(0)} MiB (+${(d("pfBytes") / MiB).toFixed(1)}), ${c("pfConnections")} conns`,
    errorsCol(stats),
    Object.entries(procs).map(([n, s]) => `${n} ${s.rssMiB} MiB ${s.fds} fds`).join(" "),
  ].join(" | ");
}

export interface LoadSummary {
  mode: string;
  ok: boolean;
  seconds: number;
  options: LoadOptions;
  counts: Record<string, number>;
  progress: Record<string, boolean>;
  watchesLive: number;
  h2Sessions: number;
  errors: { total: number; byKind: Record<string, ErrorKind> };
  latencyMs: ReturnType<LoadStats["latency"]["summary"]>;
  processes: Record<string, { rss: RssVerdict; fds: FdVerdict; samples: ProcSample[] }>;
  flat: boolean;
  hung: string[];
  failures: string[];
}

export function summarize(mode: string, o: LoadOptions, r: LoadRun): LoadSummary {
  const counts = r.stats.counts;
  const c = (k: string) => counts[k] ?? 0;
  const progress = {
    small: !o.small || c("small") > 0,
    watches: !o.watches || (c("watchEvents") > 0 && r.watchesLive === o.watches),
    exec: !o.exec || c("execRoundTrips") > 0,
    pf: !o.pf || c("pfBytes") > 0,
  };
  const processes: LoadSummary["processes"] = {};
  for (const [n, samples] of Object.entries(r.samples)) {
    const before = r.fdsBefore[n]!;
    const after = r.fdsAfter[n]!;
    processes[n] = {
      rss: rssVerdict(samples, o.rssDrift),
      fds: { before, peak: Math.max(before, ...samples.map((s) => s.fds)), after, returned: after <= before + FD_SLACK },
      samples,
    };
  }
  const flat = Object.values(processes).every((p) => p.rss.flat && p.fds.returned);
  const total = r.stats.errorTotal();
  const failures = [
    ...(total ? [`${total} error(s)`] : []),
    ...Object.entries(progress).filter(([, v]) => !v).map(([k]) => `no progress: ${k}`),
    ...(r.hung.length ? [`did not stop: ${r.hung.join(", ")}`] : []),
    ...(o.flatCheck && !flat ? ["RSS or fds not flat"] : []),
  ];
  return {
    mode, ok: failures.length === 0, seconds: +r.seconds.toFixed(1), options: o, counts, progress, watchesLive: r.watchesLive, h2Sessions: r.h2Sessions,
    errors: { total, byKind: Object.fromEntries(r.stats.errors) }, latencyMs: r.stats.latency.summary(), processes, flat, hung: r.hung, failures,
  };
}

export function summaryLines(s: LoadSummary): string[] {
  const c = (k: string) => s.counts[k] ?? 0;
  const rate = (k: string) => (c(k) / s.seconds).toFixed(0);
  const lines = [
    `== load summary (${s.mode}, ${s.seconds} s): ${s.ok ? "OK" : `FAILED: ${s.failures.join("; ")}`}`,
    `small GETs ${c("small")} (${rate("small")}/s, ${s.options.small} loops)  latency p50 ${s.latencyMs.p50} ms  p95 ${s.latencyMs.p95} ms  p99 ${s.latencyMs.p99} ms  max ${s.latencyMs.max} ms`,
    `watches ${s.options.watches}: opened ${c("watchOpens")}, re-opened ${c("watchReopens")} (server timeouts${c("watchExpired") ? `, ${c("watchExpired")} expired` : ""}), ${c("watchEvents")} events (${rate("watchEvents")}/s), ${s.watchesLive}/${s.options.watches} received events; ${c("writes")} writes; ${s.h2Sessions} HTTP/2 sessions`,
    `exec ${s.options.exec}: ${c("execSessions")} sessions completed, ${c("execRoundTrips")} round trips, ${(c("execBytes") / MiB).toFixed(1)} MiB echoed`,
    `port-forward ${s.options.pf}: ${c("pfConnections")} connections, ${(c("pfBytes") / MiB).toFixed(1)} MiB echoed`,
    `errors ${s.errors.total}${s.errors.total ? ":" : " (the goal)"}`,
    ...Object.entries(s.errors.byKind).map(([k, e]) => `  ${k} ×${e.count} (first at ${e.firstAtS} s): ${e.sample.replace(/\s+/g, " ").slice(0, 300)}`),
  ];
  for (const [n, p] of Object.entries(s.processes)) {
    const r = p.rss;
    const series = p.samples.map((x) => x.rssMiB).join(" ");
    lines.push(`${n.padEnd(9)} RSS ${series} MiB`);
    lines.push(`${n.padEnd(9)} RSS plateau from ${r.plateauFromS} s: ${r.firstHalfMiB} → ${r.secondHalfMiB} MiB (${r.drift >= 0 ? "+" : ""}${(r.drift * 100).toFixed(1)} %, ${r.miBPerMinute} MiB/min): ${r.tooShort ? "run too short to judge" : r.flat ? "flat" : `NOT FLAT (allowed +${(s.options.rssDrift * 100).toFixed(0)} %)`}`);
    lines.push(`${n.padEnd(9)} fds ${p.fds.before} before, peak ${p.fds.peak}, ${p.fds.after} after: ${p.fds.returned ? "returned" : `NOT RETURNED (allowed +${FD_SLACK})`}  (over time: ${p.samples.map((x) => x.fds).join(" ")})`);
  }
  if (!s.options.flatCheck) lines.push("(--no-flat-check: the flatness verdict does not decide the exit code)");
  return lines;
}
