/**
 * The tunnel's wire format: a pure codec, no I/O.
 *
 * A NATS message payload is a concatenation of whole frames (a frame never spans two messages).
 * Every frame is
 *
 *     type:u8  stream:u32  seq:u32  length:u32  body[length]        (big-endian, 13-byte header)
 *
 * and every variable-length field has a cap, checked on encode and on decode.
 *
 * Bodies:
 *   open   kind:u8 window:u32 method:(u8 len) path:(u16 len) headers
 *   head   status:u16 headers
 *   data   bytes
 *   window credit:u32
 *   end    (empty)
 *   reset  code:u16 reason:(u16 len, UTF-8)
 *   ping   nonce:u32          (stream 0)
 *   pong   nonce:u32          (stream 0)
 *   headers := count:u16 { name:(u16 len) value:(u16 len) }*   (latin1, like Node's rawHeaders)
 */
import { Buffer } from "node:buffer";
import { FrameError } from "./errors.ts";

export const FRAME_HEADER_SIZE = 13;

export const FrameType = {
  open: 1,
  head: 2,
  data: 3,
  window: 4,
  end: 5,
  reset: 6,
  ping: 7,
  pong: 8,
} as const;

/**
 * Body bytes a gateway may send before the agent's accept (in the open message itself). Every
 * receive window is at least this large.
 */
export const OPEN_CREDIT = 32 * 1024;

/** Kinds of stream, each with its own idle timeout. */
export const STREAM_KINDS = ["request", "watch", "exec", "portforward"] as const;
export type StreamKind = (typeof STREAM_KINDS)[number];

export const LIMITS = {
  /** A data frame's body; the bus's max_payload is usually the tighter bound. */
  maxData: 16 * 1024 * 1024,
  maxMethod: 32,
  maxPath: 16 * 1024,
  maxHeaderCount: 256,
  maxHeaderName: 256,
  maxHeaderValue: 16 * 1024,
  /** Body of an open or head frame (all headers together). */
  maxHeadBody: 128 * 1024,
  maxReason: 1024,
  maxStreamId: 0xffffffff,
} as const;

/** Flat list like Node's `rawHeaders`: [name, value, name, value, ...]. */
export type RawHeaders = readonly string[];

export interface OpenFrame { type: "open"; stream: number; seq: number; kind: StreamKind; window: number; method: string; path: string; headers: RawHeaders }
export interface HeadFrame { type: "head"; stream: number; seq: number; status: number; headers: RawHeaders }
export interface DataFrame { type: "data"; stream: number; seq: number; data: Uint8Array }
export interface WindowFrame { type: "window"; stream: number; seq: number; credit: number }
export interface EndFrame { type: "end"; stream: number; seq: number }
export interface ResetFrame { type: "reset"; stream: number; seq: number; code: number; reason: string }
export interface PingFrame { type: "ping" | "pong"; stream: number; seq: number; nonce: number }
export type Frame = OpenFrame | HeadFrame | DataFrame | WindowFrame | EndFrame | ResetFrame | PingFrame;

const utf8 = new TextEncoder();

function latin1Length(s: string, what: string, max: number): number {
  if (s.length > max) throw new FrameError(`${what} is ${s.length} bytes, above the limit of ${max}`);
  return s.length;
}

function headersSize(h: RawHeaders): number {
  if (h.length % 2 !== 0) throw new FrameError("Headers must be a flat list of name/value pairs (even length)");
  const count = h.length / 2;
  if (count > LIMITS.maxHeaderCount) throw new FrameError(`${count} headers, above the limit of ${LIMITS.maxHeaderCount}`);
  let n = 2;
  for (let i = 0; i < h.length; i += 2) {
    n += 4 + latin1Length(h[i]!, "Header name", LIMITS.maxHeaderName) + latin1Length(h[i + 1]!, "Header value", LIMITS.maxHeaderValue);
  }
  return n;
}

/** Body length of a frame (without the 13-byte header). Validates caps. */
export function frameBodySize(f: Frame): number {
  let n: number;
  switch (f.type) {
    case "open":
      n = 1 + 4 + 1 + latin1Length(f.method, "Method", LIMITS.maxMethod) + 2 + latin1Length(f.path, "Path", LIMITS.maxPath) + headersSize(f.headers);
      if (n > LIMITS.maxHeadBody) throw new FrameError(`Open frame is ${n} bytes, above the limit of ${LIMITS.maxHeadBody}`);
      return n;
    case "head":
      n = 2 + headersSize(f.headers);
      if (n > LIMITS.maxHeadBody) throw new FrameError(`Head frame is ${n} bytes, above the limit of ${LIMITS.maxHeadBody}`);
      return n;
    case "data":
      if (f.data.length > LIMITS.maxData) throw new FrameError(`Data frame is ${f.data.length} bytes, above the limit of ${LIMITS.maxData}`);
      return f.data.length;
    case "window":
      return 4;
    case "end":
      return 0;
    case "reset":
      return 4 + reasonBytes(f.reason).length;
    case "ping":
    case "pong":
      return 4;
  }
}

