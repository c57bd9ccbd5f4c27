/**
 * Attack suites, control side, in scale-out: a real nats-server cluster (two nodes, websocket,
 * auth callout), two `dist/ward gateway` processes on one PostgreSQL database, a real agent (cluster
 * atk-s) and a second registered cluster atk-t whose "agent" is a NATS connection with its
 * credential, on the real kube-env with real kubectl. Gateway A joins node 0, gateway B node 1.
 *
 * - NATS subject injection and permission escapes on nats-server: an agent's credential cannot
 *   listen on other clusters, inboxes, `$SYS`/`$JS` or the auth callout's subject (where other
 *   agents' credentials pass), cannot publish to other clusters, to gateways' control subjects or
 *   as the gateway, a hijacked reply subject is never answered, crafted subjects and cluster ids
 *   are refused, and nothing reaches the other cluster's agent.
 * - Forged and non-agent credentials are refused at connect over websocket and TCP: people's API
 *   and k8s tokens, another cluster's credential, a self-signed user JWT, an unknown nkey.
 * - Live-stream revocation across gateways: a member disabled, a grant deleted or revoke-all through
 *   gateway B ends the exec and watch served by gateway A within two seconds.
 * - Agent credential theft: a second connection with the stolen credential, on another node, is
 *   kicked with the real agent on rotation.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { encodeUser } from "@nats-io/jwt";
import { createAccount, createUser } from "@nats-io/nkeys";
import { jwtAuthenticator, nkeyAuthenticator, wsconnect, type ConnectionOptions, type NatsConnection } from "@nats-io/nats-core";
import { connect as tcpConnect } from "@nats-io/transport-node";
import { eventually } from "../helpers/eventually.ts";
import { startKubeEnv, type KubeEnv } from "../helpers/kube-env.ts";
import { kubectl, kubectlOk, kubectlStream, type KubectlStream } from "../helpers/kubectl.ts";
import { rawWebSocket, textFrame } from "../helpers/raw_ws.ts";
import { startScaleOut, type ScaleOut } from "../helpers/ward_scaleout.ts";
import type { WardMember } from "../helpers/ward.ts";
import { assertViolations, enc, endsWithin, record, serverErrors, stillRunning } from "./_control_env.ts";

const S = "atk-s";
const T = "atk-t";
const PROBE = "atk-probe";
let kube: KubeEnv;
let s: ScaleOut;
let joinT: string;
const open: NatsConnection[] = [];

before(async () => {
  kube = await startKubeEnv();
  s = await startScaleOut(kube, { cluster: S, natsNodes: 2, gateways: [[0], [1]], agentNodes: [1] });
  const t = await s.api(s.adminToken, "POST", "/api/v1/clusters", { id: T });
  assert.equal(t.status, 201, JSON.stringify(t.json));
  joinT = t.json.join_token;
  await kubectlOk({ kubectl: kube.kubectl.newest, kubeconfig: kube.kubeconfig }, ["create", "configmap", PROBE, "-n", kube.namespace]);
}, { timeout: 300_000 });

after(async () => {
  for (const nc of open) await nc.close().catch(() => {});
  await s?.stop();
  await kube?.stop();
});

const joinS = () => readFileSync(s.joinFile, "utf8").trim();

async function ws(node: number, opts: Partial<ConnectionOptions>): Promise<NatsConnection> {
  const nc = await wsconnect({ servers: s.nats.nodes[node]!.wsUrl, maxReconnectAttempts: 0, timeout: 10_000, ...opts });
  open.push(nc);
  return nc;
}

async function online(gw: number, cluster: string): Promise<boolean> {
  const r = await s.gateways[gw]!.api(s.adminToken, "GET", "/api/v1/me/clusters");
  return r.json.clusters.find((c: { id: string }) => c.id === cluster)?.online === true;
}

describe("NATS subject injection and permission escapes (nats-server)", () => {
  test("an agent's credential cannot listen on other clusters, inboxes, $SYS, $JS or the auth callout's subject", async () => {
    const nc = await ws(0, { user: S, pass: joinS(), name: "attacker" });
    const errors = serverErrors(nc);
    const refused = ["ward.agent.atk-t.>", "ward.agent.*.>", "*.>", "$SYS.REQ.USER.AUTH", "$SYS.ACCOUNT.WARD.DISCONNECT", "$JS.API.>", "ward.gw.*.presence", "ward.gw.*.s.*.*", "ward.ctl.access", "_INBOX.*"];
    for (const subject of refused) nc.subscribe(subject, { callback: () => {} });
    // The callout's own queue group, and another cluster's agents' queue.
    nc.subscribe("$SYS.REQ.USER.AUTH", { queue: "ward-auth-callout", callback: () => {} });
    nc.subscribe("ward.agent.atk-t.open.*", { queue: "ward-agent", callback: () => {} });
    nc.subscribe("ward.agent.atk-s.probe", { callback: () => {} });
    await nc.flush();
    await eventually("every subscription refused", () => errors.length >= refused.length + 2, { timeoutMs: 10_000, intervalMs: 50 });
    assertViolations(errors, "Subscription", refused);
    assert.ok(errors.some((e) => e.includes('"$SYS.REQ.USER.AUTH" using queue "ward-auth-callout"')), errors.join(" | "));
    assert.ok(!errors.some((e) => e.includes("ward.agent.atk-s.probe")), errors.join(" | "));
  });

  test("nothing the credential publishes reaches the other cluster's agent; a hijacked reply subject is never answered", async () => {
    const tAgent = await ws(1, { user: T, pass: joinT, name: "agent-t" });
    const toT = record(tAgent, "ward.agent.atk-t.>");
    await tAgent.flush();
    const nc = await ws(0, { user: S, pass: joinS(), name: "attacker" });
    const errors = serverErrors(nc);
    const data = enc.encode(JSON.stringify({ v: 1, agent: "attack", state: "up", intervalMs: 500, streams: 0 }));
    const refused = [
      "ward.agent.atk-t.open.gw", "ward.agent.atk-t.access.desired", "ward.agent.atk-t.probe", "ward.gw.atk-t.presence", "ward.gw.atk-t.access.status",
      "ward.agent.atk-s.access.desired", "ward.agent.atk-s.open.gw", "ward.ctl.access", "$SYS.REQ.USER.AUTH", "$SYS.REQ.SERVER.PING", "$JS.API.INFO", "_INBOX.guess",
    ];
    for (const subject of refused) nc.publish(subject, data);
    // Its own subjects, with a reply subject on cluster T's or a gateway inbox: nats-server lets the
    // message through, so no gateway may ever answer an agent's message.
    for (const sub of ["ward.gw.atk-s.presence", "ward.gw.atk-s.access.hello", "ward.gw.atk-s.access.status", "ward.gw.atk-s.s.x.y"]) {
      nc.publish(sub, data, { reply: "ward.agent.atk-t.open.hijack" });
    }
    await nc.flush();
    await eventually("every publish refused", () => errors.length >= refused.length, { timeoutMs: 10_000, intervalMs: 50 });
    assertViolations(errors, "Publish", refused);
    // Round trips through both gateways' nodes: anything sent toward T would have arrived by now.
    await tAgent.flush();
    await nc.flush();
    assert.equal(await online(0, T), false);
    assert.equal(await online(1, T), false);
    await tAgent.flush();
    assert.deepEqual(toT, [], "cluster T's agent received something");
  });

  test("crafted subjects and cluster ids: control and look-alike characters, over-long lines, wildcard users", async () => {
    const raw = await rawWebSocket({ port: Number(new URL(s.nats.nodes[0]!.wsUrl).port), path: "/" });
    await raw.waitFor(/INFO \{/);
    raw.write(textFrame(`CONNECT ${JSON.stringify({ verbose: true, pedantic: false, protocol: 1, user: S, pass: joinS() })}\r\nPING\r\n`));
    await raw.waitFor(/PONG\r\n/, 10_000);
    const lookAlike = Buffer.from("ward.gw.atk\u2010t.presence", "utf8").toString("latin1");
    for (const line of ["PUB ward.gw.atk-t\u0000.presence 2\r\n{}", `PUB ${lookAlike} 2\r\n{}`, "PUB ward.gw.ATK-T.presence 2\r\n{}", "PUB ward.gw.atk-s 2\r\n{}"]) {
      const from = raw.text().length;
      raw.write(textFrame(`${line}\r\nPING\r\n`));
      await eventually(`an answer to ${JSON.stringify(line)}`, () => /PONG\r\n/.test(raw.text().slice(from)), { timeoutMs: 5000 });
      assert.match(raw.text().slice(from), /-ERR 'Permissions Violation for Publish to/, `${JSON.stringify(line)}: ${JSON.stringify(raw.text().slice(from))}`);
    }
    raw.write(textFrame(`PUB ward.gw.atk-s.${"x".repeat(8000)} 2\r\n{}\r\n`));
    await raw.closedAt;
    assert.match(raw.text(), /-ERR 'maximum control line exceeded'/i);
    for (const user of ["atk-s.>", "atk-s.*", "*", ">", "ATK-S", "atk-s ", "atk-s.atk-t"]) {
      await assert.rejects(ws(0, { user, pass: joinS() }), /Authorization Violation/, `user ${JSON.stringify(user)}`);
    }
  });

  test("forged and non-agent credentials are refused at connect, over websocket and TCP", async () => {
    const m = await s.member("nats-person@example.com");
    await s.grant(m.id, { role: "view", scope: "namespace", namespace: kube.namespace });
    const k8s = await s.api(m.token, "POST", `/api/v1/clusters/${S}/k8s-token`, {});
    assert.equal(k8s.status, 200);
    // A user JWT allowing everything, signed by an account key the attacker made up.
    const account = createAccount();
    const user = createUser();
    const forged = await encodeUser("agent:atk-s", user, account, { pub: { allow: [">"], deny: [] }, sub: { allow: [">"], deny: [] } }, { aud: "WARD" });
    const attempts: [string, Partial<ConnectionOptions>][] = [
      ["a member's API token", { user: S, pass: m.token }],
      ["a k8s token", { user: S, pass: k8s.json.token }],
      ["the admin's API token as a token", { token: s.adminToken }],
      ["another cluster's credential", { user: S, pass: joinT }],
      ["a self-signed user JWT", { authenticator: jwtAuthenticator(forged, user.getSeed()) }],
      ["an unknown nkey", { authenticator: nkeyAuthenticator(createUser().getSeed()) }],
      ["nothing", {}],
    ];
    for (const [what, opts] of attempts) {
      await assert.rejects(ws(0, opts), /Authorization Violation/, `websocket, ${what}`);
      await assert.rejects(tcpConnect({ servers: s.nats.nodes[1]!.clientUrl, maxReconnectAttempts: 0, timeout: 10_000, ...opts }), /Authorization Violation/, `TCP, ${what}`);
    }
  });
});

describe("live-stream revocation across gateways", () => {
  /** A member with an edit grant and an exec and a watch served by gateway A. */
  async function streamsOnA(email: string): Promise<{ m: WardMember; grant: string; streams: KubectlStream[] }> {
    const m = await s.member(email);
    const grant = await s.grant(m.id, { role: "edit", scope: "namespace", namespace: kube.namespace });
    await s.mintKubeconfig(m, 0);
    const t = { kubectl: kube.kubectl.newest, kubeconfig: m.kubeconfig };
    const streams = [
      kubectlStream(t, ["get", "configmaps", "-w", "-n", kube.namespace]),
      kubectlStream(t, ["exec", "-i", kube.pod, "-c", kube.container, "-n", kube.namespace, "--", "cat"]),
    ];
    await streams[0]!.waitFor(PROBE, 15_000);
    streams[1]!.write(`hi ${email}\n`);
    await streams[1]!.waitFor(`hi ${email}`, 15_000);
    return { m, grant, streams };
  }

  test("a member disabled, a grant deleted, revoke-all: each through gateway B ends the streams gateway A serves within 2 s", { timeout: 120_000 }, async () => {
    const [disabled, ungranted, bystander] = [await streamsOnA("so-disabled@example.com"), await streamsOnA("so-ungranted@example.com"), await streamsOnA("so-bystander@example.com")];
    const all = [disabled, ungranted, bystander].flatMap((x) => x.streams);
    try {
      const b = s.gateways[1]!.api;
      assert.equal((await b(s.adminToken, "PATCH", `/api/v1/members/${disabled.m.id}`, { status: "disabled" })).status, 200);
      await endsWithin(disabled.streams, 2000, "member disabled through B");
      assert.equal((await b(s.adminToken, "DELETE", `/api/v1/clusters/${S}/access/grants/${ungranted.grant}`)).status, 204);
      await endsWithin(ungranted.streams, 2000, "grant deleted through B");
      for (const st of bystander.streams) assert.ok(await stillRunning(st, 200), `a bystander's stream ended: ${st.stderr()}`);
      const r = await b(s.adminToken, "POST", `/api/v1/clusters/${S}/access/revoke-all`, {});
      assert.equal(r.status, 200, JSON.stringify(r.json));
      await endsWithin(bystander.streams, 2000, "revoke-all through B");
      // Gateway A refuses each of them on the next request, from its own (invalidated) caches.
      for (const x of [disabled, ungranted, bystander]) {
        const again = await kubectl({ kubectl: kube.kubectl.newest, kubeconfig: x.m.kubeconfig }, ["get", "configmaps", "-n", kube.namespace]);
        assert.notEqual(again.code, 0, x.m.email);
      }
    } finally {
      await Promise.all(all.map((st) => st.stop()));
    }
  });
});

describe("agent credential theft and rotation (nats-server)", () => {
  test("a thief's connection on another node is kicked with the real agent when the credential is rotated", { timeout: 90_000 }, async () => {
    const thief = await ws(0, { user: S, pass: joinS(), name: "thief" });
    const thiefClosed = thief.closed();
    assert.ok((await s.nats.connz(0, `agent:${S}`)).some((c) => c.name === "thief"), "the thief is in, as agent:atk-s, on node 0");
    assert.ok((await s.nats.connz(1, `agent:${S}`)).length >= 1, "the real agent on node 1");
    const r = await s.gateways[1]!.api(s.adminToken, "POST", `/api/v1/clusters/${S}/rotate-join`, {});
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const closed = await Promise.race([thiefClosed.then(() => "closed"), new Promise((res) => setTimeout(() => res("open"), 5000))]);
    assert.equal(closed, "closed", "the thief's connection outlived the rotation");
    await eventually("no agent:atk-s connection on any node", async () => (await s.nats.connz(0, `agent:${S}`)).length + (await s.nats.connz(1, `agent:${S}`)).length === 0, { timeoutMs: 5000, intervalMs: 100 });
    await assert.rejects(ws(0, { user: S, pass: joinS() }), /Authorization Violation/);
  });
});
