import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { mask, unmask } from "./ws_masking.ts";

function reference(buffer: Uint8Array, m: Uint8Array): void {
  for (let i = 0; i < buffer.length; i++) buffer[i]! ^= m[i & 3]!;
}

test("property: word-wise unmask equals the byte loop at any offset and length", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(7), fc.uint8Array({ minLength: 4, maxLength: 4 }), (data, offset, m) => {
      const backing = new Uint8Array(data.length + offset);
      backing.set(data, offset);
      const view = backing.subarray(offset);
      const want = data.slice();
      reference(want, m);
      unmask(view, m);
      assert.deepEqual(view, want);
    }),
    { numRuns: 2000 },
  );
});

test("property: mask writes source ^ mask at any offset and length, touching nothing else", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(13), fc.nat(7), fc.uint8Array({ minLength: 4, maxLength: 4 }), (data, offset, slack, m) => {
      const length = Math.max(0, data.length - (slack % 3));
      const out = new Uint8Array(offset + data.length + 5).fill(0xa5);
      const want = out.slice();
      for (let i = 0; i < length; i++) want[offset + i] = data[i]! ^ m[i & 3]!;
      mask(data, m, out, offset, length);
      assert.deepEqual(out, want);
    }),
    { numRuns: 2000 },
  );
});

test("mask writes source ^ mask at the offset", () => {
  const out = new Uint8Array(10);
  mask(Uint8Array.of(1, 2, 3, 4, 5), Uint8Array.of(1, 1, 1, 1), out, 3, 5);
  assert.deepEqual([...out], [0, 0, 0, 0, 3, 2, 5, 4, 0, 0]);
});
