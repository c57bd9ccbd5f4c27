/**
 * The one shape of an error that becomes an HTTP answer: an HTTP `status`, a stable `reason` clients
 * branch on, a `message` a person can act on, and `retryAfter` (seconds) when trying again later
 * helps. The areas' error classes extend it (AccessError, AuthError, ProxyError); each surface
 * renders it its own way: a Kubernetes `Status` on the proxy path, JSON `{ error, reason }` on the
 * APIs, OAuth `{ error, error_description }` on the token endpoint, HTML on portal pages.
 */
export interface HttpErrorOptions {
  cause?: unknown;
  /** Seconds; sent as `Retry-After`. */
  retryAfter?: number | undefined;
}

export class HttpError extends Error {
  override name = "HttpError";
  readonly status: number;
  readonly reason: string;
  readonly retryAfter?: number;

  constructor(status: number, reason: string, message: string, opts: HttpErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.status = status;
    this.reason = reason;
    if (opts.retryAfter !== undefined) this.retryAfter = opts.retryAfter;
  }
}
