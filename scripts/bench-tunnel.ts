/**
 * Tunnel benchmark (`node scripts/bench-tunnel.ts [--quick]`, `npm run bench:tunnel`).
 *
 * Processes, as deployed: this one is the HTTP client plus the Ward gateway (an HTTP front that
 * proxies through `TunnelGateway`, and on the embedded transport the NATS endpoint itself); a child
 * is the Ward agent (over WebSocket, forwarding to the local HTTP server); another child is that
 * local HTTP server (the "API server"). Side by side in one run, on the embedded endpoint and on
 * nats-server: upload throughput of one large body through the tunnel vs straight to the local
 * server vs raw NATS publish at the tunnel's message size vs Rancher's remotedialer; 1 KiB
 * request/response latency at concurrency 1 and 64; memory per idle stream and for one stalled
 * stream; CPU per MiB of every process during the uploads (the throughput limit when all of them share
 * two cores). Readable rows, then one JSON object as the very last line.
 *
 * `--quick` (256 MiB, fewer requests), `--only embedded|nats-server`, `--no-rd`, `--tp` (throughput rows
 * only), `--window BYTES`, `--profile DIR` (a CPU profile of the tunnel upload for every process);
 * WARD_BENCH_MIB sets the upload size.
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import { join } from "node:path";
import { once } from "node:events";
import { setFlagsFromString } from "node:v8";
import { Session } from "node:inspector/promises";
import { mkdirSync, writeFileSync } from "node:fs";
import { runInNewContext } from "node:vm";
import { rdBinary } from "./remotedialer-build.ts";
import type { Bus } from "../internal/bus/index.ts";
import { connectBus } from "../internal/nats/index.ts";
import { TunnelAgent, TunnelGateway, type TunnelStream } from "../internal/tunnel/index.ts";
import { decodeMessage, tunnelSubjects } from "../internal/tunnel/internal.ts";
import { tunnelTargets } from "../test/helpers/tunnel_targets.ts";
import { relaunchWithNodeFlags } from "../cmd/node_flags.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const MiB = 1024 * 1024;
const CLUSTER = "bench";
const windowBytes = arg("--window") ? Number(arg("--window")) : undefined;
const debug = (msg: string) => process.env.WARD_BENCH_DEBUG && console.error(`[bench] ${msg}`);

/** `--profile DIR`: CPU profiles of the tunnel upload, one per process, written to DIR. */
const profileDir = arg("--profile");
let profiler: Session | null = null;
async function profile(cmd: "start" | "stop", name: string): Promise<void> {
  if (!profileDir) return;
  if (cmd === "start") {
    profiler = new Session();
    profiler.connect();
    await profiler.post("Profiler.enable");
    await profiler.post("Profiler.start");
    return;
  }
  const { profile: p } = await profiler!.post("Profiler.stop");
  profiler!.disconnect();
  profiler = null;
  mkdirSync(profileDir, { recursive: true });
  writeFileSync(join(profileDir, `${name}.cpuprofile`), JSON.stringify(p));
}

/** User + system CPU time of this process so far, µs. */
function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function memNow(): { heap: number; buffers: number; rss: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers, rss: m.rss };
}

const HOP = new Set(["connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"]);
function stripHop(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (!HOP.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  return out;
}

// ------------------------------------------------------------------------------------ sink role

function runSink(): void {
  const one = Buffer.alloc(1024, 97);
  const chunk = Buffer.alloc(64 * 1024, 98);
  const server = http.createServer((req, res) => {
    if (req.url === "/echo1k") {
      req.resume();
      req.on("end", () => res.writeHead(200, { "content-type": "application/octet-stream", "content-length": "1024" }).end(one));
      return;
    }
    if (req.url?.startsWith("/download")) {
      let left = Number(new URL(req.url, "http://x").searchParams.get("bytes"));
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(left) });
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once("drain", pump);
        }
        res.end();
      };
      res.on("close", () => (left = 0));
      return pump();
    }
    let n = 0;
    req.on("data", (c: Buffer) => (n += c.length));
    req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ bytes: n })));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => process.send!({ port: (server.address() as { port: number }).port }));
  process.on("message", async (m: { cmd: string; name?: string }) => {
    if (m.cmd === "cpu") process.send!({ cpu: cpuMicros() });
    if (m.cmd === "profile-start" || m.cmd === "profile-stop") {
      await profile(m.cmd === "profile-start" ? "start" : "stop", `local-server-${m.name}`);
      process.send!({ profiled: true });
    }
  });
  process.on("disconnect", () => process.exit(0));
}

