/**
 * Server behaviour without sockets: a fake transport records what a client would read, so
 * protocol answers, auth, permissions, reply rights, slow consumers and limits are checked
 * exactly and instantly.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as tick } from "node:timers/promises";
import { NatsServer } from "./server.ts";
import type { NetConnection } from "./connection.ts";
import type { ClosedReason } from "./errors.ts";
import type { Transport } from "./transport.ts";
import type { NatsServerOptions } from "./options.ts";

class FakeTransport implements Transport {
  out = "";
  /** Every chunk handed to `send`, and the cork depth when it was sent. */
  sends: { chunk: Uint8Array; corked: number }[] = [];
  corked = 0;
  closedWith: ClosedReason | "destroyed" | undefined;
  /** Set by `destroy` (also when it follows a `close`). */
  destroyed = false;
  /** Set when the connection says its client authenticated (the pre-auth limits are lifted). */
  authenticatedSeen = false;
  paused = false;
  buffered = 0;
  readonly remoteAddress = "10.0.0.1";
  send(chunk: Uint8Array): void {
    this.out += Buffer.from(chunk).toString("latin1");
    this.sends.push({ chunk, corked: this.corked });
  }
  cork(): void {
    this.corked++;
  }
  uncork(): void {
    this.corked--;
  }
  get bufferedAmount(): number {
    return this.buffered;
  }
  close(reason: ClosedReason): void {
    this.closedWith = reason;
  }
  destroy(): void {
    this.destroyed = true;
    this.closedWith ??= "destroyed";
  }
  authenticated(): void {
    this.authenticatedSeen = true;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  /** Output since the last call, INFO line removed. */
  take(): string {
    const s = this.out.replace(/^INFO \{.*\} \r\n/, "");
    this.out = "";
    return s;
  }
}

interface Client {
  t: FakeTransport;
  c: NetConnection;
  send(s: string): void;
}

function client(nats: NatsServer): Client {
  const t = new FakeTransport();
  const c = nats.accept(t)!;
  return { t, c, send: (s) => c.receive(new Uint8Array(Buffer.from(s, "latin1"))) };
}

async function flushed(): Promise<void> {
  await tick();
  await tick();
}

function server(opts: NatsServerOptions = {}): NatsServer {
  return new NatsServer(opts);
}

test("INFO carries the server's limits, client id and address", () => {
  const nats = server({ maxPayload: 2048, serverName: "gw-1" });
  const { t } = client(nats);
  const m = /^INFO (\{.*\}) \r\n$/.exec(t.out);
  assert.ok(m);
  const info = JSON.parse(m[1]!) as Record<string, unknown>;
  assert.equal(info.max_payload, 2048);
  assert.equal(info.server_name, "gw-1");
  assert.equal(info.headers, true);
  assert.equal(info.proto, 1);
  assert.equal(info.client_ip, "10.0.0.1");
  assert.equal(typeof info.client_id, "number");
  assert.equal(info.auth_required, undefined);
  void nats.close();
});

test("routing: MSG to every matching subscription, one per queue group, per-sid framing", async () => {
  const nats = server();
  const a = client(nats);
  const b = client(nats);
  a.send('CONNECT {"verbose":false}\r\nSUB x.* 1\r\nSUB x.> 2\r\nSUB x.y q 3\r\n');
  b.send('CONNECT {"verbose":false}\r\nSUB x.y q 9\r\nPUB x.y r 3\r\nabc\r\n');
  await flushed();
  const out = a.t.take() + "|" + b.t.take();
  assert.match(out, /MSG x\.y 1 r 3\r\nabc\r\n/);
  assert.match(out, /MSG x\.y 2 r 3\r\nabc\r\n/);
  assert.equal((out.match(/MSG x\.y (3|9) r 3/g) ?? []).length, 1);
  void nats.close();
});

