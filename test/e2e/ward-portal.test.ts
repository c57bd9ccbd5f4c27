/**
 * The portal in a real browser, end to end: headless Chromium (Debian's, through playwright-core)
 * against `dist/ward gateway` + a real `ward agent` on the real kube-env, people signed in through
 * the real `oidc-provider`, kubectl using what the pages hand out.
 *
 * An admin grants with the keyboard alone and watches pending → applied without reloading; the
 * member downloads kubeconfigs from the Clusters page and the Access view (kubectl works with each,
 * the namespace default is set, the expiry shown is the token's); the admin's grant delete,
 * revoke-all (behind its confirmation) and a per-token revoke end kubectl and open watches; a
 * member never sees or reaches management; CSRF and cross-origin writes are refused; the feature
 * switched off says so. Every page is checked with axe-core (no serious or critical violation) and
 * saved as a screenshot under `test-results/`.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { parse } from "yaml";
import { launchBrowser } from "../helpers/browser.ts";
import { eventually } from "../helpers/eventually.ts";
import { startKubeEnv, type KubeEnv } from "../helpers/kube-env.ts";
import { kubectl, kubectlOk, kubectlStream, type KubectlStream } from "../helpers/kubectl.ts";
import { signInAtIdp, startIdp, type TestIdp } from "../helpers/oidc.ts";
import { startWard, TEST_AGENT_FLAGS, type Ward, type WardMember } from "../helpers/ward.ts";
import { freePort } from "../../scripts/kube-env-procs.ts";

const CLUSTER = "portal";
const root = new URL("../..", import.meta.url).pathname;
const RESULTS = join(root, "test-results");
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let kube: KubeEnv;
let w: Ward;
let idp: TestIdp;
let browser: Browser;
let dev: WardMember;
let admin: { ctx: BrowserContext; page: Page };
let member: { ctx: BrowserContext; page: Page };
const streams: KubectlStream[] = [];


/** A browser signed in through the provider as `login`, on the Clusters page. */
async function signedIn(login: string): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true });
  await ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: w.url });
  const page = await ctx.newPage();
  await page.goto(`${w.url}/`);
  await signInAtIdp(page, idp, login);
  await page.waitForURL(`${w.url}/`);
  return { ctx, page };
}

/** axe-core in the page (kept under the page's own CSP): no serious or critical violation; and a screenshot. */
async function audit(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(RESULTS, `portal-${name}.png`), fullPage: true });
  await page.evaluate(AXE_SOURCE);
  const { violations, passed } = await page.evaluate(async () => {
    type Rule = { id: string; impact: string; help: string; nodes: { target: string[] }[] };
    const axe = (window as unknown as { axe: { run(ctx: Document, o: object): Promise<{ violations: Rule[]; passes: Rule[] }> } }).axe;
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return {
      violations: r.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
      passed: r.passes.map((p) => p.id),
    };
  });
  assert.deepEqual(violations, [], `axe-core on ${name}`);
  // The check really ran: the rules a page like this must meet were evaluated and passed.
  for (const rule of ["color-contrast", "html-has-lang", "document-title", "landmark-one-main"]) assert.ok(passed.includes(rule), `axe-core on ${name}: rule ${rule} was not evaluated`);
}

const accessUrl = () => `${w.url}/clusters/${CLUSTER}/access`;
const target = (kubeconfig: string) => ({ kubectl: kube.kubectl.newest, kubeconfig });

