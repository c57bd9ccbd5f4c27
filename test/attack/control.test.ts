/**
 * Attack suites, control side, on the embedded transport: one `dist/ward gateway` + `dist/ward
 * agent` (cluster atk-a) on the real kube-env, a second registered cluster atk-b with no real agent
 * (a NATS connection with its credential stands in for it, to see what would reach it), real
 * kubectl, the official NATS client and hand-written NATS over a raw WebSocket.
 *
 * - NATS subject injection and permission escapes: an agent credential of one cluster is confined
 *   to its own subjects (other clusters, inboxes, `$SYS`/`$JS`, wildcards, queue groups, crafted
 *   subjects and cluster ids, reply-subject hijack), and nothing it sends reaches the other
 *   cluster's agent or the gateway's handlers for it; people's credentials do not open NATS at all.
 * - Grant escalation: members cannot grant themselves more (API and CLI), robots cannot manage
 *   members, `edit`/namespace grants cannot bind, escalate, impersonate or reach cluster-scoped
 *   resources on the real API server, the agent's own bindings are repaired, and grants and tokens
 *   of one cluster do nothing on another.
 * - Live-stream revocation: disabling a member or a robot ends their watch, exec and `logs -f`
 *   within two seconds and leaves others' streams alone; a stream that outlived its token is still
 *   ended by revoking that token.
 * - Agent credential theft: the join credential is no API or proxy credential, cannot pose as the
 *   gateway, and a rotation kicks every connection that used it (two at once included).
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { NatsConnection } from "@nats-io/nats-core";
import { connectBus } from "../../internal/nats/index.ts";
import { eventually } from "../helpers/eventually.ts";
import { startKubeEnv, type KubeEnv } from "../helpers/kube-env.ts";
import { kubectl, kubectlOk, kubectlStream, type KubectlStream } from "../helpers/kubectl.ts";
import { run } from "../helpers/process.ts";
import { startWard, wardBinary, type Ward, type WardMember } from "../helpers/ward.ts";
import { assertViolations, enc, endsWithin, rawNats, record, serverErrors, stillRunning } from "./_control_env.ts";

const A = "atk-a";
const B = "atk-b";
const PROBE = "atk-probe";
/** Where the agent "runs" (as the manifest installs it: its join credential in a Secret there). */
const AGENT_NS = "atk-ward-system";
let kube: KubeEnv;
let w: Ward;
let joinA: string;
let joinB: string;
const open: NatsConnection[] = [];

before(async () => {
  kube = await startKubeEnv();
  // The agent runs outside the cluster here; POD_NAMESPACE tells it which namespace it would run in.
  process.env.POD_NAMESPACE = AGENT_NS;
  w = await startWard(kube, { cluster: A });
  joinA = readFileSync(join(w.dir, "join-token"), "utf8").trim();
  const b = await w.api(w.adminToken, "POST", "/api/v1/clusters", { id: B });
  assert.equal(b.status, 201, JSON.stringify(b.json));
  joinB = b.json.join_token;
  const admin = { kubectl: kube.kubectl.newest, kubeconfig: kube.kubeconfig };
  await kubectlOk(admin, ["create", "configmap", PROBE, "-n", kube.namespace]);
  await kubectlOk(admin, ["create", "namespace", AGENT_NS]);
  await kubectlOk(admin, ["create", "serviceaccount", "ward-agent", "-n", AGENT_NS]);
  await kubectlOk(admin, ["create", "secret", "generic", "ward-agent-join", "-n", AGENT_NS, `--from-literal=token=${joinA}`]);
}, { timeout: 240_000 });

after(async () => {
  for (const nc of open) await nc.close().catch(() => {});
  await w?.stop();
  await kube?.stop();
});

const natsUrl = () => `${w.url.replace(/^https/, "wss")}/nats`;
const port = () => Number(new URL(w.url).port);

/** An agent-like connection to the embedded endpoint (closed after the file). */
async function natsAs(user: string, pass: string, name = "attacker"): Promise<NatsConnection> {
  const nc = await connectBus(natsUrl(), { user, pass, name, maxReconnectAttempts: 0, timeout: 5000, tls: { ca: w.ca } });
  open.push(nc);
  return nc;
}

const target = (kubeconfig: string) => ({ kubectl: kube.kubectl.newest, kubeconfig });
const wardEnv = (token: string) => ({ ...process.env, WARD_TOKEN: token, WARD_GATEWAY: w.url, WARD_GATEWAY_CA: w.caFile });

async function clusterOnline(id: string): Promise<boolean> {
  const r = await w.api(w.adminToken, "GET", "/api/v1/me/clusters");
  return r.json.clusters.find((c: { id: string }) => c.id === id)?.online === true;
}

async function grantOf(cluster: string, id: string): Promise<{ status: string; error: string | null }> {
  const r = await w.api(w.adminToken, "GET", `/api/v1/clusters/${cluster}/access/grants`);
  return r.json.grants.find((g: { id: string }) => g.id === id);
}

