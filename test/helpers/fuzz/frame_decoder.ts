/**
 * Fuzz target `frame-decoder`: the tunnel's wire codec (`internal/tunnel/frame.ts`,
 * `frame_decode.ts`). `frameArb` (valid frames) is also used by `internal/tunnel/frame.test.ts`.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { FrameError } from "../../../internal/tunnel/index.ts";
import { decodeMessage, encodeFrame, FRAME_HEADER_SIZE, FrameDecoder, FrameType, LIMITS, STREAM_KINDS, type Frame } from "../../../internal/tunnel/internal.ts";
import { concatBytes, cuts, mutated, splitAt } from "./bytes.ts";
import { fuzzProperty, type FuzzTarget } from "./fuzz_target.ts";

const latin1 = (maxLength: number) => fc.string({ unit: fc.nat(0xff).map((c) => String.fromCharCode(c)), maxLength });
const headers = fc.array(fc.tuple(latin1(20), latin1(20)), { maxLength: 5 }).map((pairs) => pairs.flat());

/** Valid frames small enough to pack several into one message of a few hundred bytes. */
export const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({ type: fc.constant("data" as const), stream: fc.nat(), seq: fc.nat(), data: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ type: fc.constant("window" as const), stream: fc.nat(), seq: fc.nat(), credit: fc.nat() }),
  fc.record({ type: fc.constant("end" as const), stream: fc.nat(), seq: fc.nat() }),
  fc.record({ type: fc.constant("reset" as const), stream: fc.nat(), seq: fc.nat(), code: fc.nat(0xffff), reason: fc.string({ unit: "grapheme", maxLength: 20 }) }),
  fc.record({
    type: fc.constant("open" as const), stream: fc.nat(), seq: fc.nat(), kind: fc.constantFrom(...STREAM_KINDS), window: fc.nat(),
    method: fc.constantFrom("GET", "POST", "PATCH"), path: latin1(50), headers,
  }),
  fc.record({ type: fc.constant("head" as const), stream: fc.nat(), seq: fc.nat(), status: fc.integer({ min: 100, max: 999 }), headers }),
  fc.record({ type: fc.constantFrom("ping" as const, "pong" as const), stream: fc.constant(0), seq: fc.nat(), nonce: fc.nat() }),
);

/** Frames at their caps' edges too: long reasons (truncated on encode), long paths and methods, every u32. */
const edgeFrameArb: fc.Arbitrary<Frame> = fc.oneof(
  { arbitrary: frameArb, weight: 6 },
  fc.record({ type: fc.constant("reset" as const), stream: fc.nat(), seq: fc.nat(), code: fc.nat(0xffff), reason: fc.string({ unit: "grapheme", minLength: 300, maxLength: 1100 }) }),
  fc.record({
    type: fc.constant("open" as const), stream: fc.constant(LIMITS.maxStreamId), seq: fc.constant(0xffffffff), kind: fc.constantFrom(...STREAM_KINDS),
    window: fc.constant(0xffffffff), method: latin1(LIMITS.maxMethod), path: fc.constantFrom(0, LIMITS.maxPath).map((n) => "/".repeat(n)), headers,
  }),
);

/** What decoding an encoded frame gives back: the frame, its reset reason cut to the cap on a character boundary. */
function expected(f: Frame): unknown {
  if (f.type === "data") return { ...f, data: [...f.data] };
  if (f.type !== "reset") return { ...f };
  let bytes = 0;
  let reason = "";
  for (const ch of f.reason) {
    bytes += new TextEncoder().encode(ch).length;
    if (bytes > LIMITS.maxReason) break;
    reason += ch;
  }
  return { ...f, reason };
}
const norm = (f: Frame): unknown => (f.type === "data" ? { ...f, data: [...f.data] } : { ...f });

/** The body cap of each frame type, as frame.ts documents it; undefined: no such type. */
const BODY_CAP: Record<number, number> = {
  [FrameType.open]: LIMITS.maxHeadBody, [FrameType.head]: LIMITS.maxHeadBody, [FrameType.data]: LIMITS.maxData,
  [FrameType.window]: 4, [FrameType.end]: 0, [FrameType.reset]: 4 + LIMITS.maxReason, [FrameType.ping]: 4, [FrameType.pong]: 4,
};

const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at);

/** `f` is exactly what `wire` (one whole frame) says. Reset reasons are read leniently as UTF-8, so they are compared decoded. */
function assertFrameIs(f: Frame, wire: Uint8Array): void {
  if (f.type !== "reset") return assert.deepEqual(encodeFrame(f), wire, `${f.type} frame re-encodes to its bytes`);
  const dv = new DataView(wire.buffer, wire.byteOffset, wire.byteLength);
  const rl = dv.getUint16(15);
  assert.deepEqual([dv.getUint8(0), dv.getUint32(1), dv.getUint32(5), dv.getUint16(13), wire.length], [FrameType.reset, f.stream, f.seq, f.code, 17 + rl]);
  assert.equal(f.reason, new TextDecoder().decode(wire.subarray(17)));
}

