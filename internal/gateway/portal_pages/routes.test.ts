/**
 * The portal's pages in-process (`app.request()`): sign-in redirects, what each role sees (a member
 * never gets management controls), the feature switched off and sandbox clusters, the parts the
 * script refreshes, and text others chose shown cleaned and escaped.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { Hono } from "hono";
import { fixture } from "../../../test/helpers/access_fixture.ts";
import type { Member } from "../../access/index.ts";
import { PortalSessions } from "../../auth/index.ts";
import { silentLogger } from "../../log/index.ts";
import { OrgViews } from "../org_views.ts";
import { PORTAL_CSP } from "./layout.ts";
import { portalPages } from "./routes.ts";

const INVISIBLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;

async function pages(t: TestContext, opts: { publicUrl?: string } = {}) {
  const f = await fixture({ online: true });
  t.after(() => f.close());
  const publicUrl = () => opts.publicUrl ?? "https://ward.example";
  const sessions = new PortalSessions({ db: f.store.db, access: f.svc, now: () => f.clock.t });
  const views = new OrgViews({ access: f.svc, publicUrl, isClusterOnline: (id) => id === "prod" });
  const app = new Hono().route("/", portalPages({ access: f.svc, sessions, views, sessionCookie: "ward_session", publicUrl, logger: silentLogger, now: () => f.clock.t }));
  app.get("/api/v1/me", (c) => c.text("api"));
  const signIn = async (member: Member) => `ward_session=${await sessions.create(member, "test")}`;
  const get = async (path: string, cookie?: string) => {
    const res = await app.request(`https://ward.example${path}`, { headers: cookie ? { cookie } : {} });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  return { f, get, signIn, admin: await signIn(f.admin.member), member: await signIn(f.member.member) };
}

test("pages need a session: a page redirects to sign-in and back, a part answers 401; other paths are not the pages'", async (t) => {
  const p = await pages(t);
  const home = await p.get("/clusters/prod/access?x=1");
  assert.equal(home.status, 302);
  assert.equal(home.headers.get("location"), `/login?return_to=${encodeURIComponent("/clusters/prod/access?x=1")}`);
  assert.equal((await p.get("/?part=clusters")).status, 401);
  assert.equal((await p.get("/api/v1/me")).text, "api", "the API beside the pages is untouched");
});

test("the Clusters page: online state, own grants, the download form; the strict CSP", async (t) => {
  const p = await pages(t);
  await p.f.svc.createCluster(p.f.admin, { id: "edge", name: "Edge <b>" });
  await p.f.svc.createGrant(p.f.admin, "prod", { member_id: p.f.member.member.id, role: "edit", namespace: "team-a" });
  const page = await p.get("/", p.member);
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("content-security-policy"), PORTAL_CSP);
  assert.match(page.text, /<a href="\/clusters\/prod\/access">Production<\/a>/);
  assert.match(page.text, /badge s-online">Online/);
  assert.match(page.text, /<strong>edit<\/strong> in namespace <code>team-a<\/code>/);
  assert.match(page.text, /<input type="checkbox" name="clusters\[\]" value="prod" checked>/);
  assert.match(page.text, /<option value="3600" selected>1 hour \(the maximum\)<\/option>/);
  assert.doesNotMatch(page.text, /edge/, "a member sees only clusters they have access to");
  const adminPage = await p.get("/", p.admin);
  assert.match(adminPage.text, /Edge &lt;b&gt;/, "names are escaped");
  assert.match(adminPage.text, /badge s-offline">Offline/);
  const part = await p.get("/?part=clusters", p.member);
  assert.match(part.text, /^<table>/, "a part is the fragment alone");
});

test("over plain http the download is not offered, and the page says why", async (t) => {
  const p = await pages(t, { publicUrl: "http://ward.example" });
  await p.f.svc.createGrant(p.f.admin, "prod", { member_id: p.f.member.member.id, role: "view" });
  const page = await p.get("/", p.member);
  assert.match(page.text, /id="download-off"/);
  assert.match(page.text, /plain HTTP/);
  assert.doesNotMatch(page.text, /data-org="\/org\/kubeconfig"/);
  assert.doesNotMatch((await p.get("/clusters/prod/access", p.member)).text, /id="kubeconfig-form"/);
});

test("the Access view: an admin gets the grants, the grant form and revoke-all; a member their own access and no management", async (t) => {
  const p = await pages(t);
  await p.f.svc.createGrant(p.f.admin, "prod", { member_id: p.f.member.member.id, role: "view", namespace: "team-a" });
  await p.f.svc.mintToken(p.f.member, "prod", { lifetimeSeconds: 600 });

  const admin = await p.get("/clusters/prod/access", p.admin);
  assert.equal(admin.status, 200);
  for (const id of ["grants-table", "grant-form", "revoke-all", "tokens-table", "no-access"]) assert.match(admin.text, new RegExp(`id="${id}"`), id);
  assert.match(admin.text, /pattern="\[a-z0-9\]\(\[a-z0-9\\-\]\{0,61\}\[a-z0-9\]\)\?"/, "the namespace field checks the server's rule");
  assert.match(admin.text, /<option value="dev@example.com">/, "eligible members offered");
  assert.match(admin.text, /data-events="\/org\/clusters\/prod\/access\/events"/);

  const member = await p.get("/clusters/prod/access", p.member);
  assert.equal(member.status, 200);
  for (const id of ["grants-table", "grant-form", "revoke-all", "grant-members"]) assert.doesNotMatch(member.text, new RegExp(`id="${id}"`), `a member never gets ${id}`);
  assert.doesNotMatch(member.text, /access\/grants\//, "no grant delete controls");
  assert.match(member.text, /ward cluster kubeconfig add --cluster prod --use --namespace team-a/);
  assert.match(member.text, /ward login --gateway https:\/\/ward.example/);
  assert.match(member.text, /id="kubeconfig-form"/);
  assert.match(member.text, /id="tokens-table"/, "their own issued tokens");
  assert.match(member.text, /data-delete="\/org\/clusters\/prod\/access\/tokens\/k[0-9a-f]+"/, "with a revoke of their own");

  assert.equal((await p.get("/clusters/prod/access?part=grants", p.member)).status, 403);
  assert.equal((await p.get("/clusters/prod/access?part=nope", p.admin)).status, 404);
  assert.match((await p.get("/clusters/prod/access?part=mine", p.member)).text, /^<p>You can use this cluster/);
});

test("a cluster the member has no grant on is not found; a sandbox says it is not supported; access off says so with 404", async (t) => {
  const p = await pages(t);
  const none = await p.get("/clusters/prod/access", p.member);
  assert.equal(none.status, 404);
  assert.match(none.text, /No cluster prod that you can access/);
  await p.f.svc.createCluster(p.f.admin, { id: "play", sandbox: true });
  const sandbox = await p.get("/clusters/play/access", p.admin);
  assert.equal(sandbox.status, 200);
  assert.match(sandbox.text, /id="sandbox"/);
  await p.f.svc.updateSettings(p.f.admin, { enabled: false });
  const off = await p.get("/clusters/prod/access", p.admin);
  assert.equal(off.status, 404);
  assert.match(off.text, /id="access-off"/);
  assert.match((await p.get("/", p.member)).text, /id="access-off"/);
});

test("an email stored before validation was strict is shown without invisible characters", async (t) => {
  const p = await pages(t);
  await p.f.store.db.insertInto("members").values({ id: "m_legacy", email: "adm\u202Ein\u200D@example.com", oidc_subject: null, role: "member", robot: 0, status: "active", created_at: new Date(p.f.clock.t).toISOString() }).execute();
  const page = await p.get("/", await p.signIn((await p.f.svc.member("m_legacy"))!));
  assert.match(page.text, /<span>admin@example\.com &middot; member<\/span>/);
  assert.doesNotMatch(page.text, INVISIBLE);
});
