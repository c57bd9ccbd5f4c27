import assert from "node:assert/strict";
import { test } from "node:test";
import type { DesiredGrant } from "../bus/index.ts";
import { backoffMs, natsUrl } from "./agent.ts";
import { matches, nextExpiry, planBindings, reconcileRbac, refusedInAgentNamespace, toKube, type KubeBinding, type RbacApi } from "./rbac.ts";

const g = (id: string, over: Partial<DesiredGrant> = {}): DesiredGrant => ({ id, role: "view", scope: "cluster", namespace: null, user: "a@x.io", expires_at: null, ...over });

test("planBindings: cluster → ClusterRoleBinding, namespace → RoleBinding, expired dropped, prefix applied", () => {
  const now = Date.parse("2030-01-01T00:00:00Z");
  const plan = planBindings(
    [g("g1"), g("g2", { scope: "namespace", namespace: "ns", role: "edit" }), g("g3", { expires_at: "2029-12-31T00:00:00Z" })],
    "ward:",
    now,
  );
  assert.deepEqual(plan, [
    { kind: "ClusterRoleBinding", name: "ward-g1", role: "view", user: "ward:a@x.io", grantId: "g1" },
    { kind: "RoleBinding", name: "ward-g2", namespace: "ns", role: "edit", user: "ward:a@x.io", grantId: "g2" },
  ]);
  assert.equal(nextExpiry([g("a", { expires_at: "2030-01-02T00:00:00Z" }), g("b", { expires_at: "2030-01-01T01:00:00Z" })], now), Date.parse("2030-01-01T01:00:00Z"));
});

test("refusedInAgentNamespace: above view in the agent's own namespace is refused; elsewhere, view, cluster scope or no known namespace pass", () => {
  const ns = "ward-system";
  for (const role of ["edit", "admin", "cluster-admin"] as const) {
    assert.match(refusedInAgentNamespace(g("x", { scope: "namespace", namespace: ns, role }), ns) ?? "", /ward-system is the agent's own namespace: a .* grant there could read the agent's join credential/);
  }
  assert.equal(refusedInAgentNamespace(g("x", { scope: "namespace", namespace: ns, role: "view" }), ns), undefined);
  assert.equal(refusedInAgentNamespace(g("x", { scope: "namespace", namespace: "team-a", role: "admin" }), ns), undefined);
  assert.equal(refusedInAgentNamespace(g("x", { role: "edit" }), ns), undefined);
  assert.equal(refusedInAgentNamespace(g("x", { scope: "namespace", namespace: ns, role: "admin" }), undefined), undefined);
});

test("matches: detects edited subjects, role and labels", () => {
  const want = toKube({ kind: "ClusterRoleBinding", name: "ward-g1", role: "view", user: "ward:a", grantId: "g1" });
  assert.equal(matches(structuredClone(want), want), true);
  const edited = structuredClone(want);
  edited.subjects!.push({ kind: "User", name: "extra" });
  assert.equal(matches(edited, want), false);
  const relabelled = structuredClone(want);
  relabelled.metadata!.labels!["ward.io/grant"] = "other";
  assert.equal(matches(relabelled, want), false);
});

