/**
 * Security review regressions in the access model: expiry is a revocation, revocation events name
 * exactly what was revoked, the feature switch gates verification, members cannot probe clusters,
 * and a rotated join credential is refused at once.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { AccessError } from "./errors.ts";
import { fixture } from "../../test/helpers/access_fixture.ts";
import type { RevocationEvent } from "./types.ts";

const reason = (r: string) => (e: unknown) => e instanceof AccessError && e.reason === r;

test("a grant's expiry is announced as a revocation of that grant, once, with a grants change", async () => {
  const f = await fixture();
  try {
    const events: RevocationEvent[] = [];
    const changed: string[] = [];
    f.svc.events.on("revoked", (e) => events.push(e));
    f.svc.events.on("grantsChanged", (c) => changed.push(c));
    const mid = f.member.member.id;
    const soon = await f.svc.createGrant(f.admin, "prod", { member_id: mid, role: "edit", scope: "namespace", namespace: "a", expires_at: "2030-01-01T00:00:10Z" });
    await f.svc.createGrant(f.admin, "prod", { member_id: mid, role: "view", expires_at: "2030-01-01T01:00:00Z" });
    changed.length = 0;
    f.clock.t += 5_000;
    assert.equal(await f.svc.checkExpiries(), 0);
    f.clock.t += 6_000;
    assert.equal(await f.svc.checkExpiries(), 1);
    assert.deepEqual(events, [{ clusterId: "prod", memberId: mid, grantId: soon.grant.id, reason: "grant-expired" }]);
    assert.deepEqual(changed, ["prod"]);
    assert.equal(await f.svc.checkExpiries(), 0, "announced once");
    assert.equal((await f.svc.liveGrants("prod", mid)).length, 1);
  } finally {
    await f.close();
  }
});

test("revoking one token names that token; deleting a grant names that grant", async () => {
  const f = await fixture();
  try {
    const events: RevocationEvent[] = [];
    f.svc.events.on("revoked", (e) => events.push(e));
    const mid = f.member.member.id;
    const g = await f.svc.createGrant(f.admin, "prod", { member_id: mid, role: "view" });
    const t = await f.svc.mintToken(f.member, "prod");
    await f.svc.revokeToken(f.member, "prod", t.jti);
    await f.svc.deleteGrant(f.admin, "prod", g.grant.id);
    assert.deepEqual(events, [
      { clusterId: "prod", memberId: mid, tokenId: t.jti, reason: "token-revoked" },
      { clusterId: "prod", memberId: mid, grantId: g.grant.id, reason: "grant-deleted" },
    ]);
  } finally {
    await f.close();
  }
});

test("with the access feature off, a token minted earlier no longer verifies", async () => {
  const f = await fixture();
  try {
    await f.svc.createGrant(f.admin, "prod", { member_id: f.member.member.id, role: "view" });
    const t = await f.svc.mintToken(f.member, "prod");
    assert.equal((await f.svc.verifyToken(t.token, "prod")).member.id, f.member.member.id);
    let disabled = 0;
    f.svc.events.on("disabled", () => disabled++);
    await f.svc.updateSettings(f.admin, { enabled: false });
    assert.equal(disabled, 1);
    await assert.rejects(f.svc.verifyToken(t.token, "prod"), reason("FeatureDisabled"));
    await f.svc.updateSettings(f.admin, { enabled: true });
    assert.ok(await f.svc.verifyToken(t.token, "prod"));
  } finally {
    await f.close();
  }
});

test("members see only clusters they hold a live grant on; unknown and not-allowed answer alike", async () => {
  const f = await fixture();
  try {
    await f.svc.createCluster(f.admin, { id: "other" });
    assert.deepEqual((await f.svc.listClusters(f.member)).map((c) => c.id), []);
    assert.deepEqual((await f.svc.listClusters(f.admin)).map((c) => c.id), ["other", "prod"]);
    const answer = async (p: Promise<unknown>) => {
      const e = await p.then(() => null, (x: unknown) => x);
      assert.ok(e instanceof AccessError, String(e));
      return { reason: e.reason, status: e.status, message: e.message.replace(/prod|nosuch/, "X") };
    };
    for (const call of [
      (c: string) => f.svc.mintToken(f.member, c),
      (c: string) => f.svc.listGrants(f.member, c),
      (c: string) => f.svc.listIssuedTokens(f.member, c),
    ]) {
      const a = await answer(call("prod"));
      assert.deepEqual(a, await answer(call("nosuch")));
      assert.equal(a.reason, "NotFound");
    }
    await f.svc.createGrant(f.admin, "prod", { member_id: f.member.member.id, role: "view" });
    assert.deepEqual((await f.svc.listClusters(f.member)).map((c) => c.id), ["prod"]);
    // Another member's token id looks like a missing one.
    await f.svc.createGrant(f.admin, "prod", { member_id: f.admin.member.id, role: "view" });
    const adminTok = await f.svc.mintToken(f.admin, "prod");
    const others = await f.svc.revokeToken(f.member, "prod", adminTok.jti).catch((e: AccessError) => e);
    const missing = await f.svc.revokeToken(f.member, "prod", "k0").catch((e: AccessError) => e);
    assert.ok(others instanceof AccessError && missing instanceof AccessError);
    assert.equal(others.reason, missing.reason);
    assert.equal(others.message.replace(adminTok.jti, "k0"), missing.message);
  } finally {
    await f.close();
  }
});

test("a rotated join credential: the old one is refused at once, the new one works, agents are told to go", async () => {
  const f = await fixture();
  try {
    const { joinToken: first } = await f.svc.createCluster(f.admin, { id: "edge" });
    assert.equal(await f.svc.authenticateAgent("edge", first), true);
    const rotated: string[] = [];
    f.svc.events.on("agentCredentialRotated", (c) => rotated.push(c));
    await assert.rejects(f.svc.rotateJoinCredential(f.member, "edge"), reason("Forbidden"));
    await assert.rejects(f.svc.rotateJoinCredential(f.admin, "nosuch"), reason("NotFound"));
    const { joinToken } = await f.svc.rotateJoinCredential(f.admin, "edge");
    assert.notEqual(joinToken, first);
    assert.equal(await f.svc.authenticateAgent("edge", first), false);
    assert.equal(await f.svc.authenticateAgent("edge", joinToken), true);
    assert.deepEqual(rotated, ["edge"]);
  } finally {
    await f.close();
  }
});

test("disabling a member revokes their k8s tokens for good: enabled again, the old ones stay refused, new ones work", async () => {
  const f = await fixture();
  try {
    const mid = f.member.member.id;
    await f.svc.createGrant(f.admin, "prod", { member_id: mid, role: "view" });
    const old = await f.svc.mintToken(f.member, "prod");
    await f.svc.verifyToken(old.token, "prod");
    await f.svc.updateMember(f.admin, mid, { status: "disabled" });
    await assert.rejects(f.svc.verifyToken(old.token, "prod"), (e: Error) => (e as { detail?: string }).detail === "token revoked");
    await f.svc.updateMember(f.admin, mid, { status: "active" });
    await assert.rejects(f.svc.verifyToken(old.token, "prod"), (e: Error) => (e as { detail?: string }).detail === "token revoked");
    const fresh = await f.svc.mintToken(f.member, "prod");
    assert.equal((await f.svc.verifyToken(fresh.token, "prod")).member.id, mid);
  } finally {
    await f.close();
  }
});
