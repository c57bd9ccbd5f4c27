import { readFileSync } from "node:fs";
import { ConfigError } from "./index.ts";

/** Reads the optional YAML config file; a clear error names the file and line. */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`Cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const { parseDocument } = await import("yaml");
  const doc = parseDocument(text);
  if (doc.errors.length) throw new ConfigError(`Invalid YAML in ${path}: ${doc.errors[0]!.message}`);
  const value = doc.toJS() ?? {};
  if (typeof value !== "object" || Array.isArray(value)) throw new ConfigError(`Config file ${path} must be a mapping of settings`);
  return value as Record<string, unknown>;
}
