/**
 * Scale-out transport: gateways on a nats-server cluster instead of the embedded endpoint. The
 * auth callout that confines agents (callout.ts), the system-account view that kicks and hears
 * disconnects (system.ts), the nkey seed files (nkey_files.ts) and the nats-server configuration
 * Ward expects (nats_config.ts).
 */
export { AuthCallout, AUTH_CALLOUT_SUBJECT, AUTH_CALLOUT_QUEUE, parseRequest, type AuthCalloutOptions } from "./callout.ts";
export { NatsSystem, type DisconnectInfo } from "./system.ts";
export { readSeedFile, writeSeedFile, NkeyFileError, type SeedKind } from "./nkey_files.ts";
export { renderNatsConfig, type NatsConfigInput } from "./nats_config.ts";
