/**
 * The relay between the gateways of a deployment: two access services on one store, each with its
 * own caches and rate limiter, joined by an in-memory bus as two gateways are by NATS. What one
 * changes, the other's proxy-path view reflects at once (never a stale cache), and a revocation
 * through one is a revocation event on the other. Malformed messages are dropped.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { fixture, type Fixture } from "../../test/helpers/access_fixture.ts";
import { eventually } from "../../test/helpers/eventually.ts";
import { MemoryBus } from "../../test/helpers/memory_bus.ts";
import { AccessError, TokenRejectedError } from "./errors.ts";
import { AccessRelay, RELAY_SUBJECT } from "./relay.ts";
import { RateLimiter } from "./rate_limiter.ts";
import { AccessService } from "./service.ts";
import type { RevocationEvent } from "./types.ts";

async function twoGateways(burst = 100) {
  const f: Fixture = await fixture({ burst });
  const now = () => f.clock.t;
  const b = new AccessService({ db: f.store.db, keys: f.keys, now, rateLimiter: new RateLimiter({ now, burst, perMinute: 60 }) });
  const bus = new MemoryBus();
  const relayA = new AccessRelay(bus.connect(), f.svc, { id: "gw-a" });
  const relayB = new AccessRelay(bus.connect(), b, { id: "gw-b" });
  return {
    f, a: f.svc, b, bus, relayA, relayB,
    async close() {
      relayA.close();
      relayB.close();
      await f.close();
    },
  };
}

test("a grant created on one gateway is live on the other at once, though the other had cached 'none'", async () => {
  const g = await twoGateways();
  try {
    const mid = g.f.member.member.id;
    assert.equal((await g.b.liveGrants("prod", mid)).length, 0, "B caches: no grant");
    const shown: string[] = [];
    g.b.events.on("statusChanged", (c) => shown.push(c));
    await g.a.createGrant(g.f.admin, "prod", { member_id: mid, role: "view" });
    await eventually("B sees the grant", async () => (await g.b.liveGrants("prod", mid)).length === 1);
    assert.ok(shown.includes("prod"), "B's live views refresh");
    assert.ok(g.relayB.stats.applied > 0);
  } finally {
    await g.close();
  }
});

test("a token revoked on one gateway is refused by the other, which also announces the revocation (its live streams close)", async () => {
  const g = await twoGateways();
  try {
    const mid = g.f.member.member.id;
    await g.a.createGrant(g.f.admin, "prod", { member_id: mid, role: "view" });
    await eventually("B sees the grant", async () => (await g.b.liveGrants("prod", mid)).length === 1);
    const { token, jti } = await g.a.mintToken(g.f.member, "prod");
    assert.equal((await g.b.verifyToken(token, "prod")).jti, jti, "B accepts it (and caches its state)");
    const revoked: RevocationEvent[] = [];
    g.b.events.on("revoked", (e) => revoked.push(e));
    await g.a.revokeToken(g.f.member, "prod", jti);
    await eventually("B announced it", () => revoked.length === 1);
    assert.deepEqual(revoked[0], { clusterId: "prod", memberId: mid, tokenId: jti, reason: "token-revoked" });
    await assert.rejects(g.b.verifyToken(token, "prod"), (e) => e instanceof TokenRejectedError && /revoked/.test(e.detail));
    assert.equal(g.relayA.stats.applied, 0, "what B re-announced was not relayed back to A");
  } finally {
    await g.close();
  }
});

test("switching the access feature off on one gateway switches it off on the other", async () => {
  const g = await twoGateways();
  try {
    await g.b.requireEnabled(); // cached: on
    let disabled = 0;
    g.b.events.on("disabled", () => disabled++);
    await g.a.updateSettings(g.f.admin, { enabled: false });
    await eventually("B heard", () => disabled === 1);
    await assert.rejects(g.b.requireEnabled(), (e) => e instanceof AccessError && e.reason === "FeatureDisabled");
  } finally {
    await g.close();
  }
});

test("tokens minted on one gateway count against the member's rate limit on the other", async () => {
  const g = await twoGateways(2);
  try {
    await g.a.createGrant(g.f.admin, "prod", { member_id: g.f.member.member.id, role: "view" });
    await g.a.mintToken(g.f.member, "prod");
    await g.a.mintToken(g.f.member, "prod");
    await eventually("B counted both", () => g.relayB.stats.applied >= 4);
    await assert.rejects(g.b.mintToken(g.f.member, "prod"), (e) => e instanceof AccessError && e.reason === "RateLimited");
  } finally {
    await g.close();
  }
});

test("malformed or hostile relay messages are dropped; a gateway ignores its own", async () => {
  const g = await twoGateways();
  try {
    const raw = g.bus.connect();
    const enc = new TextEncoder();
    const bad = [
      "not json",
      JSON.stringify({ v: 2, from: "x", c: { t: "disabled" } }),
      JSON.stringify({ v: 1, from: "x", c: { t: "revoked", ev: { clusterId: "a.b", reason: "token-revoked" } } }),
      JSON.stringify({ v: 1, from: "x", c: { t: "revoked", ev: { clusterId: "prod", reason: "because" } } }),
      JSON.stringify({ v: 1, from: "x", c: { t: "inv", inv: { kind: "grants", cluster: ">" } } }),
      JSON.stringify({ v: 1, from: "x", c: { t: "minted", member: "x".repeat(500) } }),
      JSON.stringify({ v: 1, from: "x", c: { t: "unknown" } }),
      "x".repeat(20_000),
    ];
    for (const m of bad) raw.publish(RELAY_SUBJECT, enc.encode(m));
    let disabled = 0;
    g.b.events.on("disabled", () => disabled++);
    raw.publish(RELAY_SUBJECT, enc.encode(JSON.stringify({ v: 1, from: "gw-b", c: { t: "disabled" } })));
    await eventually("all dropped", () => g.relayB.stats.dropped === bad.length);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(disabled, 0, "its own id: ignored");
    assert.equal(g.relayB.stats.applied, 0);
  } finally {
    await g.close();
  }
});
