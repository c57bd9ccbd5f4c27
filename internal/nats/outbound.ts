/**
 * A connection's pending output: operations are written straight into a buffer and handed to
 * the transport once per tick as a few large chunks. A sent region is never written again (the
 * socket may still hold it); later writes continue in the same buffer's free tail, so small
 * messages do not allocate.
 */
import { Buffer } from "node:buffer";

const FIRST_SIZE = 1024;
const MAX_SIZE = 256 * 1024;
const MIN_TAIL = 256;

export class Outbound {
  #buf: Uint8Array | null = null;
  #start = 0;
  #end = 0;
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #nextSize = FIRST_SIZE;

  /** Bytes written and not yet handed to the transport. */
  get queued(): number {
    return this.#queued;
  }

  /** Write position in the buffer `room` returned. */
  get end(): number {
    return this.#end;
  }

  /** Makes sure `n` bytes fit at `end`; returns the buffer to write into. */
  room(n: number): Uint8Array {
    const b = this.#buf;
    if (b !== null && b.length - this.#end >= n) return b;
    if (b !== null && this.#end > this.#start) this.#chunks.push(b.subarray(this.#start, this.#end));
    const size = Math.max(n, this.#nextSize);
    if (this.#nextSize < MAX_SIZE) this.#nextSize *= 4;
    // Not zero-filled: every byte handed out is written first.
    const next: Uint8Array = Buffer.allocUnsafeSlow(size);
    this.#buf = next;
    this.#start = 0;
    this.#end = 0;
    return next;
  }

  /** Records that bytes up to `end` were written. */
  commit(end: number): void {
    this.#queued += end - this.#end;
    this.#end = end;
  }

  /**
   * Queues `bytes` by reference, after everything written so far (the caller never changes them
   * again); later writes continue in the buffer's free tail.
   */
  append(bytes: Uint8Array): void {
    const b = this.#buf;
    if (b !== null && this.#end > this.#start) {
      this.#chunks.push(b.subarray(this.#start, this.#end));
      this.#start = this.#end;
    }
    this.#chunks.push(bytes);
    this.#queued += bytes.length;
  }

  write(bytes: Uint8Array): void {
    const b = this.room(bytes.length);
    b.set(bytes, this.#end);
    this.commit(this.#end + bytes.length);
  }

  /** Hands everything queued to `send`, oldest first. */
  drain(send: (chunk: Uint8Array) => void): void {
    const chunks = this.#chunks;
    for (let i = 0; i < chunks.length; i++) send(chunks[i]!);
    chunks.length = 0;
    const b = this.#buf;
    if (b !== null && this.#end > this.#start) {
      send(b.subarray(this.#start, this.#end));
      this.#start = this.#end;
    }
    if (b !== null && b.length - this.#end < MIN_TAIL) {
      this.#buf = null;
      this.#start = 0;
      this.#end = 0;
    }
    this.#queued = 0;
  }

  /** Forgets everything queued (the connection is being dropped). */
  discard(): void {
    this.#buf = null;
    this.#chunks.length = 0;
    this.#start = 0;
    this.#end = 0;
    this.#queued = 0;
  }
}
