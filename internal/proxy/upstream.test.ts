import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import { createSecureServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadTls } from "../gateway/index.ts";
import { silentLogger } from "../log/index.ts";
import { eventually } from "../../test/helpers/eventually.ts";
import { MemoryBus } from "../../test/helpers/memory_bus.ts";
import { startPair } from "../../test/helpers/tunnel.ts";
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
  await eventually("the request to reach the API server", () => seen.length > 0, { intervalMs: 5 });
  assert.equal(seen.length, 1, "the request reached the API server");
  assert.equal(seen[0]!.headers["impersonate-user"], "ward:dev@example.com");
  const aborted = new Promise<void>((r) => seen[0]!.once("close", () => r()));

  stream.destroy(); // e.g. the member's access was revoked: the gateway resets the stream
  await aborted;
  await eventually("the agent to count the stream closed", () => active.reduce((a, b) => a + b, 0) === 0, { intervalMs: 5 });
  assert.deepEqual(active, [1, -1], "the agent counted the stream open and closed");
});

test("plain requests (with and without a body) reach the API server over HTTP/1.1 and watches over HTTP/2, where it offers both", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "ward-upstream-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const tls = await loadTls({ dataDir: dir, hosts: ["127.0.0.1"] });
  // Like kube-apiserver: HTTP/2 by ALPN, HTTP/1.1 for clients that do not ask for it.
  const seen: { method: string; path: string; version: string; user: unknown; bodyBytes: number }[] = [];
  const server = createSecureServer({ cert: tls.cert, key: tls.key, allowHTTP1: true }, (req, res) => {
    let bodyBytes = 0;
    req.on("data", (c: Buffer) => (bodyBytes += c.length));
    req.on("end", () => {
      seen.push({ method: req.method!, path: req.url, version: req.httpVersion, user: req.headers["impersonate-user"], bodyBytes });
      res.writeHead(req.method === "POST" ? 201 : 200, { "content-type": "application/json" });
      res.end(JSON.stringify({ path: req.url, bodyBytes }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  const hub = new MemoryBus();
  const pair = await startPair(hub.connect(), hub.connect(), createUpstreamHandler({ server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, ca: tls.cert, userPrefix: "ward:", logger: silentLogger }));
  t.after(() => pair.close());
  const gw = pair.gateway;

  const identity = { member: "m1", user: "dev@example.com", groups: [] };
  const exchange = async (method: string, path: string, kind: "request" | "watch", body?: Buffer) => {
    const raw = body ? ["Content-Type", "application/json", "Content-Length", String(body.length)] : [];
    const stream = gw.openStream("c1", { method, path, headers: gatewayRequestHeaders(raw, identity), member: "m1", kind, body: body !== undefined });
    if (body) stream.end(body);
    const head = await stream.head;
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return { status: head.status, body: JSON.parse(Buffer.concat(chunks).toString()) };
  };
  const big = Buffer.alloc(3 * 1024 * 1024 + 17, "x"); // more than the tunnel's window: sent in credit-sized parts
  assert.deepEqual(await exchange("GET", "/api/v1/namespaces/default", "request"), { status: 200, body: { path: "/api/v1/namespaces/default", bodyBytes: 0 } });
  assert.deepEqual(await exchange("GET", "/api/v1/pods?watch=1", "watch"), { status: 200, body: { path: "/api/v1/pods?watch=1", bodyBytes: 0 } });
  assert.deepEqual(await exchange("POST", "/api/v1/configmaps", "request", Buffer.from('{"kind":"ConfigMap"}')), { status: 201, body: { path: "/api/v1/configmaps", bodyBytes: 20 } });
  assert.deepEqual(await exchange("POST", "/api/v1/secrets", "request", big), { status: 201, body: { path: "/api/v1/secrets", bodyBytes: big.length } });
  const u = "ward:dev@example.com";
  assert.deepEqual(seen, [
    { method: "GET", path: "/api/v1/namespaces/default", version: "1.1", user: u, bodyBytes: 0 },
    { method: "GET", path: "/api/v1/pods?watch=1", version: "2.0", user: u, bodyBytes: 0 },
    { method: "POST", path: "/api/v1/configmaps", version: "1.1", user: u, bodyBytes: 20 },
    { method: "POST", path: "/api/v1/secrets", version: "1.1", user: u, bodyBytes: big.length },
  ]);
});
