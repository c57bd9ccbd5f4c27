import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { LiveStreams, requestNamespace } from "./live.ts";

test("close() ends only the member's streams on that cluster, and never raises an uncaught error", async () => {
  const live = new LiveStreams();
  const a1 = new PassThrough();
  const a2 = new PassThrough();
  const b1 = new PassThrough();
  const other = new PassThrough();
  live.add("c", "alice", a1);
  live.add("c", "alice", a2);
  live.add("c", "bob", b1);
  live.add("d", "alice", other);
  assert.equal(live.count(), 4);
  assert.equal(live.close("c", "alice", "Access revoked"), 2); // no error listeners of their own: must not throw
  await new Promise((r) => setImmediate(r));
  assert.ok(a1.destroyed && a2.destroyed);
  assert.ok(!b1.destroyed && !other.destroyed);
  assert.equal(live.count(), 2);
  assert.equal(live.close("c", undefined, "revoke-all"), 1);
  await new Promise((r) => setImmediate(r));
  assert.equal(live.count(), 1);
});

const grant = (id: string, role: string, namespace: string | null, expiresAt: number | null = null) =>
  ({ id, role, scope: namespace === null ? "cluster" as const : "namespace" as const, namespace, expiresAt });

test("revoke() by token closes only the streams opened with that token", async () => {
  const live = new LiveStreams();
  const g = [grant("g1", "view", null)];
  const t1 = new PassThrough();
  const t2 = new PassThrough();
  live.add("c", "alice", t1, { tokenId: "k1", grants: g, namespace: "a" });
  live.add("c", "alice", t2, { tokenId: "k2", grants: g, namespace: "a" });
  assert.equal(live.revoke({ cluster: "c", member: "alice", tokenId: "k2" }, "revoked"), 1);
  await new Promise((r) => setImmediate(r));
  assert.ok(t2.destroyed && !t1.destroyed);
});

test("revoke() by grant closes the streams that grant alone authorized", async () => {
  const live = new LiveStreams();
  const grants = [grant("ga", "edit", "a"), grant("gb", "edit", "b"), grant("gv", "view", null)];
  const streams = {
    inA: new PassThrough(), // covered by ga (edit) and gv (view, weaker)
    inB: new PassThrough(), // covered by gb and gv
    cluster: new PassThrough(), // cluster-level: only gv covers it
  };
  live.add("c", "alice", streams.inA, { tokenId: "k", grants, namespace: "a" });
  live.add("c", "alice", streams.inB, { tokenId: "k", grants, namespace: "b" });
  live.add("c", "alice", streams.cluster, { tokenId: "k", grants, namespace: null });
  // ga goes: the view grant left is weaker, so what ga allowed in "a" is no longer certain.
  assert.equal(live.revoke({ cluster: "c", member: "alice", grantId: "ga" }, "gone"), 1);
  await new Promise((r) => setImmediate(r));
  assert.ok(streams.inA.destroyed && !streams.inB.destroyed && !streams.cluster.destroyed);
});

test("revoke() by grant keeps a stream another live grant of at least the same role covers", async () => {
  const live = new LiveStreams();
  const now = 1_000;
  const s1 = new PassThrough();
  const s2 = new PassThrough();
  live.add("c", "m", s1, { grants: [grant("ns", "view", "a"), grant("all", "edit", null)], namespace: "a" });
  // The covering cluster grant has itself expired: it no longer counts.
  live.add("c", "m", s2, { grants: [grant("ns", "view", "a"), grant("all", "edit", null, now - 1)], namespace: "a" });
  assert.equal(live.revoke({ cluster: "c", member: "m", grantId: "ns" }, "gone", now), 1);
  await new Promise((r) => setImmediate(r));
  assert.ok(!s1.destroyed && s2.destroyed);
});

test("closeAll() ends every stream", async () => {
  const live = new LiveStreams();
  const s = [new PassThrough(), new PassThrough()];
  live.add("c", "a", s[0]!);
  live.add("d", "b", s[1]!);
  assert.equal(live.closeAll("off"), 2);
  await new Promise((r) => setImmediate(r));
  assert.equal(live.count(), 0);
});

test("requestNamespace() reads the namespace of namespaced paths only", () => {
  const cases: [string, string | null][] = [
    ["/api/v1/namespaces/a/pods", "a"],
    ["/api/v1/namespaces/a/pods/p/exec", "a"],
    ["/apis/apps/v1/namespaces/shop/deployments", "shop"],
    // The Namespace object acts in its own namespace (RequestInfo; a RoleBinding there allows get and watch).
    ["/api/v1/namespaces/a", "a"],
    ["/api/v1/namespaces/a/", "a"],
    ["/api/v1/namespaces/a/status", "a"],
    ["/api/v1/namespaces", null],
    ["/api/v1/pods", null],
    ["/apis/rbac.authorization.k8s.io/v1/clusterroles", null],
    ["/api", null],
    // As the API server reads them (found by the proxy-path fuzz target): a legacy watch, an encoded name.
    ["/api/v1/watch/namespaces/a/pods", "a"],
    ["/apis/apps/v1/watch/namespaces/shop/deployments/d", "shop"],
    ["/api/v1/proxy/namespaces/a/services/s", "a"],
    ["/api/v1/namespaces/te%73t/pods", "test"],
    ["/api/v1/namespaces/%74%65%73%74/pods", "test"],
    ["/api/v1/watch/namespaces/a", "a"],
    ["/api/v1/watch/namespaces", null],
  ];
  for (const [path, ns] of cases) assert.equal(requestNamespace(path), ns, path);
});

test("revoking a namespace grant closes its streams however the path named the namespace", async () => {
  const live = new LiveStreams();
  const paths = ["/api/v1/watch/namespaces/test/pods", "/api/v1/namespaces/te%73t/pods", "/apis/apps/v1/watch/namespaces/%74est/deployments"];
  const streams = paths.map(() => new PassThrough());
  paths.forEach((p, i) => live.add("c", "m", streams[i]!, { grants: [grant("g", "view", "test")], namespace: requestNamespace(p) }));
  assert.equal(live.revoke({ cluster: "c", member: "m", grantId: "g" }, "gone"), paths.length);
  await new Promise((r) => setImmediate(r));
  assert.ok(streams.every((s) => s.destroyed));
});
