/**
 * Conformance: authentication (user/password), per-connection permissions with nats-server's
 * exact violation texts, and reply rights (allow_responses) for a responder without publish
 * rights on _INBOX.>. The users mirror Ward's: an agent confined to its cluster's subjects.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { errors, type NatsConnection, type Status } from "@nats-io/nats-core";
import { connect, sleep, targets, te, useServer, type UserSpec } from "./harness.ts";
import { eventually } from "../helpers/eventually.ts";

const users: UserSpec[] = [
  { user: "gateway", pass: "gw-secret" },
  {
    user: "agent-c1",
    pass: "agent-secret",
    permissions: { publish: ["ward.gw.c1.>"], subscribe: ["ward.agent.c1.>"] },
  },
];

function collectErrors(nc: NatsConnection): Error[] {
  const out: Error[] = [];
  void (async () => {
    for await (const s of nc.status() as AsyncIterable<Status>) if (s.type === "error") out.push(s.error as Error);
  })();
  return out;
}

for (const target of targets) {
  describe(`auth and permissions on ${target.name}`, () => {
    const server = useServer(target, { users });
    const gw = () => connect(server(), { user: "gateway", pass: "gw-secret" });
    const agent = () => connect(server(), { user: "agent-c1", pass: "agent-secret" });

    test("wrong or missing credentials are refused with Authorization Violation", async () => {
      await assert.rejects(connect(server(), { user: "gateway", pass: "nope", maxReconnectAttempts: 0 }), errors.AuthorizationError);
      await assert.rejects(connect(server(), { maxReconnectAttempts: 0 }), errors.AuthorizationError);
    });

    test("INFO says auth_required", async () => {
      const nc = await gw();
      assert.equal((nc.info as unknown as { auth_required?: boolean }).auth_required, true);
    });

    test("an agent may subscribe and publish within its cluster", async () => {
      const g = await gw();
      const a = await agent();
      const toAgent: string[] = [];
      const toGw: string[] = [];
      a.subscribe("ward.agent.c1.>", { callback: (_e, m) => void (toAgent.push(m.subject)) });
      g.subscribe("ward.gw.c1.>", { callback: (_e, m) => void (toGw.push(m.subject)) });
      await a.flush();
      await g.flush();
      g.publish("ward.agent.c1.open");
      a.publish("ward.gw.c1.data");
      await eventually("toAgent.length === 1 && toGw.length === 1", () => toAgent.length === 1 && toGw.length === 1);
      assert.deepEqual([toAgent, toGw], [["ward.agent.c1.open"], ["ward.gw.c1.data"]]);
    });

    test("subscribing outside the allow-list: exact -ERR text, subscription closed", async () => {
      const a = await agent();
      const errs = collectErrors(a);
      let cbErr = null as Error | null;
      const sub = a.subscribe("ward.agent.c2.>", { callback: (e) => void (cbErr = e) });
      await eventually("the permission error", () => cbErr !== null, { timeoutMs: 3000 });
      assert.ok(cbErr! instanceof errors.PermissionViolationError);
      assert.equal(cbErr!.message, 'Permissions Violation for Subscription to "ward.agent.c2.>"');
      await eventually("sub.isClosed()", () => sub.isClosed());
      const q = a.subscribe("ward.gw.c1.x", { queue: "q1", callback: () => {} });
      await eventually("the queue subscription to close", () => q.isClosed(), { timeoutMs: 3000 });
      await eventually("errs.length >= 2", () => errs.length >= 2);
      assert.equal(errs[1]!.message, 'Permissions Violation for Subscription to "ward.gw.c1.x" using queue "q1"');
      // A wildcard broader than the allow-list is refused too.
      let wideErr = null as Error | null;
      a.subscribe("ward.agent.>", { callback: (e) => void (wideErr = e) });
      await eventually("wideErr !== null", () => wideErr !== null);
      // The connection stays usable.
      await a.flush();
    });

    test("publishing outside the allow-list: exact -ERR text, message dropped", async () => {
      const g = await gw();
      const a = await agent();
      const errs = collectErrors(a);
      const leaked: string[] = [];
      g.subscribe("ward.>", { callback: (_e, m) => void (leaked.push(m.subject)) });
      await g.flush();
      a.publish("ward.gw.c2.data", te.encode("spoof"));
      a.publish("ward.agent.c1.loop");
      a.publish("ward.gw.c1.ok");
      await a.flush();
      await eventually("two violations", () => errs.length === 2, { timeoutMs: 3000 });
      assert.deepEqual(
        errs.map((e) => [e.constructor.name, e.message]),
        [
          ["PermissionViolationError", 'Permissions Violation for Publish to "ward.gw.c2.data"'],
          ["PermissionViolationError", 'Permissions Violation for Publish to "ward.agent.c1.loop"'],
        ],
      );
      await g.flush();
      await eventually("leaked.length === 1", () => leaked.length === 1);
      assert.deepEqual(leaked, ["ward.gw.c1.ok"]);
    });

    test("a responder without publish rights on _INBOX may answer once (allow_responses)", async () => {
      const g = await gw();
      const a = await agent();
      const errs = collectErrors(a);
      let replyTo = "";
      a.subscribe("ward.agent.c1.rpc", {
        callback: (_e, m) => {
          replyTo = m.reply ?? "";
          m.respond(te.encode("pong"));
        },
      });
      await a.flush();
      const r = await g.request("ward.agent.c1.rpc", te.encode("ping"), { timeout: 2000 });
      assert.equal(r.string(), "pong");
      // A second answer to the same reply subject is a violation.
      a.publish(replyTo, te.encode("again"));
      await a.flush();
      await eventually("the violation", () => errs.length === 1, { timeoutMs: 3000 });
      assert.equal(errs[0]!.message, `Permissions Violation for Publish to "${replyTo}"`);
      // And an agent cannot publish to an inbox it never received.
      a.publish("_INBOX.made.up");
      await eventually("the second violation", () => errs.length === 2, { timeoutMs: 3000 });
      assert.equal(errs[1]!.message, 'Permissions Violation for Publish to "_INBOX.made.up"');
    });

    test("an agent cannot subscribe to inboxes to snoop on replies", async () => {
      const a = await agent();
      let err = null as Error | null;
      a.subscribe("_INBOX.>", { callback: (e) => void (err = e) });
      await eventually("err !== null", () => err !== null);
      assert.ok(err! instanceof errors.PermissionViolationError);
      await sleep(10);
    });
  });
}
