/** Conformance: reconnect after a server restart (subscriptions come back), drain. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { NatsConnection, Status } from "@nats-io/nats-core";
import { connect, sleep, targets, te, useServer } from "./harness.ts";
import { eventually } from "../helpers/eventually.ts";

function statuses(nc: NatsConnection): string[] {
  const out: string[] = [];
  void (async () => {
    for await (const s of nc.status() as AsyncIterable<Status>) out.push(s.type);
  })();
  return out;
}

for (const target of targets) {
  describe(`lifecycle on ${target.name}`, () => {
    const server = useServer(target);

    test("clients reconnect after the server restarts and their subscriptions still work", async () => {
      const sub = await connect(server(), { maxReconnectAttempts: -1, reconnectTimeWait: 100 });
      const pub = await connect(server(), { maxReconnectAttempts: -1, reconnectTimeWait: 100 });
      const seen = statuses(sub);
      const got: string[] = [];
      sub.subscribe("after.restart", { callback: (_e, m) => void got.push(m.string()) });
      sub.subscribe("svc.up", { callback: (_e, m) => void m.respond(te.encode("up")) });
      await sub.flush();
      pub.publish("after.restart", te.encode("before"));
      await eventually("got.length === 1", () => got.length === 1);
      await server().restart(300);
      await eventually("the subscriber to reconnect", () => seen.includes("reconnect"), { timeoutMs: 10_000 });
      await eventually("the publisher to reconnect", () => !pub.isClosed() && (pub as unknown as { protocol: { connected: boolean } }).protocol.connected, { timeoutMs: 10_000 });
      await sub.flush();
      pub.publish("after.restart", te.encode("after"));
      await pub.flush();
      await eventually("the message after the restart", () => got.length === 2, { timeoutMs: 5000 });
      assert.deepEqual(got, ["before", "after"]);
      assert.ok(seen.includes("disconnect"));
      const r = await pub.request("svc.up", undefined, { timeout: 2000 });
      assert.equal(r.string(), "up");
    });

    test("drain delivers everything already sent, then closes", async () => {
      const sub = await connect(server());
      const pub = await connect(server());
      let n = 0;
      sub.subscribe("drain.me", {
        callback: () => {
          n++;
        },
      });
      await sub.flush();
      for (let i = 0; i < 2000; i++) pub.publish("drain.me", te.encode(String(i)));
      await pub.flush();
      await sub.drain();
      assert.equal(n, 2000);
      assert.equal(sub.isClosed(), true);
      // After drain nothing more arrives and the server has forgotten the subscription.
      pub.publish("drain.me");
      await pub.flush();
      await sleep(20);
      assert.equal(n, 2000);
    });

    test("closing a connection ends its subscriptions on the server", async () => {
      const a = await connect(server());
      const b = await connect(server());
      a.subscribe("closing.t", { callback: () => {} });
      await a.flush();
      await a.close();
      // No one is left to answer: no-responders (once the server has seen the socket go; the
      // close travels on another socket than the request, so allow a short race).
      let noResponders = false;
      for (let i = 0; i < 20 && !noResponders; i++) {
        await b.request("closing.t", undefined, { timeout: 100 }).catch((e: Error & { isNoResponders?: () => boolean }) => {
          noResponders = e.isNoResponders?.() === true;
        });
      }
      assert.ok(noResponders);
    });
  });
}
