import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Inside the single executable, better-sqlite3's Node-API addon rides along as an SEA asset:
 * it is written once to a content-addressed cache file and loaded from there. Elsewhere
 * better-sqlite3 finds its own prebuilt addon.
 */
export async function sqliteNativeBinding(): Promise<object | undefined> {
  let sea: typeof import("node:sea");
  try {
    sea = await import("node:sea");
  } catch {
    return undefined; // not Node (Deno), or a Node without SEA support
  }
  if (!sea.isSea()) return undefined;
  const bytes = new Uint8Array(sea.getRawAsset("better_sqlite3.node"));
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  const path = cachedFile(`better_sqlite3-${hash}.node`, bytes);
  const mod = { exports: {} as object };
  process.dlopen(mod, path);
  return mod.exports;
}

function cachedFile(name: string, bytes: Uint8Array): string {
  const bases = [process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), tmpdir()];
  let lastError: unknown;
  for (const base of bases) {
    const dir = join(base, "ward", "native");
    const file = join(dir, name);
    if (existsSync(file)) return file;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, bytes, { mode: 0o700 });
      renameSync(tmp, file);
      return file;
    } catch (e) {
      lastError = e;
    }
  }
  throw new Error(`Cannot write the SQLite addon to a cache directory (set XDG_CACHE_HOME to a writable, executable directory): ${(lastError as Error)?.message}`);
}
