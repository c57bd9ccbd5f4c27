/**
 * The embedded NATS endpoint (the gateway speaks the NATS client protocol itself) and the client
 * side helper. This file is the area's only public face.
 *
 *   const nats = new NatsServer({ authenticator });
 *   const ws = createNatsUpgradeHandler(nats);   // the caller routes `/nats` upgrades to ws.handleUpgrade
 *   attachNatsWebSocket(httpServer, nats, { path: "/nats" }); // or: a listener of its own for that path
 *   const bus = nats.connectInProcess({ identity: "gateway" });   // a Bus, no network
 *   const remote = await connectBus("ws://host:port/nats", { user, pass }); // a Bus over WebSocket
 */
export { NatsServer } from "./server.ts";
export {
  attachNatsWebSocket,
  createNatsUpgradeHandler,
  NATS_PATH,
  type NatsUpgradeHandler,
  type NatsUpgradeOptions,
  type NatsWebSocketOptions,
  type NatsWebSocketHandle,
  type UpgradeEmitter,
} from "./websocket.ts";
export { listenNatsTcp, type NatsTcpOptions, type NatsTcpListener } from "./tcp.ts";
export { connectBus, connectBusAny, connectBusTcp, type ConnectBusOptions, type ConnectTcpOptions, type BusConnection } from "./connect.ts";
export type { InProcessConnection, InProcessOptions } from "./in_process.ts";
export type { InProcessMsg } from "./in_process_msg.ts";
export type { NatsServerOptions, Authenticator, AuthResult, ConnectOptions } from "./options.ts";
export type { Permissions, ResponsePermission } from "./permissions.ts";
export type { ServerStats } from "./transport.ts";
export {
  NatsProtocolError,
  NatsConfigError,
  NatsConnectionClosedError,
  NatsAuthenticatorError,
  CLOSED,
  ERR,
  type ClosedReason,
} from "./errors.ts";
export { isValidSubject, isValidLiteralSubject } from "./subject.ts";
