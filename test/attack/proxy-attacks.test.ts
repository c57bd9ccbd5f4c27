/**
 * Attacks on the proxy path, end to end through `dist/ward gateway` + `dist/ward agent` against the
 * real kube-apiserver, with raw HTTP/1.1 and hand-written HTTP/2 frames: header smuggling, path and
 * encoding tricks, token confusion, and upgrade handling (the CVE-2018-1002105 class). The proof is
 * always the API server's own view: the identity a SelfSubjectReview reports, a ConfigMap a smuggled
 * request would have created (asked of the API server directly), the status the API server gives the
 * same user for the same path, and the agent's count of streams it forwarded.
 */
import assert from "node:assert/strict";
import { connect as tlsConnect } from "node:tls";
import { after, before, describe, test } from "node:test";
import { SignJWT, generateKeyPair } from "jose";
import { eventually } from "../helpers/eventually.ts";
import { startKubeEnv, type KubeEnv } from "../helpers/kube-env.ts";
import { kubectlOk } from "../helpers/kubectl.ts";
import { startWard, type Ward, type WardMember } from "../helpers/ward.ts";
import {
  assertStatus, claimsOf, configMapExists, gatewayKey, h2Body, h2Data, h2Done, h2Pseudo, h2Request, h2Status, http1, markerRequest, rawConn, rawExchange, rawH2, responses, type ForgeKit,
} from "./harness.ts";

const CLUSTER = "atk";
const OTHER = "atk-other";
const P = `/api/v1/clusters/${CLUSTER}/k8s`;
const WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews";
const REVIEW = JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" });

let kube: KubeEnv;
let w: Ward;
let NS: string;
/** Cluster-admin: whatever it smuggles would run, so a smuggled request leaves its marker. */
let root: WardMember;
let rootToken: string;
/** View in NS only. */
let viewer: WardMember;
let viewerToken: string;
let bootstrapCode: string;
let markers = 0;

before(async () => {
  kube = await startKubeEnv();
  NS = kube.namespace;
  w = await startWard(kube, { cluster: CLUSTER });
  bootstrapCode = (await w.gateway.waitFor(/one-time code:\s+([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})/))[1]!;
  assert.equal((await w.api(w.adminToken, "POST", "/api/v1/clusters", { id: OTHER, name: OTHER })).status, 201);
  root = await w.member("root@example.com");
  viewer = await w.member("viewer@example.com");
  await w.grant(root.id, { role: "cluster-admin" });
  await w.grant(viewer.id, { role: "view", scope: "namespace", namespace: NS });
  rootToken = await k8sToken(root);
  viewerToken = await k8sToken(viewer);
  // root may use the other cluster too (no agent there): its tokens are the other cluster's.
  const otherGrant = await w.api(w.adminToken, "POST", `/api/v1/clusters/${OTHER}/access/grants`, { member_id: root.id, role: "cluster-admin" });
  assert.equal(otherGrant.status, 201, JSON.stringify(otherGrant.json));
  await kubectlOk({ kubectl: kube.kubectl.newest, kubeconfig: kube.kubeconfig }, ["create", "configmap", "atk-probe", "-n", "default"]);
}, { timeout: 240_000 });

after(async () => {
  try {
    if (w) {
      // Whatever the attacks did, no token reached the logs.
      for (const t of [rootToken, viewerToken]) {
        assert.ok(!w.gateway.output().includes(t.split(".")[2]!), "a token was written to the gateway log");
        assert.ok(!w.agent.output().includes(t.split(".")[2]!), "a token was written to the agent log");
      }
      await w.stop();
    }
  } finally {
    await kube?.stop();
  }
});

async function k8sToken(m: WardMember, cluster = CLUSTER): Promise<string> {
  const r = await w.api(m.token, "POST", `/api/v1/clusters/${cluster}/k8s-token`, {});
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.token as string;
}

/** A fresh marker name; `noMarkers` asserts none of them exists, asking the API server directly. */
function marker(): string {
  return `smuggled-${++markers}`;
}

async function noMarkers(): Promise<void> {
  const r = await kubectlOk({ kubectl: kube.kubectl.newest, kubeconfig: kube.kubeconfig }, ["get", "configmaps", "-A", "-o", "name"]);
  assert.doesNotMatch(r, /smuggled-/, "a smuggled request reached the API server");
}

const streams = () => w.agentMetric("ward_agent_streams_total");

/** The identity the API server reports for a SelfSubjectReview through Ward with these extra raw header lines. */
async function whoami(token: string, extra: string[] = []): Promise<{ status: number; user?: { username: string; groups?: string[]; uid?: string; extra?: unknown }; json: any }> {
  const r = await w.api(token, "POST", `${P}${WHOAMI}`, JSON.parse(REVIEW), extra);
  return { status: r.status, user: r.json.status?.userInfo, json: r.json };
}

function assertOwnIdentity(r: { status: number; user?: { username: string; groups?: string[]; uid?: string; extra?: unknown }; json: unknown }, email: string, what: string): void {
  assert.equal(r.status, 201, `${what}: ${JSON.stringify(r.json)}`);
  assert.equal(r.user!.username, `ward:${email}`, what);
  assert.deepEqual(r.user!.groups, ["system:authenticated"], what);
  assert.equal(r.user!.uid, undefined, what);
  assert.equal(r.user!.extra, undefined, what);
}

/** An identity header as the gateway would write it, naming someone powerful. */
const forgedIdentity = Buffer.from(JSON.stringify({ member: "m_x", user: "admin", groups: ["system:masters"] })).toString("base64url");

