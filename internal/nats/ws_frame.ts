/**
 * WebSocket frames written straight to the socket under a `ws` WebSocket, for the two hot paths
 * where ws would copy: the embedded endpoint's batches (server frames, unmasked, several chunks)
 * and the agent's NATS client sends (client frames, masked in place). Both only write while ws's
 * own sender has nothing queued, so no frame overtakes one of ws's.
 */
import { randomFillSync } from "node:crypto";
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import { encodeFrameHeader, OPCODE } from "../websocket/index.ts";
import { unmask } from "./ws_masking.ts";

/** The header of a final, binary WebSocket frame for `n` payload bytes; with `maskKey`, a client frame. */
export function frameHeader(n: number, maskKey?: Uint8Array): Uint8Array {
  return encodeFrameHeader(n, OPCODE.binary, maskKey);
}

/** ws writes frames straight to its socket unless it is busy (a Blob, compression): then it queues them. */
export function senderIdle(ws: WebSocket): boolean {
  const sender = (ws as unknown as { _sender?: { _queue?: unknown[] } })._sender;
  return sender?._queue !== undefined && sender._queue.length === 0;
}

/** The socket under a `ws` WebSocket (`_socket`, set while open), if it can be corked. */
export function socketOf(ws: WebSocket): Duplex | undefined {
  const s = (ws as unknown as { _socket?: Duplex })._socket;
  return s && typeof s.cork === "function" ? s : undefined;
}

/** Below this, a send goes through ws as usual: small commands may be shared constants (PING, PONG). */
export const IN_PLACE_MIN_BYTES = 1024;

/** Mask keys drawn from the CSPRNG in batches, 4 bytes per frame (as ws itself does). */
const keyPool = new Uint8Array(8192);
let keyAt = keyPool.length;
function nextMaskKey(): Uint8Array {
  if (keyAt === keyPool.length) {
    randomFillSync(keyPool);
    keyAt = 0;
  }
  const k = keyPool.slice(keyAt, keyAt + 4);
  keyAt += 4;
  return k;
}

/**
 * Makes a client `ws` WebSocket mask what it sends in place instead of into a copy. For a buffer
 * the caller hands over and never touches again (nats-core sends each flushed batch as a fresh
 * ArrayBuffer): ws would allocate a second buffer of the same size for every frame and copy into
 * it while masking, a full extra copy of every byte the agent sends. Smaller sends, other types,
 * and any moment ws has frames queued go through ws's own `send`.
 */
export function maskInPlace(ws: WebSocket): WebSocket {
  const send = ws.send.bind(ws);
  ws.send = ((data: unknown, ...rest: unknown[]) => {
    const socket = data instanceof ArrayBuffer && data.byteLength >= IN_PLACE_MIN_BYTES ? socketOf(ws) : undefined;
    if (socket === undefined || rest.length > 0 || ws.readyState !== ws.OPEN || !senderIdle(ws)) {
      (send as (...a: unknown[]) => void)(data, ...rest);
      return;
    }
    const payload = new Uint8Array(data as ArrayBuffer);
    const key = nextMaskKey();
    unmask(payload, key); // XOR with the key: masking and unmasking are the same operation
    socket.cork();
    socket.write(frameHeader(payload.length, key));
    socket.write(payload);
    socket.uncork();
  }) as WebSocket["send"];
  return ws;
}
