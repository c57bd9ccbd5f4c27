/**
 * The gateway's proxy handler: authenticate and authorize first (an Identity), then open a tunnel
 * stream to the cluster's agent and relay the exchange as it streams. Upgrades are relayed as raw
 * bytes after the API server's 101; a non-101 answer to an upgrade is relayed and the client
 * connection closed after it (nothing further is read from it).
 */
import { ServerResponse, type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { pipeline } from "node:stream";
import type { Logger } from "../log/index.ts";
import { ClusterOfflineError, ResetCode, StreamLimitError, StreamResetError, TunnelClosedError, type TunnelGateway, type TunnelStream } from "../tunnel/index.ts";
import { captureBody, type BodyCapture } from "./body_capture.ts";
import { gatewayRequestHeaders, hasBody, isOwnUser, isUpgradeRequest, requestedImpersonation, requestId, responseHeaders, streamKind, type Identity } from "./headers.ts";
import type { StreamKind } from "../tunnel/index.ts";
import { LiveStreams, requestNamespace, type StreamAuthority } from "./live.ts";
import { relay, splice } from "./splice.ts";
import { WebSocketActivity } from "./ws_activity.ts";
import { execErrorFrames, hasStatusErrorChannel, isExplainable, isJsonWatch, streamEndedMessage, WatchBoundary, watchErrorEvent } from "./stream_end.ts";
import { isUpgradablePath, type ProxyTarget } from "./path.ts";
import { protocolOf, requestHasBody, type EdgeRequest, type EdgeResponse, type Protocol } from "./protocol.ts";
import { ProxyError, statusResponseBytes, writeStatus } from "./status.ts";

export interface AuthRequest {
  cluster: string;
  /** The bearer token, or undefined when none was sent. */
  token: string | undefined;
  method: string;
  path: string;
}

/**
 * Resolves the caller's identity for this cluster, or throws a ProxyError (401/403/404/429). The
 * token id and grants that allowed it, when given, let a revocation close exactly this stream.
 */
export type Authorize = (req: AuthRequest) => Promise<Identity & { authority?: Omit<StreamAuthority, "namespace"> }>;

export interface ExchangeRecord {
  /** Clock ms when the request arrived. */
  startedAt: number;
  /** The `X-Request-Id` sent to the agent and returned to the client. */
  requestId: string;
  cluster: string;
  member: string | undefined;
  /** The member's email (the identity's user), once authorized. */
  memberEmail: string | undefined;
  /** The k8s token and the grants that allowed the request, once authorized. */
  tokenId: string | undefined;
  grantIds: readonly string[];
  method: string;
  path: string;
  query: string;
  /** The protocol the client spoke: HTTP/2 when it chose it by ALPN; upgrades are always HTTP/1.1. */
  protocol: Protocol;
  userAgent: string | undefined;
  /** The `kubectl --as` user asked for (allowed only as the caller's own identity). */
  impersonated: string | undefined;
  /** A write's body, its first bytes (when ProxyDeps.captureBodyBytes is set). */
  body: BodyCapture | undefined;
  /** undefined when the exchange failed before a stream was opened (auth, offline, limits). */
  kind: StreamKind | undefined;
  /** The upstream status; for an upgrade, 101 when it was switched (the session then ran until close). */
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
}

export interface ProxyDeps {
  tunnel: TunnelGateway;
  authorize: Authorize;
  logger: Logger;
  live?: LiveStreams;
  /** Called once per exchange, off the hot path (audit, metrics). */
  onExchange?: (r: ExchangeRecord) => void;
  /** Keep the first bytes of each write's body (POST, PUT, PATCH, DELETE) for onExchange; 0 or absent: none. */
  captureBodyBytes?: number;
}

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

function firstHeader(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) return raw[i + 1];
  return undefined;
}

/** What an exchange record knows before the request is authorized. */
function exchangeStart(req: EdgeRequest, target: ProxyTarget, reqId: string): ExchangeRecord {
  return {
    startedAt: Date.now(), requestId: reqId, cluster: target.cluster, member: undefined, memberEmail: undefined, tokenId: undefined, grantIds: [],
    method: req.method ?? "GET", path: target.upstreamPath, query: target.query, protocol: protocolOf(req), userAgent: firstHeader(req.rawHeaders, "user-agent"),
    impersonated: requestedImpersonation(req.rawHeaders).user, body: undefined, kind: undefined, status: 0, bytesIn: 0, bytesOut: 0, durationMs: 0,
  };
}

