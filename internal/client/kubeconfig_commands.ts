/**
 * `ward cluster kubeconfig add|remove|list`: Ward-managed entries (`ward-<cluster>`) in the
 * kubeconfig kubectl reads, written atomically; every other byte of the file stays as it was.
 */
import { UsageError, type Invocation } from "../cli/command.ts";
import {
  addWardEntry, defaultNamespace, editKubeconfigFile, kubeconfigPaths, listWardEntries, listWardEntriesAcross, removeWardEntry, resolveKubeconfigPath, wardName,
  type WardUser,
} from "../kubeconfig/index.ts";
import { api, credentialsFor, outputFormat, str, type MyCluster } from "./commands.ts";
import { execCacheKey, FAST_PATH_SCRIPT, MAX_EXEC_CACHE_KEY } from "./exec_cache.ts";
import { ClientError } from "./http.ts";
import { table } from "./output.ts";
import { isDns1123Label, isValidClusterId } from "../validate/index.ts";

/** The command kubectl runs for credentials: this executable when it is the single binary, else `ward`. */
async function defaultExecCommand(): Promise<string> {
  try {
    const sea = await import("node:sea");
    if (sea.isSea()) return process.execPath;
  } catch {
    // not a single executable
  }
  return "ward";
}

/** A namespace default for namespace-only access: the one namespace, else none (with the list). */
function namespaceHint(c: MyCluster): { namespace?: string; note?: string } {
  const { namespace, namespaces } = defaultNamespace(c.grants);
  if (namespace) return { namespace, note: `access is limited to namespace ${namespace}: the context defaults to it` };
  return namespaces.length ? { note: `access is limited to namespaces ${namespaces.join(", ")}: use -n NAMESPACE or --namespace` } : {};
}

export async function runKubeconfigAdd(inv: Invocation): Promise<number> {
  const f = inv.flags;
  const cluster = str(f, "cluster");
  const all = f.all === true;
  if (!!cluster === all) throw new UsageError("Pass either --cluster ID or --all", inv.path);
  if (all && f.use === true) throw new UsageError("--use needs a single --cluster (it sets kubectl's current context)", inv.path);
  if (cluster && !isValidClusterId(cluster)) throw new UsageError(`Invalid cluster id ${JSON.stringify(cluster)}`, inv.path);
  const namespace = str(f, "namespace");
  if (namespace !== undefined && !isDns1123Label(namespace)) throw new UsageError(`Invalid namespace ${JSON.stringify(namespace)}: a DNS-1123 label`, inv.path);
  const print = f.print === true;
  const embed = f["embed-token"] === true;
  if (embed && str(f, "exec-command")) throw new UsageError("--embed-token and --exec-command exclude each other", inv.path);

  const creds = credentialsFor(inv);
  const { clusters } = await api<{ clusters: MyCluster[] }>(creds, "/api/v1/me/clusters");
  let targets: MyCluster[];
  if (cluster) {
    const c = clusters.find((x) => x.id === cluster);
    if (!c) throw new ClientError(`No cluster ${cluster} you can access: 'ward cluster list' shows yours`);
    targets = [c];
  } else {
    targets = clusters.filter((c) => c.grants.length);
    if (!targets.length) throw new ClientError("You have no grants on any cluster: ask an admin for access");
  }
  const insecure = f["insecure-skip-tls-verify"] === true || creds.gateway.insecureSkipTlsVerify === true;
  const caData = !insecure && creds.gateway.caPem ? Buffer.from(creds.gateway.caPem).toString("base64") : undefined;
  const command = str(f, "exec-command") ?? (await defaultExecCommand());
  const path = resolveKubeconfigPath({ flag: str(f, "kubeconfig") });

  let text = "";
  const counts = { added: 0, replaced: 0, failed: 0 };
  for (const [i, c] of targets.entries()) {
    const progress = all ? `[${i + 1}/${targets.length}] ${c.id}: ` : "";
    try {
      if (!c.grants.length) inv.io.err(`${progress}warning: you have no grant on ${c.id} yet; kubectl will be refused until an admin grants one\n`);
      const hint = namespaceHint(c);
      let user: WardUser;
      let expiry = "";
      if (embed) {
        const t = await api<{ token: string; expires_at: string }>(creds, `/api/v1/clusters/${c.id}/k8s-token`, { method: "POST", json: {} });
        user = { kind: "token", token: t.token };
        expiry = ` (embedded token expires ${t.expires_at})`;
      } else {
        // On POSIX systems kubectl first tries the exec cache from /bin/sh: a cached credential
        // then costs a `date` and a `cat` instead of a Node start on every kubectl invocation.
        const key = execCacheKey(creds.gateway.url, c.id);
        const fastPath = process.platform === "win32" || key.length > MAX_EXEC_CACHE_KEY ? undefined : { script: FAST_PATH_SCRIPT, key };
        user = { kind: "exec", gateway: creds.gateway.url, command, ...(fastPath ? { fastPath } : {}) };
      }
      const opts = {
        cluster: c.id,
        server: `${creds.gateway.url}/api/v1/clusters/${c.id}/k8s`,
        user,
        ...(caData ? { certificateAuthorityData: caData } : {}),
        ...(insecure ? { insecureSkipTlsVerify: true } : {}),
        ...((namespace ?? hint.namespace) ? { namespace: (namespace ?? hint.namespace)! } : {}),
        use: f.use === true,
      };
      let replaced = false;
      if (print) {
        text = addWardEntry(text, opts).text;
      } else {
        await editKubeconfigFile(path, (t) => {
          const r = addWardEntry(t, opts);
          replaced = r.replaced;
          return r.text;
        });
      }
      counts[replaced ? "replaced" : "added"]++;
      if (!print) inv.io.err(`${progress}${replaced ? "updated" : "added"} context ${wardName(c.id)}${expiry}\n`);
      if (hint.note && !namespace) inv.io.err(`${progress}note: ${hint.note}\n`);
    } catch (e) {
      if (!all) throw e;
      counts.failed++;
      inv.io.err(`${progress}failed: ${(e as Error).message}\n`);
    }
  }
  if (print) {
    inv.io.out(text);
    return counts.failed ? 1 : 0;
  }
  if (all) inv.io.err(`${counts.added} added, ${counts.replaced} updated, ${counts.failed} failed in ${path}\n`);
  else inv.io.err(`Wrote ${path}${f.use === true ? `; current context is now ${wardName(targets[0]!.id)}` : `; use it with: kubectl --context ${wardName(targets[0]!.id)} get ns`}\n`);
  return counts.failed ? 1 : 0;
}

