import { createHash } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, readFileSync, rmSync, type Stats } from "node:fs";
import { homedir, tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { StoreError } from "./errors.ts";
import { writePrivateFile } from "./private_files.ts";

/**
 * Inside the single executable, better-sqlite3's Node-API addon rides along as an SEA asset:
 * it is written to a cache file in a directory only this user controls, and loaded from there
 * once its SHA-256 matches the asset's. Elsewhere better-sqlite3 finds its own prebuilt addon.
 */
export async function sqliteNativeBinding(): Promise<object | undefined> {
  let sea: typeof import("node:sea");
  try {
    sea = await import("node:sea");
  } catch {
    return undefined; // not Node (Deno), or a Node without SEA support
  }
  if (!sea.isSea()) return undefined;
  const path = installAddon(new Uint8Array(sea.getRawAsset("better_sqlite3.node")), addonDirs());
  const mod = { exports: {} as object };
  process.dlopen(mod, path);
  return mod.exports;
}

/**
 * Where the addon may be cached, best first: the user's cache directory, then a per-user
 * directory under the temp dir (a shared one would let another user plant the .node we load).
 */
export function addonDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const user = process.getuid?.() ?? userInfo().username;
  return [join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "ward", "native"), join(tmpdir(), `ward-${user}`)];
}

/**
 * Returns the path of a file holding exactly `bytes`, in the first of `dirs` that is (or can be
 * made) private; an existing file whose hash differs is rewritten, never loaded.
 */
export function installAddon(bytes: Uint8Array, dirs: readonly string[]): string {
  const digest = createHash("sha256").update(bytes).digest("hex");
  const errors: string[] = [];
  for (const dir of dirs) {
    try {
      privateCacheDir(dir);
      const file = join(dir, `better_sqlite3-${digest.slice(0, 16)}.node`);
      if (fileDigest(file) !== digest) writePrivateFile(file, bytes, 0o700);
      return file;
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  throw new StoreError(`Cannot write the SQLite addon to a private cache directory (set XDG_CACHE_HOME to a writable directory of your own): ${errors.join("; ")}`);
}

/**
 * Makes `dir` a directory this user owns and nobody else can write to, checked without following
 * a symlink (another user's link could be re-pointed between the check and the load). Ours but
 * wrong is repaired; another user's is refused, as we cannot remove it from a sticky temp dir.
 */
function privateCacheDir(dir: string): void {
  let st = lstatOrUndefined(dir);
  const uid = process.getuid?.();
  if (st && uid !== undefined && st.uid !== uid) {
    throw new Error(`${dir} belongs to uid ${st.uid}, not to this user (uid ${uid}), so Ward loads no code from it: have it removed`);
  }
  if (st && !st.isDirectory()) {
    rmSync(dir, { force: true }); // our own symlink or file: not trusted, so replaced
    st = undefined;
  }
  if (!st) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    st = lstatSync(dir);
    // A racing creator won: check its result like any existing directory.
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) throw new Error(`${dir} was replaced while Ward created it: remove it and retry`);
  }
  if (uid !== undefined && st.mode & 0o022) chmodSync(dir, 0o700);
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

function fileDigest(path: string): string | undefined {
  try {
    return createHash("sha256").update(readFileSync(path)).digest("hex");
  } catch {
    return undefined;
  }
}
