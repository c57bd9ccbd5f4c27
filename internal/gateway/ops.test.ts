import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { silentLogger } from "../log/index.ts";
import { connectBus } from "../nats/index.ts";
import { startGateway } from "./index.ts";
import { eventually } from "../../test/helpers/eventually.ts";

/** The `tr` (timer) field of each loopback TCP socket with `port` at either end: 2 = the keepalive timer runs. */
function timersOnPort(port: number): { side: "server" | "client"; timer: number }[] {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const out: { side: "server" | "client"; timer: number }[] = [];
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || f[3] !== "01") continue; // ESTABLISHED only
    const timer = Number.parseInt(f[5]!.split(":")[0]!, 16);
    if (f[1]!.endsWith(`:${hex}`)) out.push({ side: "server", timer });
    else if (f[2]!.endsWith(`:${hex}`)) out.push({ side: "client", timer });
  }
  return out;
}

test("TCP keepalive runs on the gateway's client connections and on the agent's WebSocket to it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ward-gw-"));
  const gw = await startGateway({ host: "127.0.0.1", port: 0, plainHttp: true, dataDir: dir, shutdownTimeoutMs: 1000, logger: silentLogger });
  try {
    const port = Number(new URL(gw.url).port);
    const admin = readFileSync(join(dir, "admin-token"), "utf8").trim();
    const res = await fetch(`${gw.url}/api/v1/clusters`, { method: "POST", headers: { authorization: `Bearer ${admin}` }, body: JSON.stringify({ id: "c1" }) });
    const { join_token } = (await res.json()) as { join_token: string };
    const nc = await connectBus(gw.url.replace("http", "ws") + "/nats", { user: "c1", pass: join_token, maxReconnectAttempts: 0, timeout: 3000 });
    try {
      // Right after a write a socket may show its retransmit/loss-probe timer (1) instead; it settles.
      let timers = timersOnPort(port);
      await eventually("every end idle with its keepalive timer", () => (timers = timersOnPort(port)).every((t) => t.timer === 2), { timeoutMs: 3000 }).catch(() => {});
      assert.ok(timers.some((t) => t.side === "server"), JSON.stringify(timers));
      assert.ok(timers.some((t) => t.side === "client"), JSON.stringify(timers));
      for (const t of timers) assert.equal(t.timer, 2, `the ${t.side} end runs the keepalive timer: ${JSON.stringify(timers)}`);
    } finally {
      await nc.close();
    }
    // The check can fail: a plain connection without keepalive shows no timer.
    const plain = createServer((s) => s.on("error", () => {}));
    await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
    const plainPort = (plain.address() as { port: number }).port;
    const sock = (await import("node:net")).connect(plainPort, "127.0.0.1");
    await new Promise((r) => sock.once("connect", r));
    try {
      assert.ok(timersOnPort(plainPort).every((t) => t.timer === 0));
    } finally {
      sock.destroy();
      plain.close();
    }
  } finally {
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--metrics-listen: the gateway's /metrics, /healthz and /readyz on their own listener, not on the public one", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ward-gw-"));
  const gw = await startGateway({
    host: "127.0.0.1", port: 0, plainHttp: true, dataDir: dir, shutdownTimeoutMs: 1000, logger: silentLogger, metricsListen: { host: "127.0.0.1", port: 0 },
  });
  try {
    assert.ok(gw.metricsUrl);
    const text = await (await fetch(`${gw.metricsUrl}/metrics`)).text();
    assert.match(text, /^ward_gateway_agents_online 0$/m);
    assert.match(text, /^ward_gateway_open_streams\{kind="watch"\} 0$/m);
    assert.match(text, /^# TYPE ward_gateway_requests_total counter$/m);
    assert.equal((await fetch(`${gw.metricsUrl}/readyz`)).status, 200);
    assert.equal((await fetch(`${gw.metricsUrl}/healthz`)).status, 200);
    assert.notEqual((await fetch(`${gw.url}/metrics`)).status, 200, "the public listener does not serve metrics");
  } finally {
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(fetch(`${gw.metricsUrl}/healthz`), "the metrics listener closes with the gateway");
});
