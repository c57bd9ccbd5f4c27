/** SEA replacement of lazy.ts: each part rides as an asset (`<part>.cjs`) with its own V8 code caches. */
import type { Part, Parts } from "./lazy.ts";
import { hasNodeFlags } from "./node_flags.ts";

/** The asset names of a part: its bundle, and its code caches without and with NODE_FLAGS. */
export function partAssets(part: Part): { bundle: string; cache: string; flagsCache: string } {
  return { bundle: `${part}.cjs`, cache: `${part}.cache`, flagsCache: `${part}-flags.cache` };
}

export async function loadPart<P extends Part>(part: P): Promise<Parts[P]> {
  const sea = require("node:sea") as typeof import("node:sea");
  const vm = require("node:vm") as typeof import("node:vm");
  const path = require("node:path") as typeof import("node:path");
  const assets = partAssets(part);
  // Read from the executable's own pages (getRawAsset does not copy) into a one-byte string: the
  // bundle is ASCII (the build checks), so V8 keeps its source at one byte per character.
  const source = Buffer.from(sea.getRawAsset(assets.bundle)).toString("latin1");
  let cachedData: Buffer | undefined;
  try {
    // Made under the same V8 flags as this process, or V8 rejects it (see node_flags.ts).
    cachedData = Buffer.from(sea.getRawAsset(hasNodeFlags() ? assets.flagsCache : assets.cache));
  } catch {
    cachedData = undefined;
  }
  // Node flags USE_MAIN_CONTEXT_DEFAULT_LOADER as experimental (warning at each first use); it means nothing to users.
  const emitWarning = process.emitWarning;
  process.emitWarning = ((w: string | Error, ...rest: unknown[]) => {
    if (!String(typeof w === "string" ? w : w.message).includes("USE_MAIN_CONTEXT_DEFAULT_LOADER")) (emitWarning as (...a: unknown[]) => void).call(process, w, ...rest);
  }) as typeof process.emitWarning;
  const script = new vm.Script(wrapPart(source), {
    filename: `ward-${part}.cjs`,
    cachedData,
    // Dynamic import() of built-in modules inside the bundle.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (process.env.WARD_DEBUG && script.cachedDataRejected) process.stderr.write(`ward: the ${part} bundle's code cache was rejected\n`);
  const fn = script.runInThisContext() as (e: object, r: NodeJS.Require, m: { exports: object }, f: string, d: string) => void;
  const mod = { exports: {} };
  fn(mod.exports, require, mod, process.execPath, path.dirname(process.execPath));
  return mod.exports as Parts[P];
}

/** Shared with the build, which makes the code cache for exactly this text. */
export function wrapPart(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
}
