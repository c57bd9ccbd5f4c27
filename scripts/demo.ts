/**
 * Try Ward locally (`npm run demo`, `node scripts/demo.ts`).
 *
 * Brings up the real kube-env (etcd + kube-apiserver + kwok with one pod), `dist/ward gateway`
 * (HTTPS, generated certificate, data in `.ward/demo/gateway`), `dist/ward agent` for the cluster
 * "demo", a member `you@example.com` with a cluster-admin grant, and writes that member's kubeconfig
 * to `.ward/demo/kubeconfig`. Prints the kubectl commands to try, then runs until Ctrl-C and tears
 * everything down. Builds `dist/ward` first when it is missing.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { join, relative } from "node:path";
import { startKubeEnv, type KubeEnv } from "../test/helpers/kube-env.ts";
import { start, type Started } from "../test/helpers/process.ts";

const root = new URL("..", import.meta.url).pathname;
const ward = join(root, "dist", "ward");
const demoDir = join(root, ".ward", "demo");
const CLUSTER = "demo";
const EMAIL = "you@example.com";
const log = (msg: string) => console.error(`[demo] ${msg}`);

let kube: KubeEnv | undefined;
let gw: Started | undefined;
let agent: Started | undefined;
let ticker: NodeJS.Timeout | undefined;
let stopping = false;

async function teardown(code: number): Promise<never> {
  if (stopping) process.exit(code);
  stopping = true;
  if (ticker) clearInterval(ticker);
  log("tearing down …");
  await agent?.stop().catch(() => {});
  await gw?.stop().catch(() => {});
  await kube?.stop().catch((e: Error) => log(`kube-env down: ${e.message}`));
  rmSync(demoDir, { recursive: true, force: true });
  log("done");
  process.exit(code);
}

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => void teardown(0));

function api(url: string, ca: Buffer, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const r = https.request({ host: u.hostname, port: u.port, path, method, ca, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" } }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} }));
    });
    r.on("error", reject);
    r.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function must(r: { status: number; json: any }, ok: number, what: string): any {
  if (r.status !== ok) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

async function main(): Promise<void> {
  if (!existsSync(ward)) {
    log("dist/ward is missing: building it (node scripts/build.ts) …");
    execFileSync(process.execPath, [join(root, "scripts", "build.ts")], { stdio: "inherit", cwd: root });
  }
  rmSync(demoDir, { recursive: true, force: true });
  mkdirSync(demoDir, { recursive: true });

  log("starting the kube-env (etcd, kube-apiserver, kwok) …");
  kube = await startKubeEnv();
  const k = kube;
  log(`API server ${k.apiServer}`);

  const gwDir = join(demoDir, "gateway");
  gw = start(ward, ["gateway", "--listen", "127.0.0.1:0", "--data-dir", gwDir]);
  const url = (await gw.waitFor(/"gateway listening".*?"url":"(https:[^"]+)"/, 30_000))[1]!;
  const caFile = join(gwDir, "tls", "ca.crt");
  const ca = readFileSync(caFile);
  const adminToken = readFileSync(join(gwDir, "admin-token"), "utf8").trim();
  log(`gateway ${url}`);

  const cluster = must(await api(url, ca, adminToken, "POST", "/api/v1/clusters", { id: CLUSTER, name: "Demo (kwok)" }), 201, "create cluster");
  const joinToken = join(demoDir, "join-token");
  writeFileSync(joinToken, cluster.join_token, { mode: 0o600 });
  agent = start(ward, ["agent", "--gateway", url, "--cluster", CLUSTER, "--token-file", joinToken, "--kubeconfig", k.kubeconfig], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
  });
  await agent.waitFor(/connected to the gateway/, 30_000);
  log(`agent connected for cluster "${CLUSTER}"`);

  const m = must(await api(url, ca, adminToken, "POST", "/api/v1/members", { email: EMAIL }), 201, "create member");
  const g = must(await api(url, ca, adminToken, "POST", `/api/v1/clusters/${CLUSTER}/access/grants`, { member_id: m.member.id, role: "cluster-admin" }), 201, "grant");
  const deadline = Date.now() + 30_000;
  for (;;) {
    const list = must(await api(url, ca, adminToken, "GET", `/api/v1/clusters/${CLUSTER}/access/grants`), 200, "list grants");
    if (list.grants?.find((x: { id: string }) => x.id === g.grant.id)?.status === "applied") break;
    if (Date.now() > deadline) throw new Error("the grant was not applied within 30 s");
    await new Promise((r) => setTimeout(r, 200));
  }
  log(`${EMAIL} has a cluster-admin grant (applied)`);
  const kc = must(await api(url, ca, m.api_token, "POST", `/api/v1/clusters/${CLUSTER}/kubeconfig`, {}), 200, "kubeconfig");
  const kubeconfig = join(demoDir, "kubeconfig");
  writeFileSync(kubeconfig, kc.kubeconfig, { mode: 0o600 });
  writeFileSync(join(demoDir, "member-api-token"), m.api_token, { mode: 0o600 });

  // Something to see with `logs -f`: a line every two seconds.
  let n = 0;
  k.appendLog(`hello from the demo pod ${k.pod}`);
  ticker = setInterval(() => {
    try {
      appendFileSync(k.logFile, `${new Date().toISOString()} stdout F tick ${++n}\n`);
    } catch {
      /* torn down */
    }
  }, 2000);

  const rel = relative(process.cwd(), kubeconfig) || kubeconfig;
  const kctl = `${k.kubectl.newest} --kubeconfig ${rel}`;
  const ns = `-n ${k.namespace}`;
  console.log(`
Ward demo is up.
  gateway     ${url}   (admin API token: ${relative(process.cwd(), join(gwDir, "admin-token"))})
  cluster     ${CLUSTER}  →  ${k.apiServer} (through the agent)
  member      ${EMAIL}, cluster-admin
  kubeconfig  ${kubeconfig}

Try (kubectl talks only to the gateway; the token and CA are embedded in the kubeconfig):
  export KUBECONFIG=${kubeconfig}
  ${kctl} get ns
  ${kctl} get pods ${ns}
  ${kctl} logs -f ${k.pod} -c ${k.container} ${ns}
  ${kctl} exec -it ${k.pod} -c ${k.container} ${ns} -- sh
  ${kctl} port-forward ${ns} pod/${k.pod} 8080:${k.podPort}     # 127.0.0.1:8080 reaches an echo server in the pod (e.g. nc 127.0.0.1 8080)
  ${kctl} auth whoami
  ${k.kubectl.spdy} --kubeconfig ${rel} exec ${k.pod} -c ${k.container} ${ns} -- uname -a   # kubectl 1.20 (SPDY)

Press Ctrl-C to stop and tear everything down.
`);
  // Tear down if either Ward process dies.
  const died = (name: string, s: Started) => s.child.once("exit", (code, sig) => {
    if (stopping) return;
    log(`${name} exited (${code ?? sig}); output:\n${s.output().slice(-3000)}`);
    void teardown(1);
  });
  died("gateway", gw);
  died("agent", agent);
}

main().catch(async (err: Error) => {
  log(`failed: ${err.stack ?? err.message}`);
  if (gw) log(`gateway output:\n${gw.output().slice(-3000)}`);
  if (agent) log(`agent output:\n${agent.output().slice(-3000)}`);
  await teardown(1);
});
