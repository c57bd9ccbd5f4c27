/**
 * The portal's JSON API in-process (`app.request()`, no socket): session and CSRF/Origin checks,
 * admin-only management, the feature switch, kubeconfig files, and the live grant stream.
 */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { Hono } from "hono";
import { parse } from "yaml";
import { fixture } from "../../test/helpers/access_fixture.ts";
import type { AccessError, Member } from "../access/index.ts";
import { Bootstrap, CliSessions, DeviceFlow, PortalSessions } from "../auth/index.ts";
import { silentLogger } from "../log/index.ts";
import { createApp } from "./app.ts";
import { LiveStreams, type LiveStreamLimits } from "./org_events.ts";
import { orgRoutes } from "./org_routes.ts";

const PUBLIC = "https://ward.example";

async function setup(t: TestContext, opts: { publicUrl?: string; liveStreams?: LiveStreamLimits; online?: boolean } = {}) {
  const f = await fixture({ online: opts.online ?? true });
  t.after(() => f.close());
  const sessions = new PortalSessions({ db: f.store.db, access: f.svc, now: () => f.clock.t });
  const app = new Hono().route("/org", orgRoutes({
    access: f.svc, sessions, publicUrl: () => opts.publicUrl ?? PUBLIC, logger: silentLogger, isClusterOnline: () => opts.online ?? true,
    ...(opts.liveStreams ? { liveStreams: opts.liveStreams } : {}),
  }));
  /** A browser signed in as `member`: its cookie and the session's CSRF token. */
  const signIn = async (member: Member) => {
    const cookie = await sessions.create(member, "test");
    return { cookie: `ward_session=${cookie}`, csrf: (await sessions.get(cookie))!.csrfToken, raw: cookie };
  };
  const admin = await signIn(f.admin.member);
  const member = await signIn(f.member.member);
  type Who = Awaited<ReturnType<typeof signIn>> | null;
  /** A same-origin request with the session's CSRF token unless `headers` say otherwise. */
  const request = (who: Who, method: string, path: string, body?: unknown, headers: Record<string, string | undefined> = {}) => {
    const h: Record<string, string> = { "content-type": "application/json" };
    if (who) {
      h.cookie = who.cookie;
      if (method !== "GET") h["x-csrf-token"] = who.csrf;
    }
    if (method !== "GET") h.origin = PUBLIC;
    for (const [k, v] of Object.entries(headers)) {
      if (v === undefined) delete h[k];
      else h[k] = v;
    }
    return app.request(`${PUBLIC}${path}`, { method, headers: h, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  };
  const call = async (who: Who, method: string, path: string, body?: unknown, headers: Record<string, string | undefined> = {}) => {
    const res = await request(who, method, path, body, headers);
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, any>) : {} };
  };
  return { f, app, sessions, admin, member, request, call };
}

/** The `exp` claim of a JWT, unverified. */
function expOf(jwt: string): number {
  return (JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString()) as { exp: number }).exp;
}

