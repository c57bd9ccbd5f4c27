import assert from "node:assert/strict";
import { test } from "node:test";
import { AccessError } from "./errors.ts";
import { fixture } from "../../test/helpers/access_fixture.ts";

const reason = (r: string) => (e: unknown) => e instanceof AccessError && e.reason === r;

test("grant validation: role, scope, DNS-1123 namespace, expiry, member, cluster", async () => {
  const f = await fixture();
  try {
    const mid = f.member.member.id;
    await assert.rejects(f.svc.createGrant(f.admin, "prod", { member_id: mid, role: "root" }), /Invalid role "root"/);
    await assert.rejects(f.svc.createGrant(f.admin, "prod", { member_id: mid, role: "view", scope: "galaxy" }), /Invalid scope/);
    await assert.rejects(f.svc.createGrant(f.admin, "prod", { member_id: mid, role: "view", scope: "namespace", namespace: "Bad_NS" }), /DNS-1123/);
    await assert.rejects(f.svc.createGrant(f.admin, "prod", { member_id: mid, role: "view", scope: "namespace" }), /DNS-1123/);
    await assert.rejects(f.svc.createGrant(f.admin, "prod", { member_id: mid, role: "view", scope: "namespace", namespace: "a".repeat(64) }), /DNS-1123/);
    await assert.rejects(f.svc.createGrant(f.admin, "prod", { member_id: mid, role: "view", scope: "cluster", namespace: "x" }), /takes no namespace/);
    await assert.rejects(f.svc.createGrant(f.admin, "prod", { member_id: mid, role: "view", expires_at: "2029-01-01T00:00:00Z" }), /in the past/);
    await assert.rejects(f.svc.createGrant(f.admin, "prod", { member_id: mid, role: "view", expires_at: "tomorrow" }), /ISO-8601/);
    await assert.rejects(f.svc.createGrant(f.admin, "prod", { member_id: "nobody", role: "view" }), reason("NotFound"));
    await assert.rejects(f.svc.createGrant(f.admin, "nope", { member_id: mid, role: "view" }), reason("NotFound"));
    const { grant } = await f.svc.createGrant(f.admin, "prod", { member_id: mid, role: "edit", scope: "namespace", namespace: "team-a" });
    assert.equal(grant.namespace, "team-a");
    assert.equal(grant.status, "cluster_offline");
  } finally {
    await f.close();
  }
});

test("only admins manage; disabled members cannot be granted; sandbox clusters refused", async () => {
  const f = await fixture({ online: true });
  try {
    const mid = f.member.member.id;
    await assert.rejects(f.svc.createGrant(f.member, "prod", { member_id: mid, role: "view" }), reason("Forbidden"));
    await assert.rejects(f.svc.createCluster(f.member, { id: "x" }), reason("Forbidden"));
    await assert.rejects(f.svc.createMember(f.member, { email: "a@b.c" }), reason("Forbidden"));
    await assert.rejects(f.svc.revokeAll(f.member, "prod"), reason("Forbidden"));
    await f.svc.createCluster(f.admin, { id: "sandbox-1", sandbox: true });
    await assert.rejects(f.svc.createGrant(f.admin, "sandbox-1", { member_id: mid, role: "view" }), reason("SandboxCluster"));
    await assert.rejects(f.svc.createCluster(f.admin, { id: "Bad.Id" }), /Invalid cluster id/);
    await assert.rejects(f.svc.createCluster(f.admin, { id: "prod" }), reason("Conflict"));
    await assert.rejects(f.svc.createMember(f.admin, { email: "dev@example.com" }), reason("Conflict"));
    await f.svc.updateMember(f.admin, mid, { status: "disabled" });
    await assert.rejects(f.svc.createGrant(f.admin, "prod", { member_id: mid, role: "view" }), reason("MemberDisabled"));
    await assert.rejects(f.svc.authenticateApiToken(f.memberToken), reason("MemberDisabled"));
    await assert.rejects(f.svc.updateMember(f.admin, f.admin.member.id, { status: "disabled" }), /cannot disable or demote themselves/);
  } finally {
    await f.close();
  }
});

test("duplicate grants are idempotent; a new expiry replaces the old grant", async () => {
  const f = await fixture({ online: true });
  try {
    const mid = f.member.member.id;
    const a = await f.svc.createGrant(f.admin, "prod", { member_id: mid, role: "view" });
    assert.equal(a.created, true);
    assert.equal(a.grant.status, "pending");
    const b = await f.svc.createGrant(f.admin, "prod", { member_id: mid, role: "view" });
    assert.equal(b.created, false);
    assert.equal(b.grant.id, a.grant.id);
    const c = await f.svc.createGrant(f.admin, "prod", { member_id: mid, role: "view", expires_at: "2030-01-02T00:00:00Z" });
    assert.equal(c.grant.id, a.grant.id);
    assert.equal(c.grant.expires_at, "2030-01-02T00:00:00.000Z");
    assert.equal((await f.svc.listGrants(f.admin, "prod")).length, 1);
  } finally {
    await f.close();
  }
});

