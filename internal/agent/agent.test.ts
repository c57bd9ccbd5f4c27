import assert from "node:assert/strict";
import { test } from "node:test";
import { accessSubjects } from "../bus/index.ts";
import type { BusConnection } from "../nats/index.ts";
import { Agent } from "./agent.ts";
import type { RbacApi } from "./rbac.ts";
import { eventually } from "../../test/helpers/eventually.ts";

/** Just enough of a NATS connection for the agent's session: subjects published, a way to deliver to its subscriptions, and to drop it. */
function fakeConnection(): { conn: BusConnection; published: string[]; deliver(subject: string, data: unknown): void; drop(): void } {
  let drop!: () => void;
  const closed = new Promise<void>((r) => (drop = r));
  const published: string[] = [];
  const subs = new Map<string, (err: Error | null, msg: { data: Uint8Array }) => void>();
  const conn = {
    subscribe: (subject: string, o: { callback: (err: Error | null, msg: { data: Uint8Array }) => void }) => {
      subs.set(subject, o.callback);
      return { unsubscribe() {} };
    },
    flush: async () => {},
    publish: (subject: string) => void published.push(subject),
    closed: () => closed,
    close: async () => drop(),
  };
  return {
    conn: conn as unknown as BusConnection, published, drop,
    deliver: (subject, data) => subs.get(subject)?.(null, { data: new TextEncoder().encode(JSON.stringify(data)) }),
  };
}

const rbac = {} as RbacApi; // never called: no desired state is sent in these tests

test("Agent.connected: false until a session is up, false while reconnecting, true again after, false once stopped", async () => {
  const sessions: ReturnType<typeof fakeConnection>[] = [];
  let failNext = 0;
  let served = 0;
  const agent = new Agent({
    gateway: "ws://127.0.0.1:1/nats", cluster: "c1", credential: "x", rbac, minBackoffMs: 1, maxBackoffMs: 5, firstReconcileTimeoutMs: 20,
    connect: async () => {
      if (failNext > 0) {
        failNext--;
        throw new Error("connection refused");
      }
      const s = fakeConnection();
      sessions.push(s);
      return s.conn;
    },
    serveStreams: async () => {
      served++;
      return async () => {};
    },
  });
  assert.equal(agent.connected, false);
  const running = agent.run();
  await eventually("the first session", () => agent.connected);
  assert.equal(sessions.length, 1);
  assert.equal(served, 1, "streams are served before the agent counts as connected");
  assert.ok(sessions[0]!.published.includes(accessSubjects.hello("c1")), `a hello was published: ${sessions[0]!.published}`);

  failNext = 3; // the gateway is away for a few attempts
  sessions[0]!.drop();
  await eventually("the session to end", () => !agent.connected);
  await eventually("the second session", () => agent.connected && sessions.length === 2);
  assert.equal(failNext, 0, "every failed attempt was retried");
  assert.equal(served, 2);

  await agent.stop();
  await running;
  assert.equal(agent.connected, false);
});

test("after a (re)connect, kubectl traffic is served only once the desired state is reconciled: stale bindings go first", async () => {
  const log: string[] = [];
  let releaseList!: () => void;
  const listHeld = new Promise<void>((r) => (releaseList = r));
  const stale = { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: "ward-gdeleted", labels: { "app.kubernetes.io/managed-by": "ward", "ward.io/grant": "gdeleted" } }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" }, subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "ward:gone@example.com" }] };
  const api = {
    listClusterRoleBinding: async () => {
      await listHeld; // the API server is slow to answer
      return { items: [stale] };
    },
    listRoleBindingForAllNamespaces: async () => ({ items: [] }),
    deleteClusterRoleBinding: async ({ name }: { name: string }) => void log.push(`delete ${name}`),
  } as unknown as RbacApi;
  const session = fakeConnection();
  const agent = new Agent({
    gateway: "ws://127.0.0.1:1/nats", cluster: "c1", credential: "x", rbac: api, firstReconcileTimeoutMs: 10_000,
    connect: async () => session.conn,
    serveStreams: async () => {
      log.push("serve streams");
      return async () => {};
    },
  });
  const running = agent.run();
  await eventually("the hello", () => session.published.includes(accessSubjects.hello("c1")));
  session.deliver(accessSubjects.desired("c1"), { v: 1, grants: [] }); // the gateway's answer: no live grants
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(log.length, 0, "no kubectl traffic while the reconcile is still running");
  assert.equal(agent.connected, false);
  releaseList();
  await eventually("streams served", () => log.includes("serve streams"));
  assert.deepEqual(log, ["delete ward-gdeleted", "serve streams"], "the deleted grant's binding is gone before traffic flows");
  await eventually("connected", () => agent.connected);
  await agent.stop();
  await running;
});
