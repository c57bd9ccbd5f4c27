/**
 * 1 GiB through one stream whose consumer reads slowly, on both transports. Bounds are checked by
 * counting bytes, never by time: every message on the wire is decoded, so the bytes the agent has
 * sent and the gateway has not yet credited back are known exactly at every publish.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Bus } from "../../internal/bus/index.ts";
import { TunnelAgent, TunnelGateway, type TunnelStream } from "../../internal/tunnel/index.ts";
import { decodeMessage } from "../../internal/tunnel/internal.ts";
import { eventually } from "../helpers/eventually.ts";
import { tunnelTargets, type TunnelEnv } from "../helpers/tunnel_targets.ts";

const TOTAL = 1024 * 1024 * 1024;
const WINDOW = 256 * 1024;
const CHUNK = 1024 * 1024;

/** A Bus that reports every published message before passing it on. */
function tap(bus: Bus, onPublish: (subject: string, data: Uint8Array) => void): Bus {
  return {
    publish: (subject, payload, opts) => {
      if (payload) onPublish(subject, payload);
      bus.publish(subject, payload, opts);
    },
    subscribe: (subject, opts) => bus.subscribe(subject, opts),
    request: (subject, payload, opts) => bus.request(subject, payload, opts),
    flush: () => bus.flush(),
    close: () => bus.close(),
    closed: () => bus.closed(),
    get info() {
      return bus.info;
    },
  };
}

for (const target of tunnelTargets) {
  describe(`1 GiB with a slow consumer on ${target.name}`, () => {
    let env: TunnelEnv;
    before(async () => {
      env = await target.start();
    });
    after(async () => {
      await env.stop();
    });

    test("neither side ever buffers more than the window", async () => {
      let wireSent = 0; // data bytes the agent published
      let wireCredited = 0; // credit the gateway published (after the initial grant)
      let maxWireInFlight = 0;
      const gwBus = tap(await env.gatewayBus(), (_s, data) => {
        for (const f of decodeMessage(data)) if (f.type === "window") wireCredited += f.credit;
      });
      const agentBus = tap(await env.agentBus("c4"), (subject, data) => {
        if (!subject.includes(".s.")) return;
        for (const f of decodeMessage(data)) {
          if (f.type === "data") wireSent += f.data.length;
        }
        maxWireInFlight = Math.max(maxWireInFlight, wireSent - wireCredited);
      });
      const opts = { windowBytes: WINDOW, pingIntervalMs: 1000, pingTimeoutMs: 5000 };
      const gw = await TunnelGateway.start(gwBus, opts);
      let maxSenderInFlight = 0;
      let maxWritable = 0;
      const agent = new TunnelAgent(agentBus, { cluster: "c4", heartbeatMs: 200, ...opts });
      await agent.serve((s: TunnelStream) => {
        s.resume();
        s.respond({ status: 200, headers: [] });
        const chunk = new Uint8Array(CHUNK).fill(7);
        let off = 0;
        const write = () => {
          while (off < TOTAL) {
            off += CHUNK;
            const ok = s.write(chunk);
            maxSenderInFlight = Math.max(maxSenderInFlight, s.flowStats().inFlight);
            maxWritable = Math.max(maxWritable, s.writableLength);
            if (!ok) return void s.once("drain", write);
          }
          s.end();
        };
        s.on("drain", () => (maxSenderInFlight = Math.max(maxSenderInFlight, s.flowStats().inFlight)));
        write();
      });
      await eventually("c4 online", () => gw.isOnline("c4"), { timeoutMs: 5000 });

      const s = gw.openStream("c4", { method: "GET", path: "/big" });
      s.end();
      await s.head;
      let received = 0;
      let maxBuffered = 0;
      let sinceNap = 0;
      await new Promise<void>((resolve, reject) => {
        s.on("error", reject);
        s.on("end", resolve);
        // Paused mode, 64 KiB reads, a nap every 256 KiB: slower than the tunnel.
        const drain = () => {
          maxBuffered = Math.max(maxBuffered, s.flowStats().buffered);
          let c: Buffer | null;
          while ((c = s.read(64 * 1024) as Buffer | null) !== null) {
            received += c.length;
            sinceNap += c.length;
            maxBuffered = Math.max(maxBuffered, s.flowStats().buffered + c.length);
            if (sinceNap >= 256 * 1024) {
              sinceNap = 0;
              s.off("readable", drain);
              setTimeout(() => {
                s.on("readable", drain);
                drain();
              }, 1);
              return;
            }
          }
        };
        s.on("readable", drain);
      });
      assert.equal(received, TOTAL);
      assert.equal(wireSent, TOTAL);
      const report = { maxBuffered, maxSenderInFlight, maxWireInFlight, maxWritable };
      assert.ok(maxBuffered <= WINDOW, `gateway buffered ${maxBuffered} > window ${WINDOW}: ${JSON.stringify(report)}`);
      assert.ok(maxSenderInFlight <= WINDOW, `agent had ${maxSenderInFlight} in flight: ${JSON.stringify(report)}`);
      assert.ok(maxWireInFlight <= WINDOW, `wire carried ${maxWireInFlight} uncredited bytes: ${JSON.stringify(report)}`);
      // The consumer really was the bottleneck: the sender hit the window.
      assert.equal(maxWireInFlight, WINDOW, `the window was never exhausted: ${JSON.stringify(report)}`);
      // The producer's own write buffer stays at one chunk (plus the high-water mark).
      assert.ok(maxWritable <= CHUNK + s.writableHighWaterMark, JSON.stringify(report));
      await agent.close();
      await gw.close();
    });
  });
}
