/** The agent: gateway connection, presence, and grants reconciled into RBAC. */
export { Agent, backoffMs, natsUrl, type AgentOptions } from "./agent.ts";
export { planBindings, reconcileRbac, refusedInAgentNamespace, LABEL_SELECTOR, MANAGED_BY_LABEL, GRANT_LABEL, type Binding, type RbacApi, type KubeBinding } from "./rbac.ts";
export { StreamStats } from "./stream_stats.ts";
