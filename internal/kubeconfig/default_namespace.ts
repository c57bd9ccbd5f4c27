/**
 * The namespace a `ward-<cluster>` context defaults to, from the member's live grants on that
 * cluster: the one namespace when access is exactly one namespace, else none. One rule for the CLI
 * (`ward cluster kubeconfig add`) and the portal's kubeconfig download.
 */

/** The part of a grant the rule reads. */
export interface ScopedGrant {
  scope: "cluster" | "namespace";
  namespace: string | null;
}

/**
 * `namespaces`: the sorted namespaces when every grant is namespace-scoped (empty with no grant or
 * any cluster-wide grant); `namespace`: the default, set only when there is exactly one.
 */
export function defaultNamespace(grants: readonly ScopedGrant[]): { namespace?: string; namespaces: string[] } {
  if (!grants.length || grants.some((g) => g.scope === "cluster")) return { namespaces: [] };
  const namespaces = [...new Set(grants.map((g) => g.namespace ?? ""))].filter((n) => n !== "").sort();
  return namespaces.length === 1 ? { namespace: namespaces[0]!, namespaces } : { namespaces };
}
