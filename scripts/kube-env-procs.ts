/**
 * Background processes for `kube-env up`: started detached (their own process group, output to a
 * log file) so they outlive `up`, and stopped by pid only after checking that the pid still runs
 * the same executable (a recycled pid is never signalled).
 */
import { spawn } from "node:child_process";
import { openSync, closeSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

export interface Proc {
  name: string;
  pid: number;
  /** The executable path, to recognise the process again in `down`. */
  exe: string;
  log: string;
}

export function startDetached(name: string, exe: string, args: string[], logFile: string, cwd: string): Proc {
  const fd = openSync(logFile, "a");
  try {
    const child = spawn(exe, args, { cwd, detached: true, stdio: ["ignore", fd, fd] });
    if (child.pid === undefined) throw new Error(`Could not start ${name} (${exe})`);
    child.unref();
    return { name, pid: child.pid, exe, log: logFile };
  } finally {
    closeSync(fd);
  }
}

/** True when `pid` is alive and still runs `exe` (its argv[0] or an argument names it). */
export function isRunning(p: Pick<Proc, "pid" | "exe">): boolean {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${p.pid}/cmdline`, "utf8");
  } catch {
    return false;
  }
  if (cmdline === "") return false; // zombie
  return cmdline.split("\0").some((arg) => arg === p.exe);
}

/**
 * SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Signals go to the
 * process group `startDetached` created, so commands kwok runs for `kubectl exec` go too.
 */
export async function stop(p: Proc, graceMs = 10_000): Promise<void> {
  if (!isRunning(p)) return;
  signalGroup(p.pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isRunning(p)) {
    if (Date.now() > deadline) {
      signalGroup(p.pid, "SIGKILL");
      await sleep(100);
      if (isRunning(p)) throw new Error(`${p.name} (pid ${p.pid}) survived SIGKILL`);
      return;
    }
    await sleep(50);
  }
  // Stragglers in the group (a `kubectl exec` command still running when kwok stopped).
  signalGroup(p.pid, "SIGKILL");
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

/**
 * Reserves `n` distinct free loopback ports for servers started later by another process. They are
 * drawn at random from below the kernel's ephemeral range (ip_local_port_range): a port from
 * listen(0) lies inside that range, so between our close and the server's bind any outgoing
 * connection (the API server's to etcd, for one) may take it as its local port — CI saw kwok fail
 * with "address already in use" that way. Outside the range only another listener can collide,
 * and each port is checked by binding it.
 */
export async function freePorts(n: number): Promise<number[]> {
  const low = ephemeralLow();
  const min = Math.min(10_000, low - 1_000);
  const ports: number[] = [];
  for (let tries = 0; ports.length < n; tries++) {
    if (tries > 1_000) throw new Error(`no free loopback port found in ${min}-${low - 1}`);
    const port = min + Math.floor(Math.random() * (low - min));
    if (!ports.includes(port) && (await canBind(port))) ports.push(port);
  }
  return ports;
}

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 2_024) return low;
  } catch { /* not Linux: the usual default */ }
  return 32_768;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/**
 * Polls `check` until it returns a value other than undefined. Fails early, with the end of the
 * process's log, if `proc` exits meanwhile.
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, opts: { timeoutMs: number; proc?: Proc }): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastErr = "";
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = (err as Error).message;
    }
    if (opts.proc && !isRunning(opts.proc)) {
      throw new Error(`${opts.proc.name} exited while waiting for ${what}. End of ${opts.proc.log}:\n${logTail(opts.proc.log)}`);
    }
    if (Date.now() > deadline) {
      const tail = opts.proc ? `\nEnd of ${opts.proc.log}:\n${logTail(opts.proc.log)}` : "";
      throw new Error(`Timed out after ${opts.timeoutMs / 1000}s waiting for ${what}${lastErr ? ` (last error: ${lastErr})` : ""}${tail}`);
    }
    await sleep(100);
  }
}

export function logTail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
