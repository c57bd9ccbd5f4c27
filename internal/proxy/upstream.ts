/**
 * The agent's side of the proxy: forwards each tunnel stream to the API server with impersonation
 * of the identity the gateway set (never without one), relays the response as it streams, and
 * pipes upgraded connections (WebSocket and SPDY/3.1) as raw bytes after the API server's 101.
 * Cancellation travels both ways: a reset stream aborts the upstream request, and an upstream
 * close ends the stream.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import { Pool, type Dispatcher } from "undici";
import type { Logger } from "../log/index.ts";
import type { StreamHandler, TunnelStream } from "../tunnel/index.ts";
import { hasBody, isUpgradeRequest, MissingIdentityError, upstreamRequestHeaders } from "./headers.ts";
import { relay, splice } from "./splice.ts";
import { kubeStatus } from "./status.ts";
import { isValidRequestId, REQUEST_ID_HEADER } from "../validate/index.ts";

export interface UpstreamOptions {
  /** The API server, e.g. https://10.0.0.1:443. */
  server: string;
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The agent's own bearer token (service account), if it does not use a client certificate. */
  token?: string | (() => string);
  insecureSkipTLSVerify?: boolean;
  /** Prepended to the identity's user for Impersonate-User (the agent's mapping, e.g. "ward:"). */
  userPrefix?: string;
  logger: Logger;
  /** Called with each stream's open/close, for the agent's open-stream gauge. */
  onActive?: (delta: 1 | -1) => void;
}

function respondStatus(stream: TunnelStream, code: number, message: string): void {
  const body = JSON.stringify(kubeStatus(code, message));
  stream.respond({ status: code, headers: ["Content-Type", "application/json", "Content-Length", String(Buffer.byteLength(body))] });
  stream.end(body);
}

export function createUpstreamHandler(o: UpstreamOptions): StreamHandler {
  const url = new URL(o.server);
  const tls = url.protocol === "https:";
  const host = url.host;
  const base = url.pathname.replace(/\/$/, "");
  // Plain exchanges go through undici pools: their client costs a fraction of node:http's per request,
  // and the agent makes one upstream request per kubectl request. Two pools, by stream kind:
  //  - watches and follows (`?watch`, `logs -f`) over HTTP/2 when the API server offers it (ALPN, as
  //    kube-apiserver does): any number of them, idle for hours, share one TLS connection;
  //  - everything else (GET, LIST, writes) over HTTP/1.1 keep-alive connections: kube-apiserver sends
  //    a large response over HTTP/2 much more slowly (LIST of 5,000 ConfigMaps, 3.2 MiB, from a plain
  //    client: about 50 ms over HTTP/1.1 against about 80 ms over HTTP/2, whatever the window or frame
  //    size; through Ward 60–92 ms against 115–126 ms), and small requests cost no more (bench-proxy,
  //    c=1 and c=64, interleaved runs).
  // No connection cap (the tunnel's stream limits bound what is open; a cap would queue requests
  // behind long watches), no header or body timeouts (a watch or `logs -f` may be quiet for an hour;
  // the tunnel's per-kind idle timeouts apply instead).
  const poolOptions = {
    connections: null,
    headersTimeout: 0,
    bodyTimeout: 0,
    connect: tls ? { ca: o.ca, cert: o.cert, key: o.key, rejectUnauthorized: !o.insecureSkipTLSVerify } : undefined,
  };
  const watches = new Pool(url.origin, { ...poolOptions, allowH2: true });
  const requests = new Pool(url.origin, { ...poolOptions, allowH2: false });
  // Upgrades (exec, attach, port-forward) keep node:http, which hands over the socket after any answer.
  const agent = tls
    ? new HttpsAgent({ keepAlive: false, ca: o.ca, cert: o.cert, key: o.key, rejectUnauthorized: !o.insecureSkipTLSVerify })
    : new HttpAgent({ keepAlive: false });
  const request = tls ? httpsRequest : httpRequest;

  return (stream) => {
    // A reset from the gateway (revocation, a client that left, shutdown) can arrive at any time,
    // also before the API server answered: the 'close' listener below aborts the upstream request,
    // so the error itself needs no handling, only a listener.
    stream.on("error", () => {});
    // The gateway set exactly one well-formed id; anything else is not logged as one.
    const requestId = headerValue(stream.request.headers, REQUEST_ID_HEADER);
    const logger = requestId !== undefined && isValidRequestId(requestId) ? o.logger.child({ requestId }) : o.logger;
    let headers: string[];
    try {
      headers = upstreamRequestHeaders(stream.request.headers, host, o.userPrefix).headers;
    } catch (e) {
      if (!(e instanceof MissingIdentityError)) throw e;
      logger.warn("stream refused: no identity to impersonate", { err: e });
      return respondStatus(stream, 403, "Forbidden: the request carries no identity to impersonate");
    }
    const token = typeof o.token === "function" ? o.token() : o.token;
    if (token) headers.push("Authorization", `Bearer ${token}`);
    o.onActive?.(1);
    const t0 = performance.now();
    stream.once("close", () => {
      o.onActive?.(-1);
      // Debug level: one line per request (with the id the gateway's line and the audit row carry).
      logger.debug("upstream request", { method: stream.request.method, path: pathOnly(stream.request.path), kind: stream.kind, durationMs: Math.round(performance.now() - t0) });
    });
    if (isUpgradeRequest(stream.request.headers)) upgradeExchange(stream, request, agent, url, base + stream.request.path, headers, logger);
    else plainExchange(stream, stream.kind === "watch" ? watches : requests, base + stream.request.path, headers, logger);
  };
}

