/**
 * The portal's pages in-process (`app.request()`, no socket): the Origin check, rate limits on
 * device codes, and that text other people chose is shown without invisible characters.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { fixture } from "../../test/helpers/access_fixture.ts";
import type { Member } from "../access/index.ts";
import { AuthError, Bootstrap, CliSessions, DeviceFlow, PortalSessions, type OidcIdentity, type OidcLogin } from "../auth/index.ts";
import { silentLogger } from "../log/index.ts";
import { portalRoutes, sameOrigin } from "./portal_routes.ts";

const PUBLIC = "https://ward.example";
/** Bidi overrides and isolates, zero-width characters, the BOM, a C1 control: none may reach a page. */
const INVISIBLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;

/** A stand-in identity provider: the callback yields `result` (or throws it). */
function fakeOidc(result: OidcIdentity | Error): OidcLogin {
  return {
    begin: async () => ({ url: "https://idp.example/auth", flowCookie: "flow" }),
    finish: async () => {
      if (result instanceof Error) throw result;
      return { identity: result, returnTo: "/" };
    },
  } as unknown as OidcLogin;
}

async function portal(t: TestContext, opts: { oidc?: OidcLogin; publicUrl?: string } = {}) {
  const f = await fixture();
  t.after(() => f.close());
  const now = () => f.clock.t;
  const db = f.store.db;
  const device = new DeviceFlow({ db, access: f.svc, sessions: new CliSessions({ db, access: f.svc, now }), now, verificationUri: () => `${PUBLIC}/device` });
  const sessions = new PortalSessions({ db, access: f.svc, now });
  const app = portalRoutes({
    access: f.svc, sessions, device, bootstrap: new Bootstrap({ db, access: f.svc, now }), oidc: opts.oidc, allowedDomains: [],
    publicUrl: () => opts.publicUrl ?? PUBLIC, logger: silentLogger, now,
  });
  /** A browser signed in as `member`: its cookie and the session's CSRF token. */
  const signIn = async (member: Member) => {
    const cookie = await sessions.create(member, "test");
    return { cookie: `ward_session=${cookie}`, csrf: (await sessions.get(cookie))!.csrfToken };
  };
  /** A request as a browser at `address` sends it: Host and Origin of this gateway unless overridden. */
  const request = (path: string, init: { method?: string; headers?: Record<string, string>; form?: Record<string, string>; address?: string; url?: string } = {}) => {
    const url = new URL(path, init.url ?? PUBLIC);
    const headers: Record<string, string> = { host: url.host, ...(init.form ? { "content-type": "application/x-www-form-urlencoded" } : {}), ...init.headers };
    const env = { incoming: { socket: { remoteAddress: init.address ?? "198.51.100.7" } } };
    return app.request(url.href, { method: init.method ?? (init.form ? "POST" : "GET"), headers, ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}) }, env);
  };
  return { f, device, signIn, request };
}

test("sameOrigin: the whole origin (scheme, host, port) of the public URL or of the URL the request came in on", () => {
  const cases: [origin: string, publicUrl: string, requestUrl: string, same: boolean][] = [
    ["https://ward.example", "https://ward.example", "https://ward.example/logout", true],
    ["https://ward.example:443", "https://ward.example", "https://ward.example/logout", true],
    ["HTTPS://WARD.example", "https://ward.example", "https://ward.example/logout", true],
    ["http://ward.example", "https://ward.example", "https://ward.example/logout", false],
    ["http://ward.example", "https://ward.example", "http://ward.example/logout", false], // TLS ends at a proxy in front
    ["http://ward.example:443", "https://ward.example", "https://ward.example/logout", false],
    ["https://ward.example:8443", "https://ward.example", "https://ward.example/logout", false],
    ["https://evil.example", "https://ward.example", "https://ward.example/logout", false],
    ["https://ward.example.evil.example", "https://ward.example", "https://ward.example/logout", false],
    ["https://10.0.0.5:8443", "https://ward.example", "https://10.0.0.5:8443/logout", true], // reached by address
    ["http://10.0.0.5:8443", "https://ward.example", "https://10.0.0.5:8443/logout", false],
    ["http://127.0.0.1:8080", "http://127.0.0.1:8080", "http://127.0.0.1:8080/logout", true], // --plain-http
    ["http://localhost:8080", "http://127.0.0.1:8080", "http://localhost:8080/logout", true],
    ["not a url", "https://ward.example", "https://ward.example/logout", false],
  ];
  for (const [origin, publicUrl, requestUrl, same] of cases) assert.equal(sameOrigin(origin, publicUrl, requestUrl), same, `${origin} vs ${publicUrl} / ${requestUrl}`);
});