test("ops sent while the authenticator runs are held, then replayed in order", async () => {
  let release!: (v: { identity: string; permissions: { publish: string[]; subscribe: string[] } } | null) => void;
  const nats = server({ authenticator: () => new Promise((r) => (release = r)) });
  const a = client(nats);
  a.send('CONNECT {"verbose":false,"user":"u","pass":"p"}\r\nSUB s 1\r\nPUB s 2\r\nhi\r\nPING\r\n');
  await flushed();
  assert.equal(a.t.take(), "");
  assert.equal(a.t.paused, true);
  release({ identity: "u", permissions: { publish: [">"], subscribe: [">"] } });
  await flushed();
  assert.equal(a.t.take(), "MSG s 1 2\r\nhi\r\nPONG\r\n");
  assert.equal(a.t.paused, false);
  assert.equal(a.c.identity, "u");
  void nats.close();
});

test("an authenticator that throws or returns bad permissions means Authorization Violation", async () => {
  for (const auth of [
    async () => {
      throw new Error("db down");
    },
    async () => ({ identity: "x", permissions: { publish: ["a..b"], subscribe: [] } }),
    async () => null,
  ]) {
    const nats = server({ authenticator: auth });
    const a = client(nats);
    a.send('CONNECT {"user":"u"}\r\n');
    await flushed();
    assert.equal(a.t.take(), "-ERR 'Authorization Violation'\r\n");
    assert.equal(a.t.closedWith, "Authentication Failure");
    void nats.close();
  }
});

test("reply rights: once per delivered reply subject, and they expire", async () => {
  let now = 1_000_000;
  const nats = server({
    now: () => now,
    responsePermission: { max: 1, ttlMs: 1000 },
    authenticator: async (o) =>
      o.user === "agent"
        ? { identity: "agent", permissions: { publish: ["up.>"], subscribe: ["down.>"] } }
        : { identity: "gw", permissions: { publish: [">"], subscribe: [">"] } },
  });
  const gw = client(nats);
  const agent = client(nats);
  gw.send('CONNECT {"verbose":false,"user":"gw"}\r\nSUB _INBOX.> 1\r\n');
  agent.send('CONNECT {"verbose":false,"user":"agent"}\r\nSUB down.> 1\r\n');
  await flushed();
  gw.send("PUB down.req _INBOX.a 1\r\nx\r\nPUB down.req _INBOX.b 1\r\nx\r\n");
  await flushed();
  agent.t.take();
  agent.send("PUB _INBOX.a 2\r\nok\r\nPUB _INBOX.a 2\r\nno\r\n");
  await flushed();
  assert.equal(gw.t.take(), "MSG _INBOX.a 1 2\r\nok\r\n");
  assert.equal(agent.t.take(), `-ERR 'Permissions Violation for Publish to "_INBOX.a"'\r\n`);
  now += 1001;
  agent.send("PUB _INBOX.b 2\r\nok\r\n");
  await flushed();
  assert.equal(gw.t.take(), "");
  assert.equal(agent.t.take(), `-ERR 'Permissions Violation for Publish to "_INBOX.b"'\r\n`);
  void nats.close();
});

test("a restricted connection may not name a reply subject it cannot subscribe to", async () => {
  const nats = server({
    authenticator: async (o) =>
      o.user === "agent"
        ? { identity: "agent", permissions: { publish: ["up.>"], subscribe: ["down.>"] } }
        : { identity: "gw", permissions: { publish: [">"], subscribe: [">"] } },
  });
  const gw = client(nats);
  const agent = client(nats);
  gw.send('CONNECT {"verbose":false,"user":"gw"}\r\nSUB up.> 1\r\n');
  agent.send('CONNECT {"verbose":false,"user":"agent"}\r\n');
  await flushed();
  // Would make the gateway answer onto another cluster's subject with its own rights.
  agent.send("PUB up.req down.x 0\r\n\r\nPUB up.req other.cluster.x 0\r\n\r\n");
  await flushed();
  assert.equal(gw.t.take(), "MSG up.req 1 down.x 0\r\n\r\n");
  assert.equal(agent.t.take(), `-ERR 'Permissions Violation for Publish with Reply of "other.cluster.x"'\r\n`);
  void nats.close();
});

test("subscribe permissions use coverage, not literal matching", async () => {
  const nats = server({
    authenticator: async () => ({ identity: "a", permissions: { publish: [], subscribe: ["a.*", "b.>"] } }),
  });
  const a = client(nats);
  a.send('CONNECT {"verbose":false}\r\nSUB a.x 1\r\nSUB a.* 2\r\nSUB a.> 3\r\nSUB b.c.> 4\r\nSUB > 5\r\nPUB b.c 0\r\n\r\n');
  await flushed();
  assert.equal(
    a.t.take(),
    `-ERR 'Permissions Violation for Subscription to "a.>"'\r\n-ERR 'Permissions Violation for Subscription to ">"'\r\n-ERR 'Permissions Violation for Publish to "b.c"'\r\n`,
  );
  void nats.close();
});

