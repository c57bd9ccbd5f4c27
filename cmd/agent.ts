import { readFileSync } from "node:fs";
// The Kubernetes client's modules that define these, not its index: the index brings exec, attach,
// cp, port-forward, watch, log and informer code the agent never runs (WebSocket and tar libraries
// included) into the bundle, whose source stays in the heap (scripts/bundle_options.ts).
import { KubeConfig } from "@kubernetes/client-node/dist/config.js";
import { createConfiguration } from "@kubernetes/client-node/dist/gen/configuration.js";
import type { RequestContext } from "@kubernetes/client-node/dist/gen/http/http.js";
import type { SecurityAuthentication } from "@kubernetes/client-node/dist/gen/auth/auth.js";
import { ServerConfiguration } from "@kubernetes/client-node/dist/gen/servers.js";
import { ObjectRbacAuthorizationV1Api as RbacAuthorizationV1Api } from "@kubernetes/client-node/dist/gen/types/ObjectParamAPI.js";
import { Pool } from "undici";
import type { Invocation } from "../internal/cli/command.ts";
import { UsageError } from "../internal/cli/command.ts";
import { parseListen } from "../internal/config/index.ts";
import { loadSettings, makeLogger, printSettings, untilSignal } from "./settings.ts";
import { agentSpec as spec, idleTimeouts } from "./specs.ts";



