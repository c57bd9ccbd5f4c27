import type { ServerResponse } from "node:http";

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

/** An error that the proxy turns into a Status response. */
export class ProxyError extends Error {
  override name = "ProxyError";
  readonly code: number;
  readonly reason: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  constructor(code: number, message: string, opts: { reason?: string; retryAfterSeconds?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.reason = opts.reason;
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

/** The bytes of a complete HTTP/1.1 response carrying a Status (for raw sockets, e.g. refused upgrades). */
export function statusResponseBytes(err: ProxyError): Buffer {
  const body = JSON.stringify(kubeStatus(err.code, err.message, err.reason));
  const head = [
    `HTTP/1.1 ${err.code} ${REASONS[err.code] ?? "Error"}`,
    "Content-Type: application/json",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Connection: close",
    ...(err.retryAfterSeconds !== undefined ? [`Retry-After: ${err.retryAfterSeconds}`] : []),
  ];
  return Buffer.from(head.join("\r\n") + "\r\n\r\n" + body);
}

/** Answers `res` with the error as a Status (the one place proxy-path errors are written). */
export function writeStatus(res: ServerResponse, err: ProxyError): void {
  const body = JSON.stringify(kubeStatus(err.code, err.message, err.reason));
  res.writeHead(err.code, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(body)),
    ...(err.retryAfterSeconds !== undefined ? { "retry-after": String(err.retryAfterSeconds) } : {}),
  });
  res.end(body);
}
