/**
 * Scale benchmark (`node scripts/bench-scale.ts [--quick] [--only agents,watches,proxy]`,
 * `npm run bench:scale`; issue #23).
 *
 * Brings up the real kube-env (etcd + kube-apiserver + kwok) once, and for each row (in the order
 * proxy, watches, agents) a fresh
 * `dist/ward gateway` + `dist/ward agent` (test/helpers/ward.ts, the agent on its own defaults, as
 * bench-proxy runs them), so no row's memory figure carries another's leftovers. Rows:
 *   1. agents: 1,000 clusters registered through the API and one real NATS connection per cluster
 *      from this process, speaking the agent protocol with the product's own code (connectBus, a
 *      TunnelAgent, the access hello and status): the gateway's settled RSS per agent (goal
 *      ≤ 100 KiB) and its CPU while they idle; then the time until the gateway's API reads a cluster
 *      offline (goal ≤ 3 s) when its agent's connection is reset, and when it is blackholed (open,
 *      silent: no heartbeat, no goodbye), polled every 50 ms;
 *   2. watches: 10,000 idle ConfigMap watches (1,000 with --quick) through one gateway and agent,
 *      each on its own HTTP/1.1 connection, opened in batches: settled RSS per watch of the gateway
 *      and the agent (goal ≤ 10 KiB each), and of this process (the client) and the API server for
 *      context; every watch must then receive an event. When something refuses watches first (a
 *      stream limit, the open-file limit), the row reports the N it reached and why;
 *   3. proxy: small GET p50/p99 at c=1 and requests/s at c=64, embedded vs scale-out side by side
 *      (scale-out prints "not run" until its harness is wired in proxy_row.ts).
 * WARD_BENCH_AGENTS and WARD_BENCH_WATCHES override the sizes. Readable rows, then one JSON object
 * with every figure as the very last line. Goals are reported with goal/met columns, not asserted.
 * Everything runs on loopback; every process, socket and connection started here is closed at the
 * end, on failure and on SIGINT/SIGTERM.
 *
 * This file is the run (set-up, the rows in order, the report); the parts live in scripts/bench-scale/:
 * config.ts (flags and sizes), cleanup.ts (what is open, closed in reverse), memory.ts (settled RSS),
 * report.ts (goal columns), sim_agent.ts (one simulated agent), fleet.ts (clusters and agents in
 * bulk), tcp_forward.ts (failing an agent's network), offline_probe.ts (polling the API for
 * offline), agents_row.ts, watches.ts (the watch client), watches_row.ts, proxy_row.ts. Processes,
 * /proc readings and the small-GET workloads come from scripts/bench-proxy/.
 */
import { quick, wanted } from "./bench-scale/config.ts"; // first: it sets the c=1 size bench-proxy's workloads read
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startKubeEnv } from "../test/helpers/kube-env.ts";
import { wardBinary } from "../test/helpers/ward.ts";
import { log, root } from "./bench-proxy/config.ts";
import { killChildren } from "./bench-proxy/processes.ts";
import { agentsRow } from "./bench-scale/agents_row.ts";
import { closeAll, defer } from "./bench-scale/cleanup.ts";
import { proxyRowLines, proxyRows } from "./bench-scale/proxy_row.ts";
import { watchesRow } from "./bench-scale/watches_row.ts";

/** Set on SIGINT/SIGTERM: the run's own failures while it is torn down are not reported as such. */
let interrupted = false;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    interrupted = true;
    log(`${sig}: cleaning up`);
    void closeAll().finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  const tStart = Date.now();
  if (!existsSync(wardBinary)) {
    log("dist/ward is missing: building it (node scripts/build.ts)");
    execFileSync(process.execPath, [join(root, "scripts", "build.ts")], { stdio: "inherit" });
  }
  log("starting kube-env …");
  const k = await startKubeEnv();
  defer("kube-env", () => k.stop());
  defer("kubectl and helper children", killChildren);
  const dir = mkdtempSync(join(tmpdir(), "ward-bench-scale-"));
  defer("the work directory", () => rmSync(dir, { recursive: true, force: true }));
  const setupSeconds = (Date.now() - tStart) / 1000;
  log(`kube-env up in ${setupSeconds.toFixed(1)} s`);

  const results: Record<string, unknown> = { quick, setupSeconds };
  const row = (s: string) => console.log(s);
  const benchStart = Date.now();
  // The proxy row first, on a machine not yet warmed by the others' thousands of sockets.
  if (wanted("proxy")) {
    const proxy = { embedded: await proxyRows("embedded", k, dir), "scale-out": await proxyRows("scale-out", k, dir) };
    for (const l of proxyRowLines(proxy)) row(l);
    results.proxy = proxy;
  }
  // Watches before agents: this process is the watches' client, and its figure is cleanest before
  // it has hosted (and freed) the 1,000 simulated agents.
  if (wanted("watches")) results.watches = await watchesRow(k, dir, row);
  if (wanted("agents")) results.agents = await agentsRow(k, dir, row);

  const a = results.agents as Awaited<ReturnType<typeof agentsRow>> | undefined;
  const w = results.watches as Awaited<ReturnType<typeof watchesRow>> | undefined;
  results.goals = {
    ...(a ? {
      rssPerAgent: { goalKiB: a.goalKiB, valueKiB: a.kibPerAgent, met: a.met },
      offlineDropped: { goalMs: a.offlineDropped.goalMs, worstMs: a.offlineDropped.worstMs, met: a.offlineDropped.met },
      offlineSilent: { goalMs: a.offlineSilent.goalMs, worstMs: a.offlineSilent.worstMs, met: a.offlineSilent.met },
    } : {}),
    ...(w ? {
      rssPerWatchGateway: { goalKiB: w.goalKiB, valueKiB: w.kibPerWatch.gateway, n: w.n, met: w.met.gateway },
      rssPerWatchAgent: { goalKiB: w.goalKiB, valueKiB: w.kibPerWatch.agent, n: w.n, met: w.met.agent },
    } : {}),
  };
  results.benchSeconds = (Date.now() - benchStart) / 1000;
  row(`benchmark ${(results.benchSeconds as number).toFixed(1)} s after ${setupSeconds.toFixed(1)} s of set-up`);
  await closeAll();
  console.log(JSON.stringify(results));
}

main().then(
  () => process.exit(0),
  async (err: Error) => {
    if (!interrupted) log(`bench-scale failed: ${err.stack ?? err.message}`);
    await closeAll();
    process.exit(interrupted ? 130 : 1);
  },
);
