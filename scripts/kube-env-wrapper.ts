/**
 * `scripts/kube-env wrapper <kube-apiserver|etcd> <version>`: regenerates a wrapper module under
 * scripts/go/ for another release (then update the pin in kube-env-components.ts to match).
 *
 * kube-apiserver: k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with
 * local paths; replaces apply only in the main module, so the wrapper replaces each staging module
 * with its published v0.<minor>.<patch>, keeps the release's go and godebug lines, and names the
 * command in a `tool` directive so `go mod tidy` keeps its dependencies.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { log } from "./kube-env-build.ts";
import { goBuildCache, goModCache, repoRoot } from "./kube-env-components.ts";

const env = { ...process.env, GOMODCACHE: goModCache, GOCACHE: goBuildCache, GOTOOLCHAIN: "local", GOFLAGS: "-buildvcs=false" };

export function regenerateWrapper(name: string, version: string): void {
  if (!/^v\d+\.\d+\.\d+$/.test(version)) throw new Error(`Expected a release version like v1.37.2, got "${version}".`);
  const dir = join(repoRoot, "scripts", "go", name);
  if (name === "kube-apiserver") {
    writeFileSync(join(dir, "go.mod"), kubeApiserverGoMod(version));
  } else if (name === "etcd") {
    const gomod = readFileSync(join(dir, "go.mod"), "utf8");
    writeFileSync(join(dir, "go.mod"), gomod.replace(/^require go\.etcd\.io\/etcd\/server\/v3 \S+$/m, `require go.etcd.io/etcd/server/v3 ${version}`));
  } else {
    throw new Error(`No wrapper module for "${name}" (kube-apiserver, etcd).`);
  }
  go(["mod", "tidy"], dir);
  log(`scripts/go/${name} now builds ${version}; set the same version for ${name} in scripts/kube-env-components.ts`);
}

function kubeApiserverGoMod(version: string): string {
  const upstream = readFileSync(downloadedGoMod("k8s.io/kubernetes", version), "utf8");
  const staging = [...upstream.matchAll(/^\s*(k8s\.io\/[\w.-]+) => \.\/staging\/src\//gm)].map((m) => m[1]!);
  if (staging.length === 0) throw new Error(`No staging replaces found in k8s.io/kubernetes@${version}'s go.mod`);
  const goLine = /^go \S+$/m.exec(upstream)?.[0] ?? "go 1.26.0";
  const godebug = upstream.match(/^godebug .*$/gm) ?? [];
  const stagingVersion = version.replace(/^v1\./, "v0.");
  return [
    `// Wrapper module: builds kube-apiserver ${version} from the Go module proxy.`,
    "// k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with local paths;",
    "// replaces only apply in the main module, so this module maps each to its published v0.x.y.",
    "// Regenerate for another version with: scripts/kube-env wrapper kube-apiserver <version>",
    "module ward.local/kube-apiserver",
    "",
    goLine,
    "",
    ...(godebug.length ? [...godebug, ""] : []),
    "tool k8s.io/kubernetes/cmd/kube-apiserver",
    "",
    `require k8s.io/kubernetes ${version}`,
    "",
    "replace (",
    ...staging.map((m) => `\t${m} => ${m} ${stagingVersion}`),
    ")",
    "",
  ].join("\n");
}

function downloadedGoMod(module: string, version: string): string {
  const out = go(["mod", "download", "-json", `${module}@${version}`], repoRoot);
  return (JSON.parse(out) as { GoMod: string }).GoMod;
}

function go(args: string[], cwd: string): string {
  const r = spawnSync("go", args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (r.error || r.status !== 0) throw new Error(`go ${args.join(" ")} failed in ${cwd}${r.error ? `: ${r.error.message}` : ""}`);
  return r.stdout;
}
