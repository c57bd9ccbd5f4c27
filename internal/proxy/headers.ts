/**
 * Header policy on the proxy path, as pure functions over Node's flat rawHeaders lists.
 *
 * Gateway: drops every client header that could carry identity (Authorization, Impersonate-*,
 * X-Ward-*), in any case, repeated, or named in Connection, then adds one X-Ward-Identity header.
 * Agent: keeps only an allow-list toward the API server, removes the same identity headers again,
 * and sets its own Impersonate-User / Impersonate-Group from the identity the gateway sent.
 */
import type { RawHeaders } from "../tunnel/index.ts";
import { REQUEST_ID_HEADER, requestIdFrom } from "../validate/index.ts";

export interface Identity {
  /** Ward member id (for audit and live revocation). */
  member: string;
  /** The Kubernetes user the agent impersonates, e.g. "ward:alice@example.com". */
  user: string;
  groups: string[];
}

export const IDENTITY_HEADER = "x-ward-identity";

const IDENTITY_BEARING = /^(authorization|proxy-authorization|impersonate-.*|x-ward-.*|x-remote-.*)$/i;

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "transfer-encoding", "http2-settings"]);

/** Headers the agent passes to the API server (lower case). Everything else is dropped. */
const UPSTREAM_ALLOW = new Set([
  "accept", "accept-encoding", "accept-language", "cache-control", "content-type", "content-length", "content-encoding",
  "user-agent", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since",
  "audit-id", "x-request-id", "kubectl-command", "kubectl-session", "x-stream-protocol-version",
  "sec-websocket-key", "sec-websocket-version", "sec-websocket-protocol", "sec-websocket-extensions", "upgrade",
  "x-kubernetes-pf-error", "x-kubernetes-pf-port", "x-kubernetes-pf-requestid",
]);

function connectionNamed(raw: RawHeaders): Set<string> {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === "connection") {
      for (const t of raw[i + 1]!.split(",")) named.add(t.trim().toLowerCase());
    }
  }
  return named;
}

/** The upgrades relayed to the API server: kubectl's streaming protocols, nothing else (no h2c). */
const RELAYED_UPGRADES = new Set(["websocket", "spdy/3.1"]);

/**
 * The protocol a request asks to upgrade to (lower case): null when it asks for none (no Upgrade
 * header, or Connection does not name it), "" when the ask is malformed (several Upgrade headers or
 * protocols, an empty value).
 */
export function requestedUpgrade(raw: RawHeaders): string | null {
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === "upgrade") values.push(raw[i + 1]!.trim().toLowerCase());
  if (values.length === 0 || !connectionNamed(raw).has("upgrade")) return null;
  return values.length === 1 && /^[!#$%&'*+.^_`|~0-9a-z/-]+$/.test(values[0]!) ? values[0]! : "";
}

/** True when the request asks for an upgrade the proxy relays: WebSocket or SPDY/3.1. */
export function isUpgradeRequest(raw: RawHeaders): boolean {
  const u = requestedUpgrade(raw);
  return u !== null && RELAYED_UPGRADES.has(u);
}

/**
 * Whether a `kubectl --as` user names the caller: their email, or the Kubernetes user the agent
 * maps it to (`<prefix>:<email>`, as `kubectl auth whoami` shows it). The agent impersonates the
 * caller's own identity either way; this only decides between passing and a clear 403.
 */
export function isOwnUser(asked: string, identity: Identity): boolean {
  if (asked === identity.user) return true;
  const i = asked.length - identity.user.length - 1;
  return i > 0 && asked.endsWith(identity.user) && asked[i] === ":" && /^[A-Za-z0-9._-]+$/.test(asked.slice(0, i));
}

/** Client-sent Impersonate-* headers (for the gateway's `kubectl --as` policy). */
export function requestedImpersonation(raw: RawHeaders): { user?: string; groups: string[] } {
  const out: { user?: string; groups: string[] } = { groups: [] };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === "impersonate-user") out.user = raw[i + 1]!;
    else if (name === "impersonate-group") out.groups.push(raw[i + 1]!);
  }
  return out;
}

/** The request's id: the client's `X-Request-Id` when it sent exactly one well-formed one, else a new UUID. */
export function requestId(raw: RawHeaders): string {
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === REQUEST_ID_HEADER) values.push(raw[i + 1]!);
  return requestIdFrom(values);
}

