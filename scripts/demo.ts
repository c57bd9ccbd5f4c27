/**
 * Try Ward locally (`npm run demo`, `node scripts/demo.ts`).
 *
 * Brings up the real kube-env (etcd + kube-apiserver + kwok with one pod), `dist/ward gateway`
 * (HTTPS, generated certificate, data in `.ward/demo/gateway`), `dist/ward agent` for the cluster
 * "demo", a member `you@example.com` with a cluster-admin grant, and writes that member's kubeconfig
 * to `.ward/demo/kubeconfig`. Prints the kubectl commands to try, then runs until Ctrl-C and tears
 * everything down. Builds `dist/ward` first when it is missing.
 *
 * Teardown happens on SIGINT, SIGTERM or SIGHUP, and when the parent process goes away (npm or the
 * shell killed, a closed terminal): the demo is re-parented, notices within half a second, and stops
 * the agent, the gateway and the kube-env. `kube-env up` runs in its own session, so a signal to the
 * terminal's process group cannot kill it half-way (leaving etcd or the API server behind): a stop
 * during start-up waits for it and then takes the environment down. A second signal, a second or
 * more after the first, exits at once; the kube-env's watchdog still stops it then.
 */
import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { eventually } from "../test/helpers/eventually.ts";
import { start, type Started } from "../test/helpers/process.ts";
import { criLogLines } from "./kube-env-kwok.ts";
import type { KubeEnvFile } from "./kube-env-up.ts";

const root = new URL("..", import.meta.url).pathname;
const ward = join(root, "dist", "ward");
const demoDir = join(root, ".ward", "demo");
const kubeEnvDir = join(tmpdir(), `ward-demo-kube-env-${process.pid}`);
const CLUSTER = "demo";
const EMAIL = "you@example.com";
const log = (msg: string) => console.error(`[demo] ${msg}`);
// A terminal or pipe that is gone must not crash the teardown that its going started.
process.stdout.on("error", () => {});
process.stderr.on("error", () => {});

let kubeUp: Promise<KubeEnvFile> | undefined;
let kubeStarted = false;
let gw: Started | undefined;
let agent: Started | undefined;
let ticker: NodeJS.Timeout | undefined;
let parentWatch: NodeJS.Timeout | undefined;
let stopping = false;

/** `scripts/kube-env up` in its own session, output to a file: nothing sent to the demo's process group or pipes reaches it. */
function kubeEnvUp(): Promise<KubeEnvFile> {
  mkdirSync(demoDir, { recursive: true });
  const logFile = join(demoDir, "kube-env-up.log");
  const fd = openSync(logFile, "w");
  const child = spawn(join(root, "scripts", "kube-env"), ["up", "--dir", kubeEnvDir, "--owner-pid", String(process.pid), "--quiet"], {
    detached: true, stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      const out = readFileSync(logFile, "utf8").trim();
      if (code !== 0) return reject(new Error(`scripts/kube-env up failed (${code ?? signal}):\n${out}`));
      resolve(JSON.parse(readFileSync(out.split("\n").pop()!, "utf8")) as KubeEnvFile);
    });
  });
}

function kubeEnvDown(): void {
  if (!existsSync(join(kubeEnvDir, "env.json"))) return; // never came up, or `up` cleaned up after a failure
  try {
    execFileSync(join(root, "scripts", "kube-env"), ["down", "--dir", kubeEnvDir], { stdio: ["ignore", "ignore", "pipe"], timeout: 60_000 });
  } catch (e) {
    log(`kube-env down: ${(e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message}`);
  }
}

async function teardown(code: number): Promise<never> {
  if (stopping) return new Promise<never>(() => {}); // already under way
  stopping = true;
  if (ticker) clearInterval(ticker);
  if (parentWatch) clearInterval(parentWatch);
  log("tearing down …");
  await agent?.stop().catch(() => {});
  await gw?.stop().catch(() => {});
  if (kubeUp) {
    // Still starting? Let it finish (it cannot be interrupted cleanly half-way), then stop it.
    if (!kubeStarted) log("waiting for the kube-env to finish starting, to stop it …");
    await kubeUp.catch(() => {});
    kubeEnvDown();
  }
  rmSync(demoDir, { recursive: true, force: true });
  log("done");
  process.exit(code);
}

