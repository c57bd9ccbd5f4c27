/**
 * Fuzz target `header-policy`: the proxy's header rules (`internal/proxy/headers.ts`) over header
 * lists with every case, repeat and `Connection` trick: what the gateway sends through the tunnel,
 * what the agent sends the API server after a real frame round trip, and what goes back to the client.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { gatewayRequestHeaders, IDENTITY_HEADER, isUpgradeRequest, responseHeaders, upstreamRequestHeaders, type Identity } from "../../../internal/proxy/index.ts";
import { decodeMessage, encodeFrame } from "../../../internal/tunnel/internal.ts";
import { fuzzProperty, type FuzzTarget } from "./fuzz_target.ts";

const NAMES = [
  "Authorization", "Proxy-Authorization", "Impersonate-User", "Impersonate-Group", "Impersonate-Uid", "Impersonate-Extra-Scopes",
  "X-Ward-Identity", "X-Ward-Member", "X-Remote-User", "X-Remote-Group", "X-Remote-Extra-Scopes", "Host", "Connection", "Keep-Alive",
  "Upgrade", "TE", "Transfer-Encoding", "Proxy-Connection", "Trailer", "HTTP2-Settings", "Accept", "User-Agent", "Content-Type",
  "Content-Length", "X-Request-Id", "Audit-Id", "Sec-WebSocket-Key", "X-Stream-Protocol-Version", "Kubectl-Command", "X-Custom",
  ":path", ":authority", ":method", "Authorization2", "XAuthorization", "Impersonate", "X-Wardidentity", "X-Remote",
];
const name = fc.mixedCase(fc.constantFrom(...NAMES));
const ows = fc.constantFrom("", " ", "\t", "  ", " \t");
/** A Connection value: header names (or nothing) between commas, with optional whitespace. */
const connectionValue = fc.array(fc.tuple(ows, fc.oneof(name, fc.constant("")), ows).map((p) => p.join("")), { minLength: 1, maxLength: 4 }).map((t) => t.join(","));
/** A header value as Node hands it over: latin1, no control characters but tab. */
const value = fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff }), fc.constant(9)).map((c) => String.fromCharCode(c)), maxLength: 20 });
const header = name.chain((n) => {
  const lower = n.toLowerCase();
  const v = lower === "connection" ? fc.oneof(connectionValue, fc.mixedCase(fc.constant("Upgrade"))) : lower === "upgrade" ? fc.constantFrom("websocket", "SPDY/3.1", "h2c", "") : value;
  return v.map((x) => [n, x] as const);
});
const rawHeaders = fc.array(header, { maxLength: 24 }).map((h) => h.flat());
const identity: fc.Arbitrary<Identity> = fc.record({
  member: fc.string({ maxLength: 12 }),
  user: fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }),
  groups: fc.array(fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }), { maxLength: 3 }),
});
const requestId = fc.option(fc.stringMatching(/^[A-Za-z0-9._:-]{1,20}$/), { nil: undefined });

const lower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
/** Names listed in any Connection header (RFC 9110 §7.6.1: comma-separated, optional whitespace). */
function connectionNamed(raw: readonly string[]): Set<string> {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (lower(raw[i]!) === "connection") for (const t of raw[i + 1]!.split(",")) named.add(lower(t.replace(/^[ \t]+|[ \t]+$/g, "")));
  }
  return named;
}
/** Headers that carry or claim an identity: the client must never set them. */
const identityBearing = (n: string) => n === "authorization" || n === "proxy-authorization" || /^(impersonate-|x-ward-|x-remote-)/.test(n);
/** Hop-by-hop (RFC 9110 §7.6.1, RFC 2616 §13.5.1) and HTTP/2's connection-specific fields (RFC 9113 §8.2.2). */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "http2-settings"]);

const pairs = (h: readonly string[]) => Array.from({ length: h.length / 2 }, (_, i) => [h[2 * i]!, h[2 * i + 1]!] as const);
const b64 = (id: Identity) => Buffer.from(JSON.stringify(id)).toString("base64url");