describe("NATS subject injection and permission escapes (embedded endpoint)", () => {
  test("cluster A's agent credential cannot listen beyond its own request subjects", async () => {
    const nc = await natsAs(A, joinA);
    const errors = serverErrors(nc);
    const refused = ["ward.agent.atk-b.>", "ward.agent.*.>", "ward.agent.>", ">", "*.>", "*", "_INBOX.>", "$SYS.>", "$JS.API.>", "$JS.>", "ward.gw.atk-a.>", "ward.gw.*.presence", "ward.ctl.access", "ward.agent.atk-a.*.>.x"];
    for (const s of refused.filter((x) => !x.endsWith(".>.x"))) nc.subscribe(s, { callback: () => {} });
    // A queue group (the real agents' or a wildcard-looking name) changes nothing.
    nc.subscribe("ward.agent.atk-b.open.*", { queue: "ward-agent", callback: () => {} });
    nc.subscribe("ward.agent.atk-b.>", { queue: ">", callback: () => {} });
    // Its own subjects stay usable, with any queue name.
    nc.subscribe("ward.agent.atk-a.probe", { queue: "*", callback: () => {} });
    await nc.flush();
    await eventually("every subscription refused", () => errors.length >= refused.length + 1, { timeoutMs: 5000, intervalMs: 20 });
    assertViolations(errors, "Subscription", refused.filter((x) => !x.endsWith(".>.x")));
    assert.ok(errors.some((e) => e === 'Permissions Violation for Subscription to "ward.agent.atk-b.open.*" using queue "ward-agent"'), errors.join(" | "));
    assert.ok(!errors.some((e) => e.includes('"ward.agent.atk-a.probe"')), errors.join(" | "));
    assert.ok(!nc.isClosed(), "a violation refuses the subscription, it does not end the connection");
  });

  test("nothing cluster A's credential publishes reaches cluster B's agent or the gateway's handlers for B", async () => {
    const dev = await w.member("nats-victim@example.com");
    const onB = await w.api(w.adminToken, "POST", `/api/v1/clusters/${B}/access/grants`, { member_id: dev.id, role: "view" });
    assert.equal(onB.status, 201, JSON.stringify(onB.json));
    assert.equal(onB.json.grant.status, "cluster_offline");
    // B's "agent": its own credential, listening on everything B's agents may hear.
    const bAgent = await natsAs(B, joinB, "agent-b");
    const toB = record(bAgent, "ward.agent.atk-b.>");
    await bAgent.flush();

    const nc = await natsAs(A, joinA);
    const errors = serverErrors(nc);
    const forged = enc.encode(JSON.stringify({ v: 1, agent: "attack", state: "up", intervalMs: 500, streams: 0, results: [{ id: onB.json.grant.id, status: "applied" }] }));
    const refused = [
      "ward.agent.atk-b.open.gw1", "ward.agent.atk-b.probe", "ward.agent.atk-b.access.desired", "ward.agent.atk-b.s.x.y",
      "ward.gw.atk-b.presence", "ward.gw.atk-b.access.hello", "ward.gw.atk-b.access.status",
      // Posing as the gateway toward its own cluster's other agents, or toward every gateway.
      "ward.agent.atk-a.access.desired", "ward.agent.atk-a.open.gw1", "ward.ctl.access",
      "$SYS.REQ.USER.AUTH", "$SYS.REQ.SERVER.PING", "$JS.API.INFO", "_INBOX.guess.1",
      "ward.gw.atk-a", "ward.gw",
    ];
    for (const s of refused) nc.publish(s, forged);
    await nc.flush();
    await eventually("every publish refused", () => errors.length >= refused.length, { timeoutMs: 5000, intervalMs: 20 });
    assertViolations(errors, "Publish", refused);
    await bAgent.flush();
    assert.deepEqual(toB, [], "cluster B's agent received something");
    assert.equal(await clusterOnline(B), false, "a forged heartbeat made cluster B online");
    assert.equal((await grantOf(B, onB.json.grant.id)).status, "cluster_offline", "a forged status report changed B's grant");
  });

  test("A's own status subject cannot touch B's grants: the gateway scopes every report to the publisher's cluster", async () => {
    const m = await w.member("status-probe@example.com");
    const onA = await w.grant(m.id, { role: "view", scope: "namespace", namespace: kube.namespace });
    const onB = await w.api(w.adminToken, "POST", `/api/v1/clusters/${B}/access/grants`, { member_id: m.id, role: "edit" });
    assert.equal(onB.status, 201, JSON.stringify(onB.json));
    const nc = await natsAs(A, joinA);
    const errors = serverErrors(nc);
    // The real agent re-reports every second: paused, it cannot overwrite the forged report before it is seen.
    w.agent.child.kill("SIGSTOP");
    try {
      const report = { v: 1, agent: "attack", results: [{ id: onA, status: "failed", error: "forged by the attack suite" }, { id: onB.json.grant.id, status: "applied" }] };
      nc.publish("ward.gw.atk-a.access.status", enc.encode(JSON.stringify(report)));
      await nc.flush();
      // Proof the gateway handled it: A's grant took the forged (own-cluster) status…
      await eventually("the forged report handled", async () => (await grantOf(A, onA)).error === "forged by the attack suite", { timeoutMs: 5000, intervalMs: 20 });
    } finally {
      w.agent.child.kill("SIGCONT");
    }
    // …and B's grant, named in the same report, did not.
    assert.equal((await grantOf(B, onB.json.grant.id)).status, "cluster_offline");
    assert.deepEqual(errors, [], "publishing on its own subjects is allowed");
    await eventually("the real agent's report again", async () => (await grantOf(A, onA)).status === "applied", { timeoutMs: 10_000, intervalMs: 100 });
  });

  test("crafted subjects: separators, wildcards, whitespace, control and look-alike characters, over-long lines, reply hijack", async () => {
    const s = await rawNats(port(), w.ca, { user: A, pass: joinA });
    await s.waitFor(/\+OK\r\n[^]*PONG\r\n/);
    const mark = () => s.text().length;
    /** Sends one protocol line and returns what came back for it (the PONG after it ends it). */
    const exchange = async (line: string) => {
      const from = mark();
      s.send(`${line}\r\nPING\r\n`);
      await eventually(`an answer to ${JSON.stringify(line.slice(0, 80))}`, () => /PONG\r\n/.test(s.text().slice(from)) || s.socket.destroyed, { timeoutMs: 5000 });
      return s.text().slice(from);
    };
    const lookAlike = Buffer.from("ward.gw.atk\u2010b.presence", "utf8").toString("latin1"); // U+2010 HYPHEN
    for (const [line, expect] of [
      // Own prefix but not under it, empty tokens, a wildcard or control character spliced in.
      ["PUB ward.gw.atk-a 2\r\n{}", /-ERR 'Permissions Violation for Publish to "ward\.gw\.atk-a"'/],
      ["PUB ward.gw.atk-a..x 2\r\n{}", /-ERR 'Invalid Publish Subject'/],
      ["PUB ward.gw.atk-a.> 2\r\n{}", /-ERR 'Invalid Publish Subject'/],
      ["PUB ward.gw.atk-a.*.x 2\r\n{}", /-ERR 'Invalid Publish Subject'/],
      ["PUB ward.gw.atk-b\u0000.presence 2\r\n{}", /-ERR 'Permissions Violation for Publish to "ward\.gw\.atk-b\\x00\.presence"'/],
      [`PUB ${lookAlike} 2\r\n{}`, /-ERR 'Permissions Violation for Publish to/],
      ["PUB ward.gw.ATK-A.presence 2\r\n{}", /-ERR 'Permissions Violation for Publish to "ward\.gw\.ATK-A\.presence"'/],
      // Reply-subject hijack: a reply on another cluster's subject or a gateway inbox would make the
      // gateway answer there with its own rights (refused here, stricter than nats-server).
      ["PUB ward.gw.atk-a.presence ward.agent.atk-b.open.x 2\r\n{}", /-ERR 'Permissions Violation for Publish with Reply of "ward\.agent\.atk-b\.open\.x"'/],
      ["PUB ward.gw.atk-a.presence _INBOX.gateway.1 2\r\n{}", /-ERR 'Permissions Violation for Publish with Reply of "_INBOX\.gateway\.1"'/],
      ["SUB ward.agent.atk-a.>.x 9", /-ERR 'Invalid Subject'/],
      ["SUB ward.agent.atk-b.> ward-agent 10", /-ERR 'Permissions Violation for Subscription to "ward\.agent\.atk-b\.>" using queue "ward-agent"'/],
    ] as const) {
      const out = await exchange(line);
      assert.match(out, expect, `${JSON.stringify(line)} → ${JSON.stringify(out)}`);
    }
    // A line longer than the endpoint's limit ends the connection; nothing of it is routed.
    const from = mark();
    s.send(`PUB ward.gw.atk-a.${"x".repeat(8000)} 2\r\n{}\r\n`);
    await s.closedAt;
    assert.match(s.text().slice(from), /-ERR 'maximum control line exceeded'/i);
  });

  test("cluster ids crafted to split a subject are refused as clusters and as agent users", async () => {
    for (const id of ["atk.b", "atk-*", ">", "atk-a.>", "atk b", "atk\tb", "Atk-b", "atk\u2010b", "", "atk-b\u0000"]) {
      const r = await w.api(w.adminToken, "POST", "/api/v1/clusters", { id });
      assert.ok(r.status === 400 || r.status === 422, `cluster id ${JSON.stringify(id)}: ${r.status} ${JSON.stringify(r.json)}`);
    }
    // An agent naming a crafted cluster with A's (valid) credential.
    for (const user of ["atk-a.>", "atk-a.*", "atk-a ", "ATK-A", "*", ">", "atk-a\u0000"]) {
      await assert.rejects(natsAs(user, joinA), /Authorization Violation/i, `user ${JSON.stringify(user)}`);
    }
  });

  test("people's credentials do not open the NATS endpoint: API tokens, k8s tokens, B's credential for A, nothing at all", async () => {
    const m = await w.member("nats-person@example.com");
    await w.grant(m.id, { role: "view", scope: "namespace", namespace: kube.namespace });
    const k8s = await w.api(m.token, "POST", `/api/v1/clusters/${A}/k8s-token`, {});
    for (const [user, pass] of [[A, m.token], [A, k8s.json.token], [A, w.adminToken], [A, joinB], ["nats-person@example.com", m.token], [A, ""], ["", joinA]]) {
      await assert.rejects(natsAs(user!, pass!), /Authorization Violation/i);
    }
    // No user/pass at all, or only a token (admin's API token), over the raw protocol.
    for (const connect of [{}, { auth_token: w.adminToken }, { user: A, pass: joinA.slice(0, -1) }]) {
      const s = await rawNats(port(), w.ca, connect);
      await s.closedAt;
      assert.match(s.text(), /-ERR 'Authorization Violation'/);
      assert.doesNotMatch(s.text(), /PONG/);
    }
  });
});

describe("grant escalation", () => {
  let dev: WardMember;
  let nsAdmin: WardMember;

  before(async () => {
    dev = await w.member("esc-dev@example.com");
    await w.grant(dev.id, { role: "edit", scope: "namespace", namespace: kube.namespace });
    await w.mintKubeconfig(dev);
    nsAdmin = await w.member("esc-nsadmin@example.com");
    await w.grant(nsAdmin.id, { role: "admin", scope: "namespace", namespace: kube.namespace });
    await w.mintKubeconfig(nsAdmin);
  });

  test("a member cannot grant themselves more, by the API or the CLI, nor manage members, tokens or settings", async () => {
    const asDev = (method: string, path: string, body?: unknown) => w.api(dev.token, method, path, body);
    const attempts: [string, string, unknown][] = [
      ["POST", `/api/v1/clusters/${A}/access/grants`, { member_id: dev.id, role: "cluster-admin" }],
      ["POST", `/api/v1/clusters/${A}/access/grants`, { member_email: dev.email, role: "admin", scope: "namespace", namespace: kube.namespace }],
      ["POST", `/api/v1/clusters/${A}/access/revoke-all`, {}],
      ["POST", `/api/v1/clusters/${A}/rotate-join`, {}],
      ["POST", "/api/v1/clusters", { id: "mine" }],
      ["POST", "/api/v1/members", { email: "sock@example.com", role: "admin" }],
      ["PATCH", `/api/v1/members/${dev.id}`, { role: "admin" }],
      ["POST", `/api/v1/members/${dev.id}/tokens`, { name: "more" }],
      ["PUT", "/api/v1/settings/access", { max_token_lifetime_seconds: 31_536_000 }],
      ["GET", "/api/v1/members", undefined],
    ];
    for (const [method, path, body] of attempts) {
      const r = await asDev(method, path, body);
      assert.equal(r.status, 403, `${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
      assert.equal(r.json.reason, "Forbidden");
    }
    // Another member's grant and token: deleting them looks like "not found" or "forbidden", never works.
    const grants = (await w.api(w.adminToken, "GET", `/api/v1/clusters/${A}/access/grants`)).json.grants as { id: string; member_id: string }[];
    const other = grants.find((g) => g.member_id === nsAdmin.id)!;
    assert.equal((await asDev("DELETE", `/api/v1/clusters/${A}/access/grants/${other.id}`)).status, 403);
    const theirToken = await w.mintKubeconfig(nsAdmin, join(w.dir, "kc-nsadmin-2"));
    assert.equal((await asDev("DELETE", `/api/v1/clusters/${A}/access/tokens/${theirToken}`)).status, 404);
    assert.deepEqual((await asDev("GET", `/api/v1/clusters/${A}/access/tokens`)).json.tokens.map((t: { member_id: string }) => t.member_id).filter((id: string) => id !== dev.id), []);
    assert.equal((await grantOf(A, other.id)).status, "applied");
    // The CLI says so too, and nothing changed.
    const cli = await run(wardBinary, ["cluster", "access", "grant", "--cluster", A, "--member", dev.email, "--role", "cluster-admin"], { env: wardEnv(dev.token) });
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /Only organisation admins can manage access/);
    const mine = (await w.api(dev.token, "GET", `/api/v1/clusters/${A}/access/grants`)).json.grants as { role: string }[];
    assert.deepEqual(mine.map((g) => g.role), ["edit"]);
  });

  test("a robot's token (not an admin) cannot list, create, promote or disable members", async () => {
    const r = await w.api(w.adminToken, "POST", "/api/v1/members", { email: "esc-ci@robot.ward", robot: true });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const robot = r.json.api_token as string;
    for (const [method, path, body] of [
      ["GET", "/api/v1/members", undefined],
      ["POST", "/api/v1/members", { email: "esc-ci2@robot.ward", robot: true, role: "admin" }],
      ["PATCH", `/api/v1/members/${r.json.member.id}`, { role: "admin" }],
      ["PATCH", `/api/v1/members/${dev.id}`, { status: "disabled" }],
      ["POST", `/api/v1/members/${dev.id}/tokens`, {}],
    ] as const) {
      const res = await w.api(robot, method, path, body);
      assert.equal(res.status, 403, `${method} ${path}: ${JSON.stringify(res.json)}`);
    }
    const cli = await run(wardBinary, ["member", "disable", dev.email], { env: wardEnv(robot) });
    assert.notEqual(cli.code, 0, cli.stdout + cli.stderr);
    assert.equal((await w.api(dev.token, "GET", "/api/v1/me")).json.member.status, "active");
  });

  test("an edit grant cannot create bindings, bind, escalate or impersonate on the real API server", async () => {
    const t = target(dev.kubeconfig);
    const ns = kube.namespace;
    for (const args of [
      ["create", "rolebinding", "esc-rb", "-n", ns, "--clusterrole=cluster-admin", `--user=ward:${dev.email}`],
      ["create", "rolebinding", "esc-rb2", "-n", ns, "--clusterrole=edit", "--user=ward:someone@example.com"],
      ["create", "clusterrolebinding", "esc-crb", "--clusterrole=cluster-admin", `--user=ward:${dev.email}`],
      ["create", "role", "esc-role", "-n", ns, "--verb=*", "--resource=*"],
      ["create", "clusterrole", "esc-cr", "--verb=*", "--resource=*"],
    ]) {
      const r = await kubectl(t, args);
      assert.notEqual(r.code, 0, `kubectl ${args.join(" ")} succeeded`);
      assert.match(r.stderr, /forbidden/i, args.join(" "));
    }
    for (const [verb, resource] of [["bind", "clusterroles"], ["escalate", "clusterroles"], ["escalate", "roles"], ["create", "rolebindings"], ["impersonate", "users"], ["impersonate", "groups"]]) {
      assert.equal((await kubectl(t, ["auth", "can-i", verb!, resource!, "-n", ns])).stdout.trim(), "no", `can-i ${verb} ${resource}`);
    }
    // RBAC's edit role may impersonate service accounts in its namespace; through Ward, --as names only oneself.
    for (const as of [["--as", `system:serviceaccount:${ns}:default`], ["--as", "system:admin"], ["--as", "ward:esc-nsadmin@example.com"], ["--as", dev.email, "--as-group", "system:masters"]]) {
      const r = await kubectl(t, [...as, "get", "pods", "-n", ns]);
      assert.notEqual(r.code, 0, `${as.join(" ")} was honoured`);
      assert.match(r.stderr, /forbidden|Forbidden/, `${as.join(" ")}: ${r.stderr}`);
    }
    assert.match(await kubectlOk(t, ["--as", dev.email, "get", "configmap", PROBE, "-n", ns, "-o", "name"]), /configmap\/atk-probe/, "--as oneself passes");
  });

  test("a namespace admin grant does not reach cluster-scoped resources or other namespaces, nor raise itself to cluster-admin", async () => {
    const t = target(nsAdmin.kubeconfig);
    const ns = kube.namespace;
    for (const args of [
      ["get", "nodes"], ["get", "namespaces"], ["get", "clusterrolebindings"], ["get", "clusterroles"],
      ["get", "secrets", "-n", "default"], ["get", "pods", "-A"], ["get", "configmaps", "-n", "kube-system"],
      ["create", "namespace", "esc-ns"],
      ["create", "clusterrolebinding", "esc-crb", "--clusterrole=cluster-admin", `--user=ward:${nsAdmin.email}`],
      // Binding a role with more than it holds is refused (RBAC's escalation check), even in its namespace.
      ["create", "rolebinding", "esc-rb", "-n", ns, "--clusterrole=cluster-admin", `--user=ward:${nsAdmin.email}`],
      ["create", "role", "esc-role", "-n", ns, "--verb=*", "--resource=*"],
    ]) {
      const r = await kubectl(t, args);
      assert.notEqual(r.code, 0, `kubectl ${args.join(" ")} succeeded`);
      assert.match(r.stderr, /forbidden/i, args.join(" "));
    }
    // The grant itself works: a control that the refusals above are RBAC's, not a broken kubeconfig.
    assert.match(await kubectlOk(t, ["get", "configmap", PROBE, "-n", ns, "-o", "name"]), /atk-probe/);
  });

  test("the agent's own bindings, edited, deleted or forged through the proxy, are put back", async () => {
    const t = target(nsAdmin.kubeconfig);
    const ns = kube.namespace;
    const admin = { kubectl: kube.kubectl.newest, kubeconfig: kube.kubeconfig };
    const grants = (await w.api(w.adminToken, "GET", `/api/v1/clusters/${A}/access/grants`)).json.grants as { id: string; member_id: string }[];
    const devGrant = grants.find((g) => g.member_id === dev.id)!.id;
    const devBinding = (await kubectlOk(admin, ["get", "rolebindings", "-n", ns, "-l", `ward.io/grant=${devGrant}`, "-o", "jsonpath={.items[0].metadata.name}"])).trim();
    assert.ok(devBinding, "the agent's binding for dev's grant");
    // A namespace admin adds a service account to another member's Ward binding…
    await kubectlOk(t, ["patch", "rolebinding", devBinding, "-n", ns, "--type=json", "-p", JSON.stringify([{ op: "add", path: "/subjects/-", value: { kind: "ServiceAccount", name: "default", namespace: ns } }])]);
    await eventually("the edit repaired", async () => !(await kubectlOk(admin, ["get", "rolebinding", devBinding, "-n", ns, "-o", "jsonpath={.subjects[*].kind}"])).includes("ServiceAccount"), { timeoutMs: 10_000, intervalMs: 200 });
    // …deletes it…
    await kubectlOk(t, ["delete", "rolebinding", devBinding, "-n", ns]);
    await eventually("the binding restored", async () => (await kubectl(admin, ["get", "rolebinding", devBinding, "-n", ns])).code === 0, { timeoutMs: 10_000, intervalMs: 200 });
    // …or forges one carrying Ward's label for a grant that does not exist: garbage-collected.
    await kubectlOk(t, ["create", "rolebinding", "esc-forged", "-n", ns, "--clusterrole=admin", "--user=ward:outsider@example.com"]);
    await kubectlOk(t, ["label", "rolebinding", "esc-forged", "-n", ns, "app.kubernetes.io/managed-by=ward", "ward.io/grant=g_forged"]);
    await eventually("the forged binding removed", async () => (await kubectl(admin, ["get", "rolebinding", "esc-forged", "-n", ns])).code !== 0, { timeoutMs: 10_000, intervalMs: 200 });
    assert.match(await kubectlOk(target(dev.kubeconfig), ["get", "configmap", PROBE, "-n", ns, "-o", "name"]), /atk-probe/, "dev's access works again");
  });

  test("a namespace grant on the agent's own namespace is refused beyond view: it would hand over the agent's credential and service account", async () => {
    const m = await w.member("esc-agentns@example.com");
    const edit = await w.api(w.adminToken, "POST", `/api/v1/clusters/${A}/access/grants`, { member_id: m.id, role: "edit", scope: "namespace", namespace: AGENT_NS });
    const view = await w.grant(m.id, { role: "view", scope: "namespace", namespace: AGENT_NS });
    assert.equal(edit.status, 201, JSON.stringify(edit.json));
    const g = await eventually("the edit grant reported", async () => {
      const x = await grantOf(A, edit.json.grant.id);
      return x.status === "failed" || x.status === "applied" ? x : undefined;
    }, { timeoutMs: 15_000, intervalMs: 100 });
    assert.equal(g.status, "failed", "an edit grant on the agent's namespace was applied");
    assert.match(g.error!, new RegExp(`${AGENT_NS} is the agent's own namespace`));
    await w.mintKubeconfig(m);
    const t = target(m.kubeconfig);
    // The view grant works there (it cannot read Secrets); the join credential stays out of reach.
    assert.match(await kubectlOk(t, ["get", "serviceaccounts", "-n", AGENT_NS, "-o", "name"]), /ward-agent/);
    const steal = await kubectl(t, ["get", "secret", "ward-agent-join", "-n", AGENT_NS, "-o", "jsonpath={.data.token}"]);
    assert.notEqual(steal.code, 0, "the agent's join credential was read through Ward");
    assert.match(steal.stderr, /forbidden/i);
    for (const args of [["create", "token", "ward-agent", "-n", AGENT_NS], ["run", "esc-pod", "-n", AGENT_NS, "--image=x", "--overrides", JSON.stringify({ spec: { serviceAccountName: "ward-agent" } })]]) {
      const r = await kubectl(t, args);
      assert.notEqual(r.code, 0, `kubectl ${args.join(" ")} succeeded`);
    }
    assert.equal((await grantOf(A, view)).status, "applied");
  });

  test("grants and tokens of one cluster do nothing on another; a cluster-admin of A is nobody on B", async () => {
    const root = await w.member("esc-root-a@example.com");
    await w.grant(root.id, { role: "cluster-admin" });
    const tok = await w.api(root.token, "POST", `/api/v1/clusters/${A}/k8s-token`, {});
    assert.equal(tok.status, 200);
    assert.equal((await w.api(tok.json.token, "GET", `/api/v1/clusters/${A}/k8s/api`)).status, 200);
    const onB = await w.api(tok.json.token, "GET", `/api/v1/clusters/${B}/k8s/api`);
    assert.equal(onB.status, 401);
    assert.equal(onB.json.kind, "Status");
    for (const [method, path] of [["POST", `/api/v1/clusters/${B}/k8s-token`], ["POST", `/api/v1/clusters/${B}/kubeconfig`], ["GET", `/api/v1/clusters/${B}/access/grants`], ["GET", `/api/v1/clusters/${B}/access/tokens`]] as const) {
      const r = await w.api(root.token, method, path, method === "POST" ? {} : undefined);
      assert.equal(r.status, 404, `${method} ${path}: ${JSON.stringify(r.json)}`);
    }
    assert.ok(!((await w.api(root.token, "GET", "/api/v1/me/clusters")).json.clusters as { id: string }[]).some((c) => c.id === B), "B is not even listed");
  });
});

describe("live-stream revocation and expiry", () => {
  /** A member with an edit grant in the namespace and three live streams: get -w, exec, logs -f. */
  async function withStreams(email: string, extra: Record<string, unknown> = {}): Promise<{ m: WardMember; streams: KubectlStream[]; tokenId: string }> {
    const r = await w.api(w.adminToken, "POST", "/api/v1/members", { email, ...extra });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const m = { id: r.json.member.id, email, token: r.json.api_token, kubeconfig: join(w.dir, `kc-${email}`) };
    await w.grant(m.id, { role: "edit", scope: "namespace", namespace: kube.namespace });
    const tokenId = await w.mintKubeconfig(m);
    const t = target(m.kubeconfig);
    const streams = [
      kubectlStream(t, ["get", "configmaps", "-w", "-n", kube.namespace]),
      kubectlStream(t, ["exec", "-i", kube.pod, "-c", kube.container, "-n", kube.namespace, "--", "cat"]),
      kubectlStream(t, ["logs", "-f", kube.pod, "-c", kube.container, "-n", kube.namespace]),
    ];
    await streams[0]!.waitFor(PROBE, 15_000);
    streams[1]!.write(`hello ${email}\n`);
    await streams[1]!.waitFor(`hello ${email}`, 15_000);
    kube.appendLog(`log for ${email}`);
    await streams[2]!.waitFor(`log for ${email}`, 15_000);
    return { m, streams, tokenId };
  }

  test("disabling a member (ward member disable) ends their watch, exec and logs -f within 2 s; another member's streams stay", { timeout: 90_000 }, async () => {
    const leaver = await withStreams("leaver@example.com");
    const stayer = await withStreams("stayer@example.com");
    try {
      const r = await run(wardBinary, ["member", "disable", "leaver@example.com"], { env: wardEnv(w.adminToken) });
      assert.equal(r.code, 0, r.stderr);
      const took = await endsWithin(leaver.streams, 2000, "after the member was disabled");
      assert.ok(took < 2000);
      for (const s of stayer.streams) assert.ok(await stillRunning(s, 300), `another member's stream ended: ${s.stderr()}`);
      const again = await kubectl(target(leaver.m.kubeconfig), ["get", "configmaps", "-n", kube.namespace]);
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, /Unauthorized|must be logged in/i);
      // Their API token is dead too: no new kubeconfig.
      const mint = await w.api(leaver.m.token, "POST", `/api/v1/clusters/${A}/kubeconfig`, {});
      assert.equal(mint.status, 403, JSON.stringify(mint.json));
      assert.equal(mint.json.reason, "MemberDisabled");
      // Let back in, they start afresh: the kubeconfig issued before (maybe copied, maybe stolen) stays dead.
      assert.equal((await w.api(w.adminToken, "PATCH", `/api/v1/members/${leaver.m.id}`, { status: "active" })).status, 200);
      const back = await kubectl(target(leaver.m.kubeconfig), ["get", "configmaps", "-n", kube.namespace]);
      assert.notEqual(back.code, 0, "re-enabling the member brought a kubeconfig issued before the removal back to life");
      assert.match(back.stderr, /Unauthorized|must be logged in/i);
      await w.mintKubeconfig(leaver.m, join(w.dir, "kc-leaver-new"));
      await kubectlOk(target(join(w.dir, "kc-leaver-new")), ["get", "configmaps", "-n", kube.namespace]);
    } finally {
      await Promise.all([...leaver.streams, ...stayer.streams].map((s) => s.stop()));
    }
  });

  test("a robot disabled ends its streams within 2 s; its revoked API token mints nothing more", { timeout: 90_000 }, async () => {
    const bot = await withStreams("esc-deploy@robot.ward", { robot: true });
    try {
      const list = await w.api(w.adminToken, "GET", `/api/v1/members/${bot.m.id}/tokens`);
      const apiTokenId = list.json.tokens[0].id as string;
      assert.equal((await w.api(w.adminToken, "DELETE", `/api/v1/members/${bot.m.id}/tokens/${apiTokenId}`)).status, 204);
      assert.equal((await w.api(bot.m.token, "POST", `/api/v1/clusters/${A}/k8s-token`, {})).status, 401, "a revoked robot token still mints");
      const r = await run(wardBinary, ["member", "disable", bot.m.email], { env: wardEnv(w.adminToken) });
      assert.equal(r.code, 0, r.stderr);
      await endsWithin(bot.streams, 2000, "after the robot was disabled");
      assert.notEqual((await kubectl(target(bot.m.kubeconfig), ["get", "configmaps", "-n", kube.namespace])).code, 0);
    } finally {
      await Promise.all(bot.streams.map((s) => s.stop()));
    }
  });

  test("an expired token opens nothing new; a stream that outlived it still ends when that token is revoked", { timeout: 90_000 }, async () => {
    const m = await w.member("short-lived@example.com");
    await w.grant(m.id, { role: "view", scope: "namespace", namespace: kube.namespace });
    const tok = await w.api(m.token, "POST", `/api/v1/clusters/${A}/k8s-token`, { lifetime_seconds: 10 });
    assert.equal(tok.status, 200, JSON.stringify(tok.json));
    const exp = Date.parse(tok.json.expires_at);
    const kc = join(w.dir, "kc-short-lived");
    writeFileSync(kc, kubeconfigWith(tok.json.token), { mode: 0o600 });
    const watch = kubectlStream(target(kc), ["get", "configmaps", "-w", "-n", kube.namespace]);
    try {
      await watch.waitFor(PROBE, 15_000);
      assert.ok(Date.now() < exp - 1000, "the watch was open before the token expired");
      // Every new request with the token is refused once it expired (the verifier allows 5 s of clock skew).
      await eventually("the expired token refused", async () => (await w.api(tok.json.token, "GET", `/api/v1/clusters/${A}/k8s/api`)).status === 401, { timeoutMs: exp - Date.now() + 7000, intervalMs: 200 });
      assert.ok(Date.now() >= exp, "refused only after its expiry");
      const exec = await kubectl(target(kc), ["exec", kube.pod, "-c", kube.container, "-n", kube.namespace, "--", "true"]);
      assert.notEqual(exec.code, 0);
      assert.match(exec.stderr, /Unauthorized|must be logged in/i);
      // The watch opened in time keeps running (a kubectl watch is not re-authenticated mid-stream)…
      assert.ok(await stillRunning(watch, 1), watch.stderr());
      // …but it stays revocable by that token's id.
      assert.equal((await w.api(m.token, "DELETE", `/api/v1/clusters/${A}/access/tokens/${tok.json.token_id}`)).status, 204);
      await endsWithin([watch], 1500, "after revoking the expired token");
    } finally {
      await watch.stop();
    }
  });
});

/** A kubeconfig for cluster A with a bare token (the gateway's CA embedded). */
function kubeconfigWith(token: string): string {
  const ca = Buffer.from(w.ca).toString("base64");
  return `apiVersion: v1
kind: Config
clusters: [{ name: a, cluster: { server: "${w.url}/api/v1/clusters/${A}/k8s", certificate-authority-data: ${ca} } }]
users: [{ name: a, user: { token: "${token}" } }]
contexts: [{ name: a, context: { cluster: a, user: a } }]
current-context: a
`;
}

describe("agent credential theft and rotation", () => {
  test("the join credential is not an API, portal or proxy credential", async () => {
    for (const path of ["/api/v1/me", "/api/v1/clusters", `/api/v1/clusters/${A}/k8s/api`, `/api/v1/clusters/${A}/k8s/api/v1/namespaces/${kube.namespace}/configmaps`]) {
      const r = await w.api(joinA, "GET", path);
      assert.equal(r.status, 401, `${path}: ${r.status}`);
    }
    const basic = Buffer.from(`${A}:${joinA}`).toString("base64");
    const r = await w.api("x", "GET", `/api/v1/clusters/${A}/k8s/api`, undefined, ["Authorization", `Basic ${basic}`]);
    assert.equal(r.status, 401);
    assert.equal((await w.api(joinA, "POST", `/api/v1/clusters/${A}/k8s-token`, {})).status, 401);
    assert.ok(!w.gateway.output().includes(joinA), "the join credential was written to the gateway log");
  });

  test("a second connection with a stolen credential is kicked with the real agent on rotation; neither comes back with the old one", { timeout: 90_000 }, async () => {
    const thief = await natsAs(A, joinA, "thief");
    const thiefClosed = thief.closed();
    // The real agent (one connection) and the thief: both authenticated as A.
    const env = wardEnv(w.adminToken);
    const fresh = join(w.dir, "join-token-rotated");
    const r = await run(wardBinary, ["cluster", "rotate-join", "--cluster", A, "--yes", "--token-file", fresh], { env });
    assert.equal(r.code, 0, r.stderr);
    await w.gateway.waitFor(/agent join credential rotated: disconnected its agents.*"cluster":"atk-a".*"connections":\d+/, 5000);
    const closed = await Promise.race([thiefClosed.then(() => "closed"), new Promise((res) => setTimeout(() => res("open"), 3000))]);
    assert.equal(closed, "closed", "the thief's connection outlived the rotation");
    await assert.rejects(natsAs(A, joinA, "thief-again"), /Authorization Violation/i);
    await w.agent.stop();
    await w.startAgent(fresh);
    await eventually("A online again with the new credential", () => clusterOnline(A), { timeoutMs: 10_000, intervalMs: 100 });
  });
});
