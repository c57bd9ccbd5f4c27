/**
 * connectBusAny over real sockets: two embedded endpoints on loopback and a port nobody listens on,
 * in every order. The agent dials a nats-server cluster's nodes this way; one node down must not
 * fail a dial that another node would answer.
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { errors } from "@nats-io/nats-core";
import { NatsServer } from "./server.ts";
import { attachNatsWebSocket } from "./websocket.ts";
import { connectBusAny } from "./connect.ts";
import type { ConnectOptions } from "./options.ts";

interface Endpoint {
  url: string;
  connects: number;
  close(): Promise<void>;
}

async function endpoint(accept: (o: ConnectOptions) => boolean): Promise<Endpoint> {
  const ep = { connects: 0 } as Endpoint;
  const nats = new NatsServer({
    authenticator: async (o) => {
      ep.connects++;
      return accept(o) ? { identity: String(o.user), permissions: { publish: [">"], subscribe: [">"] } } : null;
    },
  });
  const http: Server = createServer();
  const ws = attachNatsWebSocket(http, nats);
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  ep.url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/nats`;
  ep.close = async () => {
    ws.detach();
    await nats.close();
    await new Promise((r) => http.close(r));
  };
  return ep;
}

/** A loopback port that refuses connections. */
async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return `ws://127.0.0.1:${port}/nats`;
}

let a: Endpoint;
let b: Endpoint;
let dead: string;
before(async () => {
  a = await endpoint((o) => o.pass === "right");
  b = await endpoint((o) => o.pass === "right");
  dead = await deadUrl();
});
after(async () => {
  await a.close();
  await b.close();
});

/** A `random` that keeps the list's order: just below 1, Fisher–Yates swaps each element with itself. */
const keepOrder = () => 1 - Number.EPSILON;

test("one endpoint down: every order of the list connects to a live one", async () => {
  const orders = [[dead, a.url, b.url], [a.url, dead, b.url], [a.url, b.url, dead], [dead, dead, b.url]];
  for (const order of orders) {
    const nc = await connectBusAny(order, { user: "u", pass: "right", timeout: 3000 }, keepOrder);
    try {
      const first = order.find((u) => u !== dead)!;
      assert.equal(`ws://${nc.getServer()}/nats`, first, `order ${order.join(",")}`);
    } finally {
      await nc.close();
    }
  }
});

test("keepOrder really keeps the order (so the test above covers a dead endpoint first)", async () => {
  const before = a.connects;
  const nc = await connectBusAny([a.url, b.url], { user: "u", pass: "right" }, keepOrder);
  await nc.close();
  assert.equal(a.connects, before + 1);
});

test("the order is random: both endpoints are picked", async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 40 && seen.size < 2; i++) {
    const nc = await connectBusAny([a.url, b.url], { user: "u", pass: "right" });
    seen.add(nc.getServer());
    await nc.close();
  }
  assert.equal(seen.size, 2);
});

test("a refused credential ends the try at once: the next endpoint is not asked", async () => {
  const [ca, cb] = [a.connects, b.connects];
  await assert.rejects(connectBusAny([a.url, b.url], { user: "u", pass: "wrong", timeout: 3000 }, keepOrder), (e) => e instanceof errors.AuthorizationError);
  assert.equal(a.connects, ca + 1);
  assert.equal(b.connects, cb, "the second endpoint was not dialled");
});

test("nothing answers: one error naming every endpoint", async () => {
  const other = await deadUrl();
  await assert.rejects(connectBusAny([dead, other], { user: "u", pass: "right", timeout: 3000 }), (e: Error) => {
    assert.match(e.message, /No NATS server answered/);
    assert.ok(e.message.includes(dead) && e.message.includes(other), e.message);
    return true;
  });
  await assert.rejects(connectBusAny([], {}), /No NATS URL/);
});
