/** One error type for the access area: a stable `reason`, an HTTP status, and a message saying what to do. */
import { HttpError } from "../errors/index.ts";

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

/** `retryAfter` (seconds) is set for RateLimited. */
export class AccessError extends HttpError {
  override name = "AccessError";
  declare readonly reason: AccessReason;

  constructor(reason: AccessReason, message: string, opts: { cause?: unknown; retryAfter?: number } = {}) {
    super(STATUS[reason], reason, message, opts);
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
