import assert from "node:assert/strict";
import { test } from "node:test";
import {
  isOwnUser, isUpgradeRequest, requestedUpgrade,
  gatewayRequestHeaders, IDENTITY_HEADER, MissingIdentityError, requestId, responseHeaders, streamKind, upstreamRequestHeaders, type Identity,
} from "./headers.ts";

const alice: Identity = { member: "m1", user: "ward:alice", groups: ["ward:members"] };

function names(h: string[]): string[] {
  return h.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
}
function values(h: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < h.length; i += 2) if (h[i]!.toLowerCase() === name) out.push(h[i + 1]!);
  return out;
}

const smuggling: [string, string[]][] = [
  ["Authorization", ["Authorization", "Bearer stolen"]],
  ["lower-case impersonation", ["impersonate-user", "admin"]],
  ["mixed-case, repeated impersonation", ["ImPeRsOnAtE-User", "admin", "IMPERSONATE-GROUP", "system:masters", "Impersonate-Group", "x"]],
  ["extra impersonation", ["Impersonate-Extra-Scopes", "all", "Impersonate-Uid", "0"]],
  ["forged Ward identity", [IDENTITY_HEADER, Buffer.from(JSON.stringify({ member: "x", user: "system:admin", groups: ["system:masters"] })).toString("base64url")]],
  ["Connection-named header", ["Connection", "Impersonate-User, Accept", "Accept", "application/json"]],
  ["proxy headers", ["Proxy-Authorization", "Basic x", "X-Remote-User", "admin", "X-Remote-Group", "system:masters"]],
];

for (const [label, client] of smuggling) {
  test(`client ${label} cannot change the impersonated identity`, () => {
    const through = gatewayRequestHeaders([...client, "User-Agent", "kubectl"], alice);
    const { headers, identity } = upstreamRequestHeaders(through, "api:6443");
    assert.deepEqual(identity, alice);
    assert.deepEqual(values(headers, "impersonate-user"), ["ward:alice"]);
    assert.deepEqual(values(headers, "impersonate-group"), ["ward:members"]);
    assert.deepEqual(values(headers, "authorization"), []);
    for (const n of names(headers)) assert.ok(!/^(x-ward-|x-remote-|proxy-auth|impersonate-(extra|uid))/.test(n), n);
    assert.deepEqual(values(headers, "user-agent"), ["kubectl"]);
    if (label === "Connection-named header") assert.deepEqual(values(headers, "accept"), []);
  });
}

test("the agent never forwards without an identity, or with two", () => {
  assert.throws(() => upstreamRequestHeaders(["Accept", "x"], "h"), MissingIdentityError);
  const one = gatewayRequestHeaders([], alice);
  assert.throws(() => upstreamRequestHeaders([...one, ...one], "h"), MissingIdentityError);
  assert.throws(() => upstreamRequestHeaders([IDENTITY_HEADER, "not-json"], "h"), MissingIdentityError);
  assert.throws(() => upstreamRequestHeaders([IDENTITY_HEADER, Buffer.from('{"member":"m","user":"","groups":[]}').toString("base64url")], "h"), MissingIdentityError);
});

test("upgrades keep Upgrade and WebSocket/SPDY headers, with a clean Connection", () => {
  const client = ["Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Key", "k", "Sec-WebSocket-Version", "13",
    "Sec-WebSocket-Protocol", "v5.channel.k8s.io", "X-Stream-Protocol-Version", "v4.channel.k8s.io", "Host", "gw"];
  const { headers } = upstreamRequestHeaders(gatewayRequestHeaders(client, alice), "api:6443");
  assert.deepEqual(values(headers, "connection"), ["Upgrade"]);
  assert.deepEqual(values(headers, "upgrade"), ["websocket"]);
  assert.deepEqual(values(headers, "host"), ["api:6443"]);
  assert.deepEqual(values(headers, "sec-websocket-protocol"), ["v5.channel.k8s.io"]);
  assert.deepEqual(values(headers, "x-stream-protocol-version"), ["v4.channel.k8s.io"]);
  // Without Connection: upgrade, an Upgrade header is dropped.
  const plain = upstreamRequestHeaders(gatewayRequestHeaders(["Upgrade", "websocket"], alice), "h").headers;
  assert.deepEqual(values(plain, "upgrade"), []);
});

test("response hop-by-hop headers are dropped except on a 101", () => {
  const raw = ["Content-Type", "application/json", "Transfer-Encoding", "chunked", "Connection", "keep-alive, X-Foo", "X-Foo", "1", "Keep-Alive", "timeout=5"];
  assert.deepEqual(responseHeaders(raw, 200), ["Content-Type", "application/json"]);
  assert.deepEqual(responseHeaders(["Upgrade", "websocket", "Connection", "Upgrade"], 101), ["Upgrade", "websocket", "Connection", "Upgrade"]);
});

