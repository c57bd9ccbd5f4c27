/**
 * `ward cluster kubeconfig add|remove|list` and `ward cluster list` with every flag, run as the real
 * CLI (node cmd/ward.ts) against an in-process gateway: --all with progress and a summary, --use
 * (single cluster only), --namespace and the namespace hint, --print, --embed-token, --exec-command,
 * --kubeconfig, --insecure-skip-tls-verify; foreign parts of the file stay byte-identical.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parse } from "yaml";
import { execCacheKey, FAST_PATH_SCRIPT } from "../../internal/client/exec_cache.ts";
import { call } from "../../internal/client/http.ts";
import { startGateway, type Gateway } from "../../internal/gateway/index.ts";
import { silentLogger } from "../../internal/log/index.ts";
import { run } from "../helpers/process.ts";

const WARD = join(import.meta.dirname, "..", "..", "cmd", "ward.ts");
const dir = mkdtempSync(join(tmpdir(), "ward-cli-kc-"));
let gw: Gateway;
let env: Record<string, string>;

const FOREIGN = `# my clusters — hand-written, keep this comment
apiVersion: v1
kind: Config
clusters:
    - name: home   # indented sequence, 4 spaces
      cluster:
          server: https://home.example:6443
contexts:
    - name: home
      context: {cluster: home, user: me}
current-context: home
users:
    - name: me
      user:
          token: abc   # not ours
`;

function ward(args: string[], extraEnv: Record<string, string> = {}) {
  return run(process.execPath, [WARD, ...args], { env: { ...process.env, ...env, ...extraEnv } });
}

before(async () => {
  gw = await startGateway({ host: "127.0.0.1", port: 0, dataDir: join(dir, "gw"), shutdownTimeoutMs: 1000, logger: silentLogger });
  const target = { url: gw.url, caPem: readFileSync(gw.caFile!, "utf8") };
  const adminToken = readFileSync(join(dir, "gw", "admin-token"), "utf8").trim();
  const admin = <T,>(method: string, path: string, json?: unknown) => call<T>(target, path, { method, token: adminToken, json });
  for (const id of ["alpha", "beta", "gamma", "delta"]) await admin("POST", "/api/v1/clusters", { id, name: id.toUpperCase() });
  const m = await admin<{ member: { id: string }; api_token: string }>("POST", "/api/v1/members", { email: "dev@example.com" });
  const grant = (c: string, body: object) => admin("POST", `/api/v1/clusters/${c}/access/grants`, { member_id: m.member.id, ...body });
  await grant("alpha", { role: "edit" });
  await grant("beta", { role: "view", namespace: "shop" });
  await grant("gamma", { role: "view", namespace: "a" });
  await grant("gamma", { role: "edit", namespace: "b" });
  // delta: no grant
  env = { WARD_TOKEN: m.api_token, WARD_GATEWAY: gw.url, WARD_GATEWAY_CA: gw.caFile!, WARD_CONFIG_DIR: join(dir, "cfg"), WARD_CACHE_DIR: join(dir, "cache"), KUBECONFIG: "" };
});

after(() => gw?.close());

test("cluster list: the clusters you hold grants on, offline, with your grants", async () => {
  const r = await ward(["cluster", "list"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.match(lines[0]!, /^CLUSTER\s+NAME\s+STATUS\s+ACCESS$/);
  assert.deepEqual(lines.slice(1).map((l) => l.split(/\s{3,}/)), [
    ["alpha", "ALPHA", "offline", "edit@cluster [cluster_offline]"],
    ["beta", "BETA", "offline", "view@ns/shop [cluster_offline]"],
    ["gamma", "GAMMA", "offline", "view@ns/a [cluster_offline], edit@ns/b [cluster_offline]"],
  ]);
  const j = JSON.parse((await ward(["cluster", "list", "-o", "json"])).stdout);
  assert.deepEqual(j.clusters.map((c: { id: string; online: boolean }) => [c.id, c.online]), [["alpha", false], ["beta", false], ["gamma", false]]);
  const bad = await ward(["cluster", "list", "-o", "yaml"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Unknown output format "yaml": use table or json/);
});

test("kubeconfig add --all: progress, summary, namespace hints; foreign entries byte-identical; list and remove --all", async () => {
  const kc = join(dir, "all.yaml");
  writeFileSync(kc, FOREIGN);
  chmodSync(kc, 0o640);
  const r = await ward(["cluster", "kubeconfig", "add", "--all", "--kubeconfig", kc, "--exec-command", "/opt/ward/bin/ward"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /\[1\/3\] alpha: added context ward-alpha/);
  assert.match(r.stderr, /\[2\/3\] beta: note: access is limited to namespace shop: the context defaults to it/);
  assert.match(r.stderr, /\[3\/3\] gamma: note: access is limited to namespaces a, b: use -n NAMESPACE/);
  assert.match(r.stderr, /3 added, 0 updated, 0 failed in .*all\.yaml/);
  const text = readFileSync(kc, "utf8");
  assert.equal(statSync(kc).mode & 0o777, 0o640, "the file mode is kept");
  assert.ok(text.startsWith("# my clusters — hand-written, keep this comment\n"));
  for (const line of FOREIGN.split("\n")) assert.ok(text.includes(line), `foreign line kept: ${line}`);
  const cfg = parse(text);
  assert.equal(cfg["current-context"], "home", "--all never changes the current context");
  const ctx = (n: string) => cfg.contexts.find((c: { name: string }) => c.name === n).context;
  assert.equal(ctx("ward-beta").namespace, "shop");
  assert.equal(ctx("ward-gamma").namespace, undefined);
  assert.equal(ctx("ward-alpha").namespace, undefined);
  const user = cfg.users.find((u: { name: string }) => u.name === "ward-alpha").user.exec;
  // --exec-command is what the /bin/sh fast path runs when it has no cached credential.
  assert.equal(user.command, "/bin/sh");
  assert.equal(user.apiVersion, "client.authentication.k8s.io/v1beta1");
  assert.deepEqual(user.args, ["-c", FAST_PATH_SCRIPT, "/opt/ward/bin/ward", execCacheKey(gw.url, "alpha"), "cluster", "kube-token", "--cluster", "alpha", "--gateway", gw.url]);
  const cluster = cfg.clusters.find((c: { name: string }) => c.name === "ward-alpha").cluster;
  assert.equal(cluster.server, `${gw.url}/api/v1/clusters/alpha/k8s`);
  assert.equal(Buffer.from(cluster["certificate-authority-data"], "base64").toString(), readFileSync(gw.caFile!, "utf8"));

  // again: the same entries are updated in place, nothing duplicated
  const again = await ward(["cluster", "kubeconfig", "add", "--all", "--kubeconfig", kc]);
  assert.match(again.stderr, /0 added, 3 updated, 0 failed/);
  assert.equal(parse(readFileSync(kc, "utf8")).contexts.length, 4);

  const list = await ward(["cluster", "kubeconfig", "list", "--kubeconfig", kc]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^CURRENT\s+CONTEXT\s+CLUSTER\s+CREDENTIALS\s+NAMESPACE\s+SERVER/);
  assert.match(list.stdout, /ward-beta\s+beta\s+exec plugin\s+shop\s+https:/);
  assert.doesNotMatch(list.stdout, /\bhome\b/, "foreign contexts are not listed");

  const removed = await ward(["cluster", "kubeconfig", "remove", "--all", "--kubeconfig", kc]);
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stderr, /Removed ward-alpha, ward-beta, ward-gamma/);
  const back = parse(readFileSync(kc, "utf8"));
  assert.deepEqual(back.contexts.map((c: { name: string }) => c.name), ["home"]);
  assert.ok(readFileSync(kc, "utf8").startsWith("# my clusters — hand-written, keep this comment\n"));
});

test("kubeconfig add: --use, --namespace, --insecure-skip-tls-verify, --embed-token --print; bad combinations exit 2", async () => {
  const kc = join(dir, "one.yaml");
  let r = await ward(["cluster", "kubeconfig", "add", "--cluster", "gamma", "--use", "--namespace", "b", "--insecure-skip-tls-verify", "--kubeconfig", kc]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /current context is now ward-gamma/);
  let cfg = parse(readFileSync(kc, "utf8"));
  assert.equal(cfg["current-context"], "ward-gamma");
  assert.equal(cfg.contexts[0].context.namespace, "b");
  assert.equal(cfg.clusters[0].cluster["insecure-skip-tls-verify"], true);
  assert.equal(cfg.clusters[0].cluster["certificate-authority-data"], undefined, "no CA with verification off");
  assert.equal(statSync(kc).mode & 0o777, 0o600, "a new kubeconfig is private");

  r = await ward(["cluster", "kubeconfig", "add", "--cluster", "beta", "--embed-token", "--print"]);
  assert.equal(r.code, 0, r.stderr);
  cfg = parse(r.stdout);
  assert.match(cfg.users[0].user.token, /^eyJ/);
  assert.equal(cfg.contexts[0].context.namespace, "shop");
  assert.equal(cfg["current-context"], undefined);

  const delta = await ward(["cluster", "kubeconfig", "add", "--cluster", "delta", "--print"]);
  assert.equal(delta.code, 1);
  assert.match(delta.stderr, /No cluster delta you can access: 'ward cluster list' shows yours/);

  for (const [args, msg] of [
    [["--all", "--use"], /--use needs a single --cluster/],
    [[], /Pass either --cluster ID or --all/],
    [["--cluster", "alpha", "--all"], /Pass either --cluster ID or --all/],
    [["--cluster", "Alpha!"], /Invalid cluster id/],
    [["--cluster", "alpha", "--namespace", "Not_A_Label"], /Invalid namespace/],
    [["--cluster", "alpha", "--embed-token", "--exec-command", "x"], /exclude each other/],
  ] as const) {
    const bad = await ward(["cluster", "kubeconfig", "add", ...args, "--kubeconfig", kc]);
    assert.equal(bad.code, 2, `${args.join(" ")}: ${bad.stderr}`);
    assert.match(bad.stderr, msg);
  }

  r = await ward(["cluster", "kubeconfig", "remove", "--cluster", "gamma", "--kubeconfig", kc]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /that was kubectl's current context/);
  assert.equal(parse(readFileSync(kc, "utf8"))["current-context"], "");
  r = await ward(["cluster", "kubeconfig", "remove", "--cluster", "gamma", "--kubeconfig", kc]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /No Ward entry for gamma/);
});

test("$KUBECONFIG with several files: add writes the first, list merges them", async () => {
  const a = join(dir, "kc-a.yaml");
  const b = join(dir, "kc-b.yaml");
  writeFileSync(b, FOREIGN);
  const both = { KUBECONFIG: `${a}:${b}` };
  let r = await ward(["cluster", "kubeconfig", "add", "--cluster", "alpha"], both);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Wrote .*kc-a\.yaml/);
  assert.equal(readFileSync(b, "utf8"), FOREIGN, "the second file is untouched");
  r = await ward(["cluster", "kubeconfig", "list", "-o", "json"], both);
  const j = JSON.parse(r.stdout);
  assert.deepEqual(j.files, [a, b]);
  assert.deepEqual(j.entries.map((e: { name: string }) => e.name), ["ward-alpha"]);
  // an entry in a later file is reported, not edited
  r = await ward(["cluster", "kubeconfig", "add", "--cluster", "beta", "--kubeconfig", b]);
  assert.equal(r.code, 0, r.stderr);
  const bText = readFileSync(b, "utf8");
  r = await ward(["cluster", "kubeconfig", "remove", "--cluster", "beta"], both);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /ward-beta is also defined in .*kc-b\.yaml, which Ward does not edit/);
  assert.equal(readFileSync(b, "utf8"), bText);
});
