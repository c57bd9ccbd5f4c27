import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeFrame, FRAME_HEADER_SIZE, LIMITS, packFrames, type Frame } from "./frame.ts";
import { decodeMessage, FrameDecoder } from "./frame_decode.ts";
import { FrameError } from "./errors.ts";
// Valid frames; the fuzz target frame-decoder (run briefly by internal/fuzz.test.ts) covers hostile bytes.
import { frameArb } from "../../test/helpers/fuzz/frame_decoder.ts";

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((b) => parseInt(b, 16)));
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");

/** Hand-written vectors: the frame and its exact bytes. */
const vectors: Array<[Frame, Uint8Array]> = [
  [
    { type: "open", stream: 1, seq: 0, kind: "watch", window: 0x100000, method: "GET", path: "/api", headers: ["Accept", "a/b"] },
    hex(`01 00000001 00000000 0000001e` + `01 00100000 03${ascii("GET")} 0004${ascii("/api")}` +
      `0001 0006${ascii("Accept")} 0003${ascii("a/b")}`),
  ],
  [{ type: "head", stream: 7, seq: 1, status: 101, headers: [] }, hex(`02 00000007 00000001 00000004 0065 0000`)],
  [{ type: "data", stream: 0xffffffff, seq: 2, data: hex("deadbeef") }, hex(`03 ffffffff 00000002 00000004 deadbeef`)],
  [{ type: "data", stream: 3, seq: 9, data: new Uint8Array(0) }, hex(`03 00000003 00000009 00000000`)],
  [{ type: "window", stream: 3, seq: 4, credit: 65536 }, hex(`04 00000003 00000004 00000004 00010000`)],
  [{ type: "end", stream: 3, seq: 5 }, hex(`05 00000003 00000005 00000000`)],
  [{ type: "reset", stream: 3, seq: 6, code: 2, reason: "Gap é" }, hex(`06 00000003 00000006 0000000a 0002 0006 ${ascii("Gap ")}c3a9`)],
  [{ type: "ping", stream: 0, seq: 0, nonce: 42 }, hex(`07 00000000 00000000 00000004 0000002a`)],
  [{ type: "pong", stream: 0, seq: 0, nonce: 42 }, hex(`08 00000000 00000000 00000004 0000002a`)],
];

const norm = (f: Frame) => (f.type === "data" ? { ...f, data: [...f.data] } : { ...f });

test("each frame encodes to its byte vector and decodes back", () => {
  for (const [frame, bytes] of vectors) {
    assert.deepEqual(encodeFrame(frame), bytes, frame.type);
    assert.deepEqual(decodeMessage(bytes).map(norm), [norm(frame)], frame.type);
  }
});

test("a message of all vectors decodes the same when split at every offset (and at every pair of offsets)", () => {
  const all = vectors.map(([, b]) => b);
  const msg = new Uint8Array(all.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of all) {
    msg.set(b, o);
    o += b.length;
  }
  const want = vectors.map(([f]) => norm(f));
  for (let i = 0; i <= msg.length; i++) {
    const d = new FrameDecoder();
    const got = [...d.push(msg.subarray(0, i)), ...d.push(msg.subarray(i))];
    assert.deepEqual(got.map(norm), want, `split at ${i}`);
    assert.ok(d.idle);
  }
  for (let i = 0; i <= msg.length; i += 3) {
    for (let j = i; j <= msg.length; j += 5) {
      const d = new FrameDecoder();
      const got = [...d.push(msg.subarray(0, i)), ...d.push(msg.subarray(i, j)), ...d.push(msg.subarray(j))];
      assert.deepEqual(got.map(norm), want, `split at ${i},${j}`);
    }
  }
  // Byte at a time.
  const d = new FrameDecoder();
  const got: Frame[] = [];
  for (let i = 0; i < msg.length; i++) got.push(...d.push(msg.subarray(i, i + 1)));
  assert.deepEqual(got.map(norm), want);
});

test("a message cut anywhere inside a frame is rejected as truncated", () => {
  for (const [frame, bytes] of vectors) {
    for (let i = 1; i < bytes.length; i++) {
      assert.throws(() => decodeMessage(bytes.subarray(0, i)), (e: unknown) => e instanceof FrameError && /Truncated/.test(e.message), `${frame.type} cut at ${i}`);
    }
  }
});

test("declared lengths above the caps are rejected before any body is read", () => {
  const cases: Array<[number, number]> = [
    [1, LIMITS.maxHeadBody + 1], [2, LIMITS.maxHeadBody + 1], [3, LIMITS.maxData + 1], [4, 5], [5, 1],
    [6, 4 + LIMITS.maxReason + 1], [7, 5], [8, 0xffffffff],
  ];
  for (const [type, len] of cases) {
    const h = new Uint8Array(FRAME_HEADER_SIZE);
    const dv = new DataView(h.buffer);
    dv.setUint8(0, type);
    dv.setUint32(9, len);
    assert.throws(() => new FrameDecoder().push(h), (e: unknown) => e instanceof FrameError && /above the limit/.test(e.message), `type ${type}`);
  }
  assert.throws(() => new FrameDecoder().push(hex("09 00000000 00000000 00000000")), /Unknown frame type 9/);
});

