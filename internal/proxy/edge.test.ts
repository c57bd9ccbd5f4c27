import assert from "node:assert/strict";
import { test } from "node:test";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { edgeListeners, requestOwner, upgradeOwner, type RequestOwner, type UpgradeOwner } from "./edge.ts";

/** Each case: a raw request target, its owner, and for "none" the status it is answered with. */
function assertOwners(owner: (url: string) => RequestOwner | UpgradeOwner, cases: [string, string, number?][]): void {
  for (const [url, want, status] of cases) {
    const o = owner(url);
    assert.equal(o.owner, want, url);
    if ("error" in o) assert.equal(o.error.status, status, url);
  }
}

test("each upgrade target has exactly one owner", () => {
  assertOwners((url) => upgradeOwner(url, { nats: "/nats" }), [
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
  ]);
});

test("each request target has exactly one owner: the proxy path, the app, or a 400 Status", () => {
  assertOwners(requestOwner, [
    ["/api/v1/clusters/c1/k8s/api/v1/pods", "proxy"],
    ["/api/v1/clusters/c1/k8s", "proxy"],
    ["/api/v1/clusters/c1/k8s/../../nats", "none", 400],
    ["/api/v1/clusters/C1/k8s/api", "none", 400],
    ["/api/v1/clusters/c1/access/grants", "app"],
    ["/api/v1/clusters/c1/k8s-token", "app"],
    ["/nats", "app"],
    ["/", "app"],
  ]);
});

test("edge listeners hand each request and upgrade to its one owner; refusals are answered with a Status", () => {
  const calls: string[] = [];
  const edge = edgeListeners({
    proxy: {
      handleRequest: (_req, _res, t) => void calls.push(`proxy request ${t.cluster} ${t.upstream}`),
      handleUpgrade: (_req, _s, _h, t) => void calls.push(`proxy upgrade ${t.cluster} ${t.upstream}`),
    },
    app: (req) => void calls.push(`app ${req.url}`),
    upgrades: { nats: { path: "/nats", handle: (req) => void calls.push(`nats ${req.url}`) } },
  });
  const req = (url: string) => ({ url }) as IncomingMessage;
  const res = () => {
    const r = { status: 0, body: "", writeHead: (s: number) => ((r.status = s), r), end: (b: string) => void (r.body = b) };
    return r;
  };
  const socket = () => {
    const s = { written: "", on: () => s, end: (b: Buffer) => void (s.written = b.toString()) };
    return s;
  };
  edge.request(req("/api/v1/clusters/c1/k8s/api?x=1"), res() as unknown as ServerResponse);
  edge.request(req("/api/v1/me"), res() as unknown as ServerResponse);
  const bad = res();
  edge.request(req("/api/v1/clusters/c1/k8s/a/../b"), bad as unknown as ServerResponse);
  edge.upgrade(req("/nats?v=1"), socket() as unknown as Duplex, Buffer.alloc(0));
  edge.upgrade(req("/api/v1/clusters/c1/k8s/exec"), socket() as unknown as Duplex, Buffer.alloc(0));
  const none = socket();
  edge.upgrade(req("/elsewhere"), none as unknown as Duplex, Buffer.alloc(0));
  assert.deepEqual(calls, ["proxy request c1 /api?x=1", "app /api/v1/me", "nats /nats?v=1", "proxy upgrade c1 /exec"]);
  assert.equal(bad.status, 400);
  assert.equal(JSON.parse(bad.body).kind, "Status");
  assert.match(none.written, /^HTTP\/1\.1 404 NotFound\r\n[^]*"kind":"Status"/);
});
