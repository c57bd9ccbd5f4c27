import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import { NatsServer } from "../nats/index.ts";
import { AccessSync } from "./gateway_sync.ts";
import { accessSubjects } from "../bus/index.ts";
import { fixture } from "../../test/helpers/access_fixture.ts";
import { eventually } from "../../test/helpers/eventually.ts";

class FakePresence extends EventEmitter {
  online = new Set<string>();
  isOnline(c: string): boolean {
    return this.online.has(c);
  }
  set(c: string, up: boolean): void {
    if (up) this.online.add(c);
    else this.online.delete(c);
    this.emit(up ? "online" : "offline", c);
  }
}

const enc = new TextEncoder();

test("a flood of hellos from one agent is coalesced: bounded store work, and another cluster is still served", async () => {
  const f = await fixture();
  const nats = new NatsServer({});
  const gw = nats.connectInProcess({ identity: "gateway" });
  const agent = nats.connectInProcess({ identity: "agent" });
  const presence = new FakePresence();
  const calls = { desired: 0, seen: 0 };
  const desired = f.svc.desiredGrants.bind(f.svc);
  const seen = f.svc.markSeen.bind(f.svc);
  f.svc.desiredGrants = async (c) => (calls.desired++, desired(c));
  f.svc.markSeen = async (c) => (calls.seen++, seen(c));
  const sync = new AccessSync(gw, f.svc, presence, {});
  try {
    await f.svc.createCluster(f.admin, { id: "quiet" });
    presence.set("prod", true);
    presence.set("quiet", true);
    const pushed: Record<string, number> = { prod: 0, quiet: 0 };
    for (const c of ["prod", "quiet"]) gw.subscribe(accessSubjects.desired(c), { callback: () => pushed[c]!++ });
    await new Promise((r) => setTimeout(r, 50));
    const before = { ...calls };
    const hello = enc.encode(JSON.stringify({ v: 1, agent: "a1", intervalMs: 1000 }));
    for (let i = 0; i < 20_000; i++) agent.publish(accessSubjects.hello("prod"), hello);
    agent.publish(accessSubjects.hello("quiet"), hello);
    for (let i = 0; i < 100 && (pushed.quiet! < 1 || pushed.prod! < 1); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(calls.desired - before.desired <= 20, `${calls.desired - before.desired} desired-state reads for 20,001 hellos`);
    assert.ok(calls.seen - before.seen <= 2, `${calls.seen - before.seen} last-seen writes for 20,001 hellos`);
    assert.ok(pushed.quiet! >= 1, "the other cluster got its desired state");
    // Oversized "hellos" are dropped before any work.
    const big = new Uint8Array(64 * 1024);
    for (let i = 0; i < 100; i++) agent.publish(accessSubjects.hello("prod"), big);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(sync.dropped >= 100);
  } finally {
    sync.close();
    await nats.close();
    await f.close();
  }
});

test("grant status follows presence from the one source: offline and back", async () => {
  const f = await fixture({ online: false });
  const nats = new NatsServer({});
  const gw = nats.connectInProcess({ identity: "gateway" });
  const presence = new FakePresence();
  const sync = new AccessSync(gw, f.svc, presence, {});
  try {
    const { grant } = await f.svc.createGrant(f.admin, "prod", { member_id: f.member.member.id, role: "view" });
    assert.equal(grant.status, "cluster_offline");
    const status = async () => (await f.svc.listGrants(f.admin, "prod"))[0]!.status;
    // Written by the sync a store round trip later (longer on PostgreSQL).
    presence.set("prod", true);
    await eventually("pending once online", async () => (await status()) === "pending");
    presence.set("prod", false);
    await eventually("cluster_offline once offline", async () => (await status()) === "cluster_offline");
  } finally {
    sync.close();
    await nats.close();
    await f.close();
  }
});

test("status reports count reconcile outcomes: a pass with any failed grant is failed; junk is dropped, not counted", async () => {
  const f = await fixture();
  const nats = new NatsServer({});
  const gw = nats.connectInProcess({ identity: "gateway" });
  const agent = nats.connectInProcess({ identity: "agent" });
  const sync = new AccessSync(gw, f.svc, new FakePresence(), {});
  try {
    const { grant } = await f.svc.createGrant(f.admin, "prod", { member_id: f.member.member.id, role: "view" });
    const report = (results: unknown) => agent.publish(accessSubjects.status("prod"), enc.encode(JSON.stringify({ v: 1, agent: "a1", results })));
    report([{ id: grant.id, status: "applied" }]);
    await new Promise((r) => setTimeout(r, 50));
    report([{ id: grant.id, status: "failed", error: "forbidden" }]);
    await new Promise((r) => setTimeout(r, 50));
    agent.publish(accessSubjects.status("prod"), enc.encode("not json"));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(sync.outcomes, { applied: 1, failed: 1 });
    assert.ok(sync.dropped >= 1);
  } finally {
    sync.close();
    await nats.close();
    await f.close();
  }
});
