/**
 * How dist/ward's parts are bundled (scripts/bundle_options.ts): undici's slim entry and the pruned
 * client-node models behave as the packages do. Each case bundles a small program the way the build
 * does and runs it in a child Node.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { build, type Metafile } from "esbuild";
import { ObjectSerializer } from "@kubernetes/client-node/dist/gen/models/ObjectSerializer.js";
import { assertSlimUndici, BUNDLE_OPTIONS, clientNodeModels } from "../scripts/bundle_options.ts";

const dir = mkdtempSync(join(tmpdir(), "ward-bundle-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const root = new URL("..", import.meta.url).pathname;

/** Bundles `source` (TypeScript, resolved from the repository root) as the build does and runs it; its stdout and metafile. */
async function bundleAndRun(name: string, source: string, plugins: NonNullable<typeof BUNDLE_OPTIONS.plugins> = []): Promise<{ out: string; meta: Metafile }> {
  const file = join(dir, `${name}.cjs`);
  const r = await build({
    ...BUNDLE_OPTIONS, plugins: [...BUNDLE_OPTIONS.plugins, ...plugins], metafile: true, outfile: file, logLevel: "error",
    stdin: { contents: source, resolveDir: root, loader: "ts", sourcefile: `${name}.ts` },
  });
  return { out: execFileSync(process.execPath, [file], { encoding: "utf8" }), meta: r.metafile };
}

describe("undici in a bundle", () => {
  it("gives Pool (dispatch and request), fetch with a dispatcher, Agent and ProxyAgent, without undici's index", async () => {
    const { out, meta } = await bundleAndRun("undici", `
      import { createServer } from "node:http";
      import { Agent, fetch, Pool, ProxyAgent } from "undici";
      const server = createServer((req, res) => res.end(req.method + " " + req.url)).listen(0, "127.0.0.1", async () => {
        const origin = "http://127.0.0.1:" + (server.address() as { port: number }).port;
        const pool = new Pool(origin, { connections: 1 });
        const viaRequest = await (await pool.request({ method: "GET", path: "/a" })).body.text();
        const viaFetch = await (await fetch(origin + "/b", { method: "POST", dispatcher: pool } as RequestInit)).text();
        const agent = new Agent();
        const viaAgent = await (await fetch(origin + "/c", { dispatcher: agent } as RequestInit)).text();
        console.log(JSON.stringify({ viaRequest, viaFetch, viaAgent, proxy: typeof ProxyAgent }));
        await pool.close(); await agent.close(); server.close();
      });
    `);
    assert.deepEqual(JSON.parse(out), { viaRequest: "GET /a", viaFetch: "POST /b", viaAgent: "GET /c", proxy: "function" });
    assert.doesNotThrow(() => assertSlimUndici(meta, "test"));
    assert.ok(!Object.keys(meta.inputs).some((f) => /undici\/lib\/web\/websocket\//.test(f)), "undici's WebSocket client is not bundled");
  });
});

describe("client-node models in a bundle", () => {
  const list = {
    apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBindingList", metadata: { resourceVersion: "7" },
    items: [{
      metadata: { name: "ward:dev", creationTimestamp: "2026-12-06T10:00:00Z", labels: { "app.kubernetes.io/managed-by": "ward" }, managedFields: [{ manager: "ward-agent", time: "2026-12-06T10:00:01Z" }] },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "ward:dev@example.com" }],
    }],
  };
  // What the program prints: whether each object is a model instance or plain JSON (class names are
  // minified), and Dates as times; so a pruned model shows as "json".
  const describeValue = `function d(v: any): any {
    if (v instanceof Date) return "Date " + v.toISOString();
    if (Array.isArray(v)) return v.map(d);
    if (v && typeof v === "object") return { "@": v.constructor === Object ? "json" : "model", ...Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, d(x)])) };
    return v;
  }`;

  it("keeps the RBAC API's models: deserializes as the full serializer does", async () => {
    const models = await clientNodeModels(["RbacAuthorizationV1Api"]);
    assert.ok(models.kept.has("V1ClusterRoleBindingList") && models.kept.has("V1ObjectMeta") && models.kept.has("RbacV1Subject") && models.kept.has("V1Status"));
    assert.ok(!models.kept.has("V1Pod") && models.kept.size < 60, `kept ${models.kept.size} models`);
    const { out, meta } = await bundleAndRun("models", `
      import { ObjectSerializer } from "@kubernetes/client-node/dist/gen/models/ObjectSerializer.js";
      import { RbacAuthorizationV1ApiRequestFactory } from "@kubernetes/client-node/dist/gen/apis/RbacAuthorizationV1Api.js";
      ${describeValue}
      const list = ${JSON.stringify(list)};
      console.log(JSON.stringify({ rbac: d(ObjectSerializer.deserialize(list, "V1ClusterRoleBindingList", "")), pod: d(ObjectSerializer.deserialize({ metadata: { name: "p" } }, "V1Pod", "")), api: typeof RbacAuthorizationV1ApiRequestFactory }));
    `, [models.plugin]);
    const got = JSON.parse(out);
    const d = new Function("v", `${describeValue.replace(/: any/g, "")}; return d(v);`) as (v: unknown) => unknown;
    assert.deepEqual(got.rbac, JSON.parse(JSON.stringify(d(ObjectSerializer.deserialize(list, "V1ClusterRoleBindingList", "")))));
    assert.equal(got.rbac["@"], "model");
    assert.equal(got.rbac.items[0].subjects[0]["@"], "model");
    assert.equal(got.rbac.items[0].metadata.creationTimestamp, "Date 2026-12-06T10:00:00.000Z");
    // A model the RBAC API cannot return is not in the bundle: it passes through as parsed JSON.
    assert.deepEqual(got.pod, { "@": "json", metadata: { "@": "json", name: "p" } });
    assert.doesNotThrow(() => models.assertApis(meta, "test"));
    const bundledModels = Object.values(meta.outputs).flatMap((o) => Object.entries(o.inputs)).filter(([f, i]) => /gen\/models\/V1\w+\.js$/.test(f) && i.bytesInOutput > 0);
    assert.ok(bundledModels.length <= models.kept.size, `${bundledModels.length} model files bundled`);
  });

  it("fails the build when a part uses an API class it did not name", async () => {
    const models = await clientNodeModels(["RbacAuthorizationV1Api"]);
    const { meta } = await bundleAndRun("core", `
      import { CoreV1ApiRequestFactory } from "@kubernetes/client-node/dist/gen/apis/CoreV1Api.js";
      console.log(typeof CoreV1ApiRequestFactory);
    `, [models.plugin]);
    assert.throws(() => models.assertApis(meta, "test"), /uses client-node's CoreV1Api: name it in clientNodeModels/);
  });
});