function headerValue(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) return raw[i + 1];
  return undefined;
}

const pathOnly = (p: string) => {
  const q = p.indexOf("?");
  return q === -1 ? p : p.slice(0, q);
};

/**
 * One request/response through the pool, streamed both ways with backpressure: the stream's
 * request body feeds undici, and a full tunnel window pauses the read from the API server.
 */
function plainExchange(stream: TunnelStream, pool: Pool, path: string, headers: string[], logger: Logger): void {
  // Transfer-Encoding is not forwarded (hop-by-hop): undici frames a body of unknown length itself.
  const body = hasBody(stream.request.headers);
  let controller: Dispatcher.DispatchController | undefined;
  let responded = false;
  let complete = false;
  // Cancellation: a stream that closes before the exchange completed aborts it.
  stream.once("close", () => {
    if (!complete) controller?.abort(new Error("The tunnel stream closed"));
  });
  if (!body) stream.resume(); // nothing to read but the end
  // The body is read through a view that leaves the stream open when it is done: undici's HTTP/1.1
  // client destroys a stream body once sent, and this stream still carries the response.
  const source = body ? Readable.from(stream.iterator({ destroyOnReturn: false }), { objectMode: false }) : null;
  pool.dispatch({ method: stream.request.method, path, headers, body: source, upgrade: null }, {
    onRequestStart(c) {
      controller = c;
      if (stream.destroyed) c.abort(new Error("The tunnel stream closed"));
    },
    onResponseStart(c, statusCode, parsed) {
      responded = true;
      // A plain response's head waits (briefly) for its first body bytes: over HTTP/2 they often
      // arrive in a later read, and together they cost one tunnel message and one client write.
      stream.respond({ status: statusCode, headers: rawStrings(c.rawHeaders ?? parsed) }, { hold: stream.kind === "request" });
    },
    onResponseData(c, chunk) {
      if (!stream.write(chunk)) {
        c.pause();
        stream.once("drain", () => c.resume());
      }
    },
    onResponseEnd() {
      complete = true;
      stream.end();
    },
    onResponseError(_c, err) {
      complete = true;
      if (stream.destroyed) return;
      if (responded) return void stream.destroy(err);
      responded = true;
      upstreamFailed(stream, err, logger);
    },
  });
}

/** The API server could not be reached (nothing answered yet): a 502 Status on the stream. */
function upstreamFailed(stream: TunnelStream, err: Error, logger: Logger): void {
  logger.warn("upstream request failed", { err, method: stream.request.method });
  respondStatus(stream, 502, `The agent could not reach the API server: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
}

/** Header pairs as undici hands them over (raw Buffers or strings, or an object), as a flat list of strings. */
function rawStrings(raw: readonly (Buffer | string)[] | Record<string, string | string[] | undefined>): string[] {
  const out: string[] = [];
  if (Array.isArray(raw)) {
    for (const v of raw as readonly (Buffer | string)[]) out.push(typeof v === "string" ? v : v.toString("latin1"));
    return out;
  }
  for (const [name, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) out.push(name, x);
  }
  return out;
}

/** An upgrade (exec, attach, port-forward): after a 101 the socket is spliced raw to the stream. */
function upgradeExchange(
  stream: TunnelStream, request: typeof httpsRequest, agent: HttpAgent, url: URL, path: string, headers: string[], logger: Logger,
): void {
  let responded = false;
  let complete = false;
  const req = request({
    host: url.hostname,
    port: url.port || (url.protocol === "https:" ? 443 : 80),
    method: stream.request.method,
    path,
    headers,
    agent,
    setHost: false,
  });
  stream.once("close", () => {
    if (!complete) req.destroy();
  });
  req.on("error", (err) => {
    if (responded || stream.destroyed) return void stream.destroy();
    responded = true;
    upstreamFailed(stream, err, logger);
  });
  // A non-101 answer to an upgrade is relayed like any response.
  req.on("response", (res: IncomingMessage) => {
    responded = true;
    stream.respond({ status: res.statusCode ?? 502, headers: res.rawHeaders });
    res.once("end", () => (complete = true));
    relay(res, stream);
  });
  req.on("upgrade", (res: IncomingMessage, socket: Socket, head: Buffer) => {
    responded = true;
    stream.respond({ status: res.statusCode ?? 101, headers: res.rawHeaders });
    if (head.length) stream.write(head);
    splice(socket, stream);
  });
  // Bytes written before the 101 belong to the upgraded protocol: they flow once it is up.
  req.end();
}

