/**
 * The embedded endpoint against clients that do not authenticate, over real sockets (TCP and TLS):
 * what they may make it buffer, how fast they are dropped, how upgrade requests are refused, and
 * kicking an identity. Hand-written WebSocket clients (raw_ws.ts) do what real clients never do.
 */
import { after, before, describe, test } from "node:test";
import { Buffer } from "node:buffer";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { generate } from "selfsigned";
import { attachNatsWebSocket, createNatsUpgradeHandler, NatsServer, type Authenticator } from "../../internal/nats/index.ts";
import { clientFrame, rawSocket, rawWebSocket, textFrame, upgradeRequest, type RawOptions, type RawSocket } from "../helpers/raw_ws.ts";
import { sleep } from "./harness.ts";

const AUTH_TIMEOUT_MS = 600;
const GRACE_MS = 250; // the default closeGraceMs
const PRE_AUTH = 8 * 1024; // the default preAuthMaxBytes
const CONNECT = 'CONNECT {"verbose":false,"user":"agent:c1","pass":"secret"}\r\nPING\r\n';

const authenticator: Authenticator = async (o) => {
  if (o.user === "slow") await sleep(300);
  if (o.pass !== "secret") return null;
  return { identity: String(o.user), permissions: { publish: [">"], subscribe: [">"] } };
};

function portOf(s: Server): number {
  return (s.address() as AddressInfo).port;
}

function listen(s: Server): Promise<void> {
  return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve()));
}

let nats: NatsServer;
let http: Server;
let https: Server;
let ca: string;

before(async () => {
  nats = new NatsServer({ authenticator, authTimeoutMs: AUTH_TIMEOUT_MS });
  http = createServer((_req, res) => res.writeHead(404).end());
  attachNatsWebSocket(http, nats);
  const pems = await generate([{ name: "commonName", value: "localhost" }], { keyType: "ec", algorithm: "sha256" } as never);
  ca = pems.cert;
  https = createTlsServer({ cert: pems.cert, key: pems.private }, (_req, res) => res.writeHead(404).end());
  attachNatsWebSocket(https, nats);
  await Promise.all([listen(http), listen(https)]);
});

