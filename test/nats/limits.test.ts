/** Conformance: max_payload, slow-consumer cut-off, 1,000 concurrent connections. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { errors, type WsSocketFactory } from "@nats-io/nats-core";
import { connect, sleep, targets, useServer } from "./harness.ts";
import { eventually } from "../helpers/eventually.ts";

for (const target of targets) {
  describe(`max_payload on ${target.name}`, () => {
    const server = useServer(target, { maxPayload: 4096 });

    test("INFO carries max_payload and the client refuses larger payloads", async () => {
      const nc = await connect(server());
      assert.equal(nc.info?.max_payload, 4096);
      assert.throws(() => nc.publish("big", new Uint8Array(4097)), errors.InvalidArgumentError);
      // Exactly max_payload is fine.
      let got = 0;
      nc.subscribe("big", { callback: (_e, m) => void (got = m.data.length) });
      nc.publish("big", new Uint8Array(4096));
      await eventually("got === 4096", () => got === 4096);
    });
  });

  describe(`slow consumer on ${target.name}`, () => {
    // nats-server insists on max_payload <= max_pending.
    const server = useServer(target, { maxPending: 256 * 1024, maxPayload: 64 * 1024 });

    test("a consumer that stops reading is cut off; others carry on", async () => {
      let raw: WebSocket | undefined;
      // The official client, unchanged, over a `ws` socket we can pause (a stalled reader).
      const wsFactory: WsSocketFactory = async (url) => {
        raw = new WebSocket(url);
        return { socket: raw as unknown as globalThis.WebSocket, encrypted: false };
      };
      const slow = await connect(server(), { wsFactory, reconnect: false });
      let received = 0;
      slow.subscribe("flood", { callback: () => void (received++) });
      await slow.flush();
      const fast = await connect(server());
      let fastGot = 0;
      fast.subscribe("flood", { callback: () => void (fastGot++) });
      await fast.flush();
      raw!.pause();
      const pub = await connect(server());
      const payload = new Uint8Array(32 * 1024);
      const total = 1500; // ~48 MiB against a 256 KiB max_pending
      for (let i = 0; i < total; i++) {
        pub.publish("flood", payload);
        if (i % 50 === 49) await pub.flush();
      }
      await pub.flush();
      raw!.resume();
      const closed = await Promise.race([slow.closed(), sleep(15_000).then(() => "timeout")]);
      assert.notEqual(closed, "timeout", "the slow consumer was not disconnected");
      assert.ok(received < total, `slow consumer got all ${received} messages`);
      // The publisher and the healthy subscriber are unaffected.
      await eventually("the fast subscriber", () => fastGot === total, { timeoutMs: 20_000 });
      await pub.flush();
    });
  });

  describe(`1,000 concurrent connections on ${target.name}`, () => {
    const server = useServer(target);

    test("all connect, subscribe and receive one broadcast", async () => {
      const n = 1000;
      let received = 0;
      const conns = [];
      for (let i = 0; i < n; i += 100) {
        const batch = await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => connect(server(), { pingInterval: 600_000 })));
        for (const nc of batch) nc.subscribe("all.hands", { callback: () => void (received++) });
        conns.push(...batch);
      }
      await Promise.all(conns.map((nc) => nc.flush()));
      conns[0]!.publish("all.hands", new Uint8Array(16));
      await eventually(`${n} deliveries (got ${received})`, () => received === n, { timeoutMs: 20_000 });
      await Promise.all(conns.map((nc) => nc.close()));
    });
  });
}