function fakeApi(initial: KubeBinding[]) {
  const objs = new Map<string, KubeBinding>();
  const k = (kind: string, ns: string | undefined, name: string) => `${kind}/${ns ?? ""}/${name}`;
  for (const o of initial) objs.set(k(o.kind!, o.metadata?.namespace, o.metadata!.name!), o);
  const calls: string[] = [];
  const labelled = (kind: string) => ({ items: [...objs.values()].filter((o) => o.kind === kind && o.metadata?.labels?.["app.kubernetes.io/managed-by"] === "ward") });
  const api: RbacApi = {
    listClusterRoleBinding: async () => labelled("ClusterRoleBinding"),
    listRoleBindingForAllNamespaces: async () => labelled("RoleBinding"),
    createClusterRoleBinding: async ({ body }) => { calls.push(`create ${body.metadata!.name}`); objs.set(k("ClusterRoleBinding", undefined, body.metadata!.name!), body); },
    replaceClusterRoleBinding: async ({ name, body }) => { calls.push(`replace ${name}`); objs.set(k("ClusterRoleBinding", undefined, name), body); },
    deleteClusterRoleBinding: async ({ name }) => { calls.push(`delete ${name}`); objs.delete(k("ClusterRoleBinding", undefined, name)); },
    createNamespacedRoleBinding: async ({ namespace, body }) => {
      if (namespace === "missing") throw Object.assign(new Error("HTTP 404"), { code: 404, body: JSON.stringify({ message: `namespaces "missing" not found` }) });
      calls.push(`create ${namespace}/${body.metadata!.name}`);
      objs.set(k("RoleBinding", namespace, body.metadata!.name!), body);
    },
    replaceNamespacedRoleBinding: async ({ name, namespace, body }) => { calls.push(`replace ${namespace}/${name}`); objs.set(k("RoleBinding", namespace, name), body); },
    deleteNamespacedRoleBinding: async ({ name, namespace }) => { calls.push(`delete ${namespace}/${name}`); objs.delete(k("RoleBinding", namespace, name)); },
  };
  return { api, calls, objs };
}

test("reconcileRbac: creates, repairs, recreates on role change, deletes stale Ward bindings, ignores foreign ones, reports failures", async () => {
  const stale = toKube({ kind: "ClusterRoleBinding", name: "ward-gone", role: "view", user: "ward:x", grantId: "gone" });
  const edited = toKube({ kind: "ClusterRoleBinding", name: "ward-g2", role: "view", user: "ward:intruder", grantId: "g2" });
  const roleChanged = toKube({ kind: "ClusterRoleBinding", name: "ward-g3", role: "admin", user: "ward:a@x.io", grantId: "g3" });
  const foreign: KubeBinding = { kind: "ClusterRoleBinding", metadata: { name: "mine" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" }, subjects: [] };
  const { api, calls, objs } = fakeApi([stale, edited, roleChanged, foreign]);
  const plan = planBindings(
    [g("g1"), g("g2"), g("g3"), g("g4", { scope: "namespace", namespace: "missing" }), g("g5", { scope: "namespace", namespace: "team" })],
    "ward:",
    0,
  );
  const { results } = await reconcileRbac(api, plan);
  assert.deepEqual(calls.sort(), ["create team/ward-g5", "create ward-g1", "create ward-g3", "delete ward-g3", "delete ward-gone", "replace ward-g2"].sort());
  assert.deepEqual(results.map((r) => [r.id, r.status]), [["g1", "applied"], ["g2", "applied"], ["g3", "applied"], ["g4", "failed"], ["g5", "applied"]]);
  assert.equal(results[3]!.error, `namespaces "missing" not found`);
  assert.ok(objs.has("ClusterRoleBinding//mine"));
  calls.length = 0;
  await reconcileRbac(api, plan);
  assert.deepEqual(calls, []); // converged: nothing to do
});

test("natsUrl and backoff with jitter", () => {
  assert.equal(natsUrl("https://ward.example.com"), "wss://ward.example.com/nats");
  assert.equal(natsUrl("http://127.0.0.1:8443/"), "ws://127.0.0.1:8443/nats");
  assert.throws(() => natsUrl("ftp://x"), /Unsupported gateway URL/);
  assert.equal(backoffMs(0, 500, 30_000, () => 0.5), 500);
  assert.equal(backoffMs(3, 500, 30_000, () => 0.5), 4000);
  assert.equal(backoffMs(30, 500, 30_000, () => 0.5), 30_000);
  assert.equal(backoffMs(3, 500, 30_000, () => 0), 2000);
  assert.equal(backoffMs(3, 500, 30_000, () => 0.999), 5996);
});
