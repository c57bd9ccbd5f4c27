/**
 * The access messages between gateway and agent over the bus (JSON):
 * - agent → `ward.gw.<c>.access.hello`   (on connect and every resync): asks for the desired state
 * - gateway → `ward.agent.<c>.access.desired`: every live grant of the cluster (on hello and on change)
 * - agent → `ward.gw.<c>.access.status`: per-grant result of a reconcile
 */
import { subjects } from "../bus/index.ts";
import type { DesiredGrant, GrantStatusUpdate } from "./types.ts";

export const accessSubjects = {
  hello: (cluster: string) => subjects.toGateway(cluster, "access", "hello"),
  status: (cluster: string) => subjects.toGateway(cluster, "access", "status"),
  desired: (cluster: string) => subjects.toAgent(cluster, "access", "desired"),
  /** Gateway-side wildcards (cluster = `*`). */
  allHello: "ward.gw.*.access.hello",
  allStatus: "ward.gw.*.access.status",
};

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