/** The token's `exp` and id, and what the file says around it. */
function kubeconfigFacts(file: string) {
  const text = readFileSync(file, "utf8");
  const cfg = parse(text);
  const token: string = cfg.users[0].user.token;
  const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
  return { text, exp: claims.exp as number, jti: claims.jti as string, namespace: cfg.contexts[0].context.namespace as string | undefined, comment: /^# expires (\S+) ward-/m.exec(text)?.[1] };
}

/** Clicks something that asks for confirmation and answers the page's dialog. */
async function confirmDialog(page: Page, click: () => Promise<void>, answer: "ok" | "cancel", expect: RegExp): Promise<void> {
  await click();
  const dialog = page.locator("dialog#confirm");
  await dialog.waitFor({ state: "visible" });
  assert.match((await page.textContent("#confirm-text")) ?? "", expect);
  await page.click(answer === "ok" ? "#confirm-ok" : "#confirm-cancel");
  await dialog.waitFor({ state: "hidden" });
}

async function ends(s: KubectlStream, what: string): Promise<void> {
  await Promise.race([s.exited, new Promise((_, rej) => setTimeout(() => rej(new Error(`${what}: still running after 15 s`)), 15_000))]);
}

async function refused(file: string): Promise<void> {
  await eventually("kubectl refused", async () => {
    const r = await kubectl(target(file), ["get", "pods"]);
    return r.code !== 0 && /Unauthorized|forbidden|must be logged in/i.test(r.stderr);
  }, { timeoutMs: 10_000, intervalMs: 200 });
}

before(async () => {
  mkdirSync(RESULTS, { recursive: true });
  kube = await startKubeEnv();
  const port = await freePort();
  idp = await startIdp({ redirectUris: [`https://127.0.0.1:${port}/auth/callback`] });
  w = await startWard(kube, {
    cluster: CLUSTER, clusterName: "Portal E2E", listen: `127.0.0.1:${port}`,
    gatewayArgs: ["--oidc-issuer", idp.issuer, "--oidc-client-id", idp.clientId, "--oidc-client-secret", idp.clientSecret],
    // Presence every second (the default): a paused agent stays online for the pending check.
    agentFlags: TEST_AGENT_FLAGS.filter((f, i, all) => f !== "--hello-interval" && all[i - 1] !== "--hello-interval"),
  });
  const ada = await w.api(w.adminToken, "POST", "/api/v1/members", { email: "ada@example.com", role: "admin", api_token: false });
  assert.equal(ada.status, 201, JSON.stringify(ada.json));
  dev = await w.member("dev@example.com");
  browser = await launchBrowser();
  admin = await signedIn("ada");
  member = await signedIn("dev");
}, { timeout: 300_000 });

after(async () => {
  await Promise.all(streams.map((s) => s.stop()));
  await browser?.close();
  await w?.stop();
  await idp?.close();
  await kube?.stop();
});

test("an admin grants a namespace with the keyboard alone and sees pending → applied without reloading", async () => {
  const { page } = admin;
  await page.goto(`${w.url}/`);
  await audit(page, "clusters-admin");
  await page.goto(accessUrl());
  await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
  await audit(page, "access-admin-empty");

  // From the top of the page, Tab reaches the grant form in order.
  const focused = () => page.evaluate(() => document.activeElement?.id ?? "");
  for (let i = 0; i < 40 && (await focused()) !== "grant-member"; i++) await page.keyboard.press("Tab");
  assert.equal(await focused(), "grant-member", "the member field is reachable with Tab");
  await page.keyboard.type(dev.email);
  await page.keyboard.press("Tab");
  assert.equal(await focused(), "grant-role");
  await page.keyboard.press("ArrowDown"); // view → edit
  await page.keyboard.press("Tab"); // the scope group: "One namespace" is checked
  assert.equal(await page.evaluate(() => (document.activeElement as HTMLInputElement).value), "namespace");
  await page.keyboard.press("Tab");
  assert.equal(await focused(), "grant-namespace");

  // The form checks the server's rule: a bad name is not sent.
  let posts = 0;
  page.on("request", (r) => r.method() === "POST" && r.url().endsWith("/access/grants") && posts++);
  await page.keyboard.type("Team_A");
  await page.keyboard.press("Enter");
  assert.equal(await page.$eval("#grant-namespace", (el) => (el as HTMLInputElement).validity.patternMismatch), true);
  assert.equal(posts, 0, "an invalid namespace never leaves the browser");
  // …and the server checks it too.
  const direct = await page.evaluate(async (url) => {
    const org = (window as unknown as { wardOrg: { send(m: string, u: string, b: unknown): Promise<unknown> } }).wardOrg;
    return org.send("POST", url, { member_email: "dev@example.com", role: "view", scope: "namespace", namespace: "Team_A" }).then(() => "accepted", (e: Error) => e.message);
  }, `/org/clusters/${CLUSTER}/access/grants`);
  assert.match(direct, /namespace/i);

  await page.keyboard.press("Control+A");
  await page.keyboard.type(kube.namespace);
  // The agent is paused: the grant stays pending until it runs again.
  w.agent.child.kill("SIGSTOP");
  try {
    await page.keyboard.press("Enter");
    const row = page.locator("#grants-table tr", { hasText: dev.email });
    await row.locator(".badge.s-pending").waitFor({ timeout: 15_000 });
    assert.match((await row.textContent()) ?? "", new RegExp(`edit[\\s\\S]*namespace ${kube.namespace}`));
    await audit(page, "access-admin-pending");
  } finally {
    w.agent.child.kill("SIGCONT");
  }
  await page.locator("#grants-table tr", { hasText: dev.email }).locator(".badge.s-applied").waitFor({ timeout: 30_000 });
  assert.equal(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed), true, "the page was not reloaded");
  assert.equal(await page.textContent("#grant-form [data-result]"), "Grant created: the agent applies it now.");
  await audit(page, "access-admin");
});

