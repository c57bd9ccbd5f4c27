import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { silentLogger } from "../log/index.ts";
import { MemoryBus } from "../tunnel/_memory_bus.ts";
import { TunnelAgent, TunnelGateway } from "../tunnel/index.ts";
import { gatewayRequestHeaders } from "./headers.ts";
import { createUpstreamHandler } from "./upstream.ts";

test("a reset that reaches the agent before the API server answered aborts the upstream request (and crashes nothing)", async (t) => {
  // An "API server" that takes the request and never answers.
  const seen: IncomingMessage[] = [];
  const server = createServer((req) => seen.push(req));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const hub = new MemoryBus();
  const gw = await TunnelGateway.start(hub.connect());
  const agent = new TunnelAgent(hub.connect(), { cluster: "c1" });
  const active: number[] = [];
  await agent.serve(createUpstreamHandler({
    server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, userPrefix: "ward:", logger: silentLogger, onActive: (d) => active.push(d),
  }));
  t.after(async () => {
    await agent.close();
    await gw.close();
  });

  const identity = { member: "m1", user: "dev@example.com", groups: [] };
  const stream = gw.openStream("c1", { method: "GET", path: "/api/v1/pods?watch=1", headers: gatewayRequestHeaders([], identity), member: "m1" });
  stream.on("error", () => {});
  stream.end();
  const deadline = Date.now() + 5000;
  while (!seen.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal(seen.length, 1, "the request reached the API server");
  assert.equal(seen[0]!.headers["impersonate-user"], "ward:dev@example.com");
  const aborted = new Promise<void>((r) => seen[0]!.once("close", () => r()));

  stream.destroy(); // e.g. the member's access was revoked: the gateway resets the stream
  await aborted;
  while (active.reduce((a, b) => a + b, 0) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(active, [1, -1], "the agent counted the stream open and closed");
});
