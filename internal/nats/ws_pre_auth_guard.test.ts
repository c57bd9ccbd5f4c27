import { test } from "node:test";
import assert from "node:assert/strict";
import { WsPreAuthGuard } from "./ws_pre_auth_guard.ts";
import { clientFrame as frame } from "../../test/helpers/raw_ws.ts";

const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const connect = new Uint8Array(Buffer.from('CONNECT {"user":"agent:c1","pass":"secret"}\r\nPING\r\n'));

/**
 * Feeds `bytes` cut at `cuts`; returns the offset of the byte after which the guard first said
 * stop (the end of the chunk it was in), or -1.
 */
function stopOffset(max: number, bytes: Uint8Array, cuts: number[]): number {
  const g = new WsPreAuthGuard(max);
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    if (!g.push(bytes.subarray(prev, c))) return c;
    prev = c;
  }
  return -1;
}

/**
 * Splits `bytes` in three at every first cut and at the cuts that matter for the second; the guard
 * must stop in the chunk holding byte `stopAfter - 1` (the one that gives the peer away), or never.
 */
function assertEverySplit(max: number, bytes: Uint8Array, stopAfter: number | "never"): void {
  const n = bytes.length;
  for (let a = 0; a <= n; a++) {
    const seconds = stopAfter === "never" ? [a, a + 1, n - 1] : [a, a + 1, stopAfter - 1, stopAfter, stopAfter + 1, n - 1];
    for (const b of seconds.filter((x) => x >= a && x <= n)) {
      const want = stopAfter === "never" ? -1 : [a, b, n].find((c) => c >= stopAfter)!;
      assert.equal(stopOffset(max, bytes, [a, b]), want, `cuts ${a},${b}`);
    }
  }
}

test("a CONNECT within the limit passes at any split, control frames included", () => {
  const bytes = concat(frame(0x9, new Uint8Array(4)), frame(0x2, connect));
  assertEverySplit(bytes.length, bytes, "never");
});

test("a header announcing more than the limit stops it as soon as the header is complete", () => {
  for (const declared of [7 * 1024 * 1024, 2 ** 40, 2 ** 63, 5000]) {
    const head = frame(0x2, new Uint8Array(0), declared);
    const bytes = concat(head, new Uint8Array(100));
    assertEverySplit(4096, bytes, head.length);
    // Nothing before the header's last byte gives it away.
    const g = new WsPreAuthGuard(4096);
    for (let i = 0; i < head.length - 1; i++) assert.equal(g.push(head.subarray(i, i + 1)), true, `byte ${i}`);
    assert.equal(g.push(head.subarray(head.length - 1)), false);
    assert.equal(g.over, true);
    assert.equal(g.push(new Uint8Array(1)), false, "stays over");
  }
});

test("a message split into fragments counts as a whole", () => {
  const part = new Uint8Array(1000);
  const f1 = frame(0x2, part, part.length, false);
  const f2 = frame(0x0, part, part.length, false);
  const f3 = frame(0x0, part, part.length, true);
  const bytes = concat(f1, f2, f3);
  // 2500 bytes allowed: the third fragment's header announces a total past it.
  assertEverySplit(2500, bytes, f1.length + f2.length + 8);
});

test("many small frames stop it once the bytes on the wire pass the limit", () => {
  const pings = concat(...Array.from({ length: 100 }, () => frame(0x9, new Uint8Array(0))));
  // 6 bytes each: the 101st byte is one too many for 100.
  assertEverySplit(100, pings, 101);
});

test("exactly at the limit is allowed", () => {
  const f = frame(0x2, connect);
  assert.equal(new WsPreAuthGuard(f.length).push(f), true);
  assert.equal(new WsPreAuthGuard(f.length - 1).push(f), false);
});
