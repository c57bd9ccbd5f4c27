/**
 * The kubectl baseline: everything a user does with kubectl, run as subtests against whatever the
 * kubeconfig points at. test/e2e/kube-baseline.test.ts runs it straight against the API server;
 * later suites run the same function through Ward by passing Ward's kubeconfig.
 *
 * The workload it expects is the one `scripts/kube-env up` creates: a node, and a pod whose exec
 * runs local commands in a work dir of its own, whose logs and attach follow a file the caller can
 * append to (`appendLog`), and whose port-forward reaches a TCP echo server.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { type KubectlTarget, kubectl, kubectlOk, kubectlStream } from "./kubectl.ts";

export interface BaselineOptions extends KubectlTarget {
  namespace: string;
  node: string;
  pod: string;
  container: string;
  /** A port of the pod that port-forward reaches the echo server through. */
  podPort: number;
  /** Appends lines to the pod's log file (seen by `logs -f` and `attach`). */
  appendLog(text: string): void;
}

export async function runKubectlBaseline(t: TestContext, o: BaselineOptions): Promise<void> {
  const ns = ["-n", o.namespace];
  const podRef = [o.pod, "-c", o.container];
  const id = randomBytes(4).toString("hex");
  const local = mkdtempSync(join(tmpdir(), "ward-baseline-"));
  t.after(() => rmSync(local, { recursive: true, force: true }));

  await t.test("get nodes", async () => {
    const out = await kubectlOk(o, ["get", "nodes"]);
    assert.match(out, new RegExp(`^${o.node}\\s+Ready\\b`, "m"));
  });

  await t.test("configmap: create, get, patch, delete", async () => {
    const name = `baseline-${id}`;
    await kubectlOk(o, ["create", "configmap", name, "--from-literal=greeting=hello", ...ns]);
    const got = JSON.parse(await kubectlOk(o, ["get", "configmap", name, "-o", "json", ...ns])) as { data: Record<string, string> };
    assert.deepEqual(got.data, { greeting: "hello" });
    await kubectlOk(o, ["patch", "configmap", name, "--type=merge", "-p", '{"data":{"greeting":"patched"}}', ...ns]);
    const patched = await kubectlOk(o, ["get", "configmap", name, "-o", "jsonpath={.data.greeting}", ...ns]);
    assert.equal(patched, "patched");
    await kubectlOk(o, ["delete", "configmap", name, ...ns]);
    const gone = await kubectl(o, ["get", "configmap", name, ...ns]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /NotFound|not found/);
  });

  await t.test("get -w sees an update", async (t) => {
    const name = `watched-${id}`;
    await kubectlOk(o, ["create", "configmap", name, "--from-literal=step=before", ...ns]);
    t.after(() => kubectl(o, ["delete", "configmap", name, "--ignore-not-found", ...ns]));
    const watch = kubectlStream(o, ["get", "configmap", name, "-w", "-o", "json", ...ns]);
    t.after(() => watch.stop());
    await watch.waitFor(/"step": "before"/);
    await kubectlOk(o, ["patch", "configmap", name, "--type=merge", "-p", '{"data":{"step":"after"}}', ...ns]);
    await watch.waitFor(/"step": "after"/);
  });

  await t.test("logs -f follows appended lines", async (t) => {
    const logs = kubectlStream(o, ["logs", "-f", ...podRef, ...ns]);
    t.after(() => logs.stop());
    await logs.waitFor("toolbox started");
    await appendUntilSeen(o, logs, `logs-follow-${id}`);
  });

  await t.test("exec returns command output", async () => {
    const out = await kubectlOk(o, ["exec", ...podRef, ...ns, "--", "echo", `hello-${id}`]);
    assert.equal(out, `hello-${id}\n`);
    const both = await kubectl(o, ["exec", ...podRef, ...ns, "--", "sh", "-c", "echo to-stdout; echo to-stderr >&2"]);
    assert.equal(both.code, 0, both.stderr);
    assert.equal(both.stdout, "to-stdout\n");
    assert.match(both.stderr, /to-stderr/);
  });

  await t.test("exec without -i gives the command no stdin", async () => {
    const out = await kubectlOk(o, ["exec", ...podRef, ...ns, "--", "sh", "-c", "cat; echo done"], { input: "not-forwarded\n" });
    assert.equal(out, "done\n");
  });

  await t.test("exec -i streams stdin", async () => {
    const out = await kubectlOk(o, ["exec", "-i", ...podRef, ...ns, "--", "cat"], { input: "line one\nline two\n" });
    assert.equal(out, "line one\nline two\n");
    const big = randomBytes(1 << 20);
    const sum = await kubectlOk(o, ["exec", "-i", ...podRef, ...ns, "--", "sha256sum"], { input: big, timeoutMs: 60_000 });
    assert.equal(sum.split(" ")[0], createHash("sha256").update(big).digest("hex"));
  });

  // kwok reports a failed command as an internal error ("... exit status 3"), not as the exit code
  // a kubelet would send, so kubectl exits 1: assert failure and the command's stderr only.
  await t.test("exec reports a failing command", async () => {
    const r = await kubectl(o, ["exec", ...podRef, ...ns, "--", "sh", "-c", "echo failing >&2; exit 3"]);
    assert.notEqual(r.code, 0, "kubectl exec must fail when the command fails");
    assert.match(r.stderr, /failing/);
  });

  await t.test("attach shows new output", async (t) => {
    const attach = kubectlStream(o, ["attach", ...podRef, ...ns]);
    t.after(() => attach.stop());
    await appendUntilSeen(o, attach, `attach-${id}`);
  });

  await t.test("port-forward carries bytes to the echo server", async (t) => {
    const pf = kubectlStream(o, ["port-forward", `pod/${o.pod}`, `:${o.podPort}`, "--address=127.0.0.1", ...ns]);
    t.after(() => pf.stop());
    const out = await pf.waitFor(/Forwarding from 127\.0\.0\.1:(\d+)/);
    const port = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)![1]);
    assert.equal((await echoRoundTrip(port, Buffer.from(`ping-${id}\n`))).toString(), `ping-${id}\n`);
    const big = randomBytes(512 << 10);
    assert.ok((await echoRoundTrip(port, big)).equals(big), "512 KiB must come back unchanged");
  });

  await t.test("cp copies a file into the pod and back", async () => {
    const content = `copied ${id}\n${randomBytes(64 << 10).toString("base64")}\n`;
    const src = join(local, "upload.txt");
    const back = join(local, "download.txt");
    writeFileSync(src, content);
    const remote = `cp-${id}.txt`;
    await kubectlOk(o, ["cp", src, `${o.namespace}/${o.pod}:${remote}`, "-c", o.container]);
    assert.equal(await kubectlOk(o, ["exec", ...podRef, ...ns, "--", "cat", remote]), content);
    await kubectlOk(o, ["cp", `${o.namespace}/${o.pod}:${remote}`, back, "-c", o.container]);
    assert.equal(readFileSync(back, "utf8"), content);
  });

  await t.test("auth can-i", async () => {
    assert.equal((await kubectlOk(o, ["auth", "can-i", "create", "configmaps", ...ns])).trim(), "yes");
    assert.equal((await kubectlOk(o, ["auth", "can-i", "create", "pods", "--subresource=exec", ...ns])).trim(), "yes");
  });

  await t.test("api-resources", async () => {
    const out = await kubectlOk(o, ["api-resources"]);
    for (const r of ["configmaps", "pods", "nodes", "namespaces", "clusterrolebindings"]) {
      assert.match(out, new RegExp(`^${r}\\s`, "m"), `api-resources lists ${r}`);
    }
  });

  await t.test("explain", async () => {
    const out = await kubectlOk(o, ["explain", "pod.spec.containers"]);
    assert.match(out, /KIND:\s+Pod/);
    assert.match(out, /DESCRIPTION:/);
    assert.match(out, /\bimage\b/);
  });
}

/**
 * Appends a marker to the pod's log every 300 ms until the stream shows it: a follower that
 * started reading a moment later than the first append still passes, a broken one still fails.
 */
async function appendUntilSeen(o: BaselineOptions, stream: ReturnType<typeof kubectlStream>, marker: string): Promise<void> {
  let n = 0;
  const timer = setInterval(() => o.appendLog(`${marker} #${++n}`), 300);
  o.appendLog(`${marker} #${++n}`);
  try {
    await stream.waitFor(marker, 20_000);
  } finally {
    clearInterval(timer);
  }
}

/** Sends `data` through a TCP connection and resolves with the same number of bytes read back. */
function echoRoundTrip(port: number, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`Echo through port-forward: got ${got} of ${data.length} bytes within 20 s`));
    }, 20_000);
    sock.on("data", (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= data.length) {
        clearTimeout(timer);
        sock.end();
        resolve(Buffer.concat(chunks));
      }
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.write(data);
  });
}