test("org API: needs a portal session; createApp mounts it under /org", async (t) => {
  const { f, call } = await setup(t);
  let r = await call(null, "GET", "/org/capabilities");
  assert.equal(r.status, 401);
  assert.equal(r.json.reason, "Unauthorized");
  r = await call({ cookie: "ward_session=nope", csrf: "x", raw: "nope" }, "GET", "/org/clusters");
  assert.equal(r.status, 401);

  const sessions = new PortalSessions({ db: f.store.db, access: f.svc });
  const db = f.store.db;
  const cliSessions = new CliSessions({ db, access: f.svc });
  const app = createApp({
    logger: silentLogger, readiness: [], access: f.svc, publicUrl: () => PUBLIC,
    auth: { cliSessions, device: new DeviceFlow({ db, access: f.svc, sessions: cliSessions, verificationUri: () => `${PUBLIC}/device` }), portalSessions: sessions, bootstrap: new Bootstrap({ db, access: f.svc }), oidc: undefined, allowedDomains: [] },
  });
  const cookie = await sessions.create(f.member.member, "test");
  const res = await app.request(`${PUBLIC}/org/capabilities`, { headers: { cookie: `ward_session=${cookie}` } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.deepEqual(await res.json(), {
    enabled: true, can_manage: false, max_token_lifetime_seconds: 3600, default_token_lifetime_seconds: 3600,
    kubeconfig_download: { available: true }, member: { id: f.member.member.id, email: "dev@example.com", role: "member" },
  });
});

test("org API: capabilities of a cluster by role and grants; clusters as /me/clusters has them", async (t) => {
  const { f, admin, member, call } = await setup(t);
  let r = await call(member, "GET", "/org/clusters/prod/access/capabilities");
  assert.equal(r.status, 404, "a member without a grant cannot tell the cluster exists");
  assert.equal(r.json.reason, "NotFound");
  r = await call(admin, "GET", "/org/clusters/prod/access/capabilities");
  assert.equal(r.status, 200);
  assert.equal(r.json.can_manage, true);
  assert.equal(r.json.has_access, false, "admins need a grant too");
  assert.equal(r.json.online, true);
  assert.equal(r.json.sandbox, false);
  assert.deepEqual(r.json.cluster, { id: "prod", name: "Production" });

  await f.svc.createGrant(f.admin, "prod", { member_email: "dev@example.com", role: "edit", namespace: "shop" });
  r = await call(member, "GET", "/org/clusters/prod/access/capabilities");
  assert.equal(r.json.can_manage, false);
  assert.equal(r.json.has_access, true);
  assert.equal(r.json.default_namespace, "shop");
  assert.deepEqual(r.json.namespaces, ["shop"]);
  assert.equal(r.json.my_grants.length, 1);

  await f.svc.createCluster(f.admin, { id: "lab", sandbox: true });
  r = await call(admin, "GET", "/org/clusters/lab/access/capabilities");
  assert.equal(r.json.sandbox, true);
  assert.equal(r.json.has_access, false);

  r = await call(member, "GET", "/org/clusters");
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.clusters.map((c: { id: string; online: boolean; grants: unknown[] }) => [c.id, c.online, c.grants.length]), [["prod", true, 1]]);
});

test("org API: a member gets 403 on every management endpoint; admins manage", async (t) => {
  const { f, admin, member, call } = await setup(t);
  const { grant } = await f.svc.createGrant(f.admin, "prod", { member_email: "dev@example.com", role: "view" });
  for (const [method, path, body] of [
    ["GET", "/org/clusters/prod/access/members"],
    ["POST", "/org/clusters/prod/access/grants", { member_email: "dev@example.com", role: "admin" }],
    ["DELETE", `/org/clusters/prod/access/grants/${grant.id}`],
    ["POST", "/org/clusters/prod/access/revoke-all", {}],
  ] as [string, string, unknown?][]) {
    const r = await call(member, method, path, body);
    assert.equal(r.status, 403, `${method} ${path}`);
    assert.equal(r.json.reason, "Forbidden");
  }
  let r = await call(member, "GET", "/org/clusters/prod/access/grants");
  assert.deepEqual(r.json.grants.map((g: { id: string; member_email: string }) => [g.id, g.member_email]), [[grant.id, "dev@example.com"]]);

  await f.svc.createMember(f.admin, { email: "gone@example.com", role: "member" }).then(({ member: m }) => f.svc.updateMember(f.admin, m.id, { status: "disabled" }));
  r = await call(admin, "GET", "/org/clusters/prod/access/members");
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.members.map((m: { email: string }) => m.email).sort(), ["dev@example.com", "root@example.com"], "active members only");

  r = await call(admin, "POST", "/org/clusters/prod/access/grants", { member_email: "dev@example.com", role: "edit", scope: "namespace", namespace: "shop" });
  assert.equal(r.status, 201);
  assert.equal(r.json.grant.member_email, "dev@example.com");
  assert.equal(r.json.grant.status, "pending");
  r = await call(admin, "DELETE", `/org/clusters/prod/access/grants/${r.json.grant.id}`);
  assert.equal(r.status, 204);
  r = await call(admin, "POST", "/org/clusters/prod/access/revoke-all", {});
  assert.equal(r.status, 200);
  assert.equal(typeof r.json.generation, "number");
});

test("org API: a namespace is validated as a DNS-1123 label on the server", async (t) => {
  const { admin, call } = await setup(t);
  for (const namespace of ["Shop", "shop_1", "-shop", "a".repeat(64), "shop.eu", ""]) {
    const r = await call(admin, "POST", "/org/clusters/prod/access/grants", { member_email: "dev@example.com", role: "view", scope: "namespace", namespace });
    assert.equal(r.status, 400, JSON.stringify(namespace));
    assert.equal(r.json.reason, "Invalid");
  }
  const r = await call(admin, "GET", "/org/clusters/prod/access/grants");
  assert.deepEqual(r.json.grants, []);
});

