/**
 * Memory over time (`node scripts/bench-footprint.ts [--minutes 10 | --loops N]`, `npm run bench:footprint`).
 *
 * Brings up the real kube-env and the built `dist/ward gateway` + `dist/ward agent` on their default
 * settings (as bench-proxy does), measures both idle, then loops bench-proxy's phases through Ward
 * — small GETs at c=64, a LIST of 5,000 ConfigMaps, `logs -f`, exec stdout and port-forward, 32 MiB
 * each — until the time or loop count is up. After each phase it prints each process's RSS, its peak
 * during that phase (VmHWM, reset between phases) and its open file descriptors. The summary compares
 * the RSS after the first loop with the RSS after the last, and the second half of the run alone
 * (RSS climbs over the first minute or two while glibc's heap and V8's old space settle, then
 * stays): a relay that retains nothing stays flat.
 * Last line: one JSON object with every sample.
 *
 * WARD_BENCH_NODE_OPTIONS adds Node options to both processes (later ones win over the defaults,
 * e.g. "--initial-old-space-size=32"), to measure an alternative against the defaults. A V8 flag
 * that is not in NODE_FLAGS also makes V8 reject the parts' code caches (about 10 MiB more at idle):
 * to weigh a flag for memory, build with it in cmd/node_flags.ts instead.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startKubeEnv, type KubeEnv } from "../test/helpers/kube-env.ts";
import type { Ward } from "../test/helpers/ward.ts";
import { MiB, log } from "./bench-proxy/config.ts";
import { cpuMs, openFds, peakRss, resetPeakRss } from "./bench-proxy/measure.ts";
import { killChildren } from "./bench-proxy/processes.ts";
import { startBenchWard, wardSide } from "./bench-proxy/sides.ts";
import { appendBigLog, createConfigMaps, execThroughput, kubectlExecRaces, listConfigMaps, logsFollow, portForwardThroughput, smallGetC64 } from "./bench-proxy/workloads.ts";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
};
const LOOPS = arg("--loops");
const MINUTES = LOOPS === undefined ? (arg("--minutes") ?? 10) : Infinity;
const BYTES = 32 * MiB;
/** `--heap`: both processes serve /metrics (prom-client, which costs a few MiB itself) and each sample adds V8's heap and external figures. */
const HEAP = process.argv.includes("--heap");
const METRICS = { gateway: "127.0.0.1:18501", agent: "127.0.0.1:18502" };

export interface Sample {
  /** Seconds since the first loop began. */
  t: number;
  loop: number;
  phase: string;
  /** MiB: RSS now, its peak during the phase, and its anonymous / file-backed parts now. */
  rss: Record<string, { rss: number; peak: number; anon: number; file: number; fds: number; cpuMs: number; heap?: string }>;
}

function memory(pid: number): { rss: number; peak: number; anon: number; file: number; fds: number; cpuMs: number } {
  const m = peakRss(pid);
  const mib = (kib: number) => +(kib / 1024).toFixed(1);
  return { rss: mib(m.rssKiB), peak: mib(m.hwmKiB), anon: mib(m.anonKiB), file: mib(m.fileKiB), fds: openFds(pid), cpuMs: cpuMs(pid) };
}

/** V8's heap (used / total) and external memory, in MiB, from a process's /metrics. */
async function heapFigures(addr: string): Promise<string> {
  const m = await (await fetch(`http://${addr}/metrics`)).text();
  const v = (x: string) => (Number(m.match(new RegExp(`^${x} (\\S+)`, "m"))?.[1] ?? 0) / MiB).toFixed(1);
  const space = (n: string) => (Number(m.match(new RegExp(`^nodejs_heap_space_size_total_bytes\\{space="${n}"\\} (\\S+)`, "m"))?.[1] ?? 0) / MiB).toFixed(1);
  return `heap ${v("nodejs_heap_size_used_bytes")}/${v("nodejs_heap_size_total_bytes")} (new ${space("new")}, old ${space("old")}, large ${space("large_object")}) ext ${v("nodejs_external_memory_bytes")}`;
}

