/**
 * Fuzz target `proxy-path`: `/api/v1/clusters/{id}/k8s/...` as the gateway parses it from the raw
 * request target (`internal/proxy/path.ts`), and what it then reads from the upstream path
 * (`requestNamespace`, which decides which streams a grant's revocation closes).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { parseProxyPath, PROXY_PREFIX, ProxyError, requestNamespace, type ProxyTarget } from "../../../internal/proxy/index.ts";
import { fuzzProperty, type FuzzTarget } from "./fuzz_target.ts";

/** Pieces that decode, normalise or separate into something else somewhere along the way. */
const PIECES = [
  "api", "v1", "pods", "a", "/", "/", "/", "//", ".", "..", "...", "%2e", "%2E", "%2f", "%2F", "%5c", "%5C", "%25", "%", "2", "e", "E", "f", "5", "c",
  "%00", "%41", "%61", "%2", "%%", "%32", "%35", "%65", "%45", "%63", "%66", "%252e", "%c0%ae", "%e2%80%a5", "%ef%bc%8e", "\\", ";", "?", "#", "&", "=", "\u2025", "\uff0e", "\u00e9", "\u00ff",
  " ", "\t", "\n", "\x7f", "+", "~", "-", "_", ":", "@", "!", "$", "'", "(", ")", "*", ",", "%3f", "%23", "%3B", "%20", "%u002e",
];
const piece = fc.constantFrom(...PIECES);
const pieces = (maxLength: number) => fc.array(piece, { maxLength }).map((p) => p.join(""));
const clusterId = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const cluster = fc.oneof({ arbitrary: clusterId, weight: 4 }, pieces(3), fc.constantFrom("PROD", "a.b", "a*b", "a>", "-a", "", "%70rod", "x".repeat(64)));
const rawTarget = fc
  .tuple(cluster, fc.oneof({ arbitrary: fc.constant("/k8s"), weight: 4 }, fc.constantFrom("", "/k8sx", "/K8s", "/k8s%2f", "/%6b8s", "/./k8s")), fc.oneof({ arbitrary: pieces(12).map((p) => "/" + p), weight: 4 }, pieces(12)), fc.option(pieces(4), { nil: undefined }))
  .map(([c, k8s, rest, query]) => PROXY_PREFIX + c + k8s + rest + (query === undefined ? "" : "?" + query));

/** Lenient percent-decoding (what a sloppy proxy or framework might do): valid escapes only, one byte each. */
const decodeOnce = (s: string) => s.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
/** `s` decoded again and again until it stops changing, `\` read as `/` (as WHATWG URLs and Windows servers do). */
function decodedFully(s: string): string {
  for (let i = 0; i < 8; i++) {
    const next = decodeOnce(s);
    if (next === s) break;
    s = next;
  }
  return s.replace(/\\/g, "/");
}

/** The path has no `.`/`..` segment, no empty segment (but a trailing one) and no NUL however it is decoded. */
function assertNoEscape(path: string, what: string): void {
  const decoded = decodedFully(path);
  const segments = decoded.split("/").slice(1);
  for (const [i, s] of segments.entries()) {
    assert.ok(s !== "." && s !== "..", `${what} ${JSON.stringify(path)} has a dot segment once decoded: ${JSON.stringify(decoded)}`);
    assert.ok(s !== "" || i === segments.length - 1, `${what} ${JSON.stringify(path)} has an empty segment once decoded: ${JSON.stringify(decoded)}`);
  }
  assert.ok(!decoded.includes("\0"), `${what} ${JSON.stringify(path)} holds a NUL once decoded`);
}

const DNS1123_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Either not a proxy path, or a 400 ProxyError, or a target that cannot leave its cluster's `/k8s`. */
function parsed(raw: string): ProxyTarget | null | "refused" {
  try {
    return parseProxyPath(raw);
  } catch (e) {
    assert.ok(e instanceof ProxyError && e.status === 400, `only a 400 ProxyError is thrown, not ${String(e)}`);
    return "refused";
  }
}

