/**
 * Scale-out end to end: a 3-node nats-server cluster (websocket, auth callout), two `dist/ward
 * gateway` processes on one PostgreSQL database, a real agent dialling the cluster's websocket
 * listeners, the real kube-env and real kubectl. Gateway A joins node 0, gateway B node 1, the agent
 * node 2, so every request crosses the NATS cluster's routes.
 *
 * Proven here: kubectl through A reaches the agent on node C; a revoke through B closes a watch
 * served by A within a second; nats-server itself refuses an agent's credential everything but its
 * own cluster's subjects (permission violations asserted from the server); a rotated credential
 * kicks the agent and the stolen old one is refused at connect; presence is one view (both gateways
 * see an agent vanish); kill -9 of a NATS node and of a gateway; the callout service down (new
 * agents refused clearly, the connected one keeps working); a draining gateway ends its watches
 * cleanly.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { wsconnect, type NatsConnection } from "@nats-io/nats-core";
import { startKubeEnv, type KubeEnv } from "../helpers/kube-env.ts";
import { kubectl, kubectlOk, kubectlStream } from "../helpers/kubectl.ts";
import { eventually } from "../helpers/eventually.ts";
import { startScaleOut, type ScaleOut } from "../helpers/ward_scaleout.ts";
import type { WardMember } from "../helpers/ward.ts";

const CLUSTER = "scale";
let kube: KubeEnv;
let s: ScaleOut;
let dev: WardMember;

before(async () => {
  kube = await startKubeEnv();
  // Gateway A on node 0, gateway B on node 1, the agent on node 2 (later on all three, to fail over).
  s = await startScaleOut(kube, { cluster: CLUSTER, gateways: [[0], [1]], agentNodes: [2] });
  dev = await s.member("dev@example.com");
  await s.grant(dev.id, { role: "edit", scope: "namespace", namespace: kube.namespace });
  await s.mintKubeconfig(dev, 0);
}, { timeout: 300_000 });

after(async () => {
  await s?.stop();
  await kube?.stop();
});

const viaA = () => ({ kubectl: kube.kubectl.newest, kubeconfig: dev.kubeconfig });
const viaB = () => ({ kubectl: kube.kubectl.newest, kubeconfig: s.kubeconfigFor(dev.kubeconfig, 1) });
const enc = new TextEncoder();

/** The cluster's online state as one gateway sees it. */
async function online(gw: number): Promise<boolean> {
  const r = await s.gateways[gw]!.api(s.adminToken, "GET", "/api/v1/me/clusters");
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.clusters.find((c: { id: string }) => c.id === CLUSTER)?.online === true;
}

test("kubectl through gateway A reaches the agent connected to another NATS node, and through B too", async () => {
  const agentConns = await s.nats.connz(2, `agent:${CLUSTER}`);
  assert.equal(agentConns.length, 1, "the agent is connected to node 2, authenticated by the callout as agent:<cluster>");
  assert.equal(agentConns[0]!.account, "WARD");
  assert.equal((await s.nats.connz(0, `agent:${CLUSTER}`)).length, 0);
  await kubectlOk(viaA(), ["create", "configmap", "via-a", "-n", kube.namespace]);
  assert.match(await kubectlOk(viaB(), ["get", "configmap", "via-a", "-n", kube.namespace, "-o", "name"]), /configmap\/via-a/);
  // The token minted by A is checked by B against the shared store (same signing keys).
  const denied = await kubectl(viaB(), ["get", "configmaps", "-n", "default"]);
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /forbidden/i);
});