describe("header smuggling", () => {
  test("conflicting framing (CL+TE, two Content-Lengths, obfuscated TE, bad chunks) is refused with 400 and closed; nothing smuggled runs", async () => {
    const inner = (name: string) => markerRequest("", NS, name, rootToken); // as the API server would read it
    const auth = `Authorization: Bearer ${rootToken}`;
    const post = (headers: string[], body: string) => http1("POST", `${P}/api/v1/namespaces/${NS}/configmaps`, [auth, "Content-Type: application/json", ...headers], body);
    // Framing the head already gets wrong: refused by the parser, before any stream.
    const heads: [string, (m: string) => string][] = [
      ["CL + TE", (m) => post(["Content-Length: 5", "Transfer-Encoding: chunked"], `0\r\n\r\n${inner(m)}`)],
      ["TE + CL", (m) => post(["Transfer-Encoding: chunked", "Content-Length: 5"], `0\r\n\r\n${inner(m)}`)],
      ["two Content-Lengths", (m) => post(["Content-Length: 0", `Content-Length: ${inner(m).length}`], inner(m))],
      ["a Content-Length list", (m) => post([`Content-Length: 0, ${inner(m).length}`], inner(m))],
      ["TE chunked, identity", (m) => post(["Transfer-Encoding: chunked, identity"], `0\r\n\r\n${inner(m)}`)],
      ["two TE headers", (m) => post(["Transfer-Encoding: chunked", "Transfer-Encoding: identity"], `0\r\n\r\n${inner(m)}`)],
      ["a space before the colon", (m) => post(["Transfer-Encoding : chunked", "Content-Length: 5"], `0\r\n\r\n${inner(m)}`)],
      ["a bare LF in the head", (m) => `POST ${P}${WHOAMI} HTTP/1.1\r\nHost: localhost\r\n${auth}\nContent-Length: 0\r\n\r\n${inner(m)}`],
    ];
    // Framing the body gets wrong: the head went out as a stream, which the parse error resets, so the
    // API server never gets a complete request (and nothing after it).
    const bodies: [string, (m: string) => string][] = [
      ["TE xchunked", (m) => post(["Transfer-Encoding: xchunked"], `0\r\n\r\n${inner(m)}`)],
      ["a chunk size overflowing", (m) => post(["Transfer-Encoding: chunked"], `10000000000000005\r\n{"a":1}\r\n0\r\n\r\n${inner(m)}`)],
      ["a chunk size that is not hex", (m) => post(["Transfer-Encoding: chunked"], `0x5\r\nAAAAA\r\n0\r\n\r\n${inner(m)}`)],
      ["a chunk without its CRLF", (m) => post(["Transfer-Encoding: chunked"], `2\r\n{}XX0\r\n\r\n${inner(m)}`)],
    ];
    for (const [what, make] of [...heads, ...bodies]) {
      const before = await streams();
      const { text, closed } = await rawExchange(w, make(marker()));
      const rs = responses(text);
      assert.equal(rs.length, 1, `${what}: ${text.slice(0, 400)}`);
      assert.equal(rs[0]!.status, 400, `${what}: ${text.slice(0, 400)}`);
      assert.ok(closed, `${what}: the connection stayed open after a framing error`);
      if (heads.some(([h]) => h === what)) assert.equal(await streams(), before, `${what} reached the agent`);
    }
    await noMarkers();
  });

  test("a body is re-framed: a Content-Length shorter or longer than the bytes, or a request hidden in a chunked body, is never a second request", async () => {
    // Well-formed HTTP/1.1 whose body holds another request: the gateway frames it, and the agent
    // sends the API server exactly the body with a length it computed. The next request on the same
    // connection is a request to the gateway, authorized on its own.
    const m1 = marker();
    const m2 = marker();
    const innerApi = markerRequest("", NS, m1, rootToken);
    const chunked = http1("POST", `${P}${WHOAMI}`, [`Authorization: Bearer ${rootToken}`, "Content-Type: application/json", "Transfer-Encoding: chunked"],
      `${Buffer.byteLength(REVIEW).toString(16)}\r\n${REVIEW}\r\n${innerApi.length.toString(16)}\r\n${innerApi}\r\n0\r\n\r\n`);
    const { text } = await rawExchange(w, chunked);
    assert.equal(responses(text).length, 1, text.slice(0, 400));
    assert.match(String(responses(text)[0]!.status), /^4\d\d$/, "a JSON body with a request appended is not a review");
    // A Content-Length that covers only the review: what follows is the next request on the connection, to the gateway (no token: 401).
    const shortCl = http1("POST", `${P}${WHOAMI}`, [`Authorization: Bearer ${rootToken}`, "Content-Type: application/json", `Content-Length: ${Buffer.byteLength(REVIEW)}`], REVIEW)
      + markerRequest("", NS, m2, "not-a-token");
    const two = responses((await rawExchange(w, shortCl, 10_000, 1000)).text);
    assert.equal(two.length, 2, JSON.stringify(two.map((r) => r.body.slice(0, 200))));
    assert.equal(two[0]!.status, 201);
    assert.match(String(two[1]!.status), /^4\d\d$/, "the request after the body is the gateway's, unauthenticated");
    assert.match(two[0]!.body, /"username":"ward:root@example\.com"/);
    // HTTP/2: DATA longer or shorter than the content-length header is a stream or session error.
    const api = Buffer.from(markerRequest("", NS, marker(), rootToken));
    const create = (len: number): [string, string][] => [...h2Pseudo("POST", `${P}/api/v1/namespaces/${NS}/configmaps`), ["authorization", `Bearer ${rootToken}`], ["content-type", "application/json"], ["content-length", String(len)]];
    for (const [len, data] of [[2, Buffer.concat([Buffer.from("{}"), api])], [api.length + 50, api]] as const) {
      const h2 = await rawH2(w);
      h2.headers(1, create(len), false);
      h2.write(h2Data(1, data, true));
      await eventually(`content-length ${len}, ${data.length} bytes: the stream ends`, () => h2Done(h2, 1), { timeoutMs: 5000 });
      assert.ok(h2.resetCode(1) !== undefined || h2.goaway() !== undefined || (h2Status(h2, 1) ?? 0) >= 400, `content-length ${len}, ${data.length} bytes: status ${h2Status(h2, 1)}`);
      h2.socket.destroy();
    }
    // HTTP/2 without a content-length: the body still reaches the API server whole (a DELETE's
    // dryRun in its body stays a dry run).
    await kubectlOk({ kubectl: kube.kubectl.newest, kubeconfig: kube.kubeconfig }, ["create", "configmap", "atk-keep", "-n", NS]);
    const del = await h2Request(w, { ":method": "DELETE", ":path": `${P}/api/v1/namespaces/${NS}/configmaps/atk-keep`, authorization: `Bearer ${rootToken}`, "content-type": "application/json" },
      JSON.stringify({ kind: "DeleteOptions", apiVersion: "v1", dryRun: ["All"] }));
    assert.equal(del.status, 200, del.body);
    assert.ok(await configMapExists(kube, NS, "atk-keep"), "a dry-run DELETE over HTTP/2 deleted the object: its body was lost");
    // Framing headers named in Connection (hop-by-hop, dropped) do not lose the body either.
    await kubectlOk({ kubectl: kube.kubectl.newest, kubeconfig: kube.kubeconfig }, ["create", "configmap", "atk-keep-2", "-n", NS]);
    const dryRun = JSON.stringify({ kind: "DeleteOptions", apiVersion: "v1", dryRun: ["All"] });
    for (const [framing, body] of [[`Content-Length: ${dryRun.length}`, dryRun], ["Transfer-Encoding: chunked", `${dryRun.length.toString(16)}\r\n${dryRun}\r\n0\r\n\r\n`]] as const) {
      const name = framing.split(":")[0]!;
      const r = responses((await rawExchange(w, http1("DELETE", `${P}/api/v1/namespaces/${NS}/configmaps/atk-keep-2`, [`Authorization: Bearer ${rootToken}`, "Content-Type: application/json", `Connection: ${name}`, framing], body))).text);
      assert.equal(r[0]!.status, 200, `Connection: ${name}: ${r[0]?.body}`);
      assert.ok(await configMapExists(kube, NS, "atk-keep-2"), `a dry-run DELETE with 'Connection: ${name}' deleted the object`);
    }
    await noMarkers();
    // The identity is still one's own afterwards, on a fresh request.
    assertOwnIdentity(await whoami(rootToken), "root@example.com", "after the framing attacks");
  });

  test("identity headers of every kind, spelling and count are dropped: the API server sees only ward:<email>", async () => {
    for (const extra of [
      ["X-Ward-Identity", forgedIdentity],
      ["x-ward-identity", forgedIdentity, "X-WARD-IDENTITY", forgedIdentity],
      ["Connection", "X-Ward-Identity", "X-Ward-Identity", forgedIdentity],
      ["X-Ward-Member", "m_x", "X-Ward-User", "admin"],
      ["X-Remote-User", "admin", "X-Remote-Group", "system:masters", "X-Remote-Extra-Scopes", "all"],
      ["x-remote-user", "admin", "X-REMOTE-GROUP", "system:masters"],
      ["X-Forwarded-User", "admin", "X-Forwarded-Groups", "system:masters", "X-Forwarded-Email", "admin@example.com", "X-Auth-Request-User", "admin", "Remote-User", "admin"],
      ["Impersonate_User", "admin", "Impersonate_Group", "system:masters", "Impersonate.User", "admin"],
      ["Impersonate-Uid", "0", "Impersonate-Extra-Groups", "system:masters", "Impersonate-Extra-authentication.kubernetes.io%2fcredential-id", "x"],
      ["Proxy-Authorization", `Bearer ${viewerToken}`, "Proxy-Connection", "keep-alive"],
      ["Connection", "close, X-Forwarded-For, Impersonate-Uid", "X-Forwarded-For", "10.0.0.1", "Impersonate-Uid", "0", "Keep-Alive", "timeout=5", "TE", "trailers"],
    ]) {
      assertOwnIdentity(await whoami(rootToken, extra), "root@example.com", extra.join(" "));
    }
    // The same over HTTP/2 (names are lower case there).
    for (const extra of [
      { "x-ward-identity": forgedIdentity },
      { "x-remote-user": "admin", "x-remote-group": ["system:masters", "system:nodes"] },
      { "impersonate-uid": "0", "impersonate-extra-groups": "system:masters" },
      { "impersonate-user": ["admin", "root@example.com"] },
    ] as Record<string, string | string[]>[]) {
      const r = await h2Request(w, { ":method": "POST", ":path": `${P}${WHOAMI}`, authorization: `Bearer ${rootToken}`, "content-type": "application/json", ...extra }, REVIEW);
      assertOwnIdentity({ status: r.status, user: JSON.parse(r.body).status?.userInfo, json: r.body }, "root@example.com", `h2 ${JSON.stringify(extra)}`);
    }
    // kubectl --as someone else over HTTP/2 is refused with a Status, in any case.
    const as = await h2Request(w, { ":method": "POST", ":path": `${P}${WHOAMI}`, authorization: `Bearer ${rootToken}`, "content-type": "application/json", "impersonate-group": "system:masters" }, REVIEW);
    assert.equal(as.status, 403);
    assert.match(assertStatus(as.body, 403, "h2 impersonate-group").message, /limited to your own identity/);
  });

  test("malformed heads: spaces in names, obs-fold, duplicate Host, control characters, identity in trailers", async () => {
    const auth = `Authorization: Bearer ${rootToken}`;
    const post = (headers: string[], body = REVIEW) => http1("POST", `${P}${WHOAMI}`, [auth, "Content-Type: application/json", ...headers, `Content-Length: ${Buffer.byteLength(body)}`], body);
    // Refused by the parser: 400, closed, never forwarded.
    const before = await streams();
    for (const [what, req] of [
      ["a space in a name", post(["Impersonate-User : admin"])],
      ["a tab in a name", post(["Impersonate-User\t: admin"])],
      ["a NUL in a value", post(["X-Foo: a\u0000Impersonate-User: admin"])],
      ["a CR in a value", post(["X-Foo: a\rImpersonate-User: admin"])],
      ["a name with a slash", post(["Impersonate/User: admin"])],
    ] as const) {
      const { text, closed } = await rawExchange(w, req);
      assert.deepEqual(responses(text).map((r) => r.status), [400], `${what}: ${text.slice(0, 300)}`);
      assert.ok(closed, what);
    }
    assert.equal(await streams(), before, "a malformed head reached the agent");
    // Accepted by the parser: the identity is still one's own.
    for (const [what, req] of [
      ["obs-fold", post(["X-Foo: a", " Impersonate-User: admin", "X-Bar: b", "\tImpersonate-Group: system:masters"])],
      ["duplicate Host", post(["Host: kubernetes.default.svc", "Host: 10.0.0.1"])],
      ["Host naming the API server", post(["X-Forwarded-Host: kubernetes.default.svc"])],
      ["an underscore name", post(["Impersonate_User: admin"])],
    ] as const) {
      const rs = responses((await rawExchange(w, req)).text);
      assert.equal(rs.length, 1, what);
      if (rs[0]!.status === 400) continue; // refused by the parser is fine too
      assert.equal(rs[0]!.status, 201, `${what}: ${rs[0]!.body.slice(0, 300)}`);
      const u = JSON.parse(rs[0]!.body).status.userInfo;
      assert.deepEqual([u.username, u.groups], ["ward:root@example.com", ["system:authenticated"]], what);
    }
    // Identity headers in trailers (chunked HTTP/1.1, and HTTP/2 trailing HEADERS) are never forwarded.
    const trailed = http1("POST", `${P}${WHOAMI}`, [auth, "Content-Type: application/json", "Transfer-Encoding: chunked", "Trailer: Impersonate-User, X-Ward-Identity"],
      `${Buffer.byteLength(REVIEW).toString(16)}\r\n${REVIEW}\r\n0\r\nImpersonate-User: admin\r\nImpersonate-Group: system:masters\r\nX-Ward-Identity: ${forgedIdentity}\r\n\r\n`);
    const t = responses((await rawExchange(w, trailed)).text);
    assert.equal(t[0]!.status, 201, t[0]!.body);
    assert.deepEqual(JSON.parse(t[0]!.body).status.userInfo.username, "ward:root@example.com");
    const h2 = await rawH2(w);
    h2.headers(1, [...h2Pseudo("POST", `${P}${WHOAMI}`), ["authorization", `Bearer ${rootToken}`], ["content-type", "application/json"]], false);
    h2.write(h2Data(1, Buffer.from(REVIEW), false));
    h2.headers(1, [["impersonate-user", "admin"], ["impersonate-group", "system:masters"], ["x-ward-identity", forgedIdentity]], true);
    await eventually("the trailed stream ends", () => h2Done(h2, 1), { timeoutMs: 10_000 });
    assert.equal(h2Status(h2, 1), 201, h2Body(h2, 1));
    assert.match(h2Body(h2, 1), /"username":"ward:root@example\.com","groups":\["system:authenticated"\]/);
    h2.socket.destroy();
  });

  test("Authorization: exactly one Bearer token, and it never reaches the API server", async () => {
    const path = `${P}/api/v1/namespaces/${NS}/configmaps`;
    for (const extra of [
      [`Authorization: Bearer ${rootToken}`, `Authorization: Bearer ${rootToken}`],
      [`Authorization: Bearer ${viewerToken}`, `Authorization: Bearer ${rootToken}`],
      [`Authorization: Bearer ${rootToken}`, `authorization: Bearer ${viewerToken}`],
      [`Authorization: Bearer ${viewerToken} ${rootToken}`],
      [`Authorization: Bearer ${viewerToken}, Bearer ${rootToken}`],
      [`Authorization: Bearer ${viewerToken},${rootToken}`],
      [`Authorization: Basic ${Buffer.from(`x:${rootToken}`).toString("base64")}`],
      [`Authorization: ${rootToken}`],
      [`Authorization: Bearer`],
      [`Cookie: ward_session=${rootToken}`],
      [`X-Ward-Token: ${rootToken}`],
    ]) {
      const rs = responses((await rawExchange(w, http1("GET", path, extra))).text);
      assert.equal(rs.length, 1, extra.join(" | "));
      assertStatus(rs[0]!.body, 401, extra.join(" | "));
    }
    // Over HTTP/2: two authorization fields are refused too.
    const h2 = await rawH2(w);
    h2.headers(1, [...h2Pseudo("GET", path), ["authorization", `Bearer ${viewerToken}`], ["authorization", `Bearer ${rootToken}`]]);
    await eventually("two authorization fields: answered", () => h2Done(h2, 1), { timeoutMs: 5000 });
    assert.equal(h2Status(h2, 1), 401);
    assertStatus(h2Body(h2, 1), 401, "h2 two authorization fields");
    h2.socket.destroy();
    // The caller's token is not what the API server authenticates: it sees the impersonated user.
    assertOwnIdentity(await whoami(viewerToken), "viewer@example.com", "viewer");
  });

  test("HTTP/2: connection-specific headers, bad pseudo-headers and upper-case names reset the stream; nothing reaches the agent", async () => {
    const before = await streams();
    const path = `${P}/api/v1/namespaces/${NS}/configmaps`;
    const auth: [string, string] = ["authorization", `Bearer ${rootToken}`];
    const cases: [string, [string, string][]][] = [
      ["connection", [...h2Pseudo("GET", path), auth, ["connection", "keep-alive"]]],
      ["transfer-encoding", [...h2Pseudo("GET", path), auth, ["transfer-encoding", "chunked"]]],
      ["upgrade", [...h2Pseudo("GET", path), auth, ["upgrade", "websocket"]]],
      ["keep-alive", [...h2Pseudo("GET", path), auth, ["keep-alive", "timeout=5"]]],
      ["proxy-connection", [...h2Pseudo("GET", path), auth, ["proxy-connection", "keep-alive"]]],
      ["te: gzip", [...h2Pseudo("GET", path), auth, ["te", "gzip"]]],
      ["two :path", [...h2Pseudo("GET", path), [":path", `${P}/api/v1/namespaces/default/configmaps`], auth]],
      ["a pseudo-header after a header", [[":method", "GET"], [":scheme", "https"], [":authority", "localhost"], auth, [":path", path]]],
      ["an unknown pseudo-header", [...h2Pseudo("GET", path), [":cluster", OTHER], auth]],
      ["no :path", [[":method", "GET"], [":scheme", "https"], [":authority", "localhost"], auth]],
      ["an empty :path", [...h2Pseudo("GET", ""), auth]],
      ["an upper-case name", [...h2Pseudo("GET", path), ["Authorization", `Bearer ${rootToken}`]]],
      ["an upper-case Impersonate-User", [...h2Pseudo("GET", path), auth, ["Impersonate-User", "admin"]]],
    ];
    for (const [what, fields] of cases) {
      const h2 = await rawH2(w);
      h2.headers(1, fields);
      await eventually(`${what}: the stream is reset`, () => h2.resetCode(1) !== undefined || h2.answered(1) || h2.closed, { timeoutMs: 5000 });
      assert.ok(!h2.answered(1), `${what}: the stream was answered`);
      assert.ok(h2.resetCode(1) === 1 || h2.goaway()?.code === 1 || h2.goaway()?.code === 9, `${what}: reset code ${h2.resetCode(1)}, goaway ${JSON.stringify(h2.goaway())}`);
      h2.socket.destroy();
    }
    assert.equal(await streams(), before, "a malformed HTTP/2 request reached the agent");
    // A field whose value holds CR, LF or NUL, or whose name is not a token, is dropped by the HTTP/2 layer (the request goes on
    // without it): nothing it tries to inject reaches the API server.
    for (const [what, field] of [
      ["CR LF", ["user-agent", "kubectl\r\nimpersonate-user: admin"]],
      ["LF", ["accept", "application/json\nimpersonate-group: system:masters"]],
      ["NUL", ["impersonate-user", "root@example.com\u0000admin"]],
      ["a space in a name", ["impersonate-group ", "system:masters"]],
    ] as const) {
      const h2 = await rawH2(w);
      h2.headers(1, [...h2Pseudo("POST", `${P}${WHOAMI}`), auth, ["content-type", "application/json"], ["content-length", String(REVIEW.length)], [...field]], false);
      h2.write(h2Data(1, Buffer.from(REVIEW), true));
      await eventually(`${what}: answered`, () => h2Done(h2, 1), { timeoutMs: 10_000 });
      assert.equal(h2Status(h2, 1), 201, `${what}: ${h2Body(h2, 1)}`);
      assert.match(h2Body(h2, 1), /"username":"ward:root@example\.com","groups":\["system:authenticated"\]/, what);
      h2.socket.destroy();
    }
  });

  test("the audit agrees: every exchange that succeeded ran as its own member, refused ones are recorded as refused", async () => {
    type Row = { action: string; member_email: string | null; impersonated: string | null; status: number | null; resource: string | null };
    const rows = await eventually("the audit rows", async () => {
      const r = await w.api(w.adminToken, "GET", `/api/v1/audit?cluster=${CLUSTER}&limit=1000`);
      assert.equal(r.status, 200, JSON.stringify(r.json));
      const events = (r.json.events as Row[]).filter((e) => e.action === "k8s.request");
      return events.some((e) => e.resource === "selfsubjectreviews" && e.status === 201) && events;
    }, { timeoutMs: 10_000, intervalMs: 200 });
    const own = (e: Row) => e.impersonated === null || e.impersonated === e.member_email || e.impersonated === `ward:${e.member_email}`;
    assert.deepEqual(rows.filter((e) => (e.status ?? 0) < 400 && !own(e)), [], "an exchange with someone else's identity succeeded");
    assert.ok(rows.some((e) => e.status === 403 && e.resource === "selfsubjectreviews"), "the refused --as-group is recorded");
    assert.ok(rows.some((e) => e.status === 401), "refused tokens are recorded");
    assert.ok(rows.every((e) => e.member_email === null || ["root@example.com", "viewer@example.com"].includes(e.member_email)), "an exchange was recorded for a member nobody authenticated as");
  });
});

