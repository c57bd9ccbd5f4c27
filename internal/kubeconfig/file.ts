// The I/O around the pure editor: which file, reading it, and writing it back atomically.
import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, realpath, rename, stat, unlink } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, delimiter, dirname, join, resolve } from "node:path";
import { mergeWardEntries } from "./list_ward_entries.ts";
import type { MergedWardEntry } from "./ward_entry.ts";

export interface ResolveOptions {
  /** `--kubeconfig` flag value. */
  flag?: string | undefined;
  /** Environment to read `KUBECONFIG` from (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Home directory (default `os.homedir()`). */
  home?: string;
}

function expandHome(p: string, home: string): string {
  if (p === "~") return home;
  if (p.startsWith("~/")) return join(home, p.slice(2));
  return p;
}

/**
 * The files kubectl reads, in order: the `--kubeconfig` file alone; else the non-empty entries of
 * `$KUBECONFIG` (repeats dropped, as kubectl does); else `~/.kube/config`. Absolute paths.
 */
export function kubeconfigPaths(opts: ResolveOptions = {}): string[] {
  const home = opts.home ?? homedir();
  const env = opts.env ?? process.env;
  if (opts.flag) return [resolve(expandHome(opts.flag, home))];
  const entries = (env["KUBECONFIG"] ?? "").split(delimiter).filter((s) => s.trim() !== "");
  if (entries.length === 0) return [join(home, ".kube", "config")];
  return [...new Set(entries.map((e) => resolve(expandHome(e, home))))];
}

/** The file Ward writes: `--kubeconfig` > first non-empty entry of `$KUBECONFIG` > `~/.kube/config`. */
export function resolveKubeconfigPath(opts: ResolveOptions = {}): string {
  return kubeconfigPaths(opts)[0]!;
}

/** The file's text, or "" when it does not exist. */
export async function readKubeconfig(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw e;
  }
}

/**
 * The Ward entries of all `paths` (e.g. `kubeconfigPaths()`), merged as kubectl merges them: see
 * `mergeWardEntries`. Missing files count as empty; an invalid file throws a KubeconfigError
 * naming its path.
 */
export async function listWardEntriesAcross(paths: readonly string[]): Promise<MergedWardEntry[]> {
  const files = await Promise.all(paths.map(async (path) => ({ path, text: await readKubeconfig(path) })));
  return mergeWardEntries(files);
}

/**
 * Writes `text` to `path` atomically: a temp file in the same directory, fsync, rename over, fsync
 * of the directory. A symlink is written through (its target is replaced, the link stays). Keeps
 * the existing file's mode; new files get `newMode` (0600). Creates missing directories (0700).
 */
export async function writeFileAtomic(path: string, text: string, newMode = 0o600): Promise<void> {
  const target = await realpath(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return path;
    throw e;
  });
  const dir = dirname(target);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let mode = newMode;
  try {
    mode = (await stat(target)).mode & 0o7777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const fh = await open(tmp, "wx", mode);
  try {
    try {
      await fh.writeFile(text, "utf8");
      await fh.sync();
    } finally {
      await fh.close();
    }
    await chmod(tmp, mode); // the umask may have narrowed the mode given to open
    await rename(tmp, target);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dir);
}

/** Makes a rename in `dir` durable; not every file system lets a directory be opened for that. */
async function syncDir(dir: string): Promise<void> {
  const dh = await open(dir, "r").catch(() => undefined);
  if (!dh) return;
  await dh.sync().catch(() => {});
  await dh.close();
}

/**
 * Reads `path` (missing = empty), applies the pure `edit`, and writes the result atomically only
 * when it succeeded and changed something. Errors from `edit` propagate and nothing is written.
 */
export async function editKubeconfigFile(path: string, edit: (text: string) => string): Promise<{ changed: boolean; text: string }> {
  const before = await readKubeconfig(path);
  const after = edit(before);
  if (after === before) return { changed: false, text: after };
  await writeFileAtomic(path, after);
  return { changed: true, text: after };
}
