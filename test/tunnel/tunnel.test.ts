/**
 * The tunnel over real transports: the embedded endpoint (gateway in-process, agent over WebSocket)
 * and a real nats-server with websocket. The same tests run on both.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { pipeline } from "node:stream/promises";
import {
  ClusterOfflineError, ResetCode, StreamResetError, TunnelAgent, TunnelGateway, type TunnelStream,
} from "../../internal/tunnel/index.ts";
import { eventually } from "../helpers/eventually.ts";
import { echoHandler, errorOf, patternBytes, readAll } from "../helpers/tunnel.ts";
import { tunnelTargets, type TunnelEnv } from "../helpers/tunnel_targets.ts";

const timing = { pingIntervalMs: 100, pingTimeoutMs: 400 };

for (const target of tunnelTargets) {
  describe(`tunnel on ${target.name}`, () => {
    let env: TunnelEnv;
    let gw: TunnelGateway;
    const agents: TunnelAgent[] = [];
    before(async () => {
      env = await target.start();
      gw = await TunnelGateway.start(await env.gatewayBus(), timing);
    });
    after(async () => {
      for (const a of agents) await a.close();
      await gw.close();
      await env.stop();
    });
    async function agent(cluster: string, handler = echoHandler, bus?: Awaited<ReturnType<TunnelEnv["agentBus"]>>) {
      const a = new TunnelAgent(bus ?? (await env.agentBus(cluster)), { cluster, heartbeatMs: 100, ...timing });
      agents.push(a);
      await a.serve(handler);
      return a;
    }

    test("offline fails at once, online within a heartbeat, and a round trip carries head and body", async () => {
      assert.throws(() => gw.openStream("c1", { method: "GET", path: "/" }), ClusterOfflineError);
      await agent("c1", (s) => {
        s.respond({ status: 200, headers: ["X-Path", s.request.path] });
        readAll(s).then((b) => s.end(Buffer.concat([Buffer.from(`${s.request.method}:`), b])));
      });
      await eventually("c1 online", () => gw.isOnline("c1"), { timeoutMs: 2000 });
      const s = gw.openStream("c1", { method: "POST", path: "/api/v1/namespaces?limit=1", headers: ["Content-Type", "application/json"] });
      s.end('{"a":1}');
      assert.deepEqual(await s.head, { status: 200, headers: ["X-Path", "/api/v1/namespaces?limit=1"] });
      assert.equal((await readAll(s)).toString(), 'POST:{"a":1}');
    });

    test("100 concurrent streams of mixed sizes deliver every byte in order", async () => {
      await agent("c2");
      await eventually("c2 online", () => gw.isOnline("c2"), { timeoutMs: 2000 });
      await Promise.all(Array.from({ length: 100 }, async (_, i) => {
        const size = (i * 7919) % 300_000;
        const s = gw.openStream("c2", { method: "PUT", path: `/${i}` });
        const body = patternBytes(i, 0, size);
        const [, got] = await Promise.all([pipeline(async function* () {
          for (let o = 0; o < size; o += 10_000 + i) yield body.subarray(o, o + 10_000 + i);
        }, s), readAll(s)]);
        assert.ok(got.equals(body), `stream ${i}: ${got.length}/${size}`);
      }));
    });

    test("an upgraded stream carries raw bytes both ways, and cancellation travels both ways", async () => {
      const seen: TunnelStream[] = [];
      await agent("c3", (s) => {
        seen.push(s);
        s.on("error", () => {});
        if (s.request.kind === "exec") {
          s.respond({ status: 101, headers: ["Upgrade", "SPDY/3.1"] });
          s.on("data", (d: Buffer) => s.write(d));
        } else s.respond({ status: 200, headers: [] });
      });
      await eventually("c3 online", () => gw.isOnline("c3"), { timeoutMs: 2000 });
      const u = gw.openStream("c3", { method: "POST", path: "/exec", kind: "exec" });
      assert.equal((await u.head).status, 101);
      const got: Buffer[] = [];
      u.on("data", (d: Buffer) => got.push(d));
      const payload = patternBytes(3, 0, 3_000_000);
      u.write(payload);
      await eventually("echoed bytes", () => Buffer.concat(got).length === payload.length, { timeoutMs: 10_000 });
      assert.ok(Buffer.concat(got).equals(payload));
      // Gateway consumer goes away → the agent's upstream is aborted.
      const agentSide = seen.at(-1)!;
      const aborted = once(agentSide.signal, "abort");
      u.destroy();
      await aborted;
      assert.equal((agentSide.signal.reason as StreamResetError).code, ResetCode.cancel);
      // Agent upstream fails → the gateway's response fails with the reason.
      const w = gw.openStream("c3", { method: "GET", path: "/watch", kind: "watch" });
      await w.head;
      const err = errorOf(w);
      seen.at(-1)!.destroy(new Error("apiserver closed the connection"));
      assert.match((await err).message, /apiserver closed the connection/);
    });

    test("a slow consumer never lets either side buffer more than the window", async () => {
      const window = 256 * 1024;
      const total = 64 * 1024 * 1024;
      const gw2 = await TunnelGateway.start(await env.gatewayBus(), { ...timing, windowBytes: window });
      let maxSender = 0;
      const a = new TunnelAgent(await env.agentBus("c4"), { cluster: "c4", heartbeatMs: 100, windowBytes: window, ...timing });
      agents.push(a);
      const handler = (s: TunnelStream) => {
        s.resume();
        s.respond({ status: 200, headers: [] });
        let off = 0;
        const chunk = patternBytes(5, 0, 1 << 20);
        const write = () => {
          while (off < total) {
            const st = s.flowStats();
            maxSender = Math.max(maxSender, st.inFlight);
            const ok = s.write(chunk);
            off += chunk.length;
            if (!ok) return void s.once("drain", write);
          }
          s.end();
        };
        write();
      };
      await a.serve(handler);
      await eventually("c4 online on gw2", () => gw2.isOnline("c4"), { timeoutMs: 2000 });
      const t0 = Date.now();
      const s = gw2.openStream("c4", { method: "GET", path: "/big" });
      s.end();
      await s.head;
      let received = 0;
      let maxBuffered = 0;
      for await (const c of s) {
        received += (c as Buffer).length;
        maxBuffered = Math.max(maxBuffered, s.flowStats().buffered);
        if (received % (4 << 20) < (c as Buffer).length) await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(received, total);
      console.log(`${target.name}: ${total >> 20} MiB in ${Date.now() - t0} ms, max buffered ${maxBuffered}, max in flight ${maxSender}`);
      assert.ok(maxBuffered <= window, `receiver buffered ${maxBuffered} > ${window}`);
      assert.ok(maxSender <= window, `sender had ${maxSender} in flight > ${window}`);
      await a.close();
      await gw2.close();
    });

    test("an agent cannot serve another cluster: its permissions stop it", async () => {
      const bus = await env.agentBusAs("c2");
      const errors: string[] = [];
      const rogue = new TunnelAgent(bus, { cluster: "c9", heartbeatMs: 100 });
      await rogue.serve(echoHandler).catch((e: Error) => errors.push(e.message));
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(gw.isOnline("c9"), false);
      await rogue.close().catch(() => {});
    });

    test("a dead agent connection resets its streams and takes the cluster offline", async () => {
      const bus = await env.agentBus("c3");
      for (const a of agents.splice(0)) if (a.cluster === "c3") await a.close();
      await eventually("c3 offline after goodbye", () => !gw.isOnline("c3"), { timeoutMs: 2000 });
      await agent("c3", (s) => {
        s.on("error", () => {});
        s.respond({ status: 200, headers: [] });
      }, bus);
      await eventually("c3 online", () => gw.isOnline("c3"), { timeoutMs: 2000 });
      const streams = [1, 2, 3].map(() => gw.openStream("c3", { method: "GET", path: "/w", kind: "watch" }));
      await Promise.all(streams.map((s) => s.head));
      const errs = streams.map(errorOf);
      const t0 = Date.now();
      await bus.close(); // no goodbye: the connection just goes away
      for (const e of await Promise.all(errs)) assert.ok(e instanceof StreamResetError && e.code === ResetCode.peerGone, String(e));
      // Within the ping timeout (presence usually notices first), plus slack for a busy machine.
      assert.ok(Date.now() - t0 <= timing.pingTimeoutMs + 400, `reset after ${Date.now() - t0} ms`);
      await eventually("c3 offline", () => !gw.isOnline("c3"), { timeoutMs: 1000 });
    });
  });
}
