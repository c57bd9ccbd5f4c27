import assert from "node:assert/strict";
import { test } from "node:test";
import { fixture } from "../../test/helpers/access_fixture.ts";
import { AuditLog, AuditStore, toRow, type AuditEntry } from "../audit/index.ts";
import { silentLogger } from "../log/index.ts";
import { createApp } from "./app.ts";
import { accessAuditSink, exchangeAuditSink } from "./audit_sink.ts";
import type { ExchangeRecord } from "../proxy/index.ts";

async function setup() {
  const f = await fixture();
  const audit = new AuditStore(f.store.db);
  const log = new AuditLog<AuditEntry>({ write: (rows) => audit.insert(rows), toRow, logger: silentLogger, flushIntervalMs: 60_000 });
  f.svc.events.on("audit", accessAuditSink(log, () => f.clock.t));
  const app = createApp({ logger: silentLogger, readiness: [], access: f.svc, audit, auditStats: () => log.stats() });
  const get = async (path: string, token: string) => {
    const res = await app.request(path, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, json: (await res.json()) as Record<string, any> };
  };
  return { f, log, get };
}

const exchange = (over: Partial<ExchangeRecord>): ExchangeRecord => ({
  startedAt: Date.parse("2030-01-01T00:00:00Z"), requestId: "req-1", cluster: "prod", member: undefined, memberEmail: undefined, tokenId: undefined, grantIds: [],
  method: "GET", path: "/api/v1/namespaces/default/pods", query: "", protocol: "HTTP/2", userAgent: "kubectl", impersonated: undefined, body: undefined,
  kind: "request", status: 200, bytesIn: 0, bytesOut: 5, durationMs: 3, ...over,
});

test("GET /api/v1/audit: admins see every row and the queue's counters, members only their own", async () => {
  const { f, log, get } = await setup();
  try {
    const grant = await f.svc.createGrant(f.admin, "prod", { member_email: "dev@example.com", role: "view" });
    const minted = await f.svc.mintToken(f.member, "prod");
    const sink = exchangeAuditSink(log);
    sink(exchange({ requestId: "mine", member: f.member.member.id, memberEmail: "dev@example.com", tokenId: minted.jti, grantIds: [grant.grant.id] }));
    sink(exchange({ requestId: "admins", member: f.admin.member.id, memberEmail: "root@example.com", method: "DELETE", path: "/api/v1/namespaces/default/pods/p" }));
    await log.flush();

    const all = await get("/api/v1/audit", f.adminToken);
    assert.equal(all.status, 200);
    assert.deepEqual(all.json.events.map((e: { action: string }) => e.action).sort(), ["grant.create", "k8s.request", "k8s.request", "token.mint"]);
    assert.deepEqual(all.json.queue, { queued: 0, dropped: 0, written: 4, failed: 0 });
    const mine = all.json.events.find((e: { request_id: string }) => e.request_id === "mine");
    assert.deepEqual(mine.grant_ids, [grant.grant.id]);
    assert.equal(mine.token_id, minted.jti);
    assert.equal(mine.verb, "list");
    const mint = all.json.events.find((e: { action: string }) => e.action === "token.mint");
    assert.equal(mint.token_id, minted.jti);
    assert.equal(mint.member_email, "dev@example.com");
    assert.doesNotMatch(JSON.stringify(all.json), new RegExp(minted.token.slice(-20)), "a minted token never appears");

    const own = await get("/api/v1/audit", f.memberToken);
    assert.deepEqual(own.json.events.map((e: { action: string }) => e.action).sort(), ["k8s.request", "token.mint"]);
    assert.equal(own.json.queue, undefined);
    const other = await get("/api/v1/audit?member=root@example.com", f.memberToken);
    assert.deepEqual(other.json.events, [], "a member filtering for someone else sees nothing");

    assert.deepEqual((await get("/api/v1/audit?verb=delete", f.adminToken)).json.events.map((e: { request_id: string }) => e.request_id), ["admins"]);
    assert.equal((await get("/api/v1/audit?verb=grant.create&cluster=prod", f.adminToken)).json.events.length, 1);
    assert.equal((await get("/api/v1/audit?since=2029-12-31T00:00:00Z", f.adminToken)).json.events.length, 4);
    const paged = await get("/api/v1/audit?limit=3", f.adminToken);
    assert.equal(paged.json.events.length, 3);
    const rest = await get(`/api/v1/audit?limit=3&cursor=${paged.json.next}`, f.adminToken);
    assert.equal(rest.json.events.length, 1);
    assert.equal(rest.json.next, null);
  } finally {
    await log.close();
    await f.close();
  }
});

test("GET /api/v1/audit: bad filters are 400 Invalid, no token is 401", async () => {
  const { f, log, get } = await setup();
  try {
    for (const q of ["cluster=Not_Valid", "since=yesterday", "since=1y", "verb=DROP%20TABLE", "limit=0", "limit=1001", "limit=ten", "cursor=garbage", "member="]) {
      const r = await get(`/api/v1/audit?${q}`, f.adminToken);
      assert.equal(r.status, 400, q);
      assert.equal(r.json.reason, "Invalid", q);
      assert.match(r.json.error, /^Invalid /, q);
    }
    assert.equal((await get("/api/v1/audit", "wardp_nope")).status, 401);
  } finally {
    await log.close();
    await f.close();
  }
});
