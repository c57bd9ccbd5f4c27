/**
 * `dist/ward gateway` + `dist/ward agent` against a kube-env, for the end-to-end suites and the
 * benchmarks (one start-up for both):
 *
 *   const w = await startWard(kube, { cluster: "sec" });
 *   const m = await w.member("dev@example.com");
 *   await w.grant(m.id, { role: "view", scope: "namespace", namespace: kube.namespace });
 *   await w.mintKubeconfig(m);          // m.kubeconfig, for kubectl
 *   await w.stop();
 *
 * A suite that needs one such Ward for all its tests, with a member `dev@example.com` granted
 * cluster-admin (or `devGrant`) and their kubeconfig minted, registers it with `useWard`:
 *
 *   let kube: KubeEnv; let w: Ward; let dev: WardMember;
 *   useWard({ ward: { cluster: "sec" } }, (s) => ({ kube, w, dev } = s));
 *
 * The gateway serves HTTPS with its generated certificate; the agent trusts its CA (`--gateway-ca`)
 * and, with the test flags (the default), resyncs every second and serves `--metrics-listen`. A
 * failed start stops what it started.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { startKubeEnv, type KubeEnv } from "./kube-env.ts";
import { eventually } from "./eventually.ts";
import { start, type Started } from "./process.ts";
import { freePort } from "../../scripts/kube-env-procs.ts";

export const wardBinary = join(new URL("../..", import.meta.url).pathname, "dist", "ward");

/** The agent's flags in tests: changes show within a second, and `/metrics` is served on loopback. */
export const TEST_AGENT_FLAGS: readonly string[] = ["--resync", "1s", "--hello-interval", "500ms", "--metrics-listen", "127.0.0.1:0"];

export interface StartWardOptions {
  /** The cluster's id. */
  cluster: string;
  /** Its display name (default: the id). */
  clusterName?: string;
  gatewayArgs?: string[];
  /** The gateway's listen address (default 127.0.0.1 and a free port below the ephemeral range). */
  listen?: string;
  /** The agent's flags besides its connection (default TEST_AGENT_FLAGS; `[]` runs the agent's defaults, as the benchmarks do). */
  agentFlags?: readonly string[];
  /** The agent's kubeconfig (default: the kube-env admin's). */
  agentKubeconfig?: string;
  /** How the agent trusts the gateway's CA: `--gateway-ca` (default) or NODE_EXTRA_CA_CERTS (bench-proxy, as it always measured). */
  agentTrust?: "flag" | "env";
  /** How to run `ward` (default `dist/ward`; e.g. `[process.execPath, "cmd/ward.ts"]` for readable profiles). */
  command?: readonly string[];
  /** Called just before the gateway and before the agent start (the benchmarks drop the executable's page cache there). */
  beforeStart?: (role: "gateway" | "agent") => void;
  /** The gateway's `--data-dir` (default `<temp dir>/gw`), e.g. on a small tmpfs; it must not hold another gateway's data. */
  dataDir?: string;
}

export interface WardMember {
  id: string;
  email: string;
  /** The member's API token. */
  token: string;
  /** Where `mintKubeconfig` writes. */
  kubeconfig: string;
}

export interface ApiResult {
  status: number;
  json: any;
  headers: Record<string, string | string[] | undefined>;
}

export interface Ward {
  url: string;
  ca: Buffer;
  caFile: string;
  cluster: string;
  dir: string;
  adminToken: string;
  /** The running gateway process (replaced by `restartGateway`). */
  gateway: Started;
  agent: Started;
  /** The gateway's `--data-dir`. */
  dataDir: string;
  /** The agent's http://127.0.0.1:PORT for /metrics, /healthz, /readyz ("" without `--metrics-listen`). */
  agentMetrics: string;
  /** A request with raw header lines (name, value …) sent exactly as written. */
  api(token: string, method: string, path: string, body?: unknown, extra?: string[]): Promise<ApiResult>;
  member(email: string): Promise<WardMember>;
  /** Creates a grant and waits until the agent applied it; returns its id. */
  grant(memberId: string, body: Record<string, unknown>): Promise<string>;
  /** Mints a kubeconfig for the member into `m.kubeconfig` (or `file`); returns the token id. */
  mintKubeconfig(m: WardMember, file?: string): Promise<string>;
  /** (Re)starts the agent with a join credential file (default: the one from cluster creation). */
  startAgent(tokenFile?: string): Promise<Started>;
  /**
   * Starts the gateway again on the same address and data dir (after the test stopped or killed it):
   * resolves once it listens. The agent is left alone (it reconnects by itself).
   */
  restartGateway(): Promise<Started>;
  /** One unlabelled series of the agent's /metrics. */
  agentMetric(name: string): Promise<number>;
  stop(): Promise<void>;
}

