/**
 * The byte pipe under a network connection (a WebSocket or a TCP socket). The connection pushes
 * whole batches with `send`; the adapter feeds received bytes to `NetConnection.receive` and
 * reports the end with `NetConnection.transportClosed`.
 */
import type { ClosedReason } from "./errors.ts";

export interface Transport {
  /** Queue bytes for the peer. The buffer is not reused by the caller afterwards. */
  send(chunk: Uint8Array): void;
  /**
   * Optional: queue a batch as one unit, without joining the chunks (WebSocket: one binary
   * message, so a client's parser finds each operation whole); one socket write either way.
   */
  sendv?(chunks: Uint8Array[]): void;
  /** Optional: hold the `send`s until `uncork`, then write them at once (one syscall, one TLS write). */
  cork?(): void;
  uncork?(): void;
  /** Bytes handed to `send` and not yet written to the wire. */
  readonly bufferedAmount: number;
  /** Close after the data already sent (WebSocket: close frame with nats-server's code and reason). */
  close(reason: ClosedReason): void;
  /** Drop at once, discarding whatever is unsent. */
  destroy(): void;
  /** Stop/restart reading (used while an authenticator runs). */
  pause(): void;
  resume(): void;
  /** Optional: the client has authenticated (or auth is off); lift the limits kept until then. */
  authenticated?(): void;
  readonly remoteAddress: string;
}

/**
 * Closes politely (what was sent still goes out, then a WebSocket close frame or a TCP FIN), and
 * drops the socket if the peer has not finished closing within `graceMs`: a peer that never
 * answers a close must not keep a socket (ws would wait 30 s for its close frame, a half-closed
 * TCP socket forever).
 */
export function closeWithGrace(t: Transport, reason: ClosedReason, graceMs: number): void {
  t.close(reason);
  const timer = setTimeout(() => t.destroy(), graceMs);
  (timer as { unref?: () => void }).unref?.();
}

export interface ServerStats {
  connections: number;
  totalConnections: number;
  subscriptions: number;
  inMsgs: number;
  inBytes: number;
  outMsgs: number;
  outBytes: number;
  slowConsumers: number;
}
