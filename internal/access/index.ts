/**
 * Access: members, clusters, grants, settings, k8s tokens (mint + verify), revocation events.
 * This file is the area's only public face. The messages the agent exchanges with `AccessSync`
 * live in `bus/access_messages.ts`, so the agent never loads this area.
 */
export { AccessService, type AccessServiceOptions } from "./service.ts";
export { DEFAULT_MAX_TOKEN_LIFETIME_S } from "./access_settings_store.ts";
export { AccessError, TokenRejectedError, type AccessReason } from "./errors.ts";
export { SigningKeys, TOKEN_ALG } from "./signing_keys.ts";
export { RateLimiter, type RateLimiterOptions } from "./rate_limiter.ts";
export { hashSecret, newId, newSecret } from "./secrets.ts";
export type { MemberRole } from "./validate.ts";
export type {
  AccessAuditEvent, AccessEvents, AccessSettings, ApiTokenInfo, AuthContext, Cluster, Grant, Member, RevocationEvent, TokenContext,
} from "./types.ts";
export { AccessSync, type AccessSyncOptions, type PresenceSource } from "./gateway_sync.ts";
export { AccessRelay, RELAY_SUBJECT } from "./relay.ts";