test("nats-server confines an agent's credential to its own cluster's subjects", async () => {
  const joinToken = (await import("node:fs")).readFileSync(s.joinFile, "utf8").trim();
  const nc: NatsConnection = await wsconnect({ servers: s.nats.nodes[0]!.wsUrl, user: CLUSTER, pass: joinToken, maxReconnectAttempts: 0, name: "ward-agent-scale-probe" });
  try {
    const errors: string[] = [];
    void (async () => {
      for await (const st of nc.status()) if (st.type === "error") errors.push(String((st as { error?: Error }).error?.message));
    })();
    for (const subject of ["ward.agent.other.>", ">", "_INBOX.>", "ward.gw.scale.>", "$SYS.>"]) nc.subscribe(subject, { callback: () => {} });
    for (const subject of ["ward.gw.other.presence", "ward.agent.scale.open.x", "ward.ctl.access", "$SYS.REQ.USER.AUTH"]) nc.publish(subject, enc.encode("{}"));
    // Its own: allowed.
    nc.subscribe("ward.agent.scale.probe", { callback: () => {} });
    nc.publish("ward.gw.scale.presence", enc.encode("{}"));
    await nc.flush();
    await eventually("the server's permission violations", () => errors.length >= 9, { timeoutMs: 5000, intervalMs: 50 });
    for (const subject of ["ward.agent.other.>", ">", "_INBOX.>", "ward.gw.scale.>", "$SYS.>"]) {
      assert.ok(errors.some((e) => e.includes(`Permissions Violation for Subscription to "${subject}"`)), `subscribe ${subject}: ${errors.join(" | ")}`);
    }
    for (const subject of ["ward.gw.other.presence", "ward.agent.scale.open.x", "ward.ctl.access", "$SYS.REQ.USER.AUTH"]) {
      assert.ok(errors.some((e) => e.includes(`Permissions Violation for Publish to "${subject}"`)), `publish ${subject}: ${errors.join(" | ")}`);
    }
    assert.ok(!errors.some((e) => e.includes("ward.agent.scale.probe") || e.includes('"ward.gw.scale.presence"')), errors.join(" | "));
  } finally {
    await nc.close();
  }
  // A wrong credential and an unknown cluster are refused at connect.
  await assert.rejects(wsconnect({ servers: s.nats.nodes[0]!.wsUrl, user: CLUSTER, pass: "wardj_wrong", maxReconnectAttempts: 0 }), /Authorization Violation/);
  await assert.rejects(wsconnect({ servers: s.nats.nodes[0]!.wsUrl, user: "no-such-cluster", pass: joinToken, maxReconnectAttempts: 0 }), /Authorization Violation/);
});

test("a revoke through gateway B closes a watch served by gateway A within a second", { timeout: 60_000 }, async (t) => {
  const file = `${dev.kubeconfig}-revoke`;
  const tokenId = await s.mintKubeconfig(dev, 0, file);
  const watch = kubectlStream({ kubectl: kube.kubectl.newest, kubeconfig: file }, ["get", "configmaps", "-n", kube.namespace, "-w", "-o", "name"]);
  t.after(() => watch.stop());
  await watch.waitFor(/configmap\/via-a/);
  const r = await s.gateways[1]!.api(dev.token, "DELETE", `/api/v1/clusters/${CLUSTER}/access/tokens/${tokenId}`);
  assert.equal(r.status, 204, JSON.stringify(r.json));
  const revokedAt = Date.now();
  const exit = await Promise.race([watch.exited, new Promise<"open">((res) => setTimeout(() => res("open"), 1000))]);
  assert.notEqual(exit, "open", `the watch through gateway A was still open 1 s after the revoke through B (${Date.now() - revokedAt} ms)`);
  // And A refuses the revoked token on the next request (its cache was invalidated by B's change).
  const again = await kubectl({ kubectl: kube.kubectl.newest, kubeconfig: file }, ["get", "configmaps", "-n", kube.namespace]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /Unauthorized|must be logged in/i);
});

