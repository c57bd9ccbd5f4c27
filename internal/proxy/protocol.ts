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
