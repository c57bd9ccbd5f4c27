/**
 * Fault injection with kill -9, on one kube-env and one Ward: the agent, then the gateway, dies
 * while both kubectls (newest: WebSocket; 1.20: SPDY) hold an interactive exec (stdin open), a
 * `get -w`, a `logs -f` and a port-forward moving bytes. Proven: every stream ends within 3 s with
 * no hang and no stack trace — where the protocol allows, with Ward's own words on why (a watch's
 * final ERROR Status, an exec's error channel); new requests get the offline `Status` (503) at once;
 * everything (get, exec, port-forward) works again within 5 s of the agent's return, or of the
 * restarted gateway (same data dir and port) being ready, with tokens issued before, the agent
 * reconnecting by itself even after its backoff grew.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { test } from "node:test";
import { eventually } from "../helpers/eventually.ts";
import type { KubeEnv } from "../helpers/kube-env.ts";
import { kubectl, kubectlStream, type KubectlStream, type KubectlTarget } from "../helpers/kubectl.ts";
import { useWard, type Ward, type WardMember } from "../helpers/ward.ts";

const CLUSTER = "fault";
let kube: KubeEnv;
let w: Ward;
let dev: WardMember;

useWard({ ward: { cluster: CLUSTER } }, (s) => ({ kube, w, dev } = s));

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

interface Ended {
  name: string;
  ms: number;
  code: number | null;
  out: string;
}

/** Waits for every stream to end (10 s at most), timed from `t0`; a port-forward's TCP connection must close too. */
async function ends(live: Live[], t0: number): Promise<Ended[]> {
  return Promise.all(live.map(async (l) => {
    const r = await Promise.race([l.k.exited, new Promise<"open">((res) => setTimeout(() => res("open"), 10_000))]);
    const ms = Date.now() - t0;
    if (l.sockClosed) await Promise.race([l.sockClosed, new Promise((_, rej) => setTimeout(() => rej(new Error(`${l.name}: its TCP connection stayed open`)), 5000))]);
    return { name: l.name, ms: r === "open" ? Infinity : ms, code: r === "open" ? null : r.code, out: `${l.k.stderr()}\n${l.k.stdout().slice(-400)}` };
  }));
}

function assertEnded(e: Ended, expect: { fails: boolean; says: RegExp }): void {
  const what = `${e.name} after ${e.ms} ms, exit ${e.code}: ${e.out}`;
  assert.ok(e.ms <= 3000, `${e.name} did not end within 3 s: ${what}`);
  if (expect.fails) assert.notEqual(e.code, 0, what);
  assert.match(e.out, expect.says, what);
  assert.doesNotMatch(e.out, /panic|goroutine \d+ \[|Unhandled Error/, `no stack trace or internal noise: ${what}`);
}

/** exec (stdin open), port-forward (moving bytes), get and a fresh watch all work; resolves with how long that took. */
async function worksAgain(which: Which, limitMs: number, from: number): Promise<number> {
  const t = target(which);
  const ns = ["-n", kube.namespace];
  const opts = { timeoutMs: Math.max(1000, limitMs - (Date.now() - from)), intervalMs: 100 };
  await eventually(`kubectl get (${which}) to work again`, async () => (await kubectl(t, ["get", "pods", ...ns], { timeoutMs: 5000 })).code === 0, opts);
  await eventually(`kubectl exec (${which}) to work again`, async () => {
    const r = await kubectl(t, ["exec", "-i", kube.pod, "-c", kube.container, ...ns, "--", "cat"], { input: "back\n", timeoutMs: 5000 });
    return r.code === 0 && r.stdout === "back\n";
  }, opts);
  const pf = kubectlStream(t, ["port-forward", `pod/${kube.pod}`, `:${kube.podPort}`, "--address=127.0.0.1", ...ns]);
  try {
    const port = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(await pf.waitFor(/Forwarding from 127\.0\.0\.1:(\d+)/, 5000))![1]);
    await eventually(`port-forward (${which}) to carry bytes again`, () => echo(port, "again\n").then((b) => b === "again\n", () => false), opts);
  } finally {
    await pf.stop();
  }
  return Date.now() - from;
}

function echo(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    let got = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error("no echo within 3 s"));
    }, 3000);
    sock.on("data", (c: Buffer) => {
      got += c.toString();
      if (got.length >= text.length) {
        clearTimeout(timer);
        sock.end();
        resolve(got);
      }
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.write(text);
  });
}

/**
 * What each kubectl prints when the agent's death cuts its stream. Ward says why where the stream's
 * protocol lets it: a JSON watch ends with an ERROR event (kubectl prints its Status), an exec over
 * WebSocket gets a Status on its error channel. Elsewhere kubectl words the cut itself.
 */
const WHY = /Ward ended this stream to cluster fault: Agent \S+ of cluster fault went offline/;
const CUT: Record<string, { fails: boolean; says: RegExp }> = {
  "exec (newest)": { fails: true, says: new RegExp(`^error: ${WHY.source}`, "m") },
  "get -w (newest)": { fails: false, says: new RegExp(`Failure +ServiceUnavailable +${WHY.source}`) },
  "logs -f (newest)": { fails: true, says: /error: stream error: .*INTERNAL_ERROR/ },
  "port-forward (newest)": { fails: true, says: /error: lost connection to pod/ },
  // kubectl 1.20 over SPDY ends an exec whose connection dropped as if it had succeeded (exit 0, silent).
  "exec (spdy)": { fails: false, says: /ping/ },
  "get -w (spdy)": { fails: false, says: new RegExp(`Failure +ServiceUnavailable +${WHY.source}`) },
  "logs -f (spdy)": { fails: true, says: /error: stream error: .*INTERNAL_ERROR/ },
  // …and a port-forward too, after logging the loss.
  "port-forward (spdy)": { fails: false, says: /lost connection to pod/ },
};

