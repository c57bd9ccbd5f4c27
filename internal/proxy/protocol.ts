/**
 * The two protocols on the gateway's HTTPS port, as the proxy path sees them. Node's compat API
 * hands HTTP/2 streams to the same `request` listener as HTTP/1.1 requests, with the same shape
 * where it matters (rawHeaders, url, writeHead with a flat list, streaming bodies); what differs
 * sits here. Upgrades only ever arrive over HTTP/1.1.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { Writable } from "node:stream";
import { hasBody } from "./headers.ts";

export type EdgeRequest = IncomingMessage | Http2ServerRequest;

/**
 * What the proxy path uses of a response, which `ServerResponse` and `Http2ServerResponse` both
 * have. A flat header list keeps repeated headers (Warning, Set-Cookie) on both; HTTP/2's
 * writeHead sends its HEADERS frame at once, HTTP/1.1's waits for the body or flushHeaders().
 */
export interface EdgeResponse extends Writable {
  readonly headersSent: boolean;
  writeHead(status: number, headers: string[] | OutgoingHttpHeaders): unknown;
}
export type Protocol = "HTTP/1.1" | "HTTP/2";

/** The request's protocol (an HTTP/1.0 request counts as HTTP/1.1: it is answered by the same code). */
export function protocolOf(req: EdgeRequest): Protocol {
  return req.httpVersionMajor === 2 ? "HTTP/2" : "HTTP/1.1";
}

/**
 * Whether a request carries a body. HTTP/1.1 says so in its framing headers; an HTTP/2 request
 * needs neither Content-Length nor Transfer-Encoding: it has no body exactly when its HEADERS frame
 * ended the stream.
 */
export function requestHasBody(req: EdgeRequest): boolean {
  return req.httpVersionMajor === 2 ? !(req as Http2ServerRequest).stream.endAfterHeaders : hasBody(req.rawHeaders);
}

/** Headers HTTP/2 forbids in a response (RFC 9113 §8.2.2): Node throws on them. */
const CONNECTION_SPECIFIC = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

/**
 * An app response that may go out over HTTP/2: connection-specific headers are left out of
 * writeHead and setHeader, as HTTP/2 requires, where Node would throw (Hono's streaming helpers
 * set `Transfer-Encoding: chunked`, which HTTP/1.1 needs and HTTP/2 forbids). The same response
 * object, patched; HTTP/1.1 responses are returned untouched.
 */
export function appResponse<R extends { writeHead: (...a: any[]) => unknown; setHeader: (n: string, v: any) => unknown }>(req: EdgeRequest, res: R): R {
  if (protocolOf(req) !== "HTTP/2") return res;
  const writeHead = res.writeHead.bind(res);
  const setHeader = res.setHeader.bind(res);
  res.writeHead = (status: number, ...rest: unknown[]) => {
    const i = rest.findIndex((x) => typeof x === "object" && x !== null);
    if (i >= 0) rest[i] = withoutConnectionHeaders(rest[i] as string[] | OutgoingHttpHeaders);
    return writeHead(status, ...rest);
  };
  res.setHeader = (name: string, value: unknown) => (CONNECTION_SPECIFIC.has(name.toLowerCase()) ? res : setHeader(name, value));
  return res;
}

function withoutConnectionHeaders(h: string[] | OutgoingHttpHeaders): string[] | OutgoingHttpHeaders {
  if (Array.isArray(h)) {
    const out: string[] = [];
    for (let i = 0; i < h.length; i += 2) if (!CONNECTION_SPECIFIC.has(String(h[i]).toLowerCase())) out.push(h[i]!, h[i + 1]!);
    return out;
  }
  return Object.fromEntries(Object.entries(h).filter(([k]) => !CONNECTION_SPECIFIC.has(k.toLowerCase())));
}
