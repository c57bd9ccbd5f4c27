/**
 * `scripts/kube-env build [name...]`: builds test components from the Go module proxy (or extracts
 * them from a Debian package) into the cache, keyed by version; a cached binary is reused.
 *
 * Go runs with GOTOOLCHAIN=local, CGO_ENABLED=0 and GOMODCACHE/GOCACHE inside the cache so CI can
 * keep them. Each build runs under `/usr/bin/time -v` when present; wall time and peak memory (the
 * largest single process) are printed and kept beside the binary as `<binary>.build.json`.
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  type Component,
  type SourcePatch,
  binaryPath,
  binDir,
  cacheKey,
  component,
  components,
  goBuildCache,
  goModCache,
  isExecutable,
  kwokStagesPath,
  repoRoot,
} from "./kube-env-components.ts";

const minGo = [1, 26];

export interface BuildRecord {
  name: string;
  version: string;
  seconds: number;
  maxRssMiB?: number;
  go?: string;
  builtAt: string;
}

export async function build(names: string[]): Promise<void> {
  const wanted = names.length ? names.map(component) : [...components];
  for (const c of wanted) {
    if (isCached(c)) {
      log(`${c.name} ${cacheKey(c)}: cached at ${binaryPath(c)}`);
      continue;
    }
    await buildOne(c);
  }
}

function isCached(c: Component): boolean {
  if (!isExecutable(binaryPath(c))) return false;
  if (c.name === "kwok" && !existsSync(kwokStagesPath(c.version))) return false;
  return true;
}

async function buildOne(c: Component): Promise<void> {
  mkdirSync(binDir, { recursive: true });
  const target = binaryPath(c);
  const tmp = `${target}.tmp-${process.pid}`;
  const started = Date.now();
  log(`${c.name} ${cacheKey(c)}: building (${describe(c)})`);
  let rss: number | undefined;
  try {
    switch (c.recipe.kind) {
      case "go-install":
      case "go-wrapper":
      case "go-patched":
        rss = await goBuild(c, tmp);
        break;
      case "deb":
        extractDeb(c, tmp);
        break;
    }
    checkVersion(c, tmp);
    if (c.name === "kwok") writeKwokStages(c.version);
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  const record: BuildRecord = { name: c.name, version: cacheKey(c), seconds, builtAt: new Date().toISOString() };
  if (rss !== undefined) record.maxRssMiB = Math.round(rss / 1024);
  if (c.recipe.kind !== "deb") record.go = goVersion();
  writeFileSync(`${target}.build.json`, JSON.stringify(record, null, 2) + "\n");
  log(`${c.name} ${cacheKey(c)}: built in ${fmtSecs(seconds)}${rss ? `, peak memory ${Math.round(rss / 1024)} MiB` : ""} -> ${target}`);
}

function describe(c: Component): string {
  switch (c.recipe.kind) {
    case "go-install":
      return `go install ${c.recipe.pkg}@${c.version}`;
    case "go-wrapper":
      return `go build ${c.recipe.pkg} in scripts/go/${c.recipe.dir}`;
    case "go-patched":
      return `go build ${c.recipe.pkg} in ${c.recipe.module}@${c.version} with ${c.recipe.patches.length} source patch(es)`;
    case "deb":
      return `Debian package ${c.recipe.pkg}, extracted with dpkg -x`;
  }
}

// ---------------------------------------------------------------------------------------------
// Go

function goEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOMODCACHE: goModCache,
    GOCACHE: goBuildCache,
    GOTOOLCHAIN: "local",
    GOFLAGS: "-buildvcs=false",
    CGO_ENABLED: "0",
    GOPROXY: process.env.GOPROXY || "https://proxy.golang.org,direct",
  };
}

let cachedGoVersion: string | undefined;
function goVersion(): string {
  if (cachedGoVersion) return cachedGoVersion;
  const r = spawnSync("go", ["env", "GOVERSION"], { env: goEnv(), encoding: "utf8" });
  if (r.error || r.status !== 0) {
    throw new Error(`Go is not usable (${r.error?.message ?? r.stderr.trim()}). Install Go ${minGo.join(".")} or newer and put it on PATH.`);
  }
  const v = r.stdout.trim();
  const m = /^go(\d+)\.(\d+)/.exec(v);
  if (!m || Number(m[1]) * 1000 + Number(m[2]) < minGo[0]! * 1000 + minGo[1]!) {
    throw new Error(`Go ${v} is too old: the pinned components need Go ${minGo.join(".")} or newer (GOTOOLCHAIN=local, no toolchain download).`);
  }
  cachedGoVersion = v;
  return v;
}

/** Runs the Go build; resolves to the peak RSS in KiB when /usr/bin/time measured it. */
async function goBuild(c: Component, out: string): Promise<number | undefined> {
  goVersion();
  const recipe = c.recipe;
  let args: string[];
  let cwd = repoRoot;
  if (recipe.kind === "go-install") {
    // `go install` has no -o: install into a private GOBIN, then move the binary.
    args = ["install", "-v", "-trimpath", "-ldflags=-s -w", `${recipe.pkg}@${c.version}`];
  } else if (recipe.kind === "go-wrapper") {
    cwd = join(repoRoot, "scripts", "go", recipe.dir);
    checkWrapperPin(c, recipe.dir);
    const ld = ["-s", "-w"];
    for (const pkg of recipe.versionLdflags ?? []) ld.push(...versionLdflags(pkg, c.version));
    args = ["build", "-v", "-mod=readonly", "-trimpath", `-ldflags=${ld.join(" ")}`, "-o", out, recipe.pkg];
  } else if (recipe.kind === "go-patched") {
    cwd = patchedSource(c.name, recipe.module, c.version, recipe.patches);
    args = ["build", "-v", "-mod=readonly", "-trimpath", "-ldflags=-s -w", "-o", out, recipe.pkg];
  } else {
    throw new Error(`Not a Go recipe: ${c.name}`);
  }
  const gobin = recipe.kind === "go-install" ? mkdtempSync(join(tmpdir(), `ward-gobin-`)) : undefined;
  const env = goEnv();
  if (gobin) env.GOBIN = gobin;
  const timeFile = join(tmpdir(), `ward-build-time-${process.pid}-${c.name}.txt`);
  const useTime = isExecutable("/usr/bin/time");
  const [cmd, cmdArgs] = useTime ? ["/usr/bin/time", ["-v", "-o", timeFile, "go", ...args]] : ["go", args];
  try {
    await runWithProgress(c.name, cmd, cmdArgs, { cwd, env });
    if (gobin) {
      const built = readdirSync(gobin);
      if (built.length !== 1) throw new Error(`go install produced ${built.length} files in ${gobin}: ${built.join(", ")}`);
      renameOrCopy(join(gobin, built[0]!), out);
    }
    if (!useTime) return undefined;
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(readFileSync(timeFile, "utf8"));
    return m ? Number(m[1]) : undefined;
  } finally {
    if (recipe.kind === "go-patched") rmSync(cwd, { recursive: true, force: true });
    if (gobin) rmSync(gobin, { recursive: true, force: true });
    rmSync(timeFile, { force: true });
  }
}

