import { readFileSync } from "node:fs";
// Named imports, so the bundler keeps only these of the Kubernetes client (and what they use).
import { KubeConfig, RbacAuthorizationV1Api } from "@kubernetes/client-node";
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
      rbac: kc.makeApiClient(RbacAuthorizationV1Api) as unknown as RbacApi,
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

/** The kubectl proxy path at the agent: tunnel streams forwarded to the API server with impersonation. */
async function streamServer(
  kc: KubeConfig,
  { cluster, userPrefix, idleTimeoutMs, maxStreams }: { cluster: string; userPrefix: string; idleTimeoutMs: Record<import("../internal/tunnel/index.ts").StreamKind, number>; maxStreams: number },
  log: import("../internal/log/index.ts").Logger,
  onActive: (delta: 1 | -1) => void,
): Promise<(nc: import("../internal/nats/index.ts").BusConnection, instanceId: string) => Promise<() => Promise<void>>> {
  const { createUpstreamHandler } = await import("../internal/proxy/index.ts");
  const { TunnelAgent } = await import("../internal/tunnel/index.ts");
  const { readFileSync } = await import("node:fs");
  const server = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!server) throw new Error("The Kubernetes credentials name no cluster");
  const file = (data?: string, path?: string) => (data ? Buffer.from(data, "base64") : path ? readFileSync(path) : undefined);
  const tokenFile = user?.authProvider?.config?.tokenFile as string | undefined;
  const handler = createUpstreamHandler({
    server: server.server,
    ca: file(server.caData, server.caFile),
    cert: file(user?.certData, user?.certFile),
    key: file(user?.keyData, user?.keyFile),
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
