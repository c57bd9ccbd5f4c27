/**
 * Fault injection on PostgreSQL: the database restarted under load (kubectl requests and grant
 * writes running continuously). Proven: errors in the gap are clear (a 503 Status on the proxy path,
 * 503 `StoreUnavailable` on the API, never a hang, a dropped connection or a 500); no grant is
 * half-written (every acknowledged grant exists once, whole, with its audit row; a refused one is
 * absent or, when its commit raced the shutdown, whole and audited too); everything recovers by
 * itself within a few seconds of the database's return, with the same gateway process.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { eventually } from "../helpers/eventually.ts";
import type { KubeEnv } from "../helpers/kube-env.ts";
import { kubectl } from "../helpers/kubectl.ts";
import { startPostgres, type Postgres } from "../helpers/postgres.ts";
import { useWard, type ApiResult, type Ward, type WardMember } from "../helpers/ward.ts";

const CLUSTER = "pgfault";
let kube: KubeEnv;
let pg: Postgres;
let db: string;
let w: Ward;
let dev: WardMember;

useWard({
  ward: async () => {
    pg = await startPostgres();
    db = await pg.createDatabase();
    return { cluster: CLUSTER, gatewayArgs: ["--store", pg.url(db)] };
  },
  devGrant: (kube) => ({ role: "edit", scope: "namespace", namespace: kube.namespace }),
  finally: () => pg?.destroy(),
}, (s) => ({ kube, w, dev } = s));

interface Outcome {
  at: number;
  ok: boolean;
  detail: string;
}

test("PostgreSQL restarted under load: clear errors in the gap, nothing half-written, recovery by itself within seconds", { timeout: 120_000 }, async () => {
  const m = await w.member("load@example.com");
  const grantsPath = `/api/v1/clusters/${CLUSTER}/access/grants`;
  const target = { kubectl: kube.kubectl.newest, kubeconfig: dev.kubeconfig };
  const kubectlRuns: Outcome[] = [];
  const writes: (Outcome & { ns: string; r?: ApiResult })[] = [];
  let stop = false;
  let seq = 0;

  const kubectlLoop = async () => {
    while (!stop) {
      const r = await kubectl(target, ["get", "configmaps", "-n", kube.namespace, "-o", "name"], { timeoutMs: 20_000 });
      kubectlRuns.push({ at: Date.now(), ok: r.code === 0, detail: r.code === 0 ? "" : r.stderr.trim() });
    }
  };
  const writeLoop = async () => {
    while (!stop) {
      const ns = `load-${++seq}`;
      const t0 = Date.now();
      let r: ApiResult;
      try {
        r = await w.api(w.adminToken, "POST", grantsPath, { member_id: m.id, role: "view", scope: "namespace", namespace: ns });
      } catch (e) {
        writes.push({ at: Date.now(), ok: false, ns, detail: `the connection failed: ${(e as Error).message}` });
        continue;
      }
      writes.push({ at: Date.now(), ok: r.status === 201, ns, r, detail: `${r.status} ${JSON.stringify(r.json)} after ${Date.now() - t0} ms` });
      if (r.status !== 201) await new Promise((res) => setTimeout(res, 50));
    }
  };
  const loops = [kubectlLoop(), kubectlLoop(), writeLoop(), writeLoop()];
  let back = 0;
  try {
    await eventually("grant writes succeed under load", () => writes.filter((x) => x.ok).length >= 5, { timeoutMs: 20_000, intervalMs: 50 });
    await pg.stop();
    const down = Date.now();
    await eventually("a grant write refused while the database is down", () => writes.some((x) => x.at > down && !x.ok), { timeoutMs: 15_000, intervalMs: 50 });
    await pg.start();
    back = Date.now();
    await eventually("a grant write succeeds after the database returned", () => writes.some((x) => x.at > back && x.ok), { timeoutMs: 10_000, intervalMs: 50 });
    const recoveredMs = writes.find((x) => x.at > back && x.ok)!.at - back;
    console.log(`# grant writes recovered ${recoveredMs} ms after PostgreSQL was back`);
    assert.ok(recoveredMs < 5000, `grant writes recovered ${recoveredMs} ms after the database returned`);
    // A little more load after the recovery: all of it succeeds.
    const settled = Date.now() + 500;
    await eventually("more writes after recovery", () => writes.filter((x) => x.at > settled).length >= 5, { timeoutMs: 10_000, intervalMs: 50 });
  } finally {
    stop = true;
    await Promise.all(loops);
  }

  // Every error was a clear, retryable one; none after the recovery.
  for (const x of writes.filter((x) => !x.ok)) {
    assert.ok(x.r, x.detail);
    assert.equal(x.r.status, 503, x.detail);
    assert.equal(x.r.json.reason, "StoreUnavailable", x.detail);
    assert.equal(x.r.headers["retry-after"], "5", x.detail);
  }
  const firstOk = writes.find((x) => x.at > back && x.ok)!.at;
  assert.deepEqual(writes.filter((x) => x.at > firstOk + 500 && !x.ok).map((x) => x.detail), [], "no failures once recovered");
  for (const k of kubectlRuns.filter((x) => !x.ok)) assert.match(k.detail, /offline|unavailable|database/i, k.detail);
  assert.ok(kubectlRuns.filter((x) => x.ok).length >= 5, "kubectl ran throughout");
  assert.equal(w.gateway.child.exitCode, null, "the same gateway process, never restarted");

  // No half-written record: every acknowledged grant is there, whole and audited; a refused one is
  // absent, or whole and audited when its commit won the race with the shutdown.
  const rows = pg.psql(`select g.id || '|' || g.namespace || '|' || g.role || '|' || g.status || '|' || (select count(*) from audit_events a where a.action = 'grant.create' and a.grant_ids = g.id) from grants g where g.member_id = '${m.id}'`, db)
    .split("\n").filter(Boolean).map((l) => l.split("|"));
  const byNs = new Map(rows.map(([id, ns, role, status, audits]) => [ns!, { id: id!, role: role!, status: status!, audits: Number(audits) }]));
  assert.equal(byNs.size, rows.length, "one row per namespace");
  for (const x of writes.filter((x) => x.ok)) {
    const row = byNs.get(x.ns);
    assert.ok(row, `acknowledged grant ${x.ns} is in the database`);
    assert.equal(row.id, x.r!.json.grant.id);
  }
  await eventually("every grant row has its audit row", () => {
    const missing = pg.psql(`select count(*) from grants g where g.member_id = '${m.id}' and not exists (select 1 from audit_events a where a.action = 'grant.create' and a.grant_ids = g.id)`, db);
    return missing === "0";
  }, { timeoutMs: 10_000, intervalMs: 250 });
  for (const [ns, row] of byNs) {
    assert.equal(row.role, "view", ns);
    assert.match(row.status, /^(pending|applied|failed|cluster_offline)$/, ns);
    assert.ok(writes.some((x) => x.ns === ns), `${ns} was asked for`);
  }
  const apiIds = ((await w.api(w.adminToken, "GET", grantsPath)).json.grants as { id: string; member_id: string }[]).filter((g) => g.member_id === m.id).map((g) => g.id).sort();
  assert.deepEqual(apiIds, rows.map((r) => r[0]!).sort(), "the API and the database agree");
});
