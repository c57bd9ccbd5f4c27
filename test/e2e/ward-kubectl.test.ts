/**
 * kubectl through Ward end to end, with the built executable: `dist/ward gateway` (HTTPS with its
 * generated certificate) and `dist/ward agent` against the real kube-apiserver, grants reconciled
 * into RBAC, kubeconfigs minted by the gateway, and both kubectls (WebSocket and SPDY). The agent
 * serves `--metrics-listen` on loopback: its open-stream gauge shows cancellation reaching it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { after, before, test } from "node:test";
import { eventually } from "../helpers/eventually.ts";
import { startKubeEnv, type KubeEnv } from "../helpers/kube-env.ts";
import { runKubectlBaseline } from "../helpers/kubectl-baseline.ts";
import { kubectl, kubectlOk, kubectlStream, type KubectlTarget } from "../helpers/kubectl.ts";
import { startWard, type Ward, type WardMember } from "../helpers/ward.ts";

const CLUSTER = "e2e";
let kube: KubeEnv;
let w: Ward;
const members: Record<string, WardMember> = {};

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
    }, { timeoutMs: 20_000, intervalMs: 100 });
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
  // `kube-env up` has filled the aggregated view/edit/admin ClusterRoles (no controller-manager runs).
  kube = await startKubeEnv();
  w = await startWard(kube, { cluster: CLUSTER, clusterName: "E2E" });
  members.dev = await w.member("dev@example.com");
  members.viewer = await w.member("viewer@example.com");
  await w.grant(members.dev.id, { role: "cluster-admin" });
  await w.grant(members.viewer.id, { role: "view", scope: "namespace", namespace: kube.namespace });
  await w.mintKubeconfig(members.dev);
  await w.mintKubeconfig(members.viewer);
}, { timeout: 240_000 });

after(async () => {
  try {
    if (w) {
      const agentDied = w.agent.child.exitCode !== null || w.agent.child.signalCode !== null;
      const agentLog = w.agent.output().slice(-4000);
      // A crash of either process fails the run loudly, with its log (the gateway's: in stop).
      await w.stop();
      assert.ok(!agentDied, `the agent exited during the tests:\n${agentLog}`);
    }
  } finally {
    await kube?.stop();
  }
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

/** A kubectl that the test can send any signal to (the shared helper stops with SIGTERM). */
function kubectlProcess(target: KubectlTarget, args: string[]) {
  const child = spawn(target.kubectl, ["--kubeconfig", target.kubeconfig, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (c: Buffer) => (out += c));
  child.stderr.on("data", (c: Buffer) => (out += c));
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, sig) => resolve(code ?? sig ?? -1)));
  return {
    child,
    exited,
    output: () => out,
    waitFor: (text: string, ms = 10_000) =>
      eventually(`kubectl ${args.join(" ")} to print ${text}`, async () => out.includes(text), { timeoutMs: ms, intervalMs: 100 }).catch((err: Error) => {
        throw new Error(`${err.message}; it printed:\n${out}`);
      }),
  };
}