// ----------------------------------------------------------------------------------- agent role

async function runAgent(): Promise<void> {
  const bus = await connectBus(arg("--url")!, { user: arg("--user")!, pass: arg("--pass")!, maxReconnectAttempts: 0, name: "bench-agent" });
  const sinkPort = Number(arg("--sink"));
  const upstream = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const agent = new TunnelAgent(bus, { cluster: CLUSTER, maxStreamsPerGateway: 8192, windowBytes });
  await agent.serve((s: TunnelStream) => {
    s.on("error", () => {});
    if (s.request.path.startsWith("/idle")) {
      s.resume();
      s.respond({ status: 200, headers: [] });
      return;
    }
    const up = http.request({ host: "127.0.0.1", port: sinkPort, method: s.request.method, path: s.request.path, headers: stripHop(s.request.headers), agent: upstream, signal: s.signal });
    up.on("error", (e) => s.destroy(e));
    up.on("response", (r) => {
      s.respond({ status: r.statusCode ?? 502, headers: stripHop(r.rawHeaders) });
      r.pipe(s);
    });
    s.pipe(up);
  });
  // Raw NATS: count bytes on ward.agent.bench.raw, acknowledge progress on ward.gw.bench.rawack.
  let rawBytes = 0;
  let lastAck = 0;
  let rawExpect = 0;
  bus.subscribe("ward.agent.bench.raw", {
    callback: (_e, m) => {
      rawBytes += m.data.length;
      if (rawBytes >= rawExpect || rawBytes - lastAck >= MiB) {
        lastAck = rawBytes;
        bus.publish("ward.gw.bench.rawack", new TextEncoder().encode(String(rawBytes)));
      }
    },
  });
  // Raw NATS round trip: echo ward.agent.bench.echo back on ward.gw.bench.echoreply.
  bus.subscribe("ward.agent.bench.echo", { callback: (_e, m) => bus.publish("ward.gw.bench.echoreply", m.data) });
  await bus.flush();
  process.on("message", async (m: { cmd: string; bytes?: number; name?: string }) => {
    if (m.cmd === "mem") process.send!({ mem: memNow(), streams: agent.stats().streams });
    if (m.cmd === "cpu") process.send!({ cpu: cpuMicros() });
    if (m.cmd === "profile-start" || m.cmd === "profile-stop") {
      await profile(m.cmd === "profile-start" ? "start" : "stop", `agent-${m.name}`);
      process.send!({ profiled: true });
    }
    if (m.cmd === "raw-reset") {
      rawBytes = 0;
      lastAck = 0;
      rawExpect = m.bytes ?? 0;
      process.send!({ ok: true });
    }
    if (m.cmd === "stop") {
      await agent.close();
      await bus.close();
      process.exit(0);
    }
  });
  process.send!({ ready: true, id: agent.id });
  process.on("disconnect", () => process.exit(0));
}

// ------------------------------------------------------------------------------------ main role

function child(role: string, extra: string[] = []): ChildProcess {
  if (windowBytes) extra.push("--window", String(windowBytes));
  if (profileDir) extra.push("--profile", profileDir);
  return fork(new URL(import.meta.url).pathname, ["--role", role, ...extra], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
}

/** CPU µs so far of this process, then of each child (in order). */
async function cpuOf(children: ChildProcess[]): Promise<number[]> {
  const own = cpuMicros();
  const rest = await Promise.all(children.map(async (c) => (await ask<{ cpu: number }>(c, { cmd: "cpu" }, (m) => typeof m.cpu === "number")).cpu));
  return [own, ...rest];
}

function ask<T>(c: ChildProcess, msg: object | null, pick: (m: Record<string, unknown>) => boolean): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: Record<string, unknown>) => {
      if (pick(m)) {
        c.off("message", on);
        resolve(m as T);
      }
    };
    c.on("message", on);
    if (msg) c.send(msg);
  });
}

