/**
 * Secrets on disk — the Ed25519 signing key in ward.db (and its -wal/-shm/-journal companions),
 * the TLS and CA keys, the admin token — and the directories holding them belong to this user
 * alone. Every file the gateway writes goes through here, so there is one rule for all of them.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, fchmodSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from "node:fs";
import type { Logger } from "../log/index.ts";
import { StoreError } from "./errors.ts";

/** Mode bits group and others must not have on a secrets directory or file. */
const GROUP_OTHER = 0o077;
/** POSIX modes mean little on Windows, where every directory would look shared. */
const POSIX = process.platform !== "win32";

const octalMode = (mode: number): string => "0" + (mode & 0o777).toString(8).padStart(3, "0");

/**
 * Creates `dir` (0700) when missing, and refuses one that belongs to another user or that group or
 * others can enter: the keys in it may already have leaked, so the operator has to look, not us.
 * Symlinks are followed — the check is on the directory the files really land in.
 */
export function ensurePrivateDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // EEXIST: a file is in the way, which the check below names.
    if (code !== "EEXIST") throw new StoreError(`Cannot create the directory ${dir}: ${code ?? (e as Error).message}`, { cause: e });
  }
  const problem = privateDirProblem(dir, statSync(dir));
  if (problem) throw new StoreError(problem);
}

/** Why `dir` is not a directory only this user controls, naming its owner or mode and the fix. */
function privateDirProblem(dir: string, st: Stats): string | undefined {
  if (!st.isDirectory()) return `${dir} is not a directory: remove it or point Ward at another directory`;
  if (!POSIX) return undefined;
  const uid = process.getuid!();
  if (st.uid !== uid) {
    return `The directory ${dir} belongs to uid ${st.uid}, not to this user (uid ${uid}): run Ward as its owner, take it over with 'chown -R ${uid} ${dir}', or use a new directory below it (Ward creates it private)`;
  }
  if (st.mode & GROUP_OTHER) {
    return `Group or others can access the directory ${dir} (mode ${octalMode(st.mode)}), which holds Ward's keys: run 'chmod 700 ${dir}', or use a new directory below it (Ward creates it private)`;
  }
  return undefined;
}

/**
 * Takes group's and others' access away from an existing secrets file (written by an older Ward,
 * or copied in under a wide umask), and says so in the log. A missing file is fine.
 */
export function tightenPrivateFile(path: string, logger: Logger): void {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  if (!POSIX || !(st.mode & GROUP_OTHER)) return;
  const mode = st.mode & 0o700;
  try {
    chmodSync(path, mode);
  } catch (e) {
    throw new StoreError(`Cannot make ${path} private (mode ${octalMode(st.mode)}): run 'chmod 600 ${path}' as its owner`, { cause: e });
  }
  logger.warn("made a secrets file private: group or others could read it", { file: path, mode: octalMode(st.mode), newMode: octalMode(mode) });
}

/**
 * Makes sure `path` exists and is 0600 before another program (SQLite) opens it: SQLite creates a
 * missing database under the umask (0644 by default) and gives its -wal and -shm files the
 * database file's mode, so creating it 0600 first keeps all three private.
 */
export function ensurePrivateFile(path: string, logger: Logger): void {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EEXIST") throw new StoreError(`Cannot create ${path}: ${code ?? (e as Error).message}`, { cause: e });
    tightenPrivateFile(path, logger);
    return;
  }
  try {
    if (POSIX) fchmodSync(fd, 0o600); // exactly 0600, whatever the umask
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a secrets file atomically, 0600 (or `mode`, owner bits only): a fresh temporary file
 * beside it, renamed over it, so an existing file's wider mode does not survive and a reader
 * never sees half a key.
 */
export function writePrivateFile(path: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    writeFileSync(tmp, data, { mode: mode & 0o700, flag: "wx" });
    if (POSIX) chmodSync(tmp, mode & 0o700);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
