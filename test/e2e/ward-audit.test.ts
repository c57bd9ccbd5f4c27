/**
 * The audit end to end, with the built executable and the real kube-env: `dist/ward gateway` +
 * `dist/ward agent` (both at debug level), both kubectls' traffic — get, list, watch, create, patch,
 * delete, exec, logs, port-forward — recorded with who, where, what, the grants and token that
 * allowed it, `--as`, user agent, status, bytes and duration; a Secret's data never in any row; the
 * request id the same in the gateway's log, the agent's log, the audit row and kubectl's `-v=8`
 * output; members see their own rows; access actions recorded; `ward audit list`; and a gateway
 * whose audit queue holds one record drops and counts while kubectl keeps working.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, test } from "node:test";
import { eventually } from "../helpers/eventually.ts";
import { startKubeEnv, type KubeEnv } from "../helpers/kube-env.ts";
import { kubectl, kubectlOk, kubectlStream, type KubectlTarget } from "../helpers/kubectl.ts";
import { run } from "../helpers/process.ts";
import { startWard, TEST_AGENT_FLAGS, wardBinary, type Ward, type WardMember } from "../helpers/ward.ts";

const CLUSTER = "audit";
let kube: KubeEnv;
let w: Ward;
let dev: WardMember;
let viewer: WardMember;
let devTokenId: string;
let devGrant: string;
const SECRET_PLAIN = "hunter2-Pl41nS3cr3t";
const SECRET_PATCHED = "P4tch3d-S3cr3t-v4lue";

interface Row {
  time: string; action: string; request_id: string | null; member_id: string | null; member_email: string | null; cluster_id: string | null;
  grant_ids: string[]; token_id: string | null; verb: string | null; resource: string | null; subresource: string | null; namespace: string | null;
  name: string | null; impersonated: string | null; user_agent: string | null; status: number | null; bytes_in: number | null; bytes_out: number | null;
  duration_ms: number | null; body: string | null; body_content_type: string | null; body_bytes: number | null; detail: Record<string, unknown> | null;
}

async function audit(token: string, query = ""): Promise<{ events: Row[]; queue?: { dropped: number; written: number } }> {
  const r = await w.api(token, "GET", `/api/v1/audit?limit=1000${query}`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json;
}

/** Waits until a row matching `pick` is in the audit (the queue is written every 250 ms). */
async function row(what: string, pick: (r: Row) => boolean, token = w.adminToken): Promise<Row> {
  let found: Row | undefined;
  await eventually(`an audit row for ${what}`, async () => {
    found = (await audit(token)).events.find(pick);
    return found !== undefined;
  }, { timeoutMs: 15_000, intervalMs: 100 }).catch(async (e: Error) => {
    const rows = (await audit(token)).events.filter((r) => r.verb !== "get").map((r) => JSON.stringify(r));
    throw new Error(`${e.message}; the audit has:\n${rows.join("\n")}`);
  });
  return found!;
}

before(async () => {
  kube = await startKubeEnv();
  w = await startWard(kube, { cluster: CLUSTER, gatewayArgs: ["--log-level", "debug"], agentFlags: [...TEST_AGENT_FLAGS, "--log-level", "debug"] });
  dev = await w.member("dev@example.com");
  viewer = await w.member("viewer@example.com");
  devGrant = await w.grant(dev.id, { role: "cluster-admin" });
  await w.grant(viewer.id, { role: "view", scope: "namespace", namespace: kube.namespace });
  devTokenId = await w.mintKubeconfig(dev);
  await w.mintKubeconfig(viewer);
}, { timeout: 240_000 });

after(async () => {
  try {
    await w?.stop();
  } finally {
    await kube?.stop();
  }
});

const target = (m: WardMember, which: "newest" | "spdy" = "newest"): KubectlTarget => ({ kubectl: kube.kubectl[which], kubeconfig: m.kubeconfig });

