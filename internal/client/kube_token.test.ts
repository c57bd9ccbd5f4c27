import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { getRequestListener } from "@hono/node-server";
import { fixture } from "../../test/helpers/access_fixture.ts";
import { createApp } from "../gateway/index.ts";
import { silentLogger } from "../log/index.ts";
import { execApiVersion, kubeToken } from "./kube_token.ts";

async function gateway() {
  const f = await fixture();
  await f.svc.createGrant(f.admin, "prod", { member_id: f.member.member.id, role: "view" });
  const app = createApp({ logger: silentLogger, readiness: [], access: f.svc });
  const server = createServer(getRequestListener(app.fetch));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { f, url, close: async () => { server.close(); await f.close(); } };
}

const parse = (s: string) => JSON.parse(s) as { apiVersion: string; kind: string; status: { token: string; expirationTimestamp: string } };

test("exec info: apiVersion from KUBERNETES_EXEC_INFO, v1beta1 without it, clear errors otherwise", () => {
  assert.equal(execApiVersion({}), "client.authentication.k8s.io/v1beta1");
  assert.equal(execApiVersion({ KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", spec: { interactive: false } }) }), "client.authentication.k8s.io/v1");
  assert.throws(() => execApiVersion({ KUBERNETES_EXEC_INFO: "{" }), /not valid JSON/);
  assert.throws(() => execApiVersion({ KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1alpha1" }) }), /Unsupported exec credential apiVersion/);
});

test("kube-token: cached per gateway/cluster/member until near expiry; a retry from the same kubectl gets a fresh token", async (t) => {
  const g = await gateway();
  t.after(() => g.close());
  const dir = mkdtempSync(join(tmpdir(), "ward-kt-"));
  const env = { WARD_TOKEN: g.f.memberToken, WARD_GATEWAY: g.url, WARD_CONFIG_DIR: join(dir, "cfg"), WARD_CACHE_DIR: join(dir, "cache"), KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1" }) };
  let now = g.f.clock.t;
  const run = (parentPid: number) => kubeToken({ cluster: "prod", env, parentPid, now: () => now }).then(parse);

  const a = await run(100);
  assert.equal(a.apiVersion, "client.authentication.k8s.io/v1");
  assert.equal(a.kind, "ExecCredential");
  assert.match(a.status.expirationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const ctx = await g.f.svc.verifyToken(a.status.token, "prod");
  assert.equal(ctx.member.id, g.f.member.member.id);

  const b = await run(101);
  assert.equal(b.status.token, a.status.token, "another kubectl reuses the cached token");
  assert.equal((await run(101)).status.token, a.status.token, "a token minted seconds ago is not replaced, even for the same parent");
  now += 6000;
  const c = await run(101);
  assert.notEqual(c.status.token, a.status.token, "the same kubectl asking again means its token was refused");

  const files = readdirSync(join(dir, "cache", "kube-tokens"));
  assert.equal(files.length, 1);
  assert.equal(existsSync(join(dir, "cache", "kube-exec")), false, "a WARD_TOKEN's credentials never go to the fast path's cache");
  assert.equal(statSync(join(dir, "cache", "kube-tokens", files[0]!)).mode & 0o777, 0o600);

  now = Date.parse(c.status.expirationTimestamp) - 30_000; // inside the renewal margin
  const d = await run(102);
  assert.notEqual(d.status.token, c.status.token);

  // another member (another WARD_TOKEN) has its own cache entry
  const e = await kubeToken({ cluster: "prod", env: { ...env, WARD_TOKEN: g.f.adminToken }, parentPid: 103, now: () => now }).catch((err: Error) => err);
  assert.ok(e instanceof Error && /grant/i.test(e.message), `admins need a grant too: ${String(e)}`);
});

test("kube-token: not signed in, bad cluster ids and unreachable gateways are clear errors", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ward-kt-"));
  const env = { WARD_CONFIG_DIR: join(dir, "cfg"), WARD_CACHE_DIR: join(dir, "cache") };
  await assert.rejects(kubeToken({ cluster: "prod", env }), /No gateway: pass --gateway URL/);
  await assert.rejects(kubeToken({ cluster: "prod", gateway: "https://ward.example.com", env }), /Not signed in to https:\/\/ward\.example\.com: run 'ward login --gateway https:\/\/ward\.example\.com'/);
  await assert.rejects(kubeToken({ cluster: "../x", gateway: "https://ward.example.com", env }), /Invalid cluster id/);
  await assert.rejects(kubeToken({ cluster: "prod", env: { ...env, WARD_TOKEN: "wardp_x", WARD_GATEWAY: "http://127.0.0.1:9" } }), /Cannot reach the gateway http:\/\/127\.0\.0\.1:9/);
});
