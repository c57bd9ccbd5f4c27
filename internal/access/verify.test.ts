import assert from "node:assert/strict";
import { test } from "node:test";
import { SignJWT, base64url } from "jose";
import { TokenRejectedError } from "./errors.ts";
import { fixture, type Fixture } from "../../test/helpers/access_fixture.ts";
import { eventually } from "../../test/helpers/eventually.ts";

const rejected = (detail: RegExp) => (e: unknown) => {
  assert.ok(e instanceof TokenRejectedError, `expected TokenRejectedError, got ${String(e)}`);
  assert.match(e.detail, detail);
  assert.equal(e.message, "Unauthorized");
  return true;
};

async function withGrant(): Promise<Fixture & { token: string; jti: string; grantId: string }> {
  const f = await fixture();
  await f.svc.createCluster(f.admin, { id: "staging" });
  const { grant } = await f.svc.createGrant(f.admin, "prod", { member_id: f.member.member.id, role: "view", expires_at: "2030-01-01T00:30:00Z" });
  const t = await f.svc.mintToken(f.member, "prod", { lifetimeSeconds: 600 });
  return { ...f, token: t.token, jti: t.jti, grantId: grant.id };
}

test("a valid token verifies and carries member, cluster and grants", async () => {
  const f = await withGrant();
  try {
    const ctx = await f.svc.verifyToken(f.token, "prod");
    assert.equal(ctx.member.id, f.member.member.id);
    assert.equal(ctx.clusterId, "prod");
    assert.equal(ctx.jti, f.jti);
    assert.deepEqual(ctx.grants.map((g) => g.role), ["view"]);
    const [h] = f.token.split(".");
    const header = JSON.parse(new TextDecoder().decode(base64url.decode(h!)));
    assert.equal(header.alg, "EdDSA");
    assert.equal(header.kid, f.keys.current.kid);
  } finally {
    await f.close();
  }
});

test("rejects alg none", async () => {
  const f = await withGrant();
  try {
    const [, payload] = f.token.split(".");
    const none = `${base64url.encode(JSON.stringify({ alg: "none", typ: "JWT" }))}.${payload}.`;
    await assert.rejects(f.svc.verifyToken(none, "prod"), rejected(/algorithm none|bad token/));
  } finally {
    await f.close();
  }
});

test("rejects HS256 signed with the public key", async () => {
  const f = await withGrant();
  try {
    const [, payload] = f.token.split(".");
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload!)));
    for (const secret of [new TextEncoder().encode(JSON.stringify(f.keys.current.publicJwk)), base64url.decode(f.keys.current.publicJwk.x!)]) {
      const forged = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: f.keys.current.kid }).sign(secret);
      await assert.rejects(f.svc.verifyToken(forged, "prod"), rejected(/algorithm HS256 not allowed|ERR_JOSE_ALG_NOT_ALLOWED/));
    }
  } finally {
    await f.close();
  }
});

test("rejects a tampered signature and an unknown kid", async () => {
  const f = await withGrant();
  try {
    const [h, p, s] = f.token.split(".");
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(p!)));
    claims.sub = f.admin.member.id;
    // The reason names jose's stable code: class names are minified in the built executable.
    await assert.rejects(f.svc.verifyToken(`${h}.${base64url.encode(JSON.stringify(claims))}.${s}`, "prod"), rejected(/^bad token: ERR_JWS_SIGNATURE_VERIFICATION_FAILED$/));
    const other = `${base64url.encode(JSON.stringify({ alg: "EdDSA", kid: "other" }))}.${p}.${s}`;
    await assert.rejects(f.svc.verifyToken(other, "prod"), rejected(/unknown kid/));
  } finally {
    await f.close();
  }
});

test("rejects another cluster's audience", async () => {
  const f = await withGrant();
  try {
    await assert.rejects(f.svc.verifyToken(f.token, "staging"), rejected(/claim aud/));
  } finally {
    await f.close();
  }
});

test("rejects an expired token", async () => {
  const f = await withGrant();
  try {
    f.clock.t += 600_000 + 6_000;
    await assert.rejects(f.svc.verifyToken(f.token, "prod"), rejected(/expired/));
  } finally {
    await f.close();
  }
});

test("rejects a token that expired after it was verified (and cached) once", async () => {
  const f = await withGrant();
  try {
    await f.svc.verifyToken(f.token, "prod");
    f.clock.t += 600_000 + 6_000;
    await assert.rejects(f.svc.verifyToken(f.token, "prod"), rejected(/expired/));
    // The cached signature is bound to its cluster: another audience is still refused.
    f.clock.t -= 600_000 + 6_000;
    await assert.rejects(f.svc.verifyToken(f.token, "other"), rejected(/aud|audience|unknown cluster/));
  } finally {
    await f.close();
  }
});

test("rejects a not-yet-valid token", async () => {
  const f = await withGrant();
  try {
    f.clock.t -= 60_000;
    await assert.rejects(f.svc.verifyToken(f.token, "prod"), rejected(/claim (nbf|iat)/));
  } finally {
    await f.close();
  }
});

test("rejects a wrong generation after revoke-all (and the token is marked revoked)", async () => {
  const f = await withGrant();
  try {
    await f.svc.verifyToken(f.token, "prod"); // warm the caches
    const events: unknown[] = [];
    f.svc.events.on("revoked", (e) => events.push(e));
    const r = await f.svc.revokeAll(f.admin, "prod");
    assert.equal(r.revoked, 1);
    assert.equal(r.generation, 2);
    assert.deepEqual(events, [{ clusterId: "prod", reason: "revoke-all" }]);
    await assert.rejects(f.svc.verifyToken(f.token, "prod"), rejected(/stale access generation/));
    const fresh = await f.svc.mintToken(f.member, "prod");
    await f.svc.verifyToken(fresh.token, "prod");
  } finally {
    await f.close();
  }
});

