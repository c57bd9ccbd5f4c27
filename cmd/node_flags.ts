/**
 * V8 flags and malloc settings for Ward's long-running roles (`ward gateway`, `ward agent`).
 *
 * Those processes are relays: a small live heap (15–30 MiB) and a steady stream of short-lived
 * objects and Buffers (socket reads, tunnel frames, TLS records) whose bytes live outside V8's heap,
 * in malloc. Measured with scripts/bench-footprint.ts (README: Memory), on V8's defaults:
 *   - the young generation grew to 128 MiB (two 64 MiB semi-spaces, sized for a machine with GiBs
 *     of RAM), and V8 lets the bytes of young Buffers reach about twice a semi-space before it
 *     collects them: 100+ MiB of dead Buffers between collections;
 *   - the old generation's limit grew far above its live size (27 MiB live, collected at 115 MiB);
 *   - glibc kept what those collections freed: 60+ MiB of free memory in the main arena.
 * So: a 1 MiB semi-space (a young collection every MiB, each cheap since nearly everything in it is
 * dead), an old-generation limit twice what was live after the last full collection (25 % saved a
 * few MiB more but doubled the CPU per MiB of exec and port-forward), Buffer bytes counted in that
 * limit; and one malloc arena, trimmed when 4 MiB of it is free at the top, with blocks of
 * 1 MiB or more mapped and unmapped on their own (glibc's default threshold climbs to 32 MiB after
 * the first big free, after which big blocks fragment the arena). A threshold of 64 KiB kept a little
 * more memory back but cost a third of the tunnel's download throughput (an mmap and page faults per
 * 64 KiB socket read and WebSocket frame; bench-tunnel). Together these took the gateway's peak RSS
 * under bench-proxy's phases from 335 to about 130 MiB and the agent's from 308 to about 135
 * (README: Memory). `--optimize-for-size` (V8 collects and compacts for memory first) then took the
 * agent's bench-proxy peak from 134 to 111 MiB and the gateway's from 127 to 121, with ward/floor
 * within this machine's noise (README: Memory). `--bytecode-old-age=1`: V8 drops a function's
 * bytecode when a full collection finds it unused since the previous one (the default waits six),
 * so the code that only ran at start — settings, the kubeconfig loader, module set-up — is not kept
 * for the process's life: an idle agent 2.4 MiB smaller; a function run again is compiled again.
 *
 * `ward --node-options="--max-semi-space-size=8" gateway` overrides a flag (later flags win), and a
 * GLIBC_TUNABLES already set wins over MALLOC_TUNABLES for the tunables it names.
 *
 * Any non-default V8 flag also makes V8 reject code caches made without it — Node's own for its
 * built-in modules among them — which costs a daemon ~60 ms once at start but would cost every
 * short CLI call (kubectl's credential plugin) 10 ms or more. So the CLI runs without them, and the
 * two roles replace their own process with one that has them (same pid, stdio and environment).
 */
export const NODE_FLAGS: readonly string[] = ["--max-semi-space-size=1", "--heap-growing-percent=100", "--external-memory-accounted-in-global-limit", "--optimize-for-size", "--bytecode-old-age=1"];

/** glibc malloc tunables for the relaunched process (read by glibc at exec; ignored by other C libraries). */
export const MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=1048576:glibc.malloc.trim_threshold=4194304:glibc.malloc.arena_max=1";

/** The relaunched process's GLIBC_TUNABLES: ours first, so that tunables the user set win (glibc keeps the last). */
export function mallocTunables(user: string | undefined): string {
  return user ? `${MALLOC_TUNABLES}:${user}` : MALLOC_TUNABLES;
}

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
    exec(process.execPath, argv, { ...process.env, GLIBC_TUNABLES: mallocTunables(process.env.GLIBC_TUNABLES), [RELAUNCHED]: "1" });
  } catch (e) {
    warn(`ward: could not restart with its V8 flags (${(e as Error).message}); running without them\n`);
  }
}
