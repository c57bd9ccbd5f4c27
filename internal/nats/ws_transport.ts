/**
 * The byte pipe under a WebSocket client: NATS protocol bytes as binary messages, batches written
 * as one frame without copying their chunks, and nats-server's close codes.
 */
import type { WebSocket } from "ws";
import { CLOSED, type ClosedReason } from "./errors.ts";
import type { Transport } from "./transport.ts";
import { frameHeader, senderIdle, socketOf } from "./ws_frame.ts";

/** WebSocket close codes per close reason, as nats-server maps them (1006 cannot be sent: 1001). */
function closeCode(reason: ClosedReason): number {
  switch (reason) {
    case CLOSED.clientClosed:
      return 1000;
    case CLOSED.authTimeout:
    case CLOSED.authViolation:
    case CLOSED.revoked:
    case CLOSED.slowConsumer:
    case CLOSED.maxConnections:
    case CLOSED.maxControlLine:
      return 1008;
    case CLOSED.parseError:
    case CLOSED.protocolViolation:
    case CLOSED.badProtocol:
      return 1002;
    case CLOSED.maxPayload:
      return 1009;
    default:
      return 1001;
  }
}

/** A batch larger than this goes out as several messages. */
const MAX_FRAME = 8 * 1024 * 1024;

/** A NATS connection's byte pipe over one `ws` WebSocket: binary messages both ways. */
export class WsTransport implements Transport {
  readonly #ws: WebSocket;
  readonly #onAuthenticated: () => void;
  readonly remoteAddress: string;

  /** `onAuthenticated` lifts the pre-auth limit on the socket. */
  constructor(ws: WebSocket, remoteAddress: string, onAuthenticated: () => void) {
    this.#ws = ws;
    this.remoteAddress = remoteAddress;
    this.#onAuthenticated = onAuthenticated;
  }

  send(chunk: Uint8Array): void {
    this.#ws.send(chunk);
  }

  /**
   * One binary message made of `chunks`, written as a frame header plus the chunks themselves (a
   * server's frames are not masked), so large payloads are not copied into one buffer. Falls back
   * to one message per chunk (still valid NATS: operations may span messages) when ws has frames of
   * its own queued, so nothing overtakes them.
   */
  sendv(chunks: Uint8Array[]): void {
    const ws = this.#ws;
    const socket = socketOf(ws);
    if (chunks.length === 1 || socket === undefined || ws.readyState !== ws.OPEN || !senderIdle(ws)) {
      for (const c of chunks) ws.send(c);
      return;
    }
    socket.cork();
    let start = 0;
    let size = 0;
    for (let i = 0; i < chunks.length; i++) {
      size += chunks[i]!.length;
      if (size < MAX_FRAME && i < chunks.length - 1) continue;
      socket.write(frameHeader(size));
      for (let k = start; k <= i; k++) socket.write(chunks[k]!);
      start = i + 1;
      size = 0;
    }
    socket.uncork();
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  close(reason: ClosedReason): void {
    // Reading must go on for the peer's close frame to arrive (it may be paused for auth).
    this.#ws.resume();
    this.#ws.close(closeCode(reason), reason);
  }

  destroy(): void {
    this.#ws.terminate();
  }

  pause(): void {
    this.#ws.pause();
  }

  resume(): void {
    this.#ws.resume();
  }

  authenticated(): void {
    this.#onAuthenticated();
  }
}