test("kill -9 of the agent: exec, get -w, logs -f and port-forward end within 3 s; new requests get the offline Status; all works within 5 s of its return", { timeout: 120_000 }, async () => {
  const live = [...(await openStreams("newest")), ...(await openStreams("spdy"))];
  const old = w.agent;
  try {
    const killed = Date.now();
    old.child.kill("SIGKILL");
    const ended = await ends(live, killed);
    for (const e of ended) console.log(`# ${e.name}: ended after ${e.ms} ms`);
    for (const e of ended) assertEnded(e, CUT[e.name]!);
  } finally {
    for (const l of live) {
      l.sock?.destroy();
      await l.k.stop();
    }
  }
  // New requests: the offline Status at once, on the wire and as kubectl prints it.
  const tok = await w.api(dev.token, "POST", `/api/v1/clusters/${CLUSTER}/k8s-token`, {});
  assert.equal(tok.status, 200, JSON.stringify(tok.json));
  const pods = () => w.api(tok.json.token, "GET", `/api/v1/clusters/${CLUSTER}/k8s/api/v1/namespaces/${kube.namespace}/pods`);
  await pods(); // the new token's first use (its signature check)
  const t0 = Date.now();
  const r = await pods();
  assert.ok(Date.now() - t0 < 2000, `the 503 took ${Date.now() - t0} ms`);
  assert.equal(r.status, 503, JSON.stringify(r.json));
  assert.equal(r.json.kind, "Status");
  assert.equal(r.json.code, 503);
  assert.match(r.json.message, new RegExp(`Cluster ${CLUSTER} is offline: its Ward agent is not connected`));
  for (const which of ["newest", "spdy"] as const) {
    for (const args of [["get", "pods", "-n", kube.namespace], ["exec", kube.pod, "-c", kube.container, "-n", kube.namespace, "--", "true"]]) {
      const k = await kubectl(target(which), args);
      assert.notEqual(k.code, 0, `${which} ${args[0]}: ${k.stdout}`);
      assert.match(k.stderr, new RegExp(`Cluster ${CLUSTER} is offline: its Ward agent is not connected`), `${which} ${args[0]}`);
    }
  }

  // Back: everything works within 5 s of the agent's return (its process start).
  const back = Date.now();
  await w.startAgent();
  const ms = await worksAgain("newest", 5000, back);
  console.log(`# after the agent's restart, kubectl worked again within ${ms} ms`);
  assert.ok(ms <= 5000, `kubectl worked again only ${ms} ms after the agent was restarted`);
  await worksAgain("spdy", 10_000, Date.now());
});

test("kill -9 of the gateway: live streams end within 3 s; restarted on its data dir and port, kubectl works within 5 s of it being ready, with tokens issued before, and the agent back by itself", { timeout: 120_000 }, async () => {
  if (w.agent.child.exitCode !== null || w.agent.child.signalCode !== null) await w.startAgent(); // the test before failed early
  const live = [...(await openStreams("newest")), ...(await openStreams("spdy"))];
  const agentPid = w.agent.child.pid;
  try {
    const killed = Date.now();
    w.gateway.child.kill("SIGKILL");
    const ended = await ends(live, killed);
    for (const e of ended) console.log(`# ${e.name}: ended after ${e.ms} ms`);
    for (const e of ended) {
      assert.ok(e.ms <= 3000, `${e.name} did not end within 3 s: ${e.out}`);
      assert.doesNotMatch(e.out, /panic|goroutine \d+ \[/, `${e.name}: no stack trace`);
    }
  } finally {
    for (const l of live) {
      l.sock?.destroy();
      await l.k.stop();
    }
  }
  await w.gateway.stop();
  // While it is away, kubectl says it cannot reach the server (its own words).
  const away = await kubectl(target("newest"), ["get", "pods", "-n", kube.namespace]);
  assert.notEqual(away.code, 0);
  assert.match(away.stderr, /connection to the server .* was refused/, away.stderr);
  // Away long enough for the agent's reconnect backoff to grow (four refused tries): its pauses stay short.
  const tries = () => (w.agent.output().match(/cannot connect to the gateway; retrying/g) ?? []).length;
  const tried = tries();
  await eventually("the agent's fourth refused reconnect", () => tries() >= tried + 4, { timeoutMs: 30_000, intervalMs: 100 });

  await w.restartGateway();
  const ready = Date.now();
  // The kubeconfig minted before the crash: its token still works (keys and records are in the store).
  const ms = await worksAgain("newest", 5000, ready);
  console.log(`# after the gateway's restart, kubectl worked again within ${ms} ms of it being ready`);
  assert.ok(ms <= 5000, `kubectl worked again only ${ms} ms after the gateway was ready`);
  await worksAgain("spdy", 10_000, Date.now());
  assert.equal(w.agent.child.pid, agentPid, "the same agent process reconnected by itself");
  assert.equal(w.agent.child.exitCode, null);
});
