/**
 * The agent end of the tunnel: accepts streams for its cluster and hands each to a handler,
 * and announces itself (presence) until closed.
 *
 *   const agent = new TunnelAgent(bus, { cluster: "prod" });
 *   await agent.serve(async (s) => {
 *     const up = http.request({ method: s.request.method, path: s.request.path, headers, signal: s.signal });
 *     pipeline(s, up) ; up.on("response", (r) => { s.respond({ status: r.statusCode, headers: r.rawHeaders }); pipeline(r, s) })
 *   });
 */
import type { Bus, BusSubscription } from "../bus/index.ts";
import { assertClusterId } from "../validate/index.ts";
import type { Frame, OpenFrame } from "./frame.ts";
import { decodeMessage } from "./frame_decode.ts";
import { ResetCode, TunnelClosedError } from "./errors.ts";
import { resolveOptions, type ResolvedOptions, type TunnelOptions } from "./options.ts";
import { encodeHeartbeat } from "./presence.ts";
import { Session } from "./session.ts";
import { TunnelStream } from "./stream.ts";
import { AGENT_QUEUE, lastToken, tunnelSubjects } from "./subjects.ts";

export interface AgentOptions extends TunnelOptions {
  cluster: string;
  /** Open streams from one gateway instance ("per connection"). Default 4096. */
  maxStreamsPerGateway?: number;
  /**
   * Presence heartbeat interval. Default 800 ms: gateways notice a silent agent (three missed
   * beats, checked every 250 ms) within 2.7 s; one whose connection closed, at once.
   */
  heartbeatMs?: number;
}

export type StreamHandler = (stream: TunnelStream) => void | Promise<void>;

export class TunnelAgent {
  readonly id: string;
  readonly cluster: string;
  #bus: Bus;
  #o: ResolvedOptions;
  #maxPerGateway: number;
  #heartbeatMs: number;
  #sessions = new Map<string, Session>();
  #subs: BusSubscription[] = [];
  #timers: unknown[] = [];
  #handler: StreamHandler | null = null;
  #closed = false;

