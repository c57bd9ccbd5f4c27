/**
 * Sign-in to kubectl end to end with the built executable and the real kube-env: `ward login`
 * (device flow, approved in the portal with the first-start bootstrap session) → `ward cluster
 * kubeconfig add --use` → both kubectls work through the exec credential plugin; `--embed-token`;
 * with a one-minute token lifetime a long `get -w` and repeated `get`s keep working across expiry;
 * a robot's API token drives the plugin in a shell with no terminal.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parse } from "yaml";
import { EXEC_CACHE_DIR, execCacheKey, FAST_PATH_SCRIPT, readServed } from "../../internal/client/exec_cache.ts";
import { call } from "../../internal/client/http.ts";
import { startKubeEnv, type KubeEnv } from "../helpers/kube-env.ts";
import { deviceLogin } from "../helpers/device_login.ts";
import { kubectlOk, kubectlStream } from "../helpers/kubectl.ts";
import { run, start, type Started } from "../helpers/process.ts";

const root = new URL("../..", import.meta.url).pathname;
const ward = join(root, "dist", "ward");
const CLUSTER = "login-e2e";
let kube: KubeEnv;
let dir: string;
let gw: Started;
let agent: Started;
let url: string;
let caFile: string;
let bootstrapCode: string;
let adminToken: string;

const gateway = () => ({ url, caPem: readFileSync(caFile, "utf8") });
const admin = <T,>(method: string, path: string, json?: unknown) => call<T>(gateway(), path, { method, token: adminToken, json });

/** Runs dist/ward to completion with its own config/cache dirs (no terminal, stdin closed). */
function runWard(args: string[], env: Record<string, string>) {
  return run(ward, args, { env: { ...process.env, WARD_TOKEN: "", ...env } });
}

