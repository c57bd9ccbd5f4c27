/**
 * A real nats-server cluster for scale-out tests and benchmarks: N nodes on loopback, each with NATS
 * TCP (gateways), websocket without TLS (agents), cluster routes and a monitoring port, configured by
 * the product's own `renderNatsConfig` with keys from `writeSeedFile` (what `ward gateway nats-init`
 * writes): the gateways' user, their system user and the auth callout's account key.
 *
 *   const nc = await startNatsCluster({ nodes: 3 });
 *   nc.gatewayArgs(0)           // --nats nats://<node 0> --nats-credentials … for `ward gateway`
 *   nc.agentUrls([2])           // ws://<node 2> for `ward agent --gateway`
 *   await nc.nodes[2].kill9(); await nc.nodes[2].start();
 *   await nc.connz(2, "agent:prod")   // that node's connections of an authenticated user
 *   await nc.stop();
 *
 * Each nats-server runs under a watchdog shell, so it dies with this process even if it is killed.
 * A missing nats-server fails, never skips.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderNatsConfig, writeSeedFile } from "../../internal/scaleout/index.ts";
import { natsServerPath } from "./kube-env.ts";
import { freePorts } from "../../scripts/kube-env-procs.ts";

export interface NatsNode {
  readonly name: string;
  readonly clientUrl: string;
  readonly wsUrl: string;
  readonly monitorUrl: string;
  /** The nats-server process id (not the watchdog's). */
  pid(): number | undefined;
  /** SIGKILL: no goodbye to clients or routes. */
  kill9(): Promise<void>;
  /** Starts it again on the same ports. */
  start(): Promise<void>;
  /** SIGTERM, waiting for the exit. */
  stop(): Promise<void>;
  output(): string;
}

export interface NatsCluster {
  readonly dir: string;
  readonly nodes: NatsNode[];
  readonly keys: { gateway: string; system: string; callout: string };
  /** `ward gateway` flags joining the cluster through the given nodes (default all). */
  gatewayArgs(nodes?: number[]): string[];
  /** `ward agent --gateway` value: the given nodes' websocket URLs (default all). */
  agentUrls(nodes?: number[]): string;
  /** A node's client connections (`/connz?auth=true`), optionally only one authenticated user's. */
  connz(node: number, user?: string): Promise<{ cid: number; name?: string; authorized_user?: string; account?: string }[]>;
  stop(): Promise<void>;
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startNatsCluster(opts: { nodes?: number } = {}): Promise<NatsCluster> {
  const bin = natsServerPath();
  const n = opts.nodes ?? 3;
  const dir = mkdtempSync(join(tmpdir(), "ward-nats-cluster-"));
  const keys = { gateway: join(dir, "gateway.nk"), system: join(dir, "system.nk"), callout: join(dir, "callout.nk") };
  const pub = { gatewayUser: writeSeedFile(keys.gateway, "user"), systemUser: writeSeedFile(keys.system, "user"), calloutIssuer: writeSeedFile(keys.callout, "account") };
  // One draw for every port, so no two of them are the same.
  const all = await freePorts(4 * n);
  const ports = Array.from({ length: n }, (_, i) => ({ client: all[4 * i]!, ws: all[4 * i + 1]!, route: all[4 * i + 2]!, http: all[4 * i + 3]! }));
  const nodes: NatsNode[] = ports.map((p, i) => {
    const name = `ward-nats-${i + 1}`;
    const conf = join(dir, `${name}.conf`);
    writeFileSync(conf, renderNatsConfig({
      ...pub, serverName: name, listen: `127.0.0.1:${p.client}`, websocketListen: `127.0.0.1:${p.ws}`, httpListen: `127.0.0.1:${p.http}`,
      ...(n > 1 ? { cluster: { name: "ward", listen: `127.0.0.1:${p.route}`, routes: ports.filter((_, j) => j !== i).map((q) => `nats-route://127.0.0.1:${q.route}`) } } : {}),
    }));
    let child: ChildProcess | undefined;
    let pid: number | undefined;
    let out = "";
    const node: NatsNode = {
      name,
      clientUrl: `nats://127.0.0.1:${p.client}`,
      wsUrl: `ws://127.0.0.1:${p.ws}`,
      monitorUrl: `http://127.0.0.1:${p.http}`,
      pid: () => pid,
      output: () => out,
      async start() {
        out = "";
        pid = undefined;
        child = spawn(
          "bash",
          ["-c", 'trap \'kill "$c" 2>/dev/null\' EXIT TERM INT; "$1" -c "$2" & c=$!; echo "WATCHED PID $c"; while kill -0 "$3" 2>/dev/null && kill -0 "$c" 2>/dev/null; do sleep 0.2; done', "_", bin, conf, String(process.pid)],
          { stdio: ["ignore", "pipe", "pipe"] },
        );
        const onData = (b: Buffer) => (out += b.toString());
        child.stdout!.on("data", onData);
        child.stderr!.on("data", onData);
        const deadline = Date.now() + 15_000;
        while (!/Server is ready/.test(out)) {
          if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nats-server ${name} did not start:\n${out}`);
          await sleep(20);
        }
        pid = Number(/WATCHED PID (\d+)/.exec(out)?.[1]);
      },
      async kill9() {
        if (pid) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
        if (child && child.exitCode === null) await new Promise((r) => child!.once("exit", r));
      },
      async stop() {
        if (!child || child.exitCode !== null) return;
        const exited = new Promise((r) => child!.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      },
    };
    return node;
  });
  try {
    await Promise.all(nodes.map((x) => x.start()));
    // The routes are up when every node sees the others.
    const deadline = Date.now() + 15_000;
    for (const x of nodes) {
      for (;;) {
        let routes: number | string;
        try {
          routes = ((await (await fetch(`${x.monitorUrl}/routez`)).json()) as { num_routes?: number }).num_routes ?? 0;
        } catch (e) {
          routes = `no answer from ${x.monitorUrl} (${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message})`;
        }
        if (typeof routes === "number" && routes >= n - 1) break;
        if (Date.now() > deadline) throw new Error(`nats-server ${x.name}: ${routes} routes, expected ${n - 1}:\n${x.output()}`);
        await sleep(50);
      }
    }
  } catch (e) {
    for (const x of nodes) await x.kill9().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const pick = (idx?: number[]) => (idx ?? nodes.map((_, i) => i)).map((i) => nodes[i]!);
  return {
    dir,
    nodes,
    keys,
    gatewayArgs: (idx) => ["--nats", pick(idx).map((x) => x.clientUrl).join(","), "--nats-credentials", keys.gateway, "--nats-system-credentials", keys.system, "--nats-callout-key", keys.callout],
    agentUrls: (idx) => pick(idx).map((x) => x.wsUrl).join(","),
    async connz(i, user) {
      const q = new URLSearchParams({ auth: "true", limit: "10000" });
      if (user) q.set("user", user);
      const r = (await (await fetch(`${nodes[i]!.monitorUrl}/connz?${q}`)).json()) as { connections?: { cid: number; name?: string; authorized_user?: string; account?: string }[] };
      return r.connections ?? [];
    },
    async stop() {
      for (const x of nodes) await x.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
