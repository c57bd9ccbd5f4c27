/**
 * The proxy path assembled in-process from its real parts: an HTTP server carrying the embedded
 * NATS endpoint at /nats and the proxy at /api/v1/clusters/{id}/k8s, a tunnel gateway on the
 * in-process bus, and a tunnel agent over WebSocket forwarding to a real kube-apiserver with
 * impersonation. Authorization is a table of test tokens (the access model is tested on its own).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer, request, type Server } from "node:https";
import { tmpdir } from "node:os";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { subjects } from "../../internal/bus/index.ts";
import { silentLogger } from "../../internal/log/index.ts";
import { attachNatsWebSocket, connectBus, NatsServer, type BusConnection } from "../../internal/nats/index.ts";
import { createUpstreamHandler, KubeProxy, parseProxyPath, ProxyError, type Identity, type ProxyDeps } from "../../internal/proxy/index.ts";
import { TunnelAgent, TunnelGateway } from "../../internal/tunnel/index.ts";
import type { KubeEnv } from "../helpers/kube-env.ts";

export const CLUSTER = "kind-test";

export interface ProxyEnv {
  url: string;
  proxy: KubeProxy;
  tunnel: TunnelGateway;
  /** Open upstream streams at the agent. */
  agentActive(): number;
  /** Writes a kubeconfig for kubectl through the proxy with `token`. */
  kubeconfig(dir: string, token: string, namespace?: string): string;
  startAgent(): Promise<void>;
  stopAgent(): Promise<void>;
  tokens: Map<string, Identity>;
  /** An HTTPS request to the gateway (trusting its test certificate). */
  fetch(path: string, headers: Record<string, string>): Promise<{ status: number; json(): Promise<unknown> }>;
  stop(): Promise<void>;
}

/** The proxy's optional parts (the audit's exchange records and body capture). */
export type ProxyEnvOptions = Pick<ProxyDeps, "onExchange" | "captureBodyBytes">;

export async function startProxyEnv(kube: KubeEnv, opts: ProxyEnvOptions = {}): Promise<ProxyEnv> {
  const tokens = new Map<string, Identity>();
  const nats = new NatsServer({
    authenticator: async (o) => (o.user === `agent-${CLUSTER}` && o.pass === "join-secret" ? { identity: o.user, permissions: subjects.agentPermissions(CLUSTER) } : null),
  });
  const tunnel = await TunnelGateway.start(nats.connectInProcess({ identity: "gateway" }), { logger: silentLogger });
  const proxy = new KubeProxy({
    ...opts,
    tunnel,
    logger: silentLogger,
    authorize: async ({ token }) => {
      if (!token) throw new ProxyError(401, "Unauthorized: no token");
      const id = tokens.get(token);
      if (!id) throw new ProxyError(401, "Unauthorized: the token is not valid");
      return id;
    },
  });
  // kubectl sends bearer tokens only over HTTPS: a throwaway serving certificate for 127.0.0.1.
  const certDir = mkdtempSync(join(tmpdir(), "ward-proxy-cert-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
    "-subj", "/CN=ward-test", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    "-keyout", join(certDir, "key.pem"), "-out", join(certDir, "cert.pem")], { stdio: "ignore" });
  const cert = readFileSync(join(certDir, "cert.pem"));
  const server: Server = createServer({ cert, key: readFileSync(join(certDir, "key.pem")) }, (req, res) => {
    try {
      const target = parseProxyPath(req.url ?? "/");
      if (!target) return void res.writeHead(404).end();
      proxy.handleRequest(req, res, target);
    } catch (e) {
      const pe = e as ProxyError;
      res.writeHead(pe.status ?? 500, { "content-type": "application/json" }).end(JSON.stringify({ kind: "Status", code: pe.status, message: pe.message }));
    }
  });
  // Agents dial the NATS endpoint on a plain loopback listener here (TLS is the proxy's concern in this test).
  const natsHttp = createHttpServer((_req, res) => res.writeHead(404).end());
  attachNatsWebSocket(natsHttp, nats, { path: "/nats" });
  await new Promise<void>((r) => natsHttp.listen(0, "127.0.0.1", () => r()));
  const natsUrl = `ws://127.0.0.1:${(natsHttp.address() as AddressInfo).port}/nats`;
  server.on("upgrade", (req, socket, head) => {
    try {
      const target = parseProxyPath(req.url ?? "/");
      if (!target) return void socket.destroy();
      proxy.handleUpgrade(req, socket, head, target);
    } catch {
      socket.destroy();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let active = 0;
  let agent: TunnelAgent | null = null;
  let agentBus: BusConnection | null = null;
  const upstream = createUpstreamHandler({
    server: kube.apiServer,
    ca: readFileSync(kube.caFile),
    token: kube.adminToken,
    logger: silentLogger,
    onActive: (d) => (active += d),
  });
  const env: ProxyEnv = {
    url,
    proxy,
    tunnel,
    tokens,
    agentActive: () => active,
    fetch: (path, headers) =>
      new Promise((resolve, reject) => {
        // Options, not a URL string: WHATWG URL parsing would normalise encoded dot segments away.
        const req = request({ host: "127.0.0.1", port: (server.address() as AddressInfo).port, path, ca: cert, headers, servername: "localhost" }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, json: async () => JSON.parse(Buffer.concat(chunks).toString()) }));
        });
        req.on("error", reject);
        req.end();
      }),
    kubeconfig(dir, token, namespace) {
      const path = join(dir, `kubeconfig-${token}`);
      writeFileSync(path, JSON.stringify({
        apiVersion: "v1", kind: "Config", "current-context": "ward",
        clusters: [{ name: "ward", cluster: { server: `${url}/api/v1/clusters/${CLUSTER}/k8s`, "certificate-authority-data": cert.toString("base64") } }],
        users: [{ name: "ward", user: { token } }],
        contexts: [{ name: "ward", context: { cluster: "ward", user: "ward", ...(namespace ? { namespace } : {}) } }],
      }));
      return path;
    },
    async startAgent() {
      agentBus = await connectBus(natsUrl, { user: `agent-${CLUSTER}`, pass: "join-secret", maxReconnectAttempts: 0 });
      agent = new TunnelAgent(agentBus, { cluster: CLUSTER, logger: silentLogger });
      await agent.serve(upstream);
      if (!(await tunnel.whenOnline(CLUSTER, 5000))) throw new Error("The agent did not come online");
    },
    async stopAgent() {
      await agent?.close();
      await agentBus?.close();
      agent = null;
      agentBus = null;
    },
    async stop() {
      await env.stopAgent();
      await tunnel.close();
      await nats.close();
      server.closeAllConnections();
      natsHttp.closeAllConnections();
      natsHttp.close();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(certDir, { recursive: true, force: true });
    },
  };
  await env.startAgent();
  return env;
}
