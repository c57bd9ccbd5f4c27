/**
 * ClusterRole aggregation for the kube-env. A real cluster's kube-controller-manager fills the rules
 * of every ClusterRole that has an `aggregationRule` (the built-in `view`, `edit` and `admin` among
 * them) from the ClusterRoles its label selectors pick. The kube-env runs no controller-manager, so
 * `up` does it once: without it `view`/`edit`/`admin` grant nothing and a Ward grant of those roles
 * is useless. (Roles created later with aggregate-to-* labels are not picked up: re-run it then.)
 */
import type { ApiClient } from "./kube-env-api.ts";

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

interface ClusterRole {
  metadata: { name: string; labels?: Record<string, string>; resourceVersion?: string };
  aggregationRule?: { clusterRoleSelectors?: Selector[] };
  rules?: unknown[] | null;
  [k: string]: unknown;
}

/** Whether a label set matches a Kubernetes label selector (an empty selector matches nothing here, like the controller). */
export function selectorMatches(sel: Selector, labels: Record<string, string> = {}): boolean {
  const ml = Object.entries(sel.matchLabels ?? {});
  const me = sel.matchExpressions ?? [];
  if (ml.length === 0 && me.length === 0) return false;
  for (const [k, v] of ml) if (labels[k] !== v) return false;
  for (const e of me) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]!);
    if (e.operator === "In" && !inValues) return false;
    if (e.operator === "NotIn" && inValues) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

/**
 * The rules every aggregated role should have, given all ClusterRoles: the union (in a stable order,
 * without duplicates) of the rules of the roles its selectors pick. Iterates to a fixed point, since
 * aggregated roles feed each other (`view` is labelled aggregate-to-edit, `edit` aggregate-to-admin).
 */
export function aggregatedRules(roles: ClusterRole[]): Map<string, unknown[]> {
  const rules = new Map(roles.map((r) => [r.metadata.name, r.rules ?? []]));
  const aggregated = roles.filter((r) => r.aggregationRule?.clusterRoleSelectors?.length);
  for (let pass = 0; pass <= aggregated.length; pass++) {
    let changed = false;
    for (const a of aggregated) {
      const seen = new Set<string>();
      const out: unknown[] = [];
      const picked = roles
        .filter((r) => r.metadata.name !== a.metadata.name && a.aggregationRule!.clusterRoleSelectors!.some((s) => selectorMatches(s, r.metadata.labels)))
        .sort((x, y) => x.metadata.name.localeCompare(y.metadata.name));
      for (const r of picked) {
        for (const rule of rules.get(r.metadata.name)!) {
          const key = JSON.stringify(rule);
          if (!seen.has(key)) {
            seen.add(key);
            out.push(rule);
          }
        }
      }
      if (JSON.stringify(out) !== JSON.stringify(rules.get(a.metadata.name))) {
        rules.set(a.metadata.name, out);
        changed = true;
      }
    }
    if (!changed) break;
  }
  return new Map(aggregated.map((a) => [a.metadata.name, rules.get(a.metadata.name)!]));
}

/** Does what kube-controller-manager's ClusterRole aggregation controller would; returns the roles it filled. */
export async function aggregateClusterRoles(api: ApiClient): Promise<string[]> {
  const path = "/apis/rbac.authorization.k8s.io/v1/clusterroles";
  const list = await api.getJson<{ items: ClusterRole[] }>(path);
  if (!list) throw new Error(`GET ${path}: not found`);
  const byName = new Map(list.items.map((r) => [r.metadata.name, r]));
  const filled: string[] = [];
  for (const [name, rules] of aggregatedRules(list.items)) {
    const role = byName.get(name)!;
    if (JSON.stringify(role.rules ?? []) === JSON.stringify(rules)) continue;
    const r = await api.call("PUT", `${path}/${encodeURIComponent(name)}`, { ...role, apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", rules });
    if (r.status !== 200) throw new Error(`PUT ${path}/${name}: HTTP ${r.status}: ${r.body.slice(0, 500)}`);
    filled.push(name);
  }
  return filled;
}