function bearer(req: EdgeRequest): string | undefined {
  const values: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === "authorization") values.push(req.rawHeaders[i + 1]!);
  }
  if (values.length === 0) return undefined;
  const m = values.length === 1 ? /^Bearer\s+(\S+)\s*$/i.exec(values[0]!) : null;
  if (!m) throw new ProxyError(401, "Unauthorized: send exactly one 'Authorization: Bearer <token>' header");
  return m[1]!;
}

function checkAsPolicy(req: EdgeRequest, identity: Identity): void {
  const asked = requestedImpersonation(req.rawHeaders);
  if (asked.user === undefined && asked.groups.length === 0) return;
  const own = (asked.user === undefined || isOwnUser(asked.user, identity)) && asked.groups.every((g) => identity.groups.includes(g));
  if (!own) {
    throw new ProxyError(403, `Forbidden: impersonation (kubectl --as / --as-group) through Ward is limited to your own identity ${identity.user}`);
  }
}

function isIdleReset(err: Error): boolean {
  return err instanceof StreamResetError && err.code === ResetCode.idle;
}

/** A watch ends cleanly when it sat idle, or when the gateway drains (clients re-watch elsewhere). */
function endsWatchCleanly(err: Error): boolean {
  return err instanceof StreamResetError && (err.code === ResetCode.idle || err.code === ResetCode.shutdown);
}

/** A stream that ended before its response head: 504 when it sat idle past its kind's timeout, else 502. */
function endedError(e: unknown): ProxyError {
  if (isIdleReset(e as Error)) return new ProxyError(504, `Timeout: no answer through the cluster's agent in time. ${(e as Error).message}`, { cause: e });
  return new ProxyError(502, `The cluster's agent ended the request: ${(e as Error).message}`, { cause: e });
}

function isWebSocket(headers: readonly string[]): boolean {
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === "upgrade") return /^websocket$/i.test(headers[i + 1]!.trim());
  return false;
}

/**
 * A WebSocket session's idle timeout counts data frames both ways, not kubectl's pings (it sends
 * one every few seconds, which would keep an abandoned shell open for ever). Added after the
 * splice, so these listeners only watch bytes the pipes already move.
 */
function countWebSocketActivity(socket: Duplex, stream: TunnelStream): WebSocketActivity {
  stream.countActivityByCaller();
  const up = new WebSocketActivity();
  const down = new WebSocketActivity();
  socket.on("data", (c: Uint8Array) => up.push(c) && stream.touch());
  stream.on("data", (c: Uint8Array) => down.push(c) && stream.touch());
  return down;
}

export class KubeProxy {
  readonly live: LiveStreams;
  #d: ProxyDeps;

  constructor(deps: ProxyDeps) {
    this.#d = deps;
    this.live = deps.live ?? new LiveStreams();
  }