export async function startWard(kube: KubeEnv, opts: StartWardOptions): Promise<Ward> {
  const [cmd, ...cmdArgs] = opts.command ?? [wardBinary];
  if (!opts.command) assert.ok(existsSync(wardBinary), "dist/ward is missing: run 'npm run build' first");
  const ward = (args: string[], env?: NodeJS.ProcessEnv) => start(cmd!, [...cmdArgs, ...args], env ? { env } : {});
  const agentFlags = opts.agentFlags ?? TEST_AGENT_FLAGS;
  const dir = mkdtempSync(join(tmpdir(), "ward-e2e-"));
  const dataDir = opts.dataDir ?? join(dir, "gw");
  opts.beforeStart?.("gateway");
  const gatewayArgs = (listen: string) => ["gateway", "--listen", listen, "--data-dir", dataDir, ...(opts.gatewayArgs ?? [])];
  // A port from below the ephemeral range, so that restartGateway() finds it free again after a kill.
  let gateway = ward(gatewayArgs(opts.listen ?? `127.0.0.1:${await freePort()}`));
  let agent: Started | undefined;
  try {
    return await setUp();
  } catch (err) {
    // Nothing outlives a failed start.
    await agent?.stop();
    await gateway.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  async function setUp(): Promise<Ward> {
    const url = (await gateway.waitFor(/"gateway listening".*?"url":"(https:[^"]+)"/, 30_000))[1]!;
    const caFile = join(dataDir, "tls", "ca.crt");
    const ca = readFileSync(caFile);
    const adminToken = readFileSync(join(dataDir, "admin-token"), "utf8").trim();
    const cluster = opts.cluster;

    const api = apiClient(url, ca);

    const created = await api(adminToken, "POST", "/api/v1/clusters", { id: cluster, name: opts.clusterName ?? cluster });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const joinFile = join(dir, "join-token");
    writeFileSync(joinFile, created.json.join_token, { mode: 0o600 });

    const w: Ward = {
      url, ca, caFile, cluster, dir, dataDir, adminToken, gateway, agent: undefined as unknown as Started, agentMetrics: "",
      api,
      async member(email) {
        const m = await api(adminToken, "POST", "/api/v1/members", { email });
        assert.equal(m.status, 201, JSON.stringify(m.json));
        return { id: m.json.member.id, email, token: m.json.api_token, kubeconfig: join(dir, `kubeconfig-${email}`) };
      },
      async grant(memberId, body) {
        const r = await api(adminToken, "POST", `/api/v1/clusters/${cluster}/access/grants`, { member_id: memberId, ...body });
        assert.equal(r.status, 201, JSON.stringify(r.json));
        const id = r.json.grant.id as string;
        await eventually(`grant ${id} applied`, async () => {
          const g = (await api(adminToken, "GET", `/api/v1/clusters/${cluster}/access/grants`)).json.grants.find((x: { id: string }) => x.id === id);
          return g?.status === "applied";
        }, { timeoutMs: 30_000, intervalMs: 100 });
        return id;
      },
      async mintKubeconfig(m, file = m.kubeconfig) {
        const r = await api(m.token, "POST", `/api/v1/clusters/${cluster}/kubeconfig`, {});
        assert.equal(r.status, 200, JSON.stringify(r.json));
        writeFileSync(file, r.json.kubeconfig, { mode: 0o600 });
        return r.json.token_id as string;
      },
      async startAgent(tokenFile = joinFile) {
        const byEnv = opts.agentTrust === "env";
        opts.beforeStart?.("agent");
        const a = ward(["agent", "--gateway", url, "--cluster", cluster, "--token-file", tokenFile, "--kubeconfig", opts.agentKubeconfig ?? kube.kubeconfig, ...(byEnv ? [] : ["--gateway-ca", caFile]), ...agentFlags],
          byEnv ? { ...process.env, NODE_EXTRA_CA_CERTS: caFile } : undefined);
        agent = w.agent = a;
        if (agentFlags.includes("--metrics-listen")) w.agentMetrics = (await a.waitFor(/"metrics listening".*?"url":"(http:[^"]+)"/, 30_000))[1]!;
        await a.waitFor(/connected to the gateway/, 30_000);
        return a;
      },
      async restartGateway() {
        assert.ok(gateway.child.exitCode !== null || gateway.child.signalCode !== null, "restartGateway: stop the running gateway first");
        gateway = w.gateway = ward(gatewayArgs(new URL(url).host));
        await gateway.waitFor(/"gateway listening"/, 30_000);
        return gateway;
      },
      async agentMetric(name) {
        const text = await (await fetch(`${w.agentMetrics}/metrics`)).text();
        const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
        assert.ok(m, `${name} is missing from the agent's /metrics:\n${text.slice(0, 2000)}`);
        return Number(m[1]);
      },
      async stop() {
        const gwDied = gateway.child.exitCode !== null || gateway.child.signalCode !== null;
        await w.agent?.stop();
        await gateway.stop();
        rmSync(dir, { recursive: true, force: true });
        // A crash of the gateway fails the run loudly, with its log.
        assert.ok(!gwDied, `the gateway exited during the tests:\n${gateway.output().slice(-4000)}`);
      },
    };
    await w.startAgent();
    return w;
  }
}

/** A request to the gateway's API with raw header lines (name, value …) sent exactly as written. */
export function apiClient(url: string, ca: Buffer): Ward["api"] {
  return (token: string, method: string, path: string, body?: unknown, extra: string[] = []) =>
    new Promise<ApiResult>((resolve, reject) => {
      const u = new URL(url);
      const data = body === undefined ? undefined : JSON.stringify(body);
      // With raw (array) headers Node adds no Host or Content-Length of its own.
      const headers = ["Host", u.host, "Authorization", `Bearer ${token}`, ...(data === undefined ? [] : ["Content-Type", "application/json", "Content-Length", String(Buffer.byteLength(data))]), ...extra];
      const req = request({ host: u.hostname, port: u.port, path, method, ca, headers }, (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => {
          let json: unknown = {};
          try {
            json = text ? JSON.parse(text) : {};
          } catch {
            json = { text };
          }
          resolve({ status: res.statusCode ?? 0, json, headers: res.headers });
        });
      });
      req.on("error", reject);
      req.end(data);
    });
}

