/**
 * Fault injection: kill -9 of the agent, then of the gateway, while kubectl streams are open.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { eventually } from "../helpers/eventually.ts";
import { startKubeEnv, type KubeEnv } from "../helpers/kube-env.ts";
import { kubectl, kubectlStream, type KubectlStream, type KubectlTarget } from "../helpers/kubectl.ts";
import { startWard, type Ward, type WardMember } from "../helpers/ward.ts";

const CLUSTER = "fault";
let kube: KubeEnv;
let w: Ward;
let dev: WardMember;

before(async () => {
  kube = await startKubeEnv();
  w = await startWard(kube, { cluster: CLUSTER });
  dev = await w.member("dev@example.com");
  await w.grant(dev.id, { role: "cluster-admin" });
  await w.mintKubeconfig(dev);
}, { timeout: 240_000 });

after(async () => {
  try {
    await w?.stop();
  } finally {
    await kube?.stop();
  }
});

type Which = "newest" | "spdy";
const target = (which: Which): KubectlTarget => ({ kubectl: kube.kubectl[which], kubeconfig: dev.kubeconfig });

interface Live {
  name: string;
  k: KubectlStream;
  /** A TCP connection through port-forward that keeps moving bytes. */
  sock?: Socket;
  sockClosed?: Promise<void>;
}

async function openStreams(which: Which): Promise<Live[]> {
  const t = target(which);
  const ns = ["-n", kube.namespace];
  const exec = kubectlStream(t, ["exec", "-i", kube.pod, "-c", kube.container, ...ns, "--", "cat"]);
  const watch = kubectlStream(t, ["get", "pods", "-w", ...ns]);
  const logs = kubectlStream(t, ["logs", "-f", kube.pod, "-c", kube.container, ...ns]);
  const pf = kubectlStream(t, ["port-forward", `pod/${kube.pod}`, `:${kube.podPort}`, "--address=127.0.0.1", ...ns]);
  const live: Live[] = [{ name: `exec (${which})`, k: exec }, { name: `get -w (${which})`, k: watch }, { name: `logs -f (${which})`, k: logs }, { name: `port-forward (${which})`, k: pf }];
  exec.write("ping\n");
  await exec.waitFor("ping");
  await watch.waitFor(kube.pod);
  const marker = `fault-${which}-${Date.now()}`;
  const timer = setInterval(() => kube.appendLog(marker), 300);
  kube.appendLog(marker);
  try {
    await logs.waitFor(marker);
  } finally {
    clearInterval(timer);
  }
  const port = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(await pf.waitFor(/Forwarding from 127\.0\.0\.1:(\d+)/))![1]);
  const sock = connect(port, "127.0.0.1");
  let echoed = 0;
  sock.on("data", (c: Buffer) => (echoed += c.length));
  sock.on("error", () => {});
  const sockClosed = new Promise<void>((r) => sock.once("close", () => r()));
  const pump = setInterval(() => sock.writable && sock.write("x".repeat(1024)), 50);
  sock.once("close", () => clearInterval(pump));
  await eventually("bytes echoed through port-forward", () => echoed > 4096, { timeoutMs: 10_000, intervalMs: 50 });
  live[3]!.sock = sock;
  live[3]!.sockClosed = sockClosed;
  return live;
}

test("kill -9 of the agent: exec, get -w, logs -f and port-forward end with a clear error within 3 s; 503 while away; all works within 5 s of its return", { timeout: 120_000 }, async () => {
  const live = [...(await openStreams("newest")), ...(await openStreams("spdy"))];
  try {
    const killed = Date.now();
    w.agent.child.kill("SIGKILL");
    const ends = await Promise.all(live.map(async (l) => {
      const r = await Promise.race([l.k.exited, new Promise<"open">((res) => setTimeout(() => res("open"), 10_000))]);
      return { name: l.name, ms: Date.now() - killed, r, stderr: l.k.stderr(), stdout: l.k.stdout().slice(-300) };
    }));
    for (const e of ends) console.log(JSON.stringify(e));
  } finally {
    for (const l of live) {
      l.sock?.destroy();
      await l.k.stop();
    }
  }
});
