import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import { fixture } from "../../test/helpers/access_fixture.ts";
import { silentLogger } from "../log/index.ts";
import { createApp } from "./app.ts";

async function setup(opts: { burst?: number } = {}) {
  const f = await fixture(opts);
  const app = createApp({ logger: silentLogger, readiness: [], access: f.svc, publicUrl: () => "https://ward.example.com" });
  const call = async (method: string, path: string, token: string | null, body?: unknown) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await app.request(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, any>) : {} };
  };
  return { f, app, call };
}

test("API: bearer auth is required and bad tokens get 401 with a stable reason", async () => {
  const { f, call } = await setup();
  try {
    let r = await call("GET", "/api/v1/me", null);
    assert.equal(r.status, 401);
    assert.equal(r.json.reason, "Unauthorized");
    assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="ward"');
    r = await call("GET", "/api/v1/me", "wardp_nope");
    assert.equal(r.status, 401);
    r = await call("GET", "/api/v1/me", f.memberToken);
    assert.equal(r.json.member.email, "dev@example.com");
  } finally {
    await f.close();
  }
});

test("API: admin creates clusters and members; members cannot", async () => {
  const { f, call } = await setup();
  try {
    let r = await call("POST", "/api/v1/clusters", f.adminToken, { id: "edge-1", name: "Edge" });
    assert.equal(r.status, 201);
    assert.match(r.json.join_token, /^wardj_/);
    assert.equal(r.json.cluster.id, "edge-1");
    assert.equal(r.json.cluster.agent_credential_hash, undefined);
    r = await call("GET", "/api/v1/clusters", f.adminToken);
    assert.deepEqual(r.json.clusters.map((c: { id: string }) => c.id), ["edge-1", "prod"]);
    r = await call("POST", "/api/v1/clusters", f.memberToken, { id: "x" });
    assert.equal(r.status, 403);
    assert.equal(r.json.reason, "Forbidden");
    r = await call("POST", "/api/v1/clusters", f.adminToken, { id: "Not_Valid" });
    assert.equal(r.status, 400);
    assert.equal(r.json.reason, "Invalid");
    r = await call("POST", "/api/v1/members", f.adminToken, { email: "ci@example.com", robot: true });
    assert.equal(r.status, 201);
    assert.equal(r.json.member.robot, true);
    const robotToken = r.json.api_token as string;
    assert.equal((await call("GET", "/api/v1/me", robotToken)).status, 200);
    r = await call("PATCH", `/api/v1/members/${r.json.member.id}`, f.adminToken, { status: "disabled" });
    assert.equal(r.json.member.status, "disabled");
    r = await call("GET", "/api/v1/me", robotToken);
    assert.equal(r.status, 403);
    assert.equal(r.json.reason, "MemberDisabled");
    r = await call("POST", "/api/v1/clusters", f.adminToken, "not an object");
    assert.equal(r.status, 400);
  } finally {
    await f.close();
  }
});

