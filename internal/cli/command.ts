/**
 * A small declarative command tree: nested subcommands, flags parsed by node:util's
 * parseArgs (strict), generated help at every level. Pure apart from the `io` it is given.
 */
import { parseArgs } from "node:util";

export interface FlagSpec {
  name: string;
  type: "string" | "boolean";
  short?: string;
  /** Shown in help, e.g. "URL". */
  value?: string;
  description: string;
  multiple?: boolean;
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export interface Invocation {
  /** The command path, e.g. ["ward", "cluster", "kubeconfig", "add"]. */
  path: string[];
  flags: Record<string, string | boolean | (string | boolean)[] | undefined>;
  args: string[];
  io: Io;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage?: string;
  description?: string;
  examples?: string[];
  flags?: FlagSpec[];
  /** Positional arguments allowed (names for help); none when absent. */
  args?: string[];
  subcommands?: CommandSpec[];
  /** Resolves to the process exit code. */
  run?: (inv: Invocation) => Promise<number>;
}

/** Raised for bad usage; printed with a hint and exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
  readonly command: string[];
  constructor(message: string, command: string[]) {
    super(message);
    this.command = command;
  }
}

const HELP: FlagSpec = { name: "help", short: "h", type: "boolean", description: "Show help for this command" };

export function helpText(spec: CommandSpec, path: string[]): string {
  const lines: string[] = [];
  const full = path.join(" ");
  lines.push(spec.description ?? spec.summary, "");
  const usage = spec.usage ?? (spec.subcommands?.length ? `${full} <command> [flags]` : `${full} [flags]${(spec.args ?? []).map((a) => ` <${a}>`).join("")}`);
  lines.push("Usage:", `  ${usage}`, "");
  if (spec.subcommands?.length) {
    lines.push("Commands:");
    const w = Math.max(...spec.subcommands.map((s) => s.name.length));
    for (const s of spec.subcommands) lines.push(`  ${s.name.padEnd(w)}  ${s.summary}`);
    lines.push("");
  }
  const flags = [...(spec.flags ?? []), HELP];
  lines.push("Flags:");
  const labels = flags.map((f) => `${f.short ? `-${f.short}, ` : "    "}--${f.name}${f.type === "string" ? ` ${f.value ?? "string"}` : ""}`);
  const w = Math.max(...labels.map((l) => l.length));
  flags.forEach((f, i) => lines.push(`  ${labels[i]!.padEnd(w)}  ${f.description}`));
  if (spec.examples?.length) lines.push("", "Examples:", ...spec.examples.map((e) => `  ${e}`));
  if (spec.subcommands?.length) lines.push("", `Run '${full} <command> --help' for more about a command.`);
  return lines.join("\n") + "\n";
}

/** Finds the command addressed by argv and parses its flags. Throws UsageError. */
export function resolve(root: CommandSpec, argv: string[]): { spec: CommandSpec; inv: Omit<Invocation, "io">; help: boolean } {
  const path = [root.name];
  let spec = root;
  let i = 0;
  while (spec.subcommands?.length && i < argv.length) {
    const word = argv[i]!;
    if (word.startsWith("-")) break;
    const next = spec.subcommands.find((s) => s.name === word);
    if (!next) {
      throw new UsageError(`Unknown command "${word}" for "${path.join(" ")}"`, path);
    }
    spec = next;
    path.push(word);
    i++;
  }
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const f of [...(spec.flags ?? []), HELP]) {
    options[f.name] = { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv.slice(i), options, strict: true, allowPositionals: true });
  } catch (e) {
    throw new UsageError(flagMessage((e as Error).message), path);
  }
  const help = parsed.values.help === true;
  if (!help) {
    if (spec.subcommands?.length && !spec.run) {
      if (parsed.positionals.length) throw new UsageError(`Unknown command "${parsed.positionals[0]}" for "${path.join(" ")}"`, path);
      throw new UsageError(`Missing command for "${path.join(" ")}"`, path);
    }
    const max = spec.args?.length ?? 0;
    if (parsed.positionals.length > max) {
      throw new UsageError(`Unexpected argument "${parsed.positionals[max]}" for "${path.join(" ")}"`, path);
    }
  }
  return { spec, inv: { path, flags: parsed.values, args: parsed.positionals }, help };
}

function flagMessage(msg: string): string {
  // node's messages: "Unknown option '--x'. ..." / "Option '--x <value>' argument missing"
  const unknown = /Unknown option '([^']+)'/.exec(msg);
  if (unknown) return `Unknown flag ${unknown[1]}`;
  const missing = /Option '(-\S+)(?:, (--\S+))? <value>' argument missing/.exec(msg);
  if (missing) return `Flag ${missing[2] ?? missing[1]} needs a value`;
  return msg.replace(/\. To specify a positional argument.*$/s, "");
}

/** Runs argv against the tree; returns the exit code. Never throws for usage errors. */
export async function execute(root: CommandSpec, argv: string[], io: Io): Promise<number> {
  let r;
  try {
    r = resolve(root, argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`Error: ${e.message}\nRun '${e.command.join(" ")} --help' for usage.\n`);
      return 2;
    }
    throw e;
  }
  if (r.help || !r.spec.run) {
    io.out(helpText(r.spec, r.inv.path));
    return 0;
  }
  try {
    return await r.spec.run({ ...r.inv, io });
  } catch (e) {
    // By name, not instanceof: the single executable loads its heavy half as a separate bundle.
    if (e instanceof UsageError || (e instanceof Error && e.name === "UsageError" && Array.isArray((e as UsageError).command))) {
      io.err(`Error: ${e.message}\nRun '${(e as UsageError).command.join(" ")} --help' for usage.\n`);
      return 2;
    }
    throw e;
  }
}