let kube: KubeEnv | undefined;
let ward: Ward | undefined;
let dir: string | undefined;

async function cleanup(): Promise<void> {
  killChildren();
  await ward?.stop().catch(() => {});
  await kube?.stop().catch(() => {});
  if (dir) rmSync(dir, { recursive: true, force: true });
  ward = kube = dir = undefined;
}

async function main(): Promise<void> {
  kube = await startKubeEnv();
  const k = kube;
  dir = mkdtempSync(join(tmpdir(), "ward-bench-footprint-"));
  ward = await startBenchWard(k, dir, HEAP ? ["--metrics-listen", METRICS.gateway] : [], HEAP ? ["--metrics-listen", METRICS.agent] : []);
  const { target } = await wardSide(ward);
  const procs = { gateway: ward.gateway.child.pid!, agent: ward.agent.child.pid! };
  const samples: Sample[] = [];
  const t0 = Date.now();
  const lastCpu: Record<string, number> = {};
  const sample = async (loop: number, phase: string) => {
    const s: Sample = { t: +((Date.now() - t0) / 1000).toFixed(1), loop, phase, rss: {} };
    for (const [n, pid] of Object.entries(procs)) {
      s.rss[n] = memory(pid);
      resetPeakRss(pid);
      const cpu = s.rss[n]!.cpuMs;
      s.rss[n]!.cpuMs = cpu - (lastCpu[n] ?? cpu);
      lastCpu[n] = cpu;
      if (HEAP) s.rss[n]!.heap = await heapFigures(METRICS[n as keyof typeof METRICS]);
    }
    samples.push(s);
    const col = (n: string) => {
      const m = s.rss[n]!;
      return `${n} ${m.rss.toFixed(1)} MiB (peak ${m.peak.toFixed(1)}, anon ${m.anon.toFixed(1)}, file ${m.file.toFixed(1)}${m.heap ? `, ${m.heap}` : ""}) fds ${m.fds} cpu ${m.cpuMs} ms`;
    };
    console.log(`${String(s.t).padStart(6)} s  loop ${String(loop).padStart(3)}  ${phase.padEnd(12)}  ${col("gateway")}  | ${col("agent")}`);
    return s;
  };
  // Idle: connected, one member granted and served, then left alone.
  await new Promise((r) => setTimeout(r, 10_000));
  const idle = await sample(0, "idle");

  await createConfigMaps(target);
  const kubectl = k.kubectl.newest;
  const firstLoopEnd: Record<string, number> = {};
  let loop = 0;
  while ((LOOPS !== undefined && loop < LOOPS) || (LOOPS === undefined && Date.now() - t0 < MINUTES * 60_000)) {
    loop++;
    await smallGetC64(target, 3);
    await sample(loop, "small GET");
    await listConfigMaps([target]);
    await sample(loop, "LIST");
    // The pod's log starts empty each loop, so every `logs -f` moves the same bytes.
    writeFileSync(k.logFile, "");
    const marker = `footprint-end-${loop}-${Date.now()}`;
    appendBigLog(k, BYTES, marker);
    await logsFollow(target, k, marker);
    await sample(loop, "logs -f");
    await execThroughput(kubectl, target.kubeconfig!, k, BYTES);
    await sample(loop, "exec");
    await portForwardThroughput(kubectl, target.kubeconfig!, k, BYTES, "ward");
    const end = await sample(loop, "port-forward");
    if (loop === 1) for (const n of Object.keys(procs)) firstLoopEnd[n] = end.rss[n]!.rss;
  }
  const last = samples.at(-1)!;
  const summary: Record<string, unknown> = { loops: loop, seconds: last.t, kubectlExecRaces: kubectlExecRaces.count };
  if (kubectlExecRaces.count) console.log(`kubectl exec lost its first messages to its own stream race ${kubectlExecRaces.count} time(s) (kubectl < 1.33, kubernetes/kubernetes#131189); each was run again`);
  for (const n of Object.keys(procs)) {
    if (loop === 0) break;
    const peaks = samples.filter((s) => s.loop > 0).map((s) => s.rss[n]!.peak);
    const growth = last.rss[n]!.rss / firstLoopEnd[n]! - 1;
    const fdFirst = samples.find((s) => s.loop === 1 && s.phase === "port-forward")!.rss[n]!.fds;
    const cpuPerLoop = Math.round(samples.filter((s) => s.loop > 0).reduce((a, s) => a + s.rss[n]!.cpuMs, 0) / loop);
    // Steady state: glibc's heap and V8's old space settle over the first minute or two (freed
    // memory stays with the process, fragmented), so beside "last vs loop 1" the summary gives the
    // drift over the run's second half: the loop-end RSS at the half-way loop against the last.
    const ends = samples.filter((s) => s.phase === "port-forward");
    const mid = ends[Math.floor((ends.length - 1) / 2)]!;
    const drift = last.rss[n]!.rss / mid.rss[n]!.rss - 1;
    const perMin = last.t > mid.t ? ((last.rss[n]!.rss - mid.rss[n]!.rss) / (last.t - mid.t)) * 60 : 0;
    summary[n] = { secondHalf: { fromLoop: mid.loop, fromMiB: mid.rss[n]!.rss, growth: +drift.toFixed(3), miBPerMinute: +perMin.toFixed(2), flat: drift <= 0.05 }, cpuMsPerLoop: cpuPerLoop, idleMiB: idle.rss[n]!.rss, afterFirstLoopMiB: firstLoopEnd[n], afterLastLoopMiB: last.rss[n]!.rss, growth: +growth.toFixed(3), peakMiB: Math.max(...peaks), fdsAfterFirstLoop: fdFirst, fdsAfterLastLoop: last.rss[n]!.fds, flat: growth <= 0.1 };
    console.log(`${n.padEnd(8)} idle ${idle.rss[n]!.rss} MiB  after loop 1 ${firstLoopEnd[n]} MiB  after loop ${loop} ${last.rss[n]!.rss} MiB  (${growth >= 0 ? "+" : ""}${(growth * 100).toFixed(1)} %, goal within +10 %: ${growth <= 0.1 ? "met" : "MISSED"})  peak ${Math.max(...peaks)} MiB  fds ${fdFirst} → ${last.rss[n]!.fds}  CPU ${cpuPerLoop} ms/loop`);
    console.log(`${n.padEnd(8)} second half: after loop ${mid.loop} ${mid.rss[n]!.rss} MiB  after loop ${loop} ${last.rss[n]!.rss} MiB  (${drift >= 0 ? "+" : ""}${(drift * 100).toFixed(1)} %, ${perMin >= 0 ? "+" : ""}${perMin.toFixed(2)} MiB/min; flat within 5 %: ${drift <= 0.05 ? "met" : "MISSED"})`);
  }
  // WARD_BENCH_DEBUG: both processes' output (e.g. with WARD_BENCH_NODE_OPTIONS=--trace-gc) to files.
  if (process.env.WARD_BENCH_DEBUG) {
    for (const [n, p] of [["gateway", ward.gateway], ["agent", ward.agent]] as const) writeFileSync(join(tmpdir(), `ward-footprint-${n}.log`), p.output());
    log(`output in ${join(tmpdir(), "ward-footprint-{gateway,agent}.log")}`);
  }
  // `--hold S`: keep both processes up S seconds more (pids printed) to inspect them.
  const hold = arg("--hold");
  if (hold) {
    log(`holding ${hold} s: gateway pid ${procs.gateway}, agent pid ${procs.agent}`);
    await new Promise((r) => setTimeout(r, hold * 1000));
  }
  await cleanup();
  console.log(JSON.stringify({ summary, samples }));
}

for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void cleanup().finally(() => process.exit(130)));

main().then(
  () => process.exit(0),
  async (err: Error) => {
    log(`bench-footprint failed: ${err.stack ?? err.message}`);
    await cleanup();
    process.exit(1);
  },
);
