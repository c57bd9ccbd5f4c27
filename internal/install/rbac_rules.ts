/**
 * The agent's ClusterRole: exactly what internal/agent/rbac.ts and the proxy path call, nothing else.
 *
 * - Bindings: rbac.ts lists Ward-labelled ClusterRoleBindings and RoleBindings cluster-wide
 *   (`list`), creates, replaces (`update`) and deletes them. No get, watch or patch.
 * - `bind` on the four built-in ClusterRoles only (by `resourceNames`): without it RBAC's
 *   escalation check would require the agent to hold every permission of cluster-admin itself.
 * - Impersonation of users only (the agent sends `Impersonate-User: <prefix><member>` and never
 *   groups, uids or extras). RBAC cannot limit a name by prefix, so no rule can say "only ward:*":
 *   - constrained (KEP-5284; beta and on by default from Kubernetes 1.36): `impersonate:user-info`
 *     on `users` in authentication.k8s.io (never a node or a service account), plus
 *     `impersonate-on:user-info:<verb>` for the request verbs a grant's role can need;
 *   - legacy (older servers): the `impersonate` verb on `users` in the core group, which also lets
 *     the agent act as any user name for any verb.
 */
export const BUILTIN_ROLES = ["view", "edit", "admin", "cluster-admin"] as const;

export type ImpersonationMode = "constrained" | "legacy";

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}

const RBAC = "rbac.authorization.k8s.io";

/** The request verbs the API server authorizes (kubectl's exec/attach/port-forward are `create` and `get`). */
export const REQUEST_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"] as const;

export function agentRules(mode: ImpersonationMode): PolicyRule[] {
  const rules: PolicyRule[] = [
    { apiGroups: [RBAC], resources: ["clusterrolebindings", "rolebindings"], verbs: ["list", "create", "update", "delete"] },
    { apiGroups: [RBAC], resources: ["clusterroles"], resourceNames: [...BUILTIN_ROLES], verbs: ["bind"] },
  ];
  if (mode === "legacy") {
    rules.push({ apiGroups: [""], resources: ["users"], verbs: ["impersonate"] });
    return rules;
  }
  const on = REQUEST_VERBS.map((v) => `impersonate-on:user-info:${v}`);
  rules.push(
    { apiGroups: ["authentication.k8s.io"], resources: ["users"], verbs: ["impersonate:user-info"] },
    { apiGroups: ["*"], resources: ["*"], verbs: on },
    // kubectl's discovery (/api, /apis, /openapi, /version) is non-resource and read-only.
    { nonResourceURLs: ["*"], verbs: ["impersonate-on:user-info:get"] },
  );
  return rules;
}
