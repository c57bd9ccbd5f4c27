/** Tunnel settings shared by both ends, validated once at construction, with an injectable clock. */
import { type Logger, silentLogger } from "../log/index.ts";
import { assertSubjectToken } from "../validate/index.ts";
import { STREAM_KINDS, type StreamKind, FRAME_HEADER_SIZE } from "./frame.ts";

export interface Clock {
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setInterval: (fn, ms) => {
    const t = setInterval(fn, ms);
    (t as { unref?: () => void }).unref?.();
    return t;
  },
  clearInterval: (h) => clearInterval(h as ReturnType<typeof setInterval>),
};

export interface TunnelOptions {
  /** Receive window per stream and direction: the most bytes a peer may have in flight. Default 2 MiB. */
  windowBytes?: number;
  /** Upper bound for one NATS message; the bus's max_payload lowers it further. Default 256 KiB. */
  maxMessageBytes?: number;
  /** Send a ping on a session with open streams after this long without hearing from the peer. Default 5 s. */
  pingIntervalMs?: number;
  /** Reset every stream of a peer not heard from for this long. Default 15 s; at least 2 × pingIntervalMs. */
  pingTimeoutMs?: number;
  /**
   * Reset a stream when no frame moved on it (either way) for this long, per stream kind; 0 turns
   * the timeout off for that kind. Any frame counts: body bytes, window credit, a response head.
   */
  idleTimeoutMs?: Partial<Record<StreamKind, number>>;
  /** A stable id for this process (subject token, [A-Za-z0-9_-]{1,64}); random by default. */
  instanceId?: string;
  clock?: Clock;
  logger?: Logger;
}

/**
 * A request may wait this long for its answer's next bytes; a watch (and `logs -f`), an exec/attach
 * session or a port-forward may sit silent for half an hour (the API server itself ends a watch
 * after 30–60 min).
 */
export const DEFAULT_IDLE_TIMEOUT_MS: Record<StreamKind, number> = {
  request: 5 * 60_000,
  watch: 30 * 60_000,
  exec: 30 * 60_000,
  portforward: 30 * 60_000,
};

export interface ResolvedOptions {
  windowBytes: number;
  maxMessageBytes: number;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  /** Infinity where the timeout is off. */
  idleTimeoutMs: Record<StreamKind, number>;
  instanceId: string;
  clock: Clock;
  logger: Logger;
  /** How often timers are checked (ping, idle, presence). */
  sweepMs: number;
}

export function randomInstanceId(): string {
  const b = crypto.getRandomValues(new Uint8Array(12));
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

function positive(name: string, v: number, min = 1): number {
  if (!Number.isFinite(v) || v < min) throw new Error(`Tunnel option ${name} must be a number ≥ ${min}, got ${v}`);
  return v;
}

export function resolveOptions(o: TunnelOptions = {}): ResolvedOptions {
  const pingIntervalMs = positive("pingIntervalMs", o.pingIntervalMs ?? 5000, 5);
  const pingTimeoutMs = positive("pingTimeoutMs", o.pingTimeoutMs ?? Math.max(15_000, 3 * pingIntervalMs), 2 * pingIntervalMs);
  const idle = { ...DEFAULT_IDLE_TIMEOUT_MS };
  for (const [k, v] of Object.entries(o.idleTimeoutMs ?? {})) {
    if (!STREAM_KINDS.includes(k as StreamKind)) throw new Error(`Unknown stream kind ${JSON.stringify(k)} in idleTimeoutMs: use ${STREAM_KINDS.join(", ")}`);
    if (v !== undefined) idle[k as StreamKind] = v === 0 ? Infinity : positive(`idleTimeoutMs.${k}`, v);
  }
  const instanceId = o.instanceId ?? randomInstanceId();
  assertSubjectToken(instanceId, "tunnel instanceId");
  const windowBytes = positive("windowBytes", o.windowBytes ?? 2 * 1024 * 1024, 64 * 1024);
  if (windowBytes > 0x7fffffff) throw new Error("Tunnel option windowBytes must be below 2 GiB");
  return {
    windowBytes,
    maxMessageBytes: positive("maxMessageBytes", o.maxMessageBytes ?? 256 * 1024, FRAME_HEADER_SIZE + 256),
    pingIntervalMs,
    pingTimeoutMs,
    idleTimeoutMs: idle,
    instanceId,
    clock: o.clock ?? realClock,
    logger: o.logger ?? silentLogger,
    sweepMs: Math.max(5, Math.min(1000, Math.floor(pingIntervalMs / 4))),
  };
}
