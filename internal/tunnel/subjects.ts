/**
 * The tunnel's subjects, all inside the layout of `internal/bus/subjects.ts`:
 *
 *   gateway -> agents (an agent may only subscribe to ward.agent.<cluster>.>)
 *     ward.agent.<cluster>.open.<gateway>          stream opens, queue group "ward-agent"
 *     ward.agent.<cluster>.s.<agent>.<gateway>     frames of one gateway/agent session
 *     ward.agent.<cluster>.probe                   "announce yourselves now"
 *   agents -> gateway (an agent may only publish to ward.gw.<cluster>.>)
 *     ward.gw.<cluster>.s.<gateway>.<agent>        frames of one session
 *     ward.gw.<cluster>.presence                   heartbeats
 *
 * Every id is validated before it reaches a subject. On receipt, the cluster is taken from the
 * subject (which the server's permissions vouch for), never from the payload.
 */
import { subjects } from "../bus/index.ts";
import { assertClusterId, assertSubjectToken, isValidClusterId, isSubjectToken } from "../validate/index.ts";

export const AGENT_QUEUE = "ward-agent";

function instance(id: string, what: string): string {
  return assertSubjectToken(id, `${what} id`);
}

export const tunnelSubjects = {
  open: (cluster: string, gateway: string) => subjects.toAgent(cluster, "open", gateway),
  openAll: (cluster: string) => `ward.agent.${assertClusterId(cluster)}.open.*`,
  toAgentSession: (cluster: string, agent: string, gateway: string) => subjects.toAgent(cluster, "s", agent, gateway),
  agentSessions: (cluster: string, agent: string) => `ward.agent.${assertClusterId(cluster)}.s.${instance(agent, "agent")}.*`,
  probe: (cluster: string) => subjects.toAgent(cluster, "probe"),
  toGatewaySession: (cluster: string, gateway: string, agent: string) => subjects.toGateway(cluster, "s", gateway, agent),
  gatewaySessions: (gateway: string) => `ward.gw.*.s.${instance(gateway, "gateway")}.*`,
  presence: (cluster: string) => subjects.toGateway(cluster, "presence"),
  presenceAll: () => "ward.gw.*.presence",
};

/** `ward.gw.<cluster>.s.<gateway>.<agent>` -> ids, or null when any part is invalid. */
export function parseGatewaySessionSubject(subject: string): { cluster: string; gateway: string; agent: string } | null {
  const t = subject.split(".");
  if (t.length !== 6 || t[0] !== "ward" || t[1] !== "gw" || t[3] !== "s") return null;
  const [, , cluster, , gateway, agent] = t as [string, string, string, string, string, string];
  if (!isValidClusterId(cluster) || !isSubjectToken(gateway) || !isSubjectToken(agent)) return null;
  return { cluster, gateway, agent };
}

/** `ward.gw.<cluster>.presence` -> cluster, or null. */
export function parsePresenceSubject(subject: string): string | null {
  const t = subject.split(".");
  if (t.length !== 4 || t[0] !== "ward" || t[1] !== "gw" || t[3] !== "presence" || !isValidClusterId(t[2]!)) return null;
  return t[2]!;
}

/** Last token of an agent-side subject (the gateway id), or null when invalid. */
export function lastToken(subject: string): string | null {
  const i = subject.lastIndexOf(".");
  const id = subject.slice(i + 1);
  return isSubjectToken(id) ? id : null;
}
