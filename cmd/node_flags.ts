/**
 * V8 flags for Ward's long-running roles (`ward gateway`, `ward agent`).
 *
 * Those processes are relays: little live JavaScript (a heap of 10–30 MB) and a steady stream of
 * short-lived Buffers (socket reads, tunnel messages, TLS records), whose memory lives outside the
 * V8 heap. With V8's defaults a heap that small gets a tiny old-generation limit, and Buffer bytes
 * allocated since the last full collection count against it: while streaming, a full mark-compact
 * ran every few MiB and took a third of each process's CPU (bench-tunnel, `--trace-gc`). With these
 * flags those Buffers are counted in the global limit, which starts at 64 MiB, so most of them are
 * freed by the cheap young-generation collection and full collections run far less often.
 *
 * The starting limit trades CPU for memory: garbage may grow to about that much before a full
 * collection. 128 MiB took about 20 % more off the CPU per MiB but raised the peak RSS of gateway
 * and agent under bench-proxy's request load by about 130 MiB each; 64 MiB costs a few tens of MiB.
 * `ward --node-options="--initial-old-space-size=N" gateway` overrides it (later flags win).
 *
 * Any non-default V8 flag also makes V8 reject code caches made without it — Node's own for its
 * built-in modules among them — which costs a daemon ~60 ms once at start but would cost every
 * short CLI call (kubectl's credential plugin) 10 ms or more. So the CLI runs without them, and the
 * two roles replace their own process with one that has them (same pid, stdio and environment).
 */
export const NODE_FLAGS: readonly string[] = ["--initial-old-space-size=64", "--external-memory-accounted-in-global-limit"];

/** Set in the environment of the relaunched process: it never relaunches again. */
const RELAUNCHED = "WARD_NODE_FLAGS_RELAUNCHED";

export function hasNodeFlags(execArgv: readonly string[] = process.execArgv): boolean {
  return NODE_FLAGS.every((f) => execArgv.includes(f));
}

export interface ProcessShape {
  execPath: string;
  execArgv: readonly string[];
  argv: readonly string[];
  /** A single executable application: Node options only through its `--node-options=` argument. */
  sea: boolean;
}

/** The argv (argv[0] included) that runs this same command with NODE_FLAGS added to its Node options. */
export function relaunchArgs(p: ProcessShape): string[] {
  const options = [...NODE_FLAGS, ...p.execArgv.filter((a) => !NODE_FLAGS.includes(a))];
  if (p.sea) return [p.execPath, `--node-options=${options.map(quoteOption).join(" ")}`, ...p.argv.slice(2)];
  return [p.execPath, ...options, ...p.argv.slice(1)];
}

/** Quotes one option for `--node-options` (parsed like NODE_OPTIONS: spaces split, double quotes group). */
function quoteOption(o: string): string {
  return /[\s"\\]/.test(o) ? `"${o.replace(/[\\"]/g, "\\$&")}"` : o;
}

function isSea(): boolean {
  const sea = process.getBuiltinModule?.("node:sea") as { isSea?: () => boolean } | undefined;
  return sea?.isSea?.() === true;
}

/**
 * Replaces this process with one running under NODE_FLAGS, unless it already runs with them, was
 * relaunched once already, or cannot be (Deno, or a Node without `process.execve`). Returns only then,
 * or when the exec itself fails: the role then runs without the flags (slower, not wrong), and says so.
 */
export function relaunchWithNodeFlags(exec: typeof process.execve | undefined = process.execve, warn: (m: string) => void = (m) => void process.stderr.write(m)): void {
  if (hasNodeFlags() || process.env[RELAUNCHED] || "Deno" in globalThis || typeof exec !== "function") return;
  const argv = relaunchArgs({ execPath: process.execPath, execArgv: process.execArgv, argv: process.argv, sea: isSea() });
  try {
    exec(process.execPath, argv, { ...process.env, [RELAUNCHED]: "1" });
  } catch (e) {
    warn(`ward: could not restart with its V8 flags (${(e as Error).message}); running without them\n`);
  }
}
