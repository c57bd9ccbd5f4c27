/**
 * Entry point of `scripts/kube-env` (run through the bash shim of the same name).
 *
 *   build [name...]           build or reuse the cached components (all when none named)
 *   bin <name>                print a component's binary path; exit 1 with a message if missing
 *   versions                  print the pinned components as JSON
 *   up [--dir D] [--owner-pid P] [--quiet]
 *                             start etcd + kube-apiserver + kwok (+ echo server) and print the
 *                             path of the env file (D/env.json) on stdout
 *   down [--dir D]            stop exactly what `up` started in D
 *   wrapper <name> <version>  regenerate scripts/go/<name> for another release
 */
import { build, log } from "./kube-env-build.ts";
import { binaryPath, componentNames, components, findBinary, MissingBinaryError } from "./kube-env-components.ts";

const usage = `Usage: scripts/kube-env <command>
  build [name...]        build or reuse cached binaries (${components.map((c) => c.name).join(", ")})
  bin <name>             print the path of a binary (${componentNames().join(", ")})
  versions               print the pinned versions as JSON
  up [--dir D] [--owner-pid P] [--quiet]
                         start a control plane; prints the env file path (D/env.json)
  down [--dir D]         stop what 'up' started in D
  wrapper <kube-apiserver|etcd> <version>
                         regenerate a wrapper module in scripts/go/ for another release
Default dir: /tmp/ward-kube-env. Cache: $WARD_CACHE_DIR, else ~/.cache/ward.
KUBE_ENV_DEBUG=1 prints stack traces; WARD_BUILD_VERBOSE=1 shows module downloads.`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "build":
      await build(rest);
      return 0;
    case "bin": {
      if (rest.length !== 1) {
        process.stderr.write(`Usage: scripts/kube-env bin <name>  (${componentNames().join(", ")})\n`);
        return 2;
      }
      process.stdout.write(findBinary(rest[0]!) + "\n");
      return 0;
    }
    case "versions":
      process.stdout.write(
        JSON.stringify(Object.fromEntries(components.map((c) => [c.name, { version: c.version, path: binaryPath(c) }])), null, 2) + "\n",
      );
      return 0;
    case "up": {
      const { up } = await import("./kube-env-up.ts");
      const env = await up(parseFlags(rest, ["dir", "owner-pid"], ["quiet"]));
      process.stdout.write(env + "\n");
      return 0;
    }
    case "down": {
      const { down } = await import("./kube-env-up.ts");
      await down(parseFlags(rest, ["dir"], []));
      return 0;
    }
    case "wrapper": {
      if (rest.length !== 2) throw new UsageError("Usage: scripts/kube-env wrapper <kube-apiserver|etcd> <version>");
      const { regenerateWrapper } = await import("./kube-env-wrapper.ts");
      regenerateWrapper(rest[0]!, rest[1]!);
      return 0;
    }
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(usage + "\n");
      return 0;
    default:
      process.stderr.write(`${cmd ? `Unknown command "${cmd}".\n` : ""}${usage}\n`);
      return 2;
  }
}

function parseFlags(args: string[], valued: string[], bools: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^--([\w-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new UsageError(`Unexpected argument "${a}".`);
    const name = m[1]!;
    if (bools.includes(name)) {
      out[name] = "true";
    } else if (valued.includes(name)) {
      const v = m[2] ?? args[++i];
      if (v === undefined) throw new UsageError(`--${name} needs a value.`);
      out[name] = v;
    } else {
      throw new UsageError(`Unknown flag --${name}.`);
    }
  }
  return out;
}

class UsageError extends Error {
  override name = "UsageError";
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof MissingBinaryError || err instanceof UsageError) {
      process.stderr.write(`kube-env: ${err.message}\n`);
      process.exit(err instanceof UsageError ? 2 : 1);
    }
    const e = err instanceof Error ? err : new Error(String(err));
    log(process.env.KUBE_ENV_DEBUG ? (e.stack ?? e.message) : `Error: ${e.message}`);
    process.exit(1);
  },
);
