/**
 * `ward cluster access …`, `ward cluster tokens …`, `ward robot …` and `ward member …` as the real
 * CLI against an in-process gateway: table and JSON output, admin-only refusals, revocation.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { call } from "../../internal/client/http.ts";
import { startGateway, type Gateway } from "../../internal/gateway/index.ts";
import { silentLogger } from "../../internal/log/index.ts";
import { run } from "../helpers/process.ts";

const WARD = join(import.meta.dirname, "..", "..", "cmd", "ward.ts");
const dir = mkdtempSync(join(tmpdir(), "ward-cli-access-"));
let gw: Gateway;
let base: Record<string, string>;
let adminToken: string;

function ward(args: string[], token: string) {
  return run(process.execPath, [WARD, ...args], { env: { ...process.env, ...base, WARD_TOKEN: token } });
}

before(async () => {
  gw = await startGateway({ host: "127.0.0.1", port: 0, dataDir: join(dir, "gw"), shutdownTimeoutMs: 1000, logger: silentLogger });
  adminToken = readFileSync(join(dir, "gw", "admin-token"), "utf8").trim();
  await call({ url: gw.url, caPem: readFileSync(gw.caFile!, "utf8") }, "/api/v1/clusters", { token: adminToken, json: { id: "prod", name: "Prod" } });
  base = { WARD_GATEWAY: gw.url, WARD_GATEWAY_CA: gw.caFile!, WARD_CONFIG_DIR: join(dir, "cfg"), WARD_CACHE_DIR: join(dir, "cache") };
});

after(() => gw?.close());

test("members and robots: invite, list, robot tokens shown once, listed, revoked", async () => {
  let r = await ward(["member", "invite", "alice@example.com"], adminToken);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Invited alice@example\.com .* as member/);
  assert.equal(r.stdout, "", "no secret printed for a person");
  r = await ward(["robot", "create", "deployer", "--expires", "7d"], adminToken);
  assert.equal(r.code, 0, r.stderr);
  const robotToken = r.stdout.trim();
  assert.match(robotToken, /^wardp_[A-Za-z0-9_-]{43}$/, "only the token on stdout");
  r = await ward(["robot", "list"], adminToken);
  assert.match(r.stdout, /^NAME\s+MEMBER\s+STATUS\s+CREATED$/m);
  assert.match(r.stdout, /^deployer\s+m[0-9a-f]+\s+active\s+\S+ ago$/m);
  r = await ward(["robot", "token", "create", "deployer", "--name", "ci", "--expires", "1h"], adminToken);
  const second = r.stdout.trim();
  assert.match(second, /^wardp_/);
  r = await ward(["robot", "token", "list", "deployer", "-o", "json"], adminToken);
  const tokens = JSON.parse(r.stdout).tokens as { id: string; name: string; expires_at: string }[];
  assert.deepEqual(tokens.map((t) => t.name).sort(), ["ci", "initial"]);
  assert.ok(!r.stdout.includes(second.slice(6)), "secrets are never listed");
  const ci = tokens.find((t) => t.name === "ci")!;
  assert.ok(Math.abs(Date.parse(ci.expires_at) - Date.now() - 3600_000) < 60_000);
  r = await ward(["member", "list", "-o", "json"], second);
  assert.equal(r.code, 1, "a robot is not an admin");
  assert.match(r.stderr, /admin/i);
  r = await ward(["robot", "token", "revoke", "deployer", ci.id], adminToken);
  assert.equal(r.code, 0, r.stderr);
  r = await ward(["cluster", "list"], second);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Invalid API token/);
  r = await ward(["cluster", "list"], robotToken);
  assert.equal(r.code, 0, r.stderr);
  r = await ward(["member", "disable", "alice@example.com"], adminToken);
  assert.equal(r.code, 0, r.stderr);
  r = await ward(["member", "list"], adminToken);
  assert.match(r.stdout, /alice@example\.com\s+member\s+person\s+disabled/);
  assert.match(r.stdout, /deployer@robot\.ward\s+member\s+robot\s+active/);
});

test("access grant/list/revoke/revoke-all and tokens list/revoke; members cannot manage", async () => {
  await ward(["robot", "create", "reader"], adminToken).then((r) => assert.equal(r.code, 0, r.stderr));
  const readerToken = (await ward(["robot", "token", "create", "reader"], adminToken)).stdout.trim();
  let r = await ward(["cluster", "access", "grant", "--cluster", "prod", "--member", "reader@robot.ward", "--role", "view", "--namespace", "shop", "--expires", "8h"], adminToken);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Granted view on namespace shop of prod to reader@robot\.ward \(g[0-9a-f]+, cluster_offline, expires /);
  r = await ward(["cluster", "access", "list", "--cluster", "prod"], adminToken);
  assert.match(r.stdout, /^GRANT\s+MEMBER\s+ROLE\s+SCOPE\s+STATUS\s+EXPIRES$/m);
  assert.match(r.stdout, /reader@robot\.ward\s+view\s+namespace\/shop\s+cluster_offline\s+in (8h|480m|479m)/);
  const grants = JSON.parse((await ward(["cluster", "access", "list", "--cluster", "prod", "-o", "json"], adminToken)).stdout).grants;
  assert.equal(grants[0].member_email, "reader@robot.ward");

  r = await ward(["cluster", "access", "grant", "--cluster", "prod", "--member", "reader@robot.ward", "--role", "admin"], readerToken);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /admin/i, "only admins manage access");
  for (const [args, msg] of [
    [["--member", "x@y.z"], /--role is required/],
    [["--role", "view"], /--member EMAIL/],
    [["--member", "reader@robot.ward", "--role", "view", "--expires", "soon"], /Invalid --expires "soon"/],
  ] as const) {
    const bad = await ward(["cluster", "access", "grant", "--cluster", "prod", ...args], adminToken);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, msg);
  }
  r = await ward(["cluster", "access", "grant", "--cluster", "prod", "--member", "reader@robot.ward", "--role", "owner"], adminToken);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /role/);

  // the reader mints a token (kube-token); it is listed, then revoked
  r = await ward(["cluster", "kube-token", "--cluster", "prod"], readerToken);
  assert.equal(r.code, 0, r.stderr);
  r = await ward(["cluster", "tokens", "list", "--cluster", "prod", "-o", "json"], readerToken);
  const issued = JSON.parse(r.stdout).tokens as { id: string; kind: string }[];
  assert.equal(issued.length, 1);
  r = await ward(["cluster", "tokens", "list", "--cluster", "prod"], adminToken);
  assert.match(r.stdout, new RegExp(`^${issued[0]!.id}\\s+m[0-9a-f]+\\s+k8s-token\\s+\\S+ ago\\s+in \\S+\\s+live$`, "m"), "admins see everyone's");
  r = await ward(["cluster", "tokens", "revoke", "--cluster", "prod", issued[0]!.id], readerToken);
  assert.equal(r.code, 0, r.stderr);
  r = await ward(["cluster", "tokens", "list", "--cluster", "prod"], readerToken);
  assert.match(r.stderr, /No live credentials on prod/);
  r = await ward(["cluster", "tokens", "list", "--cluster", "prod", "--all"], readerToken);
  assert.match(r.stdout, /revoked/);

  r = await ward(["cluster", "access", "revoke-all", "--cluster", "prod"], adminToken);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /add --yes to confirm/);
  r = await ward(["cluster", "access", "revoke-all", "--cluster", "prod", "--member", "reader@robot.ward", "--yes"], adminToken);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Revoked \d+ issued credential/);
  r = await ward(["cluster", "access", "revoke", "--cluster", "prod", grants[0].id], adminToken);
  assert.equal(r.code, 0, r.stderr);
  r = await ward(["cluster", "access", "list", "--cluster", "prod"], adminToken);
  assert.match(r.stderr, /No grants on prod/);
});