/** Feeds `chunks` until one throws: the frames before that push, and the error. */
function decodeChunks(d: FrameDecoder, chunks: readonly Uint8Array[]): { frames: Frame[]; error: unknown } {
  const frames: Frame[] = [];
  for (const c of chunks) {
    try {
      frames.push(...d.push(c));
    } catch (error) {
      return { frames, error };
    }
  }
  return { frames, error: undefined };
}

const roundTrip = fc.property(fc.array(edgeFrameArb, { maxLength: 12 }), cuts, (frames, c) => {
  const msg = concatBytes(frames.map(encodeFrame));
  const d = new FrameDecoder();
  const got = splitAt(msg, c).flatMap((chunk) => d.push(chunk));
  assert.ok(d.idle, "nothing left pending after whole frames");
  assert.deepEqual(got.map(norm), frames.map(expected));
  assert.deepEqual(concatBytes(got.map(encodeFrame)), msg, "decoded frames re-encode to the same bytes");
  assert.deepEqual(decodeMessage(msg).map(norm), frames.map(expected));
});

/** Length-field values around every cap. */
const INTERESTING = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff,
  LIMITS.maxMethod, LIMITS.maxMethod + 1, LIMITS.maxHeaderCount, LIMITS.maxHeaderCount + 1, LIMITS.maxHeaderName, LIMITS.maxHeaderName + 1,
  LIMITS.maxHeaderValue, LIMITS.maxHeaderValue + 1, LIMITS.maxPath, LIMITS.maxPath + 1, LIMITS.maxReason, LIMITS.maxReason + 1,
  LIMITS.maxReason + 4, LIMITS.maxReason + 5, LIMITS.maxHeadBody, LIMITS.maxHeadBody + 1, LIMITS.maxData, LIMITS.maxData + 1,
];
const hostileBytes = fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated(fc.array(frameArb, { maxLength: 6 }).map((fs) => concatBytes(fs.map(encodeFrame))), INTERESTING));

const hostile = fc.property(hostileBytes, cuts, (bytes, c) => {
  const d = new FrameDecoder();
  const { frames, error } = decodeChunks(d, splitAt(bytes, c));
  // Every frame handed on is exactly the bytes it came from.
  let o = 0;
  for (const f of frames) {
    const size = FRAME_HEADER_SIZE + u32(bytes, o + 9);
    assertFrameIs(f, bytes.subarray(o, o + size));
    o += size;
  }
  const whole = decodeChunks(new FrameDecoder(), [bytes]);
  if (error === undefined) {
    assert.equal(whole.error, undefined, "no error in one piece either");
    assert.deepEqual(whole.frames.map(norm), frames.map(norm), "same frames in one piece");
    // What is left is part of one frame, never more than its type's cap.
    const tail = bytes.subarray(o);
    assert.equal(d.idle, tail.length === 0);
    if (tail.length >= FRAME_HEADER_SIZE) {
      const cap = BODY_CAP[tail[0]!];
      assert.ok(cap !== undefined && u32(tail, 9) <= cap, "a header over its cap is refused at once");
      assert.ok(tail.length < FRAME_HEADER_SIZE + u32(tail, 9), "a complete frame was not handed on");
    }
    if (tail.length) assert.throws(() => decodeMessage(bytes), (e: unknown) => e instanceof FrameError && /^Truncated/.test(e.message));
    return;
  }
  assert.ok(error instanceof FrameError, `only FrameError is thrown, not ${String(error)}`);
  assert.ok(whole.error instanceof FrameError && whole.error.message === error.message, "the same error in one piece");
  assert.throws(() => d.push(new Uint8Array(1)), (e: unknown) => e === error, "a failed decoder stays failed");
  // The error is about a header over its cap, or a bad frame that had fully arrived: walk on from
  // the last frame handed on (frames decoded earlier in the failing push were not).
  for (;;) {
    const rest = bytes.subarray(o);
    assert.ok(rest.length >= FRAME_HEADER_SIZE, "refused an incomplete frame header");
    const cap = BODY_CAP[rest[0]!];
    const len = u32(rest, 9);
    if (cap === undefined || len > cap) return;
    assert.ok(rest.length >= FRAME_HEADER_SIZE + len, "refused a frame before its body had arrived");
    try {
      decodeMessage(rest.subarray(0, FRAME_HEADER_SIZE + len));
    } catch {
      return;
    }
    o += FRAME_HEADER_SIZE + len;
  }
});

export const frameDecoderTarget: FuzzTarget = {
  name: "frame-decoder",
  what: "tunnel frames: encode → decode at any chunking; hostile bytes → exact frames or FrameError, bounded buffering",
  properties: [
    fuzzProperty("valid frames round-trip at any chunking", 300, roundTrip),
    fuzzProperty("hostile bytes: exact frames or FrameError", 3000, hostile),
  ],
};
