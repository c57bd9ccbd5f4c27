import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Agent } from "../agent/index.ts";
import type { KubeBinding, RbacApi } from "../agent/index.ts";
import { silentLogger } from "../log/index.ts";
import type { Bus } from "../bus/index.ts";
import { connectBus } from "../nats/index.ts";
import { TunnelAgent } from "../tunnel/index.ts";
import { startGateway } from "./index.ts";
import { eventually } from "../../test/helpers/eventually.ts";

test("gateway: first start writes an admin token file; /nats accepts only a cluster's join credential, with that cluster's permissions", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ward-gw-"));
  const gw = await startGateway({ host: "127.0.0.1", port: 0, plainHttp: true, dataDir: dir, shutdownTimeoutMs: 1000, logger: silentLogger });
  try {
    const admin = readFileSync(join(dir, "admin-token"), "utf8").trim();
    const res = await fetch(`${gw.url}/api/v1/clusters`, { method: "POST", headers: { authorization: `Bearer ${admin}` }, body: JSON.stringify({ id: "c1" }) });
    const { join_token } = (await res.json()) as { join_token: string };
    const ws = gw.url.replace("http", "ws") + "/nats";
    await assert.rejects(connectBus(ws, { user: "c1", pass: "wardj_wrong", maxReconnectAttempts: 0, timeout: 3000 }));
    await assert.rejects(connectBus(ws, { user: "c2", pass: join_token, maxReconnectAttempts: 0, timeout: 3000 }));
    const nc = await connectBus(ws, { user: "c1", pass: join_token, maxReconnectAttempts: 0, timeout: 3000 });
    nc.publish("ward.gw.c1.presence", new Uint8Array(1));
    await nc.flush();
    nc.publish("ward.gw.c2.presence", new Uint8Array(1)); // not allowed: the server answers with a permissions error
    await nc.flush().catch(() => {});
    await nc.close();
  } finally {
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("gateway ↔ agent over /nats: grants go to the agent, statuses come back, bye marks new grants cluster_offline", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ward-gw-"));
  const gw = await startGateway({ host: "127.0.0.1", port: 0, plainHttp: true, dataDir: dir, shutdownTimeoutMs: 1000, logger: silentLogger });
  const created: string[] = [];
  const rbac = {
    listClusterRoleBinding: async () => ({ items: [] as KubeBinding[] }),
    listRoleBindingForAllNamespaces: async () => ({ items: [] as KubeBinding[] }),
    createClusterRoleBinding: async ({ body }: { body: KubeBinding }) => void created.push(body.subjects![0]!.name),
    createNamespacedRoleBinding: async () => {
      throw Object.assign(new Error("x"), { code: 403, body: { message: "forbidden by test" } });
    },
  } as unknown as RbacApi;
  let agent: Agent | undefined;
  try {
    const admin = readFileSync(join(dir, "admin-token"), "utf8").trim();
    const call = async (method: string, path: string, body?: unknown) =>
      (await (await fetch(gw.url + path, { method, headers: { authorization: `Bearer ${admin}` }, body: body === undefined ? undefined : JSON.stringify(body) })).json()) as Record<string, any>;
    const { join_token } = await call("POST", "/api/v1/clusters", { id: "c1" });
    const me = (await call("GET", "/api/v1/me")).member;
    // Presence comes from the tunnel: the agent serves (no) kubectl streams, as `ward agent` does.
    const serveStreams = async (nc: Bus) => {
      const t = new TunnelAgent(nc, { cluster: "c1" });
      await t.serve((s) => void s.destroy());
      return () => t.close();
    };
    agent = new Agent({ gateway: gw.url, cluster: "c1", credential: join_token, rbac, helloMs: 200, resyncMs: 60_000, serveStreams });
    const running = agent.run();
    const status = async (id: string) => ((await call("GET", "/api/v1/clusters/c1/access/grants")).grants as { id: string; status: string; error: string }[]).find((g) => g.id === id);
    // The first grant may be created before the agent's hello: it ends up applied either way.
    const g1 = (await call("POST", "/api/v1/clusters/c1/access/grants", { member_id: me.id, role: "view" })).grant;
    await eventually("grant g1 applied", async () => (await status(g1.id))?.status === "applied", { intervalMs: 50 });
    assert.deepEqual(created, ["ward:admin@ward.local"]);
    await eventually("cluster c1 online", async () => gw.tunnel.isOnline("c1"), { intervalMs: 50 });
    const g2 = (await call("POST", "/api/v1/clusters/c1/access/grants", { member_id: me.id, role: "edit", namespace: "ns1" })).grant;
    assert.equal(g2.status, "pending");
    await eventually("grant g2 failed", async () => (await status(g2.id))?.status === "failed", { intervalMs: 50 });
    assert.equal((await status(g2.id))!.error, "forbidden by test");
    await agent.stop();
    await running;
    agent = undefined;
    await new Promise((r) => setTimeout(r, 100));
    const g3 = (await call("POST", "/api/v1/clusters/c1/access/grants", { member_id: me.id, role: "admin" })).grant;
    assert.equal(g3.status, "cluster_offline");
  } finally {
    await agent?.stop();
    await gw.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
