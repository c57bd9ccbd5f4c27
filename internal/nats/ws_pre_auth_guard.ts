/**
 * The WebSocket side of the pre-auth limit. `ws` has one `maxPayload` per server, and it is the
 * post-auth one (megabytes): left alone, it buffers that much of a single frame from a client that
 * has not even sent CONNECT. This guard reads the raw bytes a client sends until it has
 * authenticated and says stop once they pass `maxBytes`, or as soon as a frame header announces a
 * payload that would take them past it (that payload could only arrive before auth, since the
 * client is still unauthenticated while it is sent). Frame headers, masks and control frames count:
 * it is a limit on the wire. Pure: fed chunks of any size, down to one byte.
 */

import { frameHeaderLength, framePayloadLength, MAX_FRAME_HEADER } from "../websocket/index.ts";

export class WsPreAuthGuard {
  readonly #maxBytes: number;
  /** Bytes seen so far. */
  #received = 0;
  /** Payload bytes of the current frame still to come. */
  #skip = 0;
  readonly #header = new Uint8Array(MAX_FRAME_HEADER);
  #headerLen = 0;
  #over = false;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** True once the client went over the limit (every later `push` says so too). */
  get over(): boolean {
    return this.#over;
  }

  /** Feeds bytes read from the socket; false when the client is over the limit. */
  push(chunk: Uint8Array): boolean {
    if (this.#over) return false;
    const before = this.#received;
    this.#received += chunk.length;
    if (this.#received > this.#maxBytes) return this.#stop();
    let i = 0;
    while (i < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - i);
        this.#skip -= n;
        i += n;
        continue;
      }
      this.#header[this.#headerLen++] = chunk[i++]!;
      if (this.#headerLen < frameHeaderLength(this.#header, this.#headerLen)) continue;
      this.#headerLen = 0;
      const payload = framePayloadLength(this.#header);
      if (before + i + payload > this.#maxBytes) return this.#stop();
      this.#skip = payload;
    }
    return true;
  }

  #stop(): false {
    this.#over = true;
    return false;
  }
}
