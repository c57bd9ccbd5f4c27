/**
 * Ward in scale-out, for the end-to-end suite and bench-scale: a real nats-server cluster
 * (nats_cluster.ts), a real PostgreSQL database (postgres.ts), several `dist/ward gateway --nats …
 * --store postgres://…` processes sharing one TLS certificate (as behind a load balancer) and a
 * `dist/ward agent` dialling the cluster's websocket listeners.
 *
 *   const s = await startScaleOut(kube, { cluster: "prod", gateways: [[0], [1]], agentNodes: [2] });
 *   const m = await s.member("dev@example.com"); await s.grant(m.id, { role: "edit", … });
 *   await s.mintKubeconfig(m, 0);          // through gateway 0; s.kubeconfigFor(m, 1) points it at gateway 1
 *   await s.stop();
 */
import assert from "node:assert/strict";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeEnv } from "./kube-env.ts";
import { eventually } from "./eventually.ts";
import { startNatsCluster, type NatsCluster } from "./nats_cluster.ts";
import { startPostgres, type Postgres } from "./postgres.ts";
import { start, type Started } from "./process.ts";
import { apiClient, TEST_AGENT_FLAGS, wardBinary, type Ward, type WardMember } from "./ward.ts";

export interface ScaleOutGateway {
  proc: Started;
  url: string;
  api: Ward["api"];
}

export interface ScaleOut {
  nats: NatsCluster;
  pg: Postgres;
  storeUrl: string;
  cluster: string;
  dir: string;
  ca: Buffer;
  caFile: string;
  adminToken: string;
  joinFile: string;
  gateways: (ScaleOutGateway | undefined)[];
  agent: Started | undefined;
  /** (Re)starts gateway `i`, joined to the given NATS nodes. */
  startGateway(i: number, natsNodes?: number[], extraArgs?: string[]): Promise<ScaleOutGateway>;
  /** (Re)starts the agent on the given NATS nodes with a join credential file. */
  startAgent(natsNodes?: number[], tokenFile?: string): Promise<Started>;
  member(email: string): Promise<WardMember>;
  grant(memberId: string, body: Record<string, unknown>): Promise<string>;
  /** Mints through gateway `gw` into `m.kubeconfig` (or `file`); returns the token id. */
  mintKubeconfig(m: WardMember, gw: number, file?: string): Promise<string>;
  /** A copy of `file` whose server is gateway `gw` (same certificate, same token). */
  kubeconfigFor(file: string, gw: number): string;
  /** The first live gateway's API. */
  api: Ward["api"];
  stop(): Promise<void>;
}

export interface ScaleOutOptions {
  cluster: string;
  /** Per gateway, the NATS nodes it joins (default: two gateways on every node). */
  gateways?: number[][];
  /** The NATS nodes the agent dials (default all). */
  agentNodes?: number[];
  natsNodes?: number;
  agentFlags?: readonly string[];
  gatewayArgs?: string[];
}

