/**
 * Time for the gateway to notice an agent gone, observed from outside: the gateway's API is polled
 * every OFFLINE_POLL_MS (`GET /api/v1/me/clusters`, which carries each cluster's `online` state, as
 * a member holding a grant on the probed clusters sees it) from the moment the agent's network is
 * failed until the cluster reads offline.
 */
import { performance } from "node:perf_hooks";
import type { Ward } from "../../test/helpers/ward.ts";
import { OFFLINE_POLL_MS } from "./config.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether the gateway's API says `cluster` is online, as `token`'s member sees it. */
export async function isOnline(w: Ward, token: string, cluster: string): Promise<boolean> {
  const r = await w.api(token, "GET", "/api/v1/me/clusters");
  if (r.status !== 200) throw new Error(`GET /api/v1/me/clusters: ${r.status} ${JSON.stringify(r.json)}`);
  const c = (r.json.clusters as { id: string; online: boolean }[]).find((x) => x.id === cluster);
  if (!c) throw new Error(`GET /api/v1/me/clusters does not list ${cluster}: the member needs a grant on it`);
  return c.online;
}

/** Polls until `cluster` reads `online` (or throws after `timeoutMs`). */
export async function waitOnline(w: Ward, token: string, cluster: string, online: boolean, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  while ((await isOnline(w, token, cluster)) !== online) {
    if (performance.now() > end) throw new Error(`${cluster} did not read ${online ? "online" : "offline"} within ${timeoutMs} ms`);
    await sleep(OFFLINE_POLL_MS);
  }
}

/**
 * Runs `fail` (which takes the agent off the network) and returns the ms until the API first
 * answered offline (the answer's arrival; the poll's period bounds the resolution). Null when it
 * still read online after `timeoutMs`.
 */
export async function timeToOffline(w: Ward, token: string, cluster: string, fail: () => void, timeoutMs = 30_000): Promise<number | null> {
  await waitOnline(w, token, cluster, true, 10_000);
  const t0 = performance.now();
  fail();
  for (;;) {
    const polled = performance.now();
    if (!(await isOnline(w, token, cluster))) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) return null;
    await sleep(Math.max(0, OFFLINE_POLL_MS - (performance.now() - polled)));
  }
}
