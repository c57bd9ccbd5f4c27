/**
 * A session: every stream between one gateway instance and one agent instance of a cluster.
 *
 * It batches outgoing frames into messages (never above max_payload) on one subject, dispatches
 * incoming frames to streams with one switch, pings the peer while streams are open, resets all of
 * them when the peer stays silent past the ping timeout, and enforces per-kind idle timeouts.
 */
import type { Bus } from "../bus/index.ts";
import { FRAME_HEADER_SIZE, packFrames, type Frame } from "./frame.ts";
import { decodeMessage } from "./frame_decode.ts";
import { ResetCode } from "./errors.ts";
import type { ResolvedOptions } from "./options.ts";
import type { StreamHost, TunnelStream } from "./stream.ts";

export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
const TRANSFER = { transfer: true } as const;
/**
 * How long an agent holds a frame hoping to send it with the stream's next one: the accept of a
 * complete request (for the response head), a plain response's head (for its first body bytes).
 */
const DEFER_MS = 20;

export interface SessionInit {
  bus: Bus;
  /** Where this session publishes (the peer's session subject). */
  subject: string;
  cluster: string;
  peerId: string;
  /** "agent a1b2" / "gateway g7": used in reset reasons. */
  peerLabel: string;
  options: ResolvedOptions;
  /** A frame for a stream id this session does not carry. */
  onUnknown(session: Session, frame: Frame): void;
  /** A stream of this session is gone. */
  onStreamClosed(session: Session, stream: TunnelStream, err: Error | null): void;
}

export class Session implements StreamHost {
  readonly cluster: string;
  readonly peerId: string;
  readonly streams = new Map<number, TunnelStream>();
  lastHeard: number;
  #lastPing = 0;
  #pingNonce = 0;
  #out: Frame[] = [];
  #scheduled = false;
  #init: SessionInit;
  #o: ResolvedOptions;
  #dead = false;
  #deferred = new Set<TunnelStream>();
  #deferTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(init: SessionInit) {
    this.#init = init;
    this.#o = init.options;
    this.cluster = init.cluster;
    this.peerId = init.peerId;
    this.lastHeard = init.options.clock.now();
  }

  get maxMessage(): number {
    return Math.min(this.#o.maxMessageBytes, this.#init.bus.info?.max_payload ?? DEFAULT_MAX_PAYLOAD);
  }

  get maxData(): number {
    return this.maxMessage - FRAME_HEADER_SIZE;
  }

  get dead(): boolean {
    return this.#dead;
  }

  /** Adds a stream. A session that had none starts its liveness clock afresh. */
  add(stream: TunnelStream): void {
    if (this.streams.size === 0) this.lastHeard = this.#o.clock.now();
    this.streams.set(stream.id, stream);
  }

  send(frame: Frame): void {
    if (this.#dead) return;
    if (frame.stream !== 0) {
      const s = this.streams.get(frame.stream);
      if (s && !s.activityByCaller) s.lastActivity = this.#o.clock.now();
    }
    this.#out.push(frame);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  #flush = (): void => {
    this.#scheduled = false;
    const frames = this.#out;
    this.#out = [];
    if (this.#dead || frames.length === 0) return;
    try {
      // Each message is a fresh buffer nobody touches again: an in-process bus may send it uncopied.
      for (const msg of packFrames(frames, this.maxMessage)) this.#init.bus.publish(this.#init.subject, msg, TRANSFER);
    } catch (e) {
      this.#o.logger.warn("tunnel publish failed", { cluster: this.cluster, peer: this.peerId, error: e as Error });
      this.resetAll(ResetCode.peerGone, `The connection to ${this.#init.peerLabel} failed: ${(e as Error).message}`, true);
    }
  };

  defer(stream: TunnelStream): void {
    this.#deferred.add(stream);
    if (this.#deferTimer === null) {
      this.#deferTimer = setTimeout(this.#flushDeferred, DEFER_MS);
      this.#deferTimer.unref();
    }
  }

  /** One timer per session, not per stream: everything still held when it fires goes out. */
  #flushDeferred = (): void => {
    this.#deferTimer = null;
    const streams = [...this.#deferred];
    this.#deferred.clear();
    for (const s of streams) s.flushDeferred();
  };

  closed(stream: TunnelStream, err: Error | null): void {
    this.#deferred.delete(stream);
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
    this.#init.onStreamClosed(this, stream, err);
  }

  /** Handles one message from the peer. */
  receive(data: Uint8Array): void {
    const now = this.#o.clock.now();
    this.lastHeard = now;
    let frames: Frame[];
    try {
      frames = decodeMessage(data);
    } catch (e) {
      this.#o.logger.warn("malformed tunnel message", { cluster: this.cluster, peer: this.peerId, error: e as Error });
      this.resetAll(ResetCode.protocol, `Malformed message from ${this.#init.peerLabel}: ${(e as Error).message}`, false);
      return;
    }
    for (const f of frames) this.#dispatch(f, now);
  }

  #dispatch(f: Frame, now: number): void {
    switch (f.type) {
      case "ping":
        this.send({ type: "pong", stream: 0, seq: 0, nonce: f.nonce });
        return;
      case "pong":
        return;
      case "open":
        this.#init.onUnknown(this, f);
        return;
      default: {
        const s = this.streams.get(f.stream);
        if (s) s.handleFrame(f, now);
        else this.#init.onUnknown(this, f);
      }
    }
  }

  /** Answers a frame for a stream we do not have, so a stale peer stream gets cleaned up. */
  rejectUnknown(f: Frame): void {
    if (f.type === "data" || f.type === "head" || f.type === "end") {
      this.send({ type: "reset", stream: f.stream, seq: 0, code: ResetCode.unknown, reason: `Stream ${f.stream} is not open on the other end` });
    }
  }

  /** Ping, dead-peer and idle checks. Returns false once the session can be dropped. */
  sweep(now: number): boolean {
    if (this.#dead) return false;
    const o = this.#o;
    for (const s of this.streams.values()) {
      if (s.activityByCaller && s.takeTouched()) s.lastActivity = now;
      const limit = o.idleTimeoutMs[s.kind];
      if (now - s.lastActivity > limit) {
        s.resetLocal(ResetCode.idle, `Stream ${s.id} (${s.kind}) was idle for more than ${fmtSecs(limit)}; raise the ${s.kind} idle timeout if this is expected`);
      }
    }
    const silence = now - this.lastHeard;
    if (this.streams.size === 0) return silence < o.pingTimeoutMs;
    if (silence >= o.pingTimeoutMs - o.sweepMs) {
      this.resetAll(ResetCode.peerGone, `No answer from ${this.#init.peerLabel} for ${fmtSecs(silence)} (ping timeout ${fmtSecs(o.pingTimeoutMs)}): it is gone`, true);
      return false;
    }
    if (silence >= o.pingIntervalMs && now - this.#lastPing >= o.pingIntervalMs) {
      this.#lastPing = now;
      this.#pingNonce = (this.#pingNonce + 1) >>> 0;
      this.send({ type: "ping", stream: 0, seq: 0, nonce: this.#pingNonce });
    }
    return true;
  }

  /** Resets every stream. `peerGone`: do not try to tell the peer. */
  resetAll(code: number, reason: string, peerGone: boolean): void {
    for (const s of [...this.streams.values()]) {
      if (peerGone) s.peerGone(code, reason);
      else s.resetLocal(code, reason);
    }
    if (peerGone) this.#dead = true;
  }
}

export function fmtSecs(ms: number): string {
  return `${+(ms / 1000).toFixed(ms < 10_000 ? 2 : 0)}s`;
}
