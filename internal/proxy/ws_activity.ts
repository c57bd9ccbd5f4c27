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

const PING = 0x9;
const PONG = 0xa;
/** The longest header: 2 bytes, a 64-bit length, a mask key. */
const MAX_HEADER = 14;

export class WebSocketActivity {
  #header = new Uint8Array(MAX_HEADER);
  #headerLen = 0;
  /** Payload bytes of the current frame still to skip. */
  #skip = 0;
  /** Whether the current frame is a data (or close) frame. */
  #data = false;

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
      const need = headerSize(this.#header, this.#headerLen);
      if (need === undefined || this.#headerLen < need) continue;
      this.#skip = payloadLength(this.#header);
      this.#headerLen = 0;
    }
    return active;
  }
}

/** The header's full size once its first two bytes are known; undefined before. */
function headerSize(h: Uint8Array, have: number): number | undefined {
  if (have < 2) return undefined;
  const len7 = h[1]! & 0x7f;
  const masked = (h[1]! & 0x80) !== 0;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
}

function payloadLength(h: Uint8Array): number {
  const len7 = h[1]! & 0x7f;
  if (len7 < 126) return len7;
  if (len7 === 126) return (h[2]! << 8) | h[3]!;
  let n = 0;
  for (let i = 2; i < 10; i++) n = n * 256 + h[i]!; // beyond 2^53 only loses precision in what is skipped
  return n;
}
