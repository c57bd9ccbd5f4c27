/**
 * What the load runs against: the real kube-env and Ward, either one `dist/ward gateway` + `dist/ward
 * agent` on the embedded NATS endpoint (bench-proxy's start-up: the agent on its defaults,
 * authenticating to the API server with a bearer token as in a cluster), or scale-out: two gateways
 * on one PostgreSQL database and a 3-node nats-server cluster, gateway A on node 0, B on node 1, the
 * agent on node 2, so every stream crosses the cluster's routes (test/helpers/ward_scaleout.ts).
 * Members: one "main" member (cluster-admin) for the small GETs, the churn, exec and port-forward,
 * with a kubeconfig per gateway; and enough watch members that none has more than 200 watches open
 * through one gateway (the gateway's default cap is 256 streams per member).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { startKubeEnv, type KubeEnv } from "../../test/helpers/kube-env.ts";
import type { Ward, WardMember } from "../../test/helpers/ward.ts";
import { startScaleOut } from "../../test/helpers/ward_scaleout.ts";
import { target, type Target } from "../bench-proxy/client.ts";
import { startBenchWard, wardSide } from "../bench-proxy/sides.ts";
import { defer } from "../bench-scale/cleanup.ts";
import { pool } from "../bench-scale/fleet.ts";

export const WATCHES_PER_MEMBER = 200;

export interface LoadEnv {
  kube: KubeEnv;
  mode: "embedded" | "scale-out";
  /** The main member's target through each gateway. */
  main: Target[];
  /** Its kubeconfig for each gateway (kubectl port-forward). */
  kubeconfigs: string[];
  /** One token per watch member. */
  watchTokens: string[];
  /** The processes whose RSS and descriptors are reported: gateway (or gateway-a, gateway-b) and agent. */
  pids: Record<string, number>;
  /** Whether any of those exited. */
  died(): string | undefined;
}

type Api = Ward["api"];

/** Brings everything up; what it started is registered with bench-scale's clean-up (closeAll). */
export async function startLoadEnv(scaleOut: boolean, watches: number, log: (s: string) => void): Promise<LoadEnv> {
  const kube = await startKubeEnv();
  defer("the kube-env", () => kube.stop());
  log(`kube-env up (API server ${kube.apiServer})`);
  const members = Math.ceil(watches / WATCHES_PER_MEMBER);
  if (!scaleOut) {
    const dir = mkdtempSync(join(tmpdir(), "ward-load-"));
    defer("the work dir", () => rmSync(dir, { recursive: true, force: true }));
    const w = await startBenchWard(kube, dir);
    defer("the gateway and agent", () => w.stop());
    log(`gateway ${w.url} and agent up`);
    const { target: main } = await wardSide(w);
    const watchTokens = await mintWatchTokens(members, (email) => w.member(email), (id) => w.grant(id, { role: "cluster-admin" }), w.api, w.cluster);
    const procs = { gateway: w.gateway, agent: w.agent };
    return {
      kube, mode: "embedded", main: [main], kubeconfigs: [main.kubeconfig!], watchTokens,
      pids: { gateway: w.gateway.child.pid!, agent: w.agent.child.pid! },
      died: () => diedOf(procs),
    };
  }
  const s = await startScaleOut(kube, { cluster: "load", gateways: [[0], [1]], agentNodes: [2], agentFlags: [] });
  defer("the scale-out gateways, agent, nats-server cluster and PostgreSQL", () => s.stop());
  log(`scale-out up: gateways ${s.gateways.map((g) => g!.url).join(", ")}, nats-server ×3, PostgreSQL`);
  const m = await s.member("load@example.com");
  await s.grant(m.id, { role: "cluster-admin" });
  await s.mintKubeconfig(m, 0);
  const kubeconfigs = [m.kubeconfig, s.kubeconfigFor(m.kubeconfig, 1)];
  const token = kubeconfigToken(m.kubeconfig);
  const main = s.gateways.map((g) => {
    const t = target("ward", `${g!.url}/api/v1/clusters/${s.cluster}/k8s`, s.ca, token);
    return t;
  });
  main.forEach((t, i) => (t.kubeconfig = kubeconfigs[i]));
  const watchTokens = await mintWatchTokens(members, (email) => s.member(email), (id) => s.grant(id, { role: "cluster-admin" }), s.api, s.cluster);
  const procs = { "gateway-a": s.gateways[0]!.proc, "gateway-b": s.gateways[1]!.proc, agent: s.agent! };
  return {
    kube, mode: "scale-out", main, kubeconfigs, watchTokens,
    pids: Object.fromEntries(Object.entries(procs).map(([n, p]) => [n, p.child.pid!])),
    died: () => diedOf(procs),
  };
}

function diedOf(procs: Record<string, { child: { exitCode: number | null; signalCode: string | null }; output(): string }>): string | undefined {
  for (const [n, p] of Object.entries(procs)) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return `${n} exited (${p.child.exitCode ?? p.child.signalCode}):\n${p.output().slice(-3000)}`;
  }
  return undefined;
}

function kubeconfigToken(file: string): string {
  const doc = parseYaml(readFileSync(file, "utf8")) as { users: { user: { token: string } }[] };
  return doc.users[0]!.user.token;
}

/** `n` members, each with a cluster-admin grant and a minted k8s token. */
async function mintWatchTokens(n: number, member: (email: string) => Promise<WardMember>, grant: (id: string) => Promise<string>, api: Api, cluster: string): Promise<string[]> {
  return await pool(Array.from({ length: n }, (_, i) => i), 4, async (i) => {
    const m = await member(`load-watch-${i}@example.com`);
    await grant(m.id);
    const t = await api(m.token, "POST", `/api/v1/clusters/${cluster}/k8s-token`, {});
    if (t.status !== 200) throw new Error(`k8s-token for ${m.email}: ${t.status} ${JSON.stringify(t.json)}`);
    return t.json.token as string;
  });
}
