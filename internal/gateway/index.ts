/**
 * The gateway: the HTTPS server that wires the areas together (access, the NATS endpoint, tunnel,
 * proxy, sign-in), its API and portal routes, and its TLS material.
 * This file is the area's only public face.
 */
export { startGateway, type Gateway, type GatewayOptions } from "./gateway.ts";
export type { NatsClusterOptions } from "./transport.ts";
export { createApp, API_BODY_MAX_BYTES, AUTH_BODY_MAX_BYTES, type AppDeps, type ReadinessCheck } from "./app.ts";
export { loadTls, subjectAltNames, type LoadTlsOptions, type SanEntry, type TlsMaterial } from "./tls.ts";
export { tokenCheck, type TokenVerifier } from "./token_check.ts";
