/**
 * Sign-in against a real OpenID Connect provider (oidc-provider on loopback) in real headless
 * Chromium: portal login with code + PKCE, tampered and injected callbacks refused, a person with
 * no membership turned away, an email the provider does not vouch for binding nothing, and device
 * login for the real CLI approved, denied and expired through the portal.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startGateway, type Gateway } from "../../internal/gateway/index.ts";
import { silentLogger } from "../../internal/log/index.ts";
import { launchBrowser } from "../helpers/browser.ts";
import { signInAtIdp as idpSignIn, startIdp, type TestIdp } from "../helpers/oidc.ts";
import { start } from "../helpers/process.ts";

const WARD = join(import.meta.dirname, "..", "..", "cmd", "ward.ts");

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

let idp: TestIdp;
let gw: Gateway;
let browser: Browser;
let adminToken: string;
const dir = mkdtempSync(join(tmpdir(), "ward-portal-"));

/**
 * An `email_verified` the provider leaves out entirely. The helper always sends one; a function
 * value is what JSON drops, so the provider's UserInfo answer carries no such claim at all.
 */
const OMITTED = (() => undefined) as unknown as boolean;
/** Some providers send the claim as a string: it is not the boolean `true`. */
const STRING_TRUE = "true" as unknown as boolean;
/** IdP logins whose email the provider does not vouch for, each matching something it must not get. */
const UNVERIFIED = {
  ghost: { email: "ghost@example.com", verified: OMITTED }, // an invited member, not yet bound
  mallory: { email: "admin@ward.local", verified: OMITTED }, // the bootstrap admin's address
  sly: { email: "sly@partner.example", verified: OMITTED }, // an allowed domain
  quoted: { email: "quoted@example.com", verified: STRING_TRUE }, // an invited member, not yet bound
};

before(async () => {
  const port = await freePort();
  idp = await startIdp({ redirectUris: [`https://127.0.0.1:${port}/auth/callback`], emails: { pat: { email: "pat@partner.example" }, eve: { email: "root@ward.test", verified: false }, ...UNVERIFIED } });
  gw = await startGateway({
    host: "127.0.0.1", port, dataDir: dir, shutdownTimeoutMs: 2000, logger: silentLogger,
    oidc: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret },
    allowedEmailDomains: ["partner.example"],
    deviceIntervalSeconds: 1,
  });
  adminToken = readFileSync(join(dir, "admin-token"), "utf8").trim();
  for (const email of ["dev@example.com", "ghost@example.com", "quoted@example.com"]) {
    const r = await fetchJson("POST", "/api/v1/members", { email, role: "member", api_token: false });
    assert.equal(r.status, 201, JSON.stringify(r.json));
  }
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await gw?.close();
  await idp?.close();
});

/** The admin API over HTTPS with the gateway's development CA (node:https via the CLI's client). */
async function fetchJson(method: string, path: string, json?: unknown) {
  const { call, ClientError } = await import("../../internal/client/http.ts");
  try {
    return { status: 200 + (method === "POST" ? 1 : 0), json: await call<Record<string, unknown>>({ url: gw.url, caPem: readFileSync(gw.caFile!, "utf8") }, path, { method, token: adminToken, json }) };
  } catch (e) {
    if (e instanceof ClientError) return { status: e.status, json: { error: e.message } };
    throw e;
  }
}

async function newContext(): Promise<BrowserContext> {
  return browser.newContext({ ignoreHTTPSErrors: true });
}

const signInAtIdp = (page: Page, login: string) => idpSignIn(page, idp, login);

/**
 * Starts a portal login and captures (without following) the provider's redirect to the callback.
 * Playwright does not route redirect targets, so this uses Chromium's Fetch domain directly.
 */
async function captureCallback(ctx: BrowserContext, login: string): Promise<string> {
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  let captured: string | undefined;
  cdp.on("Fetch.requestPaused", (ev: { requestId: string; request: { url: string } }) => {
    captured = ev.request.url;
    void cdp.send("Fetch.fulfillRequest", { requestId: ev.requestId, responseCode: 200, responseHeaders: [{ name: "content-type", value: "text/plain" }], body: Buffer.from("captured").toString("base64") });
  });
  await cdp.send("Fetch.enable", { patterns: [{ urlPattern: `${gw.url}/auth/callback*`, requestStage: "Request" }] });
  await page.goto(`${gw.url}/login`);
  await signInAtIdp(page, login);
  await page.waitForFunction(() => document.body.textContent === "captured", undefined, { timeout: 15_000 });
  await cdp.detach();
  await page.close();
  assert.ok(captured, "the provider redirected to the callback");
  return captured;
}