/** POSTs `bytes` (1 MiB writes, honouring backpressure) and returns MiB/s until the response ends. */
async function upload(url: string, bytes: number): Promise<number> {
  const chunk = Buffer.alloc(MiB, 120);
  const t0 = performance.now();
  const u = new URL(url);
  const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers: { "content-length": String(bytes), "content-type": "application/octet-stream" }, agent: false });
  const resP = once(req, "response") as Promise<[http.IncomingMessage]>;
  for (let sent = 0; sent < bytes; sent += MiB) {
    const n = Math.min(MiB, bytes - sent);
    if (!req.write(n === MiB ? chunk : chunk.subarray(0, n))) await once(req, "drain");
  }
  req.end();
  const [res] = await resP;
  let body = "";
  for await (const c of res) body += c;
  const secs = (performance.now() - t0) / 1000;
  const got = JSON.parse(body).bytes;
  if (got !== bytes) throw new Error(`${url}: the server received ${got} of ${bytes} bytes (status ${res.statusCode})`);
  return bytes / MiB / secs;
}

/** GETs `bytes` from /download and returns MiB/s until the body ends. */
async function download(url: string, bytes: number): Promise<number> {
  const t0 = performance.now();
  const [res] = (await once(http.get(`${url}/download?bytes=${bytes}`, { agent: false }), "response")) as [http.IncomingMessage];
  let got = 0;
  for await (const c of res) got += (c as Buffer).length;
  const secs = (performance.now() - t0) / 1000;
  if (got !== bytes) throw new Error(`${url}/download: received ${got} of ${bytes} bytes (status ${res.statusCode})`);
  return bytes / MiB / secs;
}

