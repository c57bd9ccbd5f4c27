/**
 * Connects to a NATS WebSocket endpoint (the embedded one or a real nats-server) with the
 * official client and returns it as a `Bus`. On Node over the `ws` package, on Deno over its own WebSocket.
 */
import { wsconnect, type ConnectionOptions, type NatsConnection, type WsConnectionOptions } from "@nats-io/nats-core";
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
  // per-frame masking in JS was the agent's top cost when streaming). Masking protects proxies from
  // scripts in browsers; this client is not a browser, so it sends the all-zero mask ws supports,
  // which makes masking a no-op and skips a copy per frame. Deno keeps its native WebSocket.
  if (customTls || !("Deno" in globalThis)) {
    const { WebSocket: NodeWebSocket } = await import("ws");
    const keepAliveMs = opts.keepAliveMs ?? 30_000;
    (o as WsConnectionOptions).wsFactory = async (u) => {
      const socket = new NodeWebSocket(u, {
        perMessageDeflate: false,
        generateMask: zeroMask,
        ...(customTls ? { ca: tls.ca, rejectUnauthorized: !tls.insecureSkipVerify } : {}),
      });
      if (keepAliveMs > 0) socket.once("upgrade", (res) => res.socket.setKeepAlive(true, keepAliveMs));
      return { socket: socket as unknown as WebSocket, encrypted: u.startsWith("wss:") };
    };
  }
  const nc = await wsconnect(o);
  const bus: Bus = nc;
  return bus as BusConnection;
}

function zeroMask(mask: Buffer): void {
  mask.fill(0);
}
