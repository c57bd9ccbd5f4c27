import assert from "node:assert/strict";
import { test } from "node:test";
import { parseProxyPath } from "./path.ts";
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