const contained = fc.property(rawTarget, (raw) => {
  const t = parsed(raw);
  const path = raw.split("?")[0]!;
  if (t === "refused") return;
  if (t === null) {
    assert.ok(!/^\/api\/v1\/clusters\/[^/]*\/k8s(\/|$)/.test(path), `a proxy path was not taken as one: ${JSON.stringify(raw)}`);
    return;
  }
  const base = PROXY_PREFIX + t.cluster + "/k8s";
  assert.ok(DNS1123_LABEL.test(t.cluster), `cluster id ${JSON.stringify(t.cluster)}`);
  assert.ok(raw.startsWith(base) && (raw.length === base.length || "/?".includes(raw[base.length]!)), "the cluster is the raw target's own");
  assert.equal(t.upstream, t.upstreamPath + t.query);
  assert.ok(t.upstreamPath.startsWith("/") && !t.upstreamPath.includes("?") && (t.query === "" || t.query.startsWith("?")));
  assert.equal(path, t.upstreamPath === "/" && path === base ? base : base + t.upstreamPath);
  assertNoEscape(path, "accepted path");
  // A normalising front (WHATWG URL: dot segments, `\`, tabs) routes it to the same cluster's /k8s.
  const normal = new URL(raw, "http://ward.invalid").pathname;
  assert.ok(normal === base || normal.startsWith(base + "/"), `normalised to ${JSON.stringify(normal)}`);
  // Stable: the target written back out parses to itself.
  assert.deepEqual(parseProxyPath(base + t.upstream), t, "re-parse");
});

/**
 * The namespace kube-apiserver's RequestInfo resolver reads (k8s.io/apiserver requestinfo.go):
 * from the decoded path, after `/api/VERSION` or `/apis/GROUP/VERSION` and a `watch`/`proxy` verb.
 * `undefined` when the API server refuses the path or it is not a resource request.
 */
function kubeRequestNamespace(rawPath: string): { namespace: string; resource: string } | undefined {
  if (/%(?![0-9a-fA-F]{2})/.test(rawPath)) return undefined; // Go's URL parser refuses it: 400
  const trimmed = decodeOnce(rawPath).replace(/^\/+|\/+$/g, "");
  let parts = trimmed === "" ? [] : trimmed.split("/");
  if (parts.length < 3 || (parts[0] !== "api" && parts[0] !== "apis")) return undefined;
  const grouped = parts[0] === "apis";
  parts = parts.slice(1);
  if (grouped) {
    if (parts.length < 3) return undefined;
    parts = parts.slice(1); // the group
  }
  parts = parts.slice(1); // the version
  if (parts[0] === "watch" || parts[0] === "proxy") {
    if (parts.length < 2) return undefined;
    parts = parts.slice(1);
  }
  let namespace = "";
  if (parts[0] === "namespaces" && parts.length > 1) {
    namespace = parts[1]!;
    if (parts.length > 2 && parts[2] !== "status" && parts[2] !== "finalize") parts = parts.slice(2);
  }
  return { namespace, resource: parts[0] ?? "" };
}

/** Each character percent-encoded or not, in either case of hex digit. */
const maybeEncoded = (s: string) =>
  fc.array(fc.constantFrom("plain", "lower", "upper"), { minLength: s.length, maxLength: s.length }).map((how) =>
    [...s].map((ch, i) => {
      const hex = ch.charCodeAt(0).toString(16).padStart(2, "0");
      return how[i] === "plain" ? ch : "%" + (how[i] === "upper" ? hex.toUpperCase() : hex);
    }).join(""),
  );
const namespace = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/).chain((ns) => fc.oneof(fc.constant(ns), maybeEncoded(ns)));
const kubePath = fc
  .tuple(
    fc.constantFrom("/api/v1", "/apis/apps/v1", "/apis/rbac.authorization.k8s.io/v1"),
    fc.constantFrom("", "/watch", "/proxy"),
    fc.constantFrom("/namespaces", "/namespace", "/pods"),
    namespace,
    fc.constantFrom("", "/", "/pods", "/pods/p", "/pods/p/log", "/status", "/finalize", "/configmaps/c", "/namespaces/x/pods"),
    fc.constantFrom("", "?watch=1", "?labelSelector=a%3Db"),
  )
  .map(([api, verb, word, ns, rest, query]) => ({ path: api + verb + word + "/" + ns + rest, query }));

const namespaceAgrees = fc.property(kubePath, ({ path, query }) => {
  const t = parsed(PROXY_PREFIX + "c/k8s" + path + query);
  assert.ok(t !== null && t !== "refused", `a plain API path was refused: ${path}`);
  assert.equal(t.upstreamPath, path);
  const kube = kubeRequestNamespace(path);
  if (!kube) return;
  const ward = requestNamespace(t.upstreamPath);
  // The Namespace object itself too: a RoleBinding in NS allows getting and watching it.
  if (kube.namespace !== "") assert.equal(ward, kube.namespace, `the API server acts in namespace ${kube.namespace}`);
  if (kube.namespace === "") assert.equal(ward, null, "the API server acts at cluster level");
});

export const proxyPathTarget: FuzzTarget = {
  name: "proxy-path",
  what: "proxy request targets: nothing leaves the cluster's /k8s however decoded or normalised; re-parse stable; namespace as the API server reads it",
  properties: [
    fuzzProperty("accepted paths stay in their cluster's /k8s", 10000, contained),
    fuzzProperty("the namespace Ward records is the API server's", 5000, namespaceAgrees),
  ],
};
