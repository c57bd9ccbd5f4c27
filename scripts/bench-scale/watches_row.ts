/**
 * Row 2: idle watches through one gateway and one agent (goal ≤ 10 KiB per watch on each). Members
 * with a cluster-admin grant each (the gateway allows 256 open streams per member) open watches on
 * ConfigMaps spread over a few namespaces, each on its own HTTP/1.1 connection (watches.ts); the
 * settled RSS of the gateway, the agent, this process (the client) and the API server is read
 * before and after. Last, one labelled ConfigMap created in each namespace must reach every watch,
 * so the figure is for live watches. When something refuses watches before N (a stream limit, the
 * file-descriptor limit), the row reports the N it reached and why.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import type { KubeEnv } from "../../test/helpers/kube-env.ts";
import type { Ward } from "../../test/helpers/ward.ts";
import { req, target, type Target } from "../bench-proxy/client.ts";
import { log } from "../bench-proxy/config.ts";
import { startBenchWard } from "../bench-proxy/sides.ts";
import { defer } from "./cleanup.ts";
import { gatewayHeapReader, METRICS_ARGS, type HeapFigures, type HeapReader } from "./gateway_heap.ts";
import { KiB, SETTLE_MS, WATCH_BATCH, WATCH_NAMESPACES, WATCHES, WATCHES_PER_MEMBER } from "./config.ts";
import { pool } from "./fleet.ts";
import { perItemKiB, settledRss } from "./memory.ts";
import { goalCol } from "./report.ts";
import { openWatches } from "./watches.ts";

export const WATCH_RSS_GOAL_KIB = 10;
const LABEL = "bench=scale-watch";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface WatchesResult {
  asked: number;
  /** Watches established (200 and streaming). */
  n: number;
  /** Why fewer than asked, if so. */
  cappedBy?: string;
  fdSoftLimit: number;
  openSeconds: number;
  /** Watches that received the ConfigMap created in their namespace. */
  live: number;
  rssBeforeKiB: Record<string, number>;
  rssAfterKiB: Record<string, number>;
  kibPerWatch: Record<string, number>;
  /** The gateway's V8 heap in use and external memory, before and after (KiB), and their share per watch. */
  gatewayHeap: { before: HeapFigures; after: HeapFigures; heapKiBPerWatch: number; externalKiBPerWatch: number };
  goalKiB: number;
  met: { gateway: boolean; agent: boolean };
}

/** Streams allowed per cluster (gateway) and per gateway (agent) in this row. */
const WATCH_STREAM_LIMIT = 12_000;

export async function watchesRow(k: KubeEnv, dir: string, row: (s: string) => void): Promise<WatchesResult> {
  // The default stream limits (4096 per cluster and per agent) stop short of the row's 10,000.
  const limit = String(WATCH_STREAM_LIMIT);
  const w = await startBenchWard(k, dir, [...METRICS_ARGS, "--max-streams-per-cluster", limit], ["--max-streams", limit]);
  const stopWard = defer("the watches row's gateway and agent", () => w.stop());
  try {
    return await measure(k, w, await gatewayHeapReader(w), row);
  } finally {
    await stopWard();
  }
}

/** This process's soft limit on open files (each watch holds one socket here and one in the gateway). */
function fdSoftLimit(): number {
  return Number(execFileSync("bash", ["-c", "ulimit -Sn"], { encoding: "utf8" }).trim()) || Infinity;
}

