import { spawnSync } from "node:child_process";

/**
 * V8 flags every `ward` process runs with: the single executable's `execArgv` (scripts/build.ts),
 * and the benchmarks that run the code from source pass the same ones.
 *
 * Ward's processes are relays: little live JavaScript (a heap of 10–30 MB) and a steady stream of
 * short-lived Buffers (socket reads, tunnel messages, TLS records), whose memory lives outside the
 * V8 heap. With V8's defaults a heap that small gets a tiny old-generation limit, and Buffer bytes
 * allocated since the last full collection count against it: while streaming, a full mark-compact
 * ran every few MiB and took a third of each process's CPU (bench-tunnel, `--trace-gc`). With these
 * flags those Buffers are counted in the global limit, which starts at 128 MiB: they die young and
 * the cheap young-generation collection frees them, and full collections all but stop. The cost is
 * bounded: at most that much garbage before a full collection, as for any heap of that size.
 */
export const NODE_FLAGS: readonly string[] = ["--initial-old-space-size=128", "--external-memory-accounted-in-global-limit"];

/**
 * For scripts that run Ward's code from source in this process (benchmarks, the build): re-runs the
 * script under NODE_FLAGS when it was started without them, and exits with its status. Returns only
 * when the flags are already set; forked children inherit them.
 */
export function ensureNodeFlags(): void {
  if (NODE_FLAGS.every((f) => process.execArgv.includes(f))) return;
  const r = spawnSync(process.execPath, [...NODE_FLAGS, ...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}