test("org API: writes need the CSRF header and this gateway's origin", async (t) => {
  const { admin, call } = await setup(t, { publicUrl: PUBLIC });
  const grant = { member_email: "dev@example.com", role: "view" };
  const refused: [string, Record<string, string | undefined>][] = [
    ["no CSRF header", { "x-csrf-token": undefined }],
    ["a wrong CSRF token", { "x-csrf-token": "A".repeat(32) }],
    ["no Origin", { origin: undefined }],
    ["a foreign Origin", { origin: "https://evil.example" }],
    ["the plain http origin of this host", { origin: "http://ward.example" }],
    ["another port", { origin: "https://ward.example:8443" }],
    ["Origin null", { origin: "null" }],
  ];
  for (const [why, headers] of refused) {
    const r = await call(admin, "POST", "/org/clusters/prod/access/grants", grant, headers);
    assert.equal(r.status, 403, why);
    assert.equal(r.json.reason, "Forbidden", why);
  }
  let r = await call(admin, "GET", "/org/clusters/prod/access/grants");
  assert.deepEqual(r.json.grants, [], "no refused write took effect");
  r = await call(admin, "GET", "/org/clusters/prod/access/events", undefined, { origin: "https://evil.example" });
  assert.equal(r.status, 403, "a foreign page's EventSource is refused too");
  r = await call(admin, "POST", "/org/clusters/prod/access/grants", grant);
  assert.equal(r.status, 201);
});

test("org API: with the feature off, everything but capabilities answers 404", async (t) => {
  const { f, admin, member, call } = await setup(t);
  const { grant } = await f.svc.createGrant(f.admin, "prod", { member_email: "dev@example.com", role: "view" });
  await f.svc.updateSettings(f.admin, { enabled: false });
  for (const [method, path] of [
    ["GET", "/org/clusters"], ["POST", "/org/kubeconfig"], ["GET", "/org/clusters/prod/access/members"], ["GET", "/org/clusters/prod/access/grants"],
    ["POST", "/org/clusters/prod/access/grants"], ["DELETE", `/org/clusters/prod/access/grants/${grant.id}`], ["POST", "/org/clusters/prod/access/kubeconfig"],
    ["POST", "/org/clusters/prod/access/revoke-all"], ["GET", "/org/clusters/prod/access/tokens"], ["GET", "/org/clusters/prod/access/events"],
  ]) {
    const r = await call(admin, method!, path!, method === "GET" ? undefined : {});
    assert.equal(r.status, 404, `${method} ${path}`);
    assert.equal(r.json.reason, "NotFound");
  }
  for (const who of [admin, member]) {
    const r = await call(who, "GET", "/org/clusters/prod/access/capabilities");
    assert.equal(r.status, 200);
    assert.equal(r.json.enabled, false);
    assert.equal(r.json.has_access, undefined);
  }
});

