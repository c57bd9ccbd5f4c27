/**
 * `--store postgres`: the small-GET rows through a gateway on PostgreSQL beside the same rows through
 * the gateway on SQLite, in one run. The proxy path needs no database round trip per request (the
 * verifier's state is in memory), so the two should match; this row shows it.
 *
 * Two agents on one cluster would each prune the other's RBAC bindings, so the two gateways take
 * turns with the cluster: SQLite, PostgreSQL, SQLite; SQLite's figure is the mean of its two turns
 * (drift on a shared machine falls on both sides alike). Each turn: c=1 interleaved with direct
 * request by request, then c=64 for the usual duration.
 */
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { eventually } from "../../test/helpers/eventually.ts";
import type { KubeEnv } from "../../test/helpers/kube-env.ts";
import { startPostgres, type Postgres } from "../../test/helpers/postgres.ts";
import type { Ward } from "../../test/helpers/ward.ts";
import { req, type Target } from "./client.ts";
import { log } from "./config.ts";
import { fmtMs, ratio } from "./report.ts";
import { startBenchWard, wardSide } from "./sides.ts";
import { smallGetC1, smallGetC64 } from "./workloads.ts";

export const STORE_PG = (() => {
  const i = process.argv.indexOf("--store");
  if (i < 0) return false;
  if (process.argv[i + 1] !== "postgres") throw new Error(`--store takes "postgres", got ${JSON.stringify(process.argv[i + 1])}`);
  return true;
})();

interface Turn {
  c1: { p50: number; p99: number };
  c1Direct: { p50: number; p99: number };
  c64: { p50: number; p99: number; rps: number };
}

async function turn(user: Target, side: Target): Promise<Turn> {
  // The agent that just took the cluster over re-creates the member's binding: wait until it works.
  await eventually(`${side.host}:${side.port} answers 200`, async () => (await req(side, "GET", "/api/v1/namespaces/default")).status === 200, { timeoutMs: 60_000, intervalMs: 250 });
  const c1 = await smallGetC1([user, side]);
  const c64 = await smallGetC64(side);
  return { c1: c1.ward!, c1Direct: c1.user!, c64 };
}

const mean = (a: number, b: number) => (a + b) / 2;

/** Runs the turns; prints the rows; returns the figures for the JSON line. Stops what it started. */
export async function storeRows(k: KubeEnv, sqliteWard: Ward, sqliteSide: Target, user: Target, workDir: string, row: (s: string) => void): Promise<Record<string, unknown>> {
  let pg: Postgres | undefined;
  let pgWard: Ward | undefined;
  try {
    pg = await startPostgres();
    const db = await pg.createDatabase("ward_bench");
    const first = await turn(user, sqliteSide);
    await sqliteWard.agent.stop();
    const pgDir = join(workDir, "pg");
    mkdirSync(pgDir, { mode: 0o700 });
    pgWard = await startBenchWard(k, pgDir, ["--store", pg.url(db)]);
    const { target: pgSide } = await wardSide(pgWard);
    log(`gateway on PostgreSQL up (${pgWard.url})`);
    const onPg = await turn(user, pgSide);
    await pgWard.agent.stop();
    await sqliteWard.startAgent();
    const second = await turn(user, sqliteSide);
    pgSide.agent.destroy();

    const sqlite = {
      c1: { p50: mean(first.c1.p50, second.c1.p50), p99: mean(first.c1.p99, second.c1.p99) },
      c1Direct: { p50: mean(first.c1Direct.p50, second.c1Direct.p50), p99: mean(first.c1Direct.p99, second.c1Direct.p99) },
      c64: { p50: mean(first.c64.p50, second.c64.p50), p99: mean(first.c64.p99, second.c64.p99), rps: mean(first.c64.rps, second.c64.rps) },
    };
    const rpsRatio = ratio(onPg.c64.rps, sqlite.c64.rps);
    row(`store small GET c=1   p50  sqlite ${fmtMs(sqlite.c1.p50)} (direct ${fmtMs(sqlite.c1Direct.p50)})  postgres ${fmtMs(onPg.c1.p50)} (direct ${fmtMs(onPg.c1Direct.p50)})  p99  sqlite ${fmtMs(sqlite.c1.p99)}  postgres ${fmtMs(onPg.c1.p99)}`);
    row(`store small GET c=64  p50  sqlite ${fmtMs(sqlite.c64.p50)}  postgres ${fmtMs(onPg.c64.p50)}  p99  sqlite ${fmtMs(sqlite.c64.p99)}  postgres ${fmtMs(onPg.c64.p99)}`);
    row(`store small GET c=64  req/s sqlite ${sqlite.c64.rps.toFixed(0)} (turns ${first.c64.rps.toFixed(0)}, ${second.c64.rps.toFixed(0)})  postgres ${onPg.c64.rps.toFixed(0)}  ratio ${rpsRatio.toFixed(3)}  (goal ≥ 0.95: ${rpsRatio >= 0.95 ? "met" : "MISSED"})`);
    return { sqlite, sqliteTurns: [first, second], postgres: onPg, rpsRatio, goal: { goal: 0.95, value: rpsRatio, met: rpsRatio >= 0.95 } };
  } finally {
    await pgWard?.stop().catch(() => {});
    await pg?.destroy().catch(() => {});
  }
}
