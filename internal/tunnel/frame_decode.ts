/**
 * Decoding side of the wire format (see frame.ts): an incremental decoder that takes chunks split
 * anywhere, and `decodeMessage` for one whole NATS message. Every length is checked against its cap
 * before any body is read. Pure, no I/O.
 */
import { FrameError } from "./errors.ts";
import { FRAME_HEADER_SIZE, FrameType, LIMITS, STREAM_KINDS, type Frame } from "./frame.ts";

const utf8d = new TextDecoder("utf-8", { fatal: false });

/** Cap for each frame type's body, checked from the length field before any body is read. */
function maxBody(type: number): number {
  switch (type) {
    case FrameType.open:
    case FrameType.head:
      return LIMITS.maxHeadBody;
    case FrameType.data:
      return LIMITS.maxData;
    case FrameType.window:
    case FrameType.ping:
    case FrameType.pong:
      return 4;
    case FrameType.end:
      return 0;
    case FrameType.reset:
      return 4 + LIMITS.maxReason;
    default:
      throw new FrameError(`Unknown frame type ${type}`);
  }
}

/** Decodes one complete frame body. `body` may be a view into a larger buffer (data frames keep the view). */
function decodeBody(type: number, stream: number, seq: number, body: Uint8Array): Frame {
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let p = 0;
  const need = (n: number, what: string) => {
    if (p + n > body.length) throw new FrameError(`Truncated ${what}: needs ${n} bytes at offset ${p} of a ${body.length}-byte body`);
  };
  const str = (len: number, what: string, max: number): string => {
    if (len > max) throw new FrameError(`${what} length ${len} is above the limit of ${max}`);
    need(len, what);
    // latin1, one byte per character (native decode; TextDecoder's "latin1" is windows-1252).
    const s = Buffer.from(body.buffer, body.byteOffset + p, len).toString("latin1");
    p += len;
    return s;
  };
  const headers = (): string[] => {
    need(2, "header count");
    const count = dv.getUint16(p);
    p += 2;
    if (count > LIMITS.maxHeaderCount) throw new FrameError(`${count} headers, above the limit of ${LIMITS.maxHeaderCount}`);
    const h: string[] = [];
    for (let i = 0; i < count; i++) {
      need(2, "header name length");
      const nl = dv.getUint16(p);
      p += 2;
      h.push(str(nl, "Header name", LIMITS.maxHeaderName));
      need(2, "header value length");
      const vl = dv.getUint16(p);
      p += 2;
      h.push(str(vl, "Header value", LIMITS.maxHeaderValue));
    }
    return h;
  };
  const done = <F extends Frame>(f: F): F => {
    if (p !== body.length) throw new FrameError(`${body.length - p} trailing bytes in a ${f.type} frame`);
    return f;
  };
  switch (type) {
    case FrameType.open: {
      need(6, "open frame");
      const k = dv.getUint8(0);
      const kind = STREAM_KINDS[k];
      if (!kind) throw new FrameError(`Unknown stream kind ${k}`);
      const window = dv.getUint32(1);
      const ml = dv.getUint8(5);
      p = 6;
      const method = str(ml, "Method", LIMITS.maxMethod);
      need(2, "path length");
      const pl = dv.getUint16(p);
      p += 2;
      const path = str(pl, "Path", LIMITS.maxPath);
      return done({ type: "open", stream, seq, kind, window, method, path, headers: headers() });
    }
    case FrameType.head: {
      need(2, "status");
      const status = dv.getUint16(0);
      p = 2;
      if (status < 100 || status > 999) throw new FrameError(`Status ${status} is not a 3-digit HTTP status`);
      return done({ type: "head", stream, seq, status, headers: headers() });
    }
    case FrameType.data:
      return { type: "data", stream, seq, data: body };
    case FrameType.window:
      need(4, "window credit");
      p = 4;
      return done({ type: "window", stream, seq, credit: dv.getUint32(0) });
    case FrameType.end:
      return done({ type: "end", stream, seq });
    case FrameType.reset: {
      need(4, "reset frame");
      const code = dv.getUint16(0);
      const rl = dv.getUint16(2);
      if (rl > LIMITS.maxReason) throw new FrameError(`Reset reason length ${rl} is above the limit of ${LIMITS.maxReason}`);
      p = 4;
      need(rl, "reset reason");
      const reason = utf8d.decode(body.subarray(4, 4 + rl));
      p += rl;
      return done({ type: "reset", stream, seq, code, reason });
    }
    case FrameType.ping:
    case FrameType.pong:
      need(4, "ping nonce");
      p = 4;
      return done({ type: type === FrameType.ping ? "ping" : "pong", stream, seq, nonce: dv.getUint32(0) });
    default:
      throw new FrameError(`Unknown frame type ${type}`);
  }
}

