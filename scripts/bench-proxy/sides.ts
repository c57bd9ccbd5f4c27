/**
 * The compared sides besides direct: Ward (`dist/ward gateway` + `dist/ward agent`, started by the
 * same helper as the e2e suites), the Rancher-style peer (Go, scripts/remotedialer) and the Node
 * floor (scripts/bench-floor.ts). Each gives a Target for the workloads and a kubeconfig for kubectl.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import { join } from "node:path";
import { spawnSync, type ChildProcess } from "node:child_process";
import { build } from "esbuild";
import { parse as parseYaml } from "yaml";
import { mallocTunables, NODE_FLAGS } from "../../cmd/node_flags.ts";
import { eventually } from "../../test/helpers/eventually.ts";
import type { KubeEnv } from "../../test/helpers/kube-env.ts";
import { startWard, wardBinary, type Ward } from "../../test/helpers/ward.ts";
import { BUNDLE_OPTIONS } from "../bundle_options.ts";
import { rdBinary } from "../remotedialer-build.ts";
import { req, target, type Target } from "./client.ts";
import { BENCH_EMAIL, CLUSTER, log, root } from "./config.ts";
import { startHelper } from "./processes.ts";

// ------------------------------------------------------------------------------------ Ward

/**
 * `dist/ward gateway` + `dist/ward agent` with the agent's own defaults (what a deployment runs),
 * trusting the gateway's CA through NODE_EXTRA_CA_CERTS (as this benchmark always has), or
 * with WARD_BENCH_SOURCE=1 `node cmd/ward.ts` (readable names in a profile:
 * NODE_OPTIONS="--cpu-prof --cpu-prof-dir=DIR" profiles gateway and agent alike).
 * The agent authenticates to the API server with a bearer token, as it does in a cluster (its service
 * account's) and as the remotedialer peer does: the kube-env admin's static token.
 */
export async function startBenchWard(k: KubeEnv, workDir: string, gatewayArgs: string[] = [], agentFlags: string[] = []): Promise<Ward> {
  const agentKubeconfig = join(workDir, "agent-kubeconfig");
  writeFileSync(agentKubeconfig, JSON.stringify({
    apiVersion: "v1", kind: "Config", "current-context": "kube",
    clusters: [{ name: "kube", cluster: { server: k.apiServer, "certificate-authority": k.caFile } }],
    users: [{ name: "agent", user: { token: k.adminToken } }],
    contexts: [{ name: "kube", context: { cluster: "kube", user: "agent" } }],
  }), { mode: 0o600 });
  return await startWard(k, {
    // WARD_BENCH_GATEWAY_ARGS: extra gateway flags for every Ward side (e.g. "--audit off").
    cluster: CLUSTER, clusterName: "Bench", agentFlags, agentKubeconfig, agentTrust: "env",
    gatewayArgs: [...gatewayArgs, ...(process.env.WARD_BENCH_GATEWAY_ARGS?.split(/\s+/).filter(Boolean) ?? [])],
    ...(process.env.WARD_BENCH_SOURCE === "1" ? { command: [process.execPath, join(root, "cmd", "ward.ts")] } : {}),
    beforeStart: () => dropPageCache(wardBinary),
    // WARD_BENCH_NODE_OPTIONS: Node options for both processes, after the defaults (so they win). A
    // V8 flag outside NODE_FLAGS also costs the parts' code caches (V8 rejects them): ~10 MiB at idle.
    ...(process.env.WARD_BENCH_NODE_OPTIONS && process.env.WARD_BENCH_SOURCE !== "1" ? { command: [wardBinary, `--node-options=${process.env.WARD_BENCH_NODE_OPTIONS}`] } : {}),
  });
}