export async function runAgent(inv: Invocation): Promise<number> {
  const cfg = await loadSettings(inv, spec);
  if (inv.flags["print-config"]) return printSettings(inv, spec, "ward agent");
  if (!cfg.gateway) throw new UsageError("Missing --gateway URL (or WARD_GATEWAY)", inv.path);
  if (!cfg.cluster) throw new UsageError("Missing --cluster ID (or WARD_CLUSTER)", inv.path);
  let credential = cfg.token;
  if (!credential && cfg.tokenFile) {
    try {
      credential = readFileSync(cfg.tokenFile, "utf8").trim();
    } catch (e) {
      throw new UsageError(`Cannot read --token-file ${cfg.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, inv.path);
    }
  }
  if (!credential) throw new UsageError("Missing the join credential: pass --token, WARD_AGENT_TOKEN or --token-file", inv.path);
  if (cfg.resync < 100 || cfg.helloInterval < 100) throw new UsageError("--resync and --hello-interval must be at least 100ms", inv.path);
  const log = makeLogger(inv, "agent");

  const kc = new KubeConfig();
  try {
    if (cfg.kubeconfig) kc.loadFromFile(cfg.kubeconfig);
    else kc.loadFromCluster();
  } catch (e) {
    throw new UsageError(`Cannot load Kubernetes credentials${cfg.kubeconfig ? ` from ${cfg.kubeconfig}` : " (in-cluster)"}: ${(e as Error).message}`, inv.path);
  }
  const { Agent, StreamStats } = await import("../internal/agent/index.ts");
  type RbacApi = import("../internal/agent/index.ts").RbacApi;
  const streams = new StreamStats();
  let agent: InstanceType<typeof Agent>;
  try {
    agent = new Agent({
      gateway: cfg.gateway,
      cluster: cfg.cluster,
      credential,
      rbac: rbacClient(kc, cfg.resync) as unknown as RbacApi,
      userPrefix: cfg.userPrefix,
      agentNamespace: ownNamespace(),
      resyncMs: cfg.resync,
      helloMs: cfg.helloInterval,
      logger: log,
      ...(cfg.gatewayCa || cfg.insecure ? { gatewayTls: { ca: cfg.gatewayCa ? readGatewayCa(cfg.gatewayCa, inv) : undefined, insecureSkipVerify: cfg.insecure } } : {}),
      serveStreams: await streamServer(kc, { cluster: cfg.cluster, userPrefix: cfg.userPrefix, idleTimeoutMs: idleTimeouts(cfg), maxStreams: cfg.maxStreams }, log, streams.onActive),
    });
  } catch (e) {
    throw new UsageError((e as Error).message, inv.path);
  }
  const a = agent;
  let metrics: import("../internal/metrics/index.ts").MetricsServer | undefined;
  if (cfg.metricsListen) {
    // prom-client loads only when metrics are asked for.
    const { agentRegistry, startMetricsServer } = await import("../internal/metrics/index.ts");
    const registry = agentRegistry({ connected: () => a.connected, openStreams: () => streams.open, streamsTotal: () => streams.total });
    metrics = await startMetricsServer({
      ...parseListen(cfg.metricsListen)!, registry, ready: () => a.connected, notReadyReason: "not connected to the gateway", logger: log,
    });
    log.info("metrics listening", { url: metrics.url, paths: ["/metrics", "/healthz", "/readyz"] });
  }
  const running = agent.run();
  await Promise.race([untilSignal(log), running]);
  await agent.stop();
  await running;
  await metrics?.close();
  log.info("agent stopped");
  return 0;
}

/**
 * The namespace this agent runs in: `POD_NAMESPACE` (the downward API's convention), else its
 * service account's (mounted in every pod that uses the in-cluster credentials); undefined outside
 * a cluster. Grants above view there are refused (see refusedInAgentNamespace).
 */
function ownNamespace(): string | undefined {
  const env = process.env["POD_NAMESPACE"]?.trim();
  if (env) return env;
  try {
    return readFileSync("/var/run/secrets/kubernetes.io/serviceaccount/namespace", "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * client-node's RBAC API over one keep-alive connection pool. `kc.makeApiClient` gives every call a
 * new undici Agent (client-node 2.0), so each resync (every 30 s) opened two TLS connections and
 * HTTP/2 sessions to the API server and parsed the CA again: a third of an idle agent's allocations
 * and steady churn for the API server. Credentials still come from the kubeconfig on every call
 * (token files and exec plugins refresh as before); the TLS settings are read once, as the proxy
 * path's are. The connection is kept from one resync to the next (undici's default drops it after 4 s),
 * for a minute at most: a longer resync opens one connection per resync, not one per call.
 */
function rbacClient(kc: KubeConfig, resyncMs: number): RbacAuthorizationV1Api {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("The Kubernetes credentials name no cluster");
  const tls = upstreamTls(kc);
  const keepAliveMs = Math.min(resyncMs + 10_000, 60_000);
  const pool = new Pool(new URL(cluster.server).origin, {
    connections: 2,
    keepAliveTimeout: keepAliveMs,
    keepAliveMaxTimeout: keepAliveMs,
    connect: { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !cluster.skipTLSVerify, ...(cluster.tlsServerName ? { servername: cluster.tlsServerName } : {}) },
  });
  const auth: SecurityAuthentication = {
    getName: () => "ward agent kubeconfig",
    async applySecurityAuthentication(ctx: RequestContext) {
      const opts: import("node:https").RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) ctx.setHeaderParam(k, String(v));
      if (opts.auth) ctx.setHeaderParam("Authorization", `Basic ${Buffer.from(opts.auth).toString("base64")}`);
      ctx.setHeaderParam("User-Agent", "ward-agent");
      ctx.setDispatcher(pool);
    },
  };
  return new RbacAuthorizationV1Api(createConfiguration({ baseServer: new ServerConfiguration(cluster.server, {}), authMethods: { default: auth } }));
}

/** The API server's CA and the client certificate, from the kubeconfig (inline data or files). */
function upstreamTls(kc: KubeConfig): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const server = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  const file = (data?: string, path?: string) => (data ? Buffer.from(data, "base64") : path ? readFileSync(path) : undefined);
  return { ca: file(server?.caData, server?.caFile), cert: file(user?.certData, user?.certFile), key: file(user?.keyData, user?.keyFile) };
}

/** The kubectl proxy path at the agent: tunnel streams forwarded to the API server with impersonation. */
async function streamServer(
  kc: KubeConfig,
  { cluster, userPrefix, idleTimeoutMs, maxStreams }: { cluster: string; userPrefix: string; idleTimeoutMs: Record<import("../internal/tunnel/index.ts").StreamKind, number>; maxStreams: number },
  log: import("../internal/log/index.ts").Logger,
  onActive: (delta: 1 | -1) => void,
): Promise<(nc: import("../internal/nats/index.ts").BusConnection, instanceId: string) => Promise<() => Promise<void>>> {
  const { createUpstreamHandler } = await import("../internal/proxy/index.ts");
  const { TunnelAgent } = await import("../internal/tunnel/index.ts");
  const server = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!server) throw new Error("The Kubernetes credentials name no cluster");
  const tls = upstreamTls(kc);
  const tokenFile = user?.authProvider?.config?.tokenFile as string | undefined;
  const handler = createUpstreamHandler({
    server: server.server,
    ...tls,
    // In-cluster service-account tokens rotate: read the file on each request.
    token: user?.token ? user.token : tokenFile ? () => readFileSync(tokenFile, "utf8").trim() : undefined,
    insecureSkipTLSVerify: server.skipTLSVerify,
    userPrefix,
    logger: log.child({ area: "proxy" }),
    onActive,
  });
  return async (nc, instanceId) => {
    const agent = new TunnelAgent(nc, { cluster, instanceId, idleTimeoutMs, maxStreamsPerGateway: maxStreams, logger: log.child({ area: "tunnel" }) });
    await agent.serve(handler);
    return () => agent.close();
  };
}

function readGatewayCa(path: string, inv: Invocation): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`Cannot read --gateway-ca ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, inv.path);
  }
}
