/**
 * The port-forwards: `n` real `kubectl port-forward` processes (the newest kubectl: WebSocket
 * tunnelling through the gateway) to the kube-env pod, whose port-forward reaches the echo server
 * (scripts/kube-env-echo.ts). Through each, connections of 1 MiB in 64 KiB round trips — each
 * round's bytes must come back as sent — paced to the given KiB/s, then the next connection (a new
 * stream in the port-forward). kubectl saying "error" or exiting is an error; it is restarted.
 */
import type { ChildProcess } from "node:child_process";
import net from "node:net";
import { spawnKubectl } from "../bench-proxy/processes.ts";
import { errorLabel, sleep, type LoadStats } from "./stats.ts";

const ROUND = 64 * 1024;
const PER_CONNECTION = 1024 * 1024;
const WAIT_MS = 10_000;

export interface PortForwardTarget { kubectl: string; kubeconfig: string; namespace: string; pod: string; podPort: number }

export function portForwardLoops(targets: PortForwardTarget[], n: number, kibPerS: number, stats: LoadStats, until: () => boolean): { done: Promise<unknown>; close(): void } {
  const procs = new Set<ChildProcess>();
  const done = Promise.all(Array.from({ length: n }, async (_, i) => {
    const t = targets[i % targets.length]!;
    while (!until()) {
      const pf = await startPortForward(t, stats, until);
      if (!pf) {
        await sleep(1000);
        continue;
      }
      procs.add(pf.proc);
      while (!until() && pf.proc.exitCode === null && pf.proc.signalCode === null) await connection(pf.port, kibPerS, stats, until);
      procs.delete(pf.proc);
      if (!until()) stats.error("pf: kubectl exited", `kubectl port-forward exited (${pf.proc.exitCode ?? pf.proc.signalCode}): ${pf.tail()}`);
      pf.proc.kill("SIGKILL");
    }
  }));
  return {
    done,
    close: () => {
      for (const p of procs) p.kill("SIGTERM");
    },
  };
}

async function startPortForward(t: PortForwardTarget, stats: LoadStats, until: () => boolean): Promise<{ proc: ChildProcess; port: number; tail(): string } | undefined> {
  const proc = spawnKubectl(t.kubectl, t.kubeconfig, ["port-forward", "-n", t.namespace, `pod/${t.pod}`, `:${t.podPort}`]);
  proc.stdin!.end();
  let out = "";
  let port = 0;
  const onLine = (line: string) => {
    const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(line);
    if (m) port = Number(m[1]);
    else if (/error|unable|fail/i.test(line)) stats.error("pf: kubectl", line.trim());
  };
  let partial = "";
  const onData = (b: Buffer) => {
    out = (out + b.toString()).slice(-2000);
    const lines = (partial + b.toString()).split("\n");
    partial = lines.pop()!;
    lines.forEach(onLine);
  };
  proc.stdout!.on("data", onData);
  proc.stderr!.on("data", onData);
  const deadline = Date.now() + 20_000;
  while (!port && proc.exitCode === null && Date.now() < deadline && !until()) await sleep(50);
  if (port) return { proc, port, tail: () => out };
  proc.kill("SIGKILL");
  if (!until()) stats.error("pf: no listener", `kubectl port-forward did not start within 20 s: ${out}`);
  return undefined;
}

/** One connection: 1 MiB in paced, checked round trips. */
async function connection(port: number, kibPerS: number, stats: LoadStats, until: () => boolean): Promise<void> {
  const s = net.connect(port, "127.0.0.1");
  let got: Buffer = Buffer.alloc(0);
  let ended = false;
  let error: Error | undefined;
  let wake = () => {};
  s.on("data", (b: Buffer) => {
    got = got.length ? Buffer.concat([got, b]) : b;
    wake();
  });
  s.on("error", (e) => {
    error = e;
    wake();
  });
  s.on("close", () => {
    ended = true;
    wake();
  });
  const wait = async (cond: () => boolean) => {
    const deadline = Date.now() + WAIT_MS;
    while (!cond() && !error && !ended && Date.now() < deadline) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 200);
      });
    }
    return cond();
  };
  try {
    stats.add("pfConnections");
    for (let round = 0, moved = 0; moved < PER_CONNECTION && !until(); round++, moved += ROUND) {
      const t0 = Date.now();
      const fill = 0x41 + (round % 26);
      s.write(Buffer.alloc(ROUND, fill));
      if (!(await wait(() => got.length >= ROUND))) {
        if (until()) return;
        if (error) stats.error(`pf: ${errorLabel(error)}`, `${error.message} after ${moved + got.length} bytes on the connection`);
        else stats.error(ended ? "pf: closed early" : "pf: stalled", `${got.length}/${ROUND} bytes back in round ${round} (${moved} bytes before on this connection)`);
        return;
      }
      if (got.length !== ROUND || got.some((b) => b !== fill)) {
        stats.error("pf: wrong bytes", `Round ${round}: ${got.length} bytes back, not ${ROUND} of ${String.fromCharCode(fill)}`);
        return;
      }
      got = Buffer.alloc(0);
      stats.add("pfBytes", ROUND);
      await sleep(Math.max(0, (ROUND / 1024 / kibPerS) * 1000 - (Date.now() - t0)));
    }
  } finally {
    s.destroy();
  }
}
