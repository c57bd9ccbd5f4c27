import assert from "node:assert/strict";
import { test } from "node:test";
import { requestOwner, upgradeOwner } from "./edge.ts";

test("each upgrade target has exactly one owner", () => {
  const cases: [string, string, number?][] = [
    ["/nats", "nats"],
    ["/nats?x=1", "nats"],
    ["/nats#frag", "none", 400],
    ["/nats?x#frag", "none", 400],
    ["/nats/extra", "none", 404],
    ["/natsx", "none", 404],
    ["/NATS", "none", 404],
    ["/api/v1/clusters/c1/k8s/api/v1/namespaces/a/pods/p/exec?command=sh", "proxy"],
    ["/api/v1/clusters/c1/k8s/api/v1/namespaces/a/pods/p/exec#x", "none", 400],
    ["/api/v1/clusters/c1/k8s/../../nats", "none", 400],
    ["/api/v1/clusters/C1/k8s/api", "none", 400],
    ["/api/v1/clusters/c1/access/grants", "none", 404],
    ["/", "none", 404],
  ];
  for (const [url, owner, status] of cases) {
    const o = upgradeOwner(url, { nats: "/nats" });
    assert.equal(o.owner, owner, url);
    if ("error" in o) assert.equal(o.error.status, status, url);
  }
});

test("each request target has exactly one owner: the proxy path, the app, or a 400 Status", () => {
  const cases: [string, string, number?][] = [
    ["/api/v1/clusters/c1/k8s/api/v1/pods", "proxy"],
    ["/api/v1/clusters/c1/k8s", "proxy"],
    ["/api/v1/clusters/c1/k8s/../../nats", "none", 400],
    ["/api/v1/clusters/C1/k8s/api", "none", 400],
    ["/api/v1/clusters/c1/access/grants", "app"],
    ["/api/v1/clusters/c1/k8s-token", "app"],
    ["/nats", "app"],
    ["/", "app"],
  ];
  for (const [url, owner, status] of cases) {
    const o = requestOwner(url);
    assert.equal(o.owner, owner, url);
    if ("error" in o) assert.equal(o.error.status, status, url);
  }
});
