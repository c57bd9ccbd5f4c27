/**
 * OAuth-shaped errors of the sign-in endpoints (RFC 6749 §5.2, RFC 8628 §3.5): the OAuth error code
 * clients branch on is the `reason` (rendered as `error`), with an HTTP status and a description a
 * person can act on (rendered as `error_description`).
 */
import { HttpError } from "../errors/index.ts";

export type AuthErrorCode =
  | "invalid_request"
  | "invalid_grant"
  | "unsupported_grant_type"
  | "authorization_pending"
  | "slow_down"
  | "access_denied"
  | "expired_token"
  | "rate_limited"
  | "login_failed"
  | "no_membership";

const STATUS: Record<AuthErrorCode, number> = {
  invalid_request: 400,
  invalid_grant: 400,
  unsupported_grant_type: 400,
  authorization_pending: 400,
  slow_down: 400,
  access_denied: 400,
  expired_token: 400,
  rate_limited: 429,
  login_failed: 400,
  no_membership: 403,
};

export class AuthError extends HttpError {
  override name = "AuthError";
  declare readonly reason: AuthErrorCode;
  constructor(code: AuthErrorCode, description: string, opts: { retryAfter?: number; cause?: unknown } = {}) {
    super(STATUS[code], code, description, opts);
  }
}