test("portal: on an https gateway a post from http:// on the same host is refused; the gateway's own origin passes", async (t) => {
  const { f, signIn, request } = await portal(t);
  const b = await signIn(f.member.member);
  const post = (origin: string) => request("/logout", { form: { _csrf: b.csrf }, headers: { cookie: b.cookie, origin } });
  const refused = await post("http://ward.example");
  assert.equal(refused.status, 403);
  assert.match(await refused.text(), /Cross-site request refused/);
  const ok = await post("https://ward.example");
  assert.equal(ok.status, 200);
  assert.match(await ok.text(), /Signed out/);
});

test("portal: approving or denying device codes is rate-limited per member and per address", async (t) => {
  const { f, device, signIn, request } = await portal(t);
  const dev = await signIn(f.member.member);
  const guess = (b: { cookie: string; csrf: string }, address: string, action = "approve") =>
    request("/device", { form: { _csrf: b.csrf, user_code: "BCDF-GHJK", action }, headers: { cookie: b.cookie }, address });
  for (let i = 0; i < 10; i++) assert.equal((await guess(dev, "198.51.100.7", i % 2 ? "deny" : "approve")).status, 404, `guess ${i + 1}`);
  const limited = await guess(dev, "203.0.113.50");
  assert.equal(limited.status, 429, "the member's budget is spent, whatever the address");
  assert.ok(Number(limited.headers.get("retry-after")) >= 1);
  assert.match(await limited.text(), /Too many codes tried: wait \d+ s/);
  // Looking codes up on the page draws from the same budget.
  assert.equal((await request("/device?user_code=BCDF-GHJK", { headers: { cookie: dev.cookie } })).status, 429);
  f.clock.t += 6_000;
  const real = await device.start("laptop");
  assert.equal((await request("/device", { form: { _csrf: dev.csrf, user_code: real.user_code, action: "approve" }, headers: { cookie: dev.cookie } })).status, 200, "one try back after 6 s");

  // One address, many members: 30 tries, then the address is refused for everyone.
  const others = await Promise.all(["a", "b", "c"].map(async (n) => signIn((await f.svc.createMember(f.admin, { email: `${n}@example.com`, role: "member" })).member)));
  for (const b of others) for (let i = 0; i < 10; i++) assert.equal((await guess(b, "192.0.2.1")).status, 404);
  assert.equal((await guess(await signIn(f.admin.member), "192.0.2.1")).status, 429, "the address's budget is spent");
  assert.equal((await guess(await signIn(f.admin.member), "192.0.2.2")).status, 404, "another address still tries");
});

test("portal: the approval page says where and when the sign-in was requested, and shows the device name without invisible characters", async (t) => {
  const { f, device, signIn, request } = await portal(t);
  const b = await signIn(f.member.member);
  const started = await device.start("work laptop", { clientAddress: "::ffff:203.0.113.9" });
  f.clock.t += 30_000;
  // A row written before names were cleaned at start still shows cleaned.
  await f.store.db.updateTable("device_codes").set({ client_name: "\u202Eevil\u200B\u2066 laptop\u0085" }).where("user_code", "=", started.user_code).execute();
  const res = await request(`/device?user_code=${started.user_code}`, { headers: { cookie: b.cookie } });
  assert.equal(res.status, 200);
  const page = await res.text();
  assert.match(page, /<strong>evil laptop<\/strong> asks to sign in to Ward as <strong>dev@example\.com<\/strong>/);
  assert.match(page, /Requested from <strong>203\.0\.113\.9<\/strong> at 2030-01-01 00:00:00 UTC\./);
  assert.match(page, /expires in about 10 min/, "expiry counted on the injected clock");
  assert.doesNotMatch(page, INVISIBLE);

  const unknownAddress = await device.start("old client");
  const page2 = await (await request(`/device?user_code=${unknownAddress.user_code}`, { headers: { cookie: b.cookie } })).text();
  assert.match(page2, /Requested from <strong>an unrecorded address<\/strong>/);
});

test("portal: the no-membership page shows the provider's email cleaned and says an unverified address is why", async (t) => {
  const { request } = await portal(t, { oidc: fakeOidc({ sub: "mallory", email: "root@example.com\u202E\u200B", emailVerified: false }) });
  const res = await request("/auth/callback?code=x&state=y", { headers: { cookie: "ward_login=flow" } });
  assert.equal(res.status, 403);
  const page = await res.text();
  assert.match(page, /You signed in as <strong>root@example\.com<\/strong>, but the identity provider has not verified this address\./);
  assert.doesNotMatch(page, INVISIBLE);
});

test("portal: an error page shows the provider's words without invisible characters", async (t) => {
  const { request } = await portal(t, { oidc: fakeOidc(new AuthError("login_failed", "The identity provider refused the sign-in: access_denied (\u202Etoor sa ni dengis\u2069 \u200Bcall +1 555)")) });
  const res = await request("/auth/callback?error=access_denied", { headers: { cookie: "ward_login=flow" } });
  assert.equal(res.status, 400);
  const page = await res.text();
  assert.match(page, /The identity provider refused the sign-in: access_denied \(toor sa ni dengis call \+1 555\)/);
  assert.doesNotMatch(page, INVISIBLE);
});