export async function runKubeconfigRemove(inv: Invocation): Promise<number> {
  const f = inv.flags;
  const cluster = str(f, "cluster");
  const all = f.all === true;
  if (!!cluster === all) throw new UsageError("Pass either --cluster ID or --all", inv.path);
  if (cluster && !isValidClusterId(cluster)) throw new UsageError(`Invalid cluster id ${JSON.stringify(cluster)}`, inv.path);
  const path = resolveKubeconfigPath({ flag: str(f, "kubeconfig") });
  let removed: string[] = [];
  let cleared = false;
  await editKubeconfigFile(path, (text) => {
    const ids = cluster ? [cluster] : listWardEntries(text).map((e) => e.cluster);
    removed = [];
    for (const id of ids) {
      const r = removeWardEntry(text, id);
      if (r.removed) removed.push(id);
      cleared ||= r.currentContextCleared;
      text = r.text;
    }
    return text;
  });
  // Entries kubectl also reads from later $KUBECONFIG files are not edited: say where they are.
  const elsewhere = (await listWardEntriesAcross(kubeconfigPaths({ flag: str(f, "kubeconfig") }).slice(1))).filter((e) => !cluster || e.cluster === cluster);
  for (const e of elsewhere) {
    const files = [...new Set(Object.values(e.sources))].join(", ");
    inv.io.err(`note: ${e.name} is also defined in ${files}, which Ward does not edit (only the first $KUBECONFIG file)\n`);
  }
  if (!removed.length) {
    inv.io.err(cluster ? `No Ward entry for ${cluster} in ${path}\n` : `No Ward entries in ${path}\n`);
    return cluster ? 1 : 0;
  }
  inv.io.err(`Removed ${removed.map(wardName).join(", ")} from ${path}\n`);
  if (cleared) inv.io.err("note: that was kubectl's current context; pick another with 'kubectl config use-context NAME'\n");
  return 0;
}

export async function runKubeconfigList(inv: Invocation): Promise<number> {
  const fmt = outputFormat(inv);
  const paths = kubeconfigPaths({ flag: str(inv.flags, "kubeconfig") });
  const entries = await listWardEntriesAcross(paths);
  if (fmt === "json") {
    inv.io.out(JSON.stringify({ files: paths, entries }, null, 2) + "\n");
    return 0;
  }
  if (!entries.length) {
    inv.io.err(`No Ward entries in ${paths.join(", ")}: add one with 'ward cluster kubeconfig add --cluster ID'\n`);
    return 0;
  }
  inv.io.out(
    table(
      ["CURRENT", "CONTEXT", "CLUSTER", "CREDENTIALS", "NAMESPACE", "SERVER"],
      entries.map((e) => [e.current ? "*" : "", e.name, e.cluster, e.userKind === "exec" ? "exec plugin" : e.userKind === "token" ? "embedded token" : (e.userKind ?? "-"), e.namespace ?? "", e.server ?? "-"]),
    ),
  );
  return 0;
}
