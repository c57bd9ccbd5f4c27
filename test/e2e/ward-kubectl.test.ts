/**
 * kubectl through Ward end to end, with the built executable: `dist/ward gateway` (HTTPS with its
 * generated certificate) and `dist/ward agent` against the real kube-apiserver, grants reconciled
 * into RBAC, kubeconfigs minted by the gateway, and both kubectls (WebSocket and SPDY).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startKubeEnv, type KubeEnv } from "../helpers/kube-env.ts";
import { runKubectlBaseline } from "../helpers/kubectl-baseline.ts";
import { kubectl, kubectlOk, kubectlStream } from "../helpers/kubectl.ts";
import { start, type Started } from "../helpers/process.ts";

const root = new URL("../..", import.meta.url).pathname;
const ward = join(root, "dist", "ward");
const CLUSTER = "e2e";
let kube: KubeEnv;
let dir: string;
let gw: Started;
let agent: Started;
let url: string;
let ca: Buffer;
let adminToken: string;
const members: Record<string, { id: string; token: string; kubeconfig: string }> = {};

async function api(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const u = new URL(url);
  return await new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method, ca, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} }));
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

async function eventually<T>(what: string, f: () => Promise<T | false | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function grant(memberId: string, body: Record<string, unknown>): Promise<string> {
  const r = await api(adminToken, "POST", `/api/v1/clusters/${CLUSTER}/access/grants`, { member_id: memberId, ...body });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  const id = r.json.grant.id as string;
  await eventually(`grant ${id} applied`, async () => {
    const g = (await api(adminToken, "GET", `/api/v1/clusters/${CLUSTER}/access/grants`)).json.grants.find((x: { id: string }) => x.id === id);
    return g?.status === "applied";
  });
  return id;
}

async function member(email: string): Promise<{ id: string; token: string; kubeconfig: string }> {
  const m = await api(adminToken, "POST", "/api/v1/members", { email });
  assert.equal(m.status, 201, JSON.stringify(m.json));
  return { id: m.json.member.id, token: m.json.api_token, kubeconfig: join(dir, `kubeconfig-${email}`) };
}

async function mintKubeconfig(m: { token: string; kubeconfig: string }): Promise<string> {
  const r = await api(m.token, "POST", `/api/v1/clusters/${CLUSTER}/kubeconfig`, {});
  assert.equal(r.status, 200, JSON.stringify(r.json));
  writeFileSync(m.kubeconfig, r.json.kubeconfig, { mode: 0o600 });
  return m.kubeconfig;
}

/**
 * A validating admission webhook, registered in the kube-env, that holds the API server's creation
 * of RBAC bindings for one user until released: the agent's reconcile of that user's grant is stuck
 * in its create call, so the grant stays `pending` for as long as the test needs while every other
 * request (the same agent forwarding kubectl traffic included) goes through untouched.
 */
async function holdBindingsFor(user: string): Promise<{ arrived: Promise<void>; release(): void; close(): Promise<void> }> {
  const admin = { kubectl: kube.kubectl.newest, kubeconfig: kube.kubeconfig };
  const NAME = "ward-e2e-hold-bindings";
  const PROBE = "ward-e2e-webhook-probe";
  let released = false;
  const waiting: (() => void)[] = [];
  let arrive!: () => void;
  const arrived = new Promise<void>((r) => (arrive = r));
  const server = createServer({ cert: readFileSync(kube.servingCertFile), key: readFileSync(kube.servingKeyFile) }, (req, res) => {
    let text = "";
    req.on("data", (c) => (text += c));
    req.on("end", () => {
      const review = JSON.parse(text) as { request: { uid: string; dryRun?: boolean; object?: { metadata?: { name?: string }; subjects?: { kind: string; name: string }[] } } };
      const { uid, object, dryRun } = review.request;
      const answer = (allowed: boolean, message?: string) => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid, allowed, ...(message ? { status: { code: 403, message } } : {}) } }));
      };
      if (object?.metadata?.name === PROBE) return answer(false, "webhook-probe-denied");
      const held = !dryRun && !released && (object?.subjects ?? []).some((x) => x.kind === "User" && x.name === user);
      if (!held) return answer(true);
      arrive();
      waiting.push(() => answer(true));
    });
  });
  server.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  const port = (server.address() as { port: number }).port;
  const config = {
    apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", metadata: { name: NAME },
    webhooks: [{
      name: "hold.ward-e2e.test",
      clientConfig: { url: `https://127.0.0.1:${port}/validate`, caBundle: Buffer.from(kube.ca).toString("base64") },
      rules: [{ apiGroups: ["rbac.authorization.k8s.io"], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["clusterrolebindings", "rolebindings"], scope: "*" }],
      // Ignore: should this test die mid-hold, the API server lets bindings through after the timeout.
      failurePolicy: "Ignore", sideEffects: "None", admissionReviewVersions: ["v1"], timeoutSeconds: 30,
    }],
  };
  await kubectlOk(admin, ["apply", "-f", "-"], { input: JSON.stringify(config) });
  const close = async () => {
    released = true;
    for (const w of waiting.splice(0)) w();
    await kubectl(admin, ["delete", "validatingwebhookconfiguration", NAME, "--ignore-not-found"]);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  try {
    // The API server picks webhook configurations up asynchronously: wait until a probe is denied.
    await eventually("the admission webhook to be active", async () => {
      const r = await kubectl(admin, ["create", "clusterrolebinding", PROBE, "--clusterrole=view", "--user=nobody", "--dry-run=server", "-o", "name"]);
      return r.code !== 0 && r.stderr.includes("webhook-probe-denied");
    });
  } catch (err) {
    await close();
    throw err;
  }
  return {
    arrived,
    release() {
      released = true;
      for (const w of waiting.splice(0)) w();
    },
    close,
  };
}

