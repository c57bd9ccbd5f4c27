import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { WebSocketActivity } from "./ws_activity.ts";

/** One WebSocket frame: FIN set, `opcode`, masked (as a client sends) or not, with `n` payload bytes. */
function frame(opcode: number, n: number, masked: boolean): Buffer {
  const len = n < 126 ? [n] : n < 65536 ? [126, n >> 8, n & 0xff] : [127, 0, 0, 0, 0, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  len[0]! |= masked ? 0x80 : 0;
  return Buffer.concat([Buffer.from([0x80 | opcode, ...len]), masked ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0), Buffer.alloc(n, 0x5a)]);
}

const ping = (masked = true) => frame(0x9, 4, masked);
const pong = (masked = false) => frame(0xa, 4, masked);
const binary = (n: number, masked = true) => frame(0x2, n, masked);

test("pings and pongs are not activity; data frames of every length encoding are", () => {
  assert.equal(new WebSocketActivity().push(Buffer.concat([ping(), pong(), ping(false), pong(true)])), false);
  for (const n of [0, 1, 125, 126, 65535, 65536, 200_000]) {
    for (const masked of [true, false]) {
      const s = new WebSocketActivity();
      assert.equal(s.push(ping(masked)), false);
      assert.equal(s.push(binary(n, masked)), true, `binary ${n} masked=${masked}`);
      assert.equal(s.push(pong(masked)), false, `the frame after a ${n}-byte payload is found (masked=${masked})`);
    }
  }
  assert.equal(new WebSocketActivity().push(frame(0x1, 3, true)), true, "text");
  assert.equal(new WebSocketActivity().push(frame(0x8, 2, true)), true, "close");
});

test("split at every offset: a chunk is activity exactly when it holds bytes of a data frame", () => {
  const stream = Buffer.concat([ping(), pong(), binary(300), ping(), pong(false), binary(5, false), ping()]);
  // Byte ranges of data frames in `stream`.
  const a = ping().length + pong().length;
  const dataRanges = [[a, a + binary(300).length], [a + binary(300).length + ping().length + pong(false).length, 0]];
  dataRanges[1]![1] = dataRanges[1]![0]! + binary(5, false).length;
  const isData = (from: number, to: number) => dataRanges.some(([s, e]) => from < e! && to > s!);
  for (let cut = 0; cut <= stream.length; cut++) {
    const s = new WebSocketActivity();
    assert.equal(s.push(stream.subarray(0, cut)), isData(0, cut), `first part, cut ${cut}`);
    assert.equal(s.push(stream.subarray(cut)), isData(cut, stream.length), `second part, cut ${cut}`);
  }
});

test("property: only keepalives, in any chunking, are never activity; any data frame is", () => {
  fc.assert(
    fc.property(fc.array(fc.boolean(), { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1 }), fc.boolean(), (kinds, sizes, withData) => {
      const frames = kinds.map((k) => (k ? ping() : pong()));
      if (withData) frames.splice(Math.floor(frames.length / 2), 0, binary(70));
      const all = Buffer.concat(frames);
      const s = new WebSocketActivity();
      let active = false;
      for (let i = 0, j = 0; i < all.length; i += sizes[j++ % sizes.length]!) active = s.push(all.subarray(i, i + sizes[j % sizes.length]!)) || active;
      return active === withData;
    }),
  );
});
