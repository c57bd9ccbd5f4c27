/**
 * Subject layout. The cluster id in every subject is the security boundary:
 * - gateway -> agent: `ward.agent.<cluster>.>`  (an agent may only SUBSCRIBE here)
 * - agent -> gateway: `ward.gw.<cluster>.>`     (an agent may only PUBLISH here)
 * Ids are validated before they are placed in a subject.
 */
const CLUSTER_ID = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

export function isValidClusterId(id: string): boolean {
  return CLUSTER_ID.test(id);
}

export function assertClusterId(id: string): string {
  if (!isValidClusterId(id)) {
    throw new Error(
      `Invalid cluster id ${JSON.stringify(id.slice(0, 80))}: use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
    );
  }
  return id;
}

function token(kind: string, v: string): string {
  if (!TOKEN.test(v)) throw new Error(`Invalid ${kind} ${JSON.stringify(v.slice(0, 80))}: use 1-64 of [A-Za-z0-9_-]`);
  return v;
}

export const subjects = {
  /** Everything the gateway sends to a cluster's agents lives under this prefix. */
  toAgent(cluster: string, ...rest: string[]): string {
    return ["ward.agent", assertClusterId(cluster), ...rest.map((r) => token("subject token", r))].join(".");
  },
  /** Everything a cluster's agents send to gateways lives under this prefix. */
  toGateway(cluster: string, ...rest: string[]): string {
    return ["ward.gw", assertClusterId(cluster), ...rest.map((r) => token("subject token", r))].join(".");
  },
  /** Permissions for an agent connection of `cluster`. */
  agentPermissions(cluster: string): { publish: string[]; subscribe: string[] } {
    assertClusterId(cluster);
    return { publish: [`ward.gw.${cluster}.>`], subscribe: [`ward.agent.${cluster}.>`] };
  },
};
