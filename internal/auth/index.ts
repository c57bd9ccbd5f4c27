/**
 * Sign-in: OIDC relying party, portal sessions with CSRF, local admin bootstrap, device login for
 * the CLI and refreshable CLI sessions. This file is the area's only public face.
 */
export { AuthError, type AuthErrorCode } from "./errors.ts";
export { CliSessions, type CliSessionsOptions, type CliTokens } from "./cli_sessions.ts";
export { DeviceFlow, DEVICE_GRANT_TYPE, type DeviceAuthorization, type DeviceFlowOptions, type DeviceStartOptions, type PendingDevice } from "./device.ts";
export { displayText } from "./display_text.ts";
export { PortalSessions, csrfMatches, type PortalSession, type PortalSessionsOptions } from "./portal_sessions.ts";
export { Bootstrap, type BootstrapOptions } from "./bootstrap.ts";
export { OidcLogin, type OidcIdentity, type OidcOptions } from "./oidc.ts";
export { normalizeUserCode } from "./user_code.ts";
