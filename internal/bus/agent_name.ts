/**
 * How an agent names its NATS connection: the gateways read the tunnel instance back from it when
 * the endpoint (or nats-server's disconnect event) says the connection ended.
 */
/** `ward-agent-<cluster>-<instance>`: what an agent names its NATS connection. */
export function agentConnectionName(cluster: string, instance: string): string {
  return `ward-agent-${cluster}-${instance}`;
}

/**
 * The tunnel instance id of an agent connection's name, given the cluster its credential proved
 * (the name itself is client-chosen: it only picks an instance within that cluster). Undefined when
 * the name is not one Ward's agent gives.
 */
export function agentInstanceOf(cluster: string, name: string | undefined): string | undefined {
  const prefix = `ward-agent-${cluster}-`;
  if (!name?.startsWith(prefix)) return undefined;
  const id = name.slice(prefix.length);
  return /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : undefined;
}
