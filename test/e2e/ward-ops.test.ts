/**
 * Operations end to end, with the built executable against the real kube-env: the gateway's
 * `/metrics` (scrape, act with kubectl, scrape again), idle timeouts per stream kind (each ends an
 * idle stream of its kind and not an active one), and `--print-config` redacting secrets. The
 * gateway and the agent run with idle timeouts of 3 s for requests and watches, and 8 s for exec and
 * port-forward: longer than the 5 s between the newest kubectl's WebSocket pings, which must not
 * count as activity.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { connect } from "node:net";
import { after, before, test } from "node:test";
import { eventually } from "../helpers/eventually.ts";
import { startKubeEnv, type KubeEnv } from "../helpers/kube-env.ts";
import { kubectl, kubectlOk, kubectlStream, type KubectlTarget } from "../helpers/kubectl.ts";
import { run } from "../helpers/process.ts";
import { startWard, TEST_AGENT_FLAGS, wardBinary, type Ward, type WardMember } from "../helpers/ward.ts";

const CLUSTER = "ops";
const IDLE = { request: "3s", watch: "3s", exec: "8s", portforward: "8s" };
const IDLE_FLAGS = Object.entries(IDLE).flatMap(([k, v]) => [`--idle-timeout-${k}`, v]);
let kube: KubeEnv;
let w: Ward;
let metricsUrl: string;
let dev: WardMember;
let target: KubectlTarget;

before(async () => {
  kube = await startKubeEnv();
  w = await startWard(kube, { cluster: CLUSTER, gatewayArgs: ["--metrics-listen", "127.0.0.1:0", ...IDLE_FLAGS], agentFlags: [...TEST_AGENT_FLAGS, ...IDLE_FLAGS] });
  metricsUrl = (await w.gateway.waitFor(/"metrics listening".*?"url":"(http:[^"]+)"/, 10_000))[1]!;
  dev = await w.member("ops-dev@example.com");
  await w.grant(dev.id, { role: "cluster-admin" });
  await w.mintKubeconfig(dev);
  target = { kubectl: kube.kubectl.newest, kubeconfig: dev.kubeconfig };
}, { timeout: 240_000 });

after(async () => {
  try {
    if (w) {
      const agentDied = w.agent.child.exitCode !== null || w.agent.child.signalCode !== null;
      const agentLog = w.agent.output().slice(-4000);
      await w.stop();
      assert.ok(!agentDied, `the agent exited during the tests:\n${agentLog}`);
    }
  } finally {
    await kube?.stop();
  }
});

async function scrape(): Promise<string> {
  const res = await fetch(`${metricsUrl}/metrics`);
  assert.equal(res.status, 200);
  return await res.text();
}

/** One series' value (`name{labels}` as prom-client writes it); 0 when the series is absent. */
function value(text: string, series: string): number {
  const escaped = series.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(`^${escaped} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

/** Whether a kubectl has not exited (checked after a turn, so an exit already seen resolves first). */
function tracker(s: { exited: Promise<unknown> }): () => boolean {
  let done = false;
  void s.exited.then(() => (done = true));
  return () => !done;
}

/** Runs `fn` every `ms` until the returned stop function is called. */
function every(ms: number, fn: () => unknown): () => void {
  const t = setInterval(() => void Promise.resolve(fn()).catch(() => {}), ms);
  return () => clearInterval(t);
}

test("gateway metrics move as traffic flows: scrape, act, scrape", async () => {
  const health = await fetch(`${metricsUrl}/healthz`);
  assert.equal(health.status, 200);
  assert.equal((await fetch(`${metricsUrl}/readyz`)).status, 200, "ready: the store answers");
  const before = await scrape();
  assert.equal(value(before, "ward_gateway_agents_online"), 1);
  assert.ok(value(before, 'ward_gateway_reconciles_total{outcome="applied"}') >= 1, "the grant's reconcile was reported");

  const ns = ["-n", kube.namespace];
  await kubectlOk(target, ["get", "configmaps", ...ns]);
  await kubectlOk(target, ["create", "configmap", `metrics-${Date.now()}`, ...ns]);
  assert.equal((await kubectlOk(target, ["exec", kube.pod, "-c", kube.container, ...ns, "--", "echo", "metrics-exec"])).trim(), "metrics-exec");
  await w.mintKubeconfig(dev);
  const refused = await w.api("not-a-token", "GET", `/api/v1/clusters/${CLUSTER}/k8s/api/v1/namespaces/${kube.namespace}/pods`);
  assert.equal(refused.status, 401);

  // A watch shows on the open-streams gauge while it runs (events keep it from idling out), and leaves it when it ends.
  const watch = kubectlStream(target, ["get", "configmaps", "-w", ...ns]);
  let n = 0;
  const stopEvents = every(500, () => kubectl(target, ["create", "configmap", `metrics-w-${Date.now()}-${n++}`, ...ns]));
  try {
    await eventually("the watch on the gauge", async () => value(await scrape(), 'ward_gateway_open_streams{kind="watch"}') === 1, { timeoutMs: 15_000, intervalMs: 100 });
  } finally {
    stopEvents();
    await watch.stop();
  }
  await eventually("the watch off the gauge", async () => value(await scrape(), 'ward_gateway_open_streams{kind="watch"}') === 0, { timeoutMs: 10_000, intervalMs: 100 });

  const after = await scrape();
  const moved = (series: string, min = 1) => {
    const d = value(after, series) - value(before, series);
    assert.ok(d >= min, `${series} moved by ${d} (expected at least ${min})\n${after.split("\n").filter((l) => l.startsWith("ward_gateway")).join("\n")}`);
  };
  moved('ward_gateway_requests_total{verb="list",code="200",kind="request"}');
  moved('ward_gateway_requests_total{verb="create",code="201",kind="request"}');
  moved('ward_gateway_requests_total{verb="connect",code="101",kind="exec"}');
  moved('ward_gateway_requests_total{verb="watch",code="200",kind="watch"}');
  moved('ward_gateway_requests_total{verb="list",code="401",kind="none"}');
  moved('ward_gateway_bytes_total{direction="out",kind="request"}', 100);
  moved('ward_gateway_bytes_total{direction="in",kind="request"}', 10);
  moved('ward_gateway_bytes_total{direction="out",kind="exec"}', "metrics-exec".length);
  moved('ward_gateway_request_duration_seconds_count{verb="list"}');
  moved('ward_gateway_tokens_minted_total{kind="kubeconfig"}');
  assert.equal(value(after, "ward_gateway_agents_online"), 1);
  // The audit queue's gauges are in the registry (the audit is on by default): drained, nothing dropped.
  assert.match(after, /^ward_gateway_audit_queue_depth \d+$/m);
  assert.match(after, /^ward_gateway_audit_dropped_total 0$/m);
});

test("token mints past the member's rate limit count as rate-limit hits", async () => {
  const m = await w.member("ops-limited@example.com");
  await w.grant(m.id, { role: "view", scope: "namespace", namespace: kube.namespace });
  const before = value(await scrape(), 'ward_gateway_rate_limited_total{limit="token-mint"}');
  let limited = 0;
  for (let i = 0; i < 12 && limited === 0; i++) {
    const r = await w.api(m.token, "POST", `/api/v1/clusters/${CLUSTER}/k8s-token`, {});
    if (r.status === 429) limited++;
    else assert.equal(r.status, 200, JSON.stringify(r.json));
  }
  assert.equal(limited, 1, "the burst of 10 is spent within 12 mints");
  assert.equal(value(await scrape(), 'ward_gateway_rate_limited_total{limit="token-mint"}') - before, 1);
});

/**
 * A validating admission webhook that holds the creation of ConfigMaps named `hold-<ms>-…` for that
 * many milliseconds: a request whose answer takes that long, with nothing moving meanwhile.
 */
async function holdConfigMaps(): Promise<() => Promise<void>> {
  const admin = { kubectl: kube.kubectl.newest, kubeconfig: kube.kubeconfig };
  const NAME = "ward-ops-hold-configmaps";
  const server = createServer({ cert: readFileSync(kube.servingCertFile), key: readFileSync(kube.servingKeyFile) }, (req, res) => {
    let text = "";
    req.on("data", (c) => (text += c));
    req.on("end", () => {
      const { uid, name } = ((r) => ({ uid: r.uid, name: r.name ?? r.object?.metadata?.name ?? "" }))(JSON.parse(text).request);
      const ms = Number(/^hold-(\d+)-/.exec(name)?.[1] ?? 0);
      setTimeout(() => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid, allowed: true } }));
      }, Math.min(ms, 20_000));
    });
  });
  server.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  const port = (server.address() as { port: number }).port;
  const config = {
    apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingWebhookConfiguration", metadata: { name: NAME },
    webhooks: [{
      name: "hold.ward-ops.test",
      clientConfig: { url: `https://127.0.0.1:${port}/validate`, caBundle: Buffer.from(kube.ca).toString("base64") },
      rules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["configmaps"], scope: "Namespaced" }],
      failurePolicy: "Ignore", sideEffects: "None", admissionReviewVersions: ["v1"], timeoutSeconds: 25,
    }],
  };
  await kubectlOk(admin, ["apply", "-f", "-"], { input: JSON.stringify(config) });
  const close = async () => {
    await kubectl(admin, ["delete", "validatingwebhookconfiguration", NAME, "--ignore-not-found"]);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  // The API server picks the configuration up asynchronously: wait until a hold is seen to take time.
  try {
    await eventually("the webhook to hold creations", async () => {
      const t0 = Date.now();
      await kubectl(admin, ["create", "configmap", `hold-1500-probe-${t0}`, "-n", kube.namespace, "--dry-run=server"]);
      return Date.now() - t0 >= 1500;
    }, { timeoutMs: 30_000, intervalMs: 200 });
  } catch (err) {
    await close();
    throw err;
  }
  return close;
}

