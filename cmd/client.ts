/**
 * The client commands that need more than Node built-ins (YAML, the API client): one part of the
 * executable, loaded only when one of them runs (see lazy.ts). Each command's module is imported
 * on first use, so running one never evaluates the others.
 */
import type { Invocation } from "../internal/cli/command.ts";

type Run = (inv: Invocation) => Promise<number>;

const from = <M,>(load: () => Promise<M>, pick: (m: M) => Run): Run => async (inv) => pick(await load())(inv);
const commands = () => import("../internal/client/commands.ts");
const kubeconfig = () => import("../internal/client/kubeconfig_commands.ts");
const access = () => import("../internal/client/access_commands.ts");
const admin = () => import("../internal/client/admin_commands.ts");
const audit = () => import("../internal/client/audit_commands.ts");
const agentManifest = () => import("../internal/client/agent_manifest_command.ts");

export const client = {
  login: from(commands, (m) => m.runLogin),
  logout: from(commands, (m) => m.runLogout),
  clusterList: from(commands, (m) => m.runClusterList),
  kubeconfigAdd: from(kubeconfig, (m) => m.runKubeconfigAdd),
  kubeconfigRemove: from(kubeconfig, (m) => m.runKubeconfigRemove),
  kubeconfigList: from(kubeconfig, (m) => m.runKubeconfigList),
  auditList: from(audit, (m) => m.runAuditList),
  accessList: from(access, (m) => m.runAccessList),
  accessGrant: from(access, (m) => m.runAccessGrant),
  accessRevoke: from(access, (m) => m.runAccessRevoke),
  accessRevokeAll: from(access, (m) => m.runAccessRevokeAll),
  tokensList: from(access, (m) => m.runTokensList),
  tokensRevoke: from(access, (m) => m.runTokensRevoke),
  rotateJoin: from(access, (m) => m.runRotateJoin),
  robotCreate: from(admin, (m) => m.runRobotCreate),
  robotList: from(admin, (m) => m.runRobotList),
  robotTokenCreate: from(admin, (m) => m.runRobotTokenCreate),
  robotTokenList: from(admin, (m) => m.runRobotTokenList),
  robotTokenRevoke: from(admin, (m) => m.runRobotTokenRevoke),
  memberInvite: from(admin, (m) => m.runMemberInvite),
  memberList: from(admin, (m) => m.runMemberList),
  memberDisable: from(admin, (m) => m.runMemberDisable),
  agentManifest: from(agentManifest, (m) => m.runAgentManifest),
} satisfies Record<string, Run>;