test("get, list, watch, create, patch and delete are recorded with who, what, grants, status, bytes and duration", async () => {
  const o = target(dev);
  const ns = ["-n", kube.namespace];
  const name = "audited-cm";
  await kubectlOk(o, ["create", "configmap", name, "--from-literal=a=b", ...ns]);
  await kubectlOk(o, ["get", "configmap", name, ...ns]);
  await kubectlOk(o, ["get", "configmaps", ...ns]);
  await kubectlOk(o, ["patch", "configmap", name, "--type=merge", "-p", '{"data":{"a":"c"}}', ...ns]);
  // The watch is up once it shows a change; its row is written when kubectl leaves.
  const watch = kubectlStream(o, ["get", "configmap", name, "-w", "-o", "json", ...ns]);
  await watch.waitFor(/"a": "c"/);
  await kubectlOk(o, ["patch", "configmap", name, "--type=merge", "-p", '{"data":{"a":"w"}}', ...ns]);
  await watch.waitFor(/"a": "w"/);
  await watch.stop();
  await kubectlOk(o, ["get", "configmap", name, "--as", "dev@example.com", ...ns]);
  await kubectlOk(o, ["delete", "configmap", name, ...ns]);

  const mine = (r: Row) => r.action === "k8s.request" && r.resource === "configmaps" && r.namespace === kube.namespace;
  const create = await row("create", (r) => mine(r) && r.verb === "create");
  assert.equal(create.member_id, dev.id);
  assert.equal(create.member_email, "dev@example.com");
  assert.equal(create.cluster_id, CLUSTER);
  assert.deepEqual(create.grant_ids, [devGrant]);
  assert.equal(create.token_id, devTokenId);
  assert.equal(create.status, 201);
  assert.match(create.user_agent!, /^kubectl/);
  assert.ok(create.bytes_in! > 0 && create.bytes_out! > 0, JSON.stringify(create));
  assert.ok(create.duration_ms! >= 0);
  assert.match(create.request_id!, /^[A-Za-z0-9._:-]{1,128}$/);
  // The newest kubectl creates built-in objects in protobuf: kept as its content type and size only.
  assert.equal(create.body_content_type, "application/vnd.kubernetes.protobuf");
  assert.equal(create.body, null);
  assert.ok(create.body_bytes! > 0);

  // (kubectl delete's wait is a get too, answered 404: not this one.)
  const get = await row("get", (r) => mine(r) && r.verb === "get" && r.name === name && r.impersonated === null && r.status === 200);
  assert.equal(get.body, null);
  await row("list", (r) => mine(r) && r.verb === "list");
  const patch = await row("patch", (r) => mine(r) && r.verb === "patch" && r.name === name && r.body !== null && JSON.parse(r.body).data.a === "c");
  assert.equal(JSON.parse(patch.body!).data.a, "c");
  assert.match(patch.body_content_type!, /merge-patch\+json/);
  const watched = await row("watch", (r) => mine(r) && r.verb === "watch");
  assert.equal(watched.status, 200);
  const as = await row("get --as", (r) => mine(r) && r.verb === "get" && r.impersonated !== null);
  assert.equal(as.impersonated, "dev@example.com");
  const del = await row("delete", (r) => mine(r) && r.verb === "delete" && r.name === name);
  assert.equal(del.status, 200);
});

test("a Secret's data never appears in the audit: create, patch (merge and JSON) and delete", async () => {
  const o = target(dev);
  const ns = ["-n", kube.namespace];
  // kubectl 1.20 sends JSON (the newest, protobuf: never kept as text).
  await kubectlOk(target(dev, "spdy"), ["create", "secret", "generic", "audited-secret", `--from-literal=password=${SECRET_PLAIN}`, ...ns]);
  await kubectlOk(o, ["create", "secret", "generic", "audited-secret-2", `--from-literal=password=${SECRET_PLAIN}`, ...ns]);
  await kubectlOk(o, ["delete", "secret", "audited-secret-2", ...ns]);
  await kubectlOk(o, ["patch", "secret", "audited-secret", "--type=merge", "-p", JSON.stringify({ stringData: { password: SECRET_PATCHED } }), ...ns]);
  await kubectlOk(o, ["patch", "secret", "audited-secret", "--type=json", "-p", JSON.stringify([{ op: "replace", path: "/data/password", value: Buffer.from(SECRET_PATCHED).toString("base64") }]), ...ns]);
  await kubectlOk(o, ["delete", "secret", "audited-secret", ...ns]);
  const isSecret = (r: Row) => r.resource === "secrets" && r.namespace === kube.namespace;
  const created = await row("secret create", (r) => isSecret(r) && r.verb === "create" && r.body !== null);
  assert.equal(JSON.parse(created.body!).data.password, "***");
  assert.equal(JSON.parse(created.body!).metadata.name, "audited-secret");
  await row("secret delete", (r) => isSecret(r) && r.verb === "delete" && r.name === "audited-secret");
  const all = JSON.stringify(await audit(w.adminToken));
  for (const secret of [SECRET_PLAIN, SECRET_PATCHED]) {
    for (const form of [secret, Buffer.from(secret).toString("base64")]) assert.ok(!all.includes(form), `${form} is in the audit`);
  }
  assert.equal((await audit(w.adminToken, "&verb=patch")).events.filter(isSecret).length, 2);
  const protobuf = await row("secret create in protobuf", (r) => isSecret(r) && r.verb === "create" && r.body_content_type === "application/vnd.kubernetes.protobuf");
  assert.equal(protobuf.body, null, "a protobuf body is kept as its content type and size only");
});

