/**
 * The audit's view of the proxy path, with the real parts (gateway handler → tunnel → agent →
 * kube-apiserver) and both kubectls: one exchange record per request with its request id (the one
 * kubectl sees), who and what; a write's body captured while it streams — a body larger than the
 * capture reaches the API server whole while the record keeps only its first bytes — and turned into
 * a redacted row.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { BODY_CAPTURE_BYTES, toRow, type RequestEntry } from "../../internal/audit/index.ts";
import type { ExchangeRecord } from "../../internal/proxy/index.ts";
import { eventually } from "../helpers/eventually.ts";
import { startKubeEnv, type KubeEnv } from "../helpers/kube-env.ts";
import { kubectl, kubectlOk } from "../helpers/kubectl.ts";
import { startProxyEnv, type ProxyEnv } from "./harness.ts";

let kube: KubeEnv;
let env: ProxyEnv;
let dir: string;
const records: ExchangeRecord[] = [];

before(async () => {
  kube = await startKubeEnv();
  env = await startProxyEnv(kube, { onExchange: (r) => records.push({ ...r }), captureBodyBytes: BODY_CAPTURE_BYTES });
  await env.startAgent();
  dir = mkdtempSync(join(tmpdir(), "ward-proxy-audit-"));
  env.tokens.set("admin-token", { member: "m-admin", user: "ward:admin@example.com", groups: ["system:masters"] });
}, { timeout: 200_000 });

after(async () => {
  await env?.stop();
  await kube?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const entry = (r: ExchangeRecord): RequestEntry => ({
  type: "request", at: r.startedAt, requestId: r.requestId, cluster: r.cluster, memberId: r.member, memberEmail: r.memberEmail, grantIds: r.grantIds,
  tokenId: r.tokenId, method: r.method, path: r.path, query: r.query, impersonated: r.impersonated, userAgent: r.userAgent, status: r.status,
  bytesIn: r.bytesIn, bytesOut: r.bytesOut, durationMs: r.durationMs, body: r.body,
});

async function recordOf(pick: (r: ExchangeRecord) => boolean): Promise<ExchangeRecord> {
  await eventually("an exchange record", () => records.some(pick), { timeoutMs: 10_000, intervalMs: 50 });
  return records.find(pick)!;
}

for (const which of ["newest", "spdy"] as const) {
  test(`a body larger than the capture reaches the API server whole; the record keeps its first ${BODY_CAPTURE_BYTES / 1024} KiB, ${which} kubectl`, async () => {
    const o = { kubectl: kube.kubectl[which], kubeconfig: env.kubeconfig(dir, "admin-token") };
    const name = `big-${which}`;
    const value = "v".repeat(300 * 1024);
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: kube.namespace }, data: { big: value } }));
    await kubectlOk(o, ["create", "-f", file]);
    const got = await kubectlOk(o, ["get", "configmap", name, "-n", kube.namespace, "-o", "jsonpath={.data.big}"]);
    assert.equal(got.length, value.length, "the whole body reached the API server");
    const r = await recordOf((x) => x.method === "POST" && x.path.endsWith("/configmaps") && x.body !== undefined && x.body.size > BODY_CAPTURE_BYTES && x.userAgent!.includes(which === "spdy" ? "1.20" : "kubectl/"));
    assert.equal(r.body!.truncated, true);
    assert.equal(r.body!.bytes.length, BODY_CAPTURE_BYTES);
    assert.ok(r.body!.size >= value.length);
    assert.equal(r.status, 201);
    const row = toRow(entry(r));
    assert.equal(row.body, null, "a truncated body is never kept as text");
    assert.equal(row.body_truncated, 1);
    assert.equal(row.verb, "create");
    assert.equal(row.resource, "configmaps");
    await kubectlOk(o, ["delete", "configmap", name, "-n", kube.namespace]);
  });
}

test("a small Secret write is captured whole and stored redacted; reads capture nothing", async () => {
  const o = { kubectl: kube.kubectl.spdy, kubeconfig: env.kubeconfig(dir, "admin-token") };
  await kubectlOk(o, ["create", "secret", "generic", "proxy-audit", "--from-literal=token=s3cr3t-t0k3n", "-n", kube.namespace]);
  const r = await recordOf((x) => x.method === "POST" && x.path.endsWith("/secrets"));
  assert.equal(r.body!.truncated, false);
  const row = toRow(entry(r));
  assert.equal(JSON.parse(row.body!).data.token, "***");
  assert.doesNotMatch(JSON.stringify(row), /s3cr3t-t0k3n|czNjcjN0LXQwazNu/);
  await kubectlOk(o, ["get", "secret", "proxy-audit", "-n", kube.namespace]);
  const read = await recordOf((x) => x.method === "GET" && x.path.endsWith("/secrets/proxy-audit"));
  assert.equal(read.body, undefined);
  await kubectlOk(o, ["delete", "secret", "proxy-audit", "-n", kube.namespace]);
});

test("the record's request id is the one kubectl sees; who and what are recorded, an unknown token too", async () => {
  const o = { kubectl: kube.kubectl.newest, kubeconfig: env.kubeconfig(dir, "admin-token") };
  const r = await kubectl(o, ["get", "pods", "-n", kube.namespace, "-v=8"]);
  assert.equal(r.code, 0, r.stderr);
  const id = [...r.stderr.matchAll(/X-Request-Id:\s*([A-Za-z0-9._:-]+)/gi)].map((m) => m[1]!).at(-1);
  assert.ok(id, "kubectl -v=8 shows the X-Request-Id response header");
  const rec = await recordOf((x) => x.requestId === id);
  assert.equal(rec.member, "m-admin");
  assert.equal(rec.memberEmail, "ward:admin@example.com");
  assert.equal(rec.kind, "request");
  assert.equal(rec.status, 200);
  assert.ok(rec.bytesOut > 0);
  const bad = await kubectl({ kubectl: kube.kubectl.newest, kubeconfig: env.kubeconfig(dir, "unknown-token") }, ["get", "pods", "-n", kube.namespace]);
  assert.notEqual(bad.code, 0);
  const refused = await recordOf((x) => x.status === 401);
  assert.equal(refused.member, undefined);
  assert.equal(refused.kind, undefined);
});
