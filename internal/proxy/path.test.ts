import assert from "node:assert/strict";
import { test } from "node:test";
import { isUpgradablePath, parseProxyPath } from "./path.ts";
import { ProxyError } from "./status.ts";

test("parses the cluster and the upstream path and query", () => {
  assert.deepEqual(parseProxyPath("/api/v1/clusters/prod-1/k8s/api/v1/namespaces?limit=5"), {
    cluster: "prod-1", upstream: "/api/v1/namespaces?limit=5", upstreamPath: "/api/v1/namespaces", query: "?limit=5",
  });
  assert.equal(parseProxyPath("/api/v1/clusters/prod/k8s")?.upstream, "/");
  assert.equal(parseProxyPath("/api/v1/clusters/prod/k8s?timeout=32s")?.upstream, "/?timeout=32s");
  // A query may carry encoded characters (label and field selectors).
  assert.equal(parseProxyPath("/api/v1/clusters/c/k8s/api/v1/pods?labelSelector=a%3Db%2Cc%25")?.query, "?labelSelector=a%3Db%2Cc%25");
});

test("other paths are not the proxy's", () => {
  for (const p of ["/healthz", "/api/v1/clusters/prod/kubeconfig", "/api/v1/clusters/prod/k8sx/api", "/api/v1/clusters/prod", "/api/v1/clusters/prod/access/grants"]) {
    assert.equal(parseProxyPath(p), null, p);
  }
});

const bad = [
  "/api/v1/clusters/PROD/k8s/api",
  "/api/v1/clusters/pr.od/k8s/api",
  "/api/v1/clusters/a*b/k8s/api",
  "/api/v1/clusters/a>/k8s/api",
  "/api/v1/clusters/-a/k8s/api",
  "/api/v1/clusters/prod/k8s/../../other/k8s/api",
  "/api/v1/clusters/prod/k8s/api/./v1",
  "/api/v1/clusters/prod/k8s/api/..",
  "/api/v1/clusters/prod/k8s/%2e%2e/x",
  "/api/v1/clusters/prod/k8s/%2E%2E/x",
  "/api/v1/clusters/prod%2Fother/k8s/api",
  "/api/v1/clusters/prod/k8s/api%2fv1",
  "/api/v1/clusters/prod/k8s/api%252Fv1",
  "/api/v1/clusters/prod/k8s//api",
  "/api/v1/clusters/prod;x=1/k8s/api",
  "/api/v1/clusters/prod/k8s/api\\v1",
  "/api/v1/clusters/prod/k8s/api%5cv1",
  "/api/v1/clusters/prod/k8s/api%00",
  "/api/v1/clusters/prod/k8s/api v1",
  // Found by the proxy-path fuzz target: `..#` is `..` to anything that cuts the fragment first.
  "/api/v1/clusters/prod/k8s/..#",
  "/api/v1/clusters/prod/k8s/api/..#x/v1",
  // Found by the fuzz target: double encoding without `%25`, `.` to a decoder that skips bad escapes.
  "/api/v1/clusters/prod/k8s/%2%45%2%45/x",
  "/api/v1/clusters/prod/k8s/%%32%65",
  "/api/v1/clusters/prod/k8s/api%",
  "/api/v1/clusters/prod/k8s/api%4",
];
for (const p of bad) {
  test(`refuses ${p}`, () => {
    assert.throws(() => parseProxyPath(p), (e: unknown) => e instanceof ProxyError && e.status === 400);
  });
}

test("isUpgradablePath: subresources and watches stream; lists, creates and objects do not", () => {
  const yes: [string, string][] = [
    ["/api/v1/namespaces/ns/pods/p/exec", "?command=sh"],
    ["/api/v1/namespaces/ns/pods/p/attach", ""],
    ["/api/v1/namespaces/ns/pods/p/portforward", ""],
    ["/api/v1/namespaces/ns/pods/p/proxy", ""],
    ["/api/v1/namespaces/ns/services/s:80/proxy/ws", ""],
    ["/api/v1/nodes/n/proxy/logs/", ""],
    ["/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachineinstances/vm/console", ""],
    ["/api/v1/namespaces/ns/configmaps", "?watch=true"],
    ["/api/v1/namespaces/ns/configmaps", "?labelSelector=a&watch=1"],
    ["/api/v1/pods", "?watch=True"],
    ["/api/v1/watch/namespaces/ns/pods", ""],
    ["/apis/apps/v1/watch/deployments", ""],
  ];
  const no: [string, string][] = [
    ["/api/v1/namespaces/ns/configmaps", ""],
    ["/api/v1/namespaces/ns/configmaps/c", ""],
    ["/api/v1/namespaces/ns", ""],
    ["/api/v1/namespaces/ns/status", ""],
    ["/api/v1/namespaces", ""],
    ["/api/v1/nodes/n", ""],
    ["/apis/authentication.k8s.io/v1/selfsubjectreviews", ""],
    ["/api/v1/namespaces/ns/configmaps", "?watch=false"],
    ["/api/v1/namespaces/ns/configmaps", "?xwatch=true"],
    ["/api/v1/watch", ""],
    ["/api", ""],
    ["/version", ""],
    ["/", ""],
    ["/healthz/exec/x/y", ""],
  ];
  for (const [p, q] of yes) assert.equal(isUpgradablePath(p, q), true, p + q);
  for (const [p, q] of no) assert.equal(isUpgradablePath(p, q), false, p + q);
});