test("org API: a kubeconfig file with the namespace default, an expiry comment matching the token and several clusters", async (t) => {
  const { f, member, call } = await setup(t);
  await f.svc.createGrant(f.admin, "prod", { member_email: "dev@example.com", role: "edit", namespace: "shop" });
  await f.svc.createCluster(f.admin, { id: "edge", name: "Edge" });
  await f.svc.createGrant(f.admin, "edge", { member_email: "dev@example.com", role: "view" });

  let r = await call(member, "POST", "/org/clusters/prod/access/kubeconfig", { lifetime_seconds: 600 });
  assert.equal(r.status, 200);
  const text = r.json.kubeconfig as string;
  const cfg = parse(text) as { contexts: { name: string; context: { namespace?: string; user: string } }[]; users: { name: string; user: { token: string } }[]; clusters: { cluster: { server: string } }[]; "current-context": string };
  assert.deepEqual(cfg.contexts.map((c) => [c.name, c.context.namespace]), [["ward-prod", "shop"]]);
  assert.equal(cfg["current-context"], "ward-prod");
  assert.equal(cfg.clusters[0]!.cluster.server, `${PUBLIC}/api/v1/clusters/prod/k8s`);
  const token = cfg.users[0]!.user.token;
  const exp = expOf(token);
  assert.equal(exp, f.clock.t / 1000 + 600);
  assert.equal(r.json.expires_at, new Date(exp * 1000).toISOString());
  const comment = /^# expires (\S+) ward-prod \(token (\S+)\)$/m.exec(text);
  assert.ok(comment, text);
  assert.equal(Date.parse(comment[1]!) / 1000, exp);
  assert.equal(comment[2], r.json.token_id);
  assert.equal(r.json.namespace, "shop");

  r = await call(member, "POST", "/org/kubeconfig", { clusters: ["prod", "edge"], lifetime_seconds: 10 * 86400 });
  assert.equal(r.status, 200);
  const multi = parse(r.json.kubeconfig) as typeof cfg;
  assert.deepEqual(multi.contexts.map((c) => [c.name, c.context.namespace]), [["ward-prod", "shop"], ["ward-edge", undefined]]);
  for (const [i, u] of multi.users.entries()) assert.equal(expOf(u.user.token), f.clock.t / 1000 + 3600, `context ${i}: bounded by the admin maximum`);
  assert.equal((r.json.kubeconfig as string).match(/^# expires /gm)?.length, 2);
  assert.deepEqual(r.json.contexts.map((c: { context: string; token?: string }) => [c.context, c.token]), [["ward-prod", undefined], ["ward-edge", undefined]]);

  r = await call(member, "POST", "/org/kubeconfig", { clusters: ["edge", "nope"] });
  assert.equal(r.status, 404);
  const edge = await f.svc.listIssuedTokens(f.member, "edge");
  assert.equal(edge.filter((t) => t.revoked_at === null).length, 1, "the token minted before the failure is revoked");
  r = await call(member, "POST", "/org/kubeconfig", { clusters: [] });
  assert.equal(r.status, 400);
  r = await call(member, "POST", "/org/kubeconfig", { clusters: Array.from({ length: 11 }, (_, i) => `c${i}`) });
  assert.equal(r.status, 400);
});

test("org API: no kubeconfig over plain http", async (t) => {
  const { f, member, call } = await setup(t, { publicUrl: "http://ward.example" });
  await f.svc.createGrant(f.admin, "prod", { member_email: "dev@example.com", role: "view" });
  let r = await call(member, "GET", "/org/capabilities");
  assert.deepEqual(r.json.kubeconfig_download, { available: false, reason: "InsecureTransport" });
  for (const [path, body] of [["/org/clusters/prod/access/kubeconfig", {}], ["/org/kubeconfig", { clusters: ["prod"] }]] as const) {
    r = await call(member, "POST", path, body, { origin: "http://ward.example" });
    assert.equal(r.status, 403, path);
    assert.equal(r.json.reason, "InsecureTransport");
    assert.match(r.json.error, /plain http/);
  }
  assert.deepEqual(await f.svc.listIssuedTokens(f.member, "prod"), [], "no token was minted");
});

test("org API: issued tokens, members their own and admins everyone's, revoked one by one", async (t) => {
  const { f, admin, member, call } = await setup(t);
  await f.svc.createGrant(f.admin, "prod", { member_email: "dev@example.com", role: "view" });
  await f.svc.createGrant(f.admin, "prod", { member_id: f.admin.member.id, role: "admin" });
  const mine = await f.svc.mintToken(f.member, "prod");
  const admins = await f.svc.mintToken(f.admin, "prod");
  let r = await call(member, "GET", "/org/clusters/prod/access/tokens");
  assert.deepEqual(r.json.tokens.map((t: { id: string; member_email: string }) => [t.id, t.member_email]), [[mine.jti, "dev@example.com"]]);
  r = await call(admin, "GET", "/org/clusters/prod/access/tokens");
  assert.equal(r.json.tokens.length, 2);
  r = await call(member, "DELETE", `/org/clusters/prod/access/tokens/${admins.jti}`);
  assert.equal(r.status, 404, "another member's token looks missing");
  r = await call(member, "DELETE", `/org/clusters/prod/access/tokens/${mine.jti}`, undefined, { "x-csrf-token": undefined });
  assert.equal(r.status, 403);
  r = await call(member, "DELETE", `/org/clusters/prod/access/tokens/${mine.jti}`);
  assert.equal(r.status, 204);
  r = await call(member, "GET", "/org/clusters/prod/access/tokens");
  assert.notEqual(r.json.tokens[0].revoked_at, null);
});

/** Reads server-sent events until `until` holds for one; returns it parsed. */
async function nextEvent(reader: ReadableStreamDefaultReader<Uint8Array>, state: { buf: string }, until: (ev: { event: string; data: any }) => boolean) {
  const dec = new TextDecoder();
  for (;;) {
    let i: number;
    while ((i = state.buf.indexOf("\n\n")) >= 0) {
      const block = state.buf.slice(0, i);
      state.buf = state.buf.slice(i + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data !== undefined) {
        const ev = { event, data: JSON.parse(data) };
        if (until(ev)) return ev;
      }
    }
    const { done, value } = await reader.read();
    if (done) throw new Error("stream ended");
    state.buf += dec.decode(value, { stream: true });
  }
}

test("org API: the live grant stream sends the grants again when an agent reports, within its caps", async (t) => {
  const { f, admin, member, request, call, sessions } = await setup(t, { liveStreams: { maxPerMember: 1, maxTotal: 2, keepaliveMs: 50 } });
  const { grant } = await f.svc.createGrant(f.admin, "prod", { member_email: "dev@example.com", role: "view", namespace: "shop" });
  const res = await request(admin, "GET", "/org/clusters/prod/access/events");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  const reader = res.body!.getReader();
  const state = { buf: "" };
  let ev = await nextEvent(reader, state, (e) => e.event === "grants");
  assert.deepEqual(ev.data.grants.map((g: { id: string; status: string; member_email: string }) => [g.id, g.status, g.member_email]), [[grant.id, "pending", "dev@example.com"]]);
  assert.equal(ev.data.online, true);

  let r = await call(admin, "GET", "/org/clusters/prod/access/events");
  assert.equal(r.status, 429, "one stream per member here");
  assert.equal(r.json.reason, "RateLimited");

  await f.svc.setGrantStatus("prod", [{ id: grant.id, status: "failed", error: "namespaces \"shop\" not found" }]);
  ev = await nextEvent(reader, state, (e) => e.event === "grants");
  assert.deepEqual(ev.data.grants.map((g: { status: string; error: string }) => [g.status, g.error]), [["failed", 'namespaces "shop" not found']]);
  await f.svc.setGrantStatus("prod", [{ id: grant.id, status: "applied" }]);
  ev = await nextEvent(reader, state, (e) => e.event === "grants");
  assert.equal(ev.data.grants[0].status, "applied");
  await f.svc.createGrant(f.admin, "prod", { member_id: f.admin.member.id, role: "admin" });
  ev = await nextEvent(reader, state, (e) => e.event === "grants");
  assert.equal(ev.data.grants.length, 2);

  // A keepalive comment arrives (50 ms here), and closing the stream frees its slot and listeners.
  while (!state.buf.includes(": keepalive")) {
    const { value } = await reader.read();
    state.buf += new TextDecoder().decode(value);
  }
  await reader.cancel();
  await new Promise((done) => setTimeout(done, 20));
  assert.equal(f.svc.events.listenerCount("statusChanged"), 0);
  assert.equal(f.svc.events.listenerCount("grantsChanged"), 0);
  const again = await request(admin, "GET", "/org/clusters/prod/access/events");
  assert.equal(again.status, 200, "the slot was released");

  // The member's stream shows their grants, and ends when their session does.
  const mres = await request(member, "GET", "/org/clusters/prod/access/events");
  const mreader = mres.body!.getReader();
  const mstate = { buf: "" };
  ev = await nextEvent(mreader, mstate, (e) => e.event === "grants");
  assert.deepEqual(ev.data.grants.map((g: { id: string }) => g.id), [grant.id]);
  await sessions.destroy(member.raw);
  ev = await nextEvent(mreader, mstate, (e) => e.event === "end");
  assert.equal(ev.data.reason, "Unauthorized");
  await again.body!.cancel();
});

test("org API: live stream limits are validated once (a keepalive below 60 s)", () => {
  assert.throws(() => new LiveStreams({ keepaliveMs: 60_000 }), /keepaliveMs/);
  assert.throws(() => new LiveStreams({ maxPerMember: 0 }), /maxPerMember/);
  const streams = new LiveStreams({ maxPerMember: 2, maxTotal: 3 });
  const a1 = streams.acquire("a");
  streams.acquire("a");
  assert.throws(() => streams.acquire("a"), (e: AccessError) => e.reason === "RateLimited");
  streams.acquire("b");
  assert.throws(() => streams.acquire("c"), (e: AccessError) => e.reason === "RateLimited");
  a1();
  a1();
  assert.equal(streams.open, 2, "a release counts once");
  streams.acquire("c");
});

test("org API: the live stream follows presence and ends when the feature is switched off", async (t) => {
  const { f, admin, request } = await setup(t, { online: false });
  await f.svc.createGrant(f.admin, "prod", { member_email: "dev@example.com", role: "view" });
  const res = await request(admin, "GET", "/org/clusters/prod/access/events");
  const reader = res.body!.getReader();
  const state = { buf: "" };
  let ev = await nextEvent(reader, state, (e) => e.event === "grants");
  assert.equal(ev.data.grants[0].status, "cluster_offline");
  await f.svc.setClusterOnline("prod", true);
  ev = await nextEvent(reader, state, (e) => e.event === "grants");
  assert.equal(ev.data.grants[0].status, "pending");
  await f.svc.updateSettings(f.admin, { enabled: false });
  ev = await nextEvent(reader, state, (e) => e.event === "end");
  assert.equal(ev.data.reason, "NotFound");
  const { done } = await reader.read();
  assert.equal(done, true, "the stream closes");
  assert.equal(f.svc.events.listenerCount("disabled"), 0);
});