test("a grant created through B is usable through A at once (A's cached 'no grant' is dropped)", async () => {
  const ops = await s.member("ops@example.com");
  // A caches "no live grant" for ops on this cluster when it checks first.
  assert.equal((await s.gateways[0]!.api(ops.token, "POST", `/api/v1/clusters/${CLUSTER}/kubeconfig`, {})).status, 404);
  const r = await s.gateways[1]!.api(s.adminToken, "POST", `/api/v1/clusters/${CLUSTER}/access/grants`, { member_id: ops.id, role: "view", scope: "namespace", namespace: kube.namespace });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  await eventually("A mints for the new grant", async () => (await s.gateways[0]!.api(ops.token, "POST", `/api/v1/clusters/${CLUSTER}/kubeconfig`, {})).status === 200, { timeoutMs: 1000, intervalMs: 50 });
});

test("rotating the join credential kicks the connected agent, and the stolen old credential is refused at connect", { timeout: 90_000 }, async () => {
  const { readFileSync, writeFileSync } = await import("node:fs");
  const old = readFileSync(s.joinFile, "utf8").trim();
  const r = await s.gateways[1]!.api(s.adminToken, "POST", `/api/v1/clusters/${CLUSTER}/rotate-join`, {});
  assert.equal(r.status, 200, JSON.stringify(r.json));
  await eventually("the agent's connection is kicked on every node", async () => {
    for (let i = 0; i < 3; i++) if ((await s.nats.connz(i, `agent:${CLUSTER}`)).length) return false;
    return true;
  }, { timeoutMs: 5000, intervalMs: 100 });
  await assert.rejects(wsconnect({ servers: s.nats.nodes[2]!.wsUrl, user: CLUSTER, pass: old, maxReconnectAttempts: 0 }), /Authorization Violation/);
  // The agent keeps retrying with the old credential and keeps being refused; with the new one it is back.
  await s.agent!.stop();
  const fresh = `${s.joinFile}-rotated`;
  writeFileSync(fresh, r.json.join_token, { mode: 0o600 });
  s.joinFile = fresh;
  // From here on it knows every node (in random order, as nats clients spread themselves).
  await s.startAgent([0, 1, 2]);
  await eventually("both gateways see the agent", async () => (await online(0)) && (await online(1)), { timeoutMs: 10_000, intervalMs: 100 });
  await kubectlOk(viaA(), ["get", "configmap", "via-a", "-n", kube.namespace]);
});

test("presence is one view: both gateways see the agent vanish within 3 s, and come back", { timeout: 60_000 }, async () => {
  await s.agent!.stop("SIGKILL");
  const gone = Date.now();
  await eventually("both gateways mark the cluster offline", async () => !(await online(0)) && !(await online(1)), { timeoutMs: 3000, intervalMs: 50 });
  const offline = await kubectl(viaA(), ["get", "configmaps", "-n", kube.namespace]);
  assert.notEqual(offline.code, 0);
  assert.match(offline.stderr, /offline|not connected/i, offline.stderr);
  assert.ok(Date.now() - gone < 10_000);
  await s.startAgent([0, 1, 2]);
  await eventually("online again on both", async () => (await online(0)) && (await online(1)), { timeoutMs: 10_000, intervalMs: 100 });
});

test("kill -9 of the agent's NATS node: new kubectl requests succeed within 5 s and the agent is back within 5 s", { timeout: 120_000 }, async () => {
  await kubectlOk(viaA(), ["get", "configmap", "via-a", "-n", kube.namespace]);
  let node = -1;
  for (let i = 0; i < 3; i++) if ((await s.nats.connz(i, `agent:${CLUSTER}`)).length) node = i;
  assert.ok(node >= 0, "the agent is connected somewhere");
  const mark = { agent: s.agent!.output().length, gw: s.gateways.map((g) => g!.proc.output().length) };
  await s.nats.nodes[node]!.kill9();
  const killed = Date.now();
  try {
    await eventually("the agent reconnected to another node", async () => {
      for (let i = 0; i < 3; i++) if (i !== node && (await s.nats.connz(i, `agent:${CLUSTER}`)).length) return true;
      return false;
    }, { timeoutMs: 5000, intervalMs: 100 });
    // Gateway A or B may have lost its own node too: whichever is still on a live node answers.
    const target = node === 0 ? viaB() : viaA();
    await eventually("kubectl works again", async () => (await kubectl(target, ["get", "configmap", "via-a", "-n", kube.namespace])).code === 0, { timeoutMs: Math.max(500, 5000 - (Date.now() - killed)), intervalMs: 100 });
  } catch (e) {
    // What the agent and the gateways said since the kill: the only trace CI keeps of a slow failover.
    const since = [`node ${node} killed ${Date.now() - killed} ms ago`, `agent:\n${s.agent!.output().slice(mark.agent)}`, ...s.gateways.map((g, i) => `gateway ${i}:\n${g!.proc.output().slice(mark.gw[i])}`)];
    throw new Error(`${(e as Error).message}\n${since.join("\n")}`, { cause: e });
  } finally {
    await s.nats.nodes[node]!.start();
  }
});