/** p50/p99 (ms) of 1 KiB POST → 1 KiB answer at a concurrency, over keep-alive connections. */
async function latency(url: string, concurrency: number, total: number): Promise<{ p50: number; p99: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const u = new URL(url);
  const body = Buffer.alloc(1024, 65);
  const one = () => new Promise<number>((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", agent, headers: { "content-length": "1024" } }, (res) => {
      let n = 0;
      res.on("data", (c: Buffer) => (n += c.length));
      res.on("end", () => (n === 1024 ? resolve(performance.now() - t0) : reject(new Error(`got ${n} bytes, status ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end(body);
  });
  for (let i = 0; i < Math.min(200, total / 4); i++) await one(); // warm-up
  const times: number[] = [];
  let left = total;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (left-- > 0) times.push(await one());
  }));
  agent.destroy();
  times.sort((a, b) => a - b);
  const q = (p: number) => +times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(3);
  return { p50: q(0.5), p99: q(0.99) };
}

/** A Bus that counts what the gateway publishes on session subjects (to learn the tunnel's message size). */
function counting(bus: Bus, stats: { msgs: number; bytes: number; dataMsgs: number }): Bus {
  return {
    publish: (subject, payload, opts) => {
      if (payload && subject.startsWith(`ward.agent.${CLUSTER}.s.`)) {
        stats.msgs++;
        stats.bytes += payload.length;
        if (payload[0] === 3) stats.dataMsgs++;
      }
      bus.publish(subject, payload, opts);
    },
    subscribe: (s, o) => bus.subscribe(s, o),
    request: (s, p, o) => bus.request(s, p, o),
    flush: () => bus.flush(),
    close: () => bus.close(),
    closed: () => bus.closed(),
    get info() {
      return bus.info;
    },
  };
}

/** Raw NATS publish: `bytes` in messages of `size` from the gateway's bus to the agent process, with acks. */
async function rawPublish(bus: Bus, agentProc: ChildProcess, bytes: number, size: number): Promise<number> {
  await ask(agentProc, { cmd: "raw-reset", bytes }, (m) => m.ok === true);
  let acked = 0;
  let wake: (() => void) | null = null;
  const sub = bus.subscribe(`ward.gw.${CLUSTER}.rawack`, {
    callback: (_e, m) => {
      acked = Number(new TextDecoder().decode(m.data));
      wake?.();
    },
  });
  await bus.flush();
  const msg = new Uint8Array(size).fill(1);
  const window = 16 * MiB;
  const t0 = performance.now();
  let sent = 0;
  while (acked < bytes) {
    while (sent < bytes && sent - acked < window) {
      const n = Math.min(size, bytes - sent);
      bus.publish(`ward.agent.${CLUSTER}.raw`, n === size ? msg : msg.subarray(0, n));
      sent += n;
    }
    await new Promise<void>((r) => {
      wake = r;
      setTimeout(r, 200);
    });
    wake = null;
  }
  const secs = (performance.now() - t0) / 1000;
  sub.unsubscribe();
  return bytes / MiB / secs;
}

/** p50/p99 (ms) of a 1 KiB NATS round trip gateway bus → agent process → gateway bus, one at a time. */
async function rawRoundTrip(bus: Bus, n: number): Promise<{ p50: number; p99: number }> {
  let wake: (() => void) | null = null;
  const sub = bus.subscribe(`ward.gw.${CLUSTER}.echoreply`, { callback: () => wake?.() });
  await bus.flush();
  const body = new Uint8Array(1024);
  const times: number[] = [];
  for (let i = 0; i < n + 100; i++) {
    const t0 = performance.now();
    await new Promise<void>((r) => {
      wake = r;
      bus.publish(`ward.agent.${CLUSTER}.echo`, body);
    });
    if (i >= 100) times.push(performance.now() - t0);
  }
  sub.unsubscribe();
  times.sort((a, b) => a - b);
  return { p50: +times[Math.floor(n / 2)]!.toFixed(3), p99: +times[Math.floor(n * 0.99)]!.toFixed(3) };
}

function frontServer(gw: TunnelGateway): http.Server {
  return http.createServer((req, res) => {
    let s: TunnelStream;
    try {
      s = gw.openStream(CLUSTER, { method: req.method!, path: req.url!, headers: stripHop(req.rawHeaders), kind: "request" });
    } catch (e) {
      res.writeHead(503).end((e as Error).message);
      return;
    }
    s.on("error", (e) => {
      debug(`front stream error: ${e.message}`);
      res.destroy();
    });
    if (process.env.WARD_BENCH_DEBUG) {
      const t = setInterval(() => debug(`front ${req.url} ${JSON.stringify(s.flowStats())} writable=${s.writableLength} gw=${JSON.stringify(gw.stats())}`), 1000);
      s.on("close", () => clearInterval(t));
    }
    res.on("close", () => {
      if (!s.readableEnded) s.destroy();
    });
    req.pipe(s);
    s.head.then(
      (h) => {
        res.writeHead(h.status, stripHop(h.headers));
        s.pipe(res);
      },
      () => {
        if (!res.headersSent) res.writeHead(502).end();
      },
    );
  }).listen(0, "127.0.0.1");
}

async function startGo(bin: string, args: string[], ready: RegExp): Promise<{ proc: ChildProcess; match: RegExpExecArray }> {
  const proc = spawn(bin, args, { stdio: ["ignore", "pipe", "ignore"] });
  let out = "";
  for await (const c of proc.stdout!) {
    out += c;
    const m = ready.exec(out);
    if (m) return { proc, match: m };
  }
  throw new Error(`${bin} ${args.join(" ")} exited: ${out}`);
}

async function remotedialerThroughput(sinkPort: number, bytes: number): Promise<number> {
  const bin = rdBinary();
  const server = await startGo(bin, ["server", "-listen", "127.0.0.1:0", "-target", `127.0.0.1:${sinkPort}`], /LISTEN (\S+)/);
  const addr = server.match[1]!;
  const client = await startGo(bin, ["client", "-server", `ws://${addr}/connect`], /CONNECTING/);
  try {
    for (let i = 0; ; i++) {
      const ok = await new Promise<boolean>((r) => http.get(`http://${addr}/ready`, (res) => (res.resume(), r(res.statusCode === 200))).on("error", () => r(false)));
      if (ok) break;
      if (i > 200) throw new Error("remotedialer client never connected");
      await new Promise((r) => setTimeout(r, 25));
    }
    await upload(`http://${addr}/proxy/warmup`, 16 * MiB);
    return await upload(`http://${addr}/proxy/upload`, bytes);
  } finally {
    server.proc.kill();
    client.proc.kill();
  }
}

async function main(): Promise<void> {
  const quick = args.includes("--quick");
  const bodyBytes = process.env.WARD_BENCH_MIB ? Number(process.env.WARD_BENCH_MIB) * MiB : quick ? 256 * MiB : 1024 * MiB;
  const latN = quick ? { c1: 400, c64: 3000 } : { c1: 2000, c64: 12000 };
  const idleStreams = 1000;
  const stalledBytes = 1024 * MiB;
  const t0 = Date.now();
  const sinkProc = child("sink");
  const { port: sinkPort } = await ask<{ port: number }>(sinkProc, null, (m) => typeof m.port === "number");
  const direct = `http://127.0.0.1:${sinkPort}`;
  const results: Record<string, unknown> = { quick, bodyMiB: bodyBytes / MiB, node: process.version };
  const rows: string[] = [];
  const row = (s: string) => {
    rows.push(s);
    console.log(s);
  };

  await upload(`${direct}/warmup`, 16 * MiB);
  const dcpu0 = await cpuOf([sinkProc]);
  const directMiBs = await upload(`${direct}/upload`, bodyBytes);
  const dcpu1 = await cpuOf([sinkProc]);
  const dPerMiB = (i: number) => (dcpu1[i]! - dcpu0[i]!) / 1000 / (bodyBytes / MiB);
  row(`direct            upload ${bodyBytes / MiB} MiB: ${directMiBs.toFixed(0)} MiB/s (CPU per MiB: client ${dPerMiB(0).toFixed(2)} ms, local server ${dPerMiB(1).toFixed(2)} ms)`);
  const directDownMiBs = await download(direct, bodyBytes);
  row(`direct            download ${bodyBytes / MiB} MiB: ${directDownMiBs.toFixed(0)} MiB/s`);
  const rdMiBs = args.includes("--no-rd") ? Number.NaN : await remotedialerThroughput(sinkPort, bodyBytes);
  row(Number.isNaN(rdMiBs) ? "remotedialer      skipped (--no-rd)" : `remotedialer      upload ${bodyBytes / MiB} MiB: ${rdMiBs.toFixed(0)} MiB/s (${pct(rdMiBs, directMiBs)} of direct)`);
  results.direct = { uploadMiBs: round(directMiBs), downloadMiBs: round(directDownMiBs) };
  results.remotedialer = { uploadMiBs: round(rdMiBs), version: "v0.5.1" };

  const only = arg("--only");
  for (const target of tunnelTargets.filter((t) => !only || t.name === only)) {
    const env = await target.start();
    const pubStats = { msgs: 0, bytes: 0, dataMsgs: 0 };
    const gwBus = await env.gatewayBus();
    const gw = await TunnelGateway.start(counting(gwBus, pubStats), { maxStreamsPerCluster: 8192, maxStreamsPerMember: 8192, windowBytes });
    const front = frontServer(gw);
    await once(front, "listening");
    const frontUrl = `http://127.0.0.1:${(front.address() as { port: number }).port}`;
    const creds = env.agentCredentials(CLUSTER);
    const agentProc = child("agent", ["--url", env.url, "--user", creds.user, "--pass", creds.pass, "--sink", String(sinkPort)]);
    await ask(agentProc, null, (m) => m.ready === true);
    while (!gw.isOnline(CLUSTER)) await new Promise((r) => setTimeout(r, 10));
    const name = target.name.padEnd(11);

    debug(`${target.name}: agent online`);
    await upload(`${frontUrl}/warmup`, 16 * MiB);
    debug(`${target.name}: warm`);
    const dbgT = process.env.WARD_BENCH_DEBUG ? setInterval(() => debug(`tick ${JSON.stringify(gw.stats())} ${JSON.stringify(process.memoryUsage())}`), 1000) : null;
    Object.assign(pubStats, { msgs: 0, bytes: 0, dataMsgs: 0 });
    const profiled = [agentProc, sinkProc];
    if (profileDir) await Promise.all([profile("start", ""), ...profiled.map((c) => ask(c, { cmd: "profile-start" }, (m) => m.profiled === true))]);
    const cpu0 = await cpuOf([agentProc, sinkProc]);
    const tunnelMiBs = await upload(`${frontUrl}/upload`, bodyBytes);
    const cpu1 = await cpuOf([agentProc, sinkProc]);
    if (profileDir) await Promise.all([profile("stop", `gateway-${target.name}`), ...profiled.map((c) => ask(c, { cmd: "profile-stop", name: target.name }, (m) => m.profiled === true))]);
    if (dbgT) clearInterval(dbgT);
    const perMiB = (i: number) => (cpu1[i]! - cpu0[i]!) / 1000 / (bodyBytes / MiB);
    row(`tunnel ${name} CPU per MiB uploaded: this process (client + gateway${target.name === "embedded" ? " + NATS endpoint" : ""}) ${perMiB(0).toFixed(2)} ms, agent ${perMiB(1).toFixed(2)} ms, local server ${perMiB(2).toFixed(2)} ms`);
    const msgSize = Math.round(pubStats.bytes / Math.max(1, pubStats.msgs));
    const rcpu0 = await cpuOf([agentProc]);
    const rawMiBs = await rawPublish(gwBus, agentProc, bodyBytes, msgSize);
    const rcpu1 = await cpuOf([agentProc]);
    const rawPerMiB = (i: number) => (rcpu1[i]! - rcpu0[i]!) / 1000 / (bodyBytes / MiB);
    row(`raw    ${name} CPU per MiB published: this process ${rawPerMiB(0).toFixed(2)} ms, agent ${rawPerMiB(1).toFixed(2)} ms`);
    // Download: the agent sends (its WebSocket frames are the masked ones, RFC 6455 §5.3).
    const dcpuT0 = await cpuOf([agentProc, sinkProc]);
    const downMiBs = await download(frontUrl, bodyBytes);
    const dcpuT1 = await cpuOf([agentProc, sinkProc]);
    const downPerMiB = (i: number) => (dcpuT1[i]! - dcpuT0[i]!) / 1000 / (bodyBytes / MiB);
    row(`tunnel ${name} download ${bodyBytes / MiB} MiB: ${downMiBs.toFixed(0)} MiB/s, ${pct(downMiBs, directDownMiBs)} of direct (CPU per MiB: this process ${downPerMiB(0).toFixed(2)} ms, agent ${downPerMiB(1).toFixed(2)} ms, local server ${downPerMiB(2).toFixed(2)} ms)`);
    row(`tunnel ${name} upload ${bodyBytes / MiB} MiB: ${tunnelMiBs.toFixed(0)} MiB/s | raw NATS publish (${(msgSize / 1024).toFixed(1)} KiB msgs) ${rawMiBs.toFixed(0)} MiB/s | tunnel/raw ${pct(tunnelMiBs, rawMiBs)}, tunnel/direct ${pct(tunnelMiBs, directMiBs)}, tunnel/remotedialer ${pct(tunnelMiBs, rdMiBs)}`);

    if (args.includes("--tp")) {
      agentProc.send({ cmd: "stop" });
      await Promise.race([once(agentProc, "exit"), new Promise((r) => setTimeout(r, 3000))]);
      await gw.close();
      await env.stop();
      continue;
    }
    const lat: Record<string, { p50: number; p99: number }> = {};
    for (const c of [1, 64]) {
      const n = c === 1 ? latN.c1 : latN.c64;
      lat[`tunnel_c${c}`] = await latency(`${frontUrl}/echo1k`, c, n);
      lat[`direct_c${c}`] = await latency(`${direct}/echo1k`, c, n);
      const t = lat[`tunnel_c${c}`]!, d = lat[`direct_c${c}`]!;
      row(`tunnel ${name} 1 KiB c=${String(c).padEnd(2)}: p50 ${t.p50} ms p99 ${t.p99} ms | direct p50 ${d.p50} ms p99 ${d.p99} ms | added p50 ${(t.p50 - d.p50).toFixed(3)} ms`);
    }
    lat.raw_nats_rtt = await rawRoundTrip(gwBus, latN.c1);
    row(`raw    ${name} 1 KiB NATS round trip gateway→agent→gateway: p50 ${lat.raw_nats_rtt.p50} ms p99 ${lat.raw_nats_rtt.p99} ms (the transport's share of the added latency)`);

    // Memory: 1,000 idle streams (both ends), then one stalled 1 GiB download.
    const agentMem = async () => (await ask<{ mem: ReturnType<typeof memNow> }>(agentProc, { cmd: "mem" }, (m) => "mem" in m)).mem;
    const gw0 = memNow(), ag0 = await agentMem();
    const idle = Array.from({ length: idleStreams }, () => gw.openStream(CLUSTER, { method: "GET", path: "/idle", kind: "watch" }));
    for (const s of idle) s.on("error", () => {});
    await Promise.all(idle.map((s) => s.head));
    const gw1 = memNow(), ag1 = await agentMem();
    const idleGw = (gw1.heap + gw1.buffers - gw0.heap - gw0.buffers) / idleStreams;
    const idleAg = (ag1.heap + ag1.buffers - ag0.heap - ag0.buffers) / idleStreams;
    for (const s of idle) s.destroy();
    while (gw.stats().streams > 0) await new Promise((r) => setTimeout(r, 10));
    row(`tunnel ${name} ${idleStreams} idle streams: ${(idleGw / 1024).toFixed(2)} KiB/stream on the gateway, ${(idleAg / 1024).toFixed(2)} KiB/stream on the agent`);

    await new Promise((r) => setTimeout(r, 200));
    const gw2 = memNow(), ag2 = await agentMem();
    const stalled = http.get(`${frontUrl}/download?bytes=${stalledBytes}`);
    const [res] = (await once(stalled, "response")) as [http.IncomingMessage];
    res.pause();
    await new Promise((r) => setTimeout(r, quick ? 1000 : 2000));
    const gw3 = memNow(), ag3 = await agentMem();
    const stallGw = gw3.heap + gw3.buffers - gw2.heap - gw2.buffers;
    const stallAg = ag3.heap + ag3.buffers - ag2.heap - ag2.buffers;
    stalled.destroy();
    row(`tunnel ${name} stalled ${stalledBytes / MiB} MiB download: growth ${(stallGw / MiB).toFixed(2)} MiB on the gateway, ${(stallAg / MiB).toFixed(2)} MiB on the agent (rss +${((gw3.rss - gw2.rss) / MiB).toFixed(1)} / +${((ag3.rss - ag2.rss) / MiB).toFixed(1)} MiB)`);

    results[target.name] = {
      uploadMiBs: round(tunnelMiBs), downloadMiBs: round(downMiBs), rawPublishMiBs: round(rawMiBs), msgBytes: msgSize,
      ratioRaw: round(tunnelMiBs / rawMiBs, 3), ratioDirect: round(tunnelMiBs / directMiBs, 3), ratioRemotedialer: round(tunnelMiBs / rdMiBs, 3),
      latencyMs: lat,
      addedP50C1Ms: round(lat.tunnel_c1!.p50 - lat.direct_c1!.p50, 3), addedP50C64Ms: round(lat.tunnel_c64!.p50 - lat.direct_c64!.p50, 3),
      idleStreamBytes: { gateway: Math.round(idleGw), agent: Math.round(idleAg) },
      stalledGrowthBytes: { gateway: stallGw, agent: stallAg },
    };
    agentProc.send({ cmd: "stop" });
    await Promise.race([once(agentProc, "exit"), new Promise((r) => setTimeout(r, 3000))]);
    agentProc.kill();
    front.closeAllConnections();
    front.close();
    await gw.close();
    await env.stop();
  }
  sinkProc.kill();
  results.seconds = Math.round((Date.now() - t0) / 1000);
  const e = (results.embedded ?? {}) as Record<string, number>, n = (results["nats-server"] ?? {}) as Record<string, number>;
  row(`goals: tunnel/raw ≥ 0.9 (${e.ratioRaw}, ${n.ratioRaw}); tunnel/direct ≥ 0.4 (${e.ratioDirect}, ${n.ratioDirect}); ahead of remotedialer (${e.ratioRemotedialer}, ${n.ratioRemotedialer}); added p50 c=1 ≤ 0.3 ms (${e.addedP50C1Ms}, ${n.addedP50C1Ms})`);
  console.log(JSON.stringify(results));
}

function pct(a: number, b: number): string {
  return Number.isNaN(b) ? "n/a" : `${((a / b) * 100).toFixed(0)}%`;
}
function round(x: number, d = 1): number {
  return +x.toFixed(d);
}

const role = arg("--role");
if (role === "sink") runSink();
else if (role === "agent") await runAgent();
else {
  // This process holds the gateway and the agent child inherits its flags: both run as `ward gateway` / `ward agent` do.
  relaunchWithNodeFlags();
  await main();
  process.exit(0);
}