test("rejects a revoked token id (per member revoke and one by one)", async () => {
  const f = await withGrant();
  try {
    await f.svc.verifyToken(f.token, "prod");
    await f.svc.revokeAll(f.admin, "prod", { member_id: f.member.member.id });
    await assert.rejects(f.svc.verifyToken(f.token, "prod"), rejected(/token revoked/));
    const t2 = await f.svc.mintToken(f.member, "prod");
    await f.svc.verifyToken(t2.token, "prod");
    await f.svc.revokeToken(f.member, "prod", t2.jti);
    await assert.rejects(f.svc.verifyToken(t2.token, "prod"), rejected(/token revoked/));
  } finally {
    await f.close();
  }
});

test("rejects a disabled member and emits a revocation", async () => {
  const f = await withGrant();
  try {
    await f.svc.verifyToken(f.token, "prod");
    const events: unknown[] = [];
    f.svc.events.on("revoked", (e) => events.push(e));
    await f.svc.updateMember(f.admin, f.member.member.id, { status: "disabled" });
    // Disabling revokes the member's tokens (so enabling them again does not bring these back).
    await assert.rejects(f.svc.verifyToken(f.token, "prod"), rejected(/token revoked/));
    assert.deepEqual(events, [{ clusterId: "prod", memberId: f.member.member.id, reason: "member-disabled" }]);
  } finally {
    await f.close();
  }
});

test("rejects when the grant is deleted (no grant) and emits a revocation", async () => {
  const f = await withGrant();
  try {
    await f.svc.verifyToken(f.token, "prod");
    const events: unknown[] = [];
    f.svc.events.on("revoked", (e) => events.push(e));
    await f.svc.deleteGrant(f.admin, "prod", f.grantId);
    await assert.rejects(f.svc.verifyToken(f.token, "prod"), rejected(/no live grant/));
    assert.deepEqual(events, [{ clusterId: "prod", memberId: f.member.member.id, grantId: f.grantId, reason: "grant-deleted" }]);
  } finally {
    await f.close();
  }
});

test("rejects when the grant has expired (token minted before a grant renewal shrank)", async () => {
  const f = await fixture();
  try {
    await f.svc.createGrant(f.admin, "prod", { member_id: f.member.member.id, role: "view" });
    const t = await f.svc.mintToken(f.member, "prod", { lifetimeSeconds: 3600 });
    // The grant is replaced by a time-boxed one that ends before the token does.
    await f.svc.createGrant(f.admin, "prod", { member_id: f.member.member.id, role: "view", expires_at: "2030-01-01T00:10:00Z" });
    await f.svc.verifyToken(t.token, "prod");
    f.clock.t += 11 * 60_000;
    await assert.rejects(f.svc.verifyToken(t.token, "prod"), rejected(/no live grant/));
  } finally {
    await f.close();
  }
});

test("verification hits the store once per key, then the caches", async () => {
  const f = await withGrant();
  try {
    await f.svc.verifyToken(f.token, "prod");
    let queries = 0;
    const orig = f.store.db.getExecutor().executeQuery.bind(f.store.db.getExecutor());
    const exec = f.store.db.getExecutor() as { executeQuery: typeof orig };
    exec.executeQuery = (...a) => {
      queries++;
      return orig(...a);
    };
    for (let i = 0; i < 20; i++) await f.svc.verifyToken(f.token, "prod");
    assert.equal(queries, 0);
  } finally {
    await f.close();
  }
});

test("minting is rate-limited per member with a retry time", async () => {
  const f = await fixture({ burst: 2 });
  try {
    await f.svc.createGrant(f.admin, "prod", { member_id: f.member.member.id, role: "view" });
    await f.svc.createGrant(f.admin, "prod", { member_id: f.admin.member.id, role: "view" });
    await f.svc.mintToken(f.member, "prod");
    await f.svc.mintToken(f.member, "prod");
    await assert.rejects(f.svc.mintToken(f.member, "prod"), (e: unknown) => {
      const err = e as { reason: string; status: number; retryAfter: number };
      return err.reason === "RateLimited" && err.status === 429 && err.retryAfter === 1;
    });
    await f.svc.mintToken(f.admin, "prod");
    f.clock.t += 1000;
    await f.svc.mintToken(f.member, "prod");
  } finally {
    await f.close();
  }
});

test("a verified use shows as last used: at once in the list, in the row at most once a minute", async () => {
  const f = await withGrant();
  try {
    const row = async () => (await f.store.db.selectFrom("issued_tokens").select("last_used_at").where("id", "=", f.jti).executeTakeFirstOrThrow()).last_used_at;
    const listed = async () => (await f.svc.listIssuedTokens(f.member, "prod")).find((t) => t.id === f.jti)!.last_used_at;
    assert.equal(await listed(), null, "never used");
    await f.svc.verifyToken(f.token, "prod");
    const first = new Date(f.clock.t).toISOString();
    assert.equal(await listed(), first);
    // Written off the request path: on PostgreSQL it lands a round trip later.
    await eventually("the first use is written", async () => (await row()) === first);
    f.clock.t += 20_000;
    await f.svc.verifyToken(f.token, "prod");
    assert.equal(await listed(), new Date(f.clock.t).toISOString(), "a use within the minute is listed");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await row(), first, "…but not written again");
    f.clock.t += 60_000;
    await f.svc.verifyToken(f.token, "prod");
    const later = new Date(f.clock.t).toISOString();
    await eventually("a minute later it is written", async () => (await row()) === later);
  } finally {
    await f.close();
  }
});