/**
 * Incremental decoder: feed chunks split anywhere, get whole frames in order.
 * Data bodies that arrive inside one chunk are views into it (no copy).
 * After an error the decoder is poisoned: every later `push` throws the same error.
 */
export class FrameDecoder {
  #head = new Uint8Array(FRAME_HEADER_SIZE);
  #headLen = 0;
  #body: Uint8Array | null = null;
  #bodyLen = 0;
  #type = 0;
  #stream = 0;
  #seq = 0;
  #error: FrameError | null = null;

  /** True when no partial frame is pending. */
  get idle(): boolean {
    return this.#headLen === 0 && this.#body === null;
  }

  push(chunk: Uint8Array): Frame[] {
    if (this.#error) throw this.#error;
    try {
      return this.#push(chunk);
    } catch (e) {
      this.#error = e instanceof FrameError ? e : new FrameError(String(e));
      throw this.#error;
    }
  }

  #push(chunk: Uint8Array): Frame[] {
    const out: Frame[] = [];
    let p = 0;
    while (p < chunk.length) {
      if (this.#body === null) {
        if (this.#headLen === 0 && chunk.length - p >= FRAME_HEADER_SIZE) {
          // Fast path: whole header (and maybe body) in this chunk.
          const dv = new DataView(chunk.buffer, chunk.byteOffset + p, FRAME_HEADER_SIZE);
          const type = dv.getUint8(0), stream = dv.getUint32(1), seq = dv.getUint32(5), len = dv.getUint32(9);
          const max = maxBody(type);
          if (len > max) throw new FrameError(`Frame type ${type} declares a ${len}-byte body, above the limit of ${max}`);
          p += FRAME_HEADER_SIZE;
          if (chunk.length - p >= len) {
            out.push(decodeBody(type, stream, seq, chunk.subarray(p, p + len)));
            p += len;
            continue;
          }
          this.#startBody(type, stream, seq, len);
          continue;
        }
        const n = Math.min(FRAME_HEADER_SIZE - this.#headLen, chunk.length - p);
        this.#head.set(chunk.subarray(p, p + n), this.#headLen);
        this.#headLen += n;
        p += n;
        if (this.#headLen < FRAME_HEADER_SIZE) break;
        const dv = new DataView(this.#head.buffer);
        const type = dv.getUint8(0), len = dv.getUint32(9);
        const max = maxBody(type);
        if (len > max) throw new FrameError(`Frame type ${type} declares a ${len}-byte body, above the limit of ${max}`);
        this.#startBody(type, dv.getUint32(1), dv.getUint32(5), len);
      } else {
        const n = Math.min(this.#body.length - this.#bodyLen, chunk.length - p);
        this.#body.set(chunk.subarray(p, p + n), this.#bodyLen);
        this.#bodyLen += n;
        p += n;
      }
      if (this.#body !== null && this.#bodyLen === this.#body.length) {
        const body = this.#body;
        this.#body = null;
        this.#headLen = 0;
        out.push(decodeBody(this.#type, this.#stream, this.#seq, body));
      }
    }
    return out;
  }

  #startBody(type: number, stream: number, seq: number, len: number): void {
    this.#type = type;
    this.#stream = stream;
    this.#seq = seq;
    this.#body = new Uint8Array(len);
    this.#bodyLen = 0;
    this.#headLen = FRAME_HEADER_SIZE;
  }
}

/** Decodes one whole message. A message that ends inside a frame is rejected. */
export function decodeMessage(msg: Uint8Array): Frame[] {
  const d = new FrameDecoder();
  const frames = d.push(msg);
  if (!d.idle) throw new FrameError(`Truncated frame at the end of a ${msg.length}-byte message`);
  return frames;
}
