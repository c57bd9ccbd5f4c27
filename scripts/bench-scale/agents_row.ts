/**
 * Row 1: 1,000 agents on one gateway (the embedded NATS endpoint). Registers the clusters, measures
 * the gateway's settled RSS, connects one simulated agent per cluster (sim_agent.ts), measures it
 * again (goal ≤ 100 KiB per agent) with the gateway's CPU while they sit idle, then how long the
 * gateway takes to notice one agent gone (goal ≤ 3 s), two ways: its connection reset, and its
 * connection left open with nothing passing (a blackholed link: no heartbeat, no goodbye). The
 * probed agents dial through a loopback forwarder (tcp_forward.ts) that fails their network.
 */
import { performance } from "node:perf_hooks";
import type { KubeEnv } from "../../test/helpers/kube-env.ts";
import type { Ward } from "../../test/helpers/ward.ts";
import { log } from "../bench-proxy/config.ts";
import { cpuMs } from "../bench-proxy/measure.ts";
import { startBenchWard } from "../bench-proxy/sides.ts";
import { defer } from "./cleanup.ts";
import { AGENT_CONNECT_CONCURRENCY, AGENTS, KiB, OFFLINE_REPEATS, SETTLE_MS } from "./config.ts";
import { closeFleet, connectFleet, createClusters, natsUrlOf, pool } from "./fleet.ts";
import { settledRss, perItemKiB } from "./memory.ts";
import { timeToOffline } from "./offline_probe.ts";
import { goalCol, median } from "./report.ts";
import { startForwarder, type Forwarder } from "./tcp_forward.ts";

export const AGENT_RSS_GOAL_KIB = 100;
export const OFFLINE_GOAL_MS = 3000;

export interface OfflineResult {
  /** Every measurement (ms; null: still online after 30 s). */
  runsMs: (number | null)[];
  medianMs: number | null;
  worstMs: number | null;
  goalMs: number;
  /** Every run within the goal. */
  met: boolean;
}

export interface AgentsResult {
  agents: number;
  online: number;
  createSeconds: number;
  connectSeconds: number;
  gatewayRssBeforeKiB: number;
  gatewayRssAfterKiB: number;
  kibPerAgent: number;
  goalKiB: number;
  met: boolean;
  /** The gateway's CPU while the agents sit idle (heartbeats every second, hellos every 10 s), % of one core. */
  gatewayIdleCpuPercent: number;
  offlineDropped: OfflineResult;
  offlineSilent: OfflineResult;
  closeSeconds: number;
}

export async function agentsRow(k: KubeEnv, dir: string, row: (s: string) => void): Promise<AgentsResult> {
  const w = await startBenchWard(k, dir);
  const stopWard = defer("the agents row's gateway and agent", () => w.stop());
  try {
    return await measure(w, row);
  } finally {
    await stopWard();
  }
}