  async #open(req: EdgeRequest, target: ProxyTarget, rec: ExchangeRecord, upgrade: boolean, body = true): Promise<{ stream: TunnelStream; identity: Identity; kind: StreamKind }> {
    const { authority, ...identity } = await this.#d.authorize({ cluster: target.cluster, token: bearer(req), method: req.method ?? "GET", path: target.upstreamPath });
    rec.member = identity.member;
    rec.memberEmail = identity.user;
    rec.tokenId = authority?.tokenId;
    rec.grantIds = authority ? authority.grants.map((g) => g.id) : [];
    checkAsPolicy(req, identity);
    const method = req.method ?? "GET";
    const kind = streamKind(method, target.upstreamPath, target.query, upgrade);
    const settling = this.#d.tunnel.settlePresence(target.cluster);
    if (settling) await settling;
    const headers = gatewayRequestHeaders(req.rawHeaders, identity, rec.requestId);
    // The agent learns that a body follows from the framing headers it gets (hasBody). An HTTP/2
    // request may carry one with neither, and an HTTP/1.1 client may name them in Connection (which
    // drops them): "Transfer-Encoding: chunked" says so through the tunnel (the agent never sends it
    // on; undici frames the body itself). Without it the body was dropped, and a DELETE's options
    // (dryRun, preconditions) with it.
    if (!upgrade && body && !hasBody(headers)) headers.push("Transfer-Encoding", "chunked");
    let stream: TunnelStream;
    try {
      stream = this.#d.tunnel.openStream(target.cluster, {
        method,
        path: target.upstream,
        headers,
        member: identity.member,
        kind,
        body,
      });
    } catch (e) {
      if (e instanceof ClusterOfflineError) throw new ProxyError(503, `Cluster ${target.cluster} is offline: its Ward agent is not connected`, { cause: e });
      if (e instanceof StreamLimitError) throw new ProxyError(429, e.message, { retryAfter: 1, cause: e });
      if (e instanceof TunnelClosedError) throw new ProxyError(503, e.message, { retryAfter: 1, cause: e });
      throw e;
    }
    this.live.add(target.cluster, identity.member, stream, authority && { ...authority, namespace: requestNamespace(target.upstreamPath) });
    return { stream, identity, kind };
  }

  #fail(err: unknown, target: ProxyTarget | undefined, reqId: string): ProxyError {
    if (err instanceof ProxyError) return err;
    this.#d.logger.warn("proxy error", { cluster: target?.cluster, requestId: reqId, err: err as Error });
    return new ProxyError(502, "The request could not be completed through the cluster's agent");
  }

  /**
   * An exchange is over (the client connection closed): one debug line, with the request id the
   * agent's line and the audit carry too, then the record to the sinks with its bytes and body.
   */
  #finish(rec: ExchangeRecord, t0: number, tunnel: TunnelStream | undefined, body?: () => BodyCapture): void {
    rec.durationMs = performance.now() - t0;
    this.#d.logger.debug("proxied request", {
      requestId: rec.requestId, cluster: rec.cluster, member: rec.member, method: rec.method, path: rec.path, protocol: rec.protocol, kind: rec.kind, status: rec.status,
      durationMs: Math.round(rec.durationMs),
    });
    if (!this.#d.onExchange) return;
    rec.bytesIn = tunnel?.flowStats().sent ?? 0;
    rec.bytesOut = tunnel?.flowStats().received ?? 0;
    rec.body = body?.();
    this.#d.onExchange(rec);
  }

  /** A plain (non-upgrade) request. */
  handleRequest(req: EdgeRequest, res: EdgeResponse, target: ProxyTarget): void {
    const t0 = performance.now();
    const rec = exchangeStart(req, target, requestId(req.rawHeaders));
    let tunnel: TunnelStream | undefined;
    let body: (() => BodyCapture) | undefined;
    res.once("close", () => this.#finish(rec, t0, tunnel, body));
    const sendError = (err: unknown) => {
      const pe = this.#fail(err, target, rec.requestId);
      rec.status = pe.status;
      if (res.headersSent) return void res.destroy();
      writeStatus(res, pe, rec.requestId);
    };
    // Most requests (every GET) have no body: their open leaves at once, already ended.
    const withBody = requestHasBody(req);
    if (!withBody) req.resume();
    this.#open(req, target, rec, false, withBody).then(
      async ({ stream, kind }) => {
        rec.kind = kind;
        tunnel = stream;
        // A reset fails `head` or tears down the relay below; the event itself needs only a listener.
        stream.on("error", () => {});
        if (withBody) {
          const limit = this.#d.captureBodyBytes ?? 0;
          if (limit > 0 && WRITE_METHODS.has(rec.method)) body = captureBody(req, limit, firstHeader(req.rawHeaders, "content-type"));
          relay(req, stream);
        }
        res.once("close", () => stream.destroy()); // the client went away: cancel upstream
        let head;
        try {
          head = await stream.head;
        } catch (e) {
          return sendError(endedError(e));
        }
        rec.status = head.status;
        res.writeHead(head.status, responseHeaders(head.headers, head.status, rec.requestId));
        // Most responses arrive whole with their head: answered in one write.
        const chunks = stream.takeCompleteBody();
        if (chunks !== null) return void (chunks.length === 0 ? res.end() : res.end(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
        // A watch may send no body for minutes: its head goes out now (over HTTP/2, writeHead sent
        // it). When body bytes already arrived with the head, the head leaves with them in one TLS write.
        if (!stream.bodyPending && res instanceof ServerResponse) res.flushHeaders();
        // A watch (or `logs -f`) that sat idle, or that a draining gateway ends, ends the way the API
        // server ends one at its own timeout: cleanly, so kubectl stops and informers re-watch
        // (through another gateway). Anything else cut short is an error.
        // Cut otherwise (its agent gone, access revoked), a JSON watch ends with an ERROR event that
        // says why, when the cut falls between two events.
        if (kind !== "watch") return relay(stream, res);
        const json = isJsonWatch(firstHeader(head.headers, "content-type"));
        const boundary = new WatchBoundary();
        relay(stream, res, {
          endOn: endsWatchCleanly,
          lastWords: (err) => (json && boundary.atBoundary && isExplainable(err) ? watchErrorEvent(streamEndedMessage(target.cluster, err)) : undefined),
        });
        // Beside the relay's own pipe (same turn: the stream starts flowing once, for both).
        if (json) stream.on("data", (c: Uint8Array) => boundary.push(c));
      },
      sendError,
    );
  }

  /** An upgrade request (exec, attach, port-forward over WebSocket or SPDY). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: ProxyTarget): void {
    const t0 = performance.now();
    const rec = exchangeStart(req, target, requestId(req.rawHeaders));
    let tunnel: TunnelStream | undefined;
    socket.on("error", () => {});
    // One record per upgrade, when the client connection closes (a session's bytes are known then).
    socket.once("close", () => this.#finish(rec, t0, tunnel));
    const refuse = (err: unknown) => {
      const pe = this.#fail(err, target, rec.requestId);
      rec.status = pe.status;
      socket.end(statusResponseBytes(pe, rec.requestId));
    };
    if (!isUpgradeRequest(req.rawHeaders)) {
      return refuse(new ProxyError(400, "Bad upgrade request: only WebSocket and SPDY/3.1 upgrades (exec, attach, port-forward) are relayed"));
    }
    // Whatever follows an upgrade request's head is the upgraded protocol's: a declared body would
    // be taken for it. No client sends one.
    if (hasBody(req.rawHeaders)) return refuse(new ProxyError(400, "Bad upgrade request: an upgrade request carries no body"));
    if (!isUpgradablePath(target.upstreamPath, target.query)) {
      return refuse(new ProxyError(400, "Bad upgrade request: only exec, attach, port-forward, proxy and watch requests are upgraded"));
    }
    this.#open(req, target, rec, true).then(async ({ stream, kind }) => {
      rec.kind = kind;
      tunnel = stream;
      const early = () => stream.destroy(); // the client left before the upgrade answer
      socket.once("close", early);
      if (head.length) stream.write(head);
      let h;
      try {
        h = await stream.head;
      } catch (e) {
        return refuse(endedError(e));
      }
      rec.status = h.status;
      const lines = [`HTTP/1.1 ${h.status} ${h.status === 101 ? "Switching Protocols" : "Upgrade Refused"}`];
      const headers = responseHeaders(h.headers, h.status, rec.requestId);
      for (let i = 0; i < headers.length; i += 2) lines.push(`${headers[i]}: ${headers[i + 1]}`);
      if (h.status !== 101) {
        // Relay the answer, then close: nothing further is read from this client connection.
        socket.pause();
        lines.push("Connection: close");
        socket.write(lines.join("\r\n") + "\r\n\r\n");
        stream.end();
        pipeline(stream, socket, () => socket.destroy());
        return;
      }
      socket.off("close", early);
      socket.write(lines.join("\r\n") + "\r\n\r\n");
      // An exec or attach cut between two WebSocket messages hears why on its error channel.
      const ws = isWebSocket(headers);
      const statusChannel = ws && kind === "exec" && hasStatusErrorChannel(firstHeader(headers, "sec-websocket-protocol")?.trim());
      let down: WebSocketActivity | undefined;
      splice(socket, stream, {
        lastWords: (err) => (statusChannel && down?.atMessageBoundary && isExplainable(err) ? execErrorFrames(streamEndedMessage(target.cluster, err)) : undefined),
      });
      if (ws) down = countWebSocketActivity(socket, stream);
    }, refuse);
  }
}