test("slow consumer: cut without flushing once pending bytes pass max_pending", async () => {
  const nats = server({ maxPending: 64 * 1024, maxPayload: 16 * 1024 });
  const slow = client(nats);
  const pub = client(nats);
  slow.send('CONNECT {"verbose":false}\r\nSUB f 1\r\n');
  pub.send('CONNECT {"verbose":false}\r\n');
  await flushed();
  slow.t.buffered = 60 * 1024; // the socket is not draining (seen at its next flush)
  slow.send("PING\r\n");
  await flushed();
  const payload = "x".repeat(8 * 1024);
  pub.send(`PUB f ${payload.length}\r\n${payload}\r\n`);
  await flushed();
  assert.equal(slow.t.closedWith, "destroyed");
  assert.equal(nats.stats.slowConsumers, 1);
  assert.equal(nats.stats.subscriptions, 0);
  assert.equal(pub.t.closedWith, undefined);
  void nats.close();
});

test("a publisher feeding a congested consumer is paused for a moment", async () => {
  const nats = server({ maxPending: 64 * 1024, maxPayload: 16 * 1024 });
  const slowish = client(nats);
  const pub = client(nats);
  slowish.send('CONNECT {"verbose":false}\r\nSUB f 1\r\n');
  pub.send('CONNECT {"verbose":false}\r\n');
  await flushed();
  slowish.t.buffered = 50 * 1024;
  slowish.send("PING\r\n");
  await flushed();
  pub.send(`PUB f 1\r\nx\r\n`);
  assert.equal(pub.t.paused, true);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(pub.t.paused, false);
  assert.equal(slowish.t.closedWith, undefined);
  void nats.close();
});

test("max connections: INFO, -ERR, close", () => {
  const nats = server({ maxConnections: 1 });
  client(nats);
  const t = new FakeTransport();
  assert.equal(nats.accept(t), null);
  assert.match(t.out, /^INFO .*\r\n-ERR 'maximum connections exceeded'\r\n$/);
  assert.equal(t.closedWith, "Maximum Connections Exceeded");
  void nats.close();
});

test("headers are stripped for subscribers that did not ask for them", async () => {
  const nats = server();
  const old = client(nats);
  const pub = client(nats);
  old.send('CONNECT {"verbose":false,"headers":false}\r\nSUB h 1\r\n');
  pub.send('CONNECT {"verbose":false,"headers":true}\r\nHPUB h 12 14\r\nNATS/1.0\r\n\r\nhi\r\n');
  await flushed();
  assert.equal(old.t.take(), "MSG h 1 2\r\nhi\r\n");
  void nats.close();
});

test("server close: clients are closed with Server Shutdown, in-process buses report it", async () => {
  const nats = server();
  const a = client(nats);
  const bus = nats.connectInProcess({ identity: "gw" });
  await nats.close();
  assert.equal(a.t.closedWith, "Server Shutdown");
  const r = await bus.closed();
  assert.ok(r instanceof Error && /Server Shutdown/.test(r.message));
  assert.throws(() => nats.connectInProcess({ identity: "late" }), /closed/);
});

test("options are validated once", () => {
  assert.throws(() => new NatsServer({ maxPayload: 0 }), /maxPayload/);
  assert.throws(() => new NatsServer({ maxPayload: 2048, maxPending: 1024 }), /maxPending/);
  assert.throws(() => new NatsServer({ pingIntervalMs: 1.5 }), /pingIntervalMs/);
  assert.throws(() => new NatsServer({ preAuthMaxBytes: 100 }), /preAuthMaxBytes 100: use an integer >= 256/);
  assert.throws(() => new NatsServer({ closeGraceMs: -1 }), /closeGraceMs/);
  assert.throws(() => nats_in_process_bad_perms(), /Invalid permission subject/);
});

