/**
 * Security review findings, end to end through `dist/ward gateway` + `dist/ward agent`, the real
 * kube-apiserver and real kubectl: revocation closes exactly the streams it took the authority
 * from (one token, one grant), grant expiry ends live streams, the access feature switched off ends
 * the proxy path, join credential rotation refuses the old credential and kicks its agent, upgrade
 * dispatch and protocols, bounded bodies, one presence source, refusal reasons in the log.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { connect as tlsConnect } from "node:tls";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { connectBus } from "../../internal/nats/index.ts";
import { startKubeEnv, type KubeEnv } from "../helpers/kube-env.ts";
import { kubectl, kubectlOk, kubectlStream, type KubectlStream } from "../helpers/kubectl.ts";
import { run } from "../helpers/process.ts";
import { eventually } from "../helpers/eventually.ts";
import { startWard, wardBinary, type Ward, type WardMember } from "../helpers/ward.ts";

const CLUSTER = "sec";
const PROBE = "sec-probe";
let kube: KubeEnv;
let w: Ward;
let dev: WardMember;

before(async () => {
  kube = await startKubeEnv();
  w = await startWard(kube, { cluster: CLUSTER });
  // Something for every watch below to print (no controller-manager publishes kube-root-ca.crt here).
  for (const ns of [kube.namespace, "default"]) await kubectlOk({ kubectl: kube.kubectl.newest, kubeconfig: kube.kubeconfig }, ["create", "configmap", PROBE, "-n", ns]);
  dev = await w.member("dev@example.com");
  await w.grant(dev.id, { role: "cluster-admin" });
  await w.mintKubeconfig(dev);
}, { timeout: 240_000 });

after(async () => {
  await w?.stop();
  await kube?.stop();
});

/** Resolves true when the stream is still running `ms` from now. */
async function stillRunning(s: KubectlStream, ms: number): Promise<boolean> {
  const r = await Promise.race([s.exited.then(() => false), new Promise<boolean>((res) => setTimeout(() => res(true), ms))]);
  return r;
}

async function endsWithin(streams: KubectlStream[], ms: number, what: string): Promise<number> {
  const t0 = Date.now();
  await Promise.race([
    Promise.all(streams.map((s) => s.exited)),
    new Promise((_, rej) => setTimeout(() => rej(new Error(`${what}: streams still open after ${ms} ms`)), ms)),
  ]);
  return Date.now() - t0;
}

/** A raw HTTP/1.1 exchange over TLS: writes `head`, collects everything until the server closes (or `ms`). */
function rawExchange(head: string, ms = 3000): Promise<string> {
  const u = new URL(w.url);
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: u.hostname, port: Number(u.port), ca: w.ca, servername: "localhost" }, () => s.write(head));
    let out = "";
    const timer = setTimeout(() => (s.destroy(), resolve(out)), ms);
    s.on("data", (c) => (out += c.toString("latin1")));
    s.on("close", () => (clearTimeout(timer), resolve(out)));
    s.on("error", (e) => (clearTimeout(timer), out ? resolve(out) : reject(e)));
  });
}

test("revoking one token closes only that token's streams; deleting one grant only the streams it authorized", async () => {
  const m = await w.member("multi@example.com");
  const inNs = await w.grant(m.id, { role: "view", scope: "namespace", namespace: kube.namespace });
  const inDefault = await w.grant(m.id, { role: "view", scope: "namespace", namespace: "default" });
  const kc2 = join(w.dir, "kubeconfig-multi-2");
  await w.mintKubeconfig(m);
  const token2 = await w.mintKubeconfig(m, kc2);
  const t1 = { kubectl: kube.kubectl.newest, kubeconfig: m.kubeconfig };
  const t2 = { kubectl: kube.kubectl.newest, kubeconfig: kc2 };
  const nsWatch = kubectlStream(t1, ["get", "configmaps", "-w", "-n", kube.namespace]);
  const defaultWatch = kubectlStream(t1, ["get", "configmaps", "-w", "-n", "default"]);
  const otherToken = kubectlStream(t2, ["get", "configmaps", "-w", "-n", kube.namespace]);
  try {
    for (const s of [nsWatch, defaultWatch, otherToken]) await s.waitFor(PROBE, 15_000);
    // One token revoked: its stream ends, the other token's streams stay.
    assert.equal((await w.api(m.token, "DELETE", `/api/v1/clusters/${CLUSTER}/access/tokens/${token2}`)).status, 204);
    await endsWithin([otherToken], 1000, "the revoked token's get -w");
    assert.ok(await stillRunning(nsWatch, 1500), `the other token's watch ended: ${nsWatch.stderr()}`);
    assert.ok(await stillRunning(defaultWatch, 1), `the other token's watch ended: ${defaultWatch.stderr()}`);
    // One grant deleted: the stream in its namespace ends, the one the other grant covers stays.
    assert.equal((await w.api(w.adminToken, "DELETE", `/api/v1/clusters/${CLUSTER}/access/grants/${inDefault}`)).status, 204);
    await endsWithin([defaultWatch], 1000, "the deleted grant's get -w");
    assert.ok(await stillRunning(nsWatch, 1500), `the remaining grant's watch ended: ${nsWatch.stderr()}`);
    assert.equal((await kubectl(t1, ["get", "configmaps", "-n", kube.namespace])).code, 0);
  } finally {
    await Promise.all([nsWatch, defaultWatch, otherToken].map((s) => s.stop()));
    await w.api(w.adminToken, "DELETE", `/api/v1/clusters/${CLUSTER}/access/grants/${inNs}`);
  }
});

