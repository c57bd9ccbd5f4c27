/**
 * kubectl through the proxy path (gateway handler → tunnel over the embedded NATS endpoint →
 * agent → real kube-apiserver with impersonation), with both kubectls: the whole kubectl
 * baseline, identity tricks, offline clusters, cancellation and live revocation.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startKubeEnv, type KubeEnv } from "../helpers/kube-env.ts";
import { runKubectlBaseline } from "../helpers/kubectl-baseline.ts";
import { eventually } from "../helpers/eventually.ts";
import { kubectl, kubectlOk, kubectlStream } from "../helpers/kubectl.ts";
import { CLUSTER, startProxyEnv, type ProxyEnv } from "./harness.ts";

let kubeEnv: KubeEnv | undefined;
const kube = () => kubeEnv!;
let env: ProxyEnv;
let dir: string;
before(async () => {
  kubeEnv = await startKubeEnv();
  env = await startProxyEnv(kubeEnv);
  dir = mkdtempSync(join(tmpdir(), "ward-proxy-test-"));
  env.tokens.set("admin-token", { member: "m-admin", user: "ward:admin@example.com", groups: ["system:masters"] });
  env.tokens.set("nobody-token", { member: "m-nobody", user: "ward:nobody@example.com", groups: [] });
}, { timeout: 200_000 });
after(async () => {
  await env?.stop();
  await kubeEnv?.stop();
  rmSync(dir, { recursive: true, force: true });
});

for (const which of ["newest", "spdy"] as const) {
  test(`kubectl baseline through Ward's proxy path, ${which} kubectl`, async (t) => {
    const k = kube();
    await runKubectlBaseline(t, {
      kubectl: k.kubectl[which], kubeconfig: env.kubeconfig(dir, "admin-token"), namespace: k.namespace, node: k.node,
      pod: k.pod, container: k.container, podPort: k.podPort, appendLog: (text) => k.appendLog(text),
    });
  });
}

test("the agent impersonates the caller: a user without bindings is forbidden", async () => {
  const r = await kubectl({ kubectl: kube().kubectl.newest, kubeconfig: env.kubeconfig(dir, "nobody-token") }, ["get", "pods", "-n", kube().namespace]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /User "ward:nobody@example.com" cannot list resource "pods"/);
});

test("client impersonation headers cannot change the identity", async () => {
  const base = `/api/v1/clusters/${CLUSTER}/k8s/api/v1/namespaces/${kube().namespace}/pods`;
  for (const headers of [
    { "Impersonate-User": "admin" },
    { "Impersonate-Group": "system:masters" },
    { Connection: "Impersonate-User", "Impersonate-User": "admin" },
  ] as Record<string, string>[]) {
    const res = await env.fetch(base, { Authorization: "Bearer nobody-token", ...headers });
    assert.equal(res.status, 403);
    const body = (await res.json()) as { kind: string; message: string };
    assert.equal(body.kind, "Status");
  }
  // kubectl --as is refused by the gateway with a clear message.
  const r = await kubectl({ kubectl: kube().kubectl.newest, kubeconfig: env.kubeconfig(dir, "nobody-token") }, ["get", "pods", "--as", "admin"]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /impersonation .*limited to your own identity/);
});

test("bad tokens and paths are Kubernetes Status errors", async () => {
  const res = await env.fetch(`/api/v1/clusters/${CLUSTER}/k8s/api`, { Authorization: "Bearer wrong" });
  assert.equal(res.status, 401);
  assert.deepEqual(Object.keys((await res.json()) as object).sort(), ["apiVersion", "code", "kind", "message", "metadata", "reason", "status"]);
  const bad = await env.fetch(`/api/v1/clusters/${CLUSTER}/k8s/api/%2e%2e/x`, { Authorization: "Bearer admin-token" });
  assert.equal(bad.status, 400);
});

test("an offline cluster answers 503 at once and works again after the agent reconnects", async () => {
  const target = { kubectl: kube().kubectl.newest, kubeconfig: env.kubeconfig(dir, "admin-token") };
  await env.stopAgent();
  await eventually("the cluster to go offline", () => !env.tunnel.isOnline(CLUSTER), { timeoutMs: 10_000 });
  const t0 = Date.now();
  const res = await env.fetch(`/api/v1/clusters/${CLUSTER}/k8s/api`, { Authorization: "Bearer admin-token" });
  assert.equal(res.status, 503);
  assert.match(((await res.json()) as { message: string }).message, /offline/);
  assert.ok(Date.now() - t0 < 1000);
  const r = await kubectl(target, ["get", "ns"]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /offline/);
  await env.startAgent();
  assert.match(await kubectlOk(target, ["get", "ns"]), /default/);
});

test("SIGINT to kubectl during get -w and logs -f ends the upstream request", async () => {
  const k = kube();
  const target = { kubectl: k.kubectl.newest, kubeconfig: env.kubeconfig(dir, "admin-token") };
  for (const args of [["get", "configmaps", "-w", "-n", k.namespace], ["logs", "-f", k.pod, "-n", k.namespace]]) {
    const before = env.agentActive();
    const s = kubectlStream(target, args);
    await eventually(`${args[0]} to open an upstream stream`, () => env.agentActive() > before, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    await s.stop();
    await eventually(`the upstream stream of ${args.join(" ")} to end`, () => env.agentActive() === before, { timeoutMs: 5_000 });
  }
});

test("revocation ends exec, get -w and logs -f within a second", async () => {
  const k = kube();
  const target = { kubectl: k.kubectl.newest, kubeconfig: env.kubeconfig(dir, "admin-token") };
  const streams = [
    kubectlStream(target, ["get", "configmaps", "-w", "-n", k.namespace]),
    kubectlStream(target, ["logs", "-f", k.pod, "-n", k.namespace]),
    kubectlStream(target, ["exec", "-i", k.pod, "-n", k.namespace, "--", "cat"]),
  ];
  try {
    await eventually("three live streams", () => env.proxy.live.count() >= 3, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    assert.ok(env.proxy.live.close(CLUSTER, "m-admin", "Access revoked") >= 3);
    await Promise.all(streams.map((s) => s.exited));
    assert.ok(Date.now() - t0 < 1000, `kubectl processes ended after ${Date.now() - t0} ms`);
  } finally {
    await Promise.all(streams.map((s) => s.stop()));
  }
});
