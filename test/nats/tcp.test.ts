/** The optional plain TCP listener: the same protocol over a raw socket, sharing subjects with WebSocket and in-process clients. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect as tcpConnect } from "node:net";
import { listenNatsTcp, NatsServer } from "../../internal/nats/index.ts";
import { until } from "./harness.ts";

test("a TCP client talks to in-process subscribers and back", async () => {
  const nats = new NatsServer();
  const listener = await listenNatsTcp(nats, { host: "127.0.0.1", port: 0 });
  const bus = nats.connectInProcess({ identity: "gw" });
  const got: string[] = [];
  bus.subscribe("tcp.in", { callback: (_e, m) => void got.push(new TextDecoder().decode(m.data)) });
  const sock = tcpConnect(listener.port, "127.0.0.1");
  let text = "";
  sock.on("data", (b) => (text += b.toString("latin1")));
  await until(() => /^INFO \{.*\} \r\n/.test(text));
  sock.write('CONNECT {"verbose":false}\r\nSUB tcp.out 1\r\nPUB tcp.in 5\r\nhello\r\nPING\r\n');
  await until(() => text.includes("PONG\r\n"));
  await until(() => got.length === 1);
  assert.deepEqual(got, ["hello"]);
  bus.publish("tcp.out", new TextEncoder().encode("back"));
  await until(() => text.includes("MSG tcp.out 1 4\r\nback\r\n"));
  sock.destroy();
  await bus.close();
  await nats.close();
  await listener.close();
});