test("client-sent Impersonate-* headers (any case, repeated, named in Connection) do not change identity", async () => {
  const whoami = `/api/v1/clusters/${CLUSTER}/k8s/apis/authentication.k8s.io/v1/selfsubjectreviews`;
  const review = { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" };
  const tok = await w.api(members.dev!.token, "POST", `/api/v1/clusters/${CLUSTER}/k8s-token`, {});
  assert.equal(tok.status, 200, JSON.stringify(tok.json));
  const token = tok.json.token as string;
  // Asking to be someone else is refused by the gateway (a 403 Status), in any spelling.
  for (const extra of [
    ["Impersonate-User", "admin"],
    ["iMPERSONATE-uSER", "admin"],
    ["Connection", "Impersonate-User", "Impersonate-User", "admin"],
    ["Impersonate-Group", "system:masters"],
    ["impersonate-group", "system:authenticated", "IMPERSONATE-GROUP", "system:masters"],
    ["Impersonate-User", "dev@example.com", "Impersonate-Group", "system:masters"],
  ]) {
    const r = await w.api(token, "POST", whoami, review, extra);
    assert.equal(r.status, 403, `${extra}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.kind, "Status");
    assert.equal(r.json.code, 403);
    assert.match(r.json.message, /impersonation .*limited to your own identity/);
  }
  // These reach the API server — they name the caller last, or carry impersonation fields and
  // front-proxy headers the --as policy has no say on — and the API server sees only ward:<email>.
  for (const extra of [
    [],
    ["Impersonate-User", "admin", "impersonate-user", "dev@example.com"],
    ["Connection", "Impersonate-Uid, Impersonate-Extra-Scopes", "Impersonate-Uid", "0", "Impersonate-Extra-Scopes", "cluster-admin"],
    ["IMPERSONATE-UID", "0", "impersonate-extra-groups", "system:masters", "Impersonate-Extra-Groups", "system:masters"],
    ["X-Remote-User", "admin", "X-Remote-Group", "system:masters", "Connection", "X-Remote-User"],
  ]) {
    const r = await w.api(token, "POST", whoami, review, extra);
    assert.equal(r.status, 201, `${extra}: ${JSON.stringify(r.json)}`);
    const info = r.json.status.userInfo as { username: string; groups?: string[]; uid?: string; extra?: unknown };
    assert.equal(info.username, "ward:dev@example.com", `${extra}`);
    assert.deepEqual(info.groups, ["system:authenticated"], `${extra}`);
    assert.equal(info.uid, undefined, `${extra}`);
    assert.equal(info.extra, undefined, `${extra}`);
  }
  // kubectl auth whoami (newest kubectl; 1.20 has no whoami): the same identity, --as only for oneself.
  const dev = { kubectl: kube.kubectl.newest, kubeconfig: members.dev!.kubeconfig };
  assert.match(await kubectlOk(dev, ["auth", "whoami"]), /Username\s+ward:dev@example\.com/);
  assert.match(await kubectlOk(dev, ["auth", "whoami", "--as", "dev@example.com"]), /Username\s+ward:dev@example\.com/);
  assert.match(await kubectlOk(dev, ["auth", "whoami", "--as", "ward:dev@example.com"]), /Username\s+ward:dev@example\.com/, "the mapped name whoami shows is oneself too");
  // kubectl words the gateway's 403 Status its own way here ("… or you do not have permission to call
  // it"; during discovery "Forbidden: unknown"): the Status's message is checked on the wire above.
  const as = await kubectl(dev, ["auth", "whoami", "--as", "admin", "--as-group", "system:masters"]);
  assert.notEqual(as.code, 0, as.stdout);
  assert.match(as.stderr, /you do not have permission to call it/);

  // A member limited to one namespace stays limited, whatever it sends.
  const m = await w.member("limited@example.com");
  await w.grant(m.id, { role: "view", scope: "namespace", namespace: kube.namespace });
  await w.mintKubeconfig(m);
  const limitedTok = await w.api(m.token, "POST", `/api/v1/clusters/${CLUSTER}/k8s-token`, {});
  assert.equal(limitedTok.status, 200, JSON.stringify(limitedTok.json));
  const pods = (ns: string) => `/api/v1/clusters/${CLUSTER}/k8s/api/v1/namespaces/${ns}/pods`;
  const refused = await w.api(limitedTok.json.token, "GET", pods("default"), undefined, ["Impersonate-User", "admin", "Impersonate-Group", "system:masters"]);
  assert.equal(refused.status, 403, JSON.stringify(refused.json));
  assert.match(refused.json.message, /impersonation .*limited to your own identity/);
  // Past the gateway's policy (the caller named last), the API server still judges ward:limited@….
  const smuggled = await w.api(limitedTok.json.token, "GET", pods("default"), undefined, [
    "Impersonate-User", "admin", "impersonate-USER", "limited@example.com", "Connection", "Impersonate-User, Impersonate-Uid", "Impersonate-Uid", "0",
    "Impersonate-Extra-Groups", "system:masters",
  ]);
  assert.equal(smuggled.status, 403, JSON.stringify(smuggled.json));
  assert.equal(smuggled.json.kind, "Status");
  assert.match(smuggled.json.message, /User "ward:limited@example\.com" cannot list resource "pods" in API group "" in the namespace "default"/);
  const own = await w.api(limitedTok.json.token, "GET", pods(kube.namespace), undefined, ["Impersonate-User", "admin", "impersonate-user", "limited@example.com"]);
  assert.equal(own.status, 200, JSON.stringify(own.json));
  for (const which of ["newest", "spdy"] as const) {
    const target = { kubectl: kube.kubectl[which], kubeconfig: m.kubeconfig };
    const r = await kubectl(target, ["get", "pods", "-n", "default", "--as", "admin", "--as-group", "system:masters"]);
    assert.notEqual(r.code, 0, `${which} kubectl: ${r.stdout}`);
    assert.match(r.stderr, /Forbidden|forbidden/, `${which} kubectl`);
    const self = await kubectl(target, ["get", "pods", "-n", "default", "--as", "limited@example.com"]);
    assert.notEqual(self.code, 0, `${which} kubectl: ${self.stdout}`);
    assert.match(self.stderr, /User "ward:limited@example\.com" cannot list resource "pods"/, `${which} kubectl`);
    assert.match(await kubectlOk(target, ["get", "pods", "-n", kube.namespace]), new RegExp(kube.pod));
  }
});

test("an offline cluster answers 503 at once and works again after the agent reconnects", async () => {
  const targets = (["newest", "spdy"] as const).map((which) => ({ which, kubectl: kube.kubectl[which], kubeconfig: members.dev!.kubeconfig }));
  const tok = await w.api(members.dev!.token, "POST", `/api/v1/clusters/${CLUSTER}/k8s-token`, {});
  assert.equal(tok.status, 200, JSON.stringify(tok.json));
  const discovery = () => w.api(tok.json.token, "GET", `/api/v1/clusters/${CLUSTER}/k8s/api`);
  assert.equal((await discovery()).status, 200);

  const offline = async (how: string) => {
    // The gateway learns of it from the agent's goodbye (SIGTERM) or from its lost connection (SIGKILL).
    await eventually(`the gateway to see the cluster offline (${how})`, async () => (await discovery()).status === 503, { timeoutMs: 10_000, intervalMs: 100 });
    const t0 = Date.now();
    const r = await discovery();
    const ms = Date.now() - t0;
    assert.equal(r.status, 503, JSON.stringify(r.json));
    assert.equal(r.json.kind, "Status");
    assert.equal(r.json.code, 503);
    assert.match(r.json.message, /Cluster e2e is offline: its Ward agent is not connected/);
    assert.ok(ms < 1000, `the 503 took ${ms} ms`);
    for (const t of targets) {
      const k = await kubectl(t, ["get", "ns"]);
      assert.notEqual(k.code, 0, `${t.which} kubectl: ${k.stdout}`);
      assert.match(k.stderr, /offline/, `${t.which} kubectl`);
    }
  };
  const online = async () => {
    await w.startAgent();
    for (const t of targets) {
      await eventually(`${t.which} kubectl to work again`, async () => {
        const r = await kubectl(t, ["get", "ns"]);
        return r.code === 0 && r.stdout.includes("default");
      }, { timeoutMs: 20_000, intervalMs: 100 });
    }
    const ready = await fetch(`${w.agentMetrics}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
    assert.equal(await w.agentMetric("ward_agent_connected"), 1);
  };

  assert.equal(await w.agent.stop("SIGTERM"), 0, w.agent.output().slice(-2000));
  await offline("SIGTERM");
  await online();
  assert.equal(await w.agent.stop("SIGKILL"), "SIGKILL");
  await offline("SIGKILL");
  await online();
});

/**
 * The API server's own count of the long-running requests a kubectl of this test makes: namespaced
 * pod watches (`get pods -w -n …`; kwok watches cluster-wide) or pod log follows (`logs -f`).
 */
async function apiServerLongRunning(name: "get -w" | "logs -f"): Promise<number> {
  const text = await kubectlOk({ kubectl: kube.kubectl.newest, kubeconfig: kube.kubeconfig }, ["get", "--raw", "/metrics"]);
  const labels = name === "get -w" ? 'resource="pods",scope="namespace",subresource="",verb="WATCH"' : 'resource="pods",scope="resource",subresource="log",verb="CONNECT"';
  let n = 0;
  for (const line of text.split("\n")) if (line.startsWith("apiserver_longrunning_requests{") && line.includes(labels)) n += Number(line.split(" ").pop());
  return n;
}

for (const which of ["newest", "spdy"] as const) {
  test(`SIGINT to kubectl (${which}) during get -w and logs -f ends the upstream request: the agent's open-stream count drops`, async () => {
    const target = { kubectl: kube.kubectl[which], kubeconfig: members.dev!.kubeconfig };
    const openStreams = () => w.agentMetric("ward_agent_open_streams");
    for (const name of ["get -w", "logs -f"] as const) {
      await eventually("no open streams at the agent", async () => (await openStreams()) === 0, { timeoutMs: 10_000, intervalMs: 100 });
      await eventually(`no ${name} request at the API server`, async () => (await apiServerLongRunning(name)) === 0, { timeoutMs: 10_000, intervalMs: 100 });
      const total = await w.agentMetric("ward_agent_streams_total");
      const marker = `sigint-${which}-${Date.now()}`;
      const k = name === "get -w"
        ? kubectlProcess(target, ["get", "pods", "-w", "-n", kube.namespace])
        : kubectlProcess(target, ["logs", "-f", kube.pod, "-c", kube.container, "-n", kube.namespace]);
      try {
        if (name === "get -w") {
          await k.waitFor(kube.pod);
        } else {
          kube.appendLog(marker);
          await k.waitFor(marker);
        }
        await eventually(`the ${name} stream to be the agent's one open stream`, async () => (await openStreams()) === 1, { timeoutMs: 10_000, intervalMs: 100 });
        assert.ok((await w.agentMetric("ward_agent_streams_total")) > total, "the agent counted the new streams");
        await eventually(`the API server to serve the ${name} request`, async () => (await apiServerLongRunning(name)) === 1, { timeoutMs: 10_000, intervalMs: 100 });
        k.child.kill("SIGINT");
        const code = await k.exited;
        // kubectl exits 1 after handling the interrupt, or dies of it (1.20's logs -f).
        assert.ok(code === 1 || code === "SIGINT", `kubectl ${name} exited with ${code}: ${k.output()}`);
        await eventually(`the agent's open-stream count to drop after SIGINT to ${name}`, async () => (await openStreams()) === 0, { timeoutMs: 5_000, intervalMs: 100 });
        await eventually(`the API server to end the ${name} request`, async () => (await apiServerLongRunning(name)) === 0, { timeoutMs: 5_000, intervalMs: 100 });
      } finally {
        k.child.kill("SIGKILL");
      }
    }
  });
}

test("Forbidden (403 Status) while the grant is pending, allowed once the agent has applied it", async () => {
  const m = await w.member("pending@example.com");
  const hold = await holdBindingsFor("ward:pending@example.com");
  try {
    const created = await w.api(w.adminToken, "POST", `/api/v1/clusters/${CLUSTER}/access/grants`, { member_id: m.id, role: "view", scope: "namespace", namespace: kube.namespace });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const id = created.json.grant.id as string;
    const status = async () => ((await w.api(w.adminToken, "GET", `/api/v1/clusters/${CLUSTER}/access/grants`)).json.grants as { id: string; status: string }[]).find((g) => g.id === id)?.status;
    // The agent is now inside its create call for this grant's RoleBinding, held by the webhook.
    await hold.arrived;
    assert.equal(await status(), "pending");
    // A pending grant is live: the member can mint a kubeconfig, but the API server refuses them.
    await w.mintKubeconfig(m);
    for (const which of ["newest", "spdy"] as const) {
      const r = await kubectl({ kubectl: kube.kubectl[which], kubeconfig: m.kubeconfig }, ["get", "pods", "-n", kube.namespace]);
      assert.notEqual(r.code, 0, `${which} kubectl: ${r.stdout}`);
      assert.match(r.stderr, /Error from server \(Forbidden\).*User "ward:pending@example\.com" cannot list resource "pods"/, `${which} kubectl`);
    }
    // On the wire: a Kubernetes Status with code 403 through the proxy path.
    const tok = await w.api(m.token, "POST", `/api/v1/clusters/${CLUSTER}/k8s-token`, {});
    assert.equal(tok.status, 200, JSON.stringify(tok.json));
    const raw = await w.api(tok.json.token, "GET", `/api/v1/clusters/${CLUSTER}/k8s/api/v1/namespaces/${kube.namespace}/pods`);
    assert.equal(raw.status, 403, JSON.stringify(raw.json));
    assert.equal(raw.json.kind, "Status");
    assert.equal(raw.json.code, 403);
    assert.equal(raw.json.reason, "Forbidden");
    assert.equal(await status(), "pending", "the grant stayed pending while kubectl was refused");

    hold.release();
    await eventually(`grant ${id} applied`, async () => (await status()) === "applied", { timeoutMs: 20_000, intervalMs: 100 });
    // RBAC takes effect in the API server's authorizer cache shortly after the binding exists.
    const target = { kubectl: kube.kubectl.newest, kubeconfig: m.kubeconfig };
    await eventually("kubectl get pods to be allowed", async () => {
      const r = await kubectl(target, ["get", "pods", "-n", kube.namespace]);
      return r.code === 0 && r.stdout.includes(kube.pod);
    }, { timeoutMs: 10_000, intervalMs: 100 });
    assert.match(await kubectlOk({ kubectl: kube.kubectl.spdy, kubeconfig: m.kubeconfig }, ["get", "pods", "-n", kube.namespace]), new RegExp(kube.pod));
  } finally {
    await hold.close();
  }
});

test("deleting a grant ends that member's get -w within a second and refuses the next request", async () => {
  const target = { kubectl: kube.kubectl.newest, kubeconfig: members.viewer!.kubeconfig };
  const grants = (await w.api(w.adminToken, "GET", `/api/v1/clusters/${CLUSTER}/access/grants`)).json.grants as { id: string; member_id: string }[];
  const g = grants.find((x) => x.member_id === members.viewer!.id)!;
  const watch = kubectlStream(target, ["get", "pods", "-w", "-n", kube.namespace]);
  try {
    await watch.waitFor(kube.pod, 10_000);
    const t0 = Date.now();
    assert.equal((await w.api(w.adminToken, "DELETE", `/api/v1/clusters/${CLUSTER}/access/grants/${g.id}`)).status, 204);
    await watch.exited;
    assert.ok(Date.now() - t0 < 1000, `get -w ended after ${Date.now() - t0} ms`);
  } finally {
    await watch.stop();
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
    assert.equal((await w.api(w.adminToken, "POST", `/api/v1/clusters/${CLUSTER}/access/revoke-all`, {})).status < 300, true);
    await Promise.all(streams.map((s) => s.exited));
    assert.ok(Date.now() - t0 < 1000, `streams ended after ${Date.now() - t0} ms`);
  } finally {
    await Promise.all(streams.map((s) => s.stop()));
  }
  const r = await kubectl(target, ["get", "ns"]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Unauthorized|provide credentials/);
});
