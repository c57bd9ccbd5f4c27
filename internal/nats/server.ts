/**
 * The embedded NATS server: owns the router, the connections (network and in-process), the
 * once-per-tick output flush and the ping timer. Transports (WebSocket, TCP) hand it their
 * connections through `accept`.
 */
import { setImmediate } from "node:timers";
import { NetConnection, type ConnectionHost } from "./connection.ts";
import { InProcessConnection, type InProcessHost, type InProcessInfo, type InProcessOptions } from "./in_process.ts";
import { CLOSED, ERR, type ClosedReason } from "./errors.ts";
import { resolveOptions, type NatsServerOptions, type ResolvedOptions } from "./options.ts";
import { Router } from "./router.ts";
import { errLine } from "./wire.ts";
import { encodeUtf8 } from "./bytes.ts";
import { closeWithGrace, type ServerStats, type Transport } from "./transport.ts";

/** The protocol level this endpoint speaks, as nats-server version numbers (clients gate features on it). */
const PROTOCOL_VERSION = "2.10.0";

function randomServerId(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bytes = crypto.getRandomValues(new Uint8Array(55));
  let id = "N";
  for (const b of bytes) id += alphabet[b & 31];
  return id;
}

export class NatsServer implements ConnectionHost, InProcessHost {
  readonly opts: ResolvedOptions;
  readonly router = new Router();
  readonly stats: ServerStats = {
    connections: 0,
    totalConnections: 0,
    subscriptions: 0,
    inMsgs: 0,
    inBytes: 0,
    outMsgs: 0,
    outBytes: 0,
    slowConsumers: 0,
  };
  readonly serverId = randomServerId();
  readonly serverInfo: InProcessInfo;
  readonly #clients = new Set<NetConnection>();
  readonly #inProcess = new Set<InProcessConnection>();
  #flushList: NetConnection[] = [];
  #flushSpare: NetConnection[] = [];
  #flushScheduled = false;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #nextCid = 1;
  #closed = false;
  readonly #infoHead: string;

  constructor(options: NatsServerOptions = {}) {
    this.opts = resolveOptions(options);
    const info: Record<string, unknown> = {
      server_id: this.serverId,
      server_name: this.opts.serverName,
      version: PROTOCOL_VERSION,
      proto: 1,
      go: "ward",
      host: "0.0.0.0",
      port: 0,
      headers: true,
      max_payload: this.opts.maxPayload,
    };
    if (this.opts.authenticator) info.auth_required = true;
    const json = JSON.stringify(info);
    this.#infoHead = json.slice(0, -1);
    this.serverInfo = {
      server_id: this.serverId,
      server_name: this.opts.serverName,
      version: PROTOCOL_VERSION,
      proto: 1,
      headers: true,
      max_payload: this.opts.maxPayload,
      client_id: 0,
    };
    this.#pingTimer = setInterval(() => this.#pingAll(), this.opts.pingIntervalMs);
    (this.#pingTimer as { unref?: () => void }).unref?.();
  }

  get maxPayload(): number {
    return this.opts.maxPayload;
  }

  get connectionCount(): number {
    return this.#clients.size + this.#inProcess.size;
  }

  /** Takes a new network connection; the adapter feeds it with `receive`. Null when refused. */
  accept(transport: Transport): NetConnection | null {
    if (this.#closed) {
      closeWithGrace(transport, CLOSED.serverShutdown, this.opts.closeGraceMs);
      return null;
    }
    const cid = this.#nextCid++;
    // Connections still authenticating count too: they hold sockets and buffers like the others.
    if (this.connectionCount >= this.opts.maxConnections) {
      transport.send(this.infoFor(cid, transport.remoteAddress));
      transport.send(errLine(ERR.maxConnections));
      closeWithGrace(transport, CLOSED.maxConnections, this.opts.closeGraceMs);
      return null;
    }
    const c = new NetConnection(this, transport, cid);
    this.#clients.add(c);
    this.stats.connections++;
    this.stats.totalConnections++;
    c.start();
    return c;
  }

  /** A `Bus` connected without any network, checked against `permissions` like a network client. */
  connectInProcess(opts: InProcessOptions): InProcessConnection {
    if (this.#closed) throw new Error("The NATS server is closed: create a new one before connecting");
    const c = new InProcessConnection(this, this.#nextCid++, opts);
    this.#inProcess.add(c);
    this.stats.connections++;
    this.stats.totalConnections++;
    return c;
  }

  /**
   * Closes every network connection authenticated as `identity` (each client is told
   * `Authorization Violation` first) and refuses connections whose authenticator is still running
   * and answers with it; returns how many were closed now. For credentials that stopped being
   * valid (an agent's join credential rotated).
   */
  disconnectIdentity(identity: string, reason: ClosedReason = CLOSED.revoked): number {
    let n = 0;
    for (const c of [...this.#clients]) if (c.revoke(identity, reason)) n++;
    return n;
  }

  /** Closes every connection (network clients get nats-server's shutdown close). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pingTimer);
    for (const c of [...this.#clients]) c.close(CLOSED.serverShutdown);
    for (const c of [...this.#inProcess]) c.serverClose(CLOSED.serverShutdown);
  }

  // ---- ConnectionHost / InProcessHost ----

  infoFor(cid: number, clientIp: string): Uint8Array {
    return encodeUtf8(`INFO ${this.#infoHead},"client_id":${cid},"client_ip":${JSON.stringify(clientIp)}} \r\n`);
  }

  scheduleFlush(c: NetConnection): void {
    c.flushScheduled = true;
    this.#flushList.push(c);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flushAll);
    }
  }

  removeClient(c: NetConnection): void {
    if (this.#clients.delete(c)) this.stats.connections--;
  }

  removeInProcess(c: InProcessConnection): void {
    if (this.#inProcess.delete(c)) this.stats.connections--;
  }

  #flushAll = (): void => {
    this.#flushScheduled = false;
    const list = this.#flushList;
    this.#flushList = this.#flushSpare;
    for (let i = 0; i < list.length; i++) list[i]!.flush();
    list.length = 0;
    this.#flushSpare = list;
  };

  #pingAll(): void {
    for (const c of [...this.#clients]) c.pingTick();
  }
}
