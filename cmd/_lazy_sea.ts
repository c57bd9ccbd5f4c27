/** SEA replacement of lazy.ts: each part rides as an asset (`<part>.cjs`) with its own V8 code caches. */
import type { Part, Parts } from "./lazy.ts";
import { hasNodeFlags } from "./node_flags.ts";

/** The asset names of a part: its bundle, and its code caches without and with NODE_FLAGS. */
export function partAssets(part: Part): { bundle: string; cache: string; flagsCache: string } {
  return { bundle: `${part}.cjs`, cache: `${part}.cache`, flagsCache: `${part}-flags.cache` };
}

/**
 * The asset that says where the others lie in the executable file: the build fills it in after
 * injecting the blob (`{"name": [offset, length], …}`, padded with spaces to this same size).
 */
export const ASSET_INDEX = { name: "assets.index", prefix: "WARD-ASSET-INDEX:", size: 2048 };

let index: Record<string, [number, number]> | null | undefined;
let fd: number | undefined;

/**
 * An asset's bytes, read from the executable file with read(2) when the index places it. The
 * mapped pages of an asset that getRawAsset hands out stay in the process's RSS for its whole life
 * once touched (file-backed, but counted against a pod's limit like the rest): 4–5 MiB of bundle
 * and code cache for a part read once at start. A buffer read off the file is freed once compiled.
 * Falls back to the mapping when the index is missing or does not match (a binary rewritten after
 * the build, an unreadable executable).
 */
function readAsset(sea: typeof import("node:sea"), name: string): Buffer {
  const fs = require("node:fs") as typeof import("node:fs");
  const mapped = new Uint8Array(sea.getRawAsset(name));
  try {
    if (index === undefined) {
      const raw = Buffer.from(sea.getRawAsset(ASSET_INDEX.name)).toString("latin1");
      index = raw.startsWith(ASSET_INDEX.prefix) && raw.trim() !== ASSET_INDEX.prefix ? JSON.parse(raw.slice(ASSET_INDEX.prefix.length)) : null;
    }
    const at = index?.[name];
    if (at && at[1] === mapped.length) {
      fd ??= fs.openSync(process.execPath, "r");
      const b = Buffer.allocUnsafeSlow(at[1]);
      if (fs.readSync(fd, b, 0, at[1], at[0]) === at[1] && sameEdges(b, mapped)) return b;
    }
  } catch {
    // the mapping below
  }
  if (process.env.WARD_DEBUG) process.stderr.write(`ward: asset ${name} read from the executable's mapping\n`);
  return Buffer.from(mapped);
}

/** The first and last 64 bytes agree (touching one page of the mapping at each end, not all of it). */
function sameEdges(a: Uint8Array, b: Uint8Array): boolean {
  const n = Math.min(64, a.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i] || a[a.length - 1 - i] !== b[b.length - 1 - i]) return false;
  return true;
}

function closeAssetFile(): void {
  if (fd === undefined) return;
  (require("node:fs") as typeof import("node:fs")).closeSync(fd);
  fd = undefined;
}

export async function loadPart<P extends Part>(part: P): Promise<Parts[P]> {
  const sea = require("node:sea") as typeof import("node:sea");
  const vm = require("node:vm") as typeof import("node:vm");
  const path = require("node:path") as typeof import("node:path");
  const assets = partAssets(part);
  // The bundle is ASCII (the build checks), so V8 keeps its source at one byte per character.
  const source = readAsset(sea, assets.bundle).toString("latin1");
  let cachedData: Buffer | undefined;
  try {
    // Made under the same V8 flags as this process, or V8 rejects it (see node_flags.ts).
    cachedData = readAsset(sea, hasNodeFlags() ? assets.flagsCache : assets.cache);
  } catch {
    cachedData = undefined;
  }
  closeAssetFile();
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
