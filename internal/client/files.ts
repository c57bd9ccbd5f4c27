/**
 * Where the CLI keeps its state: the signed-in sessions (config dir, 0600) and cached k8s tokens
 * (cache dir, 0600). Writes are atomic (temp file + rename in the same directory).
 */
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

type Env = Record<string, string | undefined>;

export function configDir(env: Env = process.env): string {
  if (env["WARD_CONFIG_DIR"]) return env["WARD_CONFIG_DIR"];
  return join(env["XDG_CONFIG_HOME"] || join(env["HOME"] || homedir(), ".config"), "ward");
}

export function cacheDir(env: Env = process.env): string {
  if (env["WARD_CACHE_DIR"]) return env["WARD_CACHE_DIR"];
  return join(env["XDG_CACHE_HOME"] || join(env["HOME"] || homedir(), ".cache"), "ward");
}

export function readJson<T>(path: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined; // a torn or hand-broken file is treated as absent and rewritten
  }
}

export function writeJsonPrivate(path: string, value: unknown): void {
  writeFilePrivate(path, JSON.stringify(value, null, 2) + "\n");
}

/** Writes `text` to `path` (0600, its directory 0700) atomically; the temp name ends in `.tmp`. */
export function writeFilePrivate(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
  try {
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw e;
  }
}

export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}

/** A digest for names derived from secrets (node:crypto is loaded only when one is needed). */
export function shortHash(...parts: string[]): string {
  return process.getBuiltinModule("node:crypto").createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 32);
}

/** A readable, filesystem-safe cache file stem from non-secret parts, e.g. `127.0.0.1-8443_prod_m0a1b`. */
export function cacheStem(...parts: string[]): string {
  return parts.map((p) => p.replace(/^https?:\/\//, "").replace(/[^A-Za-z0-9.-]+/g, "-").slice(0, 80)).join("_");
}
