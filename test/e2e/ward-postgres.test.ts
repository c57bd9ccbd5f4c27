/**
 * `dist/ward gateway --store postgres://…` against a real PostgreSQL and the real kube-env: the
 * whole path (grants reconciled by the agent, tokens, kubectl) on PostgreSQL; the database stopped
 * under a running gateway (the proxy keeps serving what its memory allows, a live watch keeps
 * running, the APIs answer 503 `StoreUnavailable`, the gateway stays up) and restarted (everything
 * recovers by itself); an unreachable database at start (a clear error, a non-zero exit).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startKubeEnv, type KubeEnv } from "../helpers/kube-env.ts";
import { kubectl, kubectlOk, kubectlStream } from "../helpers/kubectl.ts";
import { eventually } from "../helpers/eventually.ts";
import { startPostgres, type Postgres } from "../helpers/postgres.ts";
import { run } from "../helpers/process.ts";
import { startWard, wardBinary, type Ward, type WardMember } from "../helpers/ward.ts";

const CLUSTER = "pg";
let kube: KubeEnv;
let pg: Postgres;
let w: Ward;
let dev: WardMember;
let secret: string;

before(async () => {
  kube = await startKubeEnv();
  pg = await startPostgres();
  const db = await pg.createDatabase();
  secret = decodeURIComponent(new URL(pg.url(db)).password);
  w = await startWard(kube, { cluster: CLUSTER, gatewayArgs: ["--store", pg.url(db)] });
  dev = await w.member("dev@example.com");
  await w.grant(dev.id, { role: "edit", scope: "namespace", namespace: kube.namespace });
  await w.mintKubeconfig(dev);
}, { timeout: 240_000 });

after(async () => {
  await w?.stop();
  await pg?.destroy();
  await kube?.stop();
});

const target = () => ({ kubectl: kube.kubectl.newest, kubeconfig: dev.kubeconfig });

test("the gateway runs on PostgreSQL: grants applied by the agent, tokens, kubectl, and the password never logged", async () => {
  assert.match(w.gateway.output(), /"store ready".*"dialect":"postgres"/);
  await kubectlOk(target(), ["create", "configmap", "pg-probe", "-n", kube.namespace]);
  assert.match(await kubectlOk(target(), ["get", "configmap", "pg-probe", "-n", kube.namespace, "-o", "name"]), /configmap\/pg-probe/);
  const denied = await kubectl(target(), ["get", "configmaps", "-n", "default"]);
  assert.notEqual(denied.code, 0, "the grant is one namespace");
  assert.match(denied.stderr, /forbidden/i);
  assert.ok(!w.gateway.output().includes(secret), "the database password is not in the gateway's log");
});

test("the database stopped under a running gateway: kubectl and a live watch keep working, the APIs answer 503, and all recovers when it returns", { timeout: 120_000 }, async (t) => {
  const watch = kubectlStream(target(), ["get", "configmaps", "-n", kube.namespace, "-w", "-o", "name"]);
  t.after(() => watch.stop());
  await watch.waitFor(/configmap\/pg-probe/);

  await pg.stop();
  try {
    // The proxy path answers from memory: the token, member, grants and generation are cached.
    assert.match(await kubectlOk(target(), ["get", "configmap", "pg-probe", "-n", kube.namespace, "-o", "name"]), /configmap\/pg-probe/);
    await kubectlOk(target(), ["create", "configmap", "pg-during-outage", "-n", kube.namespace]);
    await watch.waitFor(/configmap\/pg-during-outage/);
    // What needs the database says so, with a stable reason and a Retry-After.
    const list = await w.api(w.adminToken, "GET", "/api/v1/clusters");
    assert.equal(list.status, 503, JSON.stringify(list.json));
    assert.equal(list.json.reason, "StoreUnavailable");
    assert.equal(list.headers["retry-after"], "5");
    const mint = await w.api(dev.token, "POST", `/api/v1/clusters/${CLUSTER}/kubeconfig`, {});
    assert.equal(mint.status, 503);
    assert.equal(mint.json.reason, "StoreUnavailable");
    const ready = await fetchStatus(`${w.url}/readyz`);
    assert.equal(ready, 503, "readiness reports the store");
  } finally {
    await pg.start();
  }
  // Back by itself: the pool reconnects on the next checkout.
  await eventually("the API answers again", async () => (await w.api(w.adminToken, "GET", "/api/v1/clusters")).status === 200, { timeoutMs: 20_000, intervalMs: 250 });
  const fresh = `${dev.kubeconfig}-after`;
  await w.mintKubeconfig(dev, fresh);
  assert.match(await kubectlOk({ kubectl: kube.kubectl.newest, kubeconfig: fresh }, ["get", "configmap", "pg-during-outage", "-n", kube.namespace, "-o", "name"]), /pg-during-outage/);
  // The watch lived through it all, and the gateway never exited.
  await kubectlOk(target(), ["delete", "configmap", "pg-during-outage", "-n", kube.namespace]);
  assert.equal(w.gateway.child.exitCode, null);
  assert.ok(!w.gateway.output().includes(secret), "the database password is not in the gateway's log");
});

test("an unreachable database at start: the gateway names the host and the cause and exits non-zero", async () => {
  const r = await run(wardBinary, ["gateway", "--listen", "127.0.0.1:0", "--data-dir", `${w.dir}/other`, "--store", "postgres://ward:hunter2@127.0.0.1:1/ward"], { timeoutMs: 30_000 });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Cannot connect to PostgreSQL at 127\.0\.0\.1:1\/ward: connection refused/);
  assert.ok(!(r.stdout + r.stderr).includes("hunter2"));
});

async function fetchStatus(url: string): Promise<number> {
  const { request } = await import("node:https");
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: w.ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}