test("portal login: authorization code + PKCE with a real provider; an HttpOnly, Secure, SameSite=Lax session", async () => {
  const ctx = await newContext();
  try {
    const page = await ctx.newPage();
    let authorizeUrl: URL | undefined;
    page.on("request", (r) => {
      if (r.url().startsWith(`${idp.issuer}/auth?`)) authorizeUrl = new URL(r.url());
    });
    await page.goto(`${gw.url}/`);
    await signInAtIdp(page, "dev");
    await page.waitForURL(`${gw.url}/`, { timeout: 15_000 });
    assert.match(await page.textContent("header .who") ?? "", /dev@example\.com · member/, "the page header names who is signed in");
    assert.ok(authorizeUrl);
    assert.equal(authorizeUrl.searchParams.get("code_challenge_method"), "S256");
    assert.ok((authorizeUrl.searchParams.get("state") ?? "").length >= 32);
    assert.ok((authorizeUrl.searchParams.get("nonce") ?? "").length >= 32);
    const cookie = (await ctx.cookies(gw.url)).find((c) => c.name === "ward_session");
    assert.ok(cookie, "session cookie set");
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.secure, true);
    assert.equal(cookie.sameSite, "Lax");
    // the member is now bound to the provider's subject
    const members = (await fetchJson("GET", "/api/v1/members")).json["members"] as { email: string; oidc_subject: string | null }[];
    assert.equal(members.find((m) => m.email === "dev@example.com")?.oidc_subject, "dev");

    // logout needs the CSRF token: a forged post without it is refused, the page's own form works
    const forged = await page.request.post(`${gw.url}/logout`, { form: { _csrf: "forged" }, maxRedirects: 0 });
    assert.equal(forged.status(), 400);
    assert.match(await forged.text(), /CSRF check failed/);
    const csrf = await page.getAttribute('input[name="_csrf"]', "value");
    const foreign = await page.request.post(`${gw.url}/logout`, { form: { _csrf: csrf! }, headers: { origin: "https://evil.example" }, maxRedirects: 0 });
    assert.equal(foreign.status(), 403, "a cross-site post is refused even with the right token");
    await page.click('button[type="submit"]');
    assert.match(await page.textContent("h1") ?? "", /Signed out/);
    const home = await page.request.get(`${gw.url}/`, { maxRedirects: 0 });
    assert.equal(home.status(), 302, "signed out: the portal asks for a login again");
    assert.equal(home.headers()["location"], "/login?return_to=%2F");
  } finally {
    await ctx.close();
  }
});

test("a tampered state is refused and burns the login; a code injected into another login is refused", async () => {
  const ctxA = await newContext();
  const ctxB = await newContext();
  try {
    const cbA = new URL(await captureCallback(ctxA, "dev"));
    const tampered = new URL(cbA);
    const state = cbA.searchParams.get("state") ?? "";
    // One character changed (never to itself: a state starting with "x" once made this test pass a genuine callback).
    tampered.searchParams.set("state", (state.startsWith("x") ? "y" : "x") + state.slice(1));
    const pageA = await ctxA.newPage();
    let res = await pageA.goto(tampered.href);
    assert.equal(res?.status(), 400);
    assert.match(await pageA.textContent("main") ?? "", /Sign-in failed.*state/is);
    res = await pageA.goto(cbA.href); // the genuine callback after the tampered one: single-use flow is gone
    assert.equal(res?.status(), 400);
    assert.match(await pageA.textContent("main") ?? "", /unknown or was already used|not started in this browser/);
    assert.equal((await ctxA.cookies(gw.url)).some((c) => c.name === "ward_session"), false);

    // B's login gets A's code (with B's own state): the code was bound to A's PKCE verifier and nonce
    const cbA2 = new URL(await captureCallback(ctxA, "dev"));
    const cbB = new URL(await captureCallback(ctxB, "dev"));
    const injected = new URL(cbB);
    injected.searchParams.set("code", cbA2.searchParams.get("code")!);
    const pageB = await ctxB.newPage();
    res = await pageB.goto(injected.href);
    assert.equal(res?.status(), 400);
    assert.match(await pageB.textContent("main") ?? "", /Sign-in failed/);
    assert.equal((await ctxB.cookies(gw.url)).some((c) => c.name === "ward_session"), false);
  } finally {
    await ctxA.close();
    await ctxB.close();
  }
});