  constructor(bus: Bus, opts: AgentOptions) {
    this.#bus = bus;
    this.cluster = assertClusterId(opts.cluster);
    this.#o = resolveOptions(opts);
    this.id = this.#o.instanceId;
    this.#maxPerGateway = opts.maxStreamsPerGateway ?? 4096;
    if (!Number.isInteger(this.#maxPerGateway) || this.#maxPerGateway < 1) throw new Error("Tunnel option maxStreamsPerGateway must be a positive integer");
    this.#heartbeatMs = opts.heartbeatMs ?? 800;
    if (!(this.#heartbeatMs >= 10 && this.#heartbeatMs <= 60_000)) throw new Error("Tunnel option heartbeatMs must be between 10 and 60000");
  }

  /** Starts accepting streams; resolves once subscribed and announced. */
  async serve(handler: StreamHandler): Promise<void> {
    if (this.#closed) throw new TunnelClosedError("The tunnel agent is closed");
    if (this.#handler) throw new Error("serve() was already called on this agent");
    this.#handler = handler;
    const c = this.cluster;
    this.#subs.push(
      this.#bus.subscribe(tunnelSubjects.openAll(c), { queue: AGENT_QUEUE, callback: (err, msg) => !err && this.#onOpen(msg.subject, msg.data) }),
      this.#bus.subscribe(tunnelSubjects.agentSessions(c, this.id), { callback: (err, msg) => !err && this.#onSessionMessage(msg.subject, msg.data) }),
      this.#bus.subscribe(tunnelSubjects.probe(c), { callback: (err) => !err && this.#heartbeat("up") }),
    );
    await this.#bus.flush();
    this.#heartbeat("up");
    this.#timers.push(
      this.#o.clock.setInterval(() => this.#heartbeat("up"), this.#heartbeatMs),
      this.#o.clock.setInterval(() => this.sweep(), this.#o.sweepMs),
    );
    await this.#bus.flush();
  }

  stats(): { streams: number; sessions: number } {
    let streams = 0;
    for (const s of this.#sessions.values()) streams += s.streams.size;
    return { streams, sessions: this.#sessions.size };
  }

  /** Timer work: pings, dead gateways, idle streams. Called by an interval. */
  sweep(): void {
    const now = this.#o.clock.now();
    for (const [gw, s] of this.#sessions) if (!s.sweep(now) && this.#sessions.get(gw) === s) this.#sessions.delete(gw);
  }

  /** Says goodbye (gateways mark it offline at once), resets open streams and unsubscribes. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) this.#o.clock.clearInterval(t);
    for (const s of this.#subs) s.unsubscribe();
    this.#subs = [];
    for (const s of this.#sessions.values()) s.resetAll(ResetCode.shutdown, "The Ward agent is shutting down; retry", false);
    await new Promise((r) => setTimeout(r, 0));
    this.#heartbeat("down");
    try {
      await this.#bus.flush();
    } catch {
      // the connection may already be gone
    }
  }

  #heartbeat(state: "up" | "down"): void {
    if (state === "up" && this.#closed) return;
    try {
      const streams = this.stats().streams;
      this.#bus.publish(tunnelSubjects.presence(this.cluster), encodeHeartbeat({ agent: this.id, state, intervalMs: this.#heartbeatMs, streams }));
    } catch (e) {
      this.#o.logger.debug("heartbeat publish failed", { error: e as Error });
    }
  }

  #session(gateway: string): Session {
    let s = this.#sessions.get(gateway);
    if (!s || s.dead) {
      s = new Session({
        bus: this.#bus,
        subject: tunnelSubjects.toGatewaySession(this.cluster, gateway, this.id),
        cluster: this.cluster,
        peerId: gateway,
        peerLabel: `gateway ${gateway}`,
        options: this.#o,
        onUnknown: (session, f) => session.rejectUnknown(f),
        onStreamClosed: () => {},
      });
      this.#sessions.set(gateway, s);
    }
    return s;
  }

  #onSessionMessage(subject: string, data: Uint8Array): void {
    const gw = lastToken(subject);
    if (!gw || this.#closed) return;
    this.#session(gw).receive(data);
  }

  #onOpen(subject: string, data: Uint8Array): void {
    const gw = lastToken(subject);
    if (!gw || this.#closed) return;
    let frames: Frame[];
    try {
      frames = decodeMessage(data);
    } catch (e) {
      this.#o.logger.warn("malformed stream open", { gateway: gw, error: e as Error });
      return;
    }
    const session = this.#session(gw);
    const now = this.#o.clock.now();
    for (const f of frames) {
      // A request whose end rode in the open message needs no credit from us: its accept can wait for the answer.
      if (f.type === "open") this.#accept(session, f, frames.some((x) => x.type === "end" && x.stream === f.stream));
      else session.streams.get(f.stream)?.handleFrame(f, now); // the first body bytes and end ride along
    }
  }

  #accept(session: Session, f: OpenFrame, complete: boolean): void {
    const refuse = (code: number, reason: string) => session.send({ type: "reset", stream: f.stream, seq: 0, code, reason });
    if (session.streams.has(f.stream)) return refuse(ResetCode.protocol, `Stream ${f.stream} is already open`);
    if (session.streams.size >= this.#maxPerGateway) {
      return refuse(ResetCode.limit, `Agent ${this.id} of cluster ${this.cluster} has ${session.streams.size} open streams from this gateway (limit ${this.#maxPerGateway}): close some watches, logs or exec sessions, or raise maxStreamsPerGateway`);
    }
    const stream = new TunnelStream({
      id: f.stream, side: "agent", request: { method: f.method, path: f.path, headers: f.headers, kind: f.kind },
      host: session, window: this.#o.windowBytes, peerWindow: f.window, sendSeq: 0, recvSeq: 1, now: this.#o.clock.now(),
    });
    session.add(stream);
    stream.accept(complete);
    const handler = this.#handler!;
    try {
      const r = handler(stream);
      if (r && typeof r.then === "function") r.then(undefined, (e: unknown) => this.#handlerFailed(stream, e));
    } catch (e) {
      this.#handlerFailed(stream, e);
    }
  }

  #handlerFailed(stream: TunnelStream, e: unknown): void {
    this.#o.logger.warn("tunnel stream handler failed", { stream: stream.id, error: e as Error });
    stream.resetLocal(ResetCode.internal, `The agent failed to handle the request: ${(e as Error)?.message ?? String(e)}`);
  }
}
