import { test } from "node:test";
import assert from "node:assert/strict";
import { openStore } from "../store/index.ts";
import { testStoreUrl } from "../../test/helpers/access_fixture.ts";
import { silentLogger } from "../log/index.ts";
import { AuditRetention, AuditStore, InvalidCursorError, toRow, type RequestEntry } from "./index.ts";

const T0 = Date.parse("2026-12-01T00:00:00Z");

function request(over: Partial<RequestEntry>): RequestEntry {
  return {
    type: "request", at: T0, requestId: "r", cluster: "prod", memberId: "m1", memberEmail: "alice@example.com", grantIds: ["g1"], tokenId: "k1",
    method: "GET", path: "/api/v1/namespaces/default/pods", query: "", impersonated: undefined, userAgent: "kubectl/v1.34", status: 200,
    bytesIn: 0, bytesOut: 10, durationMs: 1.4, body: undefined, ...over,
  };
}

test("audit store: batched inserts, filters, newest first, cursor pages, prune", async () => {
  const store = await openStore(await testStoreUrl(), { logger: silentLogger });
  try {
    const audit = new AuditStore(store.db);
    const rows = [];
    for (let i = 0; i < 250; i++) {
      rows.push(toRow(request({
        at: T0 + i * 60_000, requestId: `r${i}`, cluster: i % 2 ? "prod" : "dev", memberId: i % 5 ? "m1" : "m2", memberEmail: i % 5 ? "alice@example.com" : "bob@example.com",
        method: i % 3 ? "GET" : "DELETE", path: `/api/v1/namespaces/default/configmaps/c${i}`,
      })));
    }
    await audit.insert(rows);
    const all = await audit.query({ limit: 1000 });
    assert.equal(all.rows.length, 250);
    assert.equal(all.next, null);
    assert.equal(all.rows[0]!.request_id, "r249", "newest first");
    const r0 = all.rows.at(-1)!;
    assert.deepEqual(
      { verb: r0.verb, resource: r0.resource, name: r0.name, namespace: r0.namespace, grant_ids: r0.grant_ids, token_id: r0.token_id, duration_ms: r0.duration_ms, time: r0.time },
      { verb: "delete", resource: "configmaps", name: "c0", namespace: "default", grant_ids: "g1", token_id: "k1", duration_ms: 1, time: "2026-12-01T00:00:00.000Z" },
    );

    assert.ok((await audit.query({ cluster: "prod", limit: 1000 })).rows.every((r) => r.cluster_id === "prod"));
    assert.equal((await audit.query({ cluster: "prod", limit: 1000 })).rows.length, 125);
    assert.equal((await audit.query({ member: "bob@example.com", limit: 1000 })).rows.length, 50);
    assert.equal((await audit.query({ member: "m2", limit: 1000 })).rows.length, 50);
    assert.equal((await audit.query({ onlyMemberId: "m1", member: "m2" })).rows.length, 0, "a member's own rows only, whatever the filter");
    assert.equal((await audit.query({ verb: "delete", limit: 1000 })).rows.length, 84);
    assert.equal((await audit.query({ since: new Date(T0 + 200 * 60_000).toISOString(), limit: 1000 })).rows.length, 50);

    // Pages: 100 + 100 + 50, no row twice, in order.
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await audit.query({ limit: 100, ...(cursor ? { cursor } : {}) });
      seen.push(...page.rows.map((r) => r.request_id!));
      cursor = page.next ?? undefined;
      pages++;
    } while (cursor);
    assert.equal(pages, 3);
    assert.deepEqual(seen, all.rows.map((r) => r.request_id!));
    await assert.rejects(audit.query({ cursor: "garbage" }), InvalidCursorError);
    assert.equal((await audit.query({ limit: 5000 })).rows.length, 250, "a limit past the cap is bounded, not refused");

    // Retention: rows older than it go; the rest stay.
    const retention = new AuditRetention({ store: audit, retentionMs: 60 * 60_000, logger: silentLogger, now: () => T0 + 250 * 60_000 });
    assert.equal(await retention.prune(), 190);
    assert.equal((await audit.query({ limit: 1000 })).rows.length, 60);
  } finally {
    await store.close();
  }
});

test("a write's body is stored redacted; an action row carries its detail", async () => {
  const store = await openStore(await testStoreUrl(), { logger: silentLogger });
  try {
    const audit = new AuditStore(store.db);
    const body = Buffer.from(JSON.stringify({ kind: "Secret", metadata: { name: "s" }, data: { pw: "c2VjcmV0LXZhbHVl" } }));
    await audit.insert([
      toRow(request({ method: "POST", path: "/api/v1/namespaces/default/secrets", body: { bytes: body, size: body.length, truncated: false, contentType: "application/json" } })),
      toRow({ type: "action", at: T0 + 1, action: "grant.create", memberId: "m1", cluster: "prod", grantIds: ["g9"], detail: { role: "view" } }),
    ]);
    const { rows } = await audit.query();
    assert.equal(rows[0]!.action, "grant.create");
    assert.equal(rows[0]!.detail, JSON.stringify({ role: "view" }));
    assert.equal(rows[1]!.verb, "create");
    assert.equal(rows[1]!.body_bytes, body.length);
    assert.doesNotMatch(JSON.stringify(rows), /c2VjcmV0LXZhbHVl/);
    assert.match(rows[1]!.body!, /"pw":"\*\*\*"/);
  } finally {
    await store.close();
  }
});
