/**
 * The gateway's port. Over TLS it speaks HTTP/2 to clients that choose it by ALPN — kubectl and
 * every client-go program, so one connection carries all of a client's requests and watches, as
 * with a real API server — and HTTP/1.1 for upgrades (exec, attach and port-forward over WebSocket
 * or SPDY: Go's dialers for both offer only http/1.1), older clients and clients that ask for it.
 * Plain HTTP (`--plain-http`, behind a TLS-terminating proxy) is HTTP/1.1 only.
 *
 * HTTP/2 has no upgrade: nghttp2 resets a stream whose request carries Connection, Upgrade,
 * Transfer-Encoding or `:protocol` (extended CONNECT, RFC 8441, stays off) with PROTOCOL_ERROR
 * before it is a request, so such a request never reaches the proxy.
 *
 * Bounds, HTTP/1.1 and HTTP/2 alike: a request head of at most 16 KiB (Node's HTTP/1.1 limit; an
 * HTTP/2 header list past it resets the stream once the client acknowledged the server's SETTINGS,
 * and Node's 64 KiB default bounds it before), 20 s for the TLS handshake (Node's default is 120 s)
 * and 20 s more to send the first request head on a new connection. Per HTTP/2 session: 100 concurrent streams (kube-apiserver's default since the
 * rapid-reset fix, k8s.io/apiserver secure_serving.go; client-go opens another connection past
 * it), 10 MiB of nghttp2 memory (Node's default, written down), and Node's rapid-reset and
 * invalid-frame limits left at their defaults. A session with no open stream for 90 s (kube-apiserver's
 * idle timeout, client-go's idle-connection time) gets GOAWAY; one that never opens a stream, after 20 s.
 */
import { createServer as createHttpServer, type Server } from "node:http";
import { createSecureServer, type Http2SecureServer, type ServerHttp2Session } from "node:http2";
import type { RequestHandler, UpgradeHandler } from "../proxy/index.ts";

/** With allowHTTP1, the HTTP/2 server has closeIdleConnections() for its HTTP/1.1 side; its types leave it out. */
export type GatewayServer = Server | (Http2SecureServer & { closeIdleConnections(): void });

const HEADERS_TIMEOUT_MS = 20_000;
/**
 * How often Node checks HTTP/1.1 connections against the head timeout. Its default (30 s) let a
 * connection dribbling its head (slowloris) or sending nothing stay up to 50 s; with this, 25 s.
 */
const CONNECTIONS_CHECK_MS = 5_000;
const MAX_HEADER_BYTES = 16 * 1024;
export const H2_MAX_CONCURRENT_STREAMS = 100;
const H2_IDLE_SESSION_MS = 90_000;
/**
 * Receive windows for request bodies: 256 KiB per stream (kube-apiserver's per-stream upload
 * buffer, enough for most objects in one round trip) and 1 MiB per session, which bounds what one
 * session's uploads can make the gateway hold while the tunnel is slower than the client.
 */
const H2_STREAM_WINDOW = 256 * 1024;
const H2_SESSION_WINDOW = 1024 * 1024;

export interface ListenerOptions {
  /** Serve TLS (HTTP/2 and HTTP/1.1); absent: plain HTTP/1.1. */
  tls: { cert: Buffer; key: Buffer } | undefined;
  request: RequestHandler;
  upgrade: UpgradeHandler;
}

export function createListener({ tls, request, upgrade }: ListenerOptions): GatewayServer {
  let server: GatewayServer;
  if (tls) {
    const h2 = createSecureServer({
      cert: tls.cert, key: tls.key, allowHTTP1: true,
      settings: { maxConcurrentStreams: H2_MAX_CONCURRENT_STREAMS, maxHeaderListSize: MAX_HEADER_BYTES, initialWindowSize: H2_STREAM_WINDOW, enablePush: false },
      maxSessionMemory: 10,
      handshakeTimeout: HEADERS_TIMEOUT_MS,
      // Read by the HTTP/1.1 side (Node passes the options on to it); not in the HTTP/2 types.
      ...{ headersTimeout: HEADERS_TIMEOUT_MS, connectionsCheckingInterval: CONNECTIONS_CHECK_MS },
    }, request);
    h2.on("session", (s: ServerHttp2Session) => boundSession(s, { firstStreamMs: HEADERS_TIMEOUT_MS, idleMs: H2_IDLE_SESSION_MS }));
    server = h2 as Http2SecureServer & { closeIdleConnections(): void };
  } else {
    const h1 = createHttpServer({ connectionsCheckingInterval: CONNECTIONS_CHECK_MS }, request);
    h1.headersTimeout = HEADERS_TIMEOUT_MS;
    server = h1;
  }
  // Fires for HTTP/1.1 connections on the HTTP/2 server too (allowHTTP1).
  server.on("upgrade", upgrade);
  return server;
}

/**
 * Closes (GOAWAY) a session that opened no stream within `firstStreamMs`, or that had none open for
 * `idleMs`. An open stream keeps it however quiet (a watch may see no event for minutes; the
 * tunnel's idle timeouts bound that). Node's session timer counts stream traffic only (not PINGs),
 * and does not restart when the last stream ends: that restarts it here.
 */
export function boundSession(session: ServerHttp2Session, { firstStreamMs, idleMs }: { firstStreamMs: number; idleMs: number }): void {
  let open = 0;
  session.setLocalWindowSize(H2_SESSION_WINDOW);
  session.setTimeout(firstStreamMs);
  session.on("timeout", () => {
    if (open === 0) session.close();
  });
  session.on("stream", (stream) => {
    open++;
    stream.once("close", () => {
      if (--open === 0 && !session.closed) session.setTimeout(idleMs);
    });
  });
}