async function wardOk(args: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  const r = await runWard(args, env);
  assert.equal(r.code, 0, `ward ${args.join(" ")}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

let home: Record<string, string>;

before(async () => {
  assert.ok(existsSync(ward), "dist/ward is missing: run 'npm run build' first");
  kube = await startKubeEnv();
  dir = mkdtempSync(join(tmpdir(), "ward-login-e2e-"));
  gw = start(ward, ["gateway", "--listen", "127.0.0.1:0", "--data-dir", join(dir, "gw")]);
  url = (await gw.waitFor(/"gateway listening".*?"url":"(https:[^"]+)"/, 30_000))[1]!;
  bootstrapCode = (await gw.waitFor(/one-time code:\s+([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})/))[1]!;
  caFile = join(dir, "gw", "tls", "ca.crt");
  adminToken = readFileSync(join(dir, "gw", "admin-token"), "utf8").trim();
  const c = await admin<{ join_token: string }>("POST", "/api/v1/clusters", { id: CLUSTER, name: "Login E2E" });
  agent = start(ward, ["agent", "--gateway", url, "--cluster", CLUSTER, "--token", c.join_token, "--kubeconfig", kube.kubeconfig, "--resync", "1s", "--hello-interval", "500ms", "--gateway-ca", caFile]);
  await agent.waitFor(/connected to the gateway/, 30_000);
  // The bootstrap admin manages access, and needs a grant too to use the cluster.
  const me = await admin<{ member: { id: string } }>("GET", "/api/v1/me");
  await admin("POST", `/api/v1/clusters/${CLUSTER}/access/grants`, { member_id: me.member.id, role: "cluster-admin" });
  home = { WARD_CONFIG_DIR: join(dir, "home", "config"), WARD_CACHE_DIR: join(dir, "home", "cache") };
  // kubectl runs the exec plugin with its own environment: the tests' dirs go through process.env.
  Object.assign(process.env, home);
}, { timeout: 240_000 });

after(async () => {
  await agent?.stop();
  await gw?.stop();
  await kube?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("ward login (device flow) → kubeconfig add --use → both kubectls through the exec plugin", async () => {
  const output = await deviceLogin(ward, { url, caFile, bootstrapCode }, { ...process.env, ...home });
  assert.match(output, /Signed in to https:\/\/127\.0\.0\.1:\d+ as admin@ward\.local/);

  const list = await wardOk(["cluster", "list"], home);
  assert.match(list.stdout, new RegExp(`${CLUSTER}\\s+Login E2E\\s+online\\s+cluster-admin@cluster`));

  const kc = join(dir, "kubeconfig");
  const add = await wardOk(["cluster", "kubeconfig", "add", "--cluster", CLUSTER, "--use", "--kubeconfig", kc], home);
  assert.match(add.stderr, new RegExp(`added context ward-${CLUSTER}`));
  const cfg = parse(readFileSync(kc, "utf8"));
  assert.equal(cfg["current-context"], `ward-${CLUSTER}`);
  const exec = cfg.users[0].user.exec;
  // kubectl's credential command: /bin/sh answers from the exec cache, else runs this very executable.
  const key = execCacheKey(url, CLUSTER);
  assert.equal(exec.command, "/bin/sh");
  assert.deepEqual(exec.args, ["-c", FAST_PATH_SCRIPT, ward, key, "cluster", "kube-token", "--cluster", CLUSTER, "--gateway", url]);
  assert.ok(cfg.clusters[0].cluster["certificate-authority-data"], "the gateway CA from login is embedded");

  for (const which of ["newest", "spdy", "newest", "spdy"] as const) {
    const out = await kubectlOk({ kubectl: kube.kubectl[which], kubeconfig: kc }, ["get", "ns", kube.namespace, "-o", "name"]);
    assert.equal(out.trim(), `namespace/${kube.namespace}`, which);
  }
  const tokens = readdirSync(join(home.WARD_CACHE_DIR!, "kube-tokens"));
  assert.equal(tokens.length, 1, "one cached token for this gateway/cluster/member");
  // Only the first kubectl started ward (which recorded it in its own cache); the fast path served the later ones.
  const servedByWard = JSON.parse(readFileSync(join(home.WARD_CACHE_DIR!, "kube-tokens", tokens[0]!), "utf8")).served_to;
  const servedByShell = readServed(home, key);
  assert.ok(servedByShell && servedByWard && servedByShell !== servedByWard, `the fast path served the last kubectl (${servedByShell}), not ward (${servedByWard})`);
  const entries = await wardOk(["cluster", "kubeconfig", "list", "--kubeconfig", kc, "-o", "json"], home);
  assert.deepEqual(JSON.parse(entries.stdout).entries.map((e: { name: string; userKind: string; current: boolean }) => [e.name, e.userKind, e.current]), [[`ward-${CLUSTER}`, "exec", true]]);
});

test("--embed-token writes a working static token; --print leaves files alone", async () => {
  const printed = await wardOk(["cluster", "kubeconfig", "add", "--cluster", CLUSTER, "--embed-token", "--print"], home);
  const cfg = parse(printed.stdout);
  assert.match(cfg.users[0].user.token, /^eyJ/);
  const kc = join(dir, "kubeconfig-embedded");
  await wardOk(["cluster", "kubeconfig", "add", "--cluster", CLUSTER, "--embed-token", "--use", "--kubeconfig", kc], home);
  for (const which of ["newest", "spdy"] as const) {
    assert.match(await kubectlOk({ kubectl: kube.kubectl[which], kubeconfig: kc }, ["get", "ns", "-o", "name"]), new RegExp(`namespace/${kube.namespace}`));
  }
  const removed = await wardOk(["cluster", "kubeconfig", "remove", "--cluster", CLUSTER, "--kubeconfig", kc], home);
  assert.match(removed.stderr, /was kubectl's current context|current context/);
});

test("with a one-minute token lifetime, a long get -w and repeated gets keep working across expiry", { timeout: 240_000 }, async () => {
  await admin("PUT", "/api/v1/settings/access", { max_token_lifetime_seconds: 60 });
  for (const d of ["kube-tokens", EXEC_CACHE_DIR]) rmSync(join(home.WARD_CACHE_DIR!, d), { recursive: true, force: true });
  const kc = join(dir, "kubeconfig");
  const target = { kubectl: kube.kubectl.newest, kubeconfig: kc };
  const ns = kube.namespace;
  await kubectlOk(target, ["create", "configmap", "expiry-probe", "-n", ns, "--from-literal=n=0"]);
  const watch = kubectlStream(target, ["get", "configmap", "expiry-probe", "-n", ns, "-w", "-o", "jsonpath={.data.n}{\"\\n\"}"]);
  try {
    await watch.waitFor(/^0$/m);
    const tokensSeen = new Set<string>();
    const started = Date.now();
    let i = 0;
    while (Date.now() - started < 80_000) {
      i++;
      const which = i % 2 ? "newest" : "spdy";
      await kubectlOk({ kubectl: kube.kubectl[which], kubeconfig: kc }, ["patch", "configmap", "expiry-probe", "-n", ns, "-p", JSON.stringify({ data: { n: String(i) } })]);
      await watch.waitFor(new RegExp(`^${i}$`, "m"), 15_000);
      for (const f of readdirSync(join(home.WARD_CACHE_DIR!, "kube-tokens"))) tokensSeen.add(JSON.parse(readFileSync(join(home.WARD_CACHE_DIR!, "kube-tokens", f), "utf8")).token);
      await new Promise((r) => setTimeout(r, 4000));
    }
    assert.ok(tokensSeen.size >= 2, `tokens were renewed across expiry (saw ${tokensSeen.size})`);
    assert.equal(watch.stderr(), "", "the watch ran without errors");
  } finally {
    await watch.stop();
    await admin("PUT", "/api/v1/settings/access", { max_token_lifetime_seconds: 3600 });
  }
});

test("a robot's API token drives kube-token in a shell with no terminal; without credentials kubectl is told to log in", async () => {
  const created = await wardOk(["robot", "create", "ci", "--expires", "1d"], home);
  const robotToken = created.stdout.trim();
  assert.match(robotToken, /^wardp_/);
  const grant = await wardOk(["cluster", "access", "grant", "--cluster", CLUSTER, "--member", "ci@robot.ward", "--role", "view", "-o", "json"], home);
  const grantId = JSON.parse(grant.stdout).grant.id as string;
  const robotHome = { WARD_CONFIG_DIR: join(dir, "robot", "config"), WARD_CACHE_DIR: join(dir, "robot", "cache") };
  const robotEnv = { ...robotHome, WARD_TOKEN: robotToken, WARD_GATEWAY: url, WARD_GATEWAY_CA: caFile };
  const kc = join(dir, "kubeconfig-robot");
  await wardOk(["cluster", "kubeconfig", "add", "--cluster", CLUSTER, "--use", "--kubeconfig", kc], robotEnv);
  // wait until the agent applied the robot's binding
  for (let t = Date.now(); ; ) {
    const list = await wardOk(["cluster", "access", "list", "--cluster", CLUSTER, "-o", "json"], home);
    if (JSON.parse(list.stdout).grants.find((g: { id: string }) => g.id === grantId)?.status === "applied") break;
    assert.ok(Date.now() - t < 20_000, "robot grant applied");
    await new Promise((r) => setTimeout(r, 200));
  }
  const script = `${kube.kubectl.newest} --kubeconfig ${kc} get ns ${kube.namespace} -o name && ${kube.kubectl.spdy} --kubeconfig ${kc} get ns ${kube.namespace} -o name`;
  // setsid: no controlling terminal at all, as in a CI job
  const shell = async (env: Record<string, string>, cmd = script) => {
    const r = await run("setsid", ["-w", "sh", "-c", cmd], { env: { PATH: process.env.PATH!, HOME: dir, ...env } });
    return { code: r.code, out: r.stdout + r.stderr };
  };
  // RBAC takes effect in the API server's authorizer shortly after the binding exists.
  let ok = await shell(robotEnv);
  for (const t = Date.now(); ok.code !== 0 && /forbidden/i.test(ok.out) && Date.now() - t < 10_000; ) {
    await new Promise((r) => setTimeout(r, 200));
    ok = await shell(robotEnv);
  }
  assert.equal(ok.code, 0, ok.out);
  assert.equal(ok.out.trim(), `namespace/${kube.namespace}\nnamespace/${kube.namespace}`);
  const forbidden = await shell(robotEnv, `${kube.kubectl.newest} --kubeconfig ${kc} create configmap robot-nope -n ${kube.namespace}`);
  assert.notEqual(forbidden.code, 0);
  assert.match(forbidden.out, /forbidden.*User "ward:ci@robot\.ward"/is, "view cannot create");

  const none = await shell({ ...robotHome, WARD_GATEWAY: url, WARD_GATEWAY_CA: caFile });
  assert.notEqual(none.code, 0);
  assert.match(none.out, /Not signed in to https:\/\/127\.0\.0\.1:\d+: run 'ward login --gateway/);

  // revoking the robot's grant: the next request is refused
  await wardOk(["cluster", "access", "revoke", "--cluster", CLUSTER, grantId], home);
  const after = await shell(robotEnv);
  assert.notEqual(after.code, 0, after.out);
});
