/**
 * `scripts/kube-env up|down`: a real control plane on loopback for tests and benchmarks.
 *
 * `up` starts etcd, kube-apiserver (RBAC, client-certificate and static-token auth), kwok (one
 * node, one pod with working exec/logs/attach/port-forward) and a TCP echo server, all from the
 * cached binaries, in one directory; fills the aggregated ClusterRoles (`view`, `edit`, `admin`) the
 * way kube-controller-manager would, since none runs here; it writes `<dir>/env.json` (see KubeEnvFile) and an admin
 * kubeconfig, and returns the env file's path. `down` stops exactly the processes recorded there.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { apiClient } from "./kube-env-api.ts";
import { aggregateClusterRoles } from "./kube-env-rbac.ts";
import { adminUser, makeCerts } from "./kube-env-certs.ts";
import { component, findBinary, kwokStagesPath, repoRoot } from "./kube-env-components.ts";
import { criLogLines, kwokConfig, namespaceObject, nodeObject, podObject, type Workload } from "./kube-env-kwok.ts";
import { freePorts, isRunning, type Proc, startDetached, stop, waitFor } from "./kube-env-procs.ts";

export const defaultDir = "/tmp/ward-kube-env";

/** The contents of `<dir>/env.json`. */
export interface KubeEnvFile {
  dir: string;
  /** `up` created the directory, so `down` removes it. */
  createdDir: boolean;
  apiServer: string;
  caFile: string;
  /** A serving certificate (signed by caFile) and key for 127.0.0.1/localhost, e.g. for a test webhook or proxy. */
  servingCertFile: string;
  servingKeyFile: string;
  adminUser: string;
  adminGroups: string[];
  adminCertFile: string;
  adminKeyFile: string;
  /** A static bearer token for the same admin identity. */
  adminToken: string;
  /**
   * A static bearer token for a plain user (`userName`, no privileged group): RBAC decides what it
   * may do, as for any real user; it has no bindings until a test grants some.
   */
  userName: string;
  userToken: string;
  kubeconfig: string;
  etcdUrl: string;
  kwokUrl: string;
  namespace: string;
  node: string;
  pod: string;
  container: string;
  podPort: number;
  /** Where the pod's exec runs (its "filesystem" for `kubectl cp`). */
  podWorkDir: string;
  /** The pod's CRI-format log file, followed by `kubectl logs -f` and `attach`. */
  logFile: string;
  echoPort: number;
  versions: Record<string, string>;
  kubectl: { newest: string; spdy: string };
  procs: Proc[];
  pids: Record<string, number>;
  upSeconds: number;
}

