import { test } from "node:test";
import assert from "node:assert/strict";
import { requestInfo } from "./index.ts";

const cases: [string, string, string, Partial<ReturnType<typeof requestInfo>>][] = [
  ["GET", "/api/v1/namespaces/default/pods", "", { verb: "list", resource: "pods", namespace: "default", name: "", apiGroup: "", apiVersion: "v1" }],
  ["GET", "/api/v1/namespaces/default/pods/p1", "", { verb: "get", resource: "pods", namespace: "default", name: "p1" }],
  ["GET", "/api/v1/namespaces/default/pods", "?watch=1&resourceVersion=5", { verb: "watch", resource: "pods" }],
  ["GET", "/api/v1/namespaces/default/pods", "?labelSelector=a&watch=true", { verb: "watch" }],
  ["GET", "/api/v1/namespaces/default/pods", "?watch=false", { verb: "list" }],
  ["GET", "/api/v1/namespaces/default/pods", "?nowatch=1", { verb: "list" }],
  ["GET", "/api/v1/watch/namespaces/default/pods", "", { verb: "watch", resource: "pods", namespace: "default" }],
  ["GET", "/api/v1/watch/namespaces/default/pods/p1", "", { verb: "watch", resource: "pods", name: "p1" }],
  ["GET", "/api/v1/namespaces/default/pods/p1/log", "?follow=true", { verb: "get", resource: "pods", name: "p1", subresource: "log" }],
  ["POST", "/api/v1/namespaces/default/pods/p1/exec", "?command=sh", { verb: "create", subresource: "exec", name: "p1" }],
  ["GET", "/api/v1/namespaces/default/pods/p1/exec", "?command=sh", { verb: "get", subresource: "exec" }],
  ["POST", "/api/v1/namespaces/default/pods/p1/portforward", "", { verb: "create", subresource: "portforward" }],
  ["POST", "/api/v1/namespaces/default/secrets", "", { verb: "create", resource: "secrets", namespace: "default", name: "" }],
  ["PUT", "/api/v1/namespaces/default/secrets/s", "", { verb: "update", name: "s" }],
  ["PATCH", "/apis/apps/v1/namespaces/shop/deployments/web/scale", "", { verb: "patch", apiGroup: "apps", apiVersion: "v1", resource: "deployments", name: "web", subresource: "scale" }],
  ["DELETE", "/api/v1/namespaces/default/configmaps/c", "", { verb: "delete", name: "c" }],
  ["DELETE", "/api/v1/namespaces/default/configmaps", "", { verb: "deletecollection", resource: "configmaps" }],
  ["GET", "/api/v1/namespaces", "", { verb: "list", resource: "namespaces", namespace: "" }],
  ["GET", "/api/v1/namespaces/kube-system", "", { verb: "get", resource: "namespaces", namespace: "kube-system", name: "kube-system" }],
  ["PUT", "/api/v1/namespaces/ns1/finalize", "", { verb: "update", resource: "namespaces", name: "ns1", subresource: "finalize", namespace: "ns1" }],
  ["GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/view", "", { verb: "get", apiGroup: "rbac.authorization.k8s.io", resource: "clusterroles", name: "view" }],
  ["GET", "/api/v1/nodes", "", { verb: "list", resource: "nodes" }],
  ["POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "", { verb: "create", resource: "selfsubjectaccessreviews" }],
  ["GET", "/version", "", { verb: "get", resourceRequest: false, resource: "" }],
  ["GET", "/api", "", { verb: "get", resourceRequest: false }],
  ["GET", "/apis/apps/v1", "", { verb: "get", resourceRequest: false, apiGroup: "apps" }],
  ["HEAD", "/openapi/v2", "", { verb: "head", resourceRequest: false }],
  ["GET", "/api/v1/namespaces/a%20b/pods", "", { namespace: "a b" }],
  ["GET", "/api/v1/namespaces/%zz/pods", "", { namespace: "%zz" }],
];

test("request info: verb, resource, subresource, namespace and name as the API server reads them", () => {
  for (const [method, path, query, want] of cases) {
    const got = requestInfo(method, path, query);
    for (const [k, v] of Object.entries(want)) assert.equal(got[k as keyof typeof got], v, `${method} ${path}${query}: ${k}`);
  }
});

test("request info: a non-resource request's verb is the method", () => {
  assert.equal(requestInfo("POST", "/logs").verb, "post");
  assert.equal(requestInfo("GET", "/").resourceRequest, false);
});
