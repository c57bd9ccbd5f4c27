/**
 * The NATS client-protocol parser (what a server reads): a pure state machine fed chunks of any
 * size, down to one byte, pushing one event per operation into a sink.
 *
 * - Control lines are capped at `maxControlLine` (CONNECT at `maxConnectLine`), payloads at
 *   `maxPayload`; nothing larger is ever allocated.
 * - A payload that lies whole inside a chunk is passed on as a subarray of it (zero copy); one
 *   split across chunks is gathered into a fresh buffer of exactly its size. Buffers handed to
 *   the sink are never reused.
 * - The first violation is reported once through `sink.error` and the parser then ignores all
 *   further input. `push` itself never throws (only a throwing sink can make it throw).
 * - A sink may call `hold()` from an event: `push` then returns right after that operation with
 *   the number of bytes it consumed, so the caller keeps the rest as raw bytes (the server holds
 *   what follows a CONNECT until the authenticator answers).
 */
import { latin1, decodeUtf8 } from "./bytes.ts";
import { CLOSED, ERR, NatsProtocolError } from "./errors.ts";

export interface ClientOpSink {
  connect(json: string): void;
  /** `hdrLen` is -1 for PUB; for HPUB `data` holds headers then payload. */
  pub(subject: string, reply: string | undefined, hdrLen: number, data: Uint8Array): void;
  sub(subject: string, queue: string | undefined, sid: string): void;
  unsub(sid: string, max: number | undefined): void;
  ping(): void;
  pong(): void;
  error(err: NatsProtocolError): void;
}

export interface ParserOptions {
  /** Longest control line (without CRLF); default 4096, as nats-server. */
  maxControlLine?: number;
  /** Longest CONNECT line (it may carry a JWT); default 65536. */
  maxConnectLine?: number;
  /** Largest payload (headers included); default 1 MiB. */
  maxPayload?: number;
  /** Allocator for the parser's own buffers (tests use it to check the caps). */
  alloc?: (size: number) => Uint8Array;
}

const S_LINE = 0;
const S_PAYLOAD = 1;
const S_DEAD = 2;

const CR = 0x0d;
const LF = 0x0a;
const EMPTY = new Uint8Array(0);
const MAX_ARGS = 5;