test("a grant's expiry ends the exec, port-forward and get -w it authorized within a second", { timeout: 90_000 }, async () => {
  const m = await w.member("expiring@example.com");
  const expiresAt = Date.now() + 20_000;
  await w.grant(m.id, { role: "edit", scope: "namespace", namespace: kube.namespace, expires_at: new Date(expiresAt).toISOString() });
  await w.mintKubeconfig(m);
  const t = { kubectl: kube.kubectl.newest, kubeconfig: m.kubeconfig };
  const streams = [
    kubectlStream(t, ["get", "configmaps", "-w", "-n", kube.namespace]),
    kubectlStream(t, ["exec", "-i", kube.pod, "-c", kube.container, "-n", kube.namespace, "--", "cat"]),
    kubectlStream(t, ["port-forward", "-n", kube.namespace, `pod/${kube.pod}`, `0:${kube.podPort}`]),
  ];
  try {
    await streams[0]!.waitFor(PROBE, 15_000);
    streams[1]!.write("ping\n");
    await streams[1]!.waitFor("ping", 15_000);
    await streams[2]!.waitFor(/Forwarding from 127\.0\.0\.1:(\d+)/, 15_000);
    const port = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(streams[2]!.stdout())![1]);
    // A connection through the forward opens the port-forward stream itself.
    const fwd = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.status, (e: Error) => e.message);
    assert.ok(fwd, "port-forward answered");
    assert.ok(Date.now() < expiresAt - 1000, "the streams were set up before the grant expired");
    const wait = expiresAt - Date.now();
    await new Promise((r) => setTimeout(r, wait));
    // get -w and exec end; port-forward's own stream is gone at the agent.
    await endsWithin(streams.slice(0, 2), 1500, "after the grant expired");
    await eventually("no open stream at the agent", async () => (await w.agentMetric("ward_agent_open_streams")) === 0, { timeoutMs: 1500, intervalMs: 100 });
    const r = await kubectl(t, ["get", "configmaps", "-n", kube.namespace]);
    assert.notEqual(r.code, 0, "the expired grant still allowed a request");
  } finally {
    await Promise.all(streams.map((s) => s.stop()));
  }
});

test("switching the access feature off ends live streams and answers 404 on the proxy path", async () => {
  const t = { kubectl: kube.kubectl.newest, kubeconfig: dev.kubeconfig };
  const tok = await w.api(dev.token, "POST", `/api/v1/clusters/${CLUSTER}/k8s-token`, {});
  assert.equal(tok.status, 200);
  const watch = kubectlStream(t, ["get", "configmaps", "-w", "-n", kube.namespace]);
  try {
    await watch.waitFor(PROBE, 15_000);
    assert.equal((await w.api(w.adminToken, "PUT", "/api/v1/settings/access", { enabled: false })).status, 200);
    await endsWithin([watch], 1000, "after the feature was switched off");
    const r = await w.api(tok.json.token, "GET", `/api/v1/clusters/${CLUSTER}/k8s/api`);
    assert.equal(r.status, 404, JSON.stringify(r.json));
    assert.equal(r.json.kind, "Status");
    assert.equal((await w.api(dev.token, "POST", `/api/v1/clusters/${CLUSTER}/k8s-token`, {})).status, 404);
  } finally {
    await watch.stop();
    assert.equal((await w.api(w.adminToken, "PUT", "/api/v1/settings/access", { enabled: true })).status, 200);
  }
  assert.equal((await w.api(tok.json.token, "GET", `/api/v1/clusters/${CLUSTER}/k8s/api`)).status, 200);
});

