/**
 * Grants reconciled into RBAC by a real `ward agent` process against a real kube-apiserver
 * (scripts/kube-env), through an in-process gateway with its embedded NATS endpoint.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { startGateway, type Gateway } from "../../internal/gateway/index.ts";
import { createLogger } from "../../internal/log/index.ts";
import { startKubeEnv, type KubeEnv } from "../helpers/kube-env.ts";
import { eventually, type EventuallyOptions } from "../helpers/eventually.ts";
import { start, type Started } from "../helpers/process.ts";
import { tcpConnections } from "../helpers/proc_net.ts";

let env: KubeEnv | undefined;
const kube = (): KubeEnv => env!;
const root = new URL("../..", import.meta.url).pathname;
const CLUSTER = "kind-a";
const USER = "ward:dev@example.com";

let dir: string;
let gw: Gateway;
let adminToken: string;
let memberId: string;
let joinFile: string;
let agent: Started | undefined;
let rbac: k8s.RbacAuthorizationV1Api;

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(gw.url + path, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : {} };
}

/** How this suite polls the gateway and the API server: errors while things settle count as "not yet"; a timeout shows the agent's log. */
const settle: EventuallyOptions = { timeoutMs: 20_000, intervalMs: 200, retryErrors: true, context: () => `agent output:\n${agent?.output() ?? ""}` };

async function grantStatus(id: string): Promise<{ status: string; error: string | null } | undefined> {
  const r = await api("GET", `/api/v1/clusters/${CLUSTER}/access/grants`);
  return r.json.grants.find((g: { id: string }) => g.id === id);
}

async function crb(name: string): Promise<k8s.V1ClusterRoleBinding | undefined> {
  try {
    return await rbac.readClusterRoleBinding({ name });
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
}

function startAgent(): Started {
  return start(process.execPath, [
    join(root, "cmd/ward.ts"), "agent", "--gateway", gw.url, "--cluster", CLUSTER, "--token-file", joinFile,
    "--kubeconfig", kube().kubeconfig, "--resync", "1s", "--hello-interval", "500ms",
  ], { cwd: root, env: { ...process.env, WARD_LOG_LEVEL: "info" } });
}

before(async () => {
  env = await startKubeEnv();
  dir = mkdtempSync(join(tmpdir(), "ward-access-"));
  gw = await startGateway({ host: "127.0.0.1", port: 0, plainHttp: true, dataDir: dir, shutdownTimeoutMs: 2000, logger: createLogger({ level: "warn" }) });
  adminToken = readFileSync(join(dir, "admin-token"), "utf8").trim();
  const c = await api("POST", "/api/v1/clusters", { id: CLUSTER, name: "Test" });
  assert.equal(c.status, 201);
  joinFile = join(dir, "join-token");
  writeFileSync(joinFile, c.json.join_token, { mode: 0o600 });
  const m = await api("POST", "/api/v1/members", { email: "dev@example.com" });
  memberId = m.json.member.id;
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kube().kubeconfig);
  rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  agent = startAgent();
  await agent.waitFor(/connected to the gateway/);
}, { timeout: 240_000 });