test("exec, logs and port-forward are recorded, with both kubectls", async () => {
  for (const which of ["newest", "spdy"] as const) {
    const o = target(dev, which);
    const ns = ["-n", kube.namespace];
    const since = new Date().toISOString();
    assert.match(await kubectlOk(o, ["exec", kube.pod, "-c", kube.container, ...ns, "--", "echo", `hi-${which}`]), new RegExp(`hi-${which}`));
    await kubectlOk(o, ["logs", kube.pod, "-c", kube.container, ...ns]);
    const pf = kubectlStream(o, ["port-forward", `pod/${kube.pod}`, `:${kube.podPort}`, "--address=127.0.0.1", ...ns]);
    try {
      const out = await pf.waitFor(/Forwarding from 127\.0\.0\.1:(\d+)/);
      const port = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)![1]);
      await new Promise<void>((resolve, reject) => {
        const s = connect(port, "127.0.0.1", () => s.write("ping\n"));
        s.on("data", () => (s.end(), resolve()));
        s.on("error", reject);
      });
    } finally {
      await pf.stop();
    }
    const recent = (r: Row) => r.time >= since.slice(0, 19) && r.resource === "pods" && r.name === kube.pod;
    const exec = await row(`${which} exec`, (r) => recent(r) && r.subresource === "exec");
    assert.equal(exec.status, 101);
    assert.ok(exec.bytes_out! > 0);
    assert.deepEqual(exec.grant_ids, [devGrant]);
    const logs = await row(`${which} logs`, (r) => recent(r) && r.subresource === "log");
    assert.equal(logs.verb, "get");
    assert.equal(logs.status, 200);
    const fwd = await row(`${which} port-forward`, (r) => recent(r) && r.subresource === "portforward");
    assert.equal(fwd.status, 101);
    assert.ok(fwd.bytes_in! > 0, "the forwarded bytes are counted");
  }
});

test("one request id in kubectl's -v=8 output, the gateway's log, the agent's log and the audit row", async () => {
  const r = await kubectl(target(dev), ["get", "configmaps", "-n", kube.namespace, "-v=8"]);
  assert.equal(r.code, 0, r.stderr);
  const ids = [...r.stderr.matchAll(/X-Request-Id:\s*([A-Za-z0-9._:-]+)/gi)].map((m) => m[1]!);
  assert.ok(ids.length >= 1, `kubectl -v=8 shows no X-Request-Id:\n${r.stderr.slice(-3000)}`);
  const id = ids.at(-1)!;
  const fromGateway = (line: string) => line.includes(`"requestId":"${id}"`) && line.includes('"proxied request"');
  const fromAgent = (line: string) => line.includes(`"requestId":"${id}"`) && line.includes('"upstream request"');
  await eventually("the id in both logs", async () =>
    w.gateway.output().split("\n").some(fromGateway) && w.agent.output().split("\n").some(fromAgent), { timeoutMs: 10_000, intervalMs: 100 });
  const audited = await row("the -v=8 request", (x) => x.request_id === id);
  assert.equal(audited.verb, "list");
  // A well-formed client id is kept; exactly one goes back.
  const own = await w.api(dev.token, "GET", `/api/v1/clusters/${CLUSTER}/k8s/api/v1/namespaces/${kube.namespace}/configmaps`, undefined, ["X-Request-Id", "client-chosen-id.1"]);
  assert.equal(own.status, 401, "an API token is not a k8s token: refused, and still answered with the id");
  assert.equal(own.headers["x-request-id"], "client-chosen-id.1");
  await row("the refused request", (x) => x.request_id === "client-chosen-id.1" && x.status === 401);
});