function defaultAlloc(size: number): Uint8Array {
  return new Uint8Array(size);
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Parses an unsigned decimal; -1 when it is not one (or absurdly long). */
function parseSize(b: Uint8Array, start: number, end: number): number {
  const n = end - start;
  if (n === 0 || n > 12) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

export class ClientParser {
  readonly #sink: ClientOpSink;
  readonly #maxControlLine: number;
  readonly #maxConnectLine: number;
  #maxPayload: number;
  readonly #alloc: (size: number) => Uint8Array;

  #state = S_LINE;
  #held = false;
  #line: Uint8Array = EMPTY;
  #lineLen = 0;
  // Pending PUB/HPUB.
  #subject = "";
  #reply: string | undefined = undefined;
  #hdrLen = -1;
  #size = 0;
  #payload: Uint8Array | null = null;
  #filled = 0;
  #crlf = 0;
  // Argument offsets of the current line: [start0, end0, start1, end1, ...].
  readonly #args = new Int32Array(MAX_ARGS * 2);

  constructor(sink: ClientOpSink, opts: ParserOptions = {}) {
    this.#sink = sink;
    this.#maxControlLine = opts.maxControlLine ?? 4096;
    this.#maxConnectLine = Math.max(opts.maxConnectLine ?? 65536, this.#maxControlLine);
    this.#maxPayload = opts.maxPayload ?? 1024 * 1024;
    this.#alloc = opts.alloc ?? defaultAlloc;
  }

  /** True once a violation was reported or `stop()` was called. */
  get stopped(): boolean {
    return this.#state === S_DEAD;
  }

  /** Ignore all further input (the connection is going away). */
  stop(): void {
    this.#state = S_DEAD;
    this.#held = false;
    this.#line = EMPTY;
    this.#payload = null;
  }

  /**
   * Called from a sink event: the `push` under way returns right after the current operation.
   * The next `push` goes on where it stopped (the caller passes the bytes it did not consume).
   */
  hold(): void {
    if (this.#state !== S_DEAD) this.#held = true;
  }

  /**
   * Caps payloads announced from now on (the server lowers the cap until its client has
   * authenticated, so an unauthenticated PUB cannot make it allocate a full max_payload).
   */
  limitPayload(maxPayload: number): void {
    this.#maxPayload = maxPayload;
  }

  /** Parses `chunk`; returns how many of its bytes were consumed (all of them unless `hold()` was called). */
  push(chunk: Uint8Array): number {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      const state = this.#state;
      if (state === S_LINE) {
        const nl = chunk.indexOf(LF, i);
        if (nl < 0) {
          this.#appendLine(chunk, i, n);
          return n;
        }
        if (this.#lineLen === 0) {
          if (!this.#checkLineLength(chunk, i, nl - i)) return n;
          this.#processLine(chunk, i, nl);
        } else {
          if (!this.#appendLine(chunk, i, nl)) return n;
          const len = this.#lineLen;
          this.#lineLen = 0;
          this.#processLine(this.#line, 0, len);
        }
        i = nl + 1;
      } else if (state === S_PAYLOAD) {
        i = this.#payloadBytes(chunk, i, n);
      } else {
        return n;
      }
      if (this.#held) {
        this.#held = false;
        return this.#state === S_DEAD ? n : i;
      }
    }
    return n;
  }

  #fail(message: string, wireText: string = ERR.unknownOp, reason: (typeof CLOSED)[keyof typeof CLOSED] = CLOSED.parseError): void {
    this.stop();
    this.#sink.error(new NatsProtocolError(message, wireText, reason));
  }

  /** Is `len` bytes of control line starting at b[start] within the cap? Reports if not. */
  #checkLineLength(b: Uint8Array, start: number, len: number): boolean {
    // A trailing CR is not part of the line.
    if (len <= this.#maxControlLine + 1) return true;
    if (len <= this.#maxConnectLine + 1 && this.#isConnect(b, start, len)) return true;
    this.#fail(`Control line of ${len} bytes exceeds max_control_line ${this.#maxControlLine}`, ERR.maxControlLine, CLOSED.maxControlLine);
    return false;
  }

  #isConnect(b: Uint8Array, start: number, len: number): boolean {
    if (len < 8) return false;
    const word = "connect";
    for (let k = 0; k < 7; k++) if ((b[start + k]! | 0x20) !== word.charCodeAt(k)) return false;
    return isWs(b[start + 7]!);
  }

  /** Buffers part of a control line split across chunks. */
  #appendLine(b: Uint8Array, start: number, end: number): boolean {
    const add = end - start;
    const total = this.#lineLen + add;
    // Check against the cap, looking at the line's first bytes to see whether it is CONNECT.
    if (total > this.#maxControlLine + 1) {
      const head = this.#lineLen >= 8 ? this.#line : this.#headOf(b, start, end);
      const headStart = 0;
      const isConnect = this.#isConnect(head, headStart, Math.min(head.length, total));
      if (!isConnect || total > this.#maxConnectLine + 1) {
        this.#fail(`Control line exceeds max_control_line ${this.#maxControlLine}`, ERR.maxControlLine, CLOSED.maxControlLine);
        return false;
      }
    }
    if (total > this.#line.length) {
      const cap = this.#maxControlLine + 1 >= total ? this.#maxControlLine + 1 : this.#maxConnectLine + 1;
      let size = Math.max(256, this.#line.length * 2);
      while (size < total) size *= 2;
      const next = this.#alloc(Math.min(size, cap));
      next.set(this.#line.subarray(0, this.#lineLen));
      this.#line = next;
    }
    this.#line.set(b.subarray(start, end), this.#lineLen);
    this.#lineLen = total;
    return true;
  }

  /** The first (up to) 8 bytes of the line being assembled, for the CONNECT check. */
  #headOf(b: Uint8Array, start: number, end: number): Uint8Array {
    const head = new Uint8Array(8);
    let k = 0;
    for (; k < this.#lineLen && k < 8; k++) head[k] = this.#line[k]!;
    for (let j = start; k < 8 && j < end; j++, k++) head[k] = b[j]!;
    return head.subarray(0, k);
  }

  #processLine(b: Uint8Array, start: number, end: number): void {
    if (end > start && b[end - 1] === CR) end--;
    // Op name.
    let p = start;
    while (p < end && !isWs(b[p]!)) p++;
    const opLen = p - start;
    if (opLen === 0) {
      if (end === start) return; // a bare CRLF: ignored
      return this.#fail("Control line starts with whitespace");
    }
    const c0 = b[start]! | 0x20;
    if (c0 === 0x70 /* p */) {
      if (opLen === 3 && (b[start + 1]! | 0x20) === 0x75 && (b[start + 2]! | 0x20) === 0x62) return this.#pubArgs(b, p, end, false);
      if (opLen === 4 && (b[start + 1]! | 0x20) === 0x69 && (b[start + 2]! | 0x20) === 0x6e && (b[start + 3]! | 0x20) === 0x67) {
        if (!this.#onlySpace(b, p, end)) return this.#fail("PING takes no arguments");
        return this.#sink.ping();
      }
      if (opLen === 4 && (b[start + 1]! | 0x20) === 0x6f && (b[start + 2]! | 0x20) === 0x6e && (b[start + 3]! | 0x20) === 0x67) {
        if (!this.#onlySpace(b, p, end)) return this.#fail("PONG takes no arguments");
        return this.#sink.pong();
      }
    } else if (c0 === 0x73 /* s */) {
      if (opLen === 3 && (b[start + 1]! | 0x20) === 0x75 && (b[start + 2]! | 0x20) === 0x62) return this.#subArgs(b, p, end);
    } else if (c0 === 0x68 /* h */) {
      if (opLen === 4 && this.#opIs(b, start, "hpub")) return this.#pubArgs(b, p, end, true);
    } else if (c0 === 0x75 /* u */) {
      if (opLen === 5 && this.#opIs(b, start, "unsub")) return this.#unsubArgs(b, p, end);
    } else if (c0 === 0x63 /* c */) {
      if (opLen === 7 && this.#opIs(b, start, "connect")) {
        while (p < end && isWs(b[p]!)) p++;
        return this.#sink.connect(decodeUtf8(b.subarray(p, end)));
      }
    }
    this.#fail("Unknown protocol operation");
  }

  #opIs(b: Uint8Array, start: number, word: string): boolean {
    for (let k = 0; k < word.length; k++) if ((b[start + k]! | 0x20) !== word.charCodeAt(k)) return false;
    return true;
  }

  #onlySpace(b: Uint8Array, p: number, end: number): boolean {
    for (; p < end; p++) if (!isWs(b[p]!)) return false;
    return true;
  }

  /** Splits arguments into #args; returns their count, or -1 when there are too many. */
  #splitArgs(b: Uint8Array, p: number, end: number): number {
    const a = this.#args;
    let n = 0;
    while (p < end) {
      while (p < end && isWs(b[p]!)) p++;
      if (p === end) break;
      if (n === MAX_ARGS) return -1;
      a[n * 2] = p;
      while (p < end && !isWs(b[p]!)) p++;
      a[n * 2 + 1] = p;
      n++;
    }
    return n;
  }

  #arg(b: Uint8Array, k: number): string {
    return latin1(b, this.#args[k * 2]!, this.#args[k * 2 + 1]!);
  }

  #num(b: Uint8Array, k: number): number {
    return parseSize(b, this.#args[k * 2]!, this.#args[k * 2 + 1]!);
  }

  #pubArgs(b: Uint8Array, p: number, end: number, headers: boolean): void {
    const n = this.#splitArgs(b, p, end);
    const op = headers ? "HPUB" : "PUB";
    let hdr = -1;
    let size: number;
    if (!headers && (n === 2 || n === 3)) {
      size = this.#num(b, n - 1);
    } else if (headers && (n === 3 || n === 4)) {
      hdr = this.#num(b, n - 2);
      size = this.#num(b, n - 1);
      if (hdr < 0 || (size >= 0 && hdr > size)) return this.#fail(`${op} has a bad header size`);
    } else {
      return this.#fail(`${op} needs ${headers ? "3 or 4" : "2 or 3"} arguments`);
    }
    if (size < 0) return this.#fail(`${op} has a bad or missing size`);
    if (size > this.#maxPayload) {
      return this.#fail(`Payload of ${size} bytes exceeds max_payload ${this.#maxPayload}`, ERR.maxPayload, CLOSED.maxPayload);
    }
    this.#subject = this.#arg(b, 0);
    const hasReply = headers ? n === 4 : n === 3;
    this.#reply = hasReply ? this.#arg(b, 1) : undefined;
    this.#hdrLen = hdr;
    this.#size = size;
    this.#payload = null;
    this.#filled = 0;
    this.#crlf = 0;
    this.#state = S_PAYLOAD;
  }

  #subArgs(b: Uint8Array, p: number, end: number): void {
    const n = this.#splitArgs(b, p, end);
    if (n === 2) return this.#sink.sub(this.#arg(b, 0), undefined, this.#arg(b, 1));
    if (n === 3) return this.#sink.sub(this.#arg(b, 0), this.#arg(b, 1), this.#arg(b, 2));
    this.#fail("SUB needs 2 or 3 arguments");
  }

  #unsubArgs(b: Uint8Array, p: number, end: number): void {
    const n = this.#splitArgs(b, p, end);
    if (n === 1) return this.#sink.unsub(this.#arg(b, 0), undefined);
    if (n === 2) {
      const max = this.#num(b, 1);
      if (max < 0) return this.#fail("UNSUB has a bad max");
      return this.#sink.unsub(this.#arg(b, 0), max);
    }
    this.#fail("UNSUB needs 1 or 2 arguments");
  }

  /** Consumes payload (+ CRLF) bytes from b[i..n); returns the new position. */
  #payloadBytes(b: Uint8Array, i: number, n: number): number {
    const size = this.#size;
    if (this.#payload === null && this.#crlf === 0 && this.#filled === 0) {
      if (n - i >= size + 2) {
        // Fast path: payload and CRLF are all here.
        if (b[i + size] !== CR || b[i + size + 1] !== LF) {
          this.#fail("Payload is not followed by CRLF");
          return n;
        }
        this.#state = S_LINE;
        this.#sink.pub(this.#subject, this.#reply, this.#hdrLen, b.subarray(i, i + size));
        return i + size + 2;
      }
      if (size > 0) this.#payload = this.#alloc(size);
    }
    if (this.#filled < size) {
      const take = Math.min(size - this.#filled, n - i);
      this.#payload!.set(b.subarray(i, i + take), this.#filled);
      this.#filled += take;
      i += take;
      if (this.#filled < size) return i;
    }
    while (i < n && this.#crlf < 2) {
      const want = this.#crlf === 0 ? CR : LF;
      if (b[i] !== want) {
        this.#fail("Payload is not followed by CRLF");
        return n;
      }
      this.#crlf++;
      i++;
    }
    if (this.#crlf === 2) {
      const data = this.#payload ?? EMPTY;
      this.#payload = null;
      this.#filled = 0;
      this.#crlf = 0;
      this.#state = S_LINE;
      this.#sink.pub(this.#subject, this.#reply, this.#hdrLen, data);
    }
    return i;
  }
}
