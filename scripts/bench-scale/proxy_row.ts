/**
 * Row 3: proxy small GET (`/api/v1/namespaces/default`) p50/p99 at c=1 and requests/s at c=64,
 * embedded vs scale-out, side by side, with the workloads of scripts/bench-proxy/workloads.ts.
 *
 * `proxyRows(mode)` measures one deployment shape and `proxyRowLines` prints both columns. The
 * embedded shape is one `dist/ward gateway` (SQLite, the NATS endpoint inside) and one `ward agent`.
 * The scale-out shape (test/helpers/ward_scaleout.ts) is a 3-node nats-server cluster and two
 * gateways on PostgreSQL, with gateway A on node 1 and the agent on node 3: every request crosses a
 * route between NATS nodes, the worst placement behind a load balancer. It is measured through
 * gateway A, like the embedded column through its one gateway.
 */
import type { KubeEnv } from "../../test/helpers/kube-env.ts";
import { log } from "../bench-proxy/config.ts";
import { fmtMs } from "../bench-proxy/report.ts";
import { startBenchWard, wardSide } from "../bench-proxy/sides.ts";
import { target, type Target } from "../bench-proxy/client.ts";
import { BENCH_EMAIL } from "../bench-proxy/config.ts";
import { startScaleOut } from "../../test/helpers/ward_scaleout.ts";
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { smallGetC1, smallGetC64 } from "../bench-proxy/workloads.ts";
import { defer } from "./cleanup.ts";
import { C64_SECONDS } from "./config.ts";

export type ProxyMode = "embedded" | "scale-out";

export interface ProxyResult {
  c1: { p50Ms: number; p99Ms: number; requests: number };
  c64: { p50Ms: number; p99Ms: number; rps: number; requests: number };
}

/** A member with a cluster-admin grant through scale-out gateway A, as `wardSide` does for one gateway. */
async function scaleOutSide(k: KubeEnv): Promise<{ t: Target; stop: () => Promise<void> }> {
  const s = await startScaleOut(k, { cluster: "bench", gateways: [[0], [1]], agentNodes: [2], agentFlags: [] });
  const m = await s.member(BENCH_EMAIL);
  await s.grant(m.id, { role: "cluster-admin" });
  await s.mintKubeconfig(m, 0);
  const doc = parseYaml(readFileSync(m.kubeconfig, "utf8")) as { clusters: { cluster: { server: string } }[]; users: { user: { token: string } }[] };
  return { t: target("ward", doc.clusters[0]!.cluster.server, s.ca, doc.users[0]!.user.token), stop: () => s.stop() };
}

/** The small-GET figures through one deployment shape. */
export async function proxyRows(mode: ProxyMode, k: KubeEnv, dir: string): Promise<ProxyResult | null> {
  let t: Target;
  let stopWard: () => Promise<void>;
  if (mode === "scale-out") {
    const side = await scaleOutSide(k);
    t = side.t;
    stopWard = defer("the proxy row's NATS cluster, gateways and agent", side.stop);
  } else {
    const w = await startBenchWard(k, dir);
    stopWard = defer("the proxy row's gateway and agent", () => w.stop());
    t = (await wardSide(w).catch(async (e) => {
      await stopWard();
      throw e;
    })).target;
  }
  try {
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