test("kill -9 of gateway A: kubectl pointed at B works at once; a draining gateway ends its watch cleanly", { timeout: 120_000 }, async (t) => {
  await s.gateways[0]!.proc.stop("SIGKILL");
  await kubectlOk(viaB(), ["get", "configmap", "via-a", "-n", kube.namespace]);
  // A comes back (same store, new port); then it drains on SIGTERM with a watch open on it.
  await s.startGateway(0, [0]);
  const file = `${dev.kubeconfig}-drain`;
  await s.mintKubeconfig(dev, 0, file);
  const watch = kubectlStream({ kubectl: kube.kubectl.newest, kubeconfig: file }, ["get", "configmaps", "-n", kube.namespace, "-w", "-o", "name"]);
  t.after(() => watch.stop());
  await watch.waitFor(/configmap\/via-a/);
  // The LIST's output comes before kubectl opens its watch: an event proves the watch is open on A.
  await kubectlOk(viaB(), ["create", "configmap", "drain-probe", "-n", kube.namespace]);
  await watch.waitFor(/configmap\/drain-probe/);
  const stopped = s.gateways[0]!.proc.stop("SIGTERM");
  const exit = await Promise.race([watch.exited, new Promise<"open">((res) => setTimeout(() => res("open"), 5000))]);
  assert.notEqual(exit, "open", "the watch ended when its gateway drained");
  assert.equal((exit as { code: number | null }).code, 0, `kubectl saw the watch end cleanly: ${watch.stderr()}`);
  assert.equal(await stopped, 0);
  assert.match(s.gateways[0]!.proc.output(), /"drained"/);
  await s.startGateway(0, [0]);
});

test("the auth callout service down: new agents are refused clearly, the connected one keeps working", { timeout: 120_000 }, async () => {
  const { readFileSync } = await import("node:fs");
  const cred = readFileSync(s.joinFile, "utf8").trim();
  for (const g of s.gateways) await g!.proc.stop("SIGKILL");
  let node = -1;
  for (let i = 0; i < 3; i++) if ((await s.nats.connz(i, `agent:${CLUSTER}`)).length) node = i;
  assert.ok(node >= 0, "the agent is still connected");
  const t0 = Date.now();
  await assert.rejects(wsconnect({ servers: s.nats.nodes[0]!.wsUrl, user: CLUSTER, pass: cred, maxReconnectAttempts: 0, timeout: 20_000 }), /Authorization Violation/);
  assert.ok(Date.now() - t0 < 15_000, "refused within the server's auth timeout");
  // A gateway back: the agent's existing connection serves kubectl without reconnecting.
  const before = (await s.nats.connz(node, `agent:${CLUSTER}`))[0]!.cid;
  await s.startGateway(1, [1]);
  await eventually("kubectl through B", async () => (await kubectl(viaB(), ["get", "configmap", "via-a", "-n", kube.namespace])).code === 0, { timeoutMs: 10_000, intervalMs: 200 });
  assert.equal((await s.nats.connz(node, `agent:${CLUSTER}`))[0]?.cid, before, "the same agent connection, never dropped");
  await s.startGateway(0, [0]);
});
