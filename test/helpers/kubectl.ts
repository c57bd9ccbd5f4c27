/**
 * Running a real kubectl from tests: one-shot commands (`kubectl()`) and long-running ones whose
 * output is watched while the test acts (`kubectlStream()`: `get -w`, `logs -f`, `attach`,
 * `port-forward`).
 */
import { spawn } from "node:child_process";

export interface KubectlTarget {
  /** Path of the kubectl binary. */
  kubectl: string;
  kubeconfig: string;
}

export interface KubectlResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  /** Bytes for kubectl's stdin (it is closed after them); stdin is empty otherwise. */
  input?: string | Uint8Array;
  timeoutMs?: number;
  /** Extra environment (e.g. GODEBUG), over this process's. */
  env?: NodeJS.ProcessEnv;
}

function argv(target: KubectlTarget, args: string[]): string[] {
  return ["--kubeconfig", target.kubeconfig, ...args];
}

function describe(target: KubectlTarget, args: string[]): string {
  return `${target.kubectl} ${args.join(" ")}`;
}

/** Runs kubectl to completion. Never throws for a non-zero exit: callers assert on the result. */
export function kubectl(target: KubectlTarget, args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(target.kubectl, argv(target, args), { stdio: ["pipe", "pipe", "pipe"], ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.stdin.on("error", () => {}); // kubectl may exit before reading all of its input
    child.stdin.end(opts.input ?? "");
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`Timed out after ${timeoutMs} ms: ${describe(target, args)}\nstdout: ${Buffer.concat(out).toString()}\nstderr: ${Buffer.concat(err).toString()}`));
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
  });
}

/** Runs kubectl and fails (with its output) unless it exits 0; resolves to stdout. */
export async function kubectlOk(target: KubectlTarget, args: string[], opts: KubectlOptions = {}): Promise<string> {
  const r = await kubectl(target, args, opts);
  if (r.code !== 0) {
    throw new Error(`${describe(target, args)} exited ${r.code ?? r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return r.stdout;
}

export interface KubectlStream {
  /** Everything written to stdout (and, separately, stderr) so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with stdout once `pattern` matches it; fails on timeout or if kubectl exits first. */
  waitFor(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  write(data: string | Uint8Array): void;
  /** SIGTERM (then SIGKILL) and wait for exit. */
  stop(): Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a long-running kubectl; the caller must `stop()` it (use `t.after`). */
export function kubectlStream(target: KubectlTarget, args: string[]): KubectlStream {
  const child = spawn(target.kubectl, argv(target, args), { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  let done = false;
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((f) => f());
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (c: string) => {
    out += c;
    notify();
  });
  child.stderr.on("data", (c: string) => {
    err += c;
    notify();
  });
  child.stdin.on("error", () => {});
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("close", (code, signal) => {
      done = true;
      notify();
      resolve({ code, signal });
    });
    child.on("error", (e) => {
      err += `\nspawn error: ${e.message}`;
      done = true;
      notify();
      resolve({ code: null, signal: null });
    });
  });

  function waitFor(pattern: RegExp | string, timeoutMs = 20_000): Promise<string> {
    const matches = () => (typeof pattern === "string" ? out.includes(pattern) : pattern.test(out));
    return new Promise((resolve, reject) => {
      const check = () => {
        if (matches()) {
          cleanup();
          resolve(out);
        } else if (done) {
          cleanup();
          reject(new Error(`kubectl exited before printing ${pattern}: ${describe(target, args)}\nstdout: ${out}\nstderr: ${err}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${pattern}: ${describe(target, args)}\nstdout: ${out}\nstderr: ${err}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });
  }

  async function stop(): Promise<void> {
    if (done) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }

  return {
    stdout: () => out,
    stderr: () => err,
    waitFor,
    write: (data) => child.stdin.write(data),
    stop,
    exited,
  };
}
