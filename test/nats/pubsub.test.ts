/** Conformance: publish/subscribe, wildcards, queue groups, headers, echo, auto-unsubscribe. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { headers, type Msg } from "@nats-io/nats-core";
import { connect, targets, td, te, useServer } from "./harness.ts";
import { eventually } from "../helpers/eventually.ts";

for (const target of targets) {
  describe(`pub/sub on ${target.name}`, () => {
    const server = useServer(target);

    test("a subscriber gets every message in order", async () => {
      const pub = await connect(server());
      const sub = await connect(server());
      const got: string[] = [];
      sub.subscribe("orders.new", { callback: (_e, m) => void (got.push(m.string())) });
      await sub.flush();
      for (let i = 0; i < 500; i++) pub.publish("orders.new", te.encode(`m${i}`));
      await pub.flush();
      await eventually("500 messages", () => got.length === 500, { timeoutMs: 5000 });
      assert.deepEqual(got, Array.from({ length: 500 }, (_, i) => `m${i}`));
    });

    test("wildcards * and > match like nats-server", async () => {
      const nc = await connect(server());
      const seen: Record<string, string[]> = { "a.*": [], "a.>": [], ">": [], "a.b": [], "*.*.c": [] };
      for (const s of Object.keys(seen)) nc.subscribe(s, { callback: (_e, m) => void (seen[s]!.push(m.subject)) });
      await nc.flush();
      for (const s of ["a.b", "a.b.c", "x", "a", "b.b.c"]) nc.publish(s);
      await nc.flush();
      await eventually("> to see everything", () => seen[">"]!.length === 5, { timeoutMs: 5000 });
      assert.deepEqual(seen["a.*"], ["a.b"]);
      assert.deepEqual(seen["a.>"], ["a.b", "a.b.c"]);
      assert.deepEqual(seen["a.b"], ["a.b"]);
      assert.deepEqual(seen["*.*.c"], ["a.b.c", "b.b.c"]);
    });

    test("a queue group gets each message once, spread over its members", async () => {
      const pub = await connect(server());
      const counts = [0, 0, 0];
      let plain = 0;
      const members = await Promise.all(counts.map(() => connect(server())));
      members.forEach((nc, i) => nc.subscribe("work.*", { queue: "workers", callback: () => void (counts[i]!++) }));
      const watcher = await connect(server());
      watcher.subscribe("work.*", { callback: () => void (plain++) });
      await Promise.all([...members, watcher].map((nc) => nc.flush()));
      for (let i = 0; i < 300; i++) pub.publish(`work.${i % 7}`);
      await pub.flush();
      await eventually("deliveries", () => plain === 300 && counts.reduce((a, b) => a + b) === 300, { timeoutMs: 5000 });
      await pub.flush();
      assert.equal(counts.reduce((a, b) => a + b), 300);
      for (const c of counts) assert.ok(c > 30, `uneven spread ${counts}`);
    });

    test("headers travel with HPUB/HMSG", async () => {
      const nc = await connect(server());
      let msg: Msg | undefined;
      nc.subscribe("h.test", { callback: (_e, m) => void (msg = m) });
      await nc.flush();
      const h = headers();
      h.set("X-Ward", "yes");
      h.append("X-Multi", "1");
      h.append("X-Multi", "2");
      nc.publish("h.test", te.encode("body"), { headers: h });
      await eventually("msg !== undefined", () => msg !== undefined);
      assert.equal(msg!.headers?.get("X-Ward"), "yes");
      assert.deepEqual(msg!.headers?.values("X-Multi"), ["1", "2"]);
      assert.equal(td.decode(msg!.data), "body");
    });

    test("noEcho hides a connection's own messages", async () => {
      const quiet = await connect(server(), { noEcho: true });
      const other = await connect(server());
      const got: string[] = [];
      quiet.subscribe("echo.t", { callback: (_e, m) => void (got.push(m.string())) });
      await quiet.flush();
      quiet.publish("echo.t", te.encode("self"));
      await quiet.flush();
      other.publish("echo.t", te.encode("other"));
      await other.flush();
      await eventually("got.length === 1", () => got.length === 1);
      await quiet.flush();
      assert.deepEqual(got, ["other"]);
    });

    test("max auto-unsubscribes after n messages (server side too)", async () => {
      const nc = await connect(server());
      const pub = await connect(server());
      let n = 0;
      const sub = nc.subscribe("auto.unsub", { max: 3, callback: () => void (n++) });
      await nc.flush();
      for (let i = 0; i < 10; i++) pub.publish("auto.unsub");
      await pub.flush();
      await nc.flush();
      await eventually("sub.isClosed()", () => sub.isClosed());
      assert.equal(n, 3);
      // Later unsubscribe(max) on a live subscription.
      let m = 0;
      const s2 = nc.subscribe("auto.later", { callback: () => void (m++) });
      await nc.flush();
      pub.publish("auto.later");
      await pub.flush();
      await eventually("m === 1", () => m === 1);
      s2.unsubscribe(3);
      await nc.flush();
      for (let i = 0; i < 10; i++) pub.publish("auto.later");
      await pub.flush();
      await nc.flush();
      await eventually("s2.isClosed()", () => s2.isClosed());
      assert.equal(m, 3);
    });

    test("unsubscribe stops delivery", async () => {
      const nc = await connect(server());
      let n = 0;
      const s = nc.subscribe("gone", { callback: () => void (n++) });
      await nc.flush();
      nc.publish("gone");
      await nc.flush();
      await eventually("n === 1", () => n === 1);
      s.unsubscribe();
      await nc.flush();
      nc.publish("gone");
      await nc.flush();
      await nc.flush();
      assert.equal(n, 1);
    });

    test("binary payloads round-trip byte for byte, up to max_payload", async () => {
      const nc = await connect(server());
      const sizes = [0, 1, 1000, 65536, nc.info!.max_payload];
      const got: Uint8Array[] = [];
      nc.subscribe("bin", { callback: (_e, m) => void (got.push(m.data.slice())) });
      await nc.flush();
      const sent = sizes.map(fill);
      for (const p of sent) nc.publish("bin", p);
      await nc.flush();
      await eventually("got.length === sent.length", () => got.length === sent.length, { timeoutMs: 10_000 });
      for (let i = 0; i < sent.length; i++) assert.ok(Buffer.from(got[i]!).equals(Buffer.from(sent[i]!)), `payload ${sizes[i]}`);
    });
  });
}

function fill(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + 7) & 0xff;
  return b;
}