test("request idle timeout: a request with no answer for longer ends with a 504 Status; a quicker one completes", async () => {
  const close = await holdConfigMaps();
  try {
    const ns = ["-n", kube.namespace];
    const id = Date.now();
    const t0 = Date.now();
    const slow = await kubectl(target, ["create", "configmap", `hold-8000-${id}`, ...ns]);
    const took = Date.now() - t0;
    assert.notEqual(slow.code, 0);
    assert.match(slow.stderr, /Timeout.*\(request\) was idle for more than 3s/s);
    assert.ok(took >= 2500 && took < 8000, `refused after ${took} ms: at the idle timeout, before the answer`);
    await kubectlOk(target, ["create", "configmap", `hold-1000-${id}`, ...ns]);
  } finally {
    await close();
  }
});

test("watch idle timeout: a watch with no events ends cleanly; one with events flowing stays", async () => {
  const ns = ["-n", kube.namespace];
  const quiet = kubectlStream(target, ["get", "pods", "-w", "--watch-only", ...ns]);
  const busy = kubectlStream(target, ["get", "configmaps", "-w", "--watch-only", ...ns]);
  const busyRunning = tracker(busy);
  let n = 0;
  const stopEvents = every(700, () => kubectl(target, ["create", "configmap", `idle-w-${Date.now()}-${n++}`, ...ns]));
  try {
    const t0 = Date.now();
    const ended = await quiet.exited;
    const took = Date.now() - t0;
    assert.equal(ended.code, 0, `a watch ended by its idle timeout ends like one the API server ends: kubectl exits 0\n${quiet.stderr()}`);
    assert.ok(took >= 2500, `ended after ${took} ms, not before the 3 s idle timeout`);
    // Three more timeouts' worth of time: the watch with events is still running.
    await new Promise((r) => setTimeout(r, 9000));
    assert.ok(busyRunning(), `the busy watch is still running\n${busy.stderr()}`);
    assert.match(busy.stdout(), /idle-w-/);
  } finally {
    stopEvents();
    await busy.stop();
    await quiet.stop();
  }
});