/** A raw request straight to the API server as `user` (the kube-env admin impersonating it): the API server's own answer. */
function direct(rawPath: string, user: string): Promise<number> {
  const u = new URL(kube.apiServer);
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: u.hostname, port: Number(u.port), ca: kube.ca, servername: "localhost", ALPNProtocols: ["http/1.1"] }, () => {
      s.write(http1("GET", rawPath, [`Authorization: Bearer ${kube.adminToken}`, `Impersonate-User: ${user}`, "Connection: close"]));
    });
    let out = "";
    s.on("data", (c: Buffer) => {
      out += c.toString("latin1");
      const m = /^HTTP\/1\.1 (\d{3})/.exec(out);
      if (m) (s.destroy(), resolve(Number(m[1])));
    });
    s.on("error", reject);
    s.on("close", () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(out)?.[1] ?? 0)));
  });
}

describe("path and encoding tricks", () => {
  test("dot segments, encoded separators, double encoding, '//', ';', '\\', NUL and fragments are refused with a Status before any stream", async () => {
    const before = await streams();
    const tricks = [
      `/api/v1/namespaces/${NS}/../default/pods`,
      `/api/v1/namespaces/${NS}/%2e%2e/default/pods`,
      `/api/v1/namespaces/${NS}/%2E%2E/default/pods`,
      `/api/v1/namespaces/${NS}/.%2e/default/pods`,
      `/api/v1/namespaces/${NS}/pods/.`,
      `/./api/v1/namespaces/default/pods`,
      `/api/v1/namespaces/default%2fpods`,
      `/api/v1/namespaces/${NS}%2F..%2Fdefault/pods`,
      `/api/v1/namespaces/%252e%252e/default/pods`,
      `/api/v1/namespaces/%25%32%65%25%32%65/pods`,
      `/api/v1/namespaces/%2%45%2%45/default/pods`,
      `/api/v1/namespaces/default%zz/pods`,
      `//api/v1/namespaces/default/pods`,
      `/api/v1//namespaces/default/pods`,
      `/api/v1/namespaces/default;/pods`,
      `/api/v1/namespaces/${NS}/pods;ns=default`,
      `/api/v1/namespaces/${NS}/pods\\..\\..\\default\\pods`,
      `/api/v1/namespaces/${NS}/pods%5c..%5cdefault`,
      `/api/v1/namespaces/default%00/pods`,
      `/api/v1/namespaces/${NS}/pods#/../../default/pods`,
    ];
    for (const t of tricks) {
      for (const token of [viewerToken, rootToken]) {
        const rs = responses((await rawExchange(w, http1("GET", `${P}${t}`, [`Authorization: Bearer ${token}`]))).text);
        assert.equal(rs.length, 1, t);
        assert.match(assertStatus(rs[0]!.body, 400, t).message, /^Invalid request path: it contains /, t);
      }
    }
    // Raw bytes the HTTP parser refuses itself: never the proxy's.
    for (const t of [`/api/v1/namespaces/default\u0000/pods`, `/api/v1/namespaces/de fault/pods`]) {
      const { text } = await rawExchange(w, http1("GET", `${P}${t}`, [`Authorization: Bearer ${rootToken}`]));
      assert.match(text, /^HTTP\/1\.1 400 /, JSON.stringify(t));
    }
    // A CR LF in the request line ends it: what follows is the client's own header, judged as one
    // (here a --as someone else: refused).
    const crlf = responses((await rawExchange(w, http1("GET", `${P}/api/v1/namespaces/default\r\nImpersonate-User: admin\r\nX: /pods`, [`Authorization: Bearer ${rootToken}`]))).text);
    assert.ok([400, 403].includes(crlf[0]!.status), String(crlf[0]?.status));
    assert.equal(await streams(), before, "a refused path reached the agent");
  });

  test("a cluster id that is not valid, or tries to leave its cluster (another id, a NATS subject), is refused; another cluster's token never works", async () => {
    const before = await streams();
    for (const c of ["ATK", "atk.>", "atk.*", "atk>", "atk*", "atk.k8s", "atk%2e%3e", "a%20b", "atk%2fk8s%2f..%2f..%2fatk-other", "_INBOX", "atk\t", "x".repeat(300), "%61tk"]) {
      const rs = responses((await rawExchange(w, http1("GET", `/api/v1/clusters/${c}/k8s/api`, [`Authorization: Bearer ${rootToken}`]))).text);
      assert.equal(rs.length, 1, c);
      if (rs[0]!.status === 400 && !rs[0]!.body.startsWith("{")) continue; // the HTTP parser's own (a tab)
      const s = assertStatus(rs[0]!.body, 400, c);
      assert.match(s.message, /^Invalid (cluster id|request path)/, c);
    }
    // Escaping the cluster through the path: refused as a path.
    for (const t of [`${P}/../../${OTHER}/k8s/api`, `/api/v1/clusters/${CLUSTER}/k8s/%2e%2e/%2e%2e/${OTHER}/k8s/api`, `/api/v1/clusters//k8s/api`, `/api/v1/clusters/${CLUSTER}/../${OTHER}/k8s/api`]) {
      // Refused as a path (400 Status), or not a proxy path at all: the API's 401/404 (the k8s token is no API token).
      const rs = responses((await rawExchange(w, http1("GET", t, [`Authorization: Bearer ${rootToken}`]))).text);
      assert.ok([400, 401, 404].includes(rs[0]!.status), `${t}: ${rs[0]?.status}`);
      if (rs[0]!.status === 400) assertStatus(rs[0]!.body, 400, t);
    }
    // A valid id, but another cluster (one with a grant for the caller, one without): 401 before presence.
    for (const c of [OTHER, "nosuch"]) {
      const r = await w.api(rootToken, "GET", `/api/v1/clusters/${c}/k8s/api`);
      assert.equal(r.status, 401, `${c}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.kind, "Status");
    }
    assert.equal(await streams(), before, "a request for another cluster reached this cluster's agent");
  });

  test("what Ward forwards, the API server judges exactly as it judges the same user directly: never more permissive", async () => {
    const user = "ward:viewer@example.com";
    const paths = [
      `/api/v1/namespaces/${NS}/pods`,
      `/api/v1/namespaces/default/pods`,
      `/api/v1/namespaces/default/configmaps/atk-probe`,
      `/api/v1/pods`, `/api/v1/nodes`, `/api/v1/namespaces`, `/api/v1/persistentvolumes`,
      `/api/v1/namespaces/${NS}`, `/api/v1/namespaces/default`, `/api/v1/namespaces/${NS}/`, `/api/v1/namespaces/${NS}/status`,
      `/api/v1/watch/namespaces/${NS}?timeoutSeconds=1`, `/api/v1/watch/namespaces/default?timeoutSeconds=1`,
      `/api/v1/namespaces/${NS}/pods?namespace=default`,
      `/api/v1/namespaces/${NS}/pods?fieldSelector=metadata.namespace%3Ddefault`,
      `/api/v1/namespaces/${NS}/configmaps?watch=1&timeoutSeconds=1&namespace=default`,
      `/api/v1/pods?fieldSelector=metadata.namespace%3D${NS}`,
      `/api/v1/watch/namespaces/default/pods?timeoutSeconds=1`,
      `/api/v1/namespaces/%64efault/pods`,
      `/api/v1/namespaces/${NS}/pods/%c0%ae%c0%ae/pods`,
      `/api/v1/namespaces/%c0%ae%c0%ae/pods`,
      `/api/v1/namespaces/default%0d%0aImpersonate-User:%20admin/pods`,
      `/api/v1/namespaces/${NS}/secrets`,
      `/api/v1/namespaces/${NS}/pods/${kube.pod}/exec?command=id`,
      `/api/v1/namespaces/${NS}/pods/${kube.pod}/proxy/`,
      `/api/v1/nodes/${kube.node}/proxy/`,
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`,
      `/apis/rbac.authorization.k8s.io/v1/clusterroles`,
      `/API/v1/namespaces/${NS}/pods`,
      `/api`, `/version`, `/openapi/v2?timeout=1s`,
      `/api/v1/namespaces/${NS}/configmaps?dryRun=All&fieldManager=atk`,
    ];
    const mismatches: string[] = [];
    for (const p of paths) {
      const rs = responses((await rawExchange(w, http1("GET", `${P}${p}`, [`Authorization: Bearer ${viewerToken}`]))).text);
      const viaWard = rs[0]?.status ?? 0;
      const own = await direct(p, user);
      if (viaWard !== own) mismatches.push(`${p}: through Ward ${viaWard}, directly ${own}`);
      if (viaWard >= 400) assertStatus(rs[0]!.body, viaWard, p);
    }
    assert.deepEqual(mismatches, []);
    // The grant really is namespace-scoped: the API server names the user and the namespace.
    const other = await w.api(viewerToken, "GET", `${P}/api/v1/namespaces/default/pods`);
    assert.match(other.json.message, /User "ward:viewer@example\.com" cannot list resource "pods" in API group "" in the namespace "default"/);
  });

  test("a watch on the Namespace object a namespace grant allows ends when that grant is deleted", async () => {
    const m = await w.member("nsobj@example.com");
    const grant = await w.grant(m.id, { role: "view", scope: "namespace", namespace: NS });
    const token = await k8sToken(m);
    // The API server allows it: a RoleBinding in NS covers the Namespace object NS (RequestInfo's namespace is NS).
    assert.equal(await direct(`/api/v1/namespaces/${NS}`, "ward:nsobj@example.com"), 200);
    for (const path of [`/api/v1/namespaces?fieldSelector=metadata.name%3D${NS}&watch=1`, `/api/v1/watch/namespaces/${NS}`]) {
      const c = await rawConn(w);
      c.write(http1("GET", `${P}${path}`, [`Authorization: Bearer ${token}`]));
      if (path.includes("fieldSelector")) {
        // A cluster-wide list, even narrowed to one name: forbidden by the API server.
        await c.waitFor(/^HTTP\/1\.1 403 /);
        c.socket.destroy();
        continue;
      }
      await c.waitFor(/"type":"ADDED"/, 10_000);
      assert.equal((await w.api(w.adminToken, "DELETE", `/api/v1/clusters/${CLUSTER}/access/grants/${grant}`)).status, 204);
      const t0 = Date.now();
      await Promise.race([c.closedAt, new Promise((_, rej) => setTimeout(() => rej(new Error(`the watch on ${path} outlived its grant`)), 3000))]);
      assert.ok(Date.now() - t0 < 1500, `the watch ended ${Date.now() - t0} ms after the grant was deleted`);
    }
  });
});

describe("token confusion", () => {
  let kit: ForgeKit;
  let rootJti: string;
  let rootGen: number;
  before(async () => {
    kit = await gatewayKey(w);
    const c = claimsOf(rootToken);
    rootJti = c.jti as string;
    rootGen = c.gen as number;
  });

  /** Sends `token`; expects a 401 Status and a log line with `reason`, and never the token in the log. */
  async function refused(token: string, reason: RegExp, what: string, cluster = CLUSTER): Promise<void> {
    const from = w.gateway.output().length;
    const r = await w.api(token, "GET", `/api/v1/clusters/${cluster}/k8s/api/v1/namespaces/${NS}/configmaps`);
    assert.equal(r.status, 401, `${what}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.kind, "Status", what);
    assert.equal(r.json.code, 401, what);
    const lines = () => w.gateway.output().slice(from).split("\n").filter((l) => l.includes('"token rejected"'));
    await eventually(`${what}: the reason in the log`, () => lines().length > 0, { timeoutMs: 5000 });
    assert.match(lines()[0]!, reason, what);
    const sig = token.split(".")[2];
    assert.ok(!w.gateway.output().includes(token) && (!sig || sig.length < 8 || !w.gateway.output().includes(sig)), `${what}: the token is in the log`);
  }

  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

  test("algorithm, key and signature: alg none, HS256 keyed with the public key, another key, an embedded key, a tampered payload", async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: "ward", sub: root.id, aud: CLUSTER, jti: rootJti, gen: rootGen, iat: now, nbf: now, exp: now + 600 };
    await refused(`${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.`, /ERR_JOSE_ALG_NOT_ALLOWED/, "alg none");
    await refused(`${b64({ alg: "none", kid: kit.kid })}.${b64(claims)}.${rootToken.split(".")[2]}`, /ERR_JOSE_ALG_NOT_ALLOWED/, "alg none with a signature");
    await refused(`${b64({ alg: "NONE", kid: kit.kid })}.${b64(claims)}.`, /ERR_JOSE_ALG_NOT_ALLOWED/, "alg NONE");
    for (const secret of [Buffer.from(kit.publicJwk.x!, "base64url"), Buffer.from(JSON.stringify(kit.publicJwk)), Buffer.from(kit.publicJwk.x!)]) {
      const hs = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: kit.kid }).sign(new Uint8Array(secret));
      await refused(hs, /ERR_JOSE_ALG_NOT_ALLOWED/, "HS256 keyed with the public key");
    }
    const other = await generateKeyPair("EdDSA");
    await refused(await new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", kid: kit.kid }).sign(other.privateKey), /bad token: ERR_JWS_SIGNATURE_VERIFICATION_FAILED/, "another key, our kid");
    await refused(await new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", kid: "attacker" }).sign(other.privateKey), /unknown kid/, "another key, its kid");
    const { exportJWK } = await import("jose");
    await refused(await new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", jwk: await exportJWK(other.publicKey) }).sign(other.privateKey), /unknown kid|bad token/, "an embedded jwk");
    const [h, , s] = rootToken.split(".");
    await refused(`${h}.${b64({ ...claims, sub: viewer.id })}.${s}`, /bad token: ERR_JWS_SIGNATURE_VERIFICATION_FAILED/, "a tampered payload");
    await refused(`${rootToken}x`, /bad token/, "a signature with a byte more");
    await refused("x".repeat(5000), /token too long/, "a 5,000-character token");
  });

  test("claims: wrong audience, issuer, expired, not yet valid, missing claims, another cluster's token id, an older generation", async () => {
    const base = { sub: root.id, aud: CLUSTER, jti: rootJti, gen: rootGen };
    const now = Math.floor(Date.now() / 1000);
    await refused(await kit.sign({ ...base, aud: OTHER }), /claim aud invalid/, "another cluster's audience");
    await refused(await kit.sign({ ...base, aud: [OTHER, "x"] }), /claim aud invalid/, "an audience list without the cluster");
    await refused(await kit.sign({ ...base, iss: "https://evil.example.com" }), /claim iss invalid/, "another issuer");
    await refused(await kit.sign({ ...base, iat: now - 3600, nbf: now - 3600, exp: now - 60 }), /token expired/, "expired a minute ago");
    await refused(await kit.sign({ ...base, nbf: now + 3600 }), /claim nbf invalid/, "not valid for an hour");
    await refused(await kit.sign({ ...base, exp: undefined }), /claim exp invalid|missing|bad token/, "no exp");
    await refused(await kit.sign({ ...base, nbf: undefined }), /claim nbf invalid|missing|bad token/, "no nbf");
    await refused(await kit.sign({ ...base, jti: undefined }), /claim jti invalid|missing|bad token/, "no jti");
    await refused(await kit.sign({ ...base, gen: undefined }), /missing generation/, "no generation");
    await refused(await kit.sign({ ...base, gen: rootGen - 1 }), /stale access generation/, "an older generation");
    await refused(await kit.sign({ ...base, gen: rootGen + 1 }), /stale access generation/, "a future generation");
    await refused(await kit.sign({ ...base, jti: "k_made_up" }), /unknown token id/, "a made-up token id");
    await refused(await kit.sign({ ...base, sub: viewer.id }), /unknown token id/, "another member's subject with this token id");
    // A real token of the other cluster: its id is not one of this cluster's, whatever the audience says.
    const otherToken = await k8sToken(root, OTHER);
    await refused(otherToken, /claim aud invalid/, "the other cluster's token");
    await refused(await kit.sign({ ...base, jti: claimsOf(otherToken).jti }), /unknown token id/, "the other cluster's token id with this audience");
    await refused(rootToken, /claim aud invalid/, "this cluster's token on the other cluster", OTHER);
  });

  test("revoked, revoke-all, a disabled robot, and the gateway's other credentials used as a bearer", async () => {
    // Revoked one by one; then an older access generation after revoke-all.
    const m = await w.member("tokens@example.com");
    await w.grant(m.id, { role: "view", scope: "namespace", namespace: NS });
    const t1 = await w.api(m.token, "POST", `/api/v1/clusters/${CLUSTER}/k8s-token`, {});
    assert.equal((await w.api(m.token, "DELETE", `/api/v1/clusters/${CLUSTER}/access/tokens/${t1.json.token_id}`)).status, 204);
    await refused(t1.json.token, /token revoked/, "a revoked token");

    // A robot's token while the robot is active, then after it is disabled.
    const bot = await w.api(w.adminToken, "POST", "/api/v1/members", { email: "ci-bot@example.com", robot: true });
    assert.equal(bot.status, 201, JSON.stringify(bot.json));
    await w.grant(bot.json.member.id, { role: "view", scope: "namespace", namespace: NS });
    const botK8s = await w.api(bot.json.api_token, "POST", `/api/v1/clusters/${CLUSTER}/k8s-token`, {});
    assert.equal(botK8s.status, 200);
    assert.equal((await w.api(botK8s.json.token, "GET", `${P}/api/v1/namespaces/${NS}/configmaps`)).status, 200);
    await refused(bot.json.api_token, /bad token/, "the robot's API token as a bearer");
    assert.equal((await w.api(w.adminToken, "PATCH", `/api/v1/members/${bot.json.member.id}`, { status: "disabled" })).status, 200);
    // Disabling a member revokes their k8s tokens (the reason says so; "member disabled" before the revocation lands).
    await refused(botK8s.json.token, /token revoked|member disabled/, "a disabled robot's token");

    // Other credentials of the gateway: a member API token, the admin's, a CLI session's access and
    // refresh tokens and its device code, a portal session cookie.
    await refused(root.token, /bad token/, "a member API token");
    await refused(w.adminToken, /bad token/, "the admin's API token");
    // The bootstrap admin's portal session (its cookie), which also approves a CLI device login.
    const form = (body: Record<string, string>) => new URLSearchParams(body).toString();
    const boot = form({ code: bootstrapCode });
    const login = responses((await rawExchange(w, http1("POST", "/bootstrap", ["Content-Type: application/x-www-form-urlencoded", `Content-Length: ${boot.length}`], boot))).text)[0]!;
    assert.equal(login.status, 302, login.body);
    const [cookieName, cookieValue] = /^set-cookie: ([^=]+)=([^;\r]+)/im.exec(login.head)!.slice(1) as [string, string];
    const cookie = `Cookie: ${cookieName}=${cookieValue}`;
    const start = await fetchJson("POST", "/api/v1/auth/device", { client_name: "atk" });
    const page = responses((await rawExchange(w, http1("GET", `/device?user_code=${encodeURIComponent(String(start.user_code))}`, [cookie]))).text)[0]!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const approve = form({ _csrf: csrf, user_code: String(start.user_code), action: "approve" });
    const approved = responses((await rawExchange(w, http1("POST", "/device", [cookie, "Content-Type: application/x-www-form-urlencoded", `Content-Length: ${approve.length}`], approve))).text)[0]!;
    assert.match(approved.body, /Device approved/);
    const tok = await fetchJson("POST", "/api/v1/auth/token", { grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: String(start.device_code) });
    assert.ok(tok.access_token && tok.refresh_token, JSON.stringify(Object.keys(tok)));
    // The bootstrap admin has a grant: only the credential's kind refuses it.
    const admin = (await w.api(String(tok.access_token), "GET", "/api/v1/me")).json.member;
    await w.grant(admin.id, { role: "cluster-admin" });
    await refused(String(tok.access_token), /bad token/, "a CLI session access token");
    await refused(String(tok.refresh_token), /bad token/, "a refresh token");
    await refused(String(start.device_code), /bad token/, "a device code");
    await refused(decodeURIComponent(cookieValue), /bad token/, "a portal session cookie's value");
    const viaCookie = responses((await rawExchange(w, http1("GET", `${P}/api/v1/namespaces/${NS}/configmaps`, [cookie]))).text);
    assertStatus(viaCookie[0]!.body, 401, "a portal session cookie on the proxy path");

    // revoke-all bumps the generation: every earlier token of the cluster is refused.
    const m2 = await k8sToken(root);
    assert.equal((await w.api(w.adminToken, "POST", `/api/v1/clusters/${CLUSTER}/access/revoke-all`, {})).status, 200);
    await refused(m2, /stale access generation|token revoked/, "a token from before revoke-all");
    rootToken = await k8sToken(root);
    viewerToken = await k8sToken(viewer);
    assert.equal((await w.api(rootToken, "GET", `${P}/api/v1/namespaces/${NS}/configmaps`)).status, 200);
  });

  async function fetchJson(method: string, path: string, body: Record<string, string>): Promise<Record<string, unknown>> {
    const text = new URLSearchParams(body).toString();
    const { text: out } = await rawExchange(w, http1(method, path, ["Content-Type: application/x-www-form-urlencoded", `Content-Length: ${text.length}`, "Connection: close"], text));
    const r = responses(out)[0]!;
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body) as Record<string, unknown>;
  }
});

describe("upgrade handling", () => {
  const execPath = () => `${P}/api/v1/namespaces/${NS}/pods/${kube.pod}/exec?command=cat&stdin=true&stdout=true&container=${kube.container}`;
  const wsHeaders = (token: string) => [`Authorization: Bearer ${token}`, "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol: v5.channel.k8s.io"];

  /**
   * Sends an upgrade that fails, then (pipelined in the same write, or after its answer) a request
   * that would create a marker: exactly one response comes back, the connection closes, and the
   * marker never exists. The follow-up carries a cluster-admin token, so it would have run.
   */
  async function failedThenSmuggle(what: string, upgrade: string, status: number, statusFrom: "gateway" | "apiserver"): Promise<void> {
    for (const when of ["pipelined", "after the answer"] as const) {
      const before = await streams();
      const name = marker();
      const follow = markerRequest(P, NS, name, rootToken) + markerRequest("", NS, name, rootToken);
      const c = await rawConn(w);
      c.write(when === "pipelined" ? upgrade + follow : upgrade);
      await c.waitFor(/^HTTP\/1\.1 \d{3} [^]*?\r\n\r\n/, 15_000);
      if (when === "after the answer") c.write(follow);
      await Promise.race([c.closedAt, new Promise((_, rej) => setTimeout(() => rej(new Error(`${what} (${when}): the connection stayed open:\n${c.text().slice(0, 500)}`)), 5000))]);
      const rs = responses(c.text());
      assert.equal(rs.length, 1, `${what} (${when}): ${c.text().slice(0, 600)}`);
      assert.equal(rs[0]!.status, status, `${what} (${when}): ${c.text().slice(0, 600)}`);
      assert.notEqual(rs[0]!.status, 101);
      assert.match(rs[0]!.head, /^connection: close$/im, `${what}: the answer does not say the connection closes`);
      if (rs[0]!.body.startsWith("{")) assertStatus(rs[0]!.body, status, what);
      assert.equal(await streams(), before + (statusFrom === "apiserver" ? 1 : 0), `${what} (${when}): streams at the agent`);
    }
    assert.equal(await configMapExistsAny(), false, `${what}: a request after a failed upgrade reached the API server`);
  }

  async function configMapExistsAny(): Promise<boolean> {
    const r = await kubectlOk({ kubectl: kube.kubectl.newest, kubeconfig: kube.kubeconfig }, ["get", "configmaps", "-A", "-o", "name"]);
    return /smuggled-/.test(r);
  }

  test("a failed upgrade (401, 403, 400 at the gateway) followed by another request: one answer, closed, nothing reaches the API server", async () => {
    await failedThenSmuggle("no token", http1("GET", execPath(), wsHeaders("").slice(1)), 401, "gateway");
    await failedThenSmuggle("a bad token", http1("GET", execPath(), wsHeaders("not-a-token")), 401, "gateway");
    await failedThenSmuggle("--as someone else", http1("GET", execPath(), [...wsHeaders(rootToken), "Impersonate-User: admin"]), 403, "gateway");
    await failedThenSmuggle("a bad path", http1("GET", `${P}/api/v1/namespaces/${NS}/pods/${kube.pod}/../x/exec`, wsHeaders(rootToken)), 400, "gateway");
    await failedThenSmuggle("another cluster", http1("GET", execPath().replace(`/${CLUSTER}/`, `/${OTHER}/`), wsHeaders(rootToken)), 401, "gateway");
  });

  test("the API server refusing an upgrade (403, 404, 400) is relayed as is, then the connection closes; a request after it never runs", async () => {
    // RBAC: view cannot exec.
    await failedThenSmuggle("exec without pods/exec", http1("GET", execPath(), wsHeaders(viewerToken)), 403, "apiserver");
    await failedThenSmuggle("exec in a pod that does not exist", http1("GET", execPath().replace(kube.pod, "nosuch"), wsHeaders(rootToken)), 404, "apiserver");
    await failedThenSmuggle("SPDY exec with no stream", http1("POST", `${P}/api/v1/namespaces/${NS}/pods/${kube.pod}/exec?command=id&container=${kube.container}`,
      [`Authorization: Bearer ${rootToken}`, "Connection: Upgrade", "Upgrade: SPDY/3.1", "X-Stream-Protocol-Version: v4.channel.k8s.io", "Content-Length: 0"]), 400, "apiserver");
  });

  test("unknown protocols (h2c, foo, two at once), HTTP/2 extended CONNECT, and WebSocket on a path that does not stream are refused at the gateway", async () => {
    const before = await streams();
    const list = `${P}/api/v1/namespaces/${NS}/configmaps`;
    for (const [what, req] of [
      ["h2c with HTTP2-Settings", http1("GET", list, [`Authorization: Bearer ${rootToken}`, "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"])],
      ["Upgrade: foo", http1("GET", execPath(), [`Authorization: Bearer ${rootToken}`, "Connection: Upgrade", "Upgrade: foo"])],
      ["two protocols", http1("GET", execPath(), [`Authorization: Bearer ${rootToken}`, "Connection: Upgrade", "Upgrade: websocket", "Upgrade: SPDY/3.1"])],
      ["WebSocket on a list", http1("GET", list, wsHeaders(rootToken))],
      ["WebSocket on a create", http1("POST", list, wsHeaders(rootToken))],
      ["WebSocket on the whoami", http1("POST", `${P}${WHOAMI}`, wsHeaders(rootToken))],
      ["SPDY on a Secret", http1("POST", `${P}/api/v1/namespaces/${NS}/secrets`, [`Authorization: Bearer ${rootToken}`, "Connection: Upgrade", "Upgrade: SPDY/3.1"])],
    ] as const) {
      const { text, closed } = await rawExchange(w, req + markerRequest(P, NS, marker(), rootToken));
      const rs = responses(text);
      assert.equal(rs.length, 1, `${what}: ${text.slice(0, 500)}`);
      assert.equal(rs[0]!.status, 400, `${what}: ${text.slice(0, 500)}`);
      assert.match(assertStatus(rs[0]!.body, 400, what).message, /Bad upgrade request/, what);
      assert.ok(closed, `${what}: not closed`);
    }
    // Upgrade without "Connection: Upgrade" is no upgrade: an ordinary request, answered over HTTP/1.1.
    const plain = responses((await rawExchange(w, http1("GET", list, [`Authorization: Bearer ${rootToken}`, "Upgrade: websocket", "Connection: close"]))).text);
    assert.equal(plain[0]!.status, 200);
    assert.match(plain[0]!.body, /"kind":"ConfigMapList"/);
    // HTTP/2 extended CONNECT (RFC 8441) is off: the stream never becomes a request.
    const h2 = await rawH2(w);
    h2.headers(1, [[":method", "CONNECT"], [":protocol", "websocket"], [":scheme", "https"], [":authority", "localhost"], [":path", execPath()], ["authorization", `Bearer ${rootToken}`], ["sec-websocket-version", "13"]], false);
    h2.headers(3, [[":method", "CONNECT"], [":authority", "127.0.0.1:6443"], ["authorization", `Bearer ${rootToken}`]], false);
    await eventually("the CONNECT streams end", () => (h2Done(h2, 1) && h2Done(h2, 3)) || h2.closed, { timeoutMs: 5000 });
    // Extended CONNECT is reset (nghttp2 without SETTINGS_ENABLE_CONNECT_PROTOCOL); a plain CONNECT is no proxy request.
    assert.ok(!h2.answered(1), `extended CONNECT was answered ${h2Status(h2, 1)}`);
    assert.ok(!h2.answered(3) || (h2Status(h2, 3) ?? 0) >= 400, `CONNECT was answered ${h2Status(h2, 3)}`);
    h2.socket.destroy();
    assert.equal(await streams(), before + 1, "only the plain GET reached the agent");
    await noMarkers();
  });

  test("an upgrade with a body, and requests pipelined behind a successful upgrade, never become requests", async () => {
    const before = await streams();
    const name = marker();
    const inner = markerRequest("", NS, name, rootToken) + markerRequest(P, NS, name, rootToken);
    // A declared body on an upgrade: refused before the agent.
    for (const framing of [`Content-Length: ${inner.length}`, "Transfer-Encoding: chunked"]) {
      const body = framing.startsWith("Transfer") ? `${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n` : inner;
      const { text, closed } = await rawExchange(w, http1("POST", execPath(), [...wsHeaders(rootToken), framing], body));
      const rs = responses(text);
      assert.equal(rs.length, 1, `${framing}: ${text.slice(0, 500)}`);
      assert.equal(rs[0]!.status, 400, `${framing}: ${text.slice(0, 500)}`);
      assert.match(assertStatus(rs[0]!.body, 400, framing).message, /body/);
      assert.ok(closed);
    }
    assert.equal(await streams(), before, "an upgrade with a body reached the agent");
    // A valid exec upgrade with requests right behind it: after the 101 those bytes are the
    // WebSocket's (the API server takes them for frames and ends the session), never HTTP requests.
    const c = await rawConn(w);
    c.write(http1("GET", execPath(), wsHeaders(rootToken)) + inner);
    await c.waitFor(/^HTTP\/1\.1 101 /, 15_000);
    await Promise.race([c.closedAt, new Promise((r) => setTimeout(r, 3000))]);
    c.socket.destroy();
    assert.equal(responses(c.text()).length, 1);
    assert.doesNotMatch(c.text(), /HTTP\/1\.1 (201|401|403)/, "a pipelined request was answered");
    await noMarkers();
    // The exec itself still works afterwards.
    assert.equal((await kubectlOk({ kubectl: kube.kubectl.newest, kubeconfig: await rootKubeconfig() }, ["exec", kube.pod, "-n", NS, "-c", kube.container, "--", "echo", "still-fine"])).trim(), "still-fine");
  });

  async function rootKubeconfig(): Promise<string> {
    await w.mintKubeconfig(root);
    return root.kubeconfig;
  }
});