test("rotating the join credential kicks the agent, refuses the old credential at connect, and the new one works", { timeout: 90_000 }, async () => {
  const oldCredential = (await import("node:fs")).readFileSync(join(w.dir, "join-token"), "utf8").trim();
  const env = { ...process.env, WARD_TOKEN: w.adminToken, WARD_GATEWAY: w.url, WARD_GATEWAY_CA: w.caFile };
  const refused = await run(wardBinary, ["cluster", "rotate-join", "--cluster", CLUSTER], { env });
  assert.equal(refused.code, 2, "rotate-join without --yes is refused");
  const newFile = join(w.dir, "join-token-2");
  const r = await run(wardBinary, ["cluster", "rotate-join", "--cluster", CLUSTER, "--yes", "--token-file", newFile], { env });
  assert.equal(r.code, 0, r.stderr);
  // The connected agent is disconnected and cannot come back with the old credential.
  await w.gateway.waitFor(/agent join credential rotated: disconnected its agents.*"connections":[1-9]/, 5000);
  await w.gateway.waitFor(/"agent authentication failed".*"cluster":"sec"/, 15_000);
  const dev2 = await w.api(dev.token, "POST", `/api/v1/clusters/${CLUSTER}/k8s-token`, {});
  await eventually("the cluster to be offline", async () => (await w.api(dev2.json.token, "GET", `/api/v1/clusters/${CLUSTER}/k8s/api`)).status === 503, { timeoutMs: 10_000, intervalMs: 100 });
  // A stolen copy of the old credential is refused at connect.
  await assert.rejects(
    connectBus(w.url.replace(/^https/, "wss") + "/nats", { user: CLUSTER, pass: oldCredential, maxReconnectAttempts: 0, timeout: 5000, tls: { ca: w.ca } }),
    /Authorization|auth/i,
  );
  await w.agent.stop();
  await w.startAgent(newFile);
  await eventually("kubectl to work with the new agent", async () => (await kubectl({ kubectl: kube.kubectl.newest, kubeconfig: dev.kubeconfig }, ["get", "ns"])).code === 0, { timeoutMs: 20_000, intervalMs: 100 });
});

test("one presence: the cluster list says offline as soon as kubectl gets 503", { timeout: 90_000 }, async () => {
  const tok = await w.api(dev.token, "POST", `/api/v1/clusters/${CLUSTER}/k8s-token`, {});
  const listed = async () => ((await w.api(dev.token, "GET", "/api/v1/me/clusters")).json.clusters as { id: string; online: boolean }[]).find((c) => c.id === CLUSTER)?.online;
  assert.equal(await listed(), true);
  await w.agent.stop("SIGKILL");
  await eventually("kubectl to get 503", async () => (await w.api(tok.json.token, "GET", `/api/v1/clusters/${CLUSTER}/k8s/api`)).status === 503, { timeoutMs: 10_000, intervalMs: 100 });
  assert.equal(await listed(), false, "ward cluster list still says online while kubectl gets 503");
  await w.startAgent(join(w.dir, "join-token-2"));
  assert.equal(await eventually("online again", async () => (await listed()) === true, { timeoutMs: 10_000, intervalMs: 100 }), true);
});

