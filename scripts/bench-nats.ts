/**
 * Benchmark: Ward's embedded NATS endpoint against a real nats-server, side by side in one run,
 * same client (@nats-io/nats-core wsconnect over the runtime's WebSocket), same machine.
 * Each server runs in its own process; the clients run in this one.
 *
 *   node scripts/bench-nats.ts [--quick]
 *
 * Rows: request/reply round trips per second (16 B and 64 KiB, one request in flight), one-way
 * publish throughput with 64 KiB messages (publisher -> server -> subscriber), fan-out to 100
 * subscribers (1 KiB messages), and server memory per idle connection with 1,000 connections.
 * Prints readable rows, then one JSON object with every figure as the very last line.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const SELF = new URL(import.meta.url).pathname;

if (process.argv.includes("--serve-embedded")) {
  await serveEmbedded();
} else {
  await main();
}

// ------------------------------------------------------------------ server processes

/** Child mode: the embedded endpoint on a loopback port; "gc" on stdin collects garbage. */
async function serveEmbedded(): Promise<void> {
  const { createServer } = await import("node:http");
  const { NatsServer, attachNatsWebSocket } = await import("../internal/nats/index.ts");
  const nats = new NatsServer();
  const http = createServer((_q, r) => r.writeHead(404).end());
  attachNatsWebSocket(http, nats, { path: "/nats" });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const port = (http.address() as { port: number }).port;
  process.stdout.write(`READY ${port}\n`);
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    if (line === "gc") {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      gc?.();
      process.stdout.write(`GC ${nats.connectionCount}\n`);
    }
  });
  rl.on("close", () => process.exit(0));
}

interface ServerProc {
  name: "embedded" | "nats-server";
  url: string;
  pid: number;
  /** Settles the heap where it can (embedded: full GC), then reads the process's RSS in bytes. */
  rss(): Promise<number>;
  stop(): Promise<void>;
}

function lines(child: ChildProcess): { wait(re: RegExp, ms: number): Promise<RegExpMatchArray>; text(): string } {
  let out = "";
  const waiters = new Set<() => void>();
  const on = (b: Buffer) => {
    out += b.toString();
    for (const w of waiters) w();
  };
  child.stdout?.on("data", on);
  child.stderr?.on("data", on);
  return {
    text: () => out,
    wait(re, ms) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`Timed out waiting for ${re}; output:\n${out}`)), ms);
        const check = () => {
          const m = re.exec(out);
          if (m) {
            clearTimeout(timer);
            waiters.delete(check);
            out = out.slice(m.index + m[0].length);
            resolve(m);
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`No VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(t);
}

async function startEmbedded(): Promise<ServerProc> {
  const child = spawn(process.execPath, ["--expose-gc", SELF, "--serve-embedded"], { stdio: ["pipe", "pipe", "pipe"] });
  const io = lines(child);
  const m = await io.wait(/READY (\d+)\n/, 20_000);
  return {
    name: "embedded",
    url: `ws://127.0.0.1:${m[1]}/nats`,
    pid: child.pid!,
    async rss() {
      child.stdin!.write("gc\n");
      await io.wait(/GC \d+\n/, 10_000);
      return rssOf(child.pid!);
    },
    stop: () => stopChild(child),
  };
}