/**
 * Each process starts as on a machine that has not run the executable lately: the file's pages are
 * dropped from the page cache first (GNU dd, `iflag=nocache count=0`; clean pages only, nothing is
 * written). Why: how much of the executable a process maps depends on how its pages came into the
 * cache. Right after the build wrote the file (or anything read it whole), the kernel holds it in
 * large folios and maps whole folios on a fault: ~18 MiB more file-backed RSS in each process, of
 * code it never runs, than when the pages come in by demand paging. WARD_BENCH_WARM_CACHE=1 keeps
 * whatever the cache holds.
 */
export function dropPageCache(file: string): void {
  if (process.env.WARD_BENCH_WARM_CACHE === "1") return;
  const r = spawnSync("dd", [`if=${file}`, "iflag=nocache", "count=0", "status=none"], { stdio: "ignore" });
  if (r.status !== 0) throw new Error(`dd could not drop ${file} from the page cache (exit ${r.status ?? r.signal}); set WARD_BENCH_WARM_CACHE=1 to measure without`);
}

/** A member with a cluster-admin grant (applied) and its minted kubeconfig: the Ward side's Target. */
export async function wardSide(w: Ward): Promise<{ target: Target; server: string }> {
  const m = await w.member(BENCH_EMAIL);
  await w.grant(m.id, { role: "cluster-admin" });
  await w.mintKubeconfig(m);
  const doc = parseYaml(readFileSync(m.kubeconfig, "utf8")) as { clusters: { cluster: { server: string } }[]; users: { user: { token: string } }[] };
  const server = doc.clusters[0]!.cluster.server;
  const t = target("ward", server, w.ca, doc.users[0]!.user.token);
  t.kubeconfig = m.kubeconfig;
  return { target: t, server };
}

/**
 * Direct as the kube-env's plain user, whose cluster-admin comes from an RBAC binding (made here), as
 * the member's does through Ward: the like-for-like baseline the goals use.
 */
export async function directUser(k: KubeEnv, direct: Target): Promise<Target> {
  const crb = await req(direct, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
    apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: "bench-direct-user" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: k.userName }],
  });
  if (crb.status !== 201 && crb.status !== 409) throw new Error(`bind ${k.userName}: ${crb.status} ${crb.text}`);
  return target("user", k.apiServer, readFileSync(k.caFile), k.userToken);
}

// ------------------------------------------------------------------- Rancher-style peer (Go harness)

export interface Peer {
  target: Target;
  server: ChildProcess;
  client: ChildProcess;
}

/** The peer: `rdbench kubeproxy` (Rancher's cluster proxy) and `rdbench client` (its agent). */
export async function startPeer(k: KubeEnv, workDir: string): Promise<Peer> {
  const bin = rdBinary(log);
  const frontToken = randomBytes(24).toString("hex");
  const apiHost = new URL(k.apiServer).host;
  dropPageCache(bin);
  const server = await startHelper(bin, [
    "kubeproxy", "-listen", "127.0.0.1:0", "-target", apiHost, "-ca", k.caFile, "-tls-cert", k.servingCertFile, "-tls-key", k.servingKeyFile,
    "-upstream-token", k.adminToken, "-impersonate", `ward:${BENCH_EMAIL}`, "-front-token", frontToken,
  ], /LISTEN (\S+)/);
  const addr = server.match[1]!;
  const client = await startHelper(bin, ["client", "-server", `wss://${addr}/connect`, "-ca", k.caFile], /CONNECTING/);
  const ca = readFileSync(k.caFile);
  await eventually("the remotedialer agent to connect", () => new Promise<boolean>((r) => {
    https.get(`https://${addr}/ready`, { ca }, (res) => (res.resume(), r(res.statusCode === 200))).on("error", () => r(false));
  }), { timeoutMs: 20_000, intervalMs: 100 });
  const kubeconfig = join(workDir, "rd.kubeconfig");
  writeFileSync(kubeconfig, `apiVersion: v1
kind: Config
clusters:
- name: rd
  cluster:
    server: https://${addr}/k8s
    certificate-authority: ${k.caFile}
users:
- name: rd
  user:
    token: ${frontToken}
contexts:
- name: rd
  context:
    cluster: rd
    user: rd
current-context: rd
`, { mode: 0o600 });
  const t = target("rd", `https://${addr}/k8s`, ca, frontToken);
  t.kubeconfig = kubeconfig;
  return { target: t, server: server.proc, client: client.proc };
}