/** The reset reason as UTF-8, truncated (on a character boundary) to the cap. */
function reasonBytes(reason: string): Uint8Array {
  let b = utf8.encode(reason);
  if (b.length > LIMITS.maxReason) {
    let end = LIMITS.maxReason;
    while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
    b = b.subarray(0, end);
  }
  return b;
}

export function frameSize(f: Frame): number {
  return FRAME_HEADER_SIZE + frameBodySize(f);
}

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new FrameError(`${what} ${v} is not a 32-bit unsigned integer`);
}

/** Writes `f` at `off` in `buf` and returns the new offset. `buf` must have room (see `frameSize`). */
export function writeFrame(f: Frame, buf: Uint8Array, off: number, bodySize = frameBodySize(f)): number {
  checkU32(f.stream, "Stream id");
  checkU32(f.seq, "Sequence number");
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  dv.setUint8(off, FrameType[f.type]);
  dv.setUint32(off + 1, f.stream);
  dv.setUint32(off + 5, f.seq);
  dv.setUint32(off + 9, bodySize);
  let p = off + FRAME_HEADER_SIZE;
  const latin1 = (s: string) => {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) throw new FrameError("Method, path and headers must be latin1 (one byte per character)");
      buf[p++] = c;
    }
  };
  const headers = (h: RawHeaders) => {
    dv.setUint16(p, h.length / 2);
    p += 2;
    for (const s of h) {
      dv.setUint16(p, s.length);
      p += 2;
      latin1(s);
    }
  };
  switch (f.type) {
    case "open":
      if (!STREAM_KINDS.includes(f.kind)) throw new FrameError(`Unknown stream kind ${JSON.stringify(f.kind)}`);
      checkU32(f.window, "Window");
      dv.setUint8(p, STREAM_KINDS.indexOf(f.kind));
      dv.setUint32(p + 1, f.window);
      dv.setUint8(p + 5, f.method.length);
      p += 6;
      latin1(f.method);
      dv.setUint16(p, f.path.length);
      p += 2;
      latin1(f.path);
      headers(f.headers);
      break;
    case "head":
      if (!Number.isInteger(f.status) || f.status < 100 || f.status > 999) throw new FrameError(`Status ${f.status} is not a 3-digit HTTP status`);
      dv.setUint16(p, f.status);
      p += 2;
      headers(f.headers);
      break;
    case "data":
      buf.set(f.data, p);
      p += f.data.length;
      break;
    case "window":
      checkU32(f.credit, "Window credit");
      dv.setUint32(p, f.credit);
      p += 4;
      break;
    case "end":
      break;
    case "reset": {
      const r = reasonBytes(f.reason);
      dv.setUint16(p, f.code & 0xffff);
      dv.setUint16(p + 2, r.length);
      buf.set(r, p + 4);
      p += 4 + r.length;
      break;
    }
    case "ping":
    case "pong":
      checkU32(f.nonce, "Ping nonce");
      dv.setUint32(p, f.nonce);
      p += 4;
      break;
  }
  if (p - off !== FRAME_HEADER_SIZE + bodySize) throw new FrameError("Internal error: frame size mismatch");
  return p;
}

export function encodeFrame(f: Frame): Uint8Array {
  const body = frameBodySize(f);
  const buf = new Uint8Array(FRAME_HEADER_SIZE + body);
  writeFrame(f, buf, 0, body);
  return buf;
}

/**
 * Packs frames into as few messages as possible, none above `maxPayload` bytes, keeping order.
 * A single frame larger than `maxPayload` is an error: callers chunk data to fit.
 */
export function packFrames(frames: readonly Frame[], maxPayload: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < frames.length) {
    const sizes: number[] = [];
    let total = 0;
    let j = i;
    for (; j < frames.length; j++) {
      const body = frameBodySize(frames[j]!);
      const size = FRAME_HEADER_SIZE + body;
      if (size > maxPayload) {
        throw new FrameError(`A ${frames[j]!.type} frame of ${size} bytes cannot fit in a message of at most ${maxPayload} bytes`);
      }
      if (total + size > maxPayload) break;
      sizes.push(body);
      total += size;
    }
    // Not zero-filled when large (zeroing cost as much as the copy): every byte is written below,
    // and writeFrame checks each frame's size.
    const msg = total >= 4096 ? Buffer.allocUnsafeSlow(total) : new Uint8Array(total);
    let off = 0;
    for (let k = i; k < j; k++) off = writeFrame(frames[k]!, msg, off, sizes[k - i]);
    out.push(msg);
    i = j;
  }
  return out;
}
