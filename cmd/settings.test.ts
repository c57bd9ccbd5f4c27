import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseDocument } from "yaml";
import type { Invocation } from "../internal/cli/command.ts";
import { resolveConfig } from "../internal/config/index.ts";
import { loadSettings, printSettings } from "./settings.ts";
import { agentSpec, gatewaySpec, idleTimeouts, redactUrlPassword } from "./specs.ts";

function invocation(flags: Invocation["flags"]): { inv: Invocation; out: () => string } {
  let text = "";
  return { inv: { path: ["ward", "gateway"], flags, args: [], io: { out: (t) => (text += t), err: () => {} } }, out: () => text };
}

/** Runs `fn` with `vars` set in process.env, restoring them after. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

test("--print-config: the gateway's effective settings as a config file, each with its source, secrets as ***", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ward-settings-"));
  try {
    const file = join(dir, "gateway.yaml");
    writeFileSync(file, "listen: 0.0.0.0:9443\noidc:\n  issuer: https://id.example.com\n  clientSecret: from-the-file\nidleTimeout:\n  exec: 1h\n");
    const { inv, out } = invocation({ config: file, "idle-timeout-watch": "90s", store: "postgres://ward:hunter2@db.example.com/ward" });
    const code = await withEnv({ WARD_OIDC_CLIENT_ID: "ward-client", WARD_IDLE_TIMEOUT_REQUEST: "0" }, () => printSettings(inv, gatewaySpec, "ward gateway"));
    assert.equal(code, 0);
    const text = out();
    for (const secret of ["from-the-file", "hunter2"]) assert.ok(!text.includes(secret), `${secret} is not printed`);
    assert.match(text, /^ {2}clientSecret: "\*\*\*" {2}# config file$/m);
    assert.match(text, /^store: "postgres:\/\/ward:\*\*\*@db\.example\.com\/ward" {2}# --store$/m);
    assert.match(text, /^listen: "0\.0\.0\.0:9443" {2}# config file$/m);
    assert.match(text, /^ {2}clientId: "ward-client" {2}# WARD_OIDC_CLIENT_ID$/m);
    assert.match(text, /^ {2}request: 0s {2}# WARD_IDLE_TIMEOUT_REQUEST$/m);
    assert.match(text, /^ {2}watch: 90s {2}# --idle-timeout-watch$/m);
    assert.match(text, /^ {2}exec: 1h {2}# config file$/m);
    assert.match(text, /^ {2}portforward: 30m {2}# default$/m);
    assert.match(text, /^# config file: .*gateway\.yaml$/m);

    // What it prints reads back as a config file giving the same settings (secrets aside).
    const printed = parseDocument(text).toJS();
    const again = resolveConfig(gatewaySpec, { flags: {}, env: {}, file: printed });
    const original = await withEnv({ WARD_OIDC_CLIENT_ID: "ward-client", WARD_IDLE_TIMEOUT_REQUEST: "0" }, () => loadSettings(inv, gatewaySpec));
    assert.deepEqual({ ...again, oidcClientSecret: "", store: "" }, { ...original, oidcClientSecret: "", store: "" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--print-config: the agent's join credential is never printed; an empty secret shows as empty", async () => {
  const { inv, out } = invocation({ cluster: "prod", "metrics-listen": "0.0.0.0:9090" });
  await withEnv({ WARD_AGENT_TOKEN: "join-credential-value" }, () => printSettings(inv, agentSpec, "ward agent"));
  assert.ok(!out().includes("join-credential-value"));
  assert.match(out(), /^token: "\*\*\*" {2}# WARD_AGENT_TOKEN$/m);
  assert.match(out(), /^metricsListen: "0\.0\.0\.0:9090" {2}# --metrics-listen$/m);
  const { inv: bare, out: bareOut } = invocation({});
  await printSettings(bare, agentSpec, "ward agent");
  assert.match(bareOut(), /^token: "" {2}# default$/m);
});

test("idle timeouts: flags and env reach the tunnel's per-kind settings; invalid ones name their source", async () => {
  const cfg = await withEnv({ WARD_IDLE_TIMEOUT_PORTFORWARD: "45s" }, () => loadSettings(invocation({ "idle-timeout-exec": "2s" }).inv, agentSpec));
  assert.deepEqual(idleTimeouts(cfg), { request: 300_000, watch: 1_800_000, exec: 2000, portforward: 45_000 });
  await assert.rejects(loadSettings(invocation({ "idle-timeout-watch": "soon" }).inv, gatewaySpec), /Invalid --idle-timeout-watch: expected a duration/);
  await assert.rejects(loadSettings(invocation({ "metrics-listen": "9090" }).inv, gatewaySpec), /Invalid --metrics-listen \(WARD_METRICS_LISTEN\): expected HOST:PORT/);
});

test("redactUrlPassword keeps everything but the password", () => {
  assert.equal(redactUrlPassword("postgres://u:p%40ss@h:5432/db?sslmode=require"), "postgres://u:***@h:5432/db?sslmode=require");
  assert.equal(redactUrlPassword("postgres://u@h/db"), "postgres://u@h/db");
  assert.equal(redactUrlPassword("postgres://h/db?user=u&password=p&sslmode=verify-full&sslpassword=k"), "postgres://h/db?user=u&password=***&sslmode=verify-full&sslpassword=***");
  assert.equal(redactUrlPassword("sqlite:/var/lib/ward/ward.db"), "sqlite:/var/lib/ward/ward.db");
});