before(async () => {
  assert.ok(existsSync(ward), "dist/ward is missing: run 'npm run build' first");
  // `kube-env up` has filled the aggregated view/edit/admin ClusterRoles (no controller-manager runs).
  kube = await startKubeEnv();
  dir = mkdtempSync(join(tmpdir(), "ward-e2e-"));
  gw = start(ward, ["gateway", "--listen", "127.0.0.1:0", "--data-dir", join(dir, "gw")]);
  url = (await gw.waitFor(/"gateway listening".*?"url":"(https:[^"]+)"/, 30_000))[1]!;
  ca = readFileSync(join(dir, "gw", "tls", "ca.crt"));
  adminToken = readFileSync(join(dir, "gw", "admin-token"), "utf8").trim();
  const c = await api(adminToken, "POST", "/api/v1/clusters", { id: CLUSTER, name: "E2E" });
  assert.equal(c.status, 201, JSON.stringify(c.json));
  writeFileSync(join(dir, "join-token"), c.json.join_token, { mode: 0o600 });
  agent = start(ward, ["agent", "--gateway", url, "--cluster", CLUSTER, "--token-file", join(dir, "join-token"), "--kubeconfig", kube.kubeconfig, "--resync", "1s", "--hello-interval", "500ms",
    "--gateway-ca", join(dir, "gw", "tls", "ca.crt")]);
  await agent.waitFor(/connected to the gateway/, 30_000);
  members.dev = await member("dev@example.com");
  members.viewer = await member("viewer@example.com");
  await grant(members.dev.id, { role: "cluster-admin" });
  await grant(members.viewer.id, { role: "view", scope: "namespace", namespace: kube.namespace });
  await mintKubeconfig(members.dev);
  await mintKubeconfig(members.viewer);
}, { timeout: 240_000 });