test("admins need a grant to mint; members see only their own grants", async () => {
  const f = await fixture();
  try {
    await assert.rejects(f.svc.mintToken(f.admin, "prod"), reason("NoGrant"));
    await f.svc.createGrant(f.admin, "prod", { member_id: f.admin.member.id, role: "cluster-admin" });
    await f.svc.createGrant(f.admin, "prod", { member_id: f.member.member.id, role: "view" });
    const t = await f.svc.mintToken(f.admin, "prod");
    assert.equal(t.expiresAt, "2030-01-01T01:00:00.000Z");
    assert.equal((await f.svc.listGrants(f.member, "prod")).length, 1);
    assert.equal((await f.svc.listGrants(f.admin, "prod")).length, 2);
  } finally {
    await f.close();
  }
});

test("token lifetime is capped by the admin setting and by grant expiry; feature off refuses minting", async () => {
  const f = await fixture();
  try {
    await f.svc.updateSettings(f.admin, { max_token_lifetime_seconds: 600 });
    await assert.rejects(f.svc.updateSettings(f.member, { enabled: false }), reason("Forbidden"));
    await f.svc.createGrant(f.admin, "prod", { member_id: f.member.member.id, role: "view", expires_at: "2030-01-01T00:05:00Z" });
    let t = await f.svc.mintToken(f.member, "prod", { lifetimeSeconds: 100000 });
    assert.equal(t.expiresAt, "2030-01-01T00:05:00.000Z");
    await f.svc.createGrant(f.admin, "prod", { member_id: f.member.member.id, role: "edit" });
    t = await f.svc.mintToken(f.member, "prod", { lifetimeSeconds: 100000 });
    assert.equal(t.expiresAt, "2030-01-01T00:10:00.000Z");
    t = await f.svc.mintToken(f.member, "prod", { lifetimeSeconds: 60 });
    assert.equal(t.expiresAt, "2030-01-01T00:01:00.000Z");
    await f.svc.updateSettings(f.admin, { enabled: false });
    await assert.rejects(f.svc.mintToken(f.member, "prod"), reason("FeatureDisabled"));
  } finally {
    await f.close();
  }
});

test("agent join credentials are checked against a hash", async () => {
  const f = await fixture();
  try {
    const { joinToken } = await f.svc.createCluster(f.admin, { id: "edge-1" });
    assert.match(joinToken, /^wardj_/);
    assert.equal(await f.svc.authenticateAgent("edge-1", joinToken), true);
    assert.equal(await f.svc.authenticateAgent("edge-1", joinToken + "x"), false);
    assert.equal(await f.svc.authenticateAgent("prod", joinToken), false);
    const row = await f.store.db.selectFrom("clusters").selectAll().where("id", "=", "edge-1").executeTakeFirstOrThrow();
    assert.ok(!row.agent_credential_hash.includes(joinToken));
  } finally {
    await f.close();
  }
});

test("desired grants skip expired grants and disabled members; status updates and online moves", async () => {
  const f = await fixture();
  try {
    const mid = f.member.member.id;
    const g1 = (await f.svc.createGrant(f.admin, "prod", { member_id: mid, role: "view", expires_at: "2030-01-01T00:01:00Z" })).grant;
    const g2 = (await f.svc.createGrant(f.admin, "prod", { member_id: mid, role: "edit", scope: "namespace", namespace: "ns1" })).grant;
    assert.deepEqual((await f.svc.desiredGrants("prod")).map((g) => g.id).sort(), [g1.id, g2.id].sort());
    f.clock.t += 61_000;
    assert.deepEqual((await f.svc.desiredGrants("prod")).map((g) => g.id), [g2.id]);
    await f.svc.setClusterOnline("prod", true);
    assert.equal((await f.svc.listGrants(f.admin, "prod")).find((g) => g.id === g2.id)?.status, "pending");
    await f.svc.setGrantStatus("prod", [{ id: g2.id, status: "failed", error: "namespaces \"ns1\" not found" }]);
    const g = (await f.svc.listGrants(f.admin, "prod")).find((x) => x.id === g2.id)!;
    assert.equal(g.status, "failed");
    assert.match(g.error!, /not found/);
    await f.svc.updateMember(f.admin, mid, { status: "disabled" });
    assert.deepEqual(await f.svc.desiredGrants("prod"), []);
  } finally {
    await f.close();
  }
});

test("token mints and mint refusals by the rate limit are announced (for metrics)", async () => {
  const f = await fixture({ burst: 10 });
  try {
    await f.svc.createGrant(f.admin, "prod", { member_id: f.member.member.id, role: "view" });
    const minted: string[] = [];
    const limited: string[] = [];
    f.svc.events.on("tokenMinted", (e) => minted.push(`${e.clusterId}/${e.kind}`));
    f.svc.events.on("rateLimited", (e) => limited.push(`${e.clusterId}/${e.limit}`));
    let refused = 0;
    for (let i = 0; i < 12 && refused === 0; i++) {
      await f.svc.mintToken(f.member, "prod", { kind: i === 0 ? "kubeconfig" : "k8s-token" }).catch((e: unknown) => {
        if (!reason("RateLimited")(e)) throw e;
        refused++;
      });
    }
    assert.equal(refused, 1);
    assert.equal(minted[0], "prod/kubeconfig");
    assert.equal(minted.length, 10, "the burst of 10");
    assert.deepEqual(limited, ["prod/token-mint"]);
  } finally {
    await f.close();
  }
});
