/** The benchmark's child processes (kubectl runs, the peer's and the floor's helpers): started here, killed together on exit. */
import { spawn, type ChildProcess } from "node:child_process";
import { debug } from "./config.ts";

/** Every child still running, for the clean-up. */
const children = new Set<ChildProcess>();

/** Kills every child still running. */
export function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}

export function spawnKubectl(kubectl: string, kubeconfig: string, args: string[]): ChildProcess {
  const c = spawn(kubectl, ["--kubeconfig", kubeconfig, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  children.add(c);
  c.once("exit", () => children.delete(c));
  return c;
}

/** Starts a helper process (the peer's Go binary, the Node floor) and waits for its ready line on stdout. */
export async function startHelper(bin: string, args: string[], ready: RegExp, env?: NodeJS.ProcessEnv): Promise<{ proc: ChildProcess; match: RegExpExecArray }> {
  const proc = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], ...(env ? { env } : {}) });
  children.add(proc);
  proc.once("exit", () => children.delete(proc));
  let err = "";
  proc.stderr!.on("data", (c: Buffer) => {
    err = (err + c.toString()).slice(-4000);
    debug(`${bin} ${args[0]}: ${c.toString().trimEnd()}`);
  });
  let out = "";
  for await (const c of proc.stdout!) {
    out += c;
    const m = ready.exec(out);
    if (m) {
      proc.stdout!.resume();
      return { proc, match: m };
    }
  }
  throw new Error(`${bin} ${args[0]} exited: ${out}${err}`);
}
