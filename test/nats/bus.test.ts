/**
 * The `Bus` contract, run against three implementations that code above the transport must not
 * be able to tell apart: the embedded endpoint's in-process client, `connectBus` (wsconnect) to
 * the embedded endpoint, and `connectBus` to a real nats-server. Same results, same error types.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { errors } from "@nats-io/nats-core";
import type { Bus, BusMsg } from "../../internal/bus/index.ts";
import { attachNatsWebSocket, connectBus, NatsServer } from "../../internal/nats/index.ts";
import { targets, useServer, type UserSpec } from "./harness.ts";
import { eventually } from "../helpers/eventually.ts";
import { after, before } from "node:test";

const agentPerms = { publish: ["ward.gw.c1.>"], subscribe: ["ward.agent.c1.>"] };
const users: UserSpec[] = [
  { user: "gateway", pass: "g" },
  { user: "agent", pass: "a", permissions: agentPerms },
];

interface Kind {
  name: string;
  /** A full-rights bus and an agent-rights bus. */
  open(): Promise<{ gw: Bus; agent: Bus; extra: () => Promise<Bus> }>;
}

const te = new TextEncoder();
const td = new TextDecoder();
const toClose: Bus[] = [];
after(async () => {
  await Promise.allSettled(toClose.splice(0).map((b) => b.close()));
});

function kinds(): Kind[] {
  // In-process on an embedded server.
  let inproc: NatsServer;
  const inprocKind: Kind = {
    name: "in-process",
    async open() {
      const gw = inproc.connectInProcess({ identity: "gateway" });
      const agent = inproc.connectInProcess({ identity: "agent", permissions: agentPerms });
      toClose.push(gw, agent);
      return { gw, agent, extra: async () => inproc.connectInProcess({ identity: "x" }) };
    },
  };
  before(() => {
    inproc = new NatsServer({ maxPayload: 64 * 1024 });
  });
  after(() => inproc.close());

  const wsKinds: Kind[] = targets.map((t) => {
    const server = useServer(t, { users, maxPayload: 64 * 1024 });
    const open = async (user: string, pass: string) => {
      const b = await connectBus(server().url, { user, pass, reconnectTimeWait: 100 });
      toClose.push(b);
      return b;
    };
    return {
      name: `connectBus to ${t.name}`,
      async open() {
        return { gw: await open("gateway", "g"), agent: await open("agent", "a"), extra: () => open("gateway", "g") };
      },
    };
  });
  return [inprocKind, ...wsKinds];
}

