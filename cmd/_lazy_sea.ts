/** SEA replacement of lazy.ts: the heavy bundle rides as an asset with its own V8 code cache. */
import type { Heavy } from "./lazy.ts";
import { hasNodeFlags } from "./node_flags.ts";

export async function loadHeavy(): Promise<Heavy> {
  const sea = require("node:sea") as typeof import("node:sea");
  const vm = require("node:vm") as typeof import("node:vm");
  const path = require("node:path") as typeof import("node:path");
  const source = sea.getAsset("heavy.cjs", "utf8");
  let cachedData: Buffer | undefined;
  try {
    // Made under the same V8 flags as this process, or V8 rejects it (see node_flags.ts).
    cachedData = Buffer.from(sea.getRawAsset(hasNodeFlags() ? "heavy-flags.cache" : "heavy.cache"));
  } catch {
    cachedData = undefined;
  }
  // Node flags USE_MAIN_CONTEXT_DEFAULT_LOADER as experimental (warning at each first use); it means nothing to users.
  const emitWarning = process.emitWarning;
  process.emitWarning = ((w: string | Error, ...rest: unknown[]) => {
    if (!String(typeof w === "string" ? w : w.message).includes("USE_MAIN_CONTEXT_DEFAULT_LOADER")) (emitWarning as (...a: unknown[]) => void).call(process, w, ...rest);
  }) as typeof process.emitWarning;
  const script = new vm.Script(wrapHeavy(source), {
    filename: "ward-heavy.cjs",
    cachedData,
    // Dynamic import() of built-in modules inside the bundle.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (process.env.WARD_DEBUG && script.cachedDataRejected) process.stderr.write("ward: the heavy bundle's code cache was rejected\n");
  const fn = script.runInThisContext() as (e: object, r: NodeJS.Require, m: { exports: object }, f: string, d: string) => void;
  const mod = { exports: {} };
  fn(mod.exports, require, mod, process.execPath, path.dirname(process.execPath));
  return mod.exports as Heavy;
}

/** Shared with the build, which makes the code cache for exactly this text. */
export function wrapHeavy(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
}