test("members see their own rows; admins see all and the access actions", async () => {
  await kubectlOk(target(viewer), ["get", "pods", "-n", kube.namespace]);
  await row("the viewer's list", (r) => r.member_id === viewer.id && r.verb === "list" && r.resource === "pods");
  const own = await audit(viewer.token);
  assert.ok(own.events.length > 0);
  assert.ok(own.events.every((r) => r.member_id === viewer.id), "a member sees only their own rows");
  assert.equal(own.queue, undefined);
  assert.deepEqual((await audit(viewer.token, `&member=${dev.email}`)).events, []);
  const all = await audit(w.adminToken);
  assert.ok(all.events.some((r) => r.member_id === dev.id) && all.events.some((r) => r.member_id === viewer.id));
  assert.equal(all.queue!.dropped, 0);
  const grant = all.events.find((r) => r.action === "grant.create" && r.grant_ids[0] === devGrant);
  assert.ok(grant, "grant creation is audited");
  assert.equal(grant.detail!.role, "cluster-admin");
  const mint = all.events.find((r) => r.action === "token.mint" && r.token_id === devTokenId);
  assert.ok(mint, "the kubeconfig's token mint is audited");
  assert.equal(mint.member_id, dev.id);

  const bad = await w.api(w.adminToken, "GET", "/api/v1/audit?since=forever");
  assert.equal(bad.status, 400);
  assert.equal(bad.json.reason, "Invalid");

  const env = { ...process.env, WARD_TOKEN: w.adminToken, WARD_GATEWAY: w.url, WARD_GATEWAY_CA: w.caFile, HOME: w.dir, XDG_CONFIG_HOME: w.dir };
  const table = await run(wardBinary, ["audit", "list", "--cluster", CLUSTER, "--member", viewer.email, "--since", "1h", "--verb", "list"], { env });
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^TIME\s+MEMBER\s+CLUSTER\s+ACTION/);
  assert.match(table.stdout, /viewer@example\.com\s+audit\s+list pods/);
  assert.doesNotMatch(table.stdout, /dev@example\.com/);
  const json = await run(wardBinary, ["audit", "list", "--verb", "token.mint", "-o", "json"], { env });
  assert.equal(json.code, 0, json.stderr);
  const events = (JSON.parse(json.stdout) as { events: Row[] }).events;
  assert.ok(events.length >= 2 && events.every((e) => e.action === "token.mint"));
  const wrong = await run(wardBinary, ["audit", "list", "--since", "soon"], { env });
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /Invalid since/);
});

test("a full audit queue drops and counts; kubectl is unharmed", async () => {
  // A gateway whose queue holds one record (the first Ward stops: one agent reconciles the kube-env at a time).
  await w.stop();
  w = await startWard(kube, { cluster: CLUSTER, gatewayArgs: ["--audit-queue-cap", "1"] });
  dev = await w.member("dev@example.com");
  await w.grant(dev.id, { role: "cluster-admin" });
  await w.mintKubeconfig(dev);
  const o = target(dev);
  const runs = await Promise.all(Array.from({ length: 8 }, () => kubectl(o, ["get", "configmaps", "-n", kube.namespace, "-o", "name"])));
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  await eventually("drops counted", async () => (await audit(w.adminToken)).queue!.dropped > 0, { timeoutMs: 10_000, intervalMs: 200 });
  const { queue, events } = await audit(w.adminToken);
  assert.ok(queue!.written >= 1 && events.length >= 1, JSON.stringify(queue));
  await w.gateway.waitFor(/"audit queue full: dropping records"/, 5_000);
  assert.equal((await kubectl(o, ["get", "pods", "-n", kube.namespace])).code, 0);
});