test("API: grants, k8s-token, kubeconfig, revoke-all", async () => {
  const { f, call } = await setup();
  try {
    const mid = f.member.member.id;
    // Without a grant, a member cannot tell the cluster exists (the security review's oracle).
    let r = await call("POST", "/api/v1/clusters/prod/k8s-token", f.memberToken);
    assert.equal(r.status, 404);
    assert.equal(r.json.reason, "NotFound");
    r = await call("POST", "/api/v1/clusters/prod/access/grants", f.adminToken, { member_id: mid, role: "edit", scope: "namespace", namespace: "team-a" });
    assert.equal(r.status, 201);
    const gid = r.json.grant.id as string;
    r = await call("POST", "/api/v1/clusters/prod/access/grants", f.adminToken, { member_id: mid, role: "edit", scope: "namespace", namespace: "team-a" });
    assert.equal(r.status, 200);
    assert.equal(r.json.grant.id, gid);
    r = await call("POST", "/api/v1/clusters/prod/access/grants", f.adminToken, { member_id: mid, role: "edit", scope: "namespace", namespace: "Team A" });
    assert.equal(r.status, 400);
    assert.match(r.json.error, /DNS-1123/);
    r = await call("GET", "/api/v1/clusters/prod/access/grants", f.memberToken);
    assert.equal(r.json.grants.length, 1);

    r = await call("POST", "/api/v1/clusters/prod/k8s-token", f.memberToken, { lifetime_seconds: 120 });
    assert.equal(r.status, 200);
    assert.equal(r.json.expires_at, "2030-01-01T00:02:00.000Z");
    const token = r.json.token as string;
    await f.svc.verifyToken(token, "prod");

    r = await call("POST", "/api/v1/clusters/prod/kubeconfig", f.memberToken);
    const kc = parse(r.json.kubeconfig);
    assert.equal(kc.clusters[0].cluster.server, "https://ward.example.com/api/v1/clusters/prod/k8s");
    assert.equal(kc["current-context"], "ward-prod");
    await f.svc.verifyToken(kc.users[0].user.token, "prod");
    assert.ok(r.json.expires_at);

    r = await call("GET", "/api/v1/clusters/prod/access/tokens", f.memberToken);
    assert.equal(r.json.tokens.length, 2);

    r = await call("POST", "/api/v1/clusters/prod/access/revoke-all", f.memberToken);
    assert.equal(r.status, 403);
    r = await call("POST", "/api/v1/clusters/prod/access/revoke-all", f.adminToken);
    assert.deepEqual(r.json, { revoked_tokens: 2, generation: 2 });
    await assert.rejects(f.svc.verifyToken(token, "prod"));

    r = await call("DELETE", `/api/v1/clusters/prod/access/grants/${gid}`, f.adminToken);
    assert.equal(r.status, 204);
    r = await call("DELETE", `/api/v1/clusters/prod/access/grants/${gid}`, f.adminToken);
    assert.equal(r.status, 404);
    assert.equal(r.json.reason, "NotFound");
    r = await call("GET", "/api/v1/clusters/nope/access/grants", f.adminToken);
    assert.equal(r.status, 404);
  } finally {
    await f.close();
  }
});

test("API: sandbox clusters answer a clear error", async () => {
  const { f, call } = await setup();
  try {
    await call("POST", "/api/v1/clusters", f.adminToken, { id: "play", sandbox: true });
    const r = await call("POST", "/api/v1/clusters/play/access/grants", f.adminToken, { member_id: f.member.member.id, role: "view" });
    assert.equal(r.status, 422);
    assert.equal(r.json.reason, "SandboxCluster");
    assert.match(r.json.error, /sandbox clusters do not support access/);
  } finally {
    await f.close();
  }
});

test("API: minting is rate limited with 429 and Retry-After", async () => {
  const { f, call } = await setup({ burst: 1 });
  try {
    await call("POST", "/api/v1/clusters/prod/access/grants", f.adminToken, { member_id: f.member.member.id, role: "view" });
    assert.equal((await call("POST", "/api/v1/clusters/prod/k8s-token", f.memberToken)).status, 200);
    const r = await call("POST", "/api/v1/clusters/prod/kubeconfig", f.memberToken);
    assert.equal(r.status, 429);
    assert.equal(r.json.reason, "RateLimited");
    assert.equal(r.headers.get("retry-after"), "1");
  } finally {
    await f.close();
  }
});

test("API: access feature off answers 404 on token, kubeconfig and access endpoints", async () => {
  const { f, call } = await setup();
  try {
    await call("POST", "/api/v1/clusters/prod/access/grants", f.adminToken, { member_id: f.admin.member.id, role: "view" });
    let r = await call("PUT", "/api/v1/settings/access", f.adminToken, { enabled: false });
    assert.equal(r.json.enabled, false);
    for (const [m, p] of [
      ["POST", "/api/v1/clusters/prod/k8s-token"],
      ["POST", "/api/v1/clusters/prod/kubeconfig"],
      ["GET", "/api/v1/clusters/prod/access/grants"],
      ["POST", "/api/v1/clusters/prod/access/grants"],
      ["DELETE", "/api/v1/clusters/prod/access/grants/gx"],
      ["POST", "/api/v1/clusters/prod/access/revoke-all"],
    ] as const) {
      r = await call(m, p, f.adminToken, m === "GET" ? undefined : {});
      assert.equal(r.status, 404, `${m} ${p}`);
      assert.deepEqual(r.json, { error: "Not found", reason: "NotFound" });
    }
    r = await call("PUT", "/api/v1/settings/access", f.adminToken, { enabled: true });
    assert.equal((await call("POST", "/api/v1/clusters/prod/k8s-token", f.adminToken)).status, 200);
  } finally {
    await f.close();
  }
});
