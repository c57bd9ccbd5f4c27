/**
 * What the agent's NATS-over-WebSocket client puts on the wire: every frame it sends is masked
 * with a fresh, unpredictable key (RFC 6455 §5.3), small frames and large ones alike, and the
 * masked payload is the NATS protocol once unmasked. The client→server bytes are read off the
 * server's socket as they arrive, beside the real endpoint that consumes them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { connectBus, createNatsUpgradeHandler, NatsServer } from "../../internal/nats/index.ts";
import { eventually } from "../helpers/eventually.ts";

interface Frame {
  opcode: number;
  masked: boolean;
  key: number;
  payload: Buffer;
}

/** The client frames in `wire` (the bytes after the upgrade request), unmasked; stops at a partial frame. */
function clientFrames(wire: Buffer): Frame[] {
  const frames: Frame[] = [];
  let at = 0;
  while (at + 2 <= wire.length) {
    const opcode = wire[at]! & 0x0f;
    const masked = (wire[at + 1]! & 0x80) !== 0;
    let len = wire[at + 1]! & 0x7f;
    let p = at + 2;
    if (len === 126) {
      len = wire.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      len = Number(wire.readBigUInt64BE(p));
      p += 8;
    }
    const key = masked ? wire.readUInt32BE(p) : 0;
    if (masked) p += 4;
    if (p + len > wire.length) break;
    const payload = Buffer.from(wire.subarray(p, p + len));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= wire[p - 4 + (i & 3)]!;
    frames.push({ opcode, masked, key, payload });
    at = p + len;
  }
  return frames;
}

test("the NATS client masks every frame it sends with a fresh random key", async () => {
  const nats = new NatsServer();
  const ws = createNatsUpgradeHandler(nats);
  const chunks: Buffer[] = [];
  const server = createServer();
  server.on("upgrade", (req, socket, head) => {
    // A second reader on the socket, before the endpoint's: it copies every byte as it arrives
    // (the endpoint then unmasks those same Buffers in place).
    socket.on("data", (c: Buffer) => chunks.push(Buffer.from(c)));
    ws.handleUpgrade(req, socket, head);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/nats`;
  const bus = await connectBus(url, { name: "masking-probe" });
  try {
    // Small and large publishes, each flushed, so they leave in frames of their own.
    const sizes = [0, 10, 200, 5_000, 70_000, 300_000];
    for (let round = 0; round < 3; round++) {
      for (const n of sizes) {
        bus.publish("probe.masks", new Uint8Array(n).fill(0x61 + round));
        await bus.flush();
      }
    }
    const sent = sizes.reduce((a, n) => a + n, 0) * 3;
    await eventually("the published bytes to reach the server", () => chunks.reduce((a, c) => a + c.length, 0) > sent, { timeoutMs: 10_000, intervalMs: 20 });
    const frames = clientFrames(Buffer.concat(chunks));
    const data = frames.filter((f) => f.opcode === 0x2 || f.opcode === 0x1 || f.opcode === 0x0);
    assert.ok(data.length >= sizes.length * 3, `expected a frame per publish at least, got ${data.length}`);
    assert.ok(frames.every((f) => f.masked), "every client frame has its mask bit set");
    assert.ok(frames.every((f) => f.key !== 0), "no frame carries the all-zero key");
    const keys = new Set(frames.map((f) => f.key));
    assert.equal(keys.size, frames.length, `each frame gets its own key (${keys.size} distinct of ${frames.length})`);
    // Unmasked with its key, the first frame is the client's CONNECT, and the big payloads arrive whole.
    assert.match(data[0]!.payload.toString("latin1"), /^CONNECT \{/);
    const text = Buffer.concat(data.map((f) => f.payload)).toString("latin1");
    for (const n of sizes) assert.ok(text.includes(`PUB probe.masks ${n}\r\n`), `the PUB of ${n} bytes is in the unmasked stream`);
    assert.ok(text.includes("c".repeat(300_000)), "a 300 kB payload unmasks to what was published");
  } finally {
    await bus.close();
    ws.close();
    server.close();
    nats.close();
  }
});