after(async () => {
  const gwDied = gw?.child.exitCode !== null || gw?.child.signalCode !== null;
  const agentDied = agent?.child.exitCode !== null || agent?.child.signalCode !== null;
  await agent?.stop();
  await gw?.stop();
  // A crash of either process fails the run loudly, with its log.
  assert.ok(!gwDied, `the gateway exited during the tests:\n${gw?.output().slice(-4000)}`);
  assert.ok(!agentDied, `the agent exited during the tests:\n${agent?.output().slice(-4000)}`);
  await kube?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

for (const which of ["newest", "spdy"] as const) {
  test(`kubectl baseline through dist/ward, ${which} kubectl`, async (t) => {
    await runKubectlBaseline(t, {
      kubectl: kube.kubectl[which], kubeconfig: members.dev!.kubeconfig, namespace: kube.namespace, node: kube.node,
      pod: kube.pod, container: kube.container, podPort: kube.podPort, appendLog: (text) => kube.appendLog(text),
    });
  });
}

test("a namespace view grant can read its namespace only, and cannot create", async () => {
  const target = { kubectl: kube.kubectl.newest, kubeconfig: members.viewer!.kubeconfig };
  assert.match(await kubectlOk(target, ["get", "pods", "-n", kube.namespace]), new RegExp(kube.pod));
  const other = await kubectl(target, ["get", "pods", "-n", "default"]);
  assert.notEqual(other.code, 0);
  assert.match(other.stderr, /forbidden/i);
  const create = await kubectl(target, ["create", "configmap", "nope", "-n", kube.namespace]);
  assert.notEqual(create.code, 0);
  assert.match(create.stderr, /forbidden/i);
});

test("a token without a live grant is refused with a Status", async () => {
  const r = await kubectl({ kubectl: kube.kubectl.newest, kubeconfig: members.viewer!.kubeconfig }, ["--token", "not-a-token", "get", "ns"]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Unauthorized|provide credentials/);
});

test("Forbidden (403 Status) while the grant is pending, allowed once the agent has applied it", async () => {
  const m = await member("pending@example.com");
  const hold = await holdBindingsFor("ward:pending@example.com");
  try {
    const created = await api(adminToken, "POST", `/api/v1/clusters/${CLUSTER}/access/grants`, { member_id: m.id, role: "view", scope: "namespace", namespace: kube.namespace });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const id = created.json.grant.id as string;
    const status = async () => ((await api(adminToken, "GET", `/api/v1/clusters/${CLUSTER}/access/grants`)).json.grants as { id: string; status: string }[]).find((g) => g.id === id)?.status;
    // The agent is now inside its create call for this grant's RoleBinding, held by the webhook.
    await hold.arrived;
    assert.equal(await status(), "pending");
    // A pending grant is live: the member can mint a kubeconfig, but the API server refuses them.
    await mintKubeconfig(m);
    for (const which of ["newest", "spdy"] as const) {
      const r = await kubectl({ kubectl: kube.kubectl[which], kubeconfig: m.kubeconfig }, ["get", "pods", "-n", kube.namespace]);
      assert.notEqual(r.code, 0, `${which} kubectl: ${r.stdout}`);
      assert.match(r.stderr, /Error from server \(Forbidden\).*User "ward:pending@example\.com" cannot list resource "pods"/, `${which} kubectl`);
    }
    // On the wire: a Kubernetes Status with code 403 through the proxy path.
    const tok = await api(m.token, "POST", `/api/v1/clusters/${CLUSTER}/k8s-token`, {});
    assert.equal(tok.status, 200, JSON.stringify(tok.json));
    const raw = await api(tok.json.token, "GET", `/api/v1/clusters/${CLUSTER}/k8s/api/v1/namespaces/${kube.namespace}/pods`);
    assert.equal(raw.status, 403, JSON.stringify(raw.json));
    assert.equal(raw.json.kind, "Status");
    assert.equal(raw.json.code, 403);
    assert.equal(raw.json.reason, "Forbidden");
    assert.equal(await status(), "pending", "the grant stayed pending while kubectl was refused");

    hold.release();
    await eventually(`grant ${id} applied`, async () => (await status()) === "applied");
    // RBAC takes effect in the API server's authorizer cache shortly after the binding exists.
    const target = { kubectl: kube.kubectl.newest, kubeconfig: m.kubeconfig };
    await eventually("kubectl get pods to be allowed", async () => {
      const r = await kubectl(target, ["get", "pods", "-n", kube.namespace]);
      return r.code === 0 && r.stdout.includes(kube.pod);
    }, 10_000);
    assert.match(await kubectlOk({ kubectl: kube.kubectl.spdy, kubeconfig: m.kubeconfig }, ["get", "pods", "-n", kube.namespace]), new RegExp(kube.pod));
  } finally {
    await hold.close();
  }
});

test("deleting a grant ends that member's get -w within a second and refuses the next request", async () => {
  const target = { kubectl: kube.kubectl.newest, kubeconfig: members.viewer!.kubeconfig };
  const grants = (await api(adminToken, "GET", `/api/v1/clusters/${CLUSTER}/access/grants`)).json.grants as { id: string; member_id: string }[];
  const g = grants.find((x) => x.member_id === members.viewer!.id)!;
  const w = kubectlStream(target, ["get", "pods", "-w", "-n", kube.namespace]);
  try {
    await w.waitFor(kube.pod, 10_000);
    const t0 = Date.now();
    assert.equal((await api(adminToken, "DELETE", `/api/v1/clusters/${CLUSTER}/access/grants/${g.id}`)).status, 204);
    await w.exited;
    assert.ok(Date.now() - t0 < 1000, `get -w ended after ${Date.now() - t0} ms`);
  } finally {
    await w.stop();
  }
  const r = await kubectl(target, ["get", "pods", "-n", kube.namespace]);
  assert.notEqual(r.code, 0);
});

test("revoke-all ends exec, get -w and logs -f within a second, and tokens stop working", async () => {
  const target = { kubectl: kube.kubectl.newest, kubeconfig: members.dev!.kubeconfig };
  const streams = [
    kubectlStream(target, ["get", "configmaps", "-w", "-n", kube.namespace]),
    kubectlStream(target, ["logs", "-f", kube.pod, "-c", kube.container, "-n", kube.namespace]),
    kubectlStream(target, ["exec", "-i", kube.pod, "-c", kube.container, "-n", kube.namespace, "--", "cat"]),
  ];
  try {
    const marker = `before-revoke-${Date.now()}`;
    kube.appendLog(marker);
    await streams[1]!.waitFor(marker, 10_000);
    streams[2]!.write("ping\n");
    await streams[2]!.waitFor("ping", 10_000);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    assert.equal((await api(adminToken, "POST", `/api/v1/clusters/${CLUSTER}/access/revoke-all`, {})).status < 300, true);
    await Promise.all(streams.map((s) => s.exited));
    assert.ok(Date.now() - t0 < 1000, `streams ended after ${Date.now() - t0} ms`);
  } finally {
    await Promise.all(streams.map((s) => s.stop()));
  }
  const r = await kubectl(target, ["get", "ns"]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Unauthorized|provide credentials/);
});