test("exec idle timeout: a silent session ends; one with bytes flowing stays", async () => {
  const ns = ["-n", kube.namespace];
  for (const which of ["newest", "spdy"] as const) {
    const t = { kubectl: kube.kubectl[which], kubeconfig: dev.kubeconfig };
    const silent = kubectlStream(t, ["exec", "-i", kube.pod, "-c", kube.container, ...ns, "--", "cat"]);
    const active = kubectlStream(t, ["exec", "-i", kube.pod, "-c", kube.container, ...ns, "--", "cat"]);
    const activeRunning = tracker(active);
    let n = 0;
    const stopTyping = every(700, () => active.write(`typing-${n++}\n`));
    try {
      await active.waitFor("typing-0", 15_000);
      const t0 = Date.now();
      await silent.exited;
      const took = Date.now() - t0;
      assert.ok(took >= 5000, `${which}: the silent session ended after ${took} ms, at its 8 s idle timeout (kubectl's pings do not count)`);
      await new Promise((r) => setTimeout(r, 9000));
      assert.ok(activeRunning(), `${which}: the active session is still running\n${active.stderr()}`);
      const last = n - 1;
      await active.waitFor(`typing-${last}`, 5000);
    } finally {
      stopTyping();
      await active.stop();
      await silent.stop();
    }
  }
});

