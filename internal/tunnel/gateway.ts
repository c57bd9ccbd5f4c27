/**
 * The gateway end of the tunnel: opens streams to a cluster's agents and tracks their presence.
 *
 *   const gw = await TunnelGateway.start(bus, { logger });
 *   if (!gw.isOnline(cluster)) -> 503 at once (or `await gw.whenOnline(cluster, 200)` right after start)
 *   const s = gw.openStream(cluster, { method, path, headers: req.rawHeaders, member, kind });
 *   pipeline(req, s) ; const head = await s.head ; res.writeHead(head.status, head.headers) ; pipeline(s, res)
 */
import { EventEmitter } from "node:events";
import type { Bus, BusSubscription } from "../bus/index.ts";
import { assertClusterId } from "../validate/index.ts";
import { FRAME_HEADER_SIZE, frameSize, OPEN_CREDIT, packFrames, type Frame, type RawHeaders, type StreamKind, STREAM_KINDS } from "./frame.ts";
import { ClusterOfflineError, ResetCode, StreamLimitError, TunnelClosedError } from "./errors.ts";
import { resolveOptions, type ResolvedOptions, type TunnelOptions } from "./options.ts";
import { decodeHeartbeat, PresenceTracker } from "./presence.ts";
import { DEFAULT_MAX_PAYLOAD, fmtSecs, Session } from "./session.ts";
import { TunnelStream, type StreamHost } from "./stream.ts";
import { parseGatewaySessionSubject, parsePresenceSubject, tunnelSubjects } from "./subjects.ts";

/** How long after start presence may still be incomplete: three of the agents' default heartbeats. */
const PRESENCE_SETTLE_MS = 3000;
const PRESENCE_SWEEP_MS = 250;

export interface GatewayOptions extends TunnelOptions {
  /** Open streams from this gateway to one cluster ("per connection"). Default 4096. */
  maxStreamsPerCluster?: number;
  /** Open streams of one member across clusters. Default 256. */
  maxStreamsPerMember?: number;
  /** Reset a stream no agent accepted within this long. Default: pingTimeoutMs. */
  openTimeoutMs?: number;
}

export interface OpenStreamOptions {
  method: string;
  /** Path and query as sent to the API server. */
  path: string;
  /** Flat name/value list (Node's rawHeaders shape). */
  headers?: RawHeaders;
  /** Member id, for the per-member stream limit. */
  member?: string;
  /** Picks the idle timeout. Default "request". */
  kind?: StreamKind;
  /**
   * `false`: the request has no body. The stream's writable side is ended at once and the open
   * (with its end) is published before `openStream` returns, a turn of the event loop sooner.
   * Default true: the open waits for the rest of this turn, so a small body written now rides along.
   */
  body?: boolean;
}

interface Entry {
  stream: TunnelStream;
  cluster: string;
  member: string | undefined;
  pending: PendingHost | null;
  openedAt: number;
  /** The open message went out (so an agent may answer). */
  openSent: boolean;
}

/**
 * Holds a stream's frames until an agent accepts it. The first OPEN_CREDIT bytes of body (and an
 * end) ride in the open message itself, so a small request costs no extra round trip.
 */
class PendingHost implements StreamHost {
  readonly maxData: number;
  readonly frames: Frame[] = [];
  #onClosed: (s: TunnelStream, err: Error | null) => void;
  constructor(maxData: number, onClosed: (s: TunnelStream, err: Error | null) => void) {
    this.maxData = maxData;
    this.#onClosed = onClosed;
  }
  send(frame: Frame): void {
    this.frames.push(frame);
  }
  closed(stream: TunnelStream, err: Error | null): void {
    this.#onClosed(stream, err);
  }
}

export interface GatewayEvents {
  online: [cluster: string];
  offline: [cluster: string];
}

export class TunnelGateway extends EventEmitter<GatewayEvents> {
  readonly id: string;
  #bus: Bus;
  #o: ResolvedOptions;
  #maxPerCluster: number;
  #maxPerMember: number;
  #openTimeoutMs: number;
  #streams = new Map<number, Entry>();
  /** Streams cancelled before an agent accepted them: their reset goes out when the accept arrives. */
  #cancelled = new Map<number, { cluster: string; frames: Frame[]; at: number }>();
  #sessions = new Map<string, Session>();
  #perCluster = new Map<string, number>();
  #perMember = new Map<string, number>();
  #nextId = 1;
  #subs: BusSubscription[] = [];
  #timer: unknown = null;
  #presenceTimer: unknown = null;
  #closed = false;
  #draining = false;
  #startedAt = 0;
  #presence: PresenceTracker;

  static async start(bus: Bus, opts: GatewayOptions = {}): Promise<TunnelGateway> {
    const gw = new TunnelGateway(bus, opts);
    await gw.#start();
    return gw;
  }

