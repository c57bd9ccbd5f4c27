/**
 * A real control plane (etcd + kube-apiserver + kwok) for node:test suites, started through
 * `scripts/kube-env up` once per test file and stopped in `after`.
 *
 *   import { useKubeEnv } from "../helpers/kube-env.ts";
 *   const kube = useKubeEnv();               // registers before/after hooks
 *   test("...", () => { kube().apiServer; kube().appendLog("line"); });
 *
 * Components are never skipped: a missing binary fails the suite with a message saying how to build
 * it (`bash scripts/setup`). Binary lookup for other code: `natsServerPath()`, `findBinary(name)`.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { promisify } from "node:util";
import { findBinary, repoRoot } from "../../scripts/kube-env-components.ts";
import { criLogLines } from "../../scripts/kube-env-kwok.ts";
import type { KubeEnvFile } from "../../scripts/kube-env-up.ts";

export { findBinary } from "../../scripts/kube-env-components.ts";
export type { KubeEnvFile } from "../../scripts/kube-env-up.ts";

const run = promisify(execFile);
const kubeEnvScript = join(repoRoot, "scripts", "kube-env");

export interface KubeEnv extends KubeEnvFile {
  /** The CA certificate (PEM), for clients that take it inline. */
  ca: string;
  adminCert: string;
  adminKey: string;
  /** Appends lines to the pod's log: `kubectl logs -f` and `attach` see them. */
  appendLog(text: string): void;
  /** Stops everything this environment started (idempotent). */
  stop(): Promise<void>;
}

/** The cached nats-server (≥ 2.10, websocket) binary; throws how to build it when missing. */
export function natsServerPath(): string {
  return findBinary("nats-server");
}

/** The machine's kubectl (newest, WebSocket streaming) and Debian's 1.20 (SPDY only). */
export function kubectlPaths(): { newest: string; spdy: string } {
  return { newest: findBinary("kubectl"), spdy: findBinary("kubectl-1.20") };
}

/** Starts an environment in a fresh temp dir. It stops itself if this process dies first. */
export async function startKubeEnv(): Promise<KubeEnv> {
  // A path that does not exist yet: `up` creates it, so `down` (or the watchdog) removes it.
  const dir = join(tmpdir(), `ward-kube-env-${process.pid}-${randomBytes(4).toString("hex")}`);
  let envPath: string;
  try {
    const r = await run(kubeEnvScript, ["up", "--dir", dir, "--owner-pid", String(process.pid), "--quiet"], {
      timeout: 180_000,
      maxBuffer: 16 << 20,
    });
    envPath = r.stdout.trim().split("\n").pop()!;
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const e = err as { stderr?: string; message: string };
    throw new Error(`scripts/kube-env up failed: ${e.stderr?.trim() || e.message}`);
  }
  const file = JSON.parse(readFileSync(envPath, "utf8")) as KubeEnvFile;
  let stopped = false;
  return {
    ...file,
    ca: readFileSync(file.caFile, "utf8"),
    adminCert: readFileSync(file.adminCertFile, "utf8"),
    adminKey: readFileSync(file.adminKeyFile, "utf8"),
    appendLog(text: string) {
      appendFileSync(file.logFile, criLogLines(text));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await run(kubeEnvScript, ["down", "--dir", dir], { timeout: 60_000 });
    },
  };
}

/**
 * Registers `before`/`after` hooks that bring one environment up for the current test file (or
 * `describe` block) and returns an accessor for it.
 */
export function useKubeEnv(): () => KubeEnv {
  let env: KubeEnv | undefined;
  before(async () => {
    env = await startKubeEnv();
  }, { timeout: 200_000 });
  after(async () => {
    await env?.stop();
  });
  return () => {
    if (!env) throw new Error("The kube-env is not up: its before() hook failed or has not run");
    return env;
  };
}