/**
 * Copies `module@version` out of the module cache (files there are read-only and the go command
 * refuses overlays for them) and applies the patches; returns the copy's directory.
 */
function patchedSource(name: string, module: string, version: string, patches: SourcePatch[]): string {
  const dl = spawnSync("go", ["mod", "download", "-json", `${module}@${version}`], { env: goEnv(), encoding: "utf8" });
  if (dl.status !== 0) throw new Error(`go mod download ${module}@${version} failed: ${dl.stdout}${dl.stderr}`);
  const src = (JSON.parse(dl.stdout) as { Dir: string }).Dir;
  const dir = mkdtempSync(join(tmpdir(), `ward-src-${name}-`));
  cpSync(src, dir, { recursive: true });
  spawnSync("chmod", ["-R", "u+w", dir]);
  for (const p of patches) {
    const file = join(dir, p.file);
    const text = readFileSync(file, "utf8");
    const at = text.indexOf(p.find);
    if (at < 0 || text.indexOf(p.find, at + 1) >= 0) {
      throw new Error(`${name}: patch for ${p.file} does not apply to ${module}@${version} (text not found exactly once)`);
    }
    writeFileSync(file, text.slice(0, at) + p.replace + text.slice(at + p.find.length));
    log(`${name}: patched ${p.file}: ${p.why}`);
  }
  return dir;
}

/** The wrapper module's go.mod must require the version the component table pins. */
function checkWrapperPin(c: Component, dir: string): void {
  const gomod = readFileSync(join(repoRoot, "scripts", "go", dir, "go.mod"), "utf8");
  const version = c.version.replace(/\./g, "\\.");
  if (!new RegExp(`^\\s*(?:require\\s+)?[^\\s=]+\\s+${version}\\s*(?://.*)?$`, "m").test(gomod)) {
    throw new Error(`scripts/go/${dir}/go.mod does not require ${c.version}; update the wrapper module and the pin together.`);
  }
}

/** `-X` flags so `--version` and the API server's `/version` report the release. */
function versionLdflags(pkg: string, version: string): string[] {
  const m = /^v(\d+)\.(\d+)\./.exec(version);
  if (!m) throw new Error(`Cannot derive major/minor from ${version}`);
  return [
    `-X ${pkg}.gitVersion=${version}`,
    `-X ${pkg}.gitMajor=${m[1]}`,
    `-X ${pkg}.gitMinor=${m[2]}`,
    `-X ${pkg}.gitTreeState=clean`,
  ].flatMap((x) => x.split(" "));
}

