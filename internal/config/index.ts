/**
 * Configuration from flags, `WARD_*` environment variables and an optional YAML file, in that
 * order of precedence, validated once. Pure: callers hand in the three sources.
 */
import { parseDuration } from "../validate/index.ts";

export type Kind = "string" | "number" | "boolean" | "duration";

export interface SettingSpec {
  kind: Kind;
  /** Flag name without dashes, e.g. "data-dir". */
  flag: string;
  /** Environment variable, e.g. "WARD_DATA_DIR". */
  env: string;
  /** Dotted key in the YAML file, e.g. "store.dataDir". */
  key: string;
  default?: string | number | boolean;
  /** How the reference states the default when the value alone does not say it (e.g. "the listen URL"). */
  defaultText?: string;
  description: string;
  validate?: (v: never) => string | undefined;
  /**
   * A secret, or a value that may hold one: `--print-config` shows `***` instead (true), or what
   * the function leaves of it (e.g. a URL without its password).
   */
  secret?: true | ((value: string) => string);
}

export type Spec = Record<string, SettingSpec>;

export type Resolved<S extends Spec> = {
  [K in keyof S]: S[K]["kind"] extends "number" | "duration" ? number : S[K]["kind"] extends "boolean" ? boolean : string;
};

export interface Sources {
  flags: Record<string, unknown>;
  env: Record<string, string | undefined>;
  file?: Record<string, unknown> | undefined;
  /** Name of the file for error messages. */
  fileName?: string;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** A duration setting in milliseconds: "500ms", "1.5s", "5m", "1h" or a bare number of milliseconds. */
export function parseConfigDuration(raw: string): number | undefined {
  return parseDuration(raw, { units: ["ms", "s", "m", "h"], bareMilliseconds: true });
}

function lookup(obj: Record<string, unknown> | undefined, key: string): unknown {
  let cur: unknown = obj;
  for (const part of key.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function coerce(spec: SettingSpec, raw: unknown, where: string): string | number | boolean {
  const bad = (what: string) => new ConfigError(`Invalid ${where}: ${what}`);
  switch (spec.kind) {
    case "string":
      if (typeof raw === "string" || typeof raw === "number") return String(raw);
      throw bad("expected a string");
    case "number": {
      const n = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
      if (!Number.isFinite(n)) throw bad(`expected a number, got ${JSON.stringify(raw)}`);
      return n;
    }
    case "boolean":
      if (typeof raw === "boolean") return raw;
      if (raw === "true" || raw === "1" || raw === "yes") return true;
      if (raw === "false" || raw === "0" || raw === "no") return false;
      throw bad(`expected true or false, got ${JSON.stringify(raw)}`);
    case "duration": {
      const d = typeof raw === "number" ? raw : typeof raw === "string" ? parseConfigDuration(raw.trim()) : undefined;
      if (d === undefined || d < 0) throw bad(`expected a duration like 30s, 5m or 1h, got ${JSON.stringify(raw)}`);
      return d;
    }
  }
}

/** Where a setting's value came from. */
export type Origin = "flag" | "env" | "file" | "default";

export function resolveConfig<S extends Spec>(spec: S, src: Sources): Resolved<S> {
  return resolveConfigWithOrigins(spec, src).values;
}

/** `resolveConfig`, and where each value came from (for `--print-config`). */
export function resolveConfigWithOrigins<S extends Spec>(spec: S, src: Sources): { values: Resolved<S>; origins: Record<keyof S, Origin> } {
  const out: Record<string, unknown> = {};
  const origins: Record<string, Origin> = {};
  for (const [name, s] of Object.entries(spec)) {
    let value: string | number | boolean | undefined;
    const flag = src.flags[s.flag];
    const env = src.env[s.env];
    const file = lookup(src.file, s.key);
    let origin: Origin = "default";
    if (flag !== undefined) (value = coerce(s, flag, `--${s.flag}`)), (origin = "flag");
    else if (env !== undefined && env !== "") (value = coerce(s, env, s.env)), (origin = "env");
    else if (file !== undefined && file !== null) (value = coerce(s, file, `${s.key} in ${src.fileName ?? "the config file"}`)), (origin = "file");
    else value = s.default;
    if (value === undefined) throw new ConfigError(`Missing ${name}: set --${s.flag}, ${s.env} or ${s.key} in the config file`);
    const problem = s.validate?.(value as never);
    if (problem) throw new ConfigError(`Invalid --${s.flag} (${s.env}): ${problem}`);
    out[name] = value;
    origins[name] = origin;
  }
  return { values: out as Resolved<S>, origins: origins as Record<keyof S, Origin> };
}

/** A duration in the shortest exact unit the settings accept: "5m", "30s", "1h", "250ms". */
export function formatConfigDuration(ms: number): string {
  if (ms === 0) return "0s";
  for (const [unit, size] of [["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** Parses "host:port" (port 0 = any free port). */
export function parseListen(raw: string): { host: string; port: number } | undefined {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(raw);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
}