export async function startScaleOut(kube: KubeEnv, opts: ScaleOutOptions): Promise<ScaleOut> {
  assert.ok(readFileSync(wardBinary).length > 0, "dist/ward is missing: run 'npm run build' first");
  const dir = mkdtempSync(join(tmpdir(), "ward-scaleout-"));
  const nats = await startNatsCluster({ nodes: opts.natsNodes ?? 3 });
  const pg = await startPostgres();
  const gatewayNodes = opts.gateways ?? [undefined as unknown as number[], undefined as unknown as number[]];
  const s: ScaleOut = {
    nats, pg, storeUrl: pg.url(await pg.createDatabase()), cluster: opts.cluster, dir,
    ca: Buffer.alloc(0), caFile: join(dir, "gw0", "tls", "ca.crt"), adminToken: "", joinFile: join(dir, "join-token"),
    gateways: [], agent: undefined,
    async startGateway(i, natsNodes = gatewayNodes[i], extraArgs = []) {
      const dataDir = join(dir, `gw${i}`);
      if (i > 0) {
        // One certificate for every gateway, as behind a load balancer.
        mkdirSync(dataDir, { recursive: true, mode: 0o700 });
        cpSync(join(dir, "gw0", "tls"), join(dataDir, "tls"), { recursive: true });
        chmodSync(join(dataDir, "tls"), 0o700);
      }
      const proc = start(wardBinary, ["gateway", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--store", s.storeUrl, ...nats.gatewayArgs(natsNodes), ...(opts.gatewayArgs ?? []), ...extraArgs]);
      const url = (await proc.waitFor(/"gateway listening".*?"url":"(https:[^"]+)"/, 30_000))[1]!;
      if (i === 0 && !s.adminToken) {
        s.ca = readFileSync(s.caFile);
        s.adminToken = readFileSync(join(dataDir, "admin-token"), "utf8").trim();
      }
      const g = { proc, url, api: apiClient(url, s.ca) };
      s.gateways[i] = g;
      return g;
    },
    async startAgent(natsNodes = opts.agentNodes, tokenFile = s.joinFile) {
      const a = start(wardBinary, ["agent", "--gateway", nats.agentUrls(natsNodes), "--cluster", opts.cluster, "--token-file", tokenFile, "--kubeconfig", kube.kubeconfig, ...(opts.agentFlags ?? TEST_AGENT_FLAGS)]);
      s.agent = a;
      await a.waitFor(/connected to the gateway/, 30_000);
      return a;
    },
    api: (...a) => s.gateways.find((g) => g && g.proc.child.exitCode === null && g.proc.child.signalCode === null)!.api(...a),
    async member(email) {
      const m = await s.api(s.adminToken, "POST", "/api/v1/members", { email });
      assert.equal(m.status, 201, JSON.stringify(m.json));
      return { id: m.json.member.id, email, token: m.json.api_token, kubeconfig: join(dir, `kubeconfig-${email}`) };
    },
    async grant(memberId, body) {
      const r = await s.api(s.adminToken, "POST", `/api/v1/clusters/${opts.cluster}/access/grants`, { member_id: memberId, ...body });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      const id = r.json.grant.id as string;
      await eventually(`grant ${id} applied`, async () => {
        const g = (await s.api(s.adminToken, "GET", `/api/v1/clusters/${opts.cluster}/access/grants`)).json.grants.find((x: { id: string }) => x.id === id);
        return g?.status === "applied";
      }, { timeoutMs: 30_000, intervalMs: 100 });
      return id;
    },
    async mintKubeconfig(m, gw, file = m.kubeconfig) {
      const r = await s.gateways[gw]!.api(m.token, "POST", `/api/v1/clusters/${opts.cluster}/kubeconfig`, {});
      assert.equal(r.status, 200, JSON.stringify(r.json));
      writeFileSync(file, r.json.kubeconfig, { mode: 0o600 });
      return r.json.token_id as string;
    },
    kubeconfigFor(file, gw) {
      const text = readFileSync(file, "utf8");
      const out = `${file}-gw${gw}`;
      writeFileSync(out, text.replace(/server: https:\/\/127\.0\.0\.1:\d+/g, `server: ${s.gateways[gw]!.url}`), { mode: 0o600 });
      return out;
    },
    async stop() {
      await s.agent?.stop();
      for (const g of s.gateways) await g?.proc.stop();
      await nats.stop();
      await pg.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (let i = 0; i < gatewayNodes.length; i++) await s.startGateway(i);
    const created = await s.api(s.adminToken, "POST", "/api/v1/clusters", { id: opts.cluster, name: opts.cluster });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    writeFileSync(s.joinFile, created.json.join_token, { mode: 0o600 });
    await s.startAgent();
    return s;
  } catch (e) {
    await s.stop().catch(() => {});
    throw e;
  }
}