function nats_in_process_bad_perms(): void {
  const nats = new NatsServer();
  try {
    nats.connectInProcess({ identity: "x", permissions: { publish: ["a.>.b"], subscribe: [] } });
  } finally {
    void nats.close();
  }
}

test("a large payload handed over in process reaches sockets by reference, in order with the rest", async () => {
  const nats = server();
  const a = client(nats);
  a.send('CONNECT {"verbose":false}\r\nSUB big 1\r\n');
  await flushed();
  a.t.take();
  a.t.sends = [];
  const bus = nats.connectInProcess({ identity: "gw" });
  const large = new Uint8Array(64 * 1024).fill(0x61);
  const kept = new Uint8Array(64 * 1024).fill(0x62);
  bus.publish("big", new TextEncoder().encode("s1"));
  bus.publish("big", large, { transfer: true });
  bus.publish("big", kept); // not handed over: copied, so a later change does not leak out
  bus.publish("big", new TextEncoder().encode("s2"), { transfer: true }); // small: copied anyway
  kept.fill(0x63);
  await flushed();
  const out = a.t.take();
  assert.equal(out, `MSG big 1 2\r\ns1\r\nMSG big 1 65536\r\n${"a".repeat(65536)}\r\nMSG big 1 65536\r\n${"b".repeat(65536)}\r\nMSG big 1 2\r\ns2\r\n`);
  assert.ok(a.t.sends.some((s) => s.chunk === large), "the handed-over payload itself went to the transport");
  assert.ok(a.t.sends.every((s) => s.corked === 1), "one corked batch");
  assert.equal(a.t.corked, 0);
  await bus.close();
  void nats.close();
});

// ---- pre-auth limits, prompt close, kicks ----

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const anyone = async () => ({ identity: "u", permissions: { publish: [">"], subscribe: [">"] } });

test("pre-auth: a CONNECT line that never ends is cut at preAuthMaxBytes (the parser would take 64 KiB)", async () => {
  const nats = server({ authenticator: anyone, preAuthMaxBytes: 1024 });
  const a = client(nats);
  a.send('CONNECT {"user":"u","pass":"');
  for (let i = 0; i < 9; i++) a.send("p".repeat(100));
  assert.equal(a.t.closedWith, undefined, "928 bytes are allowed");
  a.send("p".repeat(100));
  assert.equal(a.t.take(), "-ERR 'Authorization Violation'\r\n");
  assert.equal(a.t.closedWith, "Authentication Failure");
  void nats.close();
});

test("pre-auth: what is sent while the authenticator runs counts, and is held as bytes until it answers", async () => {
  let release!: (v: Awaited<ReturnType<typeof anyone>> | null) => void;
  const nats = server({ authenticator: () => new Promise((r) => (release = r)), preAuthMaxBytes: 1024 });
  const a = client(nats);
  a.send('CONNECT {"verbose":false,"user":"u"}\r\nSUB s 1\r\n');
  // A transport may deliver what it had read before the pause took effect.
  for (let i = 0; i < 20; i++) a.send("PUB s 40\r\n" + "x".repeat(40) + "\r\n");
  assert.equal(a.t.closedWith, "Authentication Failure");
  assert.equal(a.t.take(), "-ERR 'Authorization Violation'\r\n");
  release(await anyone());
  await flushed();
  assert.equal(a.t.take(), "", "nothing held is replayed for a closed connection");
  void nats.close();
});

test("pre-auth: an unauthenticated PUB cannot announce more than preAuthMaxBytes (nothing that large is allocated)", async () => {
  const nats = server({ authenticator: anyone, preAuthMaxBytes: 1024 });
  const a = client(nats);
  a.send("PUB big 100000\r\nx");
  assert.equal(a.t.closedWith, "Maximum Message Payload Exceeded");
  assert.equal(a.t.take(), "-ERR 'Maximum Payload Violation'\r\n");
  void nats.close();
});