// ------------------------------------------------------------------------------------ Node floor

/**
 * The Node floor (scripts/bench-floor.ts): two minimal Node HTTPS hops chained as Ward's gateway and
 * agent are, the back one impersonating the same user with the admin token. It does no work of its
 * own, so what it adds over direct is what two Node processes on the path cost here.
 */
export async function startFloor(k: KubeEnv, workDir: string): Promise<{ target: Target; front: ChildProcess; back: ChildProcess }> {
  const script = join(root, "scripts", "bench-floor.ts");
  const tls = ["--tls-cert", k.servingCertFile, "--tls-key", k.servingKeyFile];
  const backToken = randomBytes(24).toString("hex");
  const frontToken = randomBytes(24).toString("hex");
  dropPageCache(process.execPath); // pages this process maps stay (it runs on the same binary)
  const back = await startHelper(process.execPath, [
    script, ...tls, "--front-token", backToken,
    "--upstream", k.apiServer, "--upstream-ca", k.caFile, "--upstream-token", k.adminToken, "--impersonate", `ward:${BENCH_EMAIL}`,
  ], /LISTEN (\S+)/);
  const front = await startHelper(process.execPath, [
    script, ...tls, "--front-token", frontToken,
    "--upstream", `https://${back.match[1]}`, "--upstream-ca", k.caFile, "--upstream-token", backToken,
  ], /LISTEN (\S+)/);
  const t = target("floor", `https://${front.match[1]}`, readFileSync(k.caFile), frontToken);
  t.kubeconfig = join(workDir, "floor.kubeconfig");
  writeFileSync(t.kubeconfig, JSON.stringify({
    apiVersion: "v1", kind: "Config", "current-context": "floor",
    clusters: [{ name: "floor", cluster: { server: `https://${front.match[1]}`, "certificate-authority": k.caFile } }],
    users: [{ name: "floor", user: { token: frontToken } }],
    contexts: [{ name: "floor", context: { cluster: "floor", user: "floor" } }],
  }), { mode: 0o600 });
  return { target: t, front: front.proc, back: back.proc };
}

/**
 * The floor's back hop as the agent runs, for the idle row: bundled and minified as dist/ward's parts
 * are, started with the daemons' V8 flags and malloc tunables (cmd/node_flags.ts), one request
 * through it, then left alone. It terminates TLS and keeps an undici pool to the API server, as the
 * agent's proxy path does, and nothing else: its idle RSS is what the agent's sits on before any of
 * Ward's own work (the tunnel, the NATS client, the kubeconfig loader, RBAC, metrics).
 */
export async function startIdleFloorHop(k: KubeEnv, workDir: string): Promise<ChildProcess> {
  const file = join(workDir, "floor-hop.cjs");
  await build({ ...BUNDLE_OPTIONS, entryPoints: [join(root, "scripts", "bench-floor.ts")], outfile: file });
  const token = randomBytes(24).toString("hex");
  const hop = await startHelper(process.execPath, [
    ...NODE_FLAGS, file, "--tls-cert", k.servingCertFile, "--tls-key", k.servingKeyFile, "--front-token", token,
    "--upstream", k.apiServer, "--upstream-ca", k.caFile, "--upstream-token", k.adminToken, "--impersonate", `ward:${BENCH_EMAIL}`,
  ], /LISTEN (\S+)/, { ...process.env, GLIBC_TUNABLES: mallocTunables(process.env.GLIBC_TUNABLES) });
  const r = await req(target("floor", `https://${hop.match[1]}`, readFileSync(k.caFile), token), "GET", "/api/v1/namespaces/default");
  if (r.status !== 200) throw new Error(`the idle floor hop answered ${r.status}: ${r.text.slice(0, 200)}`);
  return hop.proc;
}
