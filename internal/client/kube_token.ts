/**
 * `ward cluster kube-token`: the kubectl exec credential plugin. Prints an ExecCredential with a
 * short-lived k8s token for one cluster, cached per gateway/cluster/member until shortly before
 * it expires. It runs on every kubectl invocation, so it loads only Node built-ins and never
 * prompts: without credentials it says to run `ward login` and fails.
 */
import { join } from "node:path";
import { isValidClusterId } from "../validate/index.ts";
import { execCacheKey, execCredentialJson, readServed, writeExecCredential, writeServed } from "./exec_cache.ts";
import { cacheDir, cacheStem, readJson, writeJsonPrivate } from "./files.ts";
import { call, ClientError } from "./http.ts";
import { resolveCredentials } from "./session.ts";

type Env = Record<string, string | undefined>;

const API_VERSIONS = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"];

/** The apiVersion kubectl asked for in KUBERNETES_EXEC_INFO (v1beta1 when absent, as old kubectls send none). */
export function execApiVersion(env: Env): string {
  const info = env["KUBERNETES_EXEC_INFO"];
  if (!info) return "client.authentication.k8s.io/v1beta1";
  let v: unknown;
  try {
    v = (JSON.parse(info) as { apiVersion?: unknown }).apiVersion;
  } catch {
    throw new ClientError("KUBERNETES_EXEC_INFO is not valid JSON");
  }
  if (typeof v !== "string" || !API_VERSIONS.includes(v)) {
    throw new ClientError(`Unsupported exec credential apiVersion ${JSON.stringify(v)}: use ${API_VERSIONS.join(" or ")} in the kubeconfig`);
  }
  return v;
}

interface CachedToken {
  token: string;
  issued_at: string;
  expires_at: string;
  /**
   * The kubectl process it was last handed to. client-go runs the plugin once per process and
   * again only after a 401, so a second call from the same parent means the token was refused
   * (revoked, or access changed): fetch a new one instead of handing out the same again.
   */
  served_to?: number;
}

/** A cached token is reused while more than a fifth of its life (at most 60 s) is left. */
function goodUntil(t: CachedToken): number {
  const exp = Date.parse(t.expires_at);
  return exp - Math.min(60_000, (exp - Date.parse(t.issued_at)) / 5);
}

function stillGood(t: CachedToken | undefined, now: number): t is CachedToken {
  return !!t && typeof t.token === "string" && now < goodUntil(t);
}

/**
 * The same parent asking again for a token minted a while ago: it was refused. A token minted in
 * the last few seconds is handed out again (a fresh one would be refused alike, and a script that
 * calls the plugin in a loop must not mint on every call).
 */
function refusedBefore(t: CachedToken, parent: number, now: number, servedByFastPath: number | undefined): boolean {
  return (t.served_to === parent || servedByFastPath === parent) && now - Date.parse(t.issued_at) > 5_000;
}

export interface KubeTokenOptions {
  cluster: string;
  gateway?: string | undefined;
  env?: Env;
  now?: () => number;
  /** Default `process.ppid` (the kubectl that runs the plugin). */
  parentPid?: number;
}

export async function kubeToken(opts: KubeTokenOptions): Promise<string> {
  const env = opts.env ?? process.env;
  const now = opts.now ?? Date.now;
  if (!isValidClusterId(opts.cluster)) throw new ClientError(`Invalid cluster id ${JSON.stringify(opts.cluster)}`);
  const apiVersion = execApiVersion(env);
  const creds = resolveCredentials({ gateway: opts.gateway, env, now });
  // One-to-one in gateway and cluster (a token only ever goes to the gateway that minted it), then who asks.
  const file = join(cacheDir(env), "kube-tokens", `${execCacheKey(creds.gateway.url, opts.cluster)}_${cacheStem(creds.principal)}.json`);
  const parent = opts.parentPid ?? process.ppid;
  // A signed-in person's token also goes to the exec cache a kubeconfig's fast path reads (a
  // WARD_TOKEN's never: that entry is keyed by gateway and cluster, not by who asks).
  const fastKey = env["WARD_TOKEN"] ? undefined : execCacheKey(creds.gateway.url, opts.cluster);
  let t = readJson<CachedToken>(file);
  if (!stillGood(t, now()) || refusedBefore(t, parent, now(), fastKey === undefined ? undefined : readServed(env, fastKey))) {
    const r = await call<{ token: string; expires_at: string }>(creds.gateway, `/api/v1/clusters/${opts.cluster}/k8s-token`, { method: "POST", token: await creds.token(), json: {} });
    t = { token: r.token, issued_at: new Date(now()).toISOString(), expires_at: r.expires_at, served_to: parent };
  } else {
    t = { ...t, served_to: parent };
  }
  writeJsonPrivate(file, t);
  if (fastKey !== undefined) {
    writeExecCredential(env, fastKey, t.token, t.expires_at, goodUntil(t));
    writeServed(env, fastKey, parent);
  }
  return execCredentialJson(apiVersion, t.token, t.expires_at);
}