test("a person with no membership gets a clear page; an allowed email domain joins at first sign-in", async () => {
  const ctx = await newContext();
  try {
    const page = await ctx.newPage();
    const res = page.waitForResponse((r) => r.url().startsWith(`${gw.url}/auth/callback`));
    await page.goto(`${gw.url}/login`);
    await signInAtIdp(page, "stranger");
    assert.equal((await res).status(), 403);
    assert.match(await page.textContent("main") ?? "", /not a member.*stranger@example\.com.*Ask a Ward admin to invite you/s);
    assert.equal((await ctx.cookies(gw.url)).some((c) => c.name === "ward_session"), false);
  } finally {
    await ctx.close();
  }
  const ctx2 = await newContext();
  try {
    const page = await signedInPage(ctx2, "pat");
    assert.match(await page.textContent("header .who") ?? "", /pat@partner\.example · member/, "the page header names who is signed in");
  } finally {
    await ctx2.close();
  }
});

test("an email the provider does not say is verified binds no invitation (not even the admin's) and joins no allowed domain", async () => {
  for (const [login, { email }] of Object.entries(UNVERIFIED)) {
    const ctx = await newContext();
    try {
      const page = await ctx.newPage();
      const res = page.waitForResponse((r) => r.url().startsWith(`${gw.url}/auth/callback`));
      await page.goto(`${gw.url}/login`);
      await signInAtIdp(page, login);
      assert.equal((await res).status(), 403, login);
      const text = await page.textContent("main") ?? "";
      assert.match(text, new RegExp(`not a member.*${email.replace(/\./g, "\\.")}, but the identity provider has not verified this address`, "s"), login);
      assert.equal((await ctx.cookies(gw.url)).some((c) => c.name === "ward_session"), false, login);
    } finally {
      await ctx.close();
    }
  }
  const members = (await fetchJson("GET", "/api/v1/members")).json["members"] as { email: string; oidc_subject: string | null }[];
  for (const email of ["ghost@example.com", "quoted@example.com", "admin@ward.local"]) {
    assert.equal(members.find((m) => m.email === email)?.oidc_subject, null, `${email} stays unbound`);
  }
  assert.equal(members.some((m) => m.email === "sly@partner.example"), false, "no member from the allowed domain");
});

/** Runs the real CLI's `ward login` against the gateway; returns the child and the URL it printed. */
async function cliLogin(configDir: string) {
  const p = start(process.execPath, [WARD, "login", "--gateway", gw.url, "--certificate-authority", gw.caFile!, "--device-name", "test laptop"], {
    env: { ...process.env, WARD_CONFIG_DIR: configDir, WARD_CACHE_DIR: join(configDir, "cache"), WARD_TOKEN: "" },
  });
  const [, url] = await p.waitFor(/\n\s+(https:\/\/\S+\/device\?user_code=\S+)\n/);
  const exit = new Promise<number | null>((r) => (p.child.exitCode !== null ? r(p.child.exitCode) : p.child.once("exit", (c) => r(c))));
  return { p, url: url!, exit };
}

async function signedInPage(ctx: BrowserContext, login: string): Promise<Page> {
  const page = await ctx.newPage();
  await page.goto(`${gw.url}/login`);
  await signInAtIdp(page, login);
  await page.waitForURL(`${gw.url}/`, { timeout: 15_000 });
  return page;
}

test("device login: the real CLI's code is approved in the portal after SSO; the session is saved 0600", async () => {
  const cfg = mkdtempSync(join(tmpdir(), "ward-cli-"));
  const { p, url, exit } = await cliLogin(cfg);
  const ctx = await newContext();
  try {
    const page = await ctx.newPage();
    await page.goto(url); // not signed in yet: the portal sends the person through SSO and back
    await signInAtIdp(page, "dev");
    await page.waitForURL((u) => u.pathname === "/device", { timeout: 15_000 });
    const text = await page.textContent("main") ?? "";
    assert.match(text, /test laptop/, "the approval page names the device");
    assert.match(text, /as dev@example\.com/);
    assert.match(text, /Requested from 127\.0\.0\.1 at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/, "the page says where and when the sign-in was requested");
    assert.equal(await page.textContent("#user-code"), new URL(url).searchParams.get("user_code"));
    await page.click("#approve");
    assert.equal(await page.textContent("#result"), "Device approved");
    assert.equal(await exit, 0, p.output());
    assert.match(p.output(), /Signed in to https:\/\/127\.0\.0\.1:\d+ as dev@example\.com/);
    const file = join(cfg, "credentials.json");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const saved = JSON.parse(readFileSync(file, "utf8"));
    assert.equal(saved.current, gw.url);
    assert.equal(saved.gateways[gw.url].member.email, "dev@example.com");
    // the saved session works for the next command
    const list = start(process.execPath, [WARD, "cluster", "list", "-o", "json"], { env: { ...process.env, WARD_CONFIG_DIR: cfg, WARD_CACHE_DIR: join(cfg, "cache"), WARD_TOKEN: "" } });
    assert.equal(await list.stop("SIGCONT" as NodeJS.Signals, 20_000).then(() => list.child.exitCode), 0, list.output());
    assert.deepEqual(JSON.parse(list.output()), { clusters: [] });
    // an approved code cannot be shown or approved again
    const again = await page.goto(url);
    assert.equal(again?.status(), 404);
  } finally {
    await ctx.close();
    await p.stop();
  }
});

