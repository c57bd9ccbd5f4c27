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
import type { Logger } from "../log/index.ts";
import type { StreamHandler, TunnelStream } from "../tunnel/index.ts";
import { isUpgradeRequest, MissingIdentityError, upstreamRequestHeaders } from "./headers.ts";
import { relay, splice } from "./splice.ts";
import { kubeStatus } from "./status.ts";

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

/**
 * The pool for the one API server this handler talks to. Node's default pool key concatenates the
 * CA, client certificate and key PEMs for every request and hashes the result when it looks up a
 * free socket — kilobytes per request for a key that never changes here.
 */
class UpstreamHttpsAgent extends HttpsAgent {
  override getName(): string {
    return "apiserver";
  }
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
  // As many idle connections kept as may be open: under load, fewer would churn TLS handshakes.
  const agentOpts = { keepAlive: true, maxSockets: 256, maxFreeSockets: 256, scheduling: "lifo" as const };
  const agent = tls
    ? new UpstreamHttpsAgent({ ...agentOpts, ca: o.ca, cert: o.cert, key: o.key, rejectUnauthorized: !o.insecureSkipTLSVerify })
    : new HttpAgent(agentOpts);
  const request = tls ? httpsRequest : httpRequest;

  return (stream) => {
    // A reset from the gateway (revocation, a client that left, shutdown) can arrive at any time,
    // also before the API server answered: the 'close' listener below aborts the upstream request,
    // so the error itself needs no handling, only a listener.
    stream.on("error", () => {});
    let headers: string[];
    try {
      headers = upstreamRequestHeaders(stream.request.headers, host, o.userPrefix).headers;
    } catch (e) {
      if (!(e instanceof MissingIdentityError)) throw e;
      o.logger.warn("stream refused: no identity to impersonate", { err: e });
      return respondStatus(stream, 403, "Forbidden: the request carries no identity to impersonate");
    }
    const token = typeof o.token === "function" ? o.token() : o.token;
    if (token) headers.push("Authorization", `Bearer ${token}`);
    const upgrade = isUpgradeRequest(stream.request.headers);
    o.onActive?.(1);
    stream.once("close", () => o.onActive?.(-1));

    let responded = false;
    let complete = false;
    const req = request({
      host: url.hostname,
      port: url.port || (tls ? 443 : 80),
      method: stream.request.method,
      path: base + stream.request.path,
      headers,
      agent,
      setHost: false,
    });
    // Cancellation: a stream that closes before the upstream exchange completed aborts it. A completed
    // exchange is left alone, so its keep-alive connection goes back to the pool (no new TLS handshake).
    stream.once("close", () => {
      if (!complete) req.destroy();
    });
    req.on("error", (err) => {
      if (responded || stream.destroyed) return void stream.destroy();
      responded = true;
      o.logger.warn("upstream request failed", { err, method: stream.request.method });
      respondStatus(stream, 502, `The agent could not reach the API server: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
    });
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
    if (upgrade) {
      // Bytes written before the 101 belong to the upgraded protocol: they flow once it is up.
      req.end();
    } else if (!hasBody(stream.request.headers)) {
      // No request body (most GETs): send the request now rather than after the stream's end arrives.
      req.end();
      stream.resume();
    } else {
      relay(stream, req);
    }
  };
}

/** Whether the request carries a body: a non-zero Content-Length or any Transfer-Encoding. */
function hasBody(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === "transfer-encoding") return true;
    if (name === "content-length" && raw[i + 1]!.trim() !== "0") return true;
  }
  return false;
}
