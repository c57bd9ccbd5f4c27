/**
 * HTTP/2 between clients and the gateway, end to end with the built executable against the real
 * kube-env: kubectl (client-go) chooses HTTP/2 by ALPN for its requests; exec with both kubectls
 * (WebSocket and SPDY, whose dialers offer only http/1.1) is relayed over HTTP/1.1; the gateway's
 * per-exchange debug line names the protocol each exchange used.
 */
import assert from "node:assert/strict";
import { connect as h2connect } from "node:http2";
import { test } from "node:test";
import { eventually } from "../helpers/eventually.ts";
import type { KubeEnv } from "../helpers/kube-env.ts";
import { kubectl, kubectlOk, type KubectlTarget } from "../helpers/kubectl.ts";
import { rawSocket } from "../helpers/raw_ws.ts";
import { useWard, type Ward } from "../helpers/ward.ts";

const CLUSTER = "h2";
let kube: KubeEnv;
let w: Ward;
let token: string;
let kubeconfig: string;

useWard({ ward: { cluster: CLUSTER, gatewayArgs: ["--log-level", "debug"] } }, async ({ kube: k, w: ward, dev }) => {
  [kube, w, kubeconfig] = [k, ward, dev.kubeconfig];
  const minted = await w.api(dev.token, "POST", `/api/v1/clusters/${CLUSTER}/k8s-token`, {});
  assert.equal(minted.status, 200, JSON.stringify(minted.json));
  token = minted.json.token;
});

interface Exchange { requestId: string; protocol: string; status: number; path: string; kind?: string }

/** The gateway's "proxied request" debug lines so far. */
function exchanges(): Exchange[] {
  return w.gateway.output().split("\n").filter((l) => l.includes('"proxied request"')).map((l) => JSON.parse(l) as Exchange);
}

async function exchangeOf(requestId: string): Promise<Exchange> {
  await eventually(`the exchange line of ${requestId}`, () => exchanges().some((e) => e.requestId === requestId), { timeoutMs: 10_000, intervalMs: 50 });
  return exchanges().find((e) => e.requestId === requestId)!;
}

const base = `/api/v1/clusters/${CLUSTER}/k8s`;

test("a plain request negotiates h2 and is answered over HTTP/2; an upgrade negotiates http/1.1 and its 101 is relayed", async () => {
  const session = h2connect(w.url, { ca: w.ca, servername: "localhost" });
  try {
    const head = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = session.request({ ":path": `${base}/api/v1/namespaces/${kube.namespace}/pods`, authorization: `Bearer ${token}`, "x-request-id": "h2-plain" });
      req.on("response", resolve);
      req.on("error", reject);
      req.resume();
    });
    assert.equal(session.alpnProtocol, "h2");
    assert.equal(head[":status"], 200);
    assert.equal(head["x-request-id"], "h2-plain");
  } finally {
    session.close();
  }
  assert.equal((await exchangeOf("h2-plain")).protocol, "HTTP/2");

  // As Go's WebSocket dialer: http/1.1 is all it offers.
  const s = await rawSocket({ port: Number(new URL(w.url).port), ca: w.ca, alpn: ["http/1.1"] });
  try {
    assert.equal((s.socket as import("node:tls").TLSSocket).alpnProtocol, "http/1.1");
    s.write([
      `GET ${base}/api/v1/namespaces/${kube.namespace}/pods/${kube.pod}/exec?command=true&stdout=true HTTP/1.1`, "Host: localhost",
      `Authorization: Bearer ${token}`, "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol: v5.channel.k8s.io", "X-Request-Id: h1-upgrade", "", "",
    ].join("\r\n"));
    await s.waitFor(/^HTTP\/1\.1 101 Switching Protocols\r\n/, 10_000);
  } finally {
    s.socket.destroy();
  }
  const up = await exchangeOf("h1-upgrade");
  assert.deepEqual([up.protocol, up.status, up.kind], ["HTTP/1.1", 101, "exec"]);
});

for (const which of ["newest", "spdy"] as const) {
  test(`kubectl (${which}) gets over HTTP/2 and execs over HTTP/1.1`, async () => {
    const target: KubectlTarget = { kubectl: kube.kubectl[which], kubeconfig };
    const before = exchanges().length;
    const got = await kubectl(target, ["get", "pods", "-n", kube.namespace, "-o", "name"], { env: { GODEBUG: "http2debug=1" } });
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, new RegExp(`pod/${kube.pod}`));
    assert.match(got.stderr, /http2: Transport creating client conn/, "client-go chose HTTP/2");
    assert.match(got.stderr, /http2: Transport received HEADERS flags=END_HEADERS stream=\d+/);
    const out = await kubectlOk(target, ["exec", kube.pod, "-n", kube.namespace, "--", "echo", `hello-${which}`]);
    assert.equal(out.trim(), `hello-${which}`);
    await eventually("the exec's exchange line", () => exchanges().slice(before).some((e) => e.kind === "exec"), { timeoutMs: 10_000, intervalMs: 50 });
    const seen = exchanges().slice(before);
    assert.ok(seen.filter((e) => e.kind === "request").every((e) => e.protocol === "HTTP/2"), JSON.stringify(seen));
    assert.deepEqual(seen.filter((e) => e.kind === "exec").map((e) => [e.protocol, e.status]), [["HTTP/1.1", 101]]);
  });
}