test("upgrades: one owner per path, and only WebSocket and SPDY/3.1 reach the agent", async () => {
  const u = new URL(w.url);
  const ws = (path: string) => `GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
  const nats = await rawExchange(ws("/nats"), 1000);
  assert.match(nats, /^HTTP\/1\.1 101/);
  for (const [path, status] of [["/nats#frag", 400], ["/nats/extra", 404], ["/natsx", 404]] as const) {
    const out = await rawExchange(ws(path));
    assert.match(out, new RegExp(`^HTTP/1\\.1 ${status} `), `${path}: ${out.slice(0, 200)}`);
    assert.ok(!out.includes("101 Switching") && !out.includes("INFO {"), `${path} was also handled by the NATS endpoint: ${out.slice(0, 300)}`);
    assert.equal(out.match(/HTTP\/1\.1 /g)?.length, 1, `${path}: more than one response on the connection:\n${out}`);
  }
  const tok = await w.api(dev.token, "POST", `/api/v1/clusters/${CLUSTER}/k8s-token`, {});
  const total = await w.agentMetric("ward_agent_streams_total");
  const execPath = `/api/v1/clusters/${CLUSTER}/k8s/api/v1/namespaces/${kube.namespace}/pods/${kube.pod}/exec?command=cat&stdin=true&stdout=true&container=${kube.container}`;
  for (const proto of ["h2c", "HTTP/2", "made-up/1", "websocket, h2c"]) {
    const out = await rawExchange(`POST ${execPath} HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: Bearer ${tok.json.token}\r\nConnection: Upgrade\r\nUpgrade: ${proto}\r\nContent-Length: 0\r\n\r\n`);
    assert.match(out, /^HTTP\/1\.1 400 /, `Upgrade: ${proto}: ${out.slice(0, 300)}`);
    assert.match(out, /only WebSocket and SPDY\/3\.1/);
  }
  assert.equal(await w.agentMetric("ward_agent_streams_total"), total, "a refused upgrade reached the agent");
});

test("bodies are bounded while they stream in: a large unauthenticated POST is refused early", async () => {
  const u = new URL(w.url);
  const TOTAL = 32 << 20;
  for (const path of ["/api/v1/auth/token", "/api/v1/auth/device", "/api/v1/clusters"]) {
    // Chunked, no Content-Length: the gateway must stop reading at its limit, not after 32 MiB.
    const { text, sent } = await new Promise<{ text: string; sent: number }>((resolve, reject) => {
      let text = "";
      let sent = 0;
      const s = tlsConnect({ host: u.hostname, port: Number(u.port), ca: w.ca, servername: "localhost" }, () => {
        s.write(`POST ${path} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n`);
        const chunk = Buffer.alloc(64 * 1024, "a").toString("latin1");
        // Like curl: keep sending until the server answers or closes.
        const pump = () => {
          if (sent >= TOTAL || s.destroyed || text) return;
          sent += chunk.length;
          if (s.write(`${(64 * 1024).toString(16)}\r\n${chunk}\r\n`, "latin1")) setImmediate(pump);
          else s.once("drain", pump);
        };
        pump();
      });
      s.on("data", (c: Buffer) => {
        text += c.toString("latin1");
        if (text.includes("\r\n\r\n")) s.destroy();
      });
      s.on("close", () => resolve({ text, sent }));
      s.on("error", () => {});
      setTimeout(() => (s.destroy(), reject(new Error(`no answer to a large POST ${path}`))), 15_000);
    });
    // The answer is a 413, unless the gateway's close (it reads no further) reset the connection
    // before the answer was read: either way it stopped long before the whole body.
    if (text) assert.match(text, /^HTTP\/1\.1 413 /, `${path}: ${text.slice(0, 200)}`);
    assert.ok(sent < TOTAL, `${path}: the gateway read all ${sent} bytes`);
  }
  const hwm = Number(/VmHWM:\s+(\d+)/.exec((await import("node:fs")).readFileSync(`/proc/${w.gateway.child.pid}/status`, "utf8"))![1]) / 1024;
  assert.ok(hwm < 400, `gateway peak RSS ${hwm.toFixed(0)} MiB after large bodies`);
});

test("members see only clusters they can reach; unknown and not-allowed look the same", async () => {
  const m = await w.member("nogrant@example.com");
  const other = await w.api(w.adminToken, "POST", "/api/v1/clusters", { id: "hidden", name: "Hidden" });
  assert.equal(other.status, 201);
  const list = await w.api(m.token, "GET", "/api/v1/clusters");
  assert.equal(list.status, 200);
  assert.deepEqual(list.json.clusters, []);
  for (const path of ["k8s-token", "kubeconfig", "access/grants", "access/tokens"]) {
    const method = path.startsWith("access") ? "GET" : "POST";
    const hidden = await w.api(m.token, method, `/api/v1/clusters/hidden/${path}`, method === "POST" ? {} : undefined);
    const unknown = await w.api(m.token, method, `/api/v1/clusters/nosuch/${path}`, method === "POST" ? {} : undefined);
    assert.equal(hidden.status, 404, `${path}: ${JSON.stringify(hidden.json)}`);
    assert.equal(unknown.status, hidden.status, path);
    assert.equal(unknown.json.reason, hidden.json.reason, path);
    assert.equal(unknown.json.error.replace("nosuch", "X"), hidden.json.error.replace("hidden", "X"), path);
  }
});

test("a refused token's reason is logged, never the token", async () => {
  const m = await w.member("reasons@example.com");
  await w.grant(m.id, { role: "view", scope: "namespace", namespace: kube.namespace });
  const tok = await w.api(m.token, "POST", `/api/v1/clusters/${CLUSTER}/k8s-token`, {});
  assert.equal((await w.api(m.token, "DELETE", `/api/v1/clusters/${CLUSTER}/access/tokens/${tok.json.token_id}`)).status, 204);
  const r = await w.api(tok.json.token, "GET", `/api/v1/clusters/${CLUSTER}/k8s/api`);
  assert.equal(r.status, 401);
  const garbage = await w.api("not-a-token", "GET", `/api/v1/clusters/${CLUSTER}/k8s/api`);
  assert.equal(r.json.message, garbage.json.message, "the client gets the same plain 401 whatever the reason");
  await w.gateway.waitFor(/"token rejected".*"reason":"token revoked"/, 5000);
  const wrongCluster = await w.api(tok.json.token, "GET", `/api/v1/clusters/hidden/k8s/api`);
  assert.equal(wrongCluster.status, 401);
  await w.gateway.waitFor(/"token rejected".*"cluster":"hidden".*"reason":"claim aud invalid/, 5000);
  assert.ok(!w.gateway.output().includes(tok.json.token), "a token was written to the gateway log");
  writeFileSync(join(w.dir, "gateway.log"), w.gateway.output());
});