async function startNatsServer(bin: string): Promise<ServerProc> {
  const dir = mkdtempSync(join(tmpdir(), "ward-bench-nats-"));
  const cfg = join(dir, "nats.conf");
  writeFileSync(cfg, `listen: "127.0.0.1:-1"\nwebsocket { listen: "127.0.0.1:-1", no_tls: true }\n`);
  const child = spawn(bin, ["-c", cfg], { stdio: ["ignore", "pipe", "pipe"] });
  const io = lines(child);
  const m = await io.wait(/Listening for websocket clients on ws:\/\/127\.0\.0\.1:(\d+)/, 20_000);
  await io.wait(/Server is ready/, 20_000);
  return {
    name: "nats-server",
    url: `ws://127.0.0.1:${m[1]}`,
    pid: child.pid!,
    async rss() {
      await sleep(500); // let the Go runtime settle after the connection burst
      return rssOf(child.pid!);
    },
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------ workloads

type NC = import("@nats-io/nats-core").NatsConnection;
type Connect = (url: string) => Promise<NC>;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Sequential request/reply for `ms`; returns round trips per second. */
async function requestReply(connect: Connect, url: string, size: number, ms: number): Promise<number> {
  const svc = await connect(url);
  const cli = await connect(url);
  const payload = new Uint8Array(size);
  svc.subscribe("bench.rr", { callback: (_e, m) => void m.respond(payload) });
  await svc.flush();
  const run = async (dur: number) => {
    let n = 0;
    const end = performance.now() + dur;
    const t0 = performance.now();
    while (performance.now() < end) {
      await cli.request("bench.rr", payload, { timeout: 5000 });
      n++;
    }
    return n / ((performance.now() - t0) / 1000);
  };
  await run(Math.min(500, ms / 4));
  const rate = await run(ms);
  await cli.close();
  await svc.close();
  return rate;
}

/**
 * Publishers keep at most `window` messages per subscriber in flight (counted at the receivers),
 * so the pipe stays full without PING stalls or unbounded client buffering. Returns messages
 * delivered per second (summed over subscribers).
 */
async function pump(connect: Connect, url: string, subs: number, size: number, window: number, ms: number): Promise<number> {
  const pub = await connect(url);
  const receivers = await Promise.all(Array.from({ length: subs }, () => connect(url)));
  let received = 0;
  let wake: (() => void) | null = null;
  for (const r of receivers) {
    r.subscribe("bench.pump", {
      callback: () => {
        received++;
        if (wake !== null) {
          const w = wake;
          wake = null;
          w();
        }
      },
    });
  }
  await Promise.all(receivers.map((r) => r.flush()));
  const payload = new Uint8Array(size);
  let sent = 0;
  const run = async (dur: number) => {
    const startReceived = received;
    const t0 = performance.now();
    const end = t0 + dur;
    while (performance.now() < end) {
      while (sent * subs - received < window * subs) {
        pub.publish("bench.pump", payload);
        sent++;
      }
      await new Promise<void>((r) => (wake = r));
    }
    const rate = (received - startReceived) / ((performance.now() - t0) / 1000);
    // Let the pipe drain before the next phase.
    while (received < sent * subs) await new Promise<void>((r) => (wake = r));
    return rate;
  };
  await run(Math.min(500, ms / 4));
  const rate = await run(ms);
  await pub.close();
  await Promise.all(receivers.map((r) => r.close()));
  return rate;
}

async function idleMemory(connect: Connect, server: ServerProc, n: number): Promise<number> {
  const warm = await connect(server.url);
  await warm.close();
  const before = await server.rss();
  const conns: NC[] = [];
  for (let i = 0; i < n; i += 100) {
    conns.push(...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => connect(server.url)))));
  }
  await Promise.all(conns.map((c) => c.flush()));
  const afterRss = await server.rss();
  await Promise.all(conns.map((c) => c.close()));
  return (afterRss - before) / n;
}

// ------------------------------------------------------------------ main

interface Row {
  key: string;
  label: string;
  unit: string;
  /** Higher is better (throughput) or lower is better (memory). */
  higherIsBetter: boolean;
  measure(connect: Connect, server: ServerProc): Promise<number>;
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const rounds = quick ? 2 : 3;
  const dur = quick ? 1200 : 4000;
  const { wsconnect } = await import("@nats-io/nats-core");
  const { findBinary } = await import("./kube-env-components.ts");
  const bin = findBinary("nats-server");
  const version = /v[\d.]+/.exec(spawnSyncText(bin, ["--version"]))?.[0] ?? "?";
  const connect: Connect = (url) => wsconnect({ servers: url, pingInterval: 600_000, maxReconnectAttempts: 0 });