async function measure(k: KubeEnv, w: Ward, heap: HeapReader, row: (s: string) => void): Promise<WatchesResult> {
  const direct = target("direct", k.apiServer, readFileSync(k.caFile), k.adminToken);
  const closeDirect = defer("the direct client", () => direct.agent.destroy());
  const namespaces = Array.from({ length: WATCH_NAMESPACES }, (_, i) => `scale-w-${i}`);
  for (const name of namespaces) {
    const r = await req(direct, "POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name } });
    if (r.status !== 201 && r.status !== 409) throw new Error(`create namespace ${name}: ${r.status} ${r.text}`);
  }
  // Each watch holds a socket in this process and one in the gateway (which inherits this limit);
  // leave room for everything else.
  const fdLimit = fdSoftLimit();
  const asked = WATCHES;
  const n = Math.min(asked, fdLimit - 500);
  const fdCap = n < asked ? `the open-file limit (ulimit -n ${fdLimit}, no higher hard limit)` : undefined;

  const members = Math.ceil(n / WATCHES_PER_MEMBER);
  let t0 = performance.now();
  const tokens = await pool(Array.from({ length: members }, (_, i) => i), 4, async (i) => {
    const m = await w.member(`scale-watch-${i}@example.com`);
    await w.grant(m.id, { role: "cluster-admin" });
    const t = await w.api(m.token, "POST", `/api/v1/clusters/${w.cluster}/k8s-token`, {});
    if (t.status !== 200) throw new Error(`k8s-token for ${m.email}: ${t.status} ${JSON.stringify(t.json)}`);
    return t.json.token as string;
  });
  log(`watches: ${members} members with a cluster-admin grant in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const viaWard: Target = target("ward", `${w.url}/api/v1/clusters/${w.cluster}/k8s`, w.ca, tokens[0]!);
  const paths = Array.from({ length: n }, (_, i) => `/api/v1/namespaces/${namespaces[i % namespaces.length]}/configmaps?watch=1&labelSelector=${encodeURIComponent(LABEL)}`);

  const pids = { gateway: w.gateway.child.pid, agent: w.agent.child.pid, client: process.pid, apiserver: k.pids["kube-apiserver"] };
  const before = await settledRss(pids, SETTLE_MS);
  const heapBefore = await heap();
  t0 = performance.now();
  const set = await openWatches(viaWard, paths, tokens, WATCHES_PER_MEMBER, WATCH_BATCH);
  const closeWatches = defer("the watches", () => set.close());
  const openSeconds = (performance.now() - t0) / 1000;
  const got = set.watches.length;
  const cappedBy = set.refused ? `watch ${got + 1} was refused: ${set.refused.status} ${set.refused.message}` : fdCap;
  log(`watches: ${got} open in ${openSeconds.toFixed(1)} s${cappedBy ? ` (${cappedBy})` : ""}`);
  const after = await settledRss(pids, SETTLE_MS);
  const heapAfter = await heap();

  // Live: one labelled ConfigMap per namespace reaches every watch on it.
  for (const ns of namespaces) {
    const r = await req(direct, "POST", `/api/v1/namespaces/${ns}/configmaps`, { apiVersion: "v1", kind: "ConfigMap", metadata: { generateName: "live-", labels: { bench: "scale-watch" } }, data: { a: "b" } });
    if (r.status !== 201) throw new Error(`create ConfigMap in ${ns}: ${r.status} ${r.text}`);
  }
  const end = performance.now() + 20_000;
  let live = 0;
  while ((live = set.watches.filter((x) => x.events > 0).length) < got && performance.now() < end) await sleep(200);
  await closeWatches();
  await closeDirect();

  const kibPerWatch = Object.fromEntries(Object.keys(pids).map((p) => [p, perItemKiB(before[p]!, after[p]!, got)]));
  const mib = (p: string) => `${(before[p]! / KiB).toFixed(1)} → ${(after[p]! / KiB).toFixed(1)} MiB`;
  const gatewayHeap = {
    before: heapBefore, after: heapAfter,
    heapKiBPerWatch: perItemKiB(heapBefore.heapUsedKiB, heapAfter.heapUsedKiB, got), externalKiBPerWatch: perItemKiB(heapBefore.externalKiB, heapAfter.externalKiB, got),
  };
  const met = { gateway: kibPerWatch.gateway! <= WATCH_RSS_GOAL_KIB, agent: kibPerWatch.agent! <= WATCH_RSS_GOAL_KIB };
  row(`watches ${got} idle through one gateway and agent (asked ${asked}${cappedBy ? `; N capped: ${cappedBy}` : ""})  opened in ${openSeconds.toFixed(1)} s  live ${live}/${got}`);
  row(`watches memory per watch  gateway ${kibPerWatch.gateway} KiB ${goalCol(met.gateway, `≤ ${WATCH_RSS_GOAL_KIB} KiB`)} (${mib("gateway")})  ` +
    `(V8 heap ${gatewayHeap.heapKiBPerWatch}, external ${gatewayHeap.externalKiBPerWatch})  ` +
    `agent ${kibPerWatch.agent} KiB ${goalCol(met.agent, `≤ ${WATCH_RSS_GOAL_KIB} KiB`)} (${mib("agent")})  | ` +
    `bench client ${kibPerWatch.client} KiB (${mib("client")})  API server ${kibPerWatch.apiserver} KiB (${mib("apiserver")})`);
  return {
    asked, n: got, ...(cappedBy ? { cappedBy } : {}), fdSoftLimit: fdLimit, openSeconds: +openSeconds.toFixed(1), live,
    rssBeforeKiB: before, rssAfterKiB: after, kibPerWatch, gatewayHeap, goalKiB: WATCH_RSS_GOAL_KIB, met,
  };
}