  private constructor(bus: Bus, opts: GatewayOptions) {
    super();
    this.#bus = bus;
    this.#o = resolveOptions(opts);
    this.id = this.#o.instanceId;
    this.#maxPerCluster = limit("maxStreamsPerCluster", opts.maxStreamsPerCluster ?? 4096);
    this.#maxPerMember = limit("maxStreamsPerMember", opts.maxStreamsPerMember ?? 256);
    this.#openTimeoutMs = opts.openTimeoutMs ?? this.#o.pingTimeoutMs;
    this.#presence = new PresenceTracker({
      online: (c) => this.emit("online", c),
      offline: (c) => this.#clusterOffline(c),
      agentGone: (c, a) => this.#agentGone(c, a),
    });
  }

  async #start(): Promise<void> {
    this.#subs.push(
      this.#bus.subscribe(tunnelSubjects.gatewaySessions(this.id), { callback: (err, msg) => !err && this.#onSessionMessage(msg.subject, msg.data) }),
      this.#bus.subscribe(tunnelSubjects.presenceAll(), { callback: (err, msg) => !err && this.#onPresence(msg.subject, msg.data) }),
    );
    await this.#bus.flush();
    this.#timer = this.#o.clock.setInterval(() => this.sweep(), this.#o.sweepMs);
    // Presence expiry is checked more often than the rest: a silent agent is gone within 3 s.
    this.#presenceTimer = this.#o.clock.setInterval(() => this.#presence.sweep(this.#o.clock.now()), Math.min(this.#o.sweepMs, PRESENCE_SWEEP_MS));
    this.#startedAt = this.#o.clock.now();
  }

  /**
   * Right after start this gateway has not heard every agent's heartbeat yet (in scale-out, agents
   * were connected before it): a cluster not known online then is probed and waited for briefly,
   * instead of being answered "offline". Undefined when there is nothing to wait for (no extra
   * turn on the proxy path).
   */
  settlePresence(cluster: string): Promise<boolean> | undefined {
    const left = PRESENCE_SETTLE_MS - (this.#o.clock.now() - this.#startedAt);
    return left > 0 && !this.isOnline(cluster) ? this.whenOnline(cluster, left) : undefined;
  }

  isOnline(cluster: string): boolean {
    return this.#presence.isOnline(cluster);
  }

  onlineClusters(): string[] {
    return this.#presence.clusters();
  }

  /**
   * An agent instance's connection ended (the NATS endpoint or nats-server said so): it is gone now,
   * without waiting for its missed heartbeats. `cluster` must come from the connection's
   * authenticated identity; `agent` is the instance id the agent named its connection after.
   */
  agentDisconnected(cluster: string, agent: string): void {
    if (!this.#presence.isAgentAlive(cluster, agent)) return;
    this.#presence.heartbeat(cluster, { agent, state: "down", intervalMs: 0, streams: 0 }, this.#o.clock.now());
  }

  /** Asks the cluster's agents to announce themselves and waits up to `timeoutMs` for one. */
  async whenOnline(cluster: string, timeoutMs: number): Promise<boolean> {
    if (this.isOnline(cluster)) return true;
    return await new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(t);
        this.off("online", on);
        resolve(ok);
      };
      const on = (c: string) => c === cluster && done(true);
      const t = setTimeout(() => done(this.isOnline(cluster)), timeoutMs);
      this.on("online", on);
      try {
        this.#bus.publish(tunnelSubjects.probe(cluster));
      } catch {
        done(false);
      }
    });
  }

  /**
   * Opens a stream to one of the cluster's agents. Throws at once (no I/O) for an invalid cluster id,
   * an offline cluster (ClusterOfflineError), a reached limit (StreamLimitError) or an oversized head.
   */
  openStream(cluster: string, o: OpenStreamOptions): TunnelStream {
    if (this.#closed) throw new TunnelClosedError("The tunnel gateway is closed");
    if (this.#draining) throw new TunnelClosedError("This Ward gateway is shutting down: retry (another gateway takes the request)");
    assertClusterId(cluster);
    const kind = o.kind ?? "request";
    if (!STREAM_KINDS.includes(kind)) throw new Error(`Unknown stream kind ${JSON.stringify(kind)}: use ${STREAM_KINDS.join(", ")}`);
    if (!this.isOnline(cluster)) throw new ClusterOfflineError(cluster);
    const nc = this.#perCluster.get(cluster) ?? 0;
    if (nc >= this.#maxPerCluster) {
      throw new StreamLimitError("connection", this.#maxPerCluster, `Too many open streams to cluster ${cluster} (limit ${this.#maxPerCluster}): close some watches, logs or exec sessions, or raise maxStreamsPerCluster`);
    }
    const nm = o.member === undefined ? 0 : (this.#perMember.get(o.member) ?? 0);
    if (o.member !== undefined && nm >= this.#maxPerMember) {
      throw new StreamLimitError("member", this.#maxPerMember, `You have ${nm} open streams, the most allowed per member (${this.#maxPerMember}): close some watches, logs or exec sessions`);
    }
    const id = this.#allocateId();
    const now = this.#o.clock.now();
    const request = { method: o.method, path: o.path, headers: o.headers ?? [], kind };
    const open: Frame = { type: "open", stream: id, seq: 0, window: this.#o.windowBytes, ...request };
    const maxPayload = Math.min(this.#o.maxMessageBytes, this.#bus.info?.max_payload ?? DEFAULT_MAX_PAYLOAD);
    packFrames([open], maxPayload); // throws FrameError on an oversized head, before anything is counted
    const pending = new PendingHost(maxPayload - FRAME_HEADER_SIZE, (s) => this.#pendingClosed(s, pending));
    const stream = new TunnelStream({ id, side: "gateway", request, host: pending, window: this.#o.windowBytes, peerWindow: OPEN_CREDIT, sendSeq: 1, recvSeq: 0, now });
    const entry: Entry = { stream, cluster, member: o.member, pending, openedAt: now, openSent: false };
    this.#streams.set(id, entry);
    this.#perCluster.set(cluster, nc + 1);
    if (o.member !== undefined) this.#perMember.set(o.member, nm + 1);
    if (o.body === false) {
      stream.end(); // its end frame goes to the pending host at once (no write is pending)
      this.#sendOpen(entry, open, maxPayload);
      return stream;
    }
    // Sent once the caller had a chance to write a small body (same event-loop turn).
    setImmediate(() => this.#sendOpen(entry, open, maxPayload));
    return stream;
  }

  #sendOpen(e: Entry, open: Frame, maxPayload: number): void {
    if (e.stream.destroyed || !e.pending || this.#closed) return;
    const frames = e.pending.frames;
    let size = frameSize(open);
    let n = 0;
    while (n < frames.length && size + frameSize(frames[n]!) <= maxPayload) size += frameSize(frames[n++]!);
    const [msg] = packFrames([open, ...frames.splice(0, n)], maxPayload);
    e.openSent = true;
    try {
      this.#bus.publish(tunnelSubjects.open(e.cluster, this.id), msg);
    } catch (err) {
      e.stream.peerGone(ResetCode.peerGone, `Could not send the stream to cluster ${e.cluster}: ${(err as Error).message}`);
    }
  }

  stats(): { streams: number; pending: number; sessions: number; clusters: number } {
    let pending = 0;
    for (const e of this.#streams.values()) if (e.pending) pending++;
    return { streams: this.#streams.size, pending, sessions: this.#sessions.size, clusters: this.#presence.clusters().length };
  }

  /** Open streams by kind (every kind present, 0 when none), for metrics. */
  streamsByKind(): Record<StreamKind, number> {
    const out = Object.fromEntries(STREAM_KINDS.map((k) => [k, 0])) as Record<StreamKind, number>;
    for (const e of this.#streams.values()) out[e.stream.request.kind]++;
    return out;
  }

  /** Timer work: presence expiry, open timeouts, pings, dead peers, idle streams. Called by an interval. */
  sweep(): void {
    const now = this.#o.clock.now();
    this.#presence.sweep(now);
    for (const e of [...this.#streams.values()]) {
      if (e.pending && now - e.openedAt > this.#openTimeoutMs) {
        e.stream.peerGone(ResetCode.peerGone, `No agent of cluster ${e.cluster} accepted the stream within ${fmtSecs(this.#openTimeoutMs)}`);
      }
    }
    for (const [id, c] of this.#cancelled) if (now - c.at > this.#openTimeoutMs) this.#cancelled.delete(id);
    for (const [key, s] of this.#sessions) if (!s.sweep(now)) this.#dropSession(key, s);
  }

  /**
   * Drains for a shutdown: takes no new streams, ends watches the clean way as soon as their
   * response head is out (their clients re-watch, through another gateway behind the load
   * balancer), lets requests, exec, attach and port-forward run on for up to `graceMs`, then resets
   * what is left. Resolves when none is left.
   */
  async drain(graceMs: number): Promise<{ ended: number; finished: number; reset: number }> {
    this.#draining = true;
    let ended = 0;
    const open = this.#streams.size;
    const deadline = this.#o.clock.now() + graceMs;
    for (;;) {
      for (const e of [...this.#streams.values()]) {
        if (e.stream.request.kind === "watch" && e.stream.headReceived && !e.stream.destroyed) {
          e.stream.resetLocal(ResetCode.shutdown, "The Ward gateway is shutting down");
          ended++;
        }
      }
      if (this.#streams.size === 0 || this.#o.clock.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const reset = this.#streams.size;
    for (const e of [...this.#streams.values()]) e.stream.resetLocal(ResetCode.shutdown, "The Ward gateway is shutting down; retry");
    return { ended, finished: open - ended - reset, reset };
  }

  get draining(): boolean {
    return this.#draining;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) this.#o.clock.clearInterval(this.#timer);
    if (this.#presenceTimer !== null) this.#o.clock.clearInterval(this.#presenceTimer);
    for (const e of [...this.#streams.values()]) e.stream.resetLocal(ResetCode.shutdown, "The Ward gateway is shutting down; retry");
    await new Promise((r) => setTimeout(r, 0));
    for (const s of this.#subs) s.unsubscribe();
    this.#subs = [];
  }

  #allocateId(): number {
    for (;;) {
      const id = this.#nextId;
      this.#nextId = id >= 0xfffffffe ? 1 : id + 1;
      if (!this.#streams.has(id) && !this.#cancelled.has(id)) return id;
    }
  }

  #onPresence(subject: string, data: Uint8Array): void {
    const cluster = parsePresenceSubject(subject);
    const hb = cluster && decodeHeartbeat(data);
    if (!cluster || !hb) return;
    this.#presence.heartbeat(cluster, hb, this.#o.clock.now());
  }

  #session(cluster: string, agent: string): Session {
    const key = `${cluster}/${agent}`;
    let s = this.#sessions.get(key);
    if (!s || s.dead) {
      s = new Session({
        bus: this.#bus,
        subject: tunnelSubjects.toAgentSession(cluster, agent, this.id),
        cluster,
        peerId: agent,
        peerLabel: `agent ${agent} of cluster ${cluster}`,
        options: this.#o,
        onUnknown: (session, f) => this.#onUnknown(session, f),
        onStreamClosed: (_session, stream) => this.#release(stream.id),
      });
      this.#sessions.set(key, s);
    }
    return s;
  }

  #dropSession(key: string, s: Session): void {
    if (this.#sessions.get(key) === s) this.#sessions.delete(key);
  }

  #onSessionMessage(subject: string, data: Uint8Array): void {
    const ids = parseGatewaySessionSubject(subject);
    if (!ids || ids.gateway !== this.id) return;
    this.#session(ids.cluster, ids.agent).receive(data);
  }

  /** A frame for a stream the session does not carry: an accept, a late answer to a cancelled open, or stale. */
  #onUnknown(session: Session, f: Frame): void {
    const e = this.#streams.get(f.stream);
    if (e && e.pending && e.cluster === session.cluster) {
      if (f.type === "window" && f.seq === 0) {
        const frames = e.pending.frames;
        e.pending = null;
        session.add(e.stream);
        for (const fr of frames) session.send(fr);
        e.stream.attach(session, f.credit, this.#o.clock.now());
        return;
      }
      e.stream.handleFrame(f, this.#o.clock.now()); // a refusal (reset) or a protocol error
      return;
    }
    const c = this.#cancelled.get(f.stream);
    if (c && c.cluster === session.cluster && f.type === "window" && f.seq === 0) {
      this.#cancelled.delete(f.stream);
      for (const fr of c.frames) session.send(fr);
      return;
    }
    if (!e) session.rejectUnknown(f);
  }

  #pendingClosed(stream: TunnelStream, host: PendingHost): void {
    const e = this.#streams.get(stream.id);
    if (e?.pending === host && e.openSent && host.frames.some((f) => f.type === "reset")) {
      this.#cancelled.set(stream.id, { cluster: e.cluster, frames: host.frames, at: this.#o.clock.now() });
    }
    this.#release(stream.id);
  }

  #release(id: number): void {
    const e = this.#streams.get(id);
    if (!e) return;
    this.#streams.delete(id);
    dec(this.#perCluster, e.cluster);
    if (e.member !== undefined) dec(this.#perMember, e.member);
  }

  #agentGone(cluster: string, agent: string): void {
    const key = `${cluster}/${agent}`;
    const s = this.#sessions.get(key);
    if (!s) return;
    this.#dropSession(key, s);
    s.resetAll(ResetCode.peerGone, `Agent ${agent} of cluster ${cluster} went offline`, true);
  }

  #clusterOffline(cluster: string): void {
    for (const e of [...this.#streams.values()]) {
      if (e.pending && e.cluster === cluster) e.stream.peerGone(ResetCode.peerGone, `Cluster ${cluster} went offline: its Ward agent disconnected`);
    }
    this.emit("offline", cluster);
  }
}

function dec(m: Map<string, number>, k: string): void {
  const n = (m.get(k) ?? 1) - 1;
  if (n <= 0) m.delete(k);
  else m.set(k, n);
}

function limit(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`Tunnel option ${name} must be a positive integer, got ${v}`);
  return v;
}
