import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { silentLogger } from "../log/index.ts";
import { agentRegistry, startMetricsServer } from "./index.ts";

async function get(url: string, method = "GET"): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(url, { method });
  return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
}

/** The value of an unlabelled series in Prometheus text format. */
function sample(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

test("agent metrics: the three agent series read at scrape time, default process metrics, /healthz and /readyz", async () => {
  const state = { connected: false, open: 0, total: 0 };
  const registry = agentRegistry({ connected: () => state.connected, openStreams: () => state.open, streamsTotal: () => state.total });
  const server = await startMetricsServer({ host: "127.0.0.1", port: 0, registry, ready: () => state.connected, notReadyReason: "not connected to the gateway", logger: silentLogger });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    let m = await get(`${server.url}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.type ?? "", /^text\/plain; version=0\.0\.4/);
    assert.equal(sample(m.body, "ward_agent_connected"), 0);
    assert.equal(sample(m.body, "ward_agent_open_streams"), 0);
    assert.equal(sample(m.body, "ward_agent_streams_total"), 0);
    assert.match(m.body, /^# TYPE ward_agent_streams_total counter$/m);
    assert.match(m.body, /^# TYPE ward_agent_open_streams gauge$/m);
    assert.ok(sample(m.body, "process_resident_memory_bytes")! > 0, "default process metrics are included");
    assert.ok(sample(m.body, "nodejs_eventloop_lag_seconds") !== undefined);

    const notReady = await get(`${server.url}/readyz`);
    assert.equal(notReady.status, 503);
    assert.match(notReady.body, /not connected to the gateway/);
    assert.equal((await get(`${server.url}/healthz`)).status, 200, "alive even when not ready");

    Object.assign(state, { connected: true, open: 3, total: 7 });
    m = await get(`${server.url}/metrics`);
    assert.equal(sample(m.body, "ward_agent_connected"), 1);
    assert.equal(sample(m.body, "ward_agent_open_streams"), 3);
    assert.equal(sample(m.body, "ward_agent_streams_total"), 7);
    assert.equal((await get(`${server.url}/readyz`)).status, 200);

    Object.assign(state, { open: 1, total: 9 });
    m = await get(`${server.url}/metrics`);
    assert.equal(sample(m.body, "ward_agent_open_streams"), 1);
    assert.equal(sample(m.body, "ward_agent_streams_total"), 9, "the counter follows the source");
    m = await get(`${server.url}/metrics`);
    assert.equal(sample(m.body, "ward_agent_streams_total"), 9, "a scrape does not count twice");

    const head = await get(`${server.url}/metrics`, "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    assert.equal((await get(`${server.url}/metrics?x=1`)).status, 200);
    assert.equal((await get(`${server.url}/nope`)).status, 404);
    assert.equal((await get(`${server.url}/metrics`, "POST")).status, 405);
  } finally {
    await server.close();
  }
  await assert.rejects(fetch(`${server.url}/healthz`), "closed: nothing listens any more");
});

test("startMetricsServer: an address in use is refused with a message naming it", async () => {
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
  const port = (busy.address() as { port: number }).port;
  try {
    const registry = agentRegistry({ connected: () => true, openStreams: () => 0, streamsTotal: () => 0 }, { defaultMetrics: false });
    await assert.rejects(
      startMetricsServer({ host: "127.0.0.1", port, registry, ready: () => true, logger: silentLogger }),
      new RegExp(`Cannot serve metrics on 127\\.0\\.0\\.1:${port}: EADDRINUSE`),
    );
  } finally {
    busy.close();
  }
});
