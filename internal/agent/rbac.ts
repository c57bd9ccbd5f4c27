/**
 * Grants → RBAC. Each live grant becomes one binding of the built-in ClusterRole named by its role:
 * a ClusterRoleBinding (cluster scope) or a RoleBinding in the namespace (namespace scope), for the
 * user `<prefix><member>`. Every binding carries Ward's label; only labelled objects are ever
 * listed, changed or deleted. `planBindings` is pure; `reconcileRbac` talks to the API.
 */
import type { DesiredGrant, GrantStatusUpdate } from "../bus/index.ts";

export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY_VALUE = "ward";
export const GRANT_LABEL = "ward.io/grant";
export const LABEL_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;
const RBAC_GROUP = "rbac.authorization.k8s.io";

export interface Binding {
  kind: "ClusterRoleBinding" | "RoleBinding";
  name: string;
  /** RoleBinding only. */
  namespace?: string;
  role: string;
  user: string;
  grantId: string;
}

/** The subset of client-node's RbacAuthorizationV1Api the reconciler uses (a fake in tests). */
export interface RbacApi {
  listClusterRoleBinding(p: { labelSelector: string }): Promise<{ items: KubeBinding[] }>;
  listRoleBindingForAllNamespaces(p: { labelSelector: string }): Promise<{ items: KubeBinding[] }>;
  createClusterRoleBinding(p: { body: KubeBinding }): Promise<unknown>;
  replaceClusterRoleBinding(p: { name: string; body: KubeBinding }): Promise<unknown>;
  deleteClusterRoleBinding(p: { name: string }): Promise<unknown>;
  createNamespacedRoleBinding(p: { namespace: string; body: KubeBinding }): Promise<unknown>;
  replaceNamespacedRoleBinding(p: { name: string; namespace: string; body: KubeBinding }): Promise<unknown>;
  deleteNamespacedRoleBinding(p: { name: string; namespace: string }): Promise<unknown>;
}

export interface KubeBinding {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string };
  roleRef: { apiGroup: string; kind: string; name: string };
  subjects?: { kind: string; apiGroup?: string; name: string; namespace?: string }[];
}

/** Live grants (not expired at `now`) as the bindings they need. */
export function planBindings(grants: DesiredGrant[], userPrefix: string, now: number): Binding[] {
  const out: Binding[] = [];
  for (const g of grants) {
    if (g.expires_at !== null && Date.parse(g.expires_at) <= now) continue;
    const b: Binding = { kind: g.scope === "cluster" ? "ClusterRoleBinding" : "RoleBinding", name: `ward-${g.id}`, role: g.role, user: userPrefix + g.user, grantId: g.id };
    if (g.scope === "namespace" && g.namespace) b.namespace = g.namespace;
    out.push(b);
  }
  return out;
}

/**
 * Why a grant may not be applied in the agent's own namespace, or undefined when it may. That
 * namespace holds the agent's join credential (a Secret) and its service account, which may
 * impersonate every Ward member and bind the four roles: any role above `view` there (Secrets,
 * pods run as any service account, token requests) is cluster-admin in disguise. `view` reads
 * neither Secrets nor tokens.
 */
export function refusedInAgentNamespace(g: DesiredGrant, agentNamespace: string | undefined): string | undefined {
  if (!agentNamespace || g.scope !== "namespace" || g.namespace !== agentNamespace || g.role === "view") return undefined;
  return `Namespace ${agentNamespace} is the agent's own namespace: a ${g.role} grant there could read the agent's join credential and act as its service account, which can impersonate every Ward member. Grant view there, or cluster-admin on purpose`;
}

/** The next time a grant expires (ms), for scheduling a reconcile. */
export function nextExpiry(grants: DesiredGrant[], now: number): number | undefined {
  let next: number | undefined;
  for (const g of grants) {
    if (g.expires_at === null) continue;
    const t = Date.parse(g.expires_at);
    if (t > now && (next === undefined || t < next)) next = t;
  }
  return next;
}

export function toKube(b: Binding): KubeBinding {
  const metadata: KubeBinding["metadata"] = { name: b.name, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [GRANT_LABEL]: b.grantId } };
  if (b.namespace) metadata.namespace = b.namespace;
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: b.kind,
    metadata,
    roleRef: { apiGroup: RBAC_GROUP, kind: "ClusterRole", name: b.role },
    subjects: [{ kind: "User", apiGroup: RBAC_GROUP, name: b.user }],
  };
}