after(async () => {
  await agent?.stop();
  await gw?.close();
  await env?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("a cluster grant becomes a labelled ClusterRoleBinding and status applied", async () => {
  const r = await api("POST", `/api/v1/clusters/${CLUSTER}/access/grants`, { member_id: memberId, role: "view" });
  assert.equal(r.status, 201);
  const id = r.json.grant.id;
  await eventually("applied", async () => (await grantStatus(id))?.status === "applied", settle);
  const b = (await crb(`ward-${id}`))!;
  assert.equal(b.roleRef.kind, "ClusterRole");
  assert.equal(b.roleRef.name, "view");
  assert.deepEqual(b.subjects?.map((s) => [s.kind, s.name]), [["User", USER]]);
  assert.equal(b.metadata?.labels?.["app.kubernetes.io/managed-by"], "ward");
});

test("a namespace grant becomes a RoleBinding in that namespace only; a missing namespace fails with the API error", async () => {
  const ns = kube().namespace;
  const r = await api("POST", `/api/v1/clusters/${CLUSTER}/access/grants`, { member_id: memberId, role: "edit", scope: "namespace", namespace: ns });
  const id = r.json.grant.id;
  await eventually("applied", async () => (await grantStatus(id))?.status === "applied", settle);
  const rb = await rbac.readNamespacedRoleBinding({ name: `ward-${id}`, namespace: ns });
  assert.equal(rb.roleRef.name, "edit");
  assert.deepEqual(rb.subjects?.map((s) => s.name), [USER]);
  const all = await rbac.listRoleBindingForAllNamespaces({ labelSelector: `ward.io/grant=${id}` });
  assert.deepEqual(all.items.map((i) => i.metadata?.namespace), [ns]);
  assert.equal(await crb(`ward-${id}`), undefined);

  const bad = await api("POST", `/api/v1/clusters/${CLUSTER}/access/grants`, { member_id: memberId, role: "view", scope: "namespace", namespace: "does-not-exist" });
  const st = await eventually("failed", async () => {
    const s = await grantStatus(bad.json.grant.id);
    return s?.status === "failed" && s;
  }, settle);
  assert.match(st.error!, /not found/);
  await api("DELETE", `/api/v1/clusters/${CLUSTER}/access/grants/${bad.json.grant.id}`);
});

test("deleting a grant removes its binding", async () => {
  const r = await api("POST", `/api/v1/clusters/${CLUSTER}/access/grants`, { member_id: memberId, role: "admin" });
  const id = r.json.grant.id;
  await eventually("binding", async () => !!(await crb(`ward-${id}`)), settle);
  assert.equal((await api("DELETE", `/api/v1/clusters/${CLUSTER}/access/grants/${id}`)).status, 204);
  await eventually("binding gone", async () => !(await crb(`ward-${id}`)), settle);
});

test("an expired grant's binding is removed", async () => {
  const expires_at = new Date(Date.now() + 3000).toISOString();
  const r = await api("POST", `/api/v1/clusters/${CLUSTER}/access/grants`, { member_id: memberId, role: "edit", expires_at });
  const id = r.json.grant.id;
  await eventually("binding", async () => !!(await crb(`ward-${id}`)), settle);
  await eventually("binding gone after expiry", async () => !(await crb(`ward-${id}`)), { ...settle, timeoutMs: 10_000 });
});

test("a hand-edited Ward binding is restored; a foreign binding is untouched", async () => {
  const foreign: k8s.V1ClusterRoleBinding = {
    metadata: { name: "foreign-binding" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
    subjects: [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "someone-else" }],
  };
  await rbac.createClusterRoleBinding({ body: foreign });
  const r = await api("POST", `/api/v1/clusters/${CLUSTER}/access/grants`, { member_id: memberId, role: "cluster-admin" });
  const id = r.json.grant.id;
  const b = await eventually("binding", async () => crb(`ward-${id}`), settle);
  b.subjects = [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "intruder" }];
  await rbac.replaceClusterRoleBinding({ name: `ward-${id}`, body: b });
  await eventually("binding restored", async () => (await crb(`ward-${id}`))?.subjects?.[0]?.name === USER, settle);
  await new Promise((r) => setTimeout(r, 1500)); // at least one more resync
  const f = (await crb("foreign-binding"))!;
  assert.deepEqual(f.subjects?.map((s) => s.name), ["someone-else"]);
  assert.equal(f.metadata?.labels, undefined);
});

test("agent stopped: a new grant is cluster_offline; restarted: it becomes applied", async () => {
  assert.equal(await agent!.stop(), 0);
  agent = undefined;
  await new Promise((r) => setTimeout(r, 300)); // the agent's bye is flushed before it exits; let the gateway apply it
  const r = await api("POST", `/api/v1/clusters/${CLUSTER}/access/grants`, { member_id: memberId, role: "view", scope: "namespace", namespace: kube().namespace });
  const id = r.json.grant.id;
  assert.equal(r.json.grant.status, "cluster_offline");
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await grantStatus(id))?.status, "cluster_offline");
  agent = startAgent();
  await agent.waitFor(/connected to the gateway/);
  await eventually("applied after reconnect", async () => (await grantStatus(id))?.status === "applied", settle);
  await rbac.readNamespacedRoleBinding({ name: `ward-${id}`, namespace: kube().namespace });
});

test("resyncs reuse a kept-alive connection to the API server, not a new one per call", async () => {
  // Each resync (every second here) lists ClusterRoleBindings and RoleBindings. client-node's own
  // client opens a connection per call; the agent's keeps one (or two) open across resyncs.
  const pid = agent!.child.pid!;
  const port = Number(new URL(kube().apiServer).port);
  const seen = new Set<number>();
  for (let i = 0; i < 24; i++) {
    for (const [local, remote] of tcpConnections(pid)) if (remote === port) seen.add(local);
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(seen.size >= 1, "the agent holds a connection to the API server between resyncs");
  assert.ok(seen.size <= 2, `six resyncs used ${seen.size} connections (local ports ${[...seen].join(", ")}); expected the same one or two throughout`);
});
