/** Shared wiring: the config file, the logger, and signal handling for long-running commands. */
import type { Invocation } from "../internal/cli/command.ts";
import { UsageError } from "../internal/cli/command.ts";
import { ConfigError, resolveConfigWithOrigins, type Origin, type Resolved, type Spec } from "../internal/config/index.ts";
import { createLogger, type Level, type Logger } from "../internal/log/index.ts";

export async function loadSettings<S extends Spec>(inv: Invocation, spec: S): Promise<Resolved<S>> {
  return (await loadSettingsWithOrigins(inv, spec)).values;
}

/** The settings from flags, `WARD_*` variables and the config file, and where each value came from. */
export async function loadSettingsWithOrigins<S extends Spec>(inv: Invocation, spec: S): Promise<{ values: Resolved<S>; origins: Record<keyof S, Origin>; file: string | undefined }> {
  const path = (inv.flags.config as string | undefined) ?? process.env.WARD_CONFIG;
  let file: Record<string, unknown> | undefined;
  if (path) file = await (await import("../internal/config/file.ts")).readConfigFile(path);
  try {
    return { ...resolveConfigWithOrigins(spec, { flags: inv.flags, env: process.env, file, fileName: path }), file: path };
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message, inv.path);
    throw e;
  }
}

/**
 * `--print-config`: writes the effective settings (secrets as `***`) as a YAML config file, each
 * value with where it came from, and returns the exit code 0. Nothing starts.
 */
export async function printSettings(inv: Invocation, spec: Spec, role: string): Promise<number> {
  const { values, origins, file } = await loadSettingsWithOrigins(inv, spec);
  const { formatSettings } = await import("../internal/config/print.ts");
  const header = [`${role}: effective configuration (flags > WARD_* environment > config file > defaults); secrets shown as ***`];
  if (file) header.push(`config file: ${file}`);
  inv.io.out(formatSettings(spec, values, origins as Record<string, Origin>, header));
  return 0;
}

const LEVELS = ["debug", "info", "warn", "error"];

export function makeLogger(inv: Invocation, component: string): Logger {
  const level = (inv.flags["log-level"] as string | undefined) ?? process.env.WARD_LOG_LEVEL ?? "info";
  if (!LEVELS.includes(level)) throw new UsageError(`Unknown log level "${level}": use ${LEVELS.join(", ")}`, inv.path);
  return createLogger({ level: level as Level, base: { component } });
}

/** Resolves when SIGTERM or SIGINT arrives; a second signal exits at once. */
export function untilSignal(log: Logger): Promise<string> {
  return new Promise((resolve) => {
    let received = 0;
    const onSignal = (sig: string) => {
      if (++received > 1) process.exit(1);
      log.info("shutting down", { signal: sig });
      resolve(sig);
    };
    process.on("SIGTERM", () => onSignal("SIGTERM"));
    process.on("SIGINT", () => onSignal("SIGINT"));
  });
}