/** True when the live object still says what Ward wrote (subjects, role, labels). */
export function matches(live: KubeBinding, want: KubeBinding): boolean {
  const l = live.metadata?.labels ?? {};
  const w = want.metadata!.labels!;
  if (Object.entries(w).some(([k, v]) => l[k] !== v)) return false;
  if (live.roleRef.name !== want.roleRef.name || live.roleRef.kind !== "ClusterRole") return false;
  const s = live.subjects ?? [];
  const ws = want.subjects![0]!;
  return s.length === 1 && s[0]!.kind === ws.kind && s[0]!.name === ws.name && (s[0]!.apiGroup ?? "") === ws.apiGroup;
}

export function apiErrorMessage(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  let body = e.body;
  if (typeof body === "string") {
    try {
      body = JSON.parse(body);
    } catch {
      // keep the text
    }
  }
  if (body && typeof body === "object" && typeof (body as { message?: unknown }).message === "string") return (body as { message: string }).message;
  return e.message ?? String(err);
}

const key = (kind: string, namespace: string | undefined, name: string) => `${kind}/${namespace ?? ""}/${name}`;

/**
 * Makes the cluster's Ward-labelled bindings equal the plan: creates missing ones, repairs edited
 * ones (replace, or delete + create when the immutable roleRef changed), deletes ones without a live
 * grant. Returns a status per planned grant.
 */
export async function reconcileRbac(api: RbacApi, plan: Binding[]): Promise<{ results: GrantStatusUpdate[]; changes: string[] }> {
  const [crbs, rbs] = await Promise.all([
    api.listClusterRoleBinding({ labelSelector: LABEL_SELECTOR }),
    api.listRoleBindingForAllNamespaces({ labelSelector: LABEL_SELECTOR }),
  ]);
  const live = new Map<string, KubeBinding>();
  for (const b of crbs.items) live.set(key("ClusterRoleBinding", undefined, b.metadata?.name ?? ""), b);
  for (const b of rbs.items) live.set(key("RoleBinding", b.metadata?.namespace, b.metadata?.name ?? ""), b);

  const changes: string[] = [];
  const results: GrantStatusUpdate[] = [];
  const wanted = new Set<string>();
  for (const b of plan) {
    const k = key(b.kind, b.namespace, b.name);
    wanted.add(k);
    const want = toKube(b);
    const cur = live.get(k);
    try {
      if (!cur) {
        await create(api, b, want);
        changes.push(`created ${k}`);
      } else if (!matches(cur, want)) {
        if (cur.roleRef.name !== want.roleRef.name || cur.roleRef.kind !== "ClusterRole") {
          await remove(api, b.kind, b.namespace, b.name);
          await create(api, b, want);
        } else {
          want.metadata!.resourceVersion = cur.metadata?.resourceVersion ?? "";
          if (b.kind === "ClusterRoleBinding") await api.replaceClusterRoleBinding({ name: b.name, body: want });
          else await api.replaceNamespacedRoleBinding({ name: b.name, namespace: b.namespace!, body: want });
        }
        changes.push(`repaired ${k}`);
      }
      results.push({ id: b.grantId, status: "applied" });
    } catch (err) {
      results.push({ id: b.grantId, status: "failed", error: apiErrorMessage(err) });
    }
  }
  for (const [k, b] of live) {
    if (wanted.has(k)) continue;
    const kind = k.startsWith("ClusterRoleBinding/") ? "ClusterRoleBinding" : "RoleBinding";
    try {
      await remove(api, kind, b.metadata?.namespace, b.metadata?.name ?? "");
      changes.push(`deleted ${k}`);
    } catch (err) {
      if ((err as { code?: number }).code !== 404) changes.push(`failed to delete ${k}: ${apiErrorMessage(err)}`);
    }
  }
  return { results, changes };
}

async function create(api: RbacApi, b: Binding, body: KubeBinding): Promise<void> {
  if (b.kind === "ClusterRoleBinding") await api.createClusterRoleBinding({ body });
  else await api.createNamespacedRoleBinding({ namespace: b.namespace!, body });
}

async function remove(api: RbacApi, kind: string, namespace: string | undefined, name: string): Promise<void> {
  if (kind === "ClusterRoleBinding") await api.deleteClusterRoleBinding({ name });
  else await api.deleteNamespacedRoleBinding({ name, namespace: namespace! });
}