describe("Bus parity", () => {
  for (const kind of kinds()) {
    describe(kind.name, () => {
      test("publish/subscribe with queue groups and max", async () => {
        const { gw, agent } = await kind.open();
        const got: string[] = [];
        agent.subscribe("ward.agent.c1.>", { callback: (_e, m) => void got.push(`${m.subject}:${td.decode(m.data)}`) });
        let q = 0;
        gw.subscribe("ward.gw.c1.*", { queue: "gws", callback: () => void q++ });
        let limited = 0;
        gw.subscribe("ward.gw.c1.*", { max: 2, callback: () => void limited++ });
        await agent.flush();
        await gw.flush();
        gw.publish("ward.agent.c1.a", te.encode("1"));
        gw.publish("ward.agent.c1.b.c", te.encode("2"));
        for (let i = 0; i < 5; i++) agent.publish("ward.gw.c1.x", te.encode(String(i)));
        await gw.flush();
        await agent.flush();
        await eventually("deliveries", () => got.length === 2 && q === 5, { timeoutMs: 3000 });
        assert.deepEqual(got, ["ward.agent.c1.a:1", "ward.agent.c1.b.c:2"]);
        assert.equal(limited, 2);
      });

      test("deliveries never happen inside publish", async () => {
        const { gw } = await kind.open();
        let inside = false;
        let reentered = false;
        let n = 0;
        gw.subscribe("reentry.t", {
          callback: () => {
            n++;
            if (inside) reentered = true;
          },
        });
        await gw.flush();
        inside = true;
        gw.publish("reentry.t");
        inside = false;
        await gw.flush();
        await eventually("n === 1", () => n === 1);
        assert.equal(reentered, false);
      });

      test("request/reply, including an agent answering on _INBOX without publish rights", async () => {
        const { gw, agent } = await kind.open();
        agent.subscribe("ward.agent.c1.rpc", {
          callback: (_e, m) => {
            if (m.reply) agent.publish(m.reply, te.encode("pong:" + td.decode(m.data)));
          },
        });
        await agent.flush();
        const r = await gw.request("ward.agent.c1.rpc", te.encode("ping"), { timeout: 2000 });
        assert.equal(td.decode(r.data), "pong:ping");
      });

      test("no responders and timeouts fail with nats-core's error types", async () => {
        const { gw } = await kind.open();
        const e1 = await gw.request("nobody.listens", undefined, { timeout: 2000 }).catch((e: unknown) => e);
        assert.ok(e1 instanceof errors.RequestError, String(e1));
        assert.ok(e1.isNoResponders());
        gw.subscribe("mute.svc", { callback: () => {} });
        await gw.flush();
        await assert.rejects(gw.request("mute.svc", undefined, { timeout: 100 }), errors.TimeoutError);
      });

      test("oversized payloads are refused by publish", async () => {
        const { gw } = await kind.open();
        assert.equal(gw.info?.max_payload, 64 * 1024);
        assert.throws(() => gw.publish("big", new Uint8Array(64 * 1024 + 1)), errors.InvalidArgumentError);
      });

      test("a refused subscription gets PermissionViolationError in its callback", async () => {
        const { agent } = await kind.open();
        let err = null as Error | null;
        agent.subscribe("ward.agent.c2.>", { callback: (e) => void (err = e) });
        await eventually("err !== null", () => err !== null);
        assert.ok(err instanceof errors.PermissionViolationError);
        assert.equal(err.message, 'Permissions Violation for Subscription to "ward.agent.c2.>"');
      });

      test("a refused publish is dropped; a request to it fails with the violation", async () => {
        const { gw, agent } = await kind.open();
        const seen: BusMsg[] = [];
        gw.subscribe("ward.agent.c1.spoof", { callback: (_e, m) => void seen.push(m) });
        gw.subscribe("ward.agent.c1.svc", { callback: (_e, m) => void (m.reply && gw.publish(m.reply)) });
        await gw.flush();
        agent.publish("ward.agent.c1.spoof");
        const e = await agent.request("ward.agent.c1.svc", undefined, { timeout: 2000 }).catch((x: unknown) => x);
        assert.ok(e instanceof errors.RequestError, String(e));
        assert.ok((e as Error).cause instanceof errors.PermissionViolationError);
        await agent.flush();
        await gw.flush();
        assert.equal(seen.length, 0);
      });

      test("close ends the bus: closed() resolves, publish throws", async () => {
        const { extra } = await kind.open();
        const b = await extra();
        await b.close();
        assert.equal(await b.closed(), undefined);
        assert.throws(() => b.publish("x"), errors.ClosedConnectionError);
      });
    });
  }
});