const gateway = fc.property(rawHeaders, identity, requestId, (raw, id, reqId) => {
  const named = connectionNamed(raw);
  const kept = pairs(raw).filter(([n]) => {
    const l = lower(n);
    return !l.startsWith(":") && !identityBearing(l) && l !== "host" && !(named.has(l) && l !== "upgrade") && !(reqId !== undefined && l === "x-request-id");
  });
  const want = [...kept.flat(), ...(reqId === undefined ? [] : ["X-Request-Id", reqId]), IDENTITY_HEADER, b64(id)];
  assert.deepEqual(gatewayRequestHeaders(raw, id, reqId), want);
});

/** Names the agent always passes on when the client sent them and Connection does not name them. */
const ALWAYS_PASSED = new Set(["accept", "user-agent", "content-type", "audit-id", "x-stream-protocol-version", "kubectl-command", "sec-websocket-key"]);

const endToEnd = fc.property(rawHeaders, identity, requestId, fc.constantFrom("", "ward:", "corp:"), (raw, id, reqId, prefix) => {
  const through = gatewayRequestHeaders(raw, id, reqId);
  // Through a real open frame and back, as the agent receives them.
  const [open] = decodeMessage(encodeFrame({ type: "open", stream: 1, seq: 0, kind: "request", window: 1, method: "GET", path: "/", headers: through }));
  assert.ok(open?.type === "open");
  const { headers, identity: got } = upstreamRequestHeaders(open.headers, "api.internal:6443", prefix);
  assert.deepEqual(got, { ...id }, "the agent impersonates exactly the gateway's identity");
  const tail = ["Impersonate-User", prefix + id.user, ...id.groups.flatMap((g) => ["Impersonate-Group", g])];
  const upgrade = isUpgradeRequest(open.headers) ? ["Connection", "Upgrade"] : [];
  assert.deepEqual(headers.slice(0, 2), ["Host", "api.internal:6443"]);
  assert.deepEqual(headers.slice(headers.length - tail.length - upgrade.length), [...upgrade, ...tail]);
  const middle = pairs(headers.slice(2, headers.length - tail.length - upgrade.length));
  const named = connectionNamed(through);
  for (const [n] of middle) {
    const l = lower(n);
    assert.ok(!identityBearing(l) && l !== "host" && l !== "connection" && !l.startsWith(":"), `the API server got ${n}`);
    assert.ok(!named.has(l) || l === "upgrade", `the API server got ${n}, which Connection names`);
  }
  // In order, and nothing the client sent that the API server needs is lost.
  const sent = pairs(through);
  let j = 0;
  for (const p of middle) {
    while (j < sent.length && (sent[j]![0] !== p[0] || sent[j]![1] !== p[1])) j++;
    assert.ok(j++ < sent.length, `${p[0]} out of order or not from the client`);
  }
  const passed = sent.filter(([n]) => ALWAYS_PASSED.has(lower(n)) && !named.has(lower(n)));
  assert.deepEqual(middle.filter(([n]) => ALWAYS_PASSED.has(lower(n))), passed);
});

const response = fc.property(rawHeaders, fc.constantFrom(101, 200, 204, 404, 500), requestId, (raw, status, reqId) => {
  const named = connectionNamed(raw);
  const kept = pairs(raw).filter(([n]) => {
    const l = lower(n);
    return (status === 101 || !(HOP_BY_HOP.has(l) || named.has(l))) && !(reqId !== undefined && l === "x-request-id");
  });
  assert.deepEqual(responseHeaders(raw, status, reqId), [...kept.flat(), ...(reqId === undefined ? [] : ["X-Request-Id", reqId])]);
});

export const headerPolicyTarget: FuzzTarget = {
  name: "header-policy",
  what: "proxy headers in any case, repeat and Connection trick: no identity, hop-by-hop or Connection-named header crosses; the rest in order",
  properties: [
    fuzzProperty("gateway: exactly the client's harmless headers, then one identity", 2000, gateway),
    fuzzProperty("agent after a frame round trip: only the gateway's identity is impersonated", 2000, endToEnd),
    fuzzProperty("responses: no hop-by-hop header but on a 101, one request id", 2000, response),
  ],
};
