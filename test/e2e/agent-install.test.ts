/**
 * Agent install against the real kube-env: the RBAC of `ward agent manifest` applied with the admin
 * kubeconfig, the whole manifest accepted by `kubectl apply --dry-run=server`, `dist/ward agent`
 * run out of cluster (kwok runs no containers) with that ServiceAccount's token, reconciling and
 * forwarding every role at both scopes, `auth can-i --list` showing nothing beyond the listed rules,
 * and the init step's pinned download run with sh against the gateway.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parseAllDocuments, stringify } from "yaml";
import { agentManifest, agentRules, INIT_SCRIPT, NAME } from "../../internal/install/index.ts";
import { startKubeEnv, type KubeEnv } from "../helpers/kube-env.ts";
import { kubectl, kubectlOk, type KubectlTarget } from "../helpers/kubectl.ts";
import { run } from "../helpers/process.ts";
import { startWard, wardBinary, type Ward } from "../helpers/ward.ts";

const CLUSTER = "install";
const NS = "ward-system";
const SA_USER = `system:serviceaccount:${NS}:${NAME}`;
let kube: KubeEnv;
let w: Ward;
let admin: KubectlTarget;
let saKubeconfig: string;
let manifestText: string;

before(async () => {
  kube = await startKubeEnv();
  admin = { kubectl: kube.kubectl.newest, kubeconfig: kube.kubeconfig };
  // The agent's identity must exist before the agent starts: apply the manifest's RBAC part first
  // (the same generator the command uses), then start Ward with the ServiceAccount's kubeconfig.
  const rbac = agentManifest({ cluster: CLUSTER, namespace: NS, gatewayUrl: "https://unused", joinToken: "unused", impersonation: "constrained", image: "unused" })
    .filter((d) => ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"].includes(d["kind"] as string));
  await kubectlOk(admin, ["apply", "-f", "-"], { input: rbac.map((d) => stringify(d)).join("---\n") });
  const token = (await kubectlOk(admin, ["create", "token", NAME, "-n", NS, "--duration", "2h"])).trim();
  saKubeconfig = join(kube.dir, "ward-agent.kubeconfig");
  writeFileSync(saKubeconfig, stringify({
    apiVersion: "v1", kind: "Config", "current-context": "agent",
    clusters: [{ name: "kube", cluster: { server: kube.apiServer, "certificate-authority": kube.caFile } }],
    users: [{ name: NAME, user: { token } }],
    contexts: [{ name: "agent", context: { cluster: "kube", user: NAME } }],
  }), { mode: 0o600 });
  w = await startWard(kube, { cluster: CLUSTER, agentKubeconfig: saKubeconfig });
}, { timeout: 240_000 });

after(async () => {
  await w?.stop();
  await kube?.stop();
});

const ward = (args: string[]) =>
  run(wardBinary, args, { env: { ...process.env, WARD_TOKEN: w.adminToken, HOME: w.dir, XDG_CONFIG_HOME: join(w.dir, "cfg") } });
const connection = () => ["--gateway", w.url, "--certificate-authority", w.caFile];

test("ward agent manifest: needs --token-file or --rotate-join; its RBAC is what was applied; the whole manifest passes a server dry run", async () => {
  const refused = await ward(["agent", "manifest", "--cluster", CLUSTER, ...connection()]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /--token-file FILE .* or --rotate-join/);
  const unverified = await ward(["agent", "manifest", "--cluster", CLUSTER, "--token-file", join(w.dir, "join-token"), "--gateway", w.url, "--insecure-skip-tls-verify"]);
  assert.notEqual(unverified.code, 0);
  assert.match(unverified.stderr, /must be verified/);

  const r = await ward(["agent", "manifest", "--cluster", CLUSTER, "--token-file", join(w.dir, "join-token"), ...connection()]);
  assert.equal(r.code, 0, r.stderr);
  manifestText = r.stdout;
  const docs = parseAllDocuments(manifestText).map((d) => d.toJS());
  assert.deepEqual(docs.map((d) => d.kind), ["Namespace", "ServiceAccount", "Secret", "ClusterRole", "ClusterRoleBinding", "Deployment"]);
  assert.deepEqual(docs[3].rules, agentRules("constrained"));
  assert.equal(docs[2].stringData.token, readFileSync(join(w.dir, "join-token"), "utf8").trim());
  assert.equal(docs[2].stringData["gateway-ca.crt"], w.ca.toString());
  const init = docs[5].spec.template.spec.initContainers[0];
  const pin = init.env.find((e: { name: string }) => e.name === "WARD_SHA256").value;
  assert.equal(pin, createHash("sha256").update(readFileSync(wardBinary)).digest("hex"), "the pin is dist/ward's SHA-256");

  const dry = await kubectl(admin, ["apply", "--dry-run=server", "-f", "-"], { input: manifestText });
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /deployment.apps\/ward-agent (created|configured|unchanged) \(server dry run\)/);
  // The namespace warns on (and enforces) the restricted Pod Security Standard: no warning here.
  assert.doesNotMatch(dry.stderr, /PodSecurity/, dry.stderr);
  // …which it would print for a pod that does not meet it (the check is live).
  const loose = docs[5];
  const looser = { ...loose, metadata: { ...loose.metadata, name: "loose" }, spec: { ...loose.spec, template: { ...loose.spec.template, spec: { ...loose.spec.template.spec, securityContext: {}, initContainers: undefined, containers: [{ name: "c", image: "debian:bookworm-slim" }] } } } };
  const warned = await kubectl(admin, ["apply", "--dry-run=server", "-f", "-"], { input: JSON.stringify(looser) });
  assert.match(warned.stderr, /would violate PodSecurity "restricted/, warned.stderr);
});

/** `kubectl auth can-i --list` rows as "resources|nonResourceURLs|resourceNames|verbs". */
async function canIList(user: string): Promise<Set<string>> {
  const out = await kubectlOk(admin, ["auth", "can-i", "--list", `--as=${user}`]);
  const rows = out.trim().split("\n").slice(1).map((l) => l.trim().split(/\s{2,}/).join("|"));
  return new Set(rows);
}

