/**
 * The proxy path `/api/v1/clusters/{cluster_id}/k8s/...`, parsed once from the RAW request target.
 * The cluster id has a strict charset; anything that could change the cluster or escape `/k8s`
 * after a decoding or normalising step (dot segments, encoded separators or dots, double
 * encoding, `//`, `;`, `#`, `\`) is refused. Pure.
 */
import { isValidClusterId } from "../validate/index.ts";
import { ProxyError } from "./status.ts";

export const PROXY_PREFIX = "/api/v1/clusters/";

export interface ProxyTarget {
  cluster: string;
  /** Path and query for the API server, always starting with "/". */
  upstream: string;
  /** The upstream path without the query. */
  upstreamPath: string;
  query: string;
}

const FORBIDDEN_IN_PATH: [RegExp, string][] = [
  [/%2e/i, "an encoded '.'"],
  [/%2f/i, "an encoded '/'"],
  [/%5c/i, "an encoded '\\'"],
  [/%25/i, "a double-encoded character"],
  // `%2%45` decodes to `%2E`; Go refuses it anyway (invalid URL escape), a lenient decoder would not.
  [/%(?![0-9a-f]{2})/i, "a '%' not followed by two hex digits"],
  [/%00/i, "an encoded NUL"],
  [/\/\//, "an empty segment ('//')"],
  [/;/, "a ';'"],
  [/#/, "a '#'"], // no fragment in a request target; a normaliser would cut it and resolve `..#` to `..`
  [/\\/, "a '\\'"],
  [/(^|\/)\.\.?(\/|$)/, "a '.' or '..' segment"],
  [/[\x00-\x20\x7f]/, "a control character or space"],
];

/** Returns the target, null when the URL is not a proxy path, or throws a 400 ProxyError. */
export function parseProxyPath(rawUrl: string): ProxyTarget | null {
  if (!rawUrl.startsWith(PROXY_PREFIX)) return null;
  const q = rawUrl.indexOf("?");
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = q === -1 ? "" : rawUrl.slice(q);
  const rest = path.slice(PROXY_PREFIX.length);
  const slash = rest.indexOf("/");
  const cluster = slash === -1 ? rest : rest.slice(0, slash);
  const after = slash === -1 ? "" : rest.slice(slash);
  if (!after.startsWith("/k8s") || (after.length > 4 && after[4] !== "/")) return null; // another API under /clusters/{id}
  for (const [re, what] of FORBIDDEN_IN_PATH) {
    if (re.test(path)) throw new ProxyError(400, `Invalid request path: it contains ${what}`);
  }
  if (!isValidClusterId(cluster)) {
    throw new ProxyError(400, `Invalid cluster id ${JSON.stringify(cluster.slice(0, 64))}: use lowercase letters, digits and '-'`);
  }
  const upstreamPath = after.length > 4 ? after.slice(4) : "/";
  return { cluster, upstream: upstreamPath + query, upstreamPath, query };
}

/**
 * Whether the API server may upgrade a request for this path, so the proxy relays an upgrade: an
 * object's subresource (`…/pods/P/exec`, `attach`, `portforward`, `…/proxy/…` of pods, services
 * and nodes, and the like of aggregated APIs, such as a virtual machine's console) or a watch
 * (`?watch=true`, or the legacy `/watch/` paths). A list, a create or an object itself never
 * streams: an upgrade there is refused before it reaches the agent. `upstreamPath` is as parsed
 * (no dot segments, no empty segments). Pure.
 */
export function isUpgradablePath(upstreamPath: string, query: string): boolean {
  const m = /^\/(?:api\/[^/]+|apis\/[^/]+\/[^/]+)(\/.*)?$/.exec(upstreamPath);
  if (!m) return false;
  let parts = (m[1] ?? "").split("/").slice(1);
  if (parts[0] === "watch") return parts.length > 1;
  if (/[?&]watch=(true|1)(&|$)/i.test(query)) return true;
  if (parts[0] === "namespaces" && parts.length > 2) parts = parts.slice(2);
  return parts.length >= 3; // RESOURCE/NAME/SUBRESOURCE[/...]
}