  const rows: Row[] = [
    { key: "rr16", label: "request/reply 16 B", unit: "rt/s", higherIsBetter: true, measure: (c, s) => requestReply(c, s.url, 16, dur) },
    { key: "rr64k", label: "request/reply 64 KiB", unit: "rt/s", higherIsBetter: true, measure: (c, s) => requestReply(c, s.url, 64 * 1024, dur) },
    {
      key: "pub64k",
      label: "publish 64 KiB (pub->sub)",
      unit: "MiB/s",
      higherIsBetter: true,
      measure: async (c, s) => ((await pump(c, s.url, 1, 64 * 1024, 64, dur)) * 64) / 1024,
    },
    {
      key: "fanout100",
      label: "fan-out 1 KiB to 100 subs",
      unit: "msgs/s",
      higherIsBetter: true,
      measure: (c, s) => pump(c, s.url, 100, 1024, 16, dur),
    },
    {
      key: "idleConnMem",
      label: "memory per idle connection (1,000)",
      unit: "KiB",
      higherIsBetter: false,
      measure: async (c, s) => (await idleMemory(c, s, 1000)) / 1024,
    },
  ];

  const results: Record<string, { embedded: number; natsServer: number; ratio: number; unit: string }> = {};
  const t0 = Date.now();
  console.log(`bench-nats${quick ? " --quick" : ""}: embedded (Node ${process.versions.node}) vs nats-server ${version}, client @nats-io/nats-core wsconnect`);
  console.log(`${"row".padEnd(36)} ${"embedded".padStart(12)} ${"nats-server".padStart(12)} ${"ratio".padStart(7)}  unit`);
  const report = (row: Row, emb: number, real: number) => {
    const ratio = emb / real;
    results[row.key] = { embedded: round(emb), natsServer: round(real), ratio: round(ratio, 3), unit: row.unit };
    const note = row.higherIsBetter ? (ratio >= 0.7 ? "" : "  (< 70 %)") : "  (lower is better)";
    console.log(`${row.label.padEnd(36)} ${fmt(emb).padStart(12)} ${fmt(real).padStart(12)} ${ratio.toFixed(2).padStart(7)}  ${row.unit}${note}`);
  };
  // Memory first, on fresh servers, so earlier rows' heap growth does not hide or inflate it.
  const memRow = rows.find((r) => r.key === "idleConnMem")!;
  {
    const fresh = [await startEmbedded(), await startNatsServer(bin)];
    try {
      report(memRow, await memRow.measure(connect, fresh[0]!), await memRow.measure(connect, fresh[1]!));
    } finally {
      for (const s of fresh) await s.stop();
    }
  }
  const servers = [await startEmbedded(), await startNatsServer(bin)];
  try {
    // Warm the client (JIT) on both servers so neither side is measured cold.
    for (const s of servers) await pump(connect, s.url, 1, 64 * 1024, 16, quick ? 400 : 1000);
    for (const row of rows) {
      if (row === memRow) continue;
      // Alternate which server goes first; keep each side's best round.
      const best = [0, 0];
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? [0, 1] : [1, 0];
        for (const i of order) best[i] = Math.max(best[i]!, await row.measure(connect, servers[i]!));
      }
      report(row, best[0]!, best[1]!);
    }
  } finally {
    for (const s of servers) await s.stop();
  }
  const secs = (Date.now() - t0) / 1000;
  console.log(`done in ${secs.toFixed(1)} s`);
  console.log(
    JSON.stringify({
      bench: "nats",
      quick,
      seconds: round(secs, 1),
      node: process.versions.node,
      natsServer: version,
      client: "@nats-io/nats-core wsconnect",
      rows: results,
    }),
  );
  process.exit(0);
}

function spawnSyncText(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8" });
}

function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function fmt(v: number): string {
  return v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(1);
}