test("response headers carry no connection-specific header, which HTTP/2 forbids, and keep repeated ones", () => {
  const raw = [
    "Connection", "close", "KEEP-ALIVE", "timeout=5", "transfer-encoding", "chunked", "Upgrade", "h2c", "Proxy-Connection", "keep-alive",
    "TE", "trailers", "HTTP2-Settings", "AAA", "Warning", "299 - \"one\"", "Set-Cookie", "a=1", "warning", "299 - \"two\"", "Set-Cookie", "b=2",
  ];
  assert.deepEqual(responseHeaders(raw, 200), ["Warning", "299 - \"one\"", "Set-Cookie", "a=1", "warning", "299 - \"two\"", "Set-Cookie", "b=2"]);
});

test("an HTTP/2 request's pseudo-headers never go through the tunnel", () => {
  const h2 = [":method", "GET", ":path", "/api/v1/pods", ":authority", "ward.example:8443", ":scheme", "https", "accept", "application/json", "user-agent", "kubectl"];
  const through = gatewayRequestHeaders(h2, alice, "r1");
  assert.deepEqual(names(through), ["accept", "user-agent", "x-request-id", IDENTITY_HEADER]);
  assert.deepEqual(values(upstreamRequestHeaders(through, "api:6443").headers, "host"), ["api:6443"]);
});

test("stream kinds", () => {
  assert.equal(streamKind("GET", "/api/v1/pods", "?watch=true", false), "watch");
  assert.equal(streamKind("GET", "/api/v1/namespaces/d/pods/p/log", "?follow=true", false), "watch");
  assert.equal(streamKind("GET", "/api/v1/pods", "", false), "request");
  assert.equal(streamKind("POST", "/api/v1/namespaces/d/pods/p/exec", "?command=ls", true), "exec");
  assert.equal(streamKind("POST", "/api/v1/namespaces/d/pods/p/portforward", "", true), "portforward");
});

test("kubectl --as may name the caller by email or by the mapped Kubernetes user, nobody else", () => {
  const me = { member: "m1", user: "dev@example.com", groups: [] };
  for (const ok of ["dev@example.com", "ward:dev@example.com", "corp.ward:dev@example.com"]) assert.equal(isOwnUser(ok, me), true, ok);
  for (const bad of ["admin", "system:admin", "ward:admin@example.com", "xdev@example.com", ":dev@example.com", "a b:dev@example.com", "ward:ward:dev@example.comx", "Dev@example.com"]) {
    assert.equal(isOwnUser(bad, me), false, bad);
  }
});

test("only WebSocket and SPDY/3.1 upgrades are relayed", () => {
  const ask = (...h: string[]) => ["Host", "x", ...h];
  const relayed: string[][] = [
    ask("Connection", "Upgrade", "Upgrade", "websocket"),
    ask("connection", "keep-alive, upgrade", "UPGRADE", "WebSocket"),
    ask("Connection", "Upgrade", "Upgrade", "SPDY/3.1"),
  ];
  const refused: string[][] = [
    ask("Connection", "Upgrade", "Upgrade", "h2c"),
    ask("Connection", "Upgrade", "Upgrade", "HTTP/2"),
    ask("Connection", "Upgrade", "Upgrade", "made-up"),
    ask("Connection", "Upgrade", "Upgrade", "websocket, h2c"),
    ask("Connection", "Upgrade", "Upgrade", "websocket", "Upgrade", "websocket"),
    ask("Connection", "Upgrade", "Upgrade", "SPDY/3"),
    ask("Connection", "Upgrade", "Upgrade", ""),
    ask("Upgrade", "websocket"), // Connection does not name it
  ];
  for (const h of relayed) assert.equal(isUpgradeRequest(h), true, h.join(" "));
  for (const h of refused) assert.equal(isUpgradeRequest(h), false, h.join(" "));
  assert.equal(requestedUpgrade(ask("Upgrade", "websocket")), null);
  assert.equal(requestedUpgrade(ask("Connection", "upgrade", "Upgrade", "h2c")), "h2c");
  assert.equal(requestedUpgrade(ask("Connection", "upgrade", "Upgrade", "a, b")), "");
});

test("request ids: the client's well-formed id is kept, exactly one goes to the agent and back to the client", () => {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const table: [string, string[], string | RegExp][] = [
    ["none", [], uuid],
    ["well-formed", ["X-Request-Id", "abc-123"], "abc-123"],
    ["lower case", ["x-request-id", "abc:1.2_3"], "abc:1.2_3"],
    ["malformed", ["X-Request-Id", "a b\u0000"], uuid],
    ["too long", ["X-Request-Id", "x".repeat(129)], uuid],
    ["two of them", ["X-Request-Id", "a", "x-request-id", "b"], uuid],
  ];
  for (const [label, client, want] of table) {
    const id = requestId(client);
    if (typeof want === "string") assert.equal(id, want, label);
    else assert.match(id, want, label);
    const through = gatewayRequestHeaders([...client, "Accept", "*/*"], alice, id);
    assert.deepEqual(values(through, "x-request-id"), [id], label);
    assert.deepEqual(values(upstreamRequestHeaders(through, "h").headers, "x-request-id"), [id], label);
    const back = responseHeaders(["Content-Type", "application/json", "X-Request-Id", "upstream-forged"], 200, id);
    assert.deepEqual(values(back, "x-request-id"), [id], label);
  }
});
