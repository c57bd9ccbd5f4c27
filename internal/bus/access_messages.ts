/**
 * The access messages between gateway and agent over the bus (JSON), and the grant vocabulary they
 * carry. Light on purpose: the agent imports it without loading the access service (jose, the store).
 * - agent → `ward.gw.<c>.access.hello`   (on connect and every resync): asks for the desired state
 * - gateway → `ward.agent.<c>.access.desired`: every live grant of the cluster (on hello and on change)
 * - agent → `ward.gw.<c>.access.status`: per-grant result of a reconcile
 */
import { subjects } from "./subjects.ts";

export const ROLES = ["view", "edit", "admin", "cluster-admin"] as const;
export type GrantRole = (typeof ROLES)[number];
export const SCOPES = ["cluster", "namespace"] as const;
export type GrantScope = (typeof SCOPES)[number];

export const accessSubjects = {
  hello: (cluster: string) => subjects.toGateway(cluster, "access", "hello"),
  status: (cluster: string) => subjects.toGateway(cluster, "access", "status"),
  desired: (cluster: string) => subjects.toAgent(cluster, "access", "desired"),
  /** Gateway-side wildcards (cluster = `*`). */
  allHello: "ward.gw.*.access.hello",
  allStatus: "ward.gw.*.access.status",
};

/** A live grant as the agent needs it. */
export interface DesiredGrant {
  id: string;
  role: GrantRole;
  scope: GrantScope;
  namespace: string | null;
  /** The member's identity before the agent's user prefix (the email). */
  user: string;
  expires_at: string | null;
}

export interface GrantStatusUpdate {
  id: string;
  status: "applied" | "failed";
  error?: string | null;
}

export interface AgentHello {
  v: 1;
  agent: string;
  /** How often the agent says hello; the gateway marks the cluster offline after 3 missed. */
  intervalMs: number;
}

export interface DesiredStateMsg {
  v: 1;
  grants: DesiredGrant[];
}

export interface StatusReportMsg {
  v: 1;
  agent: string;
  results: GrantStatusUpdate[];
}
