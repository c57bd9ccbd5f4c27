/**
 * The test components `scripts/kube-env` builds and where their binaries live.
 *
 * Binaries are cached as `<cache>/bin/<name>-<version>`; the cache is `$WARD_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/ward`, else `~/.cache/ward`. Other code finds a binary with `findBinary(name)`
 * (TypeScript) or `scripts/kube-env bin <name>` (shell); both fail with a message saying how to
 * build it when it is missing.
 */
import { createHash } from "node:crypto";
import { accessSync, constants, existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";

export const repoRoot = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

export const cacheDir =
  process.env.WARD_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "ward");
export const binDir = join(cacheDir, "bin");
export const shareDir = join(cacheDir, "share");
export const goModCache = join(cacheDir, "go", "mod");
export const goBuildCache = join(cacheDir, "go", "build");

/** How a component is obtained. */
export type Recipe =
  /** `go install <pkg>@<version>`: modules without replace directives. */
  | { kind: "go-install"; pkg: string }
  /** `go build <pkg>` inside a wrapper module under scripts/go/<dir> that pins the version. */
  | { kind: "go-wrapper"; dir: string; pkg: string; versionLdflags?: string[] }
  /**
   * `go build <pkg>` in a copy of `<module>@<version>` from the module cache with source patches
   * applied (upstream bugs the tests hit). The cache key carries a hash of the patches.
   */
  | { kind: "go-patched"; module: string; pkg: string; patches: SourcePatch[] }
  /** A binary extracted from a Debian package (`apt-get download` + `dpkg -x`), never installed. */
  | { kind: "deb"; pkg: string; debVersionContains: string; file: string };

/** Replace `find` (which must occur exactly once) with `replace` in `file`. */
export interface SourcePatch {
  file: string;
  why: string;
  find: string;
  replace: string;
}

export interface Component {
  name: string;
  version: string;
  recipe: Recipe;
  /** What the binary must print for `versionArgs` once built (a sanity check of the cache). */
  versionArgs: string[];
  versionMatch: string;
}

/**
 * Build order matters: nats-server first (small, and others wait for it), then the slow
 * kube-apiserver, then the rest.
 */
export const components: readonly Component[] = [
  {
    name: "nats-server",
    version: "v2.15.2",
    recipe: { kind: "go-install", pkg: "github.com/nats-io/nats-server/v2" },
    versionArgs: ["--version"],
    versionMatch: "v2.15.2",
  },
  {
    name: "kube-apiserver",
    version: "v1.37.2",
    recipe: {
      kind: "go-wrapper",
      dir: "kube-apiserver",
      pkg: "k8s.io/kubernetes/cmd/kube-apiserver",
      versionLdflags: ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"],
    },
    versionArgs: ["--version"],
    versionMatch: "Kubernetes v1.37.2",
  },
  {
    name: "etcd",
    version: "v3.5.35",
    recipe: { kind: "go-wrapper", dir: "etcd", pkg: "ward.local/etcd" },
    versionArgs: ["--version"],
    versionMatch: "etcd Version: 3.5.35",
  },
  {
    name: "kwok",
    version: "v0.8.0",
    recipe: {
      kind: "go-patched",
      module: "sigs.k8s.io/kwok",
      pkg: "./cmd/kwok",
      patches: [
        {
          file: "pkg/utils/exec/exec.go",
          why:
            "kwok's local exec copies the client's stdin into the command's stdin pipe but never closes " +
            "it, so the command never sees EOF: `kubectl exec -i -- cat` and `kubectl cp` (tar) hang.",
          find: "\t\t\t\t_, _ = io.Copy(inPipe, opt.In)\n",
          replace: "\t\t\t\t_, _ = io.Copy(inPipe, opt.In)\n\t\t\t\t_ = inPipe.Close()\n",
        },
      ],
    },
    versionArgs: ["--version"],
    versionMatch: "v0.8.0",
  },
  {
    // Debian bookworm's kubernetes-client: kubectl 1.20 (SPDY only). Its package would replace
    // /usr/bin/kubectl, so the binary is extracted into the cache instead of installed.
    name: "kubectl-1.20",
    version: "v1.20.2",
    recipe: { kind: "deb", pkg: "kubernetes-client", debVersionContains: "1.20.2", file: "usr/bin/kubectl" },
    versionArgs: ["version", "--client", "--short"],
    versionMatch: "v1.20.2",
  },
];

/** Names `bin` also resolves that are not built: the machine's own tools. */
const systemTools: Record<string, string> = { kubectl: "kubectl" };

export function component(name: string): Component {
  const c = components.find((x) => x.name === name);
  if (!c) throw new Error(`Unknown component "${name}". Known: ${componentNames().join(", ")}.`);
  return c;
}

export function componentNames(): string[] {
  return [...components.map((c) => c.name), ...Object.keys(systemTools)];
}

/** Where the cached binary of a component lives (whether or not it exists yet). */
export function binaryPath(c: Component): string {
  return join(binDir, `${c.name}-${cacheKey(c)}`);
}

/** The version, plus a hash of the source patches for patched builds. */
export function cacheKey(c: Component): string {
  if (c.recipe.kind !== "go-patched") return c.version;
  const hash = createHash("sha256").update(JSON.stringify(c.recipe.patches)).digest("hex").slice(0, 8);
  return `${c.version}-patched.${hash}`;
}

/** Extra files a component carries beside its binary (kwok's stage definitions). */
export function kwokStagesPath(version: string): string {
  return join(shareDir, `kwok-${version}`, "stages.yaml");
}

export class MissingBinaryError extends Error {
  override name = "MissingBinaryError";
}

/**
 * The path of a component's binary, or of a machine tool (`kubectl`). Throws MissingBinaryError
 * saying how to build it when absent.
 */
export function findBinary(name: string): string {
  const tool = systemTools[name];
  if (tool !== undefined) {
    const found = lookPath(tool);
    if (!found) throw new MissingBinaryError(`${tool} is not on PATH. Install it (the machine's kubectl is expected at /usr/bin/kubectl).`);
    return found;
  }
  const c = component(name);
  const path = binaryPath(c);
  if (!isExecutable(path)) {
    throw new MissingBinaryError(
      `${name} ${c.version} is not built (expected ${path}). Run: scripts/kube-env build ${name}  (or bash scripts/setup)`,
    );
  }
  if (name === "kwok" && !existsSync(kwokStagesPath(c.version))) {
    throw new MissingBinaryError(`kwok's stages file ${kwokStagesPath(c.version)} is missing. Run: scripts/kube-env build kwok`);
  }
  return path;
}

export function lookPath(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && isExecutable(join(dir, cmd))) return join(dir, cmd);
  }
  return undefined;
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
