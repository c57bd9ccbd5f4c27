/**
 * The transports the tunnel's integration tests (and its benchmark) run on, behind one interface:
 * - "embedded": Ward's NatsServer behind http + attachNatsWebSocket; the gateway end on the
 *   in-process client, agents over WebSocket with `connectBus`, with per-cluster agent permissions;
 * - "nats-server": a real nats-server >= 2.10 with websocket; gateway and agents over WebSocket,
 *   agents restricted by nats-server permissions.
 * The same tests run on both. A missing nats-server fails, never skips.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Bus } from "../../internal/bus/index.ts";
import { subjects } from "../../internal/bus/index.ts";
import { attachNatsWebSocket, connectBus, NatsServer, type BusConnection } from "../../internal/nats/index.ts";
import { findBinary } from "../../scripts/kube-env-components.ts";

/** The nats-server binary from scripts/kube-env, checked to be >= 2.10. */
export function natsServerBinary(): string {
  const bin = findBinary("nats-server");
  const out = execFileSync(bin, ["--version"], { encoding: "utf8" });
  const m = /v(\d+)\.(\d+)\./.exec(out);
  if (!m || Number(m[1]) < 2 || (Number(m[1]) === 2 && Number(m[2]) < 10)) {
    throw new Error(`${bin} reports ${out.trim()}: the tunnel tests need nats-server >= 2.10 (scripts/kube-env build nats-server)`);
  }
  return bin;
}

export const CLUSTERS = ["c1", "c2", "c3", "c4", "bench"];
const GATEWAY = { user: "gateway", pass: "gw-secret" };
const agentUser = (cluster: string) => ({ user: `agent-${cluster}`, pass: `agent-secret-${cluster}` });

export interface TunnelEnv {
  readonly name: "embedded" | "nats-server";
  readonly maxPayload: number;
  /** WebSocket URL agents dial. */
  readonly url: string;
  /** Credentials of an agent of `cluster` (for agents in another process). */
  agentCredentials(cluster: string): { user: string; pass: string };
  /** The gateway's bus (in-process on the embedded endpoint). */
  gatewayBus(): Promise<Bus>;
  /** An agent's bus over WebSocket, allowed only its own cluster's subjects. */
  agentBus(cluster: string): Promise<BusConnection>;
  /** An agent connection that uses another cluster's credentials (for permission tests). */
  agentBusAs(credsOf: string): Promise<BusConnection>;
  stop(): Promise<void>;
}

export interface TunnelTarget {
  name: "embedded" | "nats-server";
  start(opts?: { maxPayload?: number }): Promise<TunnelEnv>;
}

function tracked() {
  const open: Array<{ close(): Promise<void> }> = [];
  return {
    add<T extends { close(): Promise<void> }>(c: T): T {
      open.push(c);
      return c;
    },
    async closeAll() {
      await Promise.allSettled(open.splice(0).map((c) => c.close()));
    },
  };
}

const wsOpts = { maxReconnectAttempts: 0, name: "ward-tunnel-test" };

async function startEmbedded(opts: { maxPayload?: number } = {}): Promise<TunnelEnv> {
  const users = new Map<string, { pass: string; permissions: { publish: string[]; subscribe: string[] } }>();
  users.set(GATEWAY.user, { pass: GATEWAY.pass, permissions: { publish: [">"], subscribe: [">"] } });
  for (const c of CLUSTERS) users.set(agentUser(c).user, { pass: agentUser(c).pass, permissions: subjects.agentPermissions(c) });
  const nats = new NatsServer({
    maxPayload: opts.maxPayload,
    authenticator: async (o) => {
      const u = typeof o.user === "string" ? users.get(o.user) : undefined;
      return u && u.pass === o.pass ? { identity: o.user!, permissions: u.permissions } : null;
    },
  });
  const http: Server = createServer((_req, res) => res.writeHead(404).end());
  attachNatsWebSocket(http, nats, { path: "/nats" });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", () => r()));
  const addr = http.address();
  const url = `ws://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/nats`;
  const conns = tracked();
  return {
    name: "embedded",
    url,
    agentCredentials: agentUser,
    maxPayload: opts.maxPayload ?? 1024 * 1024,
    gatewayBus: async () => nats.connectInProcess({ identity: "gateway" }),
    agentBus: async (c) => conns.add(await connectBus(url, { ...wsOpts, ...agentUser(c) })),
    agentBusAs: async (c) => conns.add(await connectBus(url, { ...wsOpts, ...agentUser(c) })),
    async stop() {
      await conns.closeAll();
      await nats.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

async function startNatsServer(opts: { maxPayload?: number } = {}): Promise<TunnelEnv> {
  const bin = natsServerBinary();
  const dir = mkdtempSync(join(tmpdir(), "ward-tunnel-nats-"));
  const cfg = join(dir, "nats.conf");
  const q = JSON.stringify;
  const userLines = [`    { user: ${q(GATEWAY.user)}, password: ${q(GATEWAY.pass)} }`];
  for (const c of CLUSTERS) {
    const p = subjects.agentPermissions(c);
    const u = agentUser(c);
    userLines.push(`    { user: ${q(u.user)}, password: ${q(u.pass)}, permissions: { publish: { allow: ${q(p.publish)} }, subscribe: { allow: ${q(p.subscribe)} } } }`);
  }
  writeFileSync(cfg, [
    `listen: "127.0.0.1:-1"`,
    `websocket { listen: "127.0.0.1:-1", no_tls: true }`,
    ...(opts.maxPayload ? [`max_payload: ${opts.maxPayload}`] : []),
    `authorization {\n  users: [\n${userLines.join(",\n")}\n  ]\n}`,
  ].join("\n") + "\n");
  // A watchdog shell: nats-server dies with this process even if it is killed.
  const child: ChildProcess = spawn(
    "bash",
    ["-c", 'trap \'kill "$c" 2>/dev/null\' EXIT TERM INT; "$1" -c "$2" & c=$!; while kill -0 "$3" 2>/dev/null && kill -0 "$c" 2>/dev/null; do sleep 0.5; done', "_", bin, cfg, String(process.pid)],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout!.on("data", (b: Buffer) => (output += b.toString()));
  child.stderr!.on("data", (b: Buffer) => (output += b.toString()));
  const deadline = Date.now() + 15_000;
  let port = 0;
  for (;;) {
    const w = /Listening for websocket clients on ws:\/\/127\.0\.0\.1:(\d+)/.exec(output);
    if (w && /Server is ready/.test(output)) {
      port = Number(w[1]);
      break;
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nats-server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const url = `ws://127.0.0.1:${port}`;
  const conns = tracked();
  return {
    name: "nats-server",
    url,
    agentCredentials: agentUser,
    maxPayload: opts.maxPayload ?? 1024 * 1024,
    gatewayBus: async () => conns.add(await connectBus(url, { ...wsOpts, ...GATEWAY })),
    agentBus: async (c) => conns.add(await connectBus(url, { ...wsOpts, ...agentUser(c) })),
    agentBusAs: async (c) => conns.add(await connectBus(url, { ...wsOpts, ...agentUser(c) })),
    async stop() {
      await conns.closeAll();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const tunnelTargets: TunnelTarget[] = [
  { name: "embedded", start: startEmbedded },
  { name: "nats-server", start: startNatsServer },
];
