/**
 * The roles under `deno task` (deno.json): the gateway serves and stops cleanly on SIGTERM, and an
 * agent started with `deno task agent` joins it (readiness = connected to the gateway). `deno run`
 * of the client commands is in binary.test.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { eventually } from "../helpers/eventually.ts";
import { start } from "../helpers/process.ts";
import { VERSION } from "../../internal/version.ts";

const root = new URL("../..", import.meta.url).pathname;
const deno = join(root, "node_modules", ".bin", "deno");
const env = { ...process.env, NO_COLOR: "1" };

test("deno task start runs the gateway and deno task agent joins it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ward-deno-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const gw = start(deno, ["task", "start", "--plain-http", "--listen", "127.0.0.1:0", "--data-dir", join(dir, "gw")], { cwd: root, env });
  let agent: ReturnType<typeof start> | undefined;
  try {
    const [, url] = await gw.waitFor(/"gateway listening".*?"url":"([^"]+)"/, 60_000);
    assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { status: "ok", version: VERSION });
    const adminToken = readFileSync(join(dir, "gw", "admin-token"), "utf8").trim();
    const created = await fetch(`${url}/api/v1/clusters`, {
      method: "POST", headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" }, body: JSON.stringify({ id: "deno", name: "deno" }),
    });
    assert.equal(created.status, 201);
    writeFileSync(join(dir, "join"), ((await created.json()) as { join_token: string }).join_token, { mode: 0o600 });
    // The agent needs Kubernetes credentials to start; joining the gateway needs no API server.
    writeFileSync(join(dir, "kubeconfig"), JSON.stringify({
      apiVersion: "v1", kind: "Config", "current-context": "x",
      clusters: [{ name: "x", cluster: { server: "https://127.0.0.1:1" } }], users: [{ name: "x", user: { token: "t" } }], contexts: [{ name: "x", context: { cluster: "x", user: "x" } }],
    }));
    agent = start(deno, ["task", "agent", "--gateway", url!, "--cluster", "deno", "--token-file", join(dir, "join"), "--kubeconfig", join(dir, "kubeconfig"), "--metrics-listen", "127.0.0.1:0"], { cwd: root, env });
    const [, metrics] = await agent.waitFor(/"metrics listening".*?"url":"(http:[^"]+)"/, 60_000);
    await agent.waitFor(/connected to the gateway/, 30_000);
    // Ready once its first reconcile ran (here: failed against the absent API server) or timed out.
    await eventually("the agent to be ready", async () => (await fetch(`${metrics}/readyz`)).status === 200, { timeoutMs: 30_000, intervalMs: 200 });
  } finally {
    await agent?.stop("SIGTERM");
    const code = await gw.stop("SIGTERM");
    assert.equal(code, 0, `gateway exit code; output:\n${gw.output()}`);
  }
  assert.match(gw.output(), /"gateway stopped"/);
});
