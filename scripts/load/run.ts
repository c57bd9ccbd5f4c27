/**
 * The load itself, on a started LoadEnv: creates its objects, takes the idle baseline, runs every
 * workload at once until the time is up (a progress line and an RSS/fd sample every interval), stops
 * them, closes the client's connections and waits for the descriptors to settle.
 */
import { req, type Target } from "../bench-proxy/client.ts";
import type { LoadOptions } from "./config.ts";
import type { LoadEnv } from "./env.ts";
import { execLoops } from "./exec.ts";
import { sampleProcess, settleFds, type ProcSample } from "./footprint.ts";
import { H2Pool } from "./h2_pool.ts";
import { portForwardLoops } from "./port_forward.ts";
import { progressLine } from "./report.ts";
import { smallLoops } from "./small.ts";
import { LoadStats, sleep } from "./stats.ts";
import { WatchLoad } from "./watches.ts";

export const SMALL_NS = "load";
const WATCH_NAMESPACES = 5;

export interface LoadRun {
  stats: LoadStats;
  seconds: number;
  samples: Record<string, ProcSample[]>;
  fdsBefore: Record<string, number>;
  fdsAfter: Record<string, number>;
  watchesLive: number;
  h2Sessions: number;
  /** Workloads that had not stopped 20 s after the end (their requests hung). */
  hung: string[];
}

async function ensure(t: Target, path: string, body: unknown): Promise<void> {
  const r = await req(t, "POST", path, body);
  if (r.status !== 201 && r.status !== 409) throw new Error(`POST ${path}: ${r.status} ${r.text}`);
}

export async function runLoad(env: LoadEnv, o: LoadOptions, log: (s: string) => void): Promise<LoadRun> {
  const main = env.main[0]!;
  const watchNs = Array.from({ length: WATCH_NAMESPACES }, (_, i) => `load-w-${i}`);
  for (const ns of [SMALL_NS, ...watchNs]) await ensure(main, "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  await ensure(main, `/api/v1/namespaces/${SMALL_NS}/configmaps`, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "small" }, data: { greeting: "a small object, read again and again" } });
  for (const ns of watchNs) await ensure(main, `/api/v1/namespaces/${ns}/configmaps`, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "churn" }, data: { n: "0" } });

  // The idle baseline: what each process holds before any load (after a moment for the set-up's connections to close).
  await sleep(3000);
  const fdsBefore = Object.fromEntries(Object.entries(env.pids).map(([n, pid]) => [n, sampleProcess(pid, 0).fds]));
  log(`baseline fds ${Object.entries(fdsBefore).map(([n, v]) => `${n} ${v}`).join(", ")}; load for ${o.seconds} s: ${o.small} small, ${o.watches} watches, ${o.exec} exec, ${o.pf} port-forwards`);

  const stats = new LoadStats();
  const deadline = stats.t0 + o.seconds * 1000;
  let aborted: string | undefined;
  const until = () => Date.now() >= deadline || aborted !== undefined;
  const pools = env.main.map((t) => new H2Pool(t));
  const watches = new WatchLoad(watchNs, o.watchTimeoutS, stats);
  const exec = execLoops(env.main, o.exec, `/api/v1/namespaces/${env.kube.namespace}/pods/${env.kube.pod}/exec`, env.kube.container, { sessionS: o.execSessionS, intervalMs: o.execIntervalMs }, stats, until);
  const pf = portForwardLoops(env.kubeconfigs.map((kubeconfig) => ({ kubectl: env.kube.kubectl.newest, kubeconfig, namespace: env.kube.namespace, pod: env.kube.pod, podPort: env.kube.podPort })), o.pf, o.pfKiBps, stats, until);
  const workloads: Record<string, Promise<unknown>> = {
    small: smallLoops(env.main.map((target, i) => ({ target, pool: pools[i]! })), o.small, `/api/v1/namespaces/${SMALL_NS}/configmaps/small`, stats, until),
    watches: watches.run(pools.map((pool) => ({ pool, tokens: env.watchTokens })), o.watches, until),
    churn: o.watches ? watches.churn(env.main, o.churnMs, until) : Promise.resolve(),
    exec: exec.done,
    pf: pf.done,
  };

  const samples: Record<string, ProcSample[]> = Object.fromEntries(Object.keys(env.pids).map((n) => [n, []]));
  let lastCounts: Record<string, number> = {};
  const tick = () => {
    const t = (Date.now() - stats.t0) / 1000;
    const now = Object.fromEntries(Object.entries(env.pids).map(([n, pid]) => [n, sampleProcess(pid, t)]));
    for (const [n, s] of Object.entries(now)) samples[n]!.push(s);
    console.log(progressLine(t, stats, lastCounts, now, watches.openNow));
    lastCounts = { ...stats.counts };
    const died = env.died();
    if (died && !aborted) {
      aborted = died;
      stats.error("process exited", died);
    }
  };
  const ticker = setInterval(tick, o.sampleS * 1000);
  await sleep(Math.max(0, deadline - Date.now()));
  while (!until()) await sleep(100);
  clearInterval(ticker);
  tick();

  // Stop: what is still open is cut by the client, which is not an error.
  stats.stopping = true;
  const seconds = (Date.now() - stats.t0) / 1000;
  watches.closeAll();
  exec.close();
  pf.close();
  const hung: string[] = [];
  await Promise.all(Object.entries(workloads).map(([name, p]) => Promise.race([p, sleep(20_000).then(() => hung.push(name))])));
  for (const p of pools) p.close();
  for (const t of env.main) t.agent.destroy();
  const fdsAfter = await settleFds(env.pids, fdsBefore, 30_000);
  return { stats, seconds, samples, fdsBefore, fdsAfter, watchesLive: watches.live, h2Sessions: pools.reduce((a, p) => a + p.opened, 0), hung };
}
