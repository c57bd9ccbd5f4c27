/**
 * The CLI on kubectl's path, side by side in one run:
 *   - `ward cluster kube-token` with a cached token vs `node -e 0` (the same Node 24): the exec
 *     credential plugin's cost on every kubectl invocation;
 *   - `kubectl get ns` through Ward with the exec plugin vs kubectl straight to the API server with
 *     a static-token kubeconfig: as a person signed in with `ward login` (device flow approved as the
 *     portal does; the kubeconfig's /bin/sh fast path serves the cached credential), as a robot
 *     (WARD_TOKEN: every call starts Ward), and with an embedded token (to split plugin from proxy).
 *   node scripts/bench-cli.ts [--quick]
 * Readable rows, then one JSON object with every figure as the last line.
 * Goals (issue 9): kube-token ≤ 1.4× node -e 0; kubectl via Ward ≤ 1.4× direct.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { call } from "../internal/client/http.ts";
import { deviceLogin } from "../test/helpers/device_login.ts";
import { startKubeEnv } from "../test/helpers/kube-env.ts";
import { startWard, wardBinary as ward, type Ward } from "../test/helpers/ward.ts";

if (!existsSync(ward)) throw new Error("dist/ward is missing: run 'npm run build' first");
const runs = process.argv.includes("--quick") ? 9 : 31;
const CLUSTER = "bench-cli";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!;

/** Runs each command `runs` times, interleaved (so drift hits all alike); ms samples per command. */
function interleaved(cmds: { name: string; cmd: string; args: string[]; env?: NodeJS.ProcessEnv }[]): Map<string, number[]> {
  const out = new Map(cmds.map((c) => [c.name, [] as number[]]));
  for (const c of cmds) spawnSync(c.cmd, c.args, { env: c.env ?? process.env, stdio: "ignore" }); // warm-up
  for (let i = 0; i < runs; i++) {
    for (const c of cmds) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(c.cmd, c.args, { env: c.env ?? process.env, stdio: ["ignore", "ignore", "pipe"] });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`${c.name} exited ${r.status}: ${r.stderr}`);
      out.get(c.name)!.push(ms);
    }
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), "ward-bench-cli-"));
const kube = await startKubeEnv();
let w: Ward | undefined;
try {
  // The agent with its own defaults (what a deployment runs).
  w = await startWard(kube, { cluster: CLUSTER, agentFlags: [] });
  const { url, caFile } = w;
  const bootstrapCode = (await w.gateway.waitFor(/one-time code:\s+([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})/))[1]!;
  const target = { url, caPem: w.ca.toString("utf8") };
  const admin = <T,>(method: string, path: string, json?: unknown) => call<T>(target, path, { method, token: w!.adminToken, json });
  const robot = await admin<{ member: { id: string }; api_token: string }>("POST", "/api/v1/members", { email: "bench@robot.ward", robot: true });
  const me = await admin<{ member: { id: string } }>("GET", "/api/v1/me"); // the bootstrap admin, who signs in below
  for (const member of [robot.member.id, me.member.id]) await w.grant(member, { role: "view" });

  // A person signed in with `ward login`, and a robot (WARD_TOKEN), each with their own dirs.
  const person = { ...process.env, WARD_TOKEN: "", WARD_CONFIG_DIR: join(dir, "person", "config"), WARD_CACHE_DIR: join(dir, "person", "cache") };
  await deviceLogin(ward, { url, caFile, bootstrapCode }, person, "bench-cli");
  const env = { ...process.env, WARD_TOKEN: robot.api_token, WARD_GATEWAY: url, WARD_GATEWAY_CA: caFile, WARD_CONFIG_DIR: join(dir, "config"), WARD_CACHE_DIR: join(dir, "cache") };
  const viaExec = join(dir, "kubeconfig-exec");
  const viaExecRobot = join(dir, "kubeconfig-exec-robot");
  const viaToken = join(dir, "kubeconfig-token");
  for (const [file, e, extra] of [[viaExec, person, []], [viaExecRobot, env, []], [viaToken, env, ["--embed-token"]]] as const) {
    const r = spawnSync(ward, ["cluster", "kubeconfig", "add", "--cluster", CLUSTER, "--use", "--kubeconfig", file, ...extra], { env: e, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`kubeconfig add: ${r.stderr}`);
  }
  const direct = join(dir, "kubeconfig-direct");
  writeFileSync(direct, [
    "apiVersion: v1", "kind: Config", "current-context: direct",
    "clusters:", "- name: direct", "  cluster:", `    server: ${kube.apiServer}`, `    certificate-authority: ${kube.caFile}`,
    "users:", "- name: direct", "  user:", `    token: ${kube.adminToken}`,
    "contexts:", "- name: direct", "  context:", "    cluster: direct", "    user: direct", "",
  ].join("\n"), { mode: 0o600 });

  // kube-token: cached (the first call above filled nothing yet: make one).
  const kt = ["cluster", "kube-token", "--cluster", CLUSTER];
  for (const e of [env, person]) if (spawnSync(ward, [...kt, "--gateway", url], { env: e }).status !== 0) throw new Error("kube-token failed");
  const plugin = interleaved([
    { name: "node", cmd: process.execPath, args: ["-e", "0"] },
    { name: "kube-token", cmd: ward, args: [...kt, "--gateway", url], env: person },
    { name: "kube-token-robot", cmd: ward, args: kt, env },
  ]);
  const kctl = kube.kubectl.newest;
  const getNs = (kc: string) => ["--kubeconfig", kc, "get", "ns", "-o", "name"];
  const kubectlRuns = interleaved([
    { name: "direct", cmd: kctl, args: getNs(direct), env },
    { name: "ward-exec", cmd: kctl, args: getNs(viaExec), env: person },
    { name: "ward-exec-robot", cmd: kctl, args: getNs(viaExecRobot), env },
    { name: "ward-token", cmd: kctl, args: getNs(viaToken), env },
  ]);

  const m = (xs: number[]) => median(xs);
  const row = (label: string, xs: number[], base?: number[]) =>
    console.log(`${label.padEnd(52)} p50 ${m(xs).toFixed(1).padStart(7)} ms  p90 ${p90(xs).toFixed(1).padStart(7)} ms${base ? `   ${(m(xs) / m(base)).toFixed(2)}x` : ""}`);
  console.log(`bench-cli: ${runs} runs each, interleaved; kubectl ${kctl}`);
  row("node -e 0 (baseline)", plugin.get("node")!);
  row("ward cluster kube-token, cached (goal <= 1.4x)", plugin.get("kube-token")!, plugin.get("node")!);
  row("ward cluster kube-token, cached, robot (WARD_TOKEN)", plugin.get("kube-token-robot")!, plugin.get("node")!);
  row("kubectl get ns, direct, static token (baseline)", kubectlRuns.get("direct")!);
  row("kubectl get ns via Ward, exec plugin (goal <= 1.4x)", kubectlRuns.get("ward-exec")!, kubectlRuns.get("direct")!);
  row("kubectl get ns via Ward, exec plugin, robot", kubectlRuns.get("ward-exec-robot")!, kubectlRuns.get("direct")!);
  row("kubectl get ns via Ward, embedded token", kubectlRuns.get("ward-token")!, kubectlRuns.get("direct")!);
  const j = {
    bench: "cli", runs,
    node_e0_ms: +m(plugin.get("node")!).toFixed(2),
    kube_token_ms: +m(plugin.get("kube-token")!).toFixed(2),
    kube_token_ratio: +(m(plugin.get("kube-token")!) / m(plugin.get("node")!)).toFixed(3),
    kubectl_direct_ms: +m(kubectlRuns.get("direct")!).toFixed(2),
    kubectl_ward_exec_ms: +m(kubectlRuns.get("ward-exec")!).toFixed(2),
    kubectl_ward_exec_ratio: +(m(kubectlRuns.get("ward-exec")!) / m(kubectlRuns.get("direct")!)).toFixed(3),
    kube_token_robot_ms: +m(plugin.get("kube-token-robot")!).toFixed(2),
    kubectl_ward_exec_robot_ms: +m(kubectlRuns.get("ward-exec-robot")!).toFixed(2),
    kubectl_ward_exec_robot_ratio: +(m(kubectlRuns.get("ward-exec-robot")!) / m(kubectlRuns.get("direct")!)).toFixed(3),
    kubectl_ward_token_ms: +m(kubectlRuns.get("ward-token")!).toFixed(2),
    kubectl_ward_token_ratio: +(m(kubectlRuns.get("ward-token")!) / m(kubectlRuns.get("direct")!)).toFixed(3),
  };
  console.log(JSON.stringify(j));
} finally {
  await w?.stop();
  await kube.stop();
  rmSync(dir, { recursive: true, force: true });
}
