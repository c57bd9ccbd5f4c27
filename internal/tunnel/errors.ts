/** Every error the tunnel raises, as named classes. Messages start with a capital and say what to do. */

/** A malformed, truncated or oversized frame. */
export class FrameError extends Error {
  override name = "FrameError";
}

/** Reset codes carried in reset frames (u16 on the wire). */
export const ResetCode = {
  /** Cancelled by the other side's consumer or producer (Ctrl-C, client gone). */
  cancel: 1,
  /** A protocol violation: sequence gap, window overrun, malformed frame. */
  protocol: 2,
  /** The peer stopped answering pings or went offline. */
  peerGone: 3,
  /** No frame moved on the stream for longer than its kind's idle timeout. */
  idle: 4,
  /** A stream limit was reached. */
  limit: 5,
  /** The peer does not know the stream (it was already closed there). */
  unknown: 6,
  /** The handler on the agent side failed. */
  internal: 7,
  /** The tunnel endpoint is shutting down. */
  shutdown: 8,
} as const;
export type ResetCodeName = keyof typeof ResetCode;

export function resetCodeName(code: number): ResetCodeName | "unknown" {
  for (const [k, v] of Object.entries(ResetCode)) if (v === code) return k as ResetCodeName;
  return "unknown";
}

/** The stream was reset, by the peer (`remote`) or locally. */
export class StreamResetError extends Error {
  override name = "StreamResetError";
  readonly code: number;
  readonly remote: boolean;
  constructor(code: number, reason: string, opts: { remote: boolean; cause?: unknown }) {
    super(reason, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.remote = opts.remote;
  }
  get codeName(): string {
    return resetCodeName(this.code);
  }
}

/** No agent of the cluster is connected: answer 503 at once. */
export class ClusterOfflineError extends Error {
  override name = "ClusterOfflineError";
  readonly cluster: string;
  constructor(cluster: string) {
    super(`Cluster ${cluster} is offline: its Ward agent is not connected. Check the agent's deployment and logs; requests work again as soon as it reconnects`);
    this.cluster = cluster;
  }
}

/** Too many open streams for a connection or a member. */
export class StreamLimitError extends Error {
  override name = "StreamLimitError";
  readonly scope: "member" | "connection";
  readonly limit: number;
  constructor(scope: "member" | "connection", limit: number, message: string) {
    super(message);
    this.scope = scope;
    this.limit = limit;
  }
}

/** The tunnel endpoint was closed. */
export class TunnelClosedError extends Error {
  override name = "TunnelClosedError";
}