export interface WardSuite {
  kube: KubeEnv;
  w: Ward;
  /** dev@example.com, granted `devGrant`, with a kubeconfig in `dev.kubeconfig`. */
  dev: WardMember;
}

export interface UseWardOptions {
  /** startWard's options, or a function run once the kube-env is up that returns them (and may prepare more, e.g. a database). */
  ward: StartWardOptions | ((kube: KubeEnv) => StartWardOptions | Promise<StartWardOptions>);
  /** dev@example.com's grant (default cluster-admin on the cluster); a function for one that names the kube-env's namespace. */
  devGrant?: Record<string, unknown> | ((kube: KubeEnv) => Record<string, unknown>);
  /** Stops what `ward` prepared; runs last in `after`, after Ward and the kube-env stopped, even when they failed to. */
  finally?: () => void | Promise<void>;
}

/**
 * Registers the file's before/after hooks: a kube-env, Ward on it, dev@example.com granted and with a
 * kubeconfig; `ready` receives them (assign them to the file's variables). Everything is stopped in
 * `after`, in reverse order, whatever failed.
 */
export function useWard(opts: UseWardOptions, ready: (s: WardSuite) => unknown): void {
  let kube: KubeEnv | undefined;
  let w: Ward | undefined;
  before(async () => {
    kube = await startKubeEnv();
    w = await startWard(kube, typeof opts.ward === "function" ? await opts.ward(kube) : opts.ward);
    const dev = await w.member("dev@example.com");
    const grant = typeof opts.devGrant === "function" ? opts.devGrant(kube) : (opts.devGrant ?? { role: "cluster-admin" });
    await w.grant(dev.id, grant);
    await w.mintKubeconfig(dev);
    await ready({ kube, w, dev });
  }, { timeout: 240_000 });
  after(async () => {
    try {
      await w?.stop();
    } finally {
      try {
        await kube?.stop();
      } finally {
        await opts.finally?.();
      }
    }
  });
}