describe("in-process specifics", () => {
  test("slow in-process consumers are cut with nats-server's reason", async () => {
    const nats = new NatsServer({ maxPending: 128 * 1024, maxPayload: 64 * 1024 });
    const slow = nats.connectInProcess({ identity: "slow" });
    slow.subscribe("flood", { callback: () => {} });
    const pub = nats.connectInProcess({ identity: "pub" });
    for (let i = 0; i < 10; i++) pub.publish("flood", new Uint8Array(32 * 1024));
    const r = await slow.closed();
    assert.ok(r instanceof Error);
    assert.match(r.message, /Slow Consumer \(Pending Bytes\)/);
    assert.equal(nats.stats.slowConsumers, 1);
    await nats.close();
  });

  test("in-process and network clients share subjects both ways", async () => {
    const nats = new NatsServer();
    const http = createServer();
    attachNatsWebSocket(http, nats, { path: "/nats" });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const port = (http.address() as { port: number }).port;
    const net = await connectBus(`ws://127.0.0.1:${port}/nats`);
    const local = nats.connectInProcess({ identity: "gw" });
    net.subscribe("svc.net", { callback: (_e, m) => void (m.reply && net.publish(m.reply, te.encode("from-net"))) });
    local.subscribe("svc.local", { callback: (_e, m) => void (m.reply && local.publish(m.reply, te.encode("from-local"))) });
    await net.flush();
    assert.equal(td.decode((await local.request("svc.net", undefined, { timeout: 2000 })).data), "from-net");
    assert.equal(td.decode((await net.request("svc.local", undefined, { timeout: 2000 })).data), "from-local");
    // A payload the in-process publisher reuses afterwards reaches subscribers unchanged.
    const got: string[] = [];
    local.subscribe("copy.t", { callback: (_e, m) => void got.push(td.decode(m.data)) });
    const buf = te.encode("aaaa");
    local.publish("copy.t", buf);
    buf.fill(0x62);
    await eventually("got.length === 1", () => got.length === 1);
    assert.deepEqual(got, ["aaaa"]);
    await net.close();
    await local.close();
    await nats.close();
    http.close();
  });

  test("large handed-over payloads reach WebSocket clients uncopied, whole and in order", async () => {
    const nats = new NatsServer({ maxPayload: 1024 * 1024 });
    const http = createServer();
    attachNatsWebSocket(http, nats, { path: "/nats" });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const port = (http.address() as { port: number }).port;
    const local = nats.connectInProcess({ identity: "gw" });
    const sizes = [5, 200 * 1024, 17, 16 * 1024, 1024 * 1024, 3, 70 * 1024];
    const payload = (i: number, n: number) => new Uint8Array(n).fill(0x41 + i);
    // Through the official client (nats-core over ws): every message arrives intact and in order.
    const net = await connectBus(`ws://127.0.0.1:${port}/nats`);
    const got: Uint8Array[] = [];
    net.subscribe("big.t", { callback: (_e, m) => void got.push(m.data) });
    await net.flush();
    // And over a bare WebSocket: one batch (one event-loop turn) is one binary message.
    const raw = new WebSocket(`ws://127.0.0.1:${port}/nats`);
    raw.binaryType = "arraybuffer";
    const frames: Uint8Array[] = [];
    raw.onmessage = (ev) => void frames.push(new Uint8Array(ev.data as ArrayBuffer));
    await new Promise((r) => (raw.onopen = r));
    raw.send(te.encode('CONNECT {"verbose":false,"pedantic":false}\r\nSUB big.t 1\r\nPING\r\n'));
    await eventually("the PONG frame", () => frames.some((f) => td.decode(f).includes("PONG")));
    frames.length = 0;
    sizes.forEach((n, i) => local.publish("big.t", payload(i, n), { transfer: true }));
    await eventually("got.length === sizes.length && frames.length > 0", () => got.length === sizes.length && frames.length > 0);
    assert.deepEqual(got.map((d) => d.length), sizes);
    got.forEach((d, i) => assert.ok(d.every((b) => b === 0x41 + i), `message ${i} intact`));
    assert.equal(frames.length, 1, "one WebSocket message for the batch");
    const text = Buffer.from(frames[0]!).toString("latin1");
    let expected = "";
    sizes.forEach((n, i) => (expected += `MSG big.t 1 ${n}\r\n${String.fromCharCode(0x41 + i).repeat(n)}\r\n`));
    assert.equal(text, expected);
    raw.close();
    await net.close();
    await local.close();
    await nats.close();
    http.closeAllConnections();
    http.close();
  });

  test("upgrades for other paths are left alone", async () => {
    const nats = new NatsServer();
    const http = createServer();
    attachNatsWebSocket(http, nats, { path: "/nats" });
    let otherSeen = "";
    http.on("upgrade", (req, socket) => {
      if (req.url !== "/nats") {
        otherSeen = req.url ?? "";
        socket.end("HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\n\r\n");
      }
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const port = (http.address() as { port: number }).port;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/other?x=1`);
    await new Promise((r) => (ws.onerror = ws.onclose = r));
    assert.equal(otherSeen, "/other?x=1");
    const ok = new WebSocket(`ws://127.0.0.1:${port}/nats?client=1`);
    ok.binaryType = "arraybuffer";
    const first = await new Promise<string>((r) => (ok.onmessage = (ev) => r(td.decode(ev.data as ArrayBuffer))));
    assert.match(first, /^INFO /);
    ok.close();
    await nats.close();
    http.closeAllConnections();
    http.close();
  });
});

