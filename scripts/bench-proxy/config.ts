/** bench-proxy's settings: the command line (--quick, --no-rd, --only), the environment overrides and the fixed sizes. */
export const root = new URL("../..", import.meta.url).pathname;
export const quick = process.argv.includes("--quick");
export const MiB = 1024 * 1024;
export const CLUSTER = "bench";
export const CM_NS = "bench-cm";
export const CM_COUNT = 5000;
export const STREAM_BYTES = (quick ? 32 : 256) * MiB;
export const C1_REQUESTS = Number(process.env.WARD_BENCH_C1 ?? (quick ? 400 : 2000));
export const C64_SECONDS = Number(process.env.WARD_BENCH_C64_SECONDS ?? (quick ? 3 : 8));
export const LIST_REPEATS = quick ? 5 : 15;
export const NO_RD = process.argv.includes("--no-rd");
export const ONLY = (() => {
  const i = process.argv.indexOf("--only");
  return i < 0 ? null : new Set(String(process.argv[i + 1] ?? "").split(","));
})();
export const wanted = (row: string) => !ONLY || ONLY.has(row);
export const RD_VERSION = "v0.5.1";
export const BENCH_EMAIL = "bench@example.com";
export const debug = (msg: string) => process.env.WARD_BENCH_DEBUG && console.error(`[bench] ${msg}`);
export const log = (msg: string) => console.error(msg);
