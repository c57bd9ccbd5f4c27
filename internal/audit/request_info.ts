/**
 * What a Kubernetes API request does, read from its method, path and query the way the API
 * server's RequestInfo resolver reads them: `get` of one object or `list` of a collection, `watch`
 * via `?watch=1` or the legacy `/watch/` prefix, `deletecollection`, the namespace (also of a
 * Namespace's `status`/`finalize`), resource, name and subresource. Other paths (`/version`,
 * `/openapi/v2`, `/healthz`) are non-resource requests: the verb is the lower-case method. Pure.
 */
export interface RequestInfo {
  /** A path under /api or /apis (a resource request). */
  resourceRequest: boolean;
  verb: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

const METHOD_VERB: Record<string, string> = { POST: "create", GET: "get", HEAD: "get", PUT: "update", PATCH: "patch", DELETE: "delete" };
/** Subresources of a Namespace itself: `/api/v1/namespaces/NS/status` acts on the Namespace NS. */
const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

function queryFlag(query: string, name: string): boolean {
  const q = query.startsWith("?") ? query.slice(1) : query;
  for (const pair of q.split("&")) {
    const eq = pair.indexOf("=");
    if ((eq === -1 ? pair : pair.slice(0, eq)) !== name) continue;
    const v = eq === -1 ? "" : pair.slice(eq + 1).toLowerCase();
    return v === "1" || v === "true";
  }
  return false;
}

function segment(s: string | undefined): string {
  if (s === undefined) return "";
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** `path` without the query; `query` with or without its leading `?`. */
export function requestInfo(method: string, path: string, query = ""): RequestInfo {
  const upper = method.toUpperCase();
  const parts = path.split("/").filter((p) => p !== "").map(segment);
  const info: RequestInfo = { resourceRequest: false, verb: upper.toLowerCase(), apiGroup: "", apiVersion: "", resource: "", subresource: "", namespace: "", name: "" };
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 2) {
    info.apiVersion = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 3) {
    info.apiGroup = parts[1]!;
    info.apiVersion = parts[2]!;
    rest = parts.slice(3);
  } else {
    return info;
  }
  if (rest.length === 0) return info; // discovery: /api/v1, /apis/apps/v1
  info.resourceRequest = true;
  info.verb = METHOD_VERB[upper] ?? upper.toLowerCase();
  let watchPrefix = false;
  if (rest[0] === "watch") {
    watchPrefix = true;
    rest = rest.slice(1);
  }
  if (rest[0] === "namespaces" && rest.length > 1) {
    info.namespace = rest[1]!;
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2]!)) rest = rest.slice(2);
  }
  info.resource = rest[0] ?? "";
  info.name = rest[1] ?? "";
  info.subresource = rest.slice(2).join("/");
  if (watchPrefix) info.verb = "watch";
  else if (info.verb === "get" && info.name === "") info.verb = queryFlag(query, "watch") ? "watch" : "list";
  else if (info.verb === "delete" && info.name === "") info.verb = "deletecollection";
  return info;
}