export async function up(flags: Record<string, string>): Promise<string> {
  const started = Date.now();
  const quiet = flags.quiet === "true";
  const say = (msg: string) => {
    if (!quiet) process.stderr.write(`[kube-env] ${((Date.now() - started) / 1000).toFixed(1)}s ${msg}\n`);
  };
  const dir = resolve(flags.dir ?? defaultDir);
  const envPath = join(dir, "env.json");
  const createdDir = !existsSync(dir);
  if (!createdDir && existsSync(envPath)) {
    const old = readEnv(dir);
    if (old.procs.some(isRunning)) throw new Error(`An environment is already running in ${dir}. Run: scripts/kube-env down --dir ${dir}`);
    rmSync(envPath);
  }
  // Every `up` starts from scratch: stale etcd data would carry the old kwok port in the node.
  for (const sub of ["etcd", "pki", "logs", "pods", "kwok.yaml", "admin.kubeconfig", "echo.port"]) {
    rmSync(join(dir, sub), { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });

  const bins = {
    etcd: findBinary("etcd"),
    apiserver: findBinary("kube-apiserver"),
    kwok: findBinary("kwok"),
    kubectl: findBinary("kubectl"),
    kubectlSpdy: findBinary("kubectl-1.20"),
  };
  const stagesFile = kwokStagesPath(component("kwok").version);

  const procs: Proc[] = [];
  const env: Partial<KubeEnvFile> = { dir, createdDir, procs };
  try {
    return await start();
  } catch (err) {
    // Leave nothing running behind a failed `up`.
    for (const p of procs.reverse()) await stop(p, 3000).catch(() => {});
    throw err;
  }

  async function start(): Promise<string> {
    const certDir = join(dir, "pki");
    const logDir = join(dir, "logs");
    mkdirSync(certDir, { recursive: true });
    mkdirSync(logDir, { recursive: true });
    const certs = makeCerts(certDir);
    say("certificates ready");

    const w: Workload = {
      node: "kwok-node-0",
      namespace: "ward-e2e",
      pod: "toolbox",
      container: "main",
      podPort: 8080,
      podWorkDir: join(dir, "pods", "ward-e2e", "toolbox"),
      logFile: join(dir, "pods", "ward-e2e", "toolbox.log"),
      echoPort: 0,
    };
    mkdirSync(w.podWorkDir, { recursive: true });
    writeFileSync(w.logFile, criLogLines("kube-env: toolbox started\nkube-env: append lines to the log file to see them here"));

    // The echo server first: kwok's port-forward rule needs its port.
    const echoScript = join(repoRoot, "scripts", "kube-env-echo.ts");
    const portFile = join(dir, "echo.port");
    rmSync(portFile, { force: true });
    const echo = startDetached("echo", process.execPath, [echoScript, portFile], join(logDir, "echo.log"), dir);
    procs.push({ ...echo, exe: echoScript });

    const [etcdPort, etcdPeerPort, apiPort, kwokPort] = (await freePorts(4)) as [number, number, number, number];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcd = startDetached("etcd", bins.etcd, [
      "--name=ward",
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=ward=http://127.0.0.1:${etcdPeerPort}`,
      "--unsafe-no-fsync",
      "--log-level=warn",
    ], join(logDir, "etcd.log"), dir);
    procs.push(etcd);

    const adminToken = randomBytes(24).toString("hex");
    const tokenFile = join(certDir, "tokens.csv");
    const userName = "kube-env-user";
    const userToken = randomBytes(24).toString("hex");
    writeFileSync(tokenFile, `${adminToken},${adminUser},${adminUser},"system:masters"\n${userToken},${userName},${userName}\n`, { mode: 0o600 });
    const apiServer = `https://127.0.0.1:${apiPort}`;
    // The API server retries etcd itself, so both start at once.
    const apiserver = startDetached("kube-apiserver", bins.apiserver, [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      "--endpoint-reconciler-type=none",
      `--cert-dir=${certDir}`,
      `--tls-cert-file=${certs.servingCert}`,
      `--tls-private-key-file=${certs.servingKey}`,
      `--client-ca-file=${certs.caCert}`,
      `--token-auth-file=${tokenFile}`,
      "--authorization-mode=RBAC",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${certs.saPub}`,
      `--service-account-signing-key-file=${certs.saKey}`,
      "--service-cluster-ip-range=10.0.0.0/24",
      "--allow-privileged=true",
      // No controller-manager runs to create the service accounts this plugin insists on.
      "--disable-admission-plugins=ServiceAccount",
      // kwok serves the kubelet API on the node's InternalIP (127.0.0.1) with our serving cert.
      "--kubelet-preferred-address-types=InternalIP",
      `--kubelet-certificate-authority=${certs.caCert}`,
      `--kubelet-client-certificate=${certs.adminCert}`,
      `--kubelet-client-key=${certs.adminKey}`,
      "--profiling=false",
    ], join(logDir, "kube-apiserver.log"), dir);
    procs.push(apiserver);

    const portText = await waitFor("the echo server's port", async () => {
      try {
        return readFileSync(portFile, "utf8") || undefined;
      } catch {
        return undefined;
      }
    }, { timeoutMs: 10_000, proc: procs[0]! });
    w.echoPort = Number(portText);

    await waitFor(`etcd at ${etcdUrl}`, async () => {
      const r = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2000) });
      return r.ok ? true : undefined;
    }, { timeoutMs: 30_000, proc: etcd });
    say(`etcd ready at ${etcdUrl}`);

    const api = apiClient({ server: apiServer, caFile: certs.caCert, certFile: certs.adminCert, keyFile: certs.adminKey });
    await waitFor(`kube-apiserver /readyz at ${apiServer}`, async () => {
      const r = await api.call("GET", "/readyz", undefined, 3000);
      return r.status === 200 ? true : undefined;
    }, { timeoutMs: 90_000, proc: apiserver });
    say(`kube-apiserver ready at ${apiServer}`);
    // No kube-controller-manager: aggregate view/edit/admin (and any other aggregated role) here.
    const filled = await aggregateClusterRoles(api);
    say(`aggregated ClusterRoles: ${filled.join(", ") || "none needed"}`);

    const kubeconfig = join(dir, "admin.kubeconfig");
    writeFileSync(kubeconfig, adminKubeconfig(apiServer, certs.caCert, certs.adminCert, certs.adminKey, w.namespace), { mode: 0o600 });

    // Objects first, then kwok: it picks the node up on its initial list.
    await api.create("/api/v1/namespaces", namespaceObject(w));
    await api.create("/api/v1/nodes", nodeObject(w));
    await api.create(`/api/v1/namespaces/${w.namespace}/pods`, podObject(w));

    const kwokConfigFile = join(dir, "kwok.yaml");
    writeFileSync(kwokConfigFile, kwokConfig(w, stagesFile));
    const kwokUrl = `https://127.0.0.1:${kwokPort}`;
    const kwok = startDetached("kwok", bins.kwok, [
      `--config=${kwokConfigFile}`,
      `--kubeconfig=${kubeconfig}`,
      "--manage-all-nodes=true",
      "--node-ip=127.0.0.1",
      `--node-port=${kwokPort}`,
      `--server-address=127.0.0.1:${kwokPort}`,
      `--tls-cert-file=${certs.servingCert}`,
      `--tls-private-key-file=${certs.servingKey}`,
    ], join(logDir, "kwok.log"), dir);
    procs.push(kwok);

    type Pod = { status?: { phase?: string; podIP?: string } };
    type Node = { status?: { conditions?: { type: string; status: string }[] } };
    await waitFor(`node ${w.node} Ready`, async () => {
      const n = await api.getJson<Node>(`/api/v1/nodes/${w.node}`);
      return n?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ? true : undefined;
    }, { timeoutMs: 30_000, proc: kwok });
    await waitFor(`pod ${w.namespace}/${w.pod} Running`, async () => {
      const p = await api.getJson<Pod>(`/api/v1/namespaces/${w.namespace}/pods/${w.pod}`);
      return p?.status?.phase === "Running" ? true : undefined;
    }, { timeoutMs: 30_000, proc: kwok });
    say(`kwok ready: node ${w.node}, pod ${w.namespace}/${w.pod} Running`);

    if (flags["owner-pid"]) {
      const script = join(repoRoot, "scripts", "kube-env-watchdog.ts");
      const dog = startDetached("watchdog", process.execPath, [script, dir, flags["owner-pid"]], join(logDir, "watchdog.log"), dir);
      procs.push({ ...dog, exe: script });
    }

    const file: KubeEnvFile = {
      ...(env as { dir: string; createdDir: boolean }),
      apiServer,
      caFile: certs.caCert,
      servingCertFile: certs.servingCert,
      servingKeyFile: certs.servingKey,
      adminUser,
      adminGroups: ["system:masters", "system:authenticated"],
      adminCertFile: certs.adminCert,
      adminKeyFile: certs.adminKey,
      adminToken,
      userName,
      userToken,
      kubeconfig,
      etcdUrl,
      kwokUrl,
      ...w,
      versions: Object.fromEntries(["kube-apiserver", "etcd", "kwok", "kubectl-1.20"].map((n) => [n, component(n).version])),
      kubectl: { newest: bins.kubectl, spdy: bins.kubectlSpdy },
      procs,
      pids: Object.fromEntries(procs.map((p) => [p.name, p.pid])),
      upSeconds: Math.round((Date.now() - started) / 100) / 10,
    };
    writeFileSync(`${envPath}.tmp`, JSON.stringify(file, null, 2) + "\n");
    renameSync(`${envPath}.tmp`, envPath);
    say(`up in ${file.upSeconds}s; env file ${envPath}; stop with: scripts/kube-env down --dir ${dir}`);
    return envPath;
  }
}

export async function down(flags: Record<string, string>): Promise<void> {
  const dir = resolve(flags.dir ?? defaultDir);
  if (!existsSync(join(dir, "env.json"))) throw new Error(`No environment in ${dir} (no env.json). Nothing to stop.`);
  const env = readEnv(dir);
  // Reverse start order: the watchdog, kwok, the API server, etcd, the echo server.
  const self = process.pid;
  const errors: string[] = [];
  for (const p of [...env.procs].reverse()) {
    if (p.pid === self) continue;
    await stop(p).catch((err: unknown) => errors.push((err as Error).message));
  }
  if (errors.length) throw new Error(`Some processes did not stop:\n${errors.join("\n")}`);
  if (env.createdDir) rmSync(dir, { recursive: true, force: true });
  else rmSync(join(dir, "env.json"), { force: true });
}

export function readEnv(dir: string): KubeEnvFile {
  return JSON.parse(readFileSync(join(dir, "env.json"), "utf8")) as KubeEnvFile;
}

function adminKubeconfig(server: string, ca: string, cert: string, key: string, namespace: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: kube-env
  cluster:
    server: ${server}
    certificate-authority: ${ca}
users:
- name: ${adminUser}
  user:
    client-certificate: ${cert}
    client-key: ${key}
contexts:
- name: kube-env
  context:
    cluster: kube-env
    user: ${adminUser}
    namespace: ${namespace}
current-context: kube-env
`;
}
