/**
 * The tunnel: HTTP exchanges and upgraded connections multiplexed over NATS, with per-stream
 * credit flow control, sequence checks, pings, idle timeouts, stream limits and agent presence.
 *
 * Gateway: `TunnelGateway.start(bus, opts)` → `isOnline(cluster)`, `openStream(cluster, head)`,
 * events "online"/"offline". Agent: `new TunnelAgent(bus, { cluster })` → `serve(handler)`.
 * Both ends carry a `TunnelStream` (a Node Duplex). See DESIGN.md, "The tunnel".
 */
export { TunnelGateway, type GatewayOptions, type OpenStreamOptions, type GatewayEvents } from "./gateway.ts";
export { TunnelAgent, type AgentOptions, type StreamHandler } from "./agent.ts";
export { TunnelStream, type RequestHead, type ResponseHead, type FlowStats } from "./stream.ts";
export { type TunnelOptions, type Clock, DEFAULT_IDLE_TIMEOUT_MS } from "./options.ts";
export { STREAM_KINDS, type StreamKind, type RawHeaders } from "./frame.ts";
export {
  ClusterOfflineError, FrameError, ResetCode, resetCodeName, StreamLimitError, StreamResetError, TunnelClosedError,
} from "./errors.ts";
export { tunnelSubjects } from "./subjects.ts";
