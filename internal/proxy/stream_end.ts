/**
 * How a cut stream tells kubectl why, in the stream's own protocol, when it can do so without
 * corrupting it: a watch (JSON, cut between two events) gets a final `ERROR` event carrying a
 * `Status`, as the API server sends one; an exec or attach over WebSocket (`v4`/`v5.channel.k8s.io`,
 * cut between two frames) gets a `Status` on its error channel and a close frame, which kubectl
 * prints as `error: <message>`. Anything else (SPDY, protobuf, a cut mid-frame) is cut as before.
 * Pure: byte builders and a boundary tracker.
 */
import { StreamResetError } from "../tunnel/index.ts";
import { encodeFrameHeader, OPCODE } from "../websocket/index.ts";
import { kubeStatus } from "./status.ts";

/** The Status message for a stream that Ward ended (its agent gone, access revoked, …). */
export function streamEndedMessage(cluster: string, err: Error): string {
  return `Ward ended this stream to cluster ${cluster}: ${err.message}`;
}

/** Whether a stream error is one to explain (a reset, not the client's own going away). */
export function isExplainable(err: Error): err is StreamResetError {
  return err instanceof StreamResetError;
}

/** A watch's final event: `{"type":"ERROR","object":<Status>}` and a newline. */
export function watchErrorEvent(message: string): Uint8Array {
  return Buffer.from(JSON.stringify({ type: "ERROR", object: kubeStatus(503, message) }) + "\n");
}

/** Whether a watch response's Content-Type is JSON (a protobuf watch is framed differently). */
export function isJsonWatch(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/json\b/i.test(contentType.trim());
}

/** Remembers whether the bytes relayed so far end between two JSON watch events. */
export class WatchBoundary {
  #atBoundary = true;
  push(chunk: Uint8Array): void {
    if (chunk.length) this.#atBoundary = chunk[chunk.length - 1] === 0x0a;
  }
  get atBoundary(): boolean {
    return this.#atBoundary;
  }
}

const ERROR_CHANNEL = 3;

/** The WebSocket subprotocols whose error channel carries a Status (kubectl's own). */
export function hasStatusErrorChannel(protocol: string | undefined): boolean {
  return protocol === "v4.channel.k8s.io" || protocol === "v5.channel.k8s.io";
}

/** A server-to-client (unmasked) WebSocket frame. */
function wsFrame(opcode: number, payload: Uint8Array): Buffer {
  return Buffer.concat([encodeFrameHeader(payload.length, opcode), payload]);
}

/** The error-channel message with the Status, then a normal close. */
export function execErrorFrames(message: string): Uint8Array {
  const status = Buffer.from(JSON.stringify(kubeStatus(503, message)));
  return Buffer.concat([wsFrame(OPCODE.binary, Buffer.concat([Buffer.from([ERROR_CHANNEL]), status])), wsFrame(OPCODE.close, Buffer.from([0x03, 0xe8]))]);
}
