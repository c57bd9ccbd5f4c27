import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import { frameHeader, IN_PLACE_MIN_BYTES, maskInPlace } from "./ws_frame.ts";

test("frame headers: length forms, and the mask bit and key of a client frame", () => {
  assert.deepEqual([...frameHeader(5)], [0x82, 5]);
  assert.deepEqual([...frameHeader(300)], [0x82, 126, 1, 44]);
  assert.deepEqual([...frameHeader(70_000)], [0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
  assert.deepEqual([...frameHeader(5, Uint8Array.of(1, 2, 3, 4))], [0x82, 0x85, 1, 2, 3, 4]);
  assert.deepEqual([...frameHeader(70_000, Uint8Array.of(9, 8, 7, 6))], [0x82, 0xff, 0, 0, 0, 0, 0, 1, 0x11, 0x70, 9, 8, 7, 6]);
});

test("a client masks large sends in place; the server reads them back intact, small ones go through ws", async () => {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await once(wss, "listening");
  const got: Buffer[] = [];
  wss.on("connection", (s) => s.on("message", (m: Buffer) => got.push(Buffer.from(m))));
  const ws = maskInPlace(new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`));
  await once(ws, "open");
  try {
    const small = new Uint8Array(IN_PLACE_MIN_BYTES - 1).fill(7);
    const large = [5_000, 70_000, 300_000].map((n, i) => {
      const b = new Uint8Array(n);
      for (let j = 0; j < n; j++) b[j] = (j * 31 + i) & 0xff;
      return b;
    });
    const expected = [small, ...large].map((b) => Buffer.from(b));
    ws.send(small.buffer);
    for (const b of large) ws.send(b.buffer);
    const deadline = Date.now() + 10_000;
    while (got.length < expected.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got.length, expected.length);
    for (let i = 0; i < expected.length; i++) assert.ok(got[i]!.equals(expected[i]!), `message ${i} arrives unchanged`);
    // The handed-over buffers were masked where they lay (no copy); the small one was left alone.
    assert.ok(Buffer.from(small).equals(expected[0]!));
    for (let i = 0; i < large.length; i++) assert.ok(!Buffer.from(large[i]!).equals(expected[i + 1]!), `large send ${i} was masked in place`);
  } finally {
    ws.terminate();
    wss.close();
  }
});