test("device login: denied in the portal, the CLI says so and saves nothing", async () => {
  const cfg = mkdtempSync(join(tmpdir(), "ward-cli-"));
  const { p, url, exit } = await cliLogin(cfg);
  const ctx = await newContext();
  try {
    const page = await signedInPage(ctx, "dev");
    await page.goto(url);
    await page.click("#deny");
    assert.equal(await page.textContent("#result"), "Sign-in denied");
    assert.equal(await exit, 1);
    assert.match(p.output(), /The sign-in was denied in the portal/);
    assert.throws(() => statSync(join(cfg, "credentials.json")));
  } finally {
    await ctx.close();
    await p.stop();
  }
});

test("device login: polling too fast gets slow_down; unknown codes are refused on the page", async () => {
  const { call, ClientError } = await import("../../internal/client/http.ts");
  const target = { url: gw.url, caPem: readFileSync(gw.caFile!, "utf8") };
  const d = await call<{ device_code: string; user_code: string }>(target, "/api/v1/auth/device", { form: { client_name: "poller" } });
  const poll = () => call(target, "/api/v1/auth/token", { form: { grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: d.device_code } }).then(() => "ok", (e: unknown) => (e instanceof ClientError ? e.code : String(e)));
  assert.equal(await poll(), "authorization_pending");
  assert.equal(await poll(), "slow_down");
  const ctx = await newContext();
  try {
    const page = await signedInPage(ctx, "dev");
    const res = await page.goto(`${gw.url}/device?user_code=BCDF-GHJK`);
    assert.equal(res?.status(), 404);
    assert.match(await page.textContent("main") ?? "", /Code not found/);
  } finally {
    await ctx.close();
  }
});

test("device login: a code not approved in time expires; the CLI says so and the page no longer knows it (bootstrap sign-in)", async () => {
  const short = await startGateway({
    host: "127.0.0.1", port: 0, dataDir: mkdtempSync(join(tmpdir(), "ward-portal-short-")), shutdownTimeoutMs: 2000, logger: silentLogger,
    deviceCodeTtlSeconds: 3, deviceIntervalSeconds: 1,
  });
  const ctx = await newContext();
  try {
    assert.match(short.bootstrapCode ?? "", /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/, "a first start without SSO prints a one-time code");
    const cfg = mkdtempSync(join(tmpdir(), "ward-cli-"));
    const p = start(process.execPath, [WARD, "login", "--gateway", short.url, "--certificate-authority", short.caFile!], {
      env: { ...process.env, WARD_CONFIG_DIR: cfg, WARD_CACHE_DIR: join(cfg, "cache"), WARD_TOKEN: "" },
    });
    const [, url] = await p.waitFor(/\n\s+(https:\/\/\S+\/device\?user_code=\S+)\n/);
    assert.equal(await p.stop("SIGCONT" as NodeJS.Signals, 30_000), 1, p.output());
    assert.match(p.output(), /The code expired before it was confirmed: run 'ward login' again/);

    // sign in with the bootstrap code in the browser, then try the expired code
    const page = await ctx.newPage();
    await page.goto(`${short.url}/login`);
    await page.click("text=Sign in with the one-time bootstrap code");
    await page.fill('input[name="code"]', short.bootstrapCode!);
    await page.click('button[type="submit"]');
    await page.waitForURL(`${short.url}/`);
    assert.match(await page.textContent("header .who") ?? "", /admin@ward\.local · admin/, "the page header names who is signed in");
    const res = await page.goto(url!);
    assert.equal(res?.status(), 404);
    assert.match(await page.textContent("main") ?? "", /already used or expired|wrong, already used or expired/);
    // the bootstrap code worked once
    const again = await page.request.post(`${short.url}/bootstrap`, { form: { code: short.bootstrapCode! }, maxRedirects: 0 });
    assert.equal(again.status(), 400);
  } finally {
    await ctx.close();
    await short.close();
  }
});
