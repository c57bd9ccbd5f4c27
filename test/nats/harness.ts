/**
 * The two servers the NATS conformance suite runs against, behind one interface:
 * - "embedded": Ward's NatsServer on a tiny http.createServer + attachNatsWebSocket (in this process);
 * - "nats-server": a real nats-server >= 2.10 with websocket (from `scripts/kube-env bin nats-server`).
 * Tests are written once and run for each target. A missing nats-server fails, never skips.
 */
import { Buffer } from "node:buffer";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { wsconnect, type NatsConnection, type WsConnectionOptions } from "@nats-io/nats-core";
import { attachNatsWebSocket, NatsServer, type Authenticator } from "../../internal/nats/index.ts";
import { eventually } from "../helpers/eventually.ts";
import { natsServerPath } from "../helpers/kube-env.ts";

export interface UserSpec {
  user: string;
  pass: string;
  /** Omitted: may do anything. */
  permissions?: { publish: string[]; subscribe: string[] };
}

export interface ServerSpec {
  users?: UserSpec[];
  maxPayload?: number;
  maxPending?: number;
  /** Seconds, like nats-server's authorization.timeout. */
  authTimeoutSec?: number;
  maxControlLine?: number;
  pingIntervalMs?: number;
  maxPingsOut?: number;
  maxSubscriptions?: number;
}