test("port-forward idle timeout: a silent forward ends; one moving bytes stays", async () => {
  const ns = ["-n", kube.namespace];
  const forward = async () => {
    const pf = kubectlStream(target, ["port-forward", `pod/${kube.pod}`, `:${kube.podPort}`, "--address=127.0.0.1", ...ns]);
    const port = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(await pf.waitFor(/Forwarding from 127\.0\.0\.1:(\d+)/, 15_000))![1]);
    return { pf, port, running: tracker(pf) };
  };
  const silent = await forward();
  const active = await forward();
  // A connection through each: the stream opens on the first connection.
  const silentSock = connect(silent.port, "127.0.0.1");
  silentSock.on("error", () => {});
  silentSock.write("hello\n");
  const activeSock = connect(active.port, "127.0.0.1");
  activeSock.on("error", () => {});
  let echoed = "";
  activeSock.on("data", (c: Buffer) => (echoed += c.toString()));
  let n = 0;
  const stopSending = every(700, () => activeSock.write(`pf-${n++}\n`));
  const silentClosed = new Promise<void>((r) => silentSock.once("close", () => r()));
  try {
    const t0 = Date.now();
    await Promise.race([silentClosed, silent.pf.exited]);
    const took = Date.now() - t0;
    assert.ok(took >= 5000 && took < 20_000, `the silent forward's connection ended after ${took} ms, at its 8 s idle timeout`);
    await new Promise((r) => setTimeout(r, 9000));
    assert.equal(activeSock.destroyed, false, "the forward moving bytes is still open");
    assert.ok(active.running(), `kubectl port-forward still runs\n${active.pf.stderr()}`);
    await eventually("the latest bytes echoed", () => echoed.includes(`pf-${n - 1}\n`), { timeoutMs: 5000 });
  } finally {
    stopSending();
    activeSock.destroy();
    silentSock.destroy();
    await active.pf.stop();
    await silent.pf.stop();
  }
});

test("--print-config prints the effective settings and redacts secrets", async () => {
  const env = { ...process.env, WARD_OIDC_CLIENT_SECRET: "oidc-secret-value", WARD_STORE: "postgres://ward:db-password@db/ward" };
  const gw = await run(wardBinary, ["gateway", "--print-config", "--metrics-listen", "127.0.0.1:9464", "--idle-timeout-exec", "1h"], { env });
  assert.equal(gw.code, 0, gw.stderr);
  assert.ok(!gw.stdout.includes("oidc-secret-value") && !gw.stdout.includes("db-password"));
  assert.match(gw.stdout, /clientSecret: "\*\*\*" {2}# WARD_OIDC_CLIENT_SECRET/);
  assert.match(gw.stdout, /store: "postgres:\/\/ward:\*\*\*@db\/ward" {2}# WARD_STORE/);
  assert.match(gw.stdout, /metricsListen: "127\.0\.0\.1:9464" {2}# --metrics-listen/);
  assert.match(gw.stdout, /exec: 1h {2}# --idle-timeout-exec/);
  const agent = await run(wardBinary, ["agent", "--print-config", "--token", "join-credential-value", "--cluster", "prod"]);
  assert.equal(agent.code, 0, agent.stderr);
  assert.ok(!agent.stdout.includes("join-credential-value"));
  assert.match(agent.stdout, /token: "\*\*\*" {2}# --token/);
});
