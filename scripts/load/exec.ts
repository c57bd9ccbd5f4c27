/**
 * The exec sessions: `n` loops, each opening `cat` in the kube-env pod over the WebSocket exec
 * protocol kubectl ≥ 1.30 speaks (v5.channel.k8s.io: one byte of channel before each message),
 * sending 4 KiB every interval and waiting for the same bytes back on stdout, for S to 2S seconds;
 * then it closes stdin (channel 255), `cat` exits, the API server sends its Success status on the
 * error channel and closes, and the loop opens the next session. Spread over the gateways.
 */
import WebSocket from "ws";
import type { Target } from "../bench-proxy/client.ts";
import { errorLabel, sleep, type LoadStats } from "./stats.ts";

const CHUNK = 4096;
const WAIT_MS = 10_000;
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const CLOSE = 255;

export interface ExecOptions { sessionS: number; intervalMs: number }

/** `path`: the pod's exec path (after the target's prefix) without the query. */
export function execLoops(targets: Target[], n: number, path: string, container: string, o: ExecOptions, stats: LoadStats, until: () => boolean): { done: Promise<unknown>; close(): void } {
  const open = new Set<WebSocket>();
  const done = Promise.all(Array.from({ length: n }, async (_, i) => {
    const t = targets[i % targets.length]!;
    // Staggered, so the sessions do not all end at once.
    await sleep(Math.random() * o.intervalMs * 10);
    while (!until()) {
      const ok = await session(t, `${path}?command=cat&stdin=true&stdout=true&stderr=true&container=${container}`, o, stats, until, open);
      if (ok) stats.add("execSessions");
      else await sleep(1000);
    }
  }));
  return {
    done,
    close: () => {
      for (const ws of open) ws.terminate();
    },
  };
}

/** One session to its clean end (true), or until its first error (recorded; false). */
async function session(t: Target, path: string, o: ExecOptions, stats: LoadStats, until: () => boolean, open: Set<WebSocket>): Promise<boolean> {
  const ws = new WebSocket(`wss://${t.host}:${t.port}${t.prefix}${path}`, ["v5.channel.k8s.io"], { ca: t.ca, headers: { authorization: `Bearer ${t.token}` } });
  open.add(ws);
  let stdout: Buffer = Buffer.alloc(0);
  let status = "";
  let failed = false;
  let wake = () => {};
  const fail = (kind: string, message: string) => {
    if (failed) return;
    failed = true;
    stats.error(`exec: ${kind}`, message);
    ws.terminate();
    wake();
  };
  let closed = false;
  ws.on("unexpected-response", (_req, res) => {
    let body = "";
    res.on("data", (c: Buffer) => (body = (body + c.toString()).slice(0, 1000)));
    res.on("end", () => fail(String(res.statusCode), body));
  });
  ws.on("error", (err) => fail(errorLabel(err), err.message));
  ws.on("message", (data: Buffer) => {
    const ch = data[0];
    if (ch === STDOUT) stdout = Buffer.concat([stdout, data.subarray(1)]);
    else if (ch === STDERR && data.length > 1) fail("stderr", data.subarray(1).toString());
    else if (ch === STATUS) status += data.subarray(1).toString();
    wake();
  });
  ws.on("close", () => {
    closed = true;
    open.delete(ws);
    wake();
  });
  /** Resolves when `cond` holds, false after WAIT_MS or once the session failed or closed. */
  const wait = async (cond: () => boolean): Promise<boolean> => {
    const deadline = Date.now() + WAIT_MS;
    while (!cond()) {
      if (failed || Date.now() > deadline) return false;
      if (closed && !cond()) return false;
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 200);
      });
    }
    return true;
  };
  try {
    if (!(await wait(() => ws.readyState === WebSocket.OPEN))) {
      if (!failed && !until()) fail(closed ? "closed before open" : "no 101", `No open WebSocket within ${WAIT_MS / 1000} s`);
      return false;
    }
    if (ws.protocol !== "v5.channel.k8s.io") {
      fail("protocol", `The server chose ${JSON.stringify(ws.protocol)}`);
      return false;
    }
    const end = Date.now() + (o.sessionS + Math.random() * o.sessionS) * 1000;
    for (let round = 0; Date.now() < end && !until(); round++) {
      const t0 = Date.now();
      const fill = 0x61 + (round % 26);
      const msg = Buffer.alloc(CHUNK + 1, fill);
      msg[0] = STDIN;
      ws.send(msg);
      if (!(await wait(() => stdout.length >= CHUNK))) {
        if (!failed && !until()) fail(closed ? "closed early" : "stalled", `${stdout.length}/${CHUNK} bytes back in round ${round}${status ? `; status ${status}` : ""}`);
        return false;
      }
      if (stdout.length !== CHUNK || stdout.some((b) => b !== fill)) {
        fail("wrong bytes", `Round ${round}: ${stdout.length} bytes back, not ${CHUNK} of ${String.fromCharCode(fill)}`);
        return false;
      }
      stdout = Buffer.alloc(0);
      stats.add("execRoundTrips");
      stats.add("execBytes", CHUNK);
      await sleep(Math.max(0, o.intervalMs - (Date.now() - t0)));
    }
    if (until()) return false;
    ws.send(Buffer.from([CLOSE, STDIN]));
    if (!(await wait(() => closed))) {
      if (!failed) fail("no exit", `cat did not exit and the session did not close within ${WAIT_MS / 1000} s of closing stdin; status ${JSON.stringify(status)}`);
      return false;
    }
    if (!/"status":"Success"/.test(status)) {
      fail("exit status", `The session closed with status ${JSON.stringify(status)}`);
      return false;
    }
    return !failed;
  } finally {
    if (!closed) ws.terminate();
  }
}
