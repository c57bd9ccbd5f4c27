/**
 * Row 3: proxy small GET (`/api/v1/namespaces/default`) p50/p99 at c=1 and requests/s at c=64,
 * embedded vs scale-out, side by side, with the workloads of scripts/bench-proxy/workloads.ts.
 *
 * `proxyRows(mode)` measures one deployment shape and `proxyRowLines` prints both columns. The
 * embedded shape is one `dist/ward gateway` (SQLite, the NATS endpoint inside) and one `ward agent`.
 * The scale-out shape — a nats-server cluster and two gateways on PostgreSQL, requests spread over
 * both — is the place for that deployment's harness: it returns null until it is wired, and its
 * column prints "not run".
 */
import type { KubeEnv } from "../../test/helpers/kube-env.ts";
import { log } from "../bench-proxy/config.ts";
import { fmtMs } from "../bench-proxy/report.ts";
import { startBenchWard, wardSide } from "../bench-proxy/sides.ts";
import { smallGetC1, smallGetC64 } from "../bench-proxy/workloads.ts";
import { defer } from "./cleanup.ts";
import { C64_SECONDS } from "./config.ts";

export type ProxyMode = "embedded" | "scale-out";

export interface ProxyResult {
  c1: { p50Ms: number; p99Ms: number; requests: number };
  c64: { p50Ms: number; p99Ms: number; rps: number; requests: number };
}

/** The small-GET figures through one deployment shape, or null when that shape is not wired yet. */
export async function proxyRows(mode: ProxyMode, k: KubeEnv, dir: string): Promise<ProxyResult | null> {
  if (mode === "scale-out") return null;
  const w = await startBenchWard(k, dir);
  const stopWard = defer("the proxy row's gateway and agent", () => w.stop());
  try {
    const { target: t } = await wardSide(w);
    const c1 = (await smallGetC1([t])).ward!;
    const requests = Number(process.env.WARD_BENCH_C1);
    log(`proxy ${mode}: c=1 p50 ${fmtMs(c1.p50)} over ${requests} requests`);
    const c64 = await smallGetC64(t, C64_SECONDS);
    t.agent.destroy();
    return {
      c1: { p50Ms: +c1.p50.toFixed(3), p99Ms: +c1.p99.toFixed(3), requests },
      c64: { p50Ms: +c64.p50.toFixed(3), p99Ms: +c64.p99.toFixed(3), rps: Math.round(c64.rps), requests: c64.count },
    };
  } finally {
    await stopWard();
  }
}

/** The row's lines: each figure for embedded and scale-out side by side. */
export function proxyRowLines(r: Record<ProxyMode, ProxyResult | null>): string[] {
  const col = (mode: ProxyMode, v: (x: ProxyResult) => string) => `${mode} ${r[mode] ? v(r[mode]) : "not run"}`;
  const line = (label: string, v: (x: ProxyResult) => string) => `${label}  ${col("embedded", v)}  | ${col("scale-out", v)}`;
  return [
    line("proxy small GET c=1   p50 ", (x) => fmtMs(x.c1.p50Ms)),
    line("proxy small GET c=1   p99 ", (x) => fmtMs(x.c1.p99Ms)),
    line("proxy small GET c=64  p50 ", (x) => fmtMs(x.c64.p50Ms)),
    line("proxy small GET c=64  p99 ", (x) => fmtMs(x.c64.p99Ms)),
    line("proxy small GET c=64  req/s", (x) => String(x.c64.rps)),
  ];
}
