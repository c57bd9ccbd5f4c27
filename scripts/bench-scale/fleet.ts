/**
 * The 1,000 agents' clusters and connections: registers the clusters through the gateway's API (the
 * admin token; each answer carries its join credential) and connects one simulated agent per
 * cluster, a bounded number at a time.
 */
import type { Ward } from "../../test/helpers/ward.ts";
import { startSimAgent, type SimAgent } from "./sim_agent.ts";

export interface FleetCluster {
  id: string;
  joinToken: string;
}

/** Runs `fn` over `items`, at most `concurrency` at once, keeping the order of the results. */
export async function pool<T, R>(items: readonly T[], concurrency: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!, i);
  }));
  return out;
}

/** Registers `count` clusters `scale-0000` … through the API. */
export async function createClusters(w: Ward, count: number): Promise<FleetCluster[]> {
  const ids = Array.from({ length: count }, (_, i) => `scale-${String(i).padStart(4, "0")}`);
  return await pool(ids, 8, async (id) => {
    const r = await w.api(w.adminToken, "POST", "/api/v1/clusters", { id, name: id });
    if (r.status !== 201) throw new Error(`POST /api/v1/clusters ${id}: ${r.status} ${JSON.stringify(r.json)}`);
    return { id, joinToken: r.json.join_token as string };
  });
}

/** NATS over WebSocket at the gateway's address, or at `viaPort` on loopback (a forwarder). */
export function natsUrlOf(w: Ward, viaPort?: number): string {
  const u = new URL(w.url);
  u.protocol = "wss:";
  if (viaPort !== undefined) u.host = `127.0.0.1:${viaPort}`;
  u.pathname = "/nats";
  return u.toString();
}

/**
 * Connects one simulated agent per cluster (at most `concurrency` handshakes at once), each to
 * `urlOf(cluster)` (default: the gateway's own NATS endpoint).
 */
export async function connectFleet(w: Ward, clusters: readonly FleetCluster[], concurrency: number, urlOf: (cluster: string) => string = () => natsUrlOf(w)): Promise<SimAgent[]> {
  const agents: SimAgent[] = [];
  try {
    await pool(clusters, concurrency, async (c) => {
      agents.push(await startSimAgent({ natsUrl: urlOf(c.id), cluster: c.id, joinToken: c.joinToken, ca: w.ca }));
    });
  } catch (err) {
    await closeFleet(agents);
    throw err;
  }
  return agents;
}

/** Closes every agent (each says goodbye first), a few at a time. */
export async function closeFleet(agents: readonly SimAgent[]): Promise<void> {
  await pool(agents, 64, (a) => a.close().catch(() => {}));
}