test("auth can-i --list: nothing beyond the listed rules", async () => {
  const mine = await canIList(SA_USER);
  // What every service account has (system:basic-user, discovery, public-info-viewer).
  const baseline = await canIList(`system:serviceaccount:${NS}:nobody`);
  const extra = [...mine].filter((r) => !baseline.has(r)).sort();
  const on = "[impersonate-on:user-info:get impersonate-on:user-info:list impersonate-on:user-info:watch impersonate-on:user-info:create impersonate-on:user-info:update impersonate-on:user-info:patch impersonate-on:user-info:delete impersonate-on:user-info:deletecollection]";
  assert.deepEqual(extra, [
    `*.*|[]|[]|${on}`,
    "clusterrolebindings.rbac.authorization.k8s.io|[]|[]|[list create update delete]",
    // The server lists a rule with resourceNames one row per name.
    ...["view", "edit", "admin", "cluster-admin"].map((n) => `clusterroles.rbac.authorization.k8s.io|[]|[${n}]|[bind]`),
    "rolebindings.rbac.authorization.k8s.io|[]|[]|[list create update delete]",
    "users.authentication.k8s.io|[]|[]|[impersonate:user-info]",
    "[*]|[]|[impersonate-on:user-info:get]",
  ].sort(), `extra rows:\n${extra.join("\n")}`);
});

test("constrained: the agent's token cannot impersonate groups, service accounts or nodes, nor act on its own", async () => {
  const sa = { kubectl: kube.kubectl.newest, kubeconfig: saKubeconfig };
  for (const as of [["--as=system:serviceaccount:kube-system:default"], ["--as=system:node:n1"], ["--as=ward:x", "--as-group=system:masters"]]) {
    const r = await kubectl(sa, ["get", "configmaps", "-n", "default", ...as]);
    assert.notEqual(r.code, 0, as.join(" "));
    assert.match(r.stderr, /forbidden|cannot impersonate/i, as.join(" "));
  }
  const own = await kubectl(sa, ["get", "secrets", "-n", "default"]);
  assert.notEqual(own.code, 0);
  assert.match(own.stderr, /forbidden/);
});