/**
 * Runs a `go -v` build, passing through download messages and errors, and printing one progress
 * line every 15 s: packages compiled so far (cached packages are not compiled, so not counted).
 */
function runWithProgress(name: string, cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "inherit", "pipe"] });
    let compiled = 0;
    let last = "";
    let partial = "";
    const tail: string[] = [];
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (!line) continue;
        tail.push(line);
        if (tail.length > 40) tail.shift();
        // `go -v` names each package it compiles on a line of its own; everything else is shown.
        if (/^[\w.~/-]+$/.test(line) && !line.startsWith("go:")) {
          compiled++;
          last = line;
        } else if (line.startsWith("go: downloading")) {
          if (process.env.WARD_BUILD_VERBOSE) log(`${name}: ${line}`);
        } else {
          log(`${name}: ${line}`);
        }
      }
    });
    const ticker = setInterval(() => {
      log(`${name}: ${fmtSecs((Date.now() - started) / 1000)} elapsed, ${compiled} packages compiled${last ? ` (last: ${last})` : ""}`);
    }, 15_000);
    child.on("error", (err) => {
      clearInterval(ticker);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearInterval(ticker);
      if (code === 0) return resolve();
      reject(new Error(`${name}: build failed (${signal ?? `exit ${code}`}). Last output:\n${tail.join("\n")}`));
    });
  });
}

function renameOrCopy(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

// ---------------------------------------------------------------------------------------------
// Debian package extraction

function extractDeb(c: Component, out: string): void {
  if (c.recipe.kind !== "deb") throw new Error(`Not a deb recipe: ${c.name}`);
  const { pkg, debVersionContains, file } = c.recipe;
  const work = mkdtempSync(join(tmpdir(), "ward-deb-"));
  try {
    let r = spawnSync("apt-get", ["download", pkg], { cwd: work, encoding: "utf8" });
    if (r.status !== 0 && process.getuid?.() === 0) {
      log(`${c.name}: apt-get download failed; running apt-get update once`);
      spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit" });
      r = spawnSync("apt-get", ["download", pkg], { cwd: work, encoding: "utf8" });
    }
    if (r.error || r.status !== 0) {
      throw new Error(`apt-get download ${pkg} failed: ${r.error?.message ?? r.stderr.trim()}. Run apt-get update (as root) and retry.`);
    }
    const deb = readdirSync(work).find((f) => f.endsWith(".deb"));
    if (!deb) throw new Error(`apt-get download ${pkg} produced no .deb in ${work}`);
    if (!deb.includes(debVersionContains)) {
      throw new Error(`Debian offers ${deb}, which is not the pinned ${c.version}; update the pin in scripts/kube-env-components.ts.`);
    }
    const root = join(work, "root");
    const x = spawnSync("dpkg", ["-x", join(work, deb), root], { encoding: "utf8" });
    if (x.status !== 0) throw new Error(`dpkg -x ${deb} failed: ${x.stderr.trim()}`);
    copyFileSync(join(root, file), out);
    spawnSync("chmod", ["0755", out]);
    log(`${c.name}: extracted ${file} from ${deb}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

function checkVersion(c: Component, path: string): void {
  const r = spawnSync(path, c.versionArgs, { encoding: "utf8", timeout: 20_000 });
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  if (!out.includes(c.versionMatch)) {
    throw new Error(`${c.name}: built binary reports ${JSON.stringify(out.trim().slice(0, 200))}, expected it to contain "${c.versionMatch}"`);
  }
}

/**
 * kwok run on its own (not through kwokctl) has no built-in stages: copy the release's "fast" node
 * and pod stages (plus the node heartbeat) from the module it was built from.
 */
function writeKwokStages(version: string): void {
  const src = join(goModCache, `sigs.k8s.io/kwok@${version}`, "kustomize", "stage");
  const files = [
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
  ];
  const docs = files.map((f) => `# From sigs.k8s.io/kwok@${version}/kustomize/stage/${f}\n${readFileSync(join(src, f), "utf8").trim()}\n`);
  const dest = kwokStagesPath(version);
  mkdirSync(dirname(dest), { recursive: true });
  writeFileSync(dest, docs.join("---\n"));
}

export function log(msg: string): void {
  process.stderr.write(`[kube-env] ${msg}\n`);
}

function fmtSecs(s: number): string {
  return s >= 60 ? `${Math.floor(s / 60)}m${Math.round(s % 60).toString().padStart(2, "0")}s` : `${s.toFixed(1)}s`;
}