test("inner lengths that overrun the body or a cap are rejected", () => {
  // Head frame whose header count claims 1 header but the body ends.
  assert.throws(() => decodeMessage(hex("02 00000001 00000000 00000004 00c8 0001")), /Truncated header name length/);
  // Header name length beyond the cap.
  assert.throws(() => decodeMessage(hex("02 00000001 00000000 00000006 00c8 0001 0101")), /Header name length 257 is above the limit/);
  // Header count beyond the cap.
  assert.throws(() => decodeMessage(hex("02 00000001 00000000 00000004 00c8 0101")), /257 headers, above the limit/);
  // Method length beyond the cap.
  assert.throws(() => decodeMessage(hex("01 00000001 00000000 00000006 00 00000000 21")), /Method length 33 is above the limit/);
  // Reset reason longer than its body.
  assert.throws(() => decodeMessage(hex("06 00000001 00000000 00000005 0001 0002 41")), /Truncated reset reason/);
  // Trailing bytes inside a fixed-size body.
  assert.throws(() => decodeMessage(hex("05 00000001 00000000 00000000 ff")), /Truncated frame/);
  assert.throws(() => decodeMessage(hex("02 00000001 00000000 00000005 00c8 0000 ff")), /1 trailing bytes/);
  // Unknown kind and bad status.
  assert.throws(() => decodeMessage(hex("01 00000001 00000000 00000008 09 00000000 00 0000 0000")), /Unknown stream kind 9/);
  assert.throws(() => decodeMessage(hex("02 00000001 00000000 00000004 0001 0000")), /not a 3-digit HTTP status/);
});

test("a poisoned decoder keeps failing", () => {
  const d = new FrameDecoder();
  assert.throws(() => d.push(hex("09 00000000 00000000 00000000")), FrameError);
  assert.throws(() => d.push(vectors[2]![1]), FrameError);
});

test("encoding enforces the caps with clear errors", () => {
  const f = (over: Partial<Frame>): Frame => ({ type: "open", stream: 1, seq: 0, kind: "request", window: 1, method: "GET", path: "/", headers: [], ...over }) as Frame;
  assert.throws(() => encodeFrame(f({ method: "X".repeat(33) })), /Method is 33 bytes, above the limit of 32/);
  assert.throws(() => encodeFrame(f({ path: "/".repeat(LIMITS.maxPath + 1) })), /Path is/);
  assert.throws(() => encodeFrame(f({ headers: ["a"] })), /even length/);
  assert.throws(() => encodeFrame(f({ headers: ["x", "☃"] })), /latin1/);
  assert.throws(() => encodeFrame(f({ headers: Array(2 * 257).fill("a") })), /257 headers/);
  assert.throws(() => encodeFrame(f({ headers: Array(9).fill(["n", "v".repeat(16000)]).flat() })), /Open frame is \d+ bytes, above the limit/);
  assert.throws(() => encodeFrame(f({ stream: -1 })), /Stream id -1/);
  assert.throws(() => encodeFrame({ type: "head", stream: 1, seq: 0, status: 42, headers: [] }), /3-digit/);
  // Overlong reasons are truncated on a character boundary, not rejected.
  const r = decodeMessage(encodeFrame({ type: "reset", stream: 1, seq: 0, code: 1, reason: "é".repeat(1000) }))[0]!;
  assert.equal(r.type === "reset" && r.reason, "é".repeat(512));
});

test("property: packFrames never exceeds max_payload and frames round-trip in order", () => {
  fc.assert(
    fc.property(fc.array(frameArb, { maxLength: 30 }), fc.integer({ min: 400, max: 4000 }), (frames, max) => {
      const msgs = packFrames(frames, max);
      for (const m of msgs) assert.ok(m.length <= max && m.length > 0);
      const back = msgs.flatMap((m) => decodeMessage(m));
      assert.deepEqual(back.map(norm), frames.map(norm));
    }),
  );
  assert.throws(() => packFrames([{ type: "data", stream: 1, seq: 0, data: new Uint8Array(100) }], 100), /cannot fit in a message of at most 100 bytes/);
});

test("header names and values carry every latin1 byte unchanged (0x00-0xff, as Node's rawHeaders)", () => {
  const all = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
  const frame: Frame = { type: "head", stream: 5, seq: 1, status: 200, headers: ["X-Bytes", all, all.slice(0x80), "v"] };
  assert.deepEqual(decodeMessage(encodeFrame(frame)).map(norm), [norm(frame)]);
});