test("the member downloads kubeconfigs from the Clusters page and the Access view; kubectl works with each; the expiry shown is the token's", async () => {
  const { page } = member;
  await page.goto(`${w.url}/`);
  await audit(page, "clusters-member");
  await page.selectOption("#download-lifetime", "3600");
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#download button[type=submit]")]);
  assert.equal(dl.suggestedFilename(), "ward-kubeconfig.yaml");
  const homeFile = join(w.dir, "portal-home.kubeconfig");
  await dl.saveAs(homeFile);
  const home = kubeconfigFacts(homeFile);
  const shown = await page.getAttribute("#download [data-expiry] time", "datetime");
  assert.equal(Date.parse(shown!) / 1000, home.exp, "the page shows the token's expiry");
  assert.equal(home.comment, shown, "…and so does the file");
  assert.ok(Math.abs(home.exp - Date.now() / 1000 - 3600) < 120, "the lifetime picked");
  assert.equal(home.namespace, kube.namespace, "the namespace grant's namespace is the default");
  assert.match(await kubectlOk(target(homeFile), ["get", "pods"]), new RegExp(kube.pod));

  await page.goto(accessUrl());
  await audit(page, "access-member");
  assert.match((await page.textContent("#cli-commands")) ?? "", new RegExp(`ward cluster kubeconfig add --cluster ${CLUSTER} --use --namespace ${kube.namespace}`));
  await page.click("#kubeconfig-form button[type=submit]");
  const time = page.locator("#kubeconfig-form [data-expiry] time");
  await time.waitFor();
  const [dl2] = await Promise.all([page.waitForEvent("download"), page.click("#kubeconfig-form [data-download]")]);
  const viewFile = join(w.dir, "portal-view.kubeconfig");
  await dl2.saveAs(viewFile);
  const view = kubeconfigFacts(viewFile);
  assert.equal(Date.parse((await time.getAttribute("datetime"))!) / 1000, view.exp);
  assert.equal(view.namespace, kube.namespace);
  assert.match(await kubectlOk(target(viewFile), ["get", "pods"]), new RegExp(kube.pod));
  await page.click("#kubeconfig-form [data-copy]");
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), view.text, "copy puts the same file on the clipboard");

  // Issued credentials: the token just used, with when it was last used.
  await page.reload();
  const row = page.locator(`#tokens-table tr[data-token="${view.jti}"]`);
  await row.waitFor();
  assert.doesNotMatch((await row.textContent()) ?? "", /never/, "last used is shown");
  await audit(page, "access-member-kubeconfig");
});

test("revocation from the pages: deleting the grant, revoke-all behind its confirmation, one token from Issued credentials", async () => {
  const viewFile = join(w.dir, "portal-view.kubeconfig");
  assert.equal(kubeconfigFacts(viewFile).namespace, kube.namespace);
  const watch = kubectlStream(target(viewFile), ["get", "pods", "-w"]);
  streams.push(watch);
  await watch.waitFor(kube.pod, 15_000);

  // The admin deletes the grant: the member's watch ends and the next kubectl fails.
  const { page } = admin;
  await page.goto(accessUrl());
  const row = page.locator("#grants-table tr", { hasText: dev.email });
  await confirmDialog(page, () => row.locator("button[data-delete]").click(), "ok", /open sessions close/);
  await page.locator("#no-grants").waitFor();
  await ends(watch, "get -w after the grant was deleted");
  await refused(viewFile);

  // Revoke-all: cancelling changes nothing; confirming ends everything.
  await w.grant(dev.id, { role: "view", scope: "namespace", namespace: kube.namespace });
  const file = join(w.dir, "portal-api.kubeconfig");
  await w.mintKubeconfig(dev, file);
  assert.equal(kubeconfigFacts(file).namespace, kube.namespace, "the token API's kubeconfig has the namespace default too");
  const watch2 = kubectlStream(target(file), ["get", "pods", "-w"]);
  streams.push(watch2);
  await watch2.waitFor(kube.pod, 15_000);
  await page.reload();
  const revokeAll = () => page.click("#revoke-all button[type=submit]");
  await confirmDialog(page, revokeAll, "cancel", /Every token issued for this cluster stops working at once/);
  await kubectlOk(target(file), ["get", "pods"]);
  await confirmDialog(page, revokeAll, "ok", /every open kubectl session through Ward closes/);
  await eventually("revoke-all done", async () => (await page.textContent("#revoke-all [data-result]")) === "Every token for this cluster was revoked.", { timeoutMs: 10_000 });
  await ends(watch2, "get -w after revoke-all");
  await refused(file);
  await audit(page, "access-admin-revoked");

  // One token, from the member's Issued credentials.
  const m = member.page;
  await m.goto(accessUrl());
  await m.click("#kubeconfig-form button[type=submit]");
  await m.locator("#kubeconfig-form [data-download]").waitFor();
  const [dl] = await Promise.all([m.waitForEvent("download"), m.click("#kubeconfig-form [data-download]")]);
  const one = join(w.dir, "portal-one.kubeconfig");
  await dl.saveAs(one);
  const { jti } = kubeconfigFacts(one);
  await kubectlOk(target(one), ["get", "pods"]);
  const tokenRow = m.locator(`#tokens-table tr[data-token="${jti}"]`);
  await tokenRow.waitFor();
  await confirmDialog(m, () => tokenRow.locator("button[data-delete]").click(), "ok", new RegExp(`Revoke token ${jti}`));
  await m.locator(`#tokens-table tr[data-token="${jti}"] .badge.s-revoked`).waitFor();
  await refused(one);
});

