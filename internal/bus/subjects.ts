/**
 * Subject layout. The cluster id in every subject is the security boundary:
 * - gateway -> agent: `ward.agent.<cluster>.>`  (an agent may only SUBSCRIBE here)
 * - agent -> gateway: `ward.gw.<cluster>.>`     (an agent may only PUBLISH here)
 * Ids are validated before they are placed in a subject.
 */
import { assertClusterId, assertSubjectToken } from "../validate/index.ts";

export const subjects = {
  /** Everything the gateway sends to a cluster's agents lives under this prefix. */
  toAgent(cluster: string, ...rest: string[]): string {
    return ["ward.agent", assertClusterId(cluster), ...rest.map((r) => assertSubjectToken(r, "subject token"))].join(".");
  },
  /** Everything a cluster's agents send to gateways lives under this prefix. */
  toGateway(cluster: string, ...rest: string[]): string {
    return ["ward.gw", assertClusterId(cluster), ...rest.map((r) => assertSubjectToken(r, "subject token"))].join(".");
  },
  /** Permissions for an agent connection of `cluster`. */
  agentPermissions(cluster: string): { publish: string[]; subscribe: string[] } {
    assertClusterId(cluster);
    return { publish: [`ward.gw.${cluster}.>`], subscribe: [`ward.agent.${cluster}.>`] };
  },
};
