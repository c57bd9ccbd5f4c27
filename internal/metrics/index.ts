/** Prometheus metrics and health endpoints for the long-running roles (prom-client). */
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from "./metrics_server.ts";
export { agentRegistry, type AgentMetricsSource, type AgentRegistryOptions } from "./agent_registry.ts";
export {
  gatewayMetrics, kubeVerb, registerAuditGauges, type ExchangeSample, type GatewayMetrics, type GatewayMetricsSource, type GatewayRegistryOptions,
} from "./gateway_registry.ts";
