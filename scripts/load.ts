/**
 * Load and soak through Ward (`node scripts/load.ts [--minutes N] [--scale-out]`, `npm run load`).
 *
 * Brings up the real kube-env (etcd, kube-apiserver, kwok) and the built `dist/ward gateway` +
 * `dist/ward agent` on their defaults (or, with `--scale-out`, two gateways on PostgreSQL and a
 * 3-node nats-server cluster, the load split across both), members with cluster-admin grants and
 * their tokens, then for the given time keeps all of this going at once:
 *   - 64 small GETs in flight (one ConfigMap; half over HTTP/1.1 keep-alive, half over HTTP/2);
 *   - 500 watches over HTTP/2 (client-go's way: streams share sessions of 100), re-opened from
 *     their last resourceVersion when the API server ends them at their timeoutSeconds, while a
 *     churner changes one object per watched namespace so events flow (and a watch that misses a
 *     change for 15 s is an error);
 *   - 20 exec sessions (`cat` over the v5.channel.k8s.io WebSocket protocol: bytes out, the same
 *     bytes back; each session closes stdin after 20–40 s, checks the exit status, and re-opens);
 *   - 5 `kubectl port-forward`s moving bytes to the pod's echo server (1 MiB connections, checked).
 * Every 10 s one line: elapsed, work done, errors by kind, the interval's small-GET latency
 * percentiles, RSS (MiB) and open fds of each Ward process. Then a summary — errors by kind with a
 * sample message, latency percentiles, RSS and fds over time with a flatness verdict (RSS: the
 * plateau's second half against its first; fds: back to their level before the load once it
 * stopped) — and, last line, all of it as JSON. Exit 1 on any error, a workload that made no
 * progress, or RSS/fds not flat (`--no-flat-check` keeps the verdict out of the exit code, for
 * short runs). `--help` lists the flags (scripts/load/config.ts).
 *
 * Bounded: counts and time are capped, everything listens on loopback, the run stops by itself,
 * and every process it started is stopped on the way out — at the end, on an error, on Ctrl-C.
 * The parts are in scripts/load/ (env.ts, run.ts, one file per workload, footprint.ts, report.ts).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { wardBinary } from "../test/helpers/ward.ts";
import { log, root } from "./bench-proxy/config.ts";
import { killChildren } from "./bench-proxy/processes.ts";
import { closeAll, defer } from "./bench-scale/cleanup.ts";
import { parseLoadArgs, USAGE, UsageError, type LoadOptions } from "./load/config.ts";
import { startLoadEnv } from "./load/env.ts";
import { summarize, summaryLines } from "./load/report.ts";
import { runLoad } from "./load/run.ts";

/** Past the run's time, the set-up and the clean-up: the whole process gives up and cleans up. */
const SETUP_MS = 5 * 60_000;

async function main(o: LoadOptions): Promise<number> {
  if (!existsSync(wardBinary)) {
    log("dist/ward is missing: building it (node scripts/build.ts)");
    execFileSync(process.execPath, [join(root, "scripts", "build.ts")], { stdio: "inherit" });
  }
  defer("kubectl processes", () => killChildren());
  const env = await startLoadEnv(o.scaleOut, o.watches, log);
  const run = await runLoad(env, o, log);
  const summary = summarize(env.mode, o, run);
  await closeAll();
  for (const line of summaryLines(summary)) console.log(line);
  console.log(JSON.stringify(summary));
  return summary.ok ? 0 : 1;
}

let o: LoadOptions;
try {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    console.log(USAGE);
    process.exit(0);
  }
  o = parseLoadArgs(process.argv.slice(2));
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}

let exiting = false;
async function bail(why: string, code: number): Promise<never> {
  if (!exiting) {
    exiting = true;
    log(why);
    await closeAll();
  }
  process.exit(code);
}
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void bail(`${sig}: cleaning up`, 130));
const watchdog = setTimeout(() => void bail(`The run took past its ${o.seconds} s plus ${SETUP_MS / 60_000} min: giving up`, 1), o.seconds * 1000 + SETUP_MS);
watchdog.unref();

main(o).then(
  (code) => process.exit(code),
  (err: Error) => bail(`load failed: ${err.stack ?? err.message}`, 1),
);