/**
 * Gateway: the headers sent through the tunnel. With `reqId`, the client's `X-Request-Id` headers
 * are replaced by exactly one carrying it. An HTTP/2 request's pseudo-headers (`:method`, `:path`,
 * `:authority`, `:scheme`, which Node lists in its rawHeaders) are the request line, not headers:
 * never sent on (`:authority` plays Host's role, and Host is the agent's to set).
 */
export function gatewayRequestHeaders(raw: RawHeaders, identity: Identity, reqId?: string): string[] {
  const named = connectionNamed(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (name.charCodeAt(0) === 58 /* ":" */ || IDENTITY_BEARING.test(lower) || lower === "host" || (named.has(lower) && lower !== "upgrade")) continue;
    if (reqId !== undefined && lower === REQUEST_ID_HEADER) continue;
    out.push(name, raw[i + 1]!);
  }
  if (reqId !== undefined) out.push("X-Request-Id", reqId);
  out.push(IDENTITY_HEADER, Buffer.from(JSON.stringify(identity)).toString("base64url"));
  return out;
}

export class MissingIdentityError extends Error {
  override name = "MissingIdentityError";
}

function decodeIdentity(value: string): Identity {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
  } catch {
    throw new MissingIdentityError("The stream's identity header is not valid");
  }
  const id = v as Identity;
  if (
    typeof id?.member !== "string" || typeof id.user !== "string" || id.user === "" ||
    !Array.isArray(id.groups) || !id.groups.every((g) => typeof g === "string" && g !== "")
  ) {
    throw new MissingIdentityError("The stream's identity header is incomplete");
  }
  return { member: id.member, user: id.user, groups: id.groups };
}

/**
 * Agent: the headers sent to the API server, with impersonation of the identity the gateway set.
 * Throws MissingIdentityError when there is none: the agent never forwards without impersonating.
 */
export function upstreamRequestHeaders(raw: RawHeaders, host: string, userPrefix = ""): { headers: string[]; identity: Identity } {
  const named = connectionNamed(raw);
  const upgrade = isUpgradeRequest(raw);
  const out: string[] = ["Host", host];
  let identity: Identity | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (lower === IDENTITY_HEADER) {
      if (identity) throw new MissingIdentityError("The stream carries more than one identity header");
      identity = decodeIdentity(raw[i + 1]!);
      continue;
    }
    if (!UPSTREAM_ALLOW.has(lower) || IDENTITY_BEARING.test(lower)) continue;
    if (named.has(lower) && lower !== "upgrade") continue;
    if (lower === "upgrade" && !upgrade) continue;
    out.push(name, raw[i + 1]!);
  }
  if (!identity) throw new MissingIdentityError("The stream carries no identity");
  if (upgrade) out.push("Connection", "Upgrade");
  out.push("Impersonate-User", userPrefix + identity.user);
  for (const g of identity.groups) out.push("Impersonate-Group", g);
  return { headers: out, identity };
}

/**
 * Response headers relayed to the client: hop-by-hop headers dropped (kept for a 101). With
 * `reqId`, exactly one `X-Request-Id` carrying it.
 */
export function responseHeaders(raw: RawHeaders, status: number, reqId?: string): string[] {
  const named = connectionNamed(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (status !== 101 && (HOP_BY_HOP.has(lower) || named.has(lower))) continue;
    if (reqId !== undefined && lower === REQUEST_ID_HEADER) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  if (reqId !== undefined) out.push("X-Request-Id", reqId);
  return out;
}

/** The stream kind, which picks the idle timeout. */
export function streamKind(method: string, upstreamPath: string, query: string, upgrade: boolean): "request" | "watch" | "exec" | "portforward" {
  if (upgrade) return /\/portforward$/.test(upstreamPath) ? "portforward" : "exec";
  if (method === "GET") {
    if (/[?&]watch=(true|1)(&|$)/.test(query) || /[?&]follow=(true|1)(&|$)/.test(query) || upstreamPath.includes("/watch/")) return "watch";
  }
  return "request";
}

/** Whether a request carries a body: a non-zero Content-Length or any Transfer-Encoding (RFC 9112 §6.3). */
export function hasBody(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === "transfer-encoding") return true;
    if (name === "content-length" && raw[i + 1]!.trim() !== "0") return true;
  }
  return false;
}
