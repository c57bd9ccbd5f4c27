import assert from "node:assert/strict";
import { test } from "node:test";
import { fixture, type Fixture } from "../../test/helpers/access_fixture.ts";
import { AccessError } from "../access/index.ts";
import { Bootstrap, CliSessions, DeviceFlow, PortalSessions, csrfMatches, normalizeUserCode } from "./index.ts";
import { AuthError } from "./errors.ts";
import { newUserCode } from "./user_code.ts";

function flows(f: Fixture) {
  const now = () => f.clock.t;
  const sessions = new CliSessions({ db: f.store.db, access: f.svc, now, accessTtlSeconds: 600 });
  const device = new DeviceFlow({ db: f.store.db, access: f.svc, sessions, now, verificationUri: () => "https://ward.test/device" });
  return { sessions, device };
}

const code = (c: string) => (e: unknown) => e instanceof AuthError && e.reason === c;

test("user codes: 8 consonants in two groups; typed input normalised; junk rejected", () => {
  for (let i = 0; i < 200; i++) assert.match(newUserCode(), /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  assert.equal(normalizeUserCode("bcdf ghjk"), "BCDF-GHJK");
  assert.equal(normalizeUserCode("BCDF-GHJK"), "BCDF-GHJK");
  for (const bad of ["", "BCDF-GHJ", "ABCD-EFGH", "BCDF-GHJK-L", "BCDF_GHJK", "'; drop"]) assert.equal(normalizeUserCode(bad), null, bad);
});

test("device login: pending, slow_down raises the interval, approval yields one session, then the code is spent", async (t) => {
  const f = await fixture();
  t.after(() => f.close());
  const { device, sessions } = flows(f);
  const a = await device.start("laptop\u0007 of dev");
  assert.equal(a.verification_uri, "https://ward.test/device");
  assert.equal(a.verification_uri_complete, `https://ward.test/device?user_code=${a.user_code}`);
  assert.equal(a.interval, 5);
  await assert.rejects(device.poll(a.device_code), code("authorization_pending"));
  f.clock.t += 1000;
  await assert.rejects(device.poll(a.device_code), code("slow_down"));
  f.clock.t += 6000; // the interval is now 10 s
  await assert.rejects(device.poll(a.device_code), code("slow_down"));
  f.clock.t += 16_000;
  await assert.rejects(device.poll(a.device_code), code("authorization_pending"));

  const pending = await device.lookup(a.user_code.toLowerCase().replace("-", " "));
  assert.equal(pending?.client_name, "laptop of dev", "control characters are stripped from the device name");
  assert.equal(pending?.client_address, null, "no address given, none recorded");
  assert.equal(pending?.created_at, "2030-01-01T00:00:00.000Z");
  assert.equal(await device.decide(a.user_code, f.member.member.id, true), true);
  assert.equal(await device.decide(a.user_code, f.admin.member.id, true), false, "a decided code cannot be decided again");
  assert.equal(await device.lookup(a.user_code), null);

  f.clock.t += 16_000;
  const tokens = await device.poll(a.device_code);
  assert.equal(tokens.member.email, "dev@example.com");
  assert.ok(tokens.refresh_token?.startsWith("wardr_"));
  await assert.rejects(device.poll(a.device_code), code("invalid_grant"), "single use");
  const auth = await f.svc.authenticateApiToken(tokens.access_token);
  assert.equal(auth.member.id, f.member.member.id);

  // refresh gives a new access token; logout revokes the session and its access tokens
  const r = await sessions.refresh(tokens.refresh_token!);
  assert.notEqual(r.access_token, tokens.access_token);
  await f.svc.authenticateApiToken(r.access_token);
  assert.equal(await sessions.revoke(tokens.refresh_token!), true);
  await assert.rejects(f.svc.authenticateApiToken(r.access_token), (e: unknown) => e instanceof AccessError && e.reason === "Unauthorized");
  await assert.rejects(sessions.refresh(tokens.refresh_token!), code("invalid_grant"));
});

test("device login: denied, expired, unknown codes; a disabled member gets nothing", async (t) => {
  const f = await fixture();
  t.after(() => f.close());
  const { device } = flows(f);
  const denied = await device.start("x");
  assert.equal(await device.decide(denied.user_code, f.member.member.id, false), true);
  await assert.rejects(device.poll(denied.device_code), code("access_denied"));

  const late = await device.start("y");
  f.clock.t += 601_000;
  assert.equal(await device.lookup(late.user_code), null);
  assert.equal(await device.decide(late.user_code, f.member.member.id, true), false);
  await assert.rejects(device.poll(late.device_code), code("expired_token"));
  await assert.rejects(device.poll("wardd_nope"), code("invalid_grant"));
  await assert.rejects(device.poll(undefined), code("invalid_request"));

  const d = await device.start("z");
  await device.decide(d.user_code, f.member.member.id, true);
  await f.svc.updateMember(f.admin, f.member.member.id, { status: "disabled" });
  f.clock.t += 6000;
  await assert.rejects(device.poll(d.device_code), code("access_denied"));
});

test("CLI access tokens expire; a refresh needs a live session and an active member", async (t) => {
  const f = await fixture();
  t.after(() => f.close());
  const { sessions } = flows(f);
  const s = await sessions.create(f.member.member, "ci box");
  f.clock.t += 601_000;
  await assert.rejects(f.svc.authenticateApiToken(s.access_token), /Session expired: run 'ward login'/);
  const r = await sessions.refresh(s.refresh_token!);
  await f.svc.authenticateApiToken(r.access_token);
  await f.svc.updateMember(f.admin, f.member.member.id, { status: "disabled" });
  await assert.rejects(sessions.refresh(s.refresh_token!), code("invalid_grant"));
  f.clock.t += 31 * 86400_000;
  await f.svc.updateMember(f.admin, f.member.member.id, { status: "active" });
  await assert.rejects(sessions.refresh(s.refresh_token!), /expired/);
});

test("bootstrap code: works once, for the named admin, and not after expiry or disable", async (t) => {
  const f = await fixture();
  t.after(() => f.close());
  const now = () => f.clock.t;
  const b = new Bootstrap({ db: f.store.db, access: f.svc, now, ttlSeconds: 3600 });
  assert.equal(await b.active(), false);
  const c = await b.issue("root@example.com");
  assert.match(c, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/);
  assert.equal(await b.active(), true);
  assert.equal(await b.redeem("WRONG-CODE"), null);
  const m = await b.redeem(c.toLowerCase().replaceAll("-", " "));
  assert.equal(m?.email, "root@example.com");
  assert.equal(m?.role, "admin");
  assert.equal(await b.redeem(c), null, "single use");
  assert.equal(await b.active(), false);

  const c2 = await b.issue("new-admin@example.com");
  f.clock.t += 3601_000;
  assert.equal(await b.redeem(c2), null, "expired");
  const c3 = await b.issue("new-admin@example.com");
  await b.disable();
  assert.equal(await b.redeem(c3), null, "disabled");
  const c4 = await b.issue("new-admin@example.com");
  const created = await b.redeem(c4);
  assert.equal(created?.role, "admin", "a new email becomes an admin member");
});

test("portal sessions: cookie → member, CSRF compare, expiry, destroy, disabled member", async (t) => {
  const f = await fixture();
  t.after(() => f.close());
  const ps = new PortalSessions({ db: f.store.db, access: f.svc, now: () => f.clock.t, ttlSeconds: 60 });
  const cookie = await ps.create(f.member.member, "test-agent");
  const s = await ps.get(cookie);
  assert.equal(s?.member.id, f.member.member.id);
  assert.equal(csrfMatches(s!, s!.csrfToken), true);
  assert.equal(csrfMatches(s!, s!.csrfToken + "x"), false);
  assert.equal(csrfMatches(s!, undefined), false);
  assert.equal(await ps.get("nope"), null);
  assert.equal(await ps.get(undefined), null);
  await f.svc.updateMember(f.admin, f.member.member.id, { status: "disabled" });
  assert.equal(await ps.get(cookie), null);
  await f.svc.updateMember(f.admin, f.member.member.id, { status: "active" });
  f.clock.t += 61_000;
  assert.equal(await ps.get(cookie), null, "expired");
  const c2 = await ps.create(f.member.member, "x");
  await ps.destroy(c2);
  assert.equal(await ps.get(c2), null);
});

test("SSO sign-in maps to members by sub; invitations bind by verified email; allowed domains join", async (t) => {
  const f = await fixture();
  t.after(() => f.close());
  // invited (dev@example.com, no subject yet): bound at first sign-in, then found by sub
  const m = await f.svc.memberForLogin({ sub: "sub-dev", email: "Dev@Example.com", emailVerified: true });
  assert.equal(m?.id, f.member.member.id);
  assert.equal((await f.svc.memberForLogin({ sub: "sub-dev", email: "changed@elsewhere.org" }))?.id, f.member.member.id, "sub is the key, email is display");
  assert.equal(await f.svc.memberForLogin({ sub: "other", email: "dev@example.com", emailVerified: true }), null, "an email already bound to another subject does not take over");
  assert.equal(await f.svc.memberForLogin({ sub: "s2", email: "root@example.com", emailVerified: false }), null, "unverified email never binds");
  assert.equal(await f.svc.memberForLogin({ sub: "s3", email: "new@corp.example", emailVerified: true }), null, "no invitation, no allowed domain");
  const joined = await f.svc.memberForLogin({ sub: "s3", email: "new@corp.example", emailVerified: true }, ["corp.example"]);
  assert.equal(joined?.email, "new@corp.example");
  assert.equal(joined?.role, "member");
  assert.equal((await f.svc.memberForLogin({ sub: "s3" }))?.id, joined?.id);
});

test("SSO sign-in: an email the provider did not say is verified neither binds an invitation nor joins an allowed domain", async (t) => {
  const f = await fixture();
  t.after(() => f.close());
  // root@example.com is the bootstrap admin, dev@example.com an invited member: both not yet bound to a subject
  for (const email of ["root@example.com", "dev@example.com"]) {
    assert.equal(await f.svc.memberForLogin({ sub: "mallory", email }), null, `${email}: a missing email_verified is not a yes`);
  }
  assert.equal(await f.svc.memberForLogin({ sub: "mallory", email: "mallory@corp.example" }, ["corp.example"]), null, "no domain join without verification");
  assert.equal((await f.svc.memberForLogin({ sub: "dev-sub", email: "dev@example.com", emailVerified: true }))?.id, f.member.member.id, "the real person still binds");
});

test("device login: the name is stored cleaned of bidi and invisible characters, with the requesting address", async (t) => {
  const f = await fixture();
  t.after(() => f.close());
  const { device } = flows(f);
  const a = await device.start("\u202Eevil\u200B laptop\n\u2066", { clientAddress: "203.0.113.9" });
  const pending = await device.lookup(a.user_code);
  assert.deepEqual(pending && { name: pending.client_name, address: pending.client_address }, { name: "evil laptop", address: "203.0.113.9" });
  assert.equal((await device.lookup((await device.start("x".repeat(500))).user_code))?.client_name, "x".repeat(100), "capped");
  assert.equal((await device.lookup((await device.start("\u200B\u202E")).user_code))?.client_name, "unnamed device", "nothing visible left");
  await device.decide(a.user_code, f.member.member.id, true);
  const tokens = await device.poll(a.device_code);
  const listed = await f.store.db.selectFrom("cli_sessions").select("device_name").where("id", "=", tokens.session_id).executeTakeFirstOrThrow();
  assert.equal(listed.device_name, "evil laptop", "the CLI session carries the cleaned name");
});

test("admin-issued API tokens: named, expiring, listed without secrets, revocable", async (t) => {
  const f = await fixture();
  t.after(() => f.close());
  const robot = await f.svc.createMember(f.admin, { email: "ci@robot.ward", robot: true, expires_in_seconds: 3600 });
  await f.svc.authenticateApiToken(robot.apiToken);
  const extra = await f.svc.createApiToken(f.admin, robot.member.id, { name: "deploy", expires_in_seconds: 120 });
  assert.equal(extra.token.name, "deploy");
  const listed = await f.svc.listApiTokens(f.admin, robot.member.id);
  assert.deepEqual(listed.map((x) => x.name).sort(), ["deploy", "initial"]);
  assert.ok(listed.every((x) => !("token_hash" in x)));
  await assert.rejects(f.svc.createApiToken(f.member, robot.member.id, {}), (e: unknown) => e instanceof AccessError && e.reason === "Forbidden");
  await assert.rejects(f.svc.createApiToken(f.admin, robot.member.id, { expires_in_seconds: 10 }), /between 60/);
  f.clock.t += 121_000;
  await assert.rejects(f.svc.authenticateApiToken(extra.secret), /API token expired/);
  await f.svc.revokeApiToken(f.admin, robot.member.id, listed.find((x) => x.name === "initial")!.id);
  await assert.rejects(f.svc.authenticateApiToken(robot.apiToken), /Invalid API token/);
});
