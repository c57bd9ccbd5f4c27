import { test } from "node:test";
import assert from "node:assert/strict";
import { CompiledPermissions, ResponseGrants } from "./permissions.ts";

test("publish allow-lists match literal subjects, subscribe allow-lists must cover", () => {
  const p = new CompiledPermissions({ publish: ["ward.gw.c1.>", "svc.*"], subscribe: ["ward.agent.c1.>"] });
  assert.equal(p.canPublish("ward.gw.c1.x"), true);
  assert.equal(p.canPublish("ward.gw.c1"), false);
  assert.equal(p.canPublish("ward.gw.c2.x"), false);
  assert.equal(p.canPublish("svc.a"), true);
  assert.equal(p.canPublish("svc.a.b"), false);
  assert.equal(p.canSubscribe("ward.agent.c1.>"), true);
  assert.equal(p.canSubscribe("ward.agent.c1.*.x"), true);
  assert.equal(p.canSubscribe("ward.agent.*.x"), false);
  assert.equal(p.canSubscribe("ward.agent.>"), false);
  const none = new CompiledPermissions({ publish: [], subscribe: [] });
  assert.equal(none.canPublish("a"), false);
  assert.equal(none.canSubscribe("a"), false);
  assert.throws(() => new CompiledPermissions({ publish: ["a b"], subscribe: [] }), /Invalid permission subject/);
});

test("reply grants: max uses, TTL, bounded size", () => {
  const g = new ResponseGrants({ max: 2, ttlMs: 100 }, 8);
  g.grant("r.1", 0);
  assert.equal(g.consume("r.1", 50), true);
  assert.equal(g.consume("r.1", 60), true);
  assert.equal(g.consume("r.1", 70), false);
  g.grant("r.2", 0);
  assert.equal(g.consume("r.2", 101), false);
  for (let i = 0; i < 100; i++) g.grant(`x.${i}`, 1000);
  assert.ok(g.size <= 8);
  assert.equal(g.consume("x.99", 1001), true);
});
