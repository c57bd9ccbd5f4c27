import { HttpError } from "../errors/index.ts";
import type { EdgeResponse } from "./protocol.ts";

/**
 * Every error on the proxy path is a Kubernetes `Status` whose `code` matches the HTTP status,
 * so kubectl prints it well. Clients get a short, fixed message; details go to the log.
 */
const REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  409: "Conflict",
  429: "TooManyRequests",
  500: "InternalError",
  502: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

export interface KubeStatus {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure";
  message: string;
  reason: string;
  code: number;
}

export function kubeStatus(code: number, message: string, reason?: string): KubeStatus {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason: reason ?? REASONS[code] ?? "InternalError", code };
}

/** An error that the proxy turns into a Status response; `reason` defaults to the status's Kubernetes reason. */
export class ProxyError extends HttpError {
  override name = "ProxyError";
  constructor(status: number, message: string, opts: { reason?: string; retryAfter?: number; cause?: unknown } = {}) {
    super(status, opts.reason ?? REASONS[status] ?? "InternalError", message, opts);
  }
}

/** The bytes of a complete HTTP/1.1 response carrying a Status (for raw sockets, e.g. refused upgrades). */
export function statusResponseBytes(err: ProxyError, requestId?: string): Buffer {
  const body = JSON.stringify(kubeStatus(err.status, err.message, err.reason));
  const head = [
    `HTTP/1.1 ${err.status} ${REASONS[err.status] ?? "Error"}`,
    "Content-Type: application/json",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Connection: close",
    ...(err.retryAfter !== undefined ? [`Retry-After: ${err.retryAfter}`] : []),
    ...(requestId !== undefined ? [`X-Request-Id: ${requestId}`] : []),
  ];
  return Buffer.from(head.join("\r\n") + "\r\n\r\n" + body);
}

/** What an error answer needs of the request it answers (ServerResponse and Http2ServerResponse both have `req`). */
interface AnsweredRequest {
  complete: boolean;
  httpVersionMajor: number;
  stream?: { close(code?: number): void; closed: boolean };
}

/**
 * Answers `res` with the error as a Status (the one place proxy-path errors are written).
 *
 * A request body still arriving is not read after an error (often before authentication): over
 * HTTP/1.1 the connection closes after the answer (Node would otherwise read and discard the rest
 * for as long as the client sends it, up to its 5-minute request timeout); over HTTP/2 the stream
 * is reset with NO_ERROR once the answer is out (RFC 9113 §8.1), instead of staying half-open.
 */
export function writeStatus(res: EdgeResponse, err: ProxyError, requestId?: string): void {
  const body = JSON.stringify(kubeStatus(err.status, err.message, err.reason));
  const req = (res as EdgeResponse & { req?: AnsweredRequest }).req;
  const unread = req !== undefined && !req.complete;
  res.writeHead(err.status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(body)),
    ...(err.retryAfter !== undefined ? { "retry-after": String(err.retryAfter) } : {}),
    ...(requestId !== undefined ? { "x-request-id": requestId } : {}),
    ...(unread && req.httpVersionMajor !== 2 ? { connection: "close" } : {}),
  });
  if (unread && req.httpVersionMajor === 2) res.once("finish", () => req.stream?.closed === false && req.stream.close(0 /* NO_ERROR */));
  res.end(body);
}
