/**
 * What a client sees when a stream's idle timeout fires, through the real proxy handler over a
 * tunnel on the in-memory bus: a request still waiting for its answer gets a 504 Status; a watch
 * that sat idle ends cleanly (as the API server ends one at its own timeout); a watch with events
 * flowing stays open.
 */
import assert from "node:assert/strict";
import { createServer, request, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { MemoryBus } from "../../test/helpers/memory_bus.ts";
import { startPair } from "../../test/helpers/tunnel.ts";
import type { StreamHandler } from "../tunnel/index.ts";
import { KubeProxy, parseProxyPath, type ExchangeRecord } from "./index.ts";

/** The agent's side: `/hang` never answers; `/watch-quiet` answers a head and goes silent; `/watch-busy` sends an event every 40 ms. */
const agentHandler: StreamHandler = (s) => {
  s.on("error", () => {});
  s.resume();
  const path = s.request.path;
  if (path.includes("/hang")) return;
  s.respond({ status: 200, headers: ["content-type", "application/json"] });
  if (path.includes("watch-busy")) {
    const t = setInterval(() => s.write('{"type":"MODIFIED"}\n'), 40);
    s.once("close", () => clearInterval(t));
  } else {
    s.write('{"type":"ADDED"}\n');
  }
};

async function withProxy(fn: (get: (path: string, ms?: number) => Promise<{ status: number; body: string; ended: "clean" | "aborted" | "open" }>, records: ExchangeRecord[]) => Promise<void>) {
  const hub = new MemoryBus();
  const idle = { idleTimeoutMs: { request: 150, watch: 150 }, pingIntervalMs: 40, pingTimeoutMs: 400 };
  const pair = await startPair(hub.connect(), hub.connect(), agentHandler, { gateway: idle, agent: idle });
  const records: ExchangeRecord[] = [];
  const proxy = new KubeProxy({
    tunnel: pair.gateway,
    logger: (await import("../log/index.ts")).silentLogger,
    authorize: async () => ({ member: "m1", user: "ward:a@example.com", groups: [] }),
    onExchange: (r) => records.push(r),
  });
  const server = createServer((req, res) => proxy.handleRequest(req, res, parseProxyPath(req.url!)!));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  /** GETs `path` under the cluster; after `ms` without an end, reports the response as still open. */
  const get = (path: string, ms = 1500) =>
    new Promise<{ status: number; body: string; ended: "clean" | "aborted" | "open" }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path: `/api/v1/clusters/c1/k8s${path}`, headers: { authorization: "Bearer t" } }, (res: IncomingMessage) => {
        let body = "";
        const timer = setTimeout(() => {
          resolve({ status: res.statusCode!, body, ended: "open" });
          req.destroy();
        }, ms);
        res.on("data", (c) => (body += c));
        res.on("end", () => (clearTimeout(timer), resolve({ status: res.statusCode!, body, ended: "clean" })));
        res.on("aborted", () => (clearTimeout(timer), resolve({ status: res.statusCode!, body, ended: "aborted" })));
        res.on("error", () => {});
      });
      req.on("error", reject);
      req.end();
    });
  try {
    await fn(get, records);
  } finally {
    server.closeAllConnections();
    server.close();
    await pair.close();
  }
}

test("a request waiting past the request idle timeout gets a 504 Status naming the timeout", async () => {
  await withProxy(async (get, records) => {
    const r = await get("/api/v1/hang");
    assert.equal(r.status, 504);
    const status = JSON.parse(r.body);
    assert.equal(status.kind, "Status");
    assert.equal(status.reason, "Timeout");
    assert.match(status.message, /\(request\) was idle for more than 0.15s; raise the request idle timeout/);
    assert.equal(r.ended, "clean");
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(records.map((x) => [x.kind, x.status]), [["request", 504]]);
  });
});

test("an idle watch ends cleanly after its events; a watch with events flowing stays open", async () => {
  await withProxy(async (get) => {
    const quiet = await get("/api/v1/pods?watch=true&x=watch-quiet");
    assert.equal(quiet.status, 200);
    assert.equal(quiet.ended, "clean", "a clean end, as the API server ends a watch at its timeout");
    assert.equal(quiet.body, '{"type":"ADDED"}\n', "what arrived before the timeout is delivered");
    // Ten idle timeouts long, with an event every 40 ms: never idle.
    const busy = await get("/api/v1/pods?watch=true&x=watch-busy", 1500);
    assert.equal(busy.ended, "open");
    assert.ok(busy.body.split("\n").length > 20, `${busy.body.length} bytes of events`);
  });
});
