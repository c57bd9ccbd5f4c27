/**
 * Attack suites on the portal and the device login, end to end: `dist/ward gateway` (with a real
 * OpenID provider) + `dist/ward agent` on the real kube-env, people signed in through headless
 * Chromium, a page of another site (a second origin on loopback) acting in the victim's browser,
 * and raw HTTP/WebSocket with the victim's cookie where a browser would hold back.
 *
 * - CSRF and cross-site WebSocket: the portal's state-changing endpoints refuse another Origin, a
 *   missing or foreign CSRF token, form posts and `text/plain`; the session cookie is HttpOnly,
 *   Secure, SameSite=Lax; the proxy's exec/attach/port-forward take bearer tokens only (a cookie
 *   alone gets 401 and nothing reaches the agent); `/nats` gives a cookie nothing; CORS preflights
 *   never grant another origin credentials.
 * - Device-code guessing and phishing: user-code format and entropy, guessing rate-limited per
 *   member, device codes brute-forced on the token endpoint get `invalid_grant` then 429, a code
 *   sent to a victim shows what and where it came from and needs an explicit click with CSRF (a GET
 *   link or a cross-site form approves nothing), an approved code yields one session only.
 */
import assert from "node:assert/strict";
import { createServer as createHttpServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { request } from "node:https";
import { after, before, describe, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser } from "../helpers/browser.ts";
import { eventually } from "../helpers/eventually.ts";
import { startKubeEnv, type KubeEnv } from "../helpers/kube-env.ts";
import { signInAtIdp, startIdp, type TestIdp } from "../helpers/oidc.ts";
import { rawSocket, upgradeRequest } from "../helpers/raw_ws.ts";
import { startWard, type Ward, type WardMember } from "../helpers/ward.ts";
import { freePort } from "../../scripts/kube-env-procs.ts";

const CLUSTER = "atk-portal";
const EVIL = "https://evil.example";
const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
let kube: KubeEnv;
let w: Ward;
let idp: TestIdp;
let browser: Browser;
let evil: Server;
let evilUrl: string;
let ada: { ctx: BrowserContext; page: Page; cookie: string; csrf: string };
let eve: { ctx: BrowserContext; page: Page; cookie: string; csrf: string };
let dev: WardMember;
let devToken: string;


async function signedIn(login: string) {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  await page.goto(`${w.url}/`);
  await signInAtIdp(page, idp, login);
  await page.waitForURL(`${w.url}/`);
  const cookie = (await ctx.cookies(w.url)).find((c) => c.name === "ward_session");
  assert.ok(cookie, "a session cookie");
  const csrf = (await page.getAttribute('meta[name="csrf-token"]', "content"))!;
  return { ctx, page, cookie: `ward_session=${cookie.value}`, csrf };
}

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One HTTPS request with exactly these headers (no cookie, token or Origin unless given). */
function http(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Res> {
  const u = new URL(w.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method, ca: w.ca, headers: { ...(body !== undefined ? { "content-length": String(Buffer.byteLength(body)) } : {}), ...headers } }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const form = (o: Record<string, string>) => new URLSearchParams(o).toString();
const FORM = { "content-type": "application/x-www-form-urlencoded" };

async function startDevice(name: string): Promise<{ device_code: string; user_code: string; verification_uri_complete: string; expires_in: number; interval: number }> {
  const r = await http("POST", "/api/v1/auth/device", FORM, form({ client_name: name }));
  assert.equal(r.status, 200, r.text);
  return JSON.parse(r.text);
}

async function poll(deviceCode: string): Promise<{ status: number; error?: string; access_token?: string }> {
  const r = await http("POST", "/api/v1/auth/token", FORM, form({ grant_type: DEVICE_GRANT, device_code: deviceCode }));
  const j = JSON.parse(r.text);
  return { status: r.status, ...j };
}

async function grants(): Promise<{ id: string; member_id: string; role: string }[]> {
  return (await w.api(w.adminToken, "GET", `/api/v1/clusters/${CLUSTER}/access/grants`)).json.grants;
}

/** Still usable: no revoke-all (it bumps the generation) happened. */
async function devTokenWorks(): Promise<boolean> {
  return (await w.api(devToken, "GET", `/api/v1/clusters/${CLUSTER}/k8s/api`)).status === 200;
}

before(async () => {
  kube = await startKubeEnv();
  const port = await freePort();
  idp = await startIdp({ redirectUris: [`https://127.0.0.1:${port}/auth/callback`] });
  w = await startWard(kube, {
    cluster: CLUSTER, listen: `127.0.0.1:${port}`,
    gatewayArgs: ["--oidc-issuer", idp.issuer, "--oidc-client-id", idp.clientId, "--oidc-client-secret", idp.clientSecret],
  });
  for (const [email, role] of [["ada@example.com", "admin"], ["eve@example.com", "member"]]) {
    const r = await w.api(w.adminToken, "POST", "/api/v1/members", { email, role, api_token: false });
    assert.equal(r.status, 201, JSON.stringify(r.json));
  }
  dev = await w.member("dev@example.com");
  await w.grant(dev.id, { role: "edit", scope: "namespace", namespace: kube.namespace });
  devToken = (await w.api(dev.token, "POST", `/api/v1/clusters/${CLUSTER}/k8s-token`, {})).json.token;
  // Another site: a blank page on a different origin (scheme, host and port), cross-site to the gateway.
  evil = createHttpServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>evil</title><iframe name=sink></iframe>"));
  await new Promise<void>((r) => evil.listen(0, "127.0.0.1", () => r()));
  evilUrl = `http://localhost:${(evil.address() as AddressInfo).port}/`;
  browser = await launchBrowser();
  ada = await signedIn("ada");
  eve = await signedIn("eve");
}, { timeout: 300_000 });

after(async () => {
  await browser?.close();
  if (evil) await new Promise((r) => evil.close(r));
  await w?.stop();
  await idp?.close();
  await kube?.stop();
});

describe("CSRF and cross-site WebSocket", () => {
  test("the session cookie is HttpOnly, Secure, SameSite=Lax and host-only", async () => {
    const c = (await ada.ctx.cookies(w.url)).find((x) => x.name === "ward_session")!;
    assert.equal(c.httpOnly, true);
    assert.equal(c.secure, true);
    assert.equal(c.sameSite, "Lax");
    assert.equal(c.path, "/");
    assert.equal(c.domain, "127.0.0.1", "host-only (no Domain attribute widening it)");
    assert.equal(await ada.page.evaluate(() => document.cookie.includes("ward_session")), false, "scripts cannot read it");
  });

  test("an admin's session on the portal's write endpoints: another Origin, no or a foreign CSRF token, a form post or text/plain are refused", async () => {
    const before = (await grants()).length;
    const org = `/org/clusters/${CLUSTER}/access`;
    const body = JSON.stringify({ member_email: "eve@example.com", role: "cluster-admin" });
    const json = { "content-type": "application/json" };
    const cases: [string, string, Record<string, string>, string][] = [
      ["no Origin, no CSRF token", `${org}/grants`, { ...json, cookie: ada.cookie }, body],
      ["same Origin, no CSRF token", `${org}/grants`, { ...json, cookie: ada.cookie, origin: w.url }, body],
      ["another Origin with the right token", `${org}/grants`, { ...json, cookie: ada.cookie, origin: EVIL, "x-csrf-token": ada.csrf }, body],
      ["Origin null with the right token", `${org}/grants`, { ...json, cookie: ada.cookie, origin: "null", "x-csrf-token": ada.csrf }, body],
      ["the same host over plain http", `${org}/grants`, { ...json, cookie: ada.cookie, origin: w.url.replace("https:", "http:"), "x-csrf-token": ada.csrf }, body],
      ["another session's token", `${org}/grants`, { ...json, cookie: ada.cookie, origin: w.url, "x-csrf-token": eve.csrf }, body],
      ["a form post with the token as a field", `${org}/grants`, { ...FORM, cookie: ada.cookie, origin: EVIL }, form({ _csrf: ada.csrf, member_email: "eve@example.com", role: "cluster-admin" })],
      ["a form post from no Origin with the token as a field", `${org}/grants`, { ...FORM, cookie: ada.cookie }, form({ _csrf: ada.csrf, member_email: "eve@example.com", role: "cluster-admin" })],
      ["text/plain (a simple request) from another Origin", `${org}/revoke-all`, { "content-type": "text/plain", cookie: ada.cookie, origin: EVIL }, "{}"],
      ["text/plain from no Origin", `${org}/revoke-all`, { "content-type": "text/plain", cookie: ada.cookie }, "{}"],
      ["kubeconfig minted cross-site", "/org/kubeconfig", { ...json, cookie: ada.cookie, origin: EVIL }, JSON.stringify({ clusters: [CLUSTER] })],
    ];
    for (const [what, path, headers, b] of cases) {
      const r = await http("POST", path, headers, b);
      assert.equal(r.status, 403, `${what}: ${r.status} ${r.text}`);
    }
    // DELETE, and the live event stream (an EventSource from another site would hold it open).
    const g = (await grants())[0]!;
    assert.equal((await http("DELETE", `${org}/grants/${g.id}`, { cookie: ada.cookie, origin: EVIL, "x-csrf-token": ada.csrf })).status, 403);
    assert.equal((await http("GET", `${org}/events`, { cookie: ada.cookie, origin: EVIL })).status, 403);
    assert.equal((await grants()).length, before, "a grant was created or deleted");
    assert.ok(await devTokenWorks(), "revoke-all happened");
    // Sign-out needs the token too (a cross-site logout is refused and the session lives).
    assert.notEqual((await http("POST", "/logout", { ...FORM, cookie: ada.cookie }, "")).status, 200);
    assert.equal((await http("POST", "/logout", { ...FORM, cookie: ada.cookie, origin: EVIL }, form({ _csrf: ada.csrf }))).status, 403);
    assert.equal((await http("GET", "/org/capabilities", { cookie: ada.cookie })).status, 200, "the session still works");
    // The pages with the buttons cannot be framed by another site (clickjacking the revoke-all).
    for (const path of ["/", `/clusters/${CLUSTER}/access`, "/device"]) {
      const page = await http("GET", path, { cookie: ada.cookie });
      assert.equal(page.status, 200, path);
      assert.match(String(page.headers["content-security-policy"]), /frame-ancestors 'none'/, path);
    }
    // The control: the same request as the portal sends it works.
    const ok = await http("GET", `${org}/grants`, { cookie: ada.cookie });
    assert.equal(ok.status, 200);
  });

  test("another site in the victim's browser: forms, no-cors and credentialed fetches, and WebSockets change nothing", async () => {
    const page = await ada.ctx.newPage();
    const total = await w.agentMetric("ward_agent_streams_total");
    const before = (await grants()).length;
    const d = await startDevice("evil laptop");
    try {
      await page.goto(evilUrl);
      const gw = w.url;
      const execPath = `/api/v1/clusters/${CLUSTER}/k8s/api/v1/namespaces/${kube.namespace}/pods/${kube.pod}/exec?command=sh&stdin=true&stdout=true&container=${kube.container}`;
      const out = await page.evaluate(async ({ gw, cluster, userCode, execPath }) => {
        const res: Record<string, string> = {};
        const post = (action: string, fields: Record<string, string>, enctype = "application/x-www-form-urlencoded") => {
          const f = document.createElement("form");
          f.method = "post";
          f.action = gw + action;
          f.enctype = enctype;
          f.target = "sink";
          for (const [k, v] of Object.entries(fields)) {
            const i = document.createElement("input");
            i.name = k;
            i.value = v;
            f.appendChild(i);
          }
          document.body.appendChild(f);
          // Done when the gateway's answer loaded in the frame (a cross-origin frame still fires load).
          const sink = document.querySelector("iframe[name=sink]")!;
          const loaded = new Promise<string>((r) => { sink.addEventListener("load", () => r("answered"), { once: true }); setTimeout(() => r("no answer"), 5000); });
          f.submit();
          return loaded;
        };
        res.forms = [
          await post(`/org/clusters/${cluster}/access/revoke-all`, { '{"x":"': '"}' }, "text/plain"),
          await post(`/org/clusters/${cluster}/access/grants`, { member_email: "eve@example.com", role: "cluster-admin" }),
          await post("/device", { user_code: userCode, action: "approve" }),
        ].join(",");
        const f = (url: string, init: RequestInit) => fetch(gw + url, { credentials: "include", ...init }).then((r) => `${r.type}:${r.status}`, (e: Error) => `error:${e.name}`);
        res.noCors = await f(`/org/clusters/${cluster}/access/revoke-all`, { method: "POST", mode: "no-cors", headers: { "Content-Type": "text/plain" }, body: "{}" });
        res.preflighted = await f(`/org/clusters/${cluster}/access/grants`, { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": "guess" }, body: JSON.stringify({ member_email: "eve@example.com", role: "cluster-admin" }) });
        res.read = await f(`/org/clusters/${cluster}/access/grants`, { method: "GET" });
        const ws = (url: string, first?: string) => new Promise<string>((resolve) => {
          const s = new WebSocket(url);
          let got = "";
          s.binaryType = "arraybuffer";
          s.onopen = () => { got += "open;"; if (first) s.send(new TextEncoder().encode(first)); };
          s.onmessage = (e) => { got += typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data); };
          s.onerror = () => { got += "error;"; };
          s.onclose = () => resolve(got + "closed");
          setTimeout(() => { s.close(); resolve(got + "timeout"); }, 3000);
        });
        res.exec = await ws(gw.replace("https:", "wss:") + execPath);
        res.nats = await ws(gw.replace("https:", "wss:") + "/nats", 'CONNECT {"verbose":false}\r\nPING\r\n');
        return res;
      }, { gw, cluster: CLUSTER, userCode: d.user_code, execPath });
      assert.equal(out.forms, "answered,answered,answered", "the cross-site forms reached the gateway");
      // The browser never hands another site a readable answer from the gateway.
      assert.equal(out.noCors, "opaque:0", JSON.stringify(out));
      assert.equal(out.preflighted, "error:TypeError", JSON.stringify(out));
      assert.equal(out.read, "error:TypeError", JSON.stringify(out));
      assert.match(out.exec!, /^error;closed$/, JSON.stringify(out));
      // /nats answers anyone (agents are not browsers), but a cookie authenticates nothing there.
      assert.match(out.nats!, /^open;INFO \{[^]*-ERR 'Authorization Violation'[^]*closed$/, JSON.stringify(out));
      assert.doesNotMatch(out.nats!, /PONG/);
    } finally {
      await page.close();
    }
    assert.equal(await w.agentMetric("ward_agent_streams_total"), total, "a cross-site WebSocket reached the agent");
    assert.equal((await grants()).length, before, "a grant was created");
    assert.ok(await devTokenWorks(), "revoke-all happened");
    assert.equal((await poll(d.device_code)).error, "authorization_pending", "the cross-site form approved the device");
  });

  test("the proxy's exec, attach and port-forward take bearer tokens, not cookies: a cookie alone gets 401 and nothing reaches the agent", async () => {
    const total = await w.agentMetric("ward_agent_streams_total");
    const base = `/api/v1/clusters/${CLUSTER}/k8s/api/v1/namespaces/${kube.namespace}/pods/${kube.pod}`;
    for (const path of [`${base}/exec?command=sh&stdin=true&stdout=true&container=${kube.container}`, `${base}/attach?stdin=true&stdout=true&container=${kube.container}`, `${base}/portforward?ports=${kube.podPort}`]) {
      const protos: Record<string, string | null>[] = [{ Upgrade: "websocket", "Sec-WebSocket-Protocol": "v5.channel.k8s.io" }, { Upgrade: "SPDY/3.1", "X-Stream-Protocol-Version": "v4.channel.k8s.io", "Sec-WebSocket-Key": null, "Sec-WebSocket-Version": null }];
      for (const proto of protos) {
        const s = await rawSocket({ port: Number(new URL(w.url).port), ca: w.ca });
        s.write(upgradeRequest(path, { Host: new URL(w.url).host, Cookie: ada.cookie, Origin: EVIL, ...proto }));
        const text = await s.waitFor(/\r\n\r\n/);
        s.socket.destroy();
        assert.match(text, /^HTTP\/1\.1 401 /, `${path} ${proto.Upgrade}: ${text.slice(0, 200)}`);
      }
    }
    // Same with a cookie and the bearer scheme's parts spelled as a cookie.
    const r = await w.api("", "GET", `/api/v1/clusters/${CLUSTER}/k8s/api`, undefined, ["Cookie", `${ada.cookie}; Authorization=Bearer ${devToken}`]);
    assert.equal(r.status, 401);
    assert.equal(await w.agentMetric("ward_agent_streams_total"), total, "an unauthenticated upgrade reached the agent");
  });

  test("CORS: preflights and cross-origin reads never grant another origin, and never with credentials", async () => {
    const paths = ["/org/capabilities", `/org/clusters/${CLUSTER}/access/grants`, "/api/v1/me", `/api/v1/clusters/${CLUSTER}/k8s/api`, "/api/v1/auth/token", "/device", "/nats"];
    for (const path of paths) {
      const pre = await http("OPTIONS", path, { origin: EVIL, "access-control-request-method": "POST", "access-control-request-headers": "authorization, x-csrf-token, content-type", cookie: ada.cookie });
      const get = await http("GET", path, { origin: EVIL, cookie: ada.cookie, authorization: `Bearer ${devToken}` });
      for (const [what, r] of [["preflight", pre], ["GET", get]] as const) {
        const acao = r.headers["access-control-allow-origin"];
        assert.ok(acao === undefined || (acao !== EVIL && acao !== "*"), `${what} ${path}: Access-Control-Allow-Origin ${acao}`);
        assert.equal(r.headers["access-control-allow-credentials"], undefined, `${what} ${path}`);
      }
    }
  });
});

describe("device-code guessing and phishing", () => {
  test("user codes: 8 consonants without look-alikes, all different; device codes long and random", async () => {
    const codes = await Promise.all([1, 2, 3, 4].map((i) => startDevice(`entropy ${i}`)));
    const users = new Set(codes.map((c) => c.user_code));
    assert.equal(users.size, codes.length);
    for (const c of codes) {
      assert.match(c.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
      assert.match(c.device_code, /^wardd_[A-Za-z0-9_-]{40,}$/, "a device code carries at least 240 bits");
      assert.ok(c.expires_in <= 900, `expires in ${c.expires_in} s`);
      assert.ok(c.interval >= 5);
      assert.ok(!c.verification_uri_complete.includes(c.device_code), "the link a person may forward never holds the device code");
    }
  });

  test("phishing: the link approves nothing by itself; the page names the device, where and when; a forged or cross-site approve fails; denying ends it", async () => {
    // The attacker starts a login and sends the victim (ada) the link, naming the device after her.
    const d = await startDevice("Ada's laptop <img src=x onerror=alert(1)>");
    const page = await ada.ctx.newPage();
    try {
      const res = await page.goto(d.verification_uri_complete);
      assert.equal(res?.status(), 200);
      const text = (await page.textContent("main"))!;
      assert.match(text, /Ada's laptop <img src=x onerror=alert\(1\)>/, "the name is shown as text");
      assert.equal(await page.locator("main img").count(), 0, "markup in the device name is not rendered");
      assert.match(text, /asks to sign in to Ward as ada@example\.com/);
      assert.match(text, /Requested from 127\.0\.0\.1 at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
      assert.match(text, new RegExp(d.user_code));
      assert.match(text, /Only approve a sign-in you started yourself/);
      assert.equal(await page.locator("form[method=post] button#approve").count(), 1, "approval is an explicit button in a POST form");
      // Opening the link (a GET, also with ?action=approve tacked on) approved nothing.
      await page.goto(`${d.verification_uri_complete}&action=approve&_csrf=x`);
      assert.equal((await poll(d.device_code)).error, "authorization_pending");
      // The page cannot be framed by the attacker's site.
      assert.equal(res?.headers()["x-frame-options"], "DENY");
      assert.match(res?.headers()["content-security-policy"] ?? "", /frame-ancestors 'none'/);
      // A forged approve: no token, another session's token, another Origin.
      for (const [headers, fields] of [
        [{ cookie: ada.cookie }, { user_code: d.user_code, action: "approve" }],
        [{ cookie: ada.cookie }, { _csrf: eve.csrf, user_code: d.user_code, action: "approve" }],
        [{ cookie: ada.cookie, origin: EVIL }, { _csrf: ada.csrf, user_code: d.user_code, action: "approve" }],
        [{ cookie: eve.cookie }, { _csrf: ada.csrf, user_code: d.user_code, action: "approve" }],
      ] as const) {
        const r = await http("POST", "/device", { ...FORM, ...headers }, form(fields));
        assert.ok(r.status === 400 || r.status === 403, `${JSON.stringify(Object.keys(headers))}: ${r.status} ${r.text.slice(0, 200)}`);
        assert.doesNotMatch(r.text, /Device approved/);
      }
      assert.equal((await poll(d.device_code)).error, "slow_down", "still pending (polled too soon again)");
      // The victim denies: the attacker's CLI hears so, and the code is dead for approval.
      await page.click("#deny");
      await page.locator("#result").waitFor();
      assert.match((await page.textContent("#result"))!, /denied/);
      await eventually("the attacker told access_denied", async () => (await poll(d.device_code)).error === "access_denied", { timeoutMs: 15_000, intervalMs: 1000 });
      const again = await http("POST", "/device", { ...FORM, cookie: ada.cookie, origin: w.url }, form({ _csrf: ada.csrf, user_code: d.user_code, action: "approve" }));
      assert.equal(again.status, 404);
    } finally {
      await page.close();
    }
  });

  test("an approved code yields one session: polled again it is invalid_grant, approved again it is not found", async () => {
    const d = await startDevice("eve's terminal");
    const page = await eve.ctx.newPage();
    try {
      await page.goto(d.verification_uri_complete);
      await page.click("#approve");
      await page.locator("#result").waitFor();
      assert.match((await page.textContent("#result"))!, /Device approved/);
    } finally {
      await page.close();
    }
    const first = await poll(d.device_code);
    assert.equal(first.status, 200, JSON.stringify(first));
    assert.ok(first.access_token);
    const me = await w.api(first.access_token!, "GET", "/api/v1/me");
    assert.equal(me.json.member.email, "eve@example.com", "the session is the approver's (never someone else's)");
    const second = await poll(d.device_code);
    assert.equal(second.error, "invalid_grant");
    const reapprove = await http("POST", "/device", { ...FORM, cookie: ada.cookie, origin: w.url }, form({ _csrf: ada.csrf, user_code: d.user_code, action: "approve" }));
    assert.equal(reapprove.status, 404);
    assert.equal((await poll(d.device_code)).error, "invalid_grant");
  });

  test("guessing user codes in the portal is rate-limited per member: the real code is not shown once the limit is hit", async () => {
    const target = await startDevice("victim's terminal");
    const guess = async (code: string) => (await http("GET", `/device?user_code=${encodeURIComponent(code)}`, { cookie: eve.cookie })).status;
    const statuses: number[] = [];
    // Ten guesses a member (eve approved a code above: two of them are used already).
    for (let i = 0; i < 11; i++) statuses.push(await guess(`BCDF-${"GHJKLMNPQRST"[i]}XZB`));
    const first = statuses.indexOf(429);
    assert.ok(first >= 1 && first <= 10, `limited after ${first} guesses: ${statuses.join(",")}`);
    assert.deepEqual(statuses, [...Array(first).fill(404), ...Array(statuses.length - first).fill(429)], "unknown codes say not found, then the member is told to wait");
    const hit = await http("GET", `/device?user_code=${target.user_code}`, { cookie: eve.cookie });
    assert.equal(hit.status, 429, "a right guess after the limit shows nothing");
    assert.doesNotMatch(hit.text, /victim/);
    // A POST guess counts too, and approves nothing.
    const page = await eve.page.goto(`${w.url}/`);
    assert.equal(page?.status(), 200);
    const approve = await http("POST", "/device", { ...FORM, cookie: eve.cookie, origin: w.url }, form({ _csrf: eve.csrf, user_code: target.user_code, action: "approve" }));
    assert.equal(approve.status, 429);
    assert.equal((await poll(target.device_code)).error, "authorization_pending");
  });

  test("brute-forcing device codes on the token endpoint: invalid_grant for every guess, then 429 for the address", async () => {
    const results: string[] = [];
    for (let i = 0; i < 40 && !results.includes("rate_limited"); i++) {
      const r = await poll(`wardd_${Buffer.from(String(Math.random())).toString("base64url")}${"A".repeat(30)}`);
      results.push(r.error ?? `ok ${r.status}`);
    }
    assert.ok(results.includes("rate_limited"), `never rate-limited: ${results.join(",")}`);
    assert.ok(results.indexOf("rate_limited") <= 31, `only after ${results.indexOf("rate_limited")} guesses`);
    assert.deepEqual([...new Set(results.slice(0, results.indexOf("rate_limited")))], ["invalid_grant"]);
    const limited = await http("POST", "/api/v1/auth/token", FORM, form({ grant_type: DEVICE_GRANT, device_code: "wardd_x" }));
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers["retry-after"]) >= 1, "Retry-After says when");
  });
});
