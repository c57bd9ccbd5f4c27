/**
 * The exec credential cache kubectl can read without starting Ward: ready-made ExecCredential
 * files, one per apiVersion, named after the second until which they may be handed out
 * (`v1-<epoch>.json`, `v1beta1-<epoch>.json`), plus `served` (the pid of the kubectl they were last
 * handed to). A kubeconfig's credential command (see `fastPathScript` in internal/kubeconfig)
 * serves a still-good file with `cat` and runs `ward cluster kube-token` for everything else.
 *
 * Only a signed-in person's credentials go here (never a `WARD_TOKEN`'s): the entry is keyed by
 * gateway and cluster, so `ward login` and `ward logout` drop the whole cache.
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { cacheDir, writeFilePrivate } from "./files.ts";

type Env = Record<string, string | undefined>;

export const EXEC_CACHE_DIR = "kube-exec";
const VERSIONS = { v1: "client.authentication.k8s.io/v1", v1beta1: "client.authentication.k8s.io/v1beta1" } as const;
const ENTRY = /^(v1|v1beta1)-(\d+)\.json$/;

/**
 * kubectl's credential command on POSIX systems: `/bin/sh -c FAST_PATH_SCRIPT ward KEY cluster
 * kube-token …`. It answers from the cache entry KEY with no Node start (a `date` and a `cat`) when
 * all of these hold, and runs `ward cluster kube-token …` otherwise:
 *   - no WARD_TOKEN (a robot's credentials never go to this cache);
 *   - kubectl asked for v1 or v1beta1 (absent KUBERNETES_EXEC_INFO means v1beta1, as in kube-token);
 *   - the entry was not last handed to this same kubectl — client-go asks a second time only after
 *     a 401, and then `ward` fetches a fresh token;
 *   - a file for that version is still good (its name holds the second it stops being good).
 * The cache directory follows the same variables as `cacheDir()`.
 */
export const FAST_PATH_SCRIPT = `# Ward: a cached credential without starting ward, else 'ward cluster kube-token'
d=\${WARD_CACHE_DIR:-\${XDG_CACHE_HOME:-$HOME/.cache}/ward}/${EXEC_CACHE_DIR}/$1
shift
case \${WARD_TOKEN:+robot}:$KUBERNETES_EXEC_INFO in
robot:*) v= ;;
:) v=v1beta1 ;;
*'authentication.k8s.io/v1beta1"'*) v=v1beta1 ;;
*'authentication.k8s.io/v1"'*) v=v1 ;;
*) v= ;;
esac
s=
[ -z "$v" ] || { read -r s; } 2>/dev/null <"$d/served"
if [ -n "$v" ] && [ "$s" != "$PPID" ]; then
  n=$(date +%s)
  for f in "$d/$v-"*.json; do
    t=\${f##*/$v-}; t=\${t%.json}
    case $t in ''|*[!0-9]*) continue ;; esac
    if [ "$t" -gt "$n" ]; then
      echo "$PPID" 2>/dev/null >"$d/served"
      cat "$f" 2>/dev/null && exit 0
    fi
  done
fi
exec "$0" "$@"
`;

const SAFE = /^[A-Za-z0-9.-]$/;
/** Longer keys get no fast path (kubectl runs `ward` directly): file names stay well inside limits. */
export const MAX_EXEC_CACHE_KEY = 200;

/**
 * The entry's directory name under `kube-exec/`: non-secret, filesystem-safe and one-to-one, so
 * two gateways never share an entry (a token must only ever go to the gateway that minted it).
 * The cluster id (which has no `_`), `_`, then the gateway URL with every byte outside
 * `[A-Za-z0-9.-]` written as `_XX`: `prod_https_3A_2F_2Fward.example.com`.
 */
export function execCacheKey(gatewayUrl: string, cluster: string): string {
  let url = "";
  for (const b of Buffer.from(gatewayUrl, "utf8")) {
    const c = String.fromCharCode(b);
    url += SAFE.test(c) ? c : `_${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return `${cluster}_${url}`;
}

function entryDir(env: Env, key: string): string {
  return join(cacheDir(env), EXEC_CACHE_DIR, key);
}

/** The kubectl (parent pid) the cached credential was last handed to, if any. */
export function readServed(env: Env, key: string): number | undefined {
  try {
    const n = Number(readFileSync(join(entryDir(env, key), "served"), "utf8").trim());
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export function writeServed(env: Env, key: string, parent: number): void {
  writeFilePrivate(join(entryDir(env, key), "served"), `${parent}\n`);
}

/** The ExecCredential kubectl reads on stdout, for either apiVersion. */
export function execCredentialJson(apiVersion: string, token: string, expiresAt: string): string {
  const expirationTimestamp = new Date(Date.parse(expiresAt)).toISOString().replace(/\.\d{3}Z$/, "Z");
  return JSON.stringify({ apiVersion, kind: "ExecCredential", status: { token, expirationTimestamp } }) + "\n";
}

/**
 * Publishes a token for the fast path: both apiVersions, valid until `goodUntil` (ms), replacing
 * whatever the entry held.
 */
export function writeExecCredential(env: Env, key: string, token: string, expiresAt: string, goodUntil: number): void {
  const dir = entryDir(env, key);
  const until = Math.floor(goodUntil / 1000);
  const keep = new Set<string>();
  for (const [name, apiVersion] of Object.entries(VERSIONS)) {
    const file = `${name}-${until}.json`;
    keep.add(file);
    writeFilePrivate(join(dir, file), execCredentialJson(apiVersion, token, expiresAt));
  }
  for (const f of readdirSync(dir)) {
    if (ENTRY.test(f) && !keep.has(f)) rmSync(join(dir, f), { force: true });
  }
}

/** Drops every fast-path credential (sign-in and sign-out: the person behind them may change). */
export function clearExecCache(env: Env = process.env): void {
  rmSync(join(cacheDir(env), EXEC_CACHE_DIR), { recursive: true, force: true });
}