test("a member never sees or reaches management; writes without the CSRF header or from another origin are refused", async () => {
  const { page, ctx } = member;
  await page.goto(accessUrl());
  for (const sel of ["#grant-form", "#revoke-all", "#grants-table", "#grant-members"]) assert.equal(await page.locator(sel).count(), 0, `a member sees no ${sel}`);
  const org = `/org/clusters/${CLUSTER}/access`;
  const statuses = await page.evaluate(async (base) => {
    const csrf = document.querySelector('meta[name="csrf-token"]')!.getAttribute("content")!;
    const call = (method: string, path: string, body?: unknown) =>
      fetch(base + path, { method, headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: body === undefined ? undefined : JSON.stringify(body) }).then((r) => r.status);
    return {
      members: await call("GET", "/members"),
      grant: await call("POST", "/grants", { member_email: "dev@example.com", role: "cluster-admin" }),
      revokeAll: await call("POST", "/revoke-all", {}),
    };
  }, org);
  assert.deepEqual(statuses, { members: 403, grant: 403, revokeAll: 403 });

  // The admin's own session: the role is not what refuses these.
  const csrf = await admin.page.getAttribute('meta[name="csrf-token"]', "content");
  const post = (headers: Record<string, string>) => admin.ctx.request.post(`${w.url}${org}/revoke-all`, { headers: { "Content-Type": "application/json", ...headers }, data: "{}" });
  assert.equal((await post({ Origin: w.url })).status(), 403, "no CSRF header");
  const foreign = await post({ Origin: "https://evil.example", "X-CSRF-Token": csrf! });
  assert.equal(foreign.status(), 403, "another origin");
  assert.match((await foreign.json()).error, /Cross-origin/);
  assert.equal((await ctx.request.post(`${w.url}${org}/kubeconfig`, { headers: { Origin: "https://evil.example", "Content-Type": "application/json" }, data: "{}" })).status(), 403);
});

test("a sandbox cluster says access is not supported; the feature switched off says so and the endpoints answer 404", async () => {
  const sandbox = await w.api(w.adminToken, "POST", "/api/v1/clusters", { id: "play", sandbox: true });
  assert.equal(sandbox.status, 201, JSON.stringify(sandbox.json));
  await admin.page.goto(`${w.url}/clusters/play/access`);
  await admin.page.locator("#sandbox").waitFor();
  await audit(admin.page, "access-sandbox");

  const off = await w.api(w.adminToken, "PUT", "/api/v1/settings/access", { enabled: false });
  assert.equal(off.status, 200, JSON.stringify(off.json));
  try {
    const { page, ctx } = member;
    await page.goto(accessUrl());
    assert.match((await page.textContent("#access-off")) ?? "", /switched off/);
    await audit(page, "access-off");
    await page.goto(`${w.url}/`);
    await page.locator("#access-off").waitFor();
    for (const path of ["/grants", "/members", "/tokens"]) assert.equal((await ctx.request.get(`${w.url}/org/clusters/${CLUSTER}/access${path}`)).status(), 404, path);
    const caps = await (await ctx.request.get(`${w.url}/org/clusters/${CLUSTER}/access/capabilities`)).json();
    assert.equal(caps.enabled, false);
  } finally {
    await w.api(w.adminToken, "PUT", "/api/v1/settings/access", { enabled: true });
  }
});
