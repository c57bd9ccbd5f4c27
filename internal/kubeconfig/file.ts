// The I/O around the pure editor: which file, reading it, and writing it back atomically.
import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";

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

/** `--kubeconfig` > first non-empty entry of `$KUBECONFIG` > `~/.kube/config`, as an absolute path. */
export function resolveKubeconfigPath(opts: ResolveOptions = {}): string {
  const home = opts.home ?? homedir();
  const env = opts.env ?? process.env;
  if (opts.flag) return resolve(expandHome(opts.flag, home));
  const first = (env["KUBECONFIG"] ?? "").split(delimiter).find((s) => s.trim() !== "");
  if (first) return resolve(expandHome(first, home));
  return join(home, ".kube", "config");
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
 * Writes `text` to `path` atomically: a temp file in the same directory, fsync, rename over.
 * Keeps the existing file's mode; new files get `newMode` (0600). Creates the directory (0700).
 */
export async function writeFileAtomic(path: string, text: string, newMode = 0o600): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let mode = newMode;
  try {
    mode = (await stat(path)).mode & 0o7777;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const tmp = join(dir, `.${pathBase(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const fh = await open(tmp, "wx", mode);
  try {
    try {
      await fh.writeFile(text, "utf8");
      await fh.sync();
    } finally {
      await fh.close();
    }
    await chmod(tmp, mode); // the umask may have narrowed the mode given to open
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

function pathBase(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? p : p.slice(i + 1);
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