// One Ctrl-C (or SIGTERM) can arrive twice at once — from the terminal or `timeout` to the whole
// process group, and forwarded by npm — so only a signal a second or more later forces the exit.
let firstSignalAt = 0;
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    if (!stopping) {
      firstSignalAt = Date.now();
      void teardown(0);
    } else if (Date.now() - firstSignalAt >= 1000) {
      log(`${sig} again: exiting now; the kube-env's watchdog stops it within seconds`);
      process.exit(130);
    }
  });
}

// The parent (npm, a shell, a supervisor) gone without a signal to us: we were re-parented.
const parent = process.ppid;
parentWatch = setInterval(() => {
  if (process.ppid !== parent) {
    log(`the parent process (pid ${parent}) is gone`);
    void teardown(0);
  }
}, 500);
parentWatch.unref();

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
  kubeUp = kubeEnvUp();
  const k = await kubeUp;
  kubeStarted = true;
  if (stopping) return;
  log(`API server ${k.apiServer}`);

  const gwDir = join(demoDir, "gateway");
  if (stopping) return; // checked right before each start: teardown may have passed its stop already
  gw = start(ward, ["gateway", "--listen", "127.0.0.1:0", "--data-dir", gwDir]);
  const url = (await gw.waitFor(/"gateway listening".*?"url":"(https:[^"]+)"/, 30_000))[1]!;
  const caFile = join(gwDir, "tls", "ca.crt");
  const ca = readFileSync(caFile);
  const adminToken = readFileSync(join(gwDir, "admin-token"), "utf8").trim();
  log(`gateway ${url}`);

  const cluster = must(await api(url, ca, adminToken, "POST", "/api/v1/clusters", { id: CLUSTER, name: "Demo (kwok)" }), 201, "create cluster");
  const joinToken = join(demoDir, "join-token");
  writeFileSync(joinToken, cluster.join_token, { mode: 0o600 });
  if (stopping) return;
  agent = start(ward, ["agent", "--gateway", url, "--cluster", CLUSTER, "--token-file", joinToken, "--kubeconfig", k.kubeconfig, "--metrics-listen", "127.0.0.1:0"], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
  });
  const metrics = (await agent.waitFor(/"metrics listening".*?"url":"(http:[^"]+)"/, 30_000))[1]!;
  await agent.waitFor(/connected to the gateway/, 30_000);
  log(`agent connected for cluster "${CLUSTER}"`);

  const m = must(await api(url, ca, adminToken, "POST", "/api/v1/members", { email: EMAIL }), 201, "create member");
  const g = must(await api(url, ca, adminToken, "POST", `/api/v1/clusters/${CLUSTER}/access/grants`, { member_id: m.member.id, role: "cluster-admin" }), 201, "grant");
  await eventually("the grant to be applied", async () => {
    const list = must(await api(url, ca, adminToken, "GET", `/api/v1/clusters/${CLUSTER}/access/grants`), 200, "list grants");
    return list.grants?.find((x: { id: string }) => x.id === g.grant.id)?.status === "applied";
  }, { timeoutMs: 30_000, intervalMs: 200 });
  log(`${EMAIL} has a cluster-admin grant (applied)`);
  const kc = must(await api(url, ca, m.api_token, "POST", `/api/v1/clusters/${CLUSTER}/kubeconfig`, {}), 200, "kubeconfig");
  const kubeconfig = join(demoDir, "kubeconfig");
  writeFileSync(kubeconfig, kc.kubeconfig, { mode: 0o600 });
  writeFileSync(join(demoDir, "member-api-token"), m.api_token, { mode: 0o600 });

  // Something to see with `logs -f`: a line every two seconds.
  let n = 0;
  appendFileSync(k.logFile, criLogLines(`hello from the demo pod ${k.pod}`));
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
  cluster     ${CLUSTER}  →  ${k.apiServer} (through the agent; its metrics: curl -s ${metrics}/metrics | grep ^ward_)
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
  if (stopping) return; // a process stopped by the teardown under way: nothing failed
  log(`failed: ${err.stack ?? err.message}`);
  if (gw) log(`gateway output:\n${gw.output().slice(-3000)}`);
  if (agent) log(`agent output:\n${agent.output().slice(-3000)}`);
  await teardown(1);
});
