/** The optional plain TCP listener: the same protocol over a raw socket, sharing subjects with WebSocket and in-process clients. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect as tcpConnect } from "node:net";
import { listenNatsTcp, NatsServer } from "../../internal/nats/index.ts";
import { eventually } from "../helpers/eventually.ts";

test("a TCP client talks to in-process subscribers and back", async () => {
  const nats = new NatsServer();
  const listener = await listenNatsTcp(nats, { host: "127.0.0.1", port: 0 });
  const bus = nats.connectInProcess({ identity: "gw" });
  const got: string[] = [];
  bus.subscribe("tcp.in", { callback: (_e, m) => void got.push(new TextDecoder().decode(m.data)) });
  const sock = tcpConnect(listener.port, "127.0.0.1");
  let text = "";
  sock.on("data", (b) => (text += b.toString("latin1")));
  await eventually("/^INFO \\{.*\\} \\r\\n/.test(text)", () => /^INFO \{.*\} \r\n/.test(text));
  sock.write('CONNECT {"verbose":false}\r\nSUB tcp.out 1\r\nPUB tcp.in 5\r\nhello\r\nPING\r\n');
  await eventually("PONG", () => text.includes("PONG\r\n"));
  await eventually("got.length === 1", () => got.length === 1);
  assert.deepEqual(got, ["hello"]);
  bus.publish("tcp.out", new TextEncoder().encode("back"));
  await eventually("the MSG back", () => text.includes("MSG tcp.out 1 4\r\nback\r\n"));
  sock.destroy();
  await bus.close();
  await nats.close();
  await listener.close();
});

test("a TCP client that never authenticates and never closes its side is dropped after auth timeout + grace", async () => {
  const nats = new NatsServer({ authenticator: async () => null, authTimeoutMs: 100, closeGraceMs: 50 });
  const listener = await listenNatsTcp(nats, { host: "127.0.0.1", port: 0 });
  // Half-open: it reads the server's FIN but never sends its own.
  const sock = tcpConnect({ port: listener.port, host: "127.0.0.1", allowHalfOpen: true });
  let text = "";
  sock.on("data", (b) => (text += b.toString("latin1")));
  sock.on("error", () => {});
  await eventually("the auth timeout", () => text.includes("-ERR 'Authentication Timeout'\r\n"), { timeoutMs: 2000 });
  // The listener closes once its last socket is gone: only if the server dropped it.
  const closed = await Promise.race([listener.close().then(() => "closed"), new Promise((r) => setTimeout(() => r("still open"), 1000))]);
  assert.equal(closed, "closed");
  sock.destroy();
  await nats.close();
});

test("a TCP client is cut once it sends more than preAuthMaxBytes before authenticating", async () => {
  const nats = new NatsServer({ authenticator: async () => null, preAuthMaxBytes: 1024 });
  const listener = await listenNatsTcp(nats, { host: "127.0.0.1", port: 0 });
  const sock = tcpConnect(listener.port, "127.0.0.1");
  let text = "";
  let closed = false;
  sock.on("data", (b) => (text += b.toString("latin1")));
  sock.on("close", () => (closed = true));
  sock.on("error", () => {});
  sock.write(`CONNECT {"pass":"${"p".repeat(2000)}`);
  await eventually("the server to close", () => closed, { timeoutMs: 2000 });
  assert.match(text, /-ERR 'Authorization Violation'\r\n$/);
  await nats.close();
  await listener.close();
});
