/**
 * A nats-server configuration for Ward's scale-out mode, rendered from the public keys of
 * `ward gateway nats-init`. The README's sample and the tests' 3-node cluster are both this text.
 *
 * - Account WARD holds the gateways (nkey users, exempt from the callout) and, placed there by
 *   the callout, every agent — each confined to its own cluster's subjects by the user JWT the
 *   callout returns.
 * - Account SYS (the system account) holds the gateways' system user: it kicks the connections of
 *   an agent whose credential was rotated and hears disconnects (presence).
 * - auth_callout: every other client (the agents) is checked by the gateways' callout service.
 *   Enabling it needs a nats-server restart: it cannot be reloaded.
 */
export interface NatsConfigInput {
  /** Public key (`U…`) of the gateways' user in WARD. */
  gatewayUser: string;
  /** Public key (`U…`) of the gateways' user in the system account. */
  systemUser: string;
  /** Public key (`A…`) of the callout's signing account key. */
  calloutIssuer: string;
  /** This node's name. */
  serverName: string;
  /** NATS TCP listen address (gateways). */
  listen: string;
  /** WebSocket listen address (agents). */
  websocketListen: string;
  /** TLS for the websocket listener; omitted: `no_tls: true` (behind a TLS-terminating load balancer, or tests). */
  websocketTls?: { certFile: string; keyFile: string };
  /** Cluster routes: this node's listen address and every node's route URL. */
  cluster?: { name: string; listen: string; routes: string[] };
  /** Monitoring endpoint (`/varz`, `/connz`, `/healthz`), loopback in tests. */
  httpListen?: string;
  /** Agents' account (default WARD). */
  account?: string;
}

export function renderNatsConfig(c: NatsConfigInput): string {
  const acc = c.account ?? "WARD";
  const q = JSON.stringify;
  const ws = c.websocketTls ? `tls { cert_file: ${q(c.websocketTls.certFile)}, key_file: ${q(c.websocketTls.keyFile)} }` : "no_tls: true";
  const lines = [
    `# nats-server for Ward scale-out (ward gateway nats-init). Restart the server to change auth_callout.`,
    `server_name: ${q(c.serverName)}`,
    `listen: ${q(c.listen)}`,
    ...(c.httpListen ? [`http: ${q(c.httpListen)}`] : []),
    `websocket {`,
    `  listen: ${q(c.websocketListen)}`,
    `  ${ws}`,
    `  compression: false`,
    `}`,
    ...(c.cluster
      ? [`cluster {`, `  name: ${q(c.cluster.name)}`, `  listen: ${q(c.cluster.listen)}`, `  routes: [${c.cluster.routes.map((r) => q(r)).join(", ")}]`, `}`]
      : []),
    `accounts {`,
    `  ${acc}: { users: [ { nkey: ${c.gatewayUser} } ] }`,
    `  SYS: { users: [ { nkey: ${c.systemUser} } ] }`,
    `}`,
    `system_account: SYS`,
    `authorization {`,
    `  # Agents have a few seconds to be checked by a gateway's callout.`,
    `  timeout: 5`,
    `  auth_callout {`,
    `    issuer: ${c.calloutIssuer}`,
    `    auth_users: [ ${c.gatewayUser}, ${c.systemUser} ]`,
    `    account: ${acc}`,
    `  }`,
    `}`,
  ];
  return lines.join("\n") + "\n";
}
