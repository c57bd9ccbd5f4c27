/**
 * Tells real traffic from keepalives in a WebSocket byte stream, for the idle timeout of exec,
 * attach and port-forward sessions: kubectl (client-go ≥ 1.30, WebSocket streaming) pings every few
 * seconds, so counting every byte would keep an abandoned shell open for ever. Data frames (text,
 * binary, continuation) and close frames are activity; ping and pong are not.
 *
 * A pure scanner over frame headers (RFC 6455 §5.2): it never copies or buffers payload (it only
 * counts how much to skip), keeps at most one header (≤ 14 bytes), and never throws — bytes that do
 * not parse as frames still count as activity, so a surprise never ends a session early.
 */

import { frameHeaderLength, framePayloadLength, MAX_FRAME_HEADER } from "../websocket/index.ts";

const PING = 0x9;
const PONG = 0xa;

export class WebSocketActivity {
  #header = new Uint8Array(MAX_FRAME_HEADER);
  #headerLen = 0;
  /** Payload bytes of the current frame still to skip. */
  #skip = 0;
  /** Whether the current frame is a data (or close) frame. */
  #data = false;
  /** Inside a fragmented message (a data frame without FIN, until its final continuation). */
  #fragmented = false;

  /** Whether the bytes so far end between two whole messages (another frame may be inserted). */
  get atMessageBoundary(): boolean {
    return this.#headerLen === 0 && this.#skip === 0 && !this.#fragmented;
  }

  /** Feeds the next chunk; returns whether it carried activity (any byte of a non-keepalive frame). */
  push(chunk: Uint8Array): boolean {
    let active = false;
    let i = 0;
    while (i < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - i);
        this.#skip -= n;
        i += n;
        if (this.#data) active = true;
        continue;
      }
      this.#header[this.#headerLen++] = chunk[i++]!;
      if (this.#headerLen === 1) {
        // The opcode is in the first byte: every byte of a data frame counts, its header too.
        const opcode = this.#header[0]! & 0x0f;
        this.#data = opcode !== PING && opcode !== PONG;
      }
      if (this.#data) active = true;
      if (this.#headerLen < frameHeaderLength(this.#header, this.#headerLen)) continue;
      this.#skip = framePayloadLength(this.#header);
      const opcode = this.#header[0]! & 0x0f;
      if (opcode <= 0x2) this.#fragmented = (this.#header[0]! & 0x80) === 0; // data frames: FIN ends the message
      this.#headerLen = 0;
    }
    return active;
  }
}
