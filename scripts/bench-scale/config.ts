/**
 * bench-scale's settings: the command line (--quick, --only) and the sizes.
 *
 * Imported first by scripts/bench-scale.ts: it sets the number of c=1 requests the proxy row borrows
 * from scripts/bench-proxy/workloads.ts (WARD_BENCH_C1, read when that module loads) unless the
 * caller set it.
 */
export const quick = process.argv.includes("--quick");
process.env.WARD_BENCH_C1 ??= quick ? "300" : "500";

const ONLY = (() => {
  const i = process.argv.indexOf("--only");
  return i < 0 ? null : new Set(String(process.argv[i + 1] ?? "").split(","));
})();
/** `--only agents,watches,proxy` runs just those rows. */
export const wanted = (row: "agents" | "watches" | "proxy") => !ONLY || ONLY.has(row);

const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);

/** Agents connected to one gateway (WARD_BENCH_AGENTS overrides). */
export const AGENTS = num("WARD_BENCH_AGENTS", 1000);
/** Agents connecting at once while the fleet comes up. */
export const AGENT_CONNECT_CONCURRENCY = 16;
/** Offline-detection measurements of each kind (dropped, silent). */
export const OFFLINE_REPEATS = quick ? 1 : 3;
/** How often the offline probe polls the gateway's API. */
export const OFFLINE_POLL_MS = 50;

/** Idle watches through one gateway and agent (WARD_BENCH_WATCHES overrides). */
export const WATCHES = num("WARD_BENCH_WATCHES", quick ? 1000 : 10_000);
/** Watches opened at once. */
export const WATCH_BATCH = 250;
/**
 * Watches per member: under the gateway's default limit of open streams per member (256), so the
 * watches are spread over as many members as that takes, as many users' would be.
 */
export const WATCHES_PER_MEMBER = 250;
/** Namespaces the watches are spread over (one ConfigMap created in each proves them live). */
export const WATCH_NAMESPACES = 10;

/** Quiet time before memory is read, so garbage collection and allocators settle. */
export const SETTLE_MS = quick ? 3000 : 5000;

/** The proxy row's c=64 run length. */
export const C64_SECONDS = quick ? 3 : 5;

export const KiB = 1024;