const ROLES = ["view", "edit", "admin", "cluster-admin"] as const;
for (const role of ROLES) {
  for (const scope of ["cluster", "namespace"] as const) {
    test(`${role} on the ${scope}: reconciled by the agent's ServiceAccount and in effect through Ward`, async () => {
      const m = await w.member(`${role}-${scope}@example.com`);
      await w.grant(m.id, scope === "cluster" ? { role } : { role, scope: "namespace", namespace: kube.namespace });
      await w.mintKubeconfig(m);
      const k = { kubectl: kube.kubectl.newest, kubeconfig: m.kubeconfig };
      const ns = kube.namespace;
      const can = async (args: string[]) => (await kubectl(k, ["auth", "can-i", ...args])).stdout.trim();
      const tag = `${role}-${scope}`.replace(/[^a-z-]/g, "");
      // Reads in the granted namespace, and beyond it only at cluster scope.
      await kubectlOk(k, ["get", "configmaps", "-n", ns]);
      const elsewhere = await kubectl(k, ["get", "configmaps", "-n", "kube-system"]);
      assert.equal(elsewhere.code === 0, scope === "cluster", elsewhere.stderr);
      if (role === "view") {
        assert.equal(await can(["create", "configmaps", "-n", ns]), "no");
      } else if (role === "edit") {
        await kubectlOk(k, ["create", "configmap", tag, "-n", ns]);
        assert.equal(await can(["create", "roles", "-n", ns]), "no");
      } else if (role === "admin") {
        await kubectlOk(k, ["create", "role", tag, "--verb=get", "--resource=pods", "-n", ns]);
        assert.equal(await can(["create", "clusterroles", "--all-namespaces"]), "no");
      } else {
        // cluster-admin bound in one namespace is admin-like there; on the cluster, everything.
        await kubectlOk(k, ["create", "secret", "generic", tag, "-n", ns]);
        // Asked cluster-wide (-A): the kubeconfig's default namespace is the grant's, and a RoleBinding
        // to cluster-admin answers "yes" for anything asked inside that namespace.
        assert.equal(await can(["create", "namespaces", "--all-namespaces"]), scope === "cluster" ? "yes" : "no");
        if (scope === "cluster") await kubectlOk(k, ["get", "nodes"]);
      }
    });
  }
}

test("the init step: a wrong pin leaves nothing behind and fails; the right one leaves a runnable ward", async () => {
  const bin = join(w.dir, "bin");
  const dest = join(bin, "ward");
  await run("mkdir", ["-p", bin]);
  const sum = createHash("sha256").update(readFileSync(wardBinary)).digest("hex");
  const env = (sha: string) => ({ PATH: process.env["PATH"], WARD_DOWNLOAD_URL: `${w.url}/download/ward-linux-x64`, WARD_SHA256: sha, WARD_DEST: dest, WARD_CA_FILE: w.caFile });
  const tampered = sum.slice(0, 63) + (sum.endsWith("0") ? "1" : "0");
  const bad = await run("sh", ["-c", INIT_SCRIPT], { env: env(tampered) });
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /refusing .* SHA-256 [0-9a-f]{64}, pinned/);
  assert.deepEqual(readdirSync(bin), [], "nothing left behind");
  const malformed = await run("sh", ["-c", INIT_SCRIPT], { env: env("not-a-sha") });
  assert.equal(malformed.code, 2);

  const good = await run("sh", ["-c", INIT_SCRIPT], { env: env(sum) });
  assert.equal(good.code, 0, good.stderr);
  assert.deepEqual(readdirSync(bin), ["ward"]);
  assert.equal(statSync(dest).mode & 0o777, 0o555);
  const v = await run(dest, ["--version"]);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /ward/i);
  assert.ok(existsSync(dest));
});

test("--constrained-impersonation off: the legacy rules also reconcile and forward (for servers before 1.36)", async () => {
  const r = await ward(["agent", "manifest", "--cluster", CLUSTER, "--token-file", join(w.dir, "join-token"), "--constrained-impersonation", "off", ...connection()]);
  assert.equal(r.code, 0, r.stderr);
  const role = parseAllDocuments(r.stdout).map((d) => d.toJS()).find((d) => d.kind === "ClusterRole");
  assert.deepEqual(role.rules, agentRules("legacy"));
  await kubectlOk(admin, ["apply", "-f", "-"], { input: stringify(role) });
  const m = await w.member("legacy@example.com");
  await w.grant(m.id, { role: "edit", scope: "namespace", namespace: kube.namespace });
  await w.mintKubeconfig(m);
  const k = { kubectl: kube.kubectl.newest, kubeconfig: m.kubeconfig };
  await kubectlOk(k, ["create", "configmap", "legacy", "-n", kube.namespace]);
  assert.notEqual((await kubectl(k, ["get", "configmaps", "-n", "kube-system"])).code, 0);
});