export interface ServerUnderTest {
  readonly kind: "embedded" | "nats-server";
  readonly url: string;
  /** Stops the server (clients see it go away) and starts it again on the same port. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface Target {
  name: "embedded" | "nats-server";
  start(spec?: ServerSpec): Promise<ServerUnderTest>;
}

// ---------------------------------------------------------------- embedded

function authenticatorFor(users: UserSpec[]): Authenticator {
  return async (o) => {
    const u = users.find((x) => x.user === o.user && x.pass === o.pass);
    if (!u) return null;
    return { identity: u.user, permissions: u.permissions ?? { publish: [">"], subscribe: [">"] } };
  };
}

async function startEmbedded(spec: ServerSpec = {}): Promise<ServerUnderTest> {
  let nats: NatsServer;
  let http: Server;
  const boot = async (port: number): Promise<number> => {
    nats = new NatsServer({
      maxPayload: spec.maxPayload,
      maxPending: spec.maxPending,
      maxControlLine: spec.maxControlLine,
      pingIntervalMs: spec.pingIntervalMs,
      maxPingsOut: spec.maxPingsOut,
      maxSubscriptions: spec.maxSubscriptions,
      authTimeoutMs: spec.authTimeoutSec !== undefined ? spec.authTimeoutSec * 1000 : undefined,
      authenticator: spec.users ? authenticatorFor(spec.users) : undefined,
    });
    http = createServer((_req, res) => res.writeHead(404).end());
    attachNatsWebSocket(http, nats, { path: "/nats" });
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(port, "127.0.0.1", () => resolve());
    });
    const addr = http.address();
    return typeof addr === "object" && addr !== null ? addr.port : 0;
  };
  const down = async () => {
    await nats.close();
    http.closeAllConnections();
    await new Promise<void>((r) => http.close(() => r()));
  };
  const port = await boot(0);
  return {
    kind: "embedded",
    url: `ws://127.0.0.1:${port}/nats`,
    async restart(downMs = 200) {
      await down();
      await sleep(downMs);
      await boot(port);
    },
    stop: down,
  };
}

// ---------------------------------------------------------------- nats-server

let natsBinary: string | undefined;

/** The nats-server binary, checked to be >= 2.10. Throws (fails the suite) when missing or old. */
export function natsServerBinary(): string {
  if (natsBinary) return natsBinary;
  const bin = natsServerPath();
  const out = execFileSync(bin, ["--version"], { encoding: "utf8" });
  const m = /v(\d+)\.(\d+)\.(\d+)/.exec(out);
  if (!m || Number(m[1]) < 2 || (Number(m[1]) === 2 && Number(m[2]) < 10)) {
    throw new Error(`${bin} reports ${out.trim()}: the conformance suite needs nats-server >= 2.10 (scripts/kube-env build nats-server)`);
  }
  natsBinary = bin;
  return bin;
}

function q(s: string): string {
  return JSON.stringify(s);
}

function natsConfig(spec: ServerSpec, clientPort: number, wsPort: number): string {
  const lines = [`listen: "127.0.0.1:${clientPort}"`, `websocket { listen: "127.0.0.1:${wsPort}", no_tls: true }`];
  if (spec.maxPayload !== undefined) lines.push(`max_payload: ${spec.maxPayload}`);
  if (spec.maxPending !== undefined) lines.push(`max_pending: ${spec.maxPending}`);
  if (spec.maxControlLine !== undefined) lines.push(`max_control_line: ${spec.maxControlLine}`);
  if (spec.pingIntervalMs !== undefined) lines.push(`ping_interval: "${spec.pingIntervalMs}ms"`);
  if (spec.maxPingsOut !== undefined) lines.push(`ping_max: ${spec.maxPingsOut}`);
  if (spec.maxSubscriptions !== undefined) lines.push(`max_subscriptions: ${spec.maxSubscriptions}`);
  if (spec.users) {
    const users = spec.users.map((u) => {
      const p = u.permissions;
      const perms = p
        ? `, permissions: { publish: { allow: [${p.publish.map(q).join(", ")}] }, subscribe: { allow: [${p.subscribe.map(q).join(", ")}] }, allow_responses: true }`
        : "";
      return `    { user: ${q(u.user)}, password: ${q(u.pass)}${perms} }`;
    });
    const timeout = spec.authTimeoutSec !== undefined ? `  timeout: ${spec.authTimeoutSec}\n` : "";
    lines.push(`authorization {\n${timeout}  users: [\n${users.join(",\n")}\n  ]\n}`);
  }
  return lines.join("\n") + "\n";
}

async function startNatsServer(spec: ServerSpec = {}): Promise<ServerUnderTest> {
  const bin = natsServerBinary();
  const dir = mkdtempSync(join(tmpdir(), "ward-nats-conf-"));
  const cfg = join(dir, "nats.conf");
  let child: ChildProcess;
  let output = "";
  const boot = async (clientPort: number, wsPort: number): Promise<{ client: number; ws: number }> => {
    writeFileSync(cfg, natsConfig(spec, clientPort, wsPort));
    output = "";
    // A watchdog shell: nats-server dies with this test process even if it is killed.
    child = spawn(
      "bash",
      ["-c", 'trap \'kill "$c" 2>/dev/null\' EXIT TERM INT; "$1" -c "$2" & c=$!; while kill -0 "$3" 2>/dev/null && kill -0 "$c" 2>/dev/null; do sleep 0.5; done', "_", bin, cfg, String(process.pid)],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const onData = (b: Buffer) => (output += b.toString());
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const c = /Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(output);
      const w = /Listening for websocket clients on ws:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (c && w && /Server is ready/.test(output)) return { client: Number(c[1]), ws: Number(w[1]) };
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nats-server did not start:\n${output}`);
      await sleep(20);
    }
  };
  const down = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  };
  const ports = await boot(-1, -1);
  return {
    kind: "nats-server",
    url: `ws://127.0.0.1:${ports.ws}`,
    async restart(downMs = 200) {
      await down();
      await sleep(downMs);
      await boot(ports.client, ports.ws);
    },
    async stop() {
      await down();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const targets: Target[] = [
  { name: "embedded", start: startEmbedded },
  { name: "nats-server", start: startNatsServer },
];

// ---------------------------------------------------------------- helpers for tests

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Starts a server for the enclosing describe block; returns an accessor. */
export function useServer(target: Target, spec?: ServerSpec): () => ServerUnderTest {
  let s: ServerUnderTest | undefined;
  before(async () => {
    s = await target.start(spec);
  });
  after(async () => {
    await s?.stop();
  });
  return () => {
    if (!s) throw new Error(`The ${target.name} server did not start (see the before hook's error)`);
    return s;
  };
}

/** wsconnect, unchanged, with test-friendly defaults; closed automatically after the file. */
const open: NatsConnection[] = [];
export async function connect(server: ServerUnderTest, opts: Partial<WsConnectionOptions> = {}): Promise<NatsConnection> {
  const nc = await wsconnect({ servers: server.url, reconnectTimeWait: 100, ...opts });
  open.push(nc);
  return nc;
}

after(async () => {
  await Promise.allSettled(open.splice(0).map((nc) => nc.close()));
});

export const te = new TextEncoder();

/** A raw WebSocket client speaking protocol bytes directly, for byte-exact checks. */
export interface RawClient {
  send(text: string): void;
  /** Everything received so far, as text (latin1). */
  text(): string;
  /** Resolves once the received text matches. */
  waitFor(re: RegExp, ms?: number): Promise<string>;
  /** Resolves when the server closed the connection. */
  readonly closed: Promise<void>;
  close(): void;
}

export async function rawClient(server: ServerUnderTest): Promise<RawClient> {
  const ws = new WebSocket(server.url);
  ws.binaryType = "arraybuffer";
  let buf = "";
  let isClosed = false;
  const closed = new Promise<void>((resolve) => {
    ws.onclose = () => {
      isClosed = true;
      resolve();
    };
  });
  ws.onmessage = (ev) => {
    buf += Buffer.from(ev.data as ArrayBuffer).toString("latin1");
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`Cannot open ${server.url}`));
  });
  const client: RawClient = {
    send: (t) => ws.send(Buffer.from(t, "latin1")),
    text: () => buf,
    async waitFor(re, ms = 5000) {
      await eventually(String(re), () => re.test(buf) || isClosed, { timeoutMs: ms });
      if (!re.test(buf)) throw new Error(`Connection closed without ${re}; received:\n${buf}`);
      return buf;
    },
    closed,
    close: () => ws.close(),
  };
  rawOpen.push(client);
  return client;
}
const rawOpen: RawClient[] = [];
after(() => {
  for (const c of rawOpen.splice(0)) c.close();
});
export const td = new TextDecoder();