test("pre-auth: once authenticated the normal limits apply, and the transport is told", async () => {
  const nats = server({ authenticator: anyone, preAuthMaxBytes: 1024 });
  const a = client(nats);
  assert.equal(a.t.authenticatedSeen, false);
  a.send('CONNECT {"verbose":false,"user":"u"}\r\nSUB s 1\r\n');
  await flushed();
  assert.equal(a.t.authenticatedSeen, true);
  const big = "y".repeat(64 * 1024);
  a.send(`PUB s ${big.length}\r\n${big}\r\n`);
  await flushed();
  assert.equal(a.t.take(), `MSG s 1 ${big.length}\r\n${big}\r\n`);
  assert.equal(a.t.closedWith, undefined);
  // Without an authenticator there is nothing to wait for.
  const open = client(server());
  assert.equal(open.t.authenticatedSeen, true);
  void nats.close();
});

test("auth timeout: -ERR, close, and the socket is dropped closeGraceMs later (a peer that never answers the close)", async () => {
  const nats = server({ authenticator: anyone, authTimeoutMs: 20, closeGraceMs: 30 });
  const a = client(nats);
  await sleep(35);
  assert.equal(a.t.take(), "-ERR 'Authentication Timeout'\r\n");
  assert.equal(a.t.closedWith, "Authentication Timeout");
  assert.equal(a.t.destroyed, false, "the close frame gets its grace");
  await sleep(60);
  assert.equal(a.t.destroyed, true);
  void nats.close();
});

test("max connections: connections still authenticating count; the refused one is dropped after the grace", async () => {
  const nats = server({ authenticator: anyone, maxConnections: 2, closeGraceMs: 10 });
  client(nats);
  client(nats);
  const t = new FakeTransport();
  assert.equal(nats.accept(t), null);
  assert.equal(t.closedWith, "Maximum Connections Exceeded");
  await sleep(30);
  assert.equal(t.destroyed, true);
  void nats.close();
});

test("disconnectIdentity: closes exactly that identity's connections with Authorization Violation, and refuses one authenticating meanwhile", async () => {
  const pending: ((v: { identity: string; permissions: { publish: string[]; subscribe: string[] } }) => void)[] = [];
  const nats = server({
    authenticator: (o) =>
      o.user === "late"
        ? new Promise((r) => pending.push(r))
        : Promise.resolve({ identity: String(o.user), permissions: { publish: [">"], subscribe: [">"] } }),
  });
  const a1 = client(nats);
  const a2 = client(nats);
  const other = client(nats);
  const late = client(nats);
  a1.send('CONNECT {"verbose":false,"user":"agent:c1"}\r\n');
  a2.send('CONNECT {"verbose":false,"user":"agent:c1"}\r\n');
  other.send('CONNECT {"verbose":false,"user":"agent:c2"}\r\n');
  late.send('CONNECT {"verbose":false,"user":"late"}\r\n');
  await flushed();
  assert.equal(nats.disconnectIdentity("agent:c1"), 2);
  for (const c of [a1, a2]) {
    assert.equal(c.t.take(), "-ERR 'Authorization Violation'\r\n");
    assert.equal(c.t.closedWith, "Credentials Revoked");
  }
  assert.equal(other.t.closedWith, undefined);
  other.send("PING\r\n");
  await flushed();
  assert.equal(other.t.take(), "PONG\r\n");
  // Its authenticator looked at the old credential: its answer is no longer good.
  pending[0]!({ identity: "agent:c1", permissions: { publish: [">"], subscribe: [">"] } });
  await flushed();
  assert.equal(late.t.take(), "-ERR 'Authorization Violation'\r\n");
  assert.equal(late.t.closedWith, "Credentials Revoked");
  assert.equal(nats.disconnectIdentity("agent:c1"), 0);
  assert.equal(nats.disconnectIdentity("nobody"), 0);
  void nats.close();
});

test("max subscriptions: a SUB past the cap is refused with nats-server's text, the connection stays", async () => {
  const nats = server({ maxSubscriptions: 2 });
  const a = client(nats);
  a.send('CONNECT {"verbose":false}\r\nSUB a 1\r\nSUB b 2\r\nSUB a 1\r\nSUB c 3\r\nUNSUB 1\r\nSUB c 3\r\nPUB c 2\r\nok\r\nPING\r\n');
  await flushed();
  assert.equal(a.t.take(), "-ERR 'maximum subscriptions exceeded'\r\nMSG c 3 2\r\nok\r\nPONG\r\n");
  assert.equal(nats.stats.subscriptions, 2);
  void nats.close();
});