after(async () => {
  await nats.close();
  for (const s of [http, https]) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

const transports: [string, () => RawOptions][] = [
  ["TCP", () => ({ port: portOf(http) })],
  ["TLS", () => ({ port: portOf(https), ca })],
];

/** Resolves with how long after `t0` the socket closed, or "open" if it was still open after `ms`. */
async function closedWithin(s: RawSocket, t0: number, ms: number): Promise<number | "open"> {
  return Promise.race([s.closedAt.then((t) => t - t0), sleep(ms).then(() => "open" as const)]);
}

for (const [name, opts] of transports) {
  describe(`before authentication, over ${name}`, () => {
    test("a frame announcing 7 MiB is dropped as soon as its header is in", async () => {
      const s = await rawWebSocket(opts());
      const t0 = Date.now();
      s.write(clientFrame(0x2, new Uint8Array(1024), 7 * 1024 * 1024));
      const took = await closedWithin(s, t0, AUTH_TIMEOUT_MS / 2);
      assert.notEqual(took, "open", "still open: the server is buffering a 7 MiB frame for an unauthenticated client");
    });

    test("a message trickled in fragments is dropped once it passes preAuthMaxBytes", async () => {
      const s = await rawWebSocket(opts());
      const part = new Uint8Array(1000);
      s.write(clientFrame(0x2, part, part.length, false));
      for (let i = 0; i < 6; i++) s.write(clientFrame(0x0, part, part.length, false));
      assert.equal(await closedWithin(s, Date.now(), 150), "open", "7 KB are allowed");
      s.write(clientFrame(0x0, part, part.length, false));
      s.write(clientFrame(0x0, part, part.length, false));
      assert.notEqual(await closedWithin(s, Date.now(), AUTH_TIMEOUT_MS / 2), "open", `still open with 9 KB of one message (preAuthMaxBytes ${PRE_AUTH})`);
    });

    test("a large frame right behind the CONNECT (read before the authenticator answers) is dropped too", async () => {
      const s = await rawWebSocket(opts());
      // One write, so the server reads both before it can have authenticated.
      s.write(Buffer.concat([textFrame('CONNECT {"verbose":false,"user":"slow","pass":"secret"}\r\nPING\r\n'), clientFrame(0x2, new Uint8Array(64 * 1024))]));
      assert.notEqual(await closedWithin(s, Date.now(), 250), "open");
      assert.doesNotMatch(s.text(), /PONG/);
    });

    test("no CONNECT: -ERR, a close frame, and the socket is gone within auth timeout + grace even if the close is never answered", async () => {
      const s = await rawWebSocket(opts());
      const t0 = Date.now();
      const took = await closedWithin(s, t0, AUTH_TIMEOUT_MS + 5000);
      assert.notEqual(took, "open");
      assert.ok((took as number) >= AUTH_TIMEOUT_MS - 50 && (took as number) < AUTH_TIMEOUT_MS + GRACE_MS + 400, `closed after ${took} ms`);
      assert.match(s.text(), /-ERR 'Authentication Timeout'\r\n/);
      assert.match(s.text(), /\x88/, "a close frame first");
    });

    test("once authenticated the normal limits apply: a 1 MiB message passes", async () => {
      const s = await rawWebSocket(opts());
      s.write(textFrame(CONNECT));
      await s.waitFor(/PONG\r\n/);
      const big = "z".repeat(1024 * 1024);
      s.write(textFrame(`SUB big 1\r\nPUB big ${big.length}\r\n${big}\r\nPING\r\n`));
      await s.waitFor(/MSG big 1 1048576\r\n[^]*PONG\r\n/, 10_000);
      s.socket.destroy();
    });
  });
}

describe("disconnectIdentity over a WebSocket", () => {
  test("the client reads -ERR 'Authorization Violation' and the socket is gone within the grace", async () => {
    const s = await rawWebSocket({ port: portOf(http) });
    s.write(textFrame(CONNECT));
    await s.waitFor(/PONG\r\n/);
    const t0 = Date.now();
    assert.equal(nats.disconnectIdentity("agent:c1"), 1);
    const took = await closedWithin(s, t0, GRACE_MS + 2000);
    assert.ok(took !== "open" && took < GRACE_MS + 400, `closed after ${took} ms`);
    assert.match(s.text(), /-ERR 'Authorization Violation'\r\n/);
  });
});

describe("createNatsUpgradeHandler", () => {
  let server: Server;
  const handler = () => createNatsUpgradeHandler(nats);
  let h: ReturnType<typeof handler>;

  before(async () => {
    h = handler();
    server = createServer((_req, res) => res.writeHead(404).end());
    // The caller routes; the handler takes whatever it is given.
    server.on("upgrade", (req, socket, head) => h.handleUpgrade(req, socket, head));
    await listen(server);
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  async function answer(request: string): Promise<{ head: string; closed: boolean }> {
    const s = await rawSocket({ port: portOf(server) });
    s.write(request);
    const closed = (await closedWithin(s, Date.now(), 2000)) !== "open";
    s.socket.destroy();
    return { head: s.text().split("\r\n")[0]!, closed };
  }

  const invalid: [string, string][] = [
    ["another protocol (h2c)", upgradeRequest("/nats", { Upgrade: "h2c" })],
    ["no Sec-WebSocket-Key", upgradeRequest("/nats", { "Sec-WebSocket-Key": null })],
    ["a malformed Sec-WebSocket-Key", upgradeRequest("/nats", { "Sec-WebSocket-Key": "short" })],
    ["an unknown WebSocket version", upgradeRequest("/nats", { "Sec-WebSocket-Version": "7" })],
    ["POST", upgradeRequest("/nats", {}, "POST")],
  ];
  for (const [what, request] of invalid) {
    test(`${what}: 400 and the socket closed`, async () => {
      assert.deepEqual(await answer(request), { head: "HTTP/1.1 400 Bad Request", closed: true });
    });
  }

  test("a valid upgrade is accepted whatever its path (the caller decides)", async () => {
    const s = await rawWebSocket({ port: portOf(server), path: "/anything?x=1" });
    s.write(textFrame(CONNECT));
    await s.waitFor(/PONG\r\n/);
    s.socket.destroy();
  });

  test("after close(): 503 and the socket closed", async () => {
    const closedOne = handler();
    closedOne.close();
    const s = await rawSocket({ port: portOf(server) });
    const saved = h;
    h = closedOne;
    try {
      s.write(upgradeRequest("/nats"));
      assert.notEqual(await closedWithin(s, Date.now(), 2000), "open");
      assert.match(s.text(), /^HTTP\/1\.1 503 /);
    } finally {
      h = saved;
    }
  });
});

describe("attachNatsWebSocket", () => {
  let server: Server;
  before(async () => {
    server = createServer((_req, res) => res.writeHead(404).end());
    attachNatsWebSocket(server, nats, { path: "/nats" });
    // Another owner of upgrades on the same server: it answers what is not exactly the NATS path.
    server.on("upgrade", (req, socket) => {
      if (/^\/nats(\?|$)/.test(req.url ?? "")) return;
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    });
    await listen(server);
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  for (const path of ["/nats#frag", "/nats/extra", "/natsx", "/nats/"]) {
    test(`${path} is not the endpoint's`, async () => {
      const s = await rawSocket({ port: portOf(server) });
      s.write(upgradeRequest(path));
      await s.closedAt;
      assert.match(s.text(), /^HTTP\/1\.1 404 Not Found\r\n[^]*$/);
      assert.doesNotMatch(s.text(), /101 Switching Protocols/);
    });
  }

  test("/nats with a query is", async () => {
    const s = await rawWebSocket({ port: portOf(server), path: "/nats?client=agent" });
    s.write(textFrame(CONNECT));
    await s.waitFor(/PONG\r\n/);
    s.socket.destroy();
  });
});
