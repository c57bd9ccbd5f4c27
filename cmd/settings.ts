/** Shared wiring: the config file, the logger, and signal handling for long-running commands. */
import type { Invocation } from "../internal/cli/command.ts";
import { UsageError } from "../internal/cli/command.ts";
import { ConfigError, resolveConfig, type Resolved, type Spec } from "../internal/config/index.ts";
import { createLogger, type Level, type Logger } from "../internal/log/index.ts";

export async function loadSettings<S extends Spec>(inv: Invocation, spec: S): Promise<Resolved<S>> {
  const path = (inv.flags.config as string | undefined) ?? process.env.WARD_CONFIG;
  let file: Record<string, unknown> | undefined;
  if (path) file = await (await import("../internal/config/file.ts")).readConfigFile(path);
  try {
    return resolveConfig(spec, { flags: inv.flags, env: process.env, file, fileName: path });
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message, inv.path);
    throw e;
  }
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
