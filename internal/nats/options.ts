/**
 * Server options: validated once, defaults filled in (nats-server's defaults where it has one).
 */
import { NatsConfigError } from "./errors.ts";
import type { Permissions, ResponsePermission } from "./permissions.ts";
import { silentLogger, type Logger } from "../log/index.ts";

/** The CONNECT options a client sent (only the fields the server reads are typed). */
export interface ConnectOptions {
  verbose?: boolean;
  pedantic?: boolean;
  echo?: boolean;
  headers?: boolean;
  no_responders?: boolean;
  protocol?: number;
  name?: string;
  lang?: string;
  version?: string;
  auth_token?: string;
  user?: string;
  pass?: string;
  jwt?: string;
  [key: string]: unknown;
}

export interface AuthResult {
  identity: string;
  permissions: Permissions;
}

/** Maps CONNECT credentials to an identity and allow-lists; null rejects the connection. */
export type Authenticator = (connectOpts: ConnectOptions) => Promise<AuthResult | null>;

export interface NatsServerOptions {
  /** Shown in INFO as server_name. */
  serverName?: string;
  /** Largest message (headers + payload) accepted; default 1 MiB. */
  maxPayload?: number;
  /** Longest control line; default 4096. */
  maxControlLine?: number;
  /** Bytes waiting to be written to one connection before it is cut as a slow consumer; default 64 MiB. */
  maxPending?: number;
  /** Server PING interval; default 2 minutes. */
  pingIntervalMs?: number;
  /** Unanswered PINGs tolerated before the connection is stale; default 2. */
  maxPingsOut?: number;
  /** Time allowed between connecting and a successful CONNECT when auth is on; default 2 s. */
  authTimeoutMs?: number;
  /**
   * Bytes a client may send before its CONNECT is accepted when auth is on (nats-server's
   * pre-auth limit), the CONNECT and anything sent while the authenticator runs included; more
   * closes the connection. Enough for a CONNECT with a JWT; default 8 KiB.
   */
  preAuthMaxBytes?: number;
  /**
   * After the server closes a connection (auth timeout, violations, kicks, shutdown), how long the
   * peer has to finish closing (WebSocket close handshake, TCP FIN) before its socket is dropped;
   * default 250 ms.
   */
  closeGraceMs?: number;
  /** Enables authentication (INFO auth_required). Without it every connection may do anything. */
  authenticator?: Authenticator;
  /** Reply rights of restricted connections (nats-server allow_responses); default 1 reply within 2 minutes. */
  responsePermission?: ResponsePermission;
  /** Connections accepted at most; default 65536. */
  maxConnections?: number;
  /**
   * Subscriptions one network connection may hold (nats-server's max_subscriptions); a SUB past it
   * is refused with `-ERR 'maximum subscriptions exceeded'`, the connection stays. Ward's agents
   * hold a handful; default 10,000.
   */
  maxSubscriptions?: number;
  logger?: Logger;
  /**
   * Called once when an authenticated network connection ends (any reason), with the identity its
   * authenticator gave and the name it sent in CONNECT (client-chosen: trust only within the identity).
   */
  onClientClosed?: (identity: string, name: string | undefined) => void;
  /** Clock for response-permission expiry (tests move it). */
  now?: () => number;
}

export interface ResolvedOptions {
  serverName: string;
  maxPayload: number;
  maxControlLine: number;
  maxPending: number;
  pingIntervalMs: number;
  maxPingsOut: number;
  authTimeoutMs: number;
  preAuthMaxBytes: number;
  closeGraceMs: number;
  authenticator: Authenticator | undefined;
  responsePermission: ResponsePermission;
  maxConnections: number;
  maxSubscriptions: number;
  logger: Logger;
  onClientClosed: ((identity: string, name: string | undefined) => void) | undefined;
  now: () => number;
}

/** An option's value: `dflt` when unset, else it must be an integer >= `min` (NatsConfigError otherwise). */
export function positiveInt(name: string, v: number | undefined, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < min) {
    throw new NatsConfigError(`Invalid ${name} ${String(v)}: use an integer >= ${min}`);
  }
  return v;
}

export function resolveOptions(o: NatsServerOptions = {}): ResolvedOptions {
  const rp = o.responsePermission ?? { max: 1, ttlMs: 120_000 };
  if (o.authenticator !== undefined && typeof o.authenticator !== "function") {
    throw new NatsConfigError("Invalid authenticator: pass an async function (connectOpts) => {identity, permissions} | null");
  }
  const maxPayload = positiveInt("maxPayload", o.maxPayload, 1024 * 1024);
  const maxPending = positiveInt("maxPending", o.maxPending, 64 * 1024 * 1024);
  if (maxPayload > maxPending) {
    throw new NatsConfigError(`maxPayload (${maxPayload}) cannot be higher than maxPending (${maxPending}): raise maxPending or lower maxPayload`);
  }
  return {
    serverName: o.serverName ?? "ward",
    maxPayload,
    maxControlLine: positiveInt("maxControlLine", o.maxControlLine, 4096, 64),
    maxPending,
    pingIntervalMs: positiveInt("pingIntervalMs", o.pingIntervalMs, 120_000, 10),
    maxPingsOut: positiveInt("maxPingsOut", o.maxPingsOut, 2),
    authTimeoutMs: positiveInt("authTimeoutMs", o.authTimeoutMs, 2000, 10),
    preAuthMaxBytes: positiveInt("preAuthMaxBytes", o.preAuthMaxBytes, 8 * 1024, 256),
    closeGraceMs: positiveInt("closeGraceMs", o.closeGraceMs, 250, 0),
    authenticator: o.authenticator,
    responsePermission: {
      max: positiveInt("responsePermission.max", rp.max, 1),
      ttlMs: positiveInt("responsePermission.ttlMs", rp.ttlMs, 120_000),
    },
    maxConnections: positiveInt("maxConnections", o.maxConnections, 65536),
    maxSubscriptions: positiveInt("maxSubscriptions", o.maxSubscriptions, 10_000),
    logger: o.logger ?? silentLogger,
    onClientClosed: o.onClientClosed,
    now: o.now ?? Date.now,
  };
}
