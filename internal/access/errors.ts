/** One error type for the access area: a stable `reason`, an HTTP status, and a message saying what to do. */
export type AccessReason =
  | "Invalid"
  | "Unauthorized"
  | "Forbidden"
  | "NotFound"
  | "Conflict"
  | "SandboxCluster"
  | "NoGrant"
  | "MemberDisabled"
  | "RateLimited"
  | "FeatureDisabled"
  /** A credential would travel in clear: the gateway's public URL is plain http. */
  | "InsecureTransport";

const STATUS: Record<AccessReason, number> = {
  Invalid: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  SandboxCluster: 422,
  NoGrant: 403,
  MemberDisabled: 403,
  RateLimited: 429,
  FeatureDisabled: 404,
  InsecureTransport: 403,
};

export class AccessError extends Error {
  override name = "AccessError";
  readonly reason: AccessReason;
  readonly status: number;
  /** Seconds, for RateLimited. */
  readonly retryAfter?: number;

  constructor(reason: AccessReason, message: string, opts: { cause?: unknown; retryAfter?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.reason = reason;
    this.status = STATUS[reason];
    if (opts.retryAfter !== undefined) this.retryAfter = opts.retryAfter;
  }
}

/**
 * Why a k8s token was refused. Callers show clients a short fixed message and log `detail`.
 */
export class TokenRejectedError extends Error {
  override name = "TokenRejectedError";
  readonly detail: string;
  constructor(detail: string, cause?: unknown) {
    super("Unauthorized", cause === undefined ? undefined : { cause });
    this.detail = detail;
  }
}
