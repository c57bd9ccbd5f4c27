/**
 * Connects to a NATS WebSocket endpoint (the embedded one or a real nats-server) with the
 * official client and returns it as a `Bus`. On Node over the `ws` package, on Deno over its own WebSocket.
 */
import { errors, wsconnect, type ConnectionOptions, type NatsConnection, type WsConnectionOptions } from "@nats-io/nats-core";
import type { Bus } from "../bus/index.ts";

export interface ConnectBusOptions {
  user?: string;
  pass?: string;
  token?: string;
  /** Client name shown by the server. */
  name?: string;
  /** -1 = forever (default), 0 = never reconnect. */
  maxReconnectAttempts?: number;
  reconnectTimeWait?: number;
  /** Connect timeout in ms (default 20 s). */
  timeout?: number;
  pingInterval?: number;
  /**
   * TCP keepalive probes after this long without traffic on the WebSocket's connection (ms; Node
   * only; default 30 s, below the 60 s idle cut-off common in load balancers and NAT; 0 = off).
   */
  keepAliveMs?: number;
  /**
   * TLS for wss:// when the runtime's trust store is not enough: a private CA, or (only when asked)
   * no verification.
   */
  tls?: { ca?: string | Buffer; insecureSkipVerify?: boolean };
  /** Any other nats-core connection option, passed through unchanged. */
  extra?: Partial<ConnectionOptions>;
}

/** A Bus that is also the full nats-core connection, for callers that need more. */
export type BusConnection = Bus & NatsConnection;

export async function connectBus(url: string | string[], opts: ConnectBusOptions = {}): Promise<BusConnection> {
  const o: ConnectionOptions = {
    servers: url,
    maxReconnectAttempts: opts.maxReconnectAttempts ?? -1,
    ...opts.extra,
  };
  if (opts.user !== undefined) o.user = opts.user;
  if (opts.pass !== undefined) o.pass = opts.pass;
  if (opts.token !== undefined) o.token = opts.token;
  if (opts.name !== undefined) o.name = opts.name;
  if (opts.reconnectTimeWait !== undefined) o.reconnectTimeWait = opts.reconnectTimeWait;
  if (opts.timeout !== undefined) o.timeout = opts.timeout;
  if (opts.pingInterval !== undefined) o.pingInterval = opts.pingInterval;
  const tls = opts.tls;
  const customTls = !!tls && (tls.ca !== undefined || tls.insecureSkipVerify === true);
  // On Node the `ws` package carries the connection (the global WebSocket is undici's, whose
  // per-frame masking in JS was the agent's top cost when streaming). Every frame gets a fresh
  // random mask, as RFC 6455 §5.3 requires of a client: the intermediaries an agent dials out
  // through (egress proxies, TLS-inspecting middleboxes) rely on it. ws draws the keys from
  // crypto.randomFillSync and masks with ws_masking.ts (word at a time); the batches nats-core
  // flushes are masked in place rather than copied (ws_frame.ts). Deno keeps its native WebSocket.
  if (customTls || !("Deno" in globalThis)) {
    const { WebSocket: NodeWebSocket } = await import("ws");
    const { maskInPlace } = await import("./ws_frame.ts");
    const keepAliveMs = opts.keepAliveMs ?? 30_000;
    (o as WsConnectionOptions).wsFactory = async (u) => {
      const socket = new NodeWebSocket(u, {
        perMessageDeflate: false,
        ...(customTls ? { ca: tls.ca, rejectUnauthorized: !tls.insecureSkipVerify } : {}),
      });
      if (keepAliveMs > 0) socket.once("upgrade", (res) => res.socket.setKeepAlive(true, keepAliveMs));
      return { socket: maskInPlace(socket) as unknown as WebSocket, encrypted: u.startsWith("wss:") };
    };
  }
  const nc = await wsconnect(o);
  const bus: Bus = nc;
  return bus as BusConnection;
}

/**
 * One connection that never reconnects by itself (the caller redials, e.g. the agent with a fresh
 * name per session): tries `urls` in random order, each once, and returns the first that connects.
 * nats-core's own server list cannot do this when `reconnect` is off: a failed first dial closes the
 * client before the next server is tried, so one dead node of three failed a third of all dials.
 * An authorization error ends the try at once (the credential is checked the same on every node;
 * a refused agent costs the servers one check per try, not one per node).
 */
export async function connectBusAny(urls: readonly string[], opts: Omit<ConnectBusOptions, "maxReconnectAttempts">, random: () => number = Math.random): Promise<BusConnection> {
  if (urls.length === 0) throw new Error("No NATS URL to connect to");
  const order = [...urls];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const failures: string[] = [];
  for (const url of order) {
    try {
      return await connectBus(url, { ...opts, maxReconnectAttempts: 0, extra: { ...opts.extra, reconnect: false } });
    } catch (e) {
      if (e instanceof errors.AuthorizationError || order.length === 1) throw e;
      failures.push(`${url}: ${(e as Error).message}`);
    }
  }
  throw new Error(`No NATS server answered (${failures.join("; ")})`);
}

export interface ConnectTcpOptions {
  /** An nkey user seed (`SU…`): the connection signs the server's nonce with it. */
  nkeySeed?: Uint8Array;
  /** Client name shown by the server. */
  name?: string;
  /** TLS toward nats-server: a private CA (and a client certificate), or none. */
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
  /** Other nats-core connection options, passed through unchanged. */
  extra?: Partial<ConnectionOptions>;
}

/**
 * Connects to nats-server over NATS TCP (`@nats-io/transport-node`, loaded on first use) and returns
 * it as a `Bus`. For gateways in scale-out mode: it reconnects forever, to any server of the list
 * or that the cluster announced, after 250 ms plus up to 250 ms of jitter, and keeps its
 * subscriptions across reconnects.
 */
export async function connectBusTcp(servers: string[], opts: ConnectTcpOptions = {}): Promise<BusConnection> {
  const { connect, nkeyAuthenticator } = await import("@nats-io/transport-node");
  const o: NonNullable<Parameters<typeof connect>[0]> = {
    servers,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 250,
    reconnectJitterTLS: 250,
    waitOnFirstConnect: false,
    timeout: 10_000,
    ...opts.extra,
  };
  if (opts.nkeySeed) o.authenticator = nkeyAuthenticator(opts.nkeySeed);
  if (opts.name !== undefined) o.name = opts.name;
  if (opts.tls) o.tls = { ...(opts.tls.ca ? { ca: opts.tls.ca.toString() } : {}), ...(opts.tls.cert ? { cert: opts.tls.cert.toString() } : {}), ...(opts.tls.key ? { key: opts.tls.key.toString() } : {}) };
  const nc = await connect(o);
  const bus: Bus = nc;
  return bus as BusConnection;
}