async function measure(w: Ward, row: (s: string) => void): Promise<AgentsResult> {
  const gw = w.gateway.child.pid!;
  // The member whose view of the clusters the offline probe polls: a grant on each probed cluster.
  const watcher = await w.member("scale-watcher@example.com");
  let t0 = performance.now();
  const clusters = await createClusters(w, AGENTS);
  const createSeconds = (performance.now() - t0) / 1000;
  log(`agents: ${AGENTS} clusters registered in ${createSeconds.toFixed(1)} s`);
  const probes = clusters.slice(0, 2 * OFFLINE_REPEATS);
  for (const p of probes) {
    const g = await w.api(w.adminToken, "POST", `/api/v1/clusters/${p.id}/access/grants`, { member_id: watcher.id, role: "view" });
    if (g.status !== 201) throw new Error(`grant on ${p.id}: ${g.status} ${JSON.stringify(g.json)}`);
  }
  const forwarders = new Map<string, Forwarder>();
  const gwAddr = new URL(w.url);
  for (const p of probes) forwarders.set(p.id, await startForwarder({ host: gwAddr.hostname, port: Number(gwAddr.port) }));

  const before = (await settledRss({ gateway: gw }, SETTLE_MS)).gateway!;
  t0 = performance.now();
  const fleet = await connectFleet(w, clusters, AGENT_CONNECT_CONCURRENCY, (c) => natsUrlOf(w, forwarders.get(c)?.port));
  const connectSeconds = (performance.now() - t0) / 1000;
  // Closed in this order: the forwarders first, so no agent waits on a blackholed link to close.
  const closeAgents = defer("the simulated agents", () => closeFleet(fleet));
  const closeForwarders = defer("the forwarders", () => pool([...forwarders.values()], 8, (f) => f.close()));
  log(`agents: ${fleet.length} connected in ${connectSeconds.toFixed(1)} s`);

  const cpu0 = cpuMs(gw);
  const cpuT0 = performance.now();
  const after = (await settledRss({ gateway: gw }, SETTLE_MS)).gateway!;
  const gatewayIdleCpuPercent = +((100 * (cpuMs(gw) - cpu0)) / (performance.now() - cpuT0)).toFixed(1);
  const listed = await w.api(w.adminToken, "GET", "/api/v1/me/clusters");
  const online = (listed.json.clusters as { id: string; online: boolean }[]).filter((c) => c.online && c.id.startsWith("scale-")).length;
  const kibPerAgent = perItemKiB(before, after, fleet.length);
  row(`agents ${fleet.length} on one gateway (embedded NATS)  online ${online}/${fleet.length}  connected in ${connectSeconds.toFixed(1)} s  ` +
    `gateway RSS ${(before / KiB).toFixed(1)} → ${(after / KiB).toFixed(1)} MiB  ${kibPerAgent} KiB/agent  ${goalCol(kibPerAgent <= AGENT_RSS_GOAL_KIB, `≤ ${AGENT_RSS_GOAL_KIB} KiB`)}  ` +
    `gateway CPU while idle ${gatewayIdleCpuPercent} % of a core`);

  const offline = async (kind: "cut" | "blackhole", ids: string[]): Promise<OfflineResult> => {
    const runsMs: (number | null)[] = [];
    for (const id of ids) {
      const ms = await timeToOffline(w, watcher.token, id, () => forwarders.get(id)![kind]());
      runsMs.push(ms === null ? null : +ms.toFixed(0));
      log(`agents: ${id} ${kind}: ${ms === null ? "still online after 30 s" : `offline after ${ms.toFixed(0)} ms`}`);
    }
    const done = runsMs.filter((x): x is number => x !== null);
    const worstMs = done.length === runsMs.length ? Math.max(...done) : null;
    return { runsMs, medianMs: done.length ? median(done) : null, worstMs, goalMs: OFFLINE_GOAL_MS, met: worstMs !== null && worstMs <= OFFLINE_GOAL_MS };
  };
  const ids = probes.map((p) => p.id);
  const offlineDropped = await offline("cut", ids.slice(0, OFFLINE_REPEATS));
  row(offlineRow("agent offline, connection reset  ", offlineDropped));
  const offlineSilent = await offline("blackhole", ids.slice(OFFLINE_REPEATS));
  row(offlineRow("agent offline, silent (blackholed)", offlineSilent));

  t0 = performance.now();
  await closeForwarders();
  await closeAgents();
  const closeSeconds = (performance.now() - t0) / 1000;
  return {
    agents: fleet.length, online, createSeconds: +createSeconds.toFixed(1), connectSeconds: +connectSeconds.toFixed(1),
    gatewayRssBeforeKiB: before, gatewayRssAfterKiB: after, kibPerAgent, goalKiB: AGENT_RSS_GOAL_KIB, met: kibPerAgent <= AGENT_RSS_GOAL_KIB,
    gatewayIdleCpuPercent, offlineDropped, offlineSilent, closeSeconds: +closeSeconds.toFixed(1),
  };
}

function offlineRow(label: string, r: OfflineResult): string {
  const s = (ms: number | null) => (ms === null ? "never (30 s)" : `${(ms / 1000).toFixed(3)} s`);
  return `${label}  detected in ${s(r.medianMs)} median, ${s(r.worstMs)} worst (runs: ${r.runsMs.map(s).join(", ")})  ${goalCol(r.met, `≤ ${r.goalMs / 1000} s`)}`;
}
