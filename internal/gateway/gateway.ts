/**
 * The gateway process: store, HTTP server, graceful shutdown. It wires the areas (access, NATS
 * endpoint, tunnel, proxy, sign-in, the app's routes); the work sits in the areas.
 */
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { join } from "node:path";
import { getRequestListener } from "@hono/node-server";
import { AccessRelay, AccessService, AccessSync, SigningKeys } from "../access/index.ts";
import { AuditLog, AuditRetention, AuditStore, BODY_CAPTURE_BYTES, DEFAULT_RETENTION_MS, toRow, type AuditEntry, type AuditStats } from "../audit/index.ts";
import { agentInstanceOf } from "../bus/index.ts";
import { isValidClusterId } from "../validate/index.ts";
import { NATS_PATH, createNatsUpgradeHandler, type NatsServer } from "../nats/index.ts";
import { ensurePrivateDir, isStoreFull, isStoreUnavailable, openStore, writePrivateFile, type Store } from "../store/index.ts";
import type { Logger } from "../log/index.ts";
import { edgeListeners, KubeProxy, ProxyError, statusResponseBytes, type ExchangeRecord } from "../proxy/index.ts";
import { TunnelGateway, type StreamKind } from "../tunnel/index.ts";
import type { MetricsServer } from "../metrics/index.ts";
import { Bootstrap, CliSessions, DeviceFlow, OidcLogin, PortalSessions } from "../auth/index.ts";
import { createApp } from "./app.ts";
import { accessAuditSink, exchangeAuditSink } from "./audit_sink.ts";
import { loadTls } from "./tls.ts";
import { tokenCheck } from "./token_check.ts";
import { createListener, type GatewayServer } from "./listener.ts";
import { embeddedNats, joinNatsCluster, type NatsClusterOptions } from "./transport.ts";

export interface GatewayOptions {
  host: string;
  port: number;
  dataDir: string;
  /** Defaults to `sqlite:<dataDir>/ward.db`. */
  storeUrl?: string;
  shutdownTimeoutMs: number;
  logger: Logger;
  /** External URL written into kubeconfigs; defaults to the listen URL. */
  publicUrl?: string;
  /** Email of the admin created at first start. */
  bootstrapAdminEmail?: string;
  /** Serve plain HTTP (behind a TLS-terminating proxy). Default: HTTPS. */
  plainHttp?: boolean;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** SSO: an OpenID Connect provider. Absent: sign-in with the local bootstrap code only. */
  oidc?: { issuer: string; clientId: string; clientSecret?: string | undefined; scopes?: string | undefined } | undefined;
  /** Email domains whose people become members at their first SSO sign-in. */
  allowedEmailDomains?: readonly string[];
  /** Offer the one-time local admin bootstrap code (default true). */
  bootstrap?: boolean;
  /** CLI session access-token lifetime (default 1 h). */
  cliAccessTtlSeconds?: number;
  /** Device-login code lifetime and poll interval (defaults 600 s and 5 s). */
  deviceCodeTtlSeconds?: number;
  deviceIntervalSeconds?: number;
  /** The audit of proxied requests and access actions (default on, 30 days). */
  audit?: { enabled?: boolean; retentionMs?: number; queueCap?: number };
  /** Idle timeout per stream kind (ms; 0 = off); the tunnel's defaults for kinds left out. */
  idleTimeoutMs?: Partial<Record<StreamKind, number>>;
  /** Serve Prometheus `/metrics`, `/healthz` and `/readyz` on this separate plain-HTTP address. */
  metricsListen?: { host: string; port: number } | undefined;
  /** Stream limits (defaults 4096 per cluster, 256 per member). */
  maxStreamsPerCluster?: number;
  maxStreamsPerMember?: number;
  /** Scale-out: a nats-server cluster instead of the embedded endpoint (absent: embedded). */
  nats?: NatsClusterOptions | undefined;
}


/**
 * TCP keepalive probes on every client connection after this long without traffic: below the 60 s
 * that load balancers and NAT tables commonly allow an idle connection, so a quiet watch or exec
 * session keeps its path open, and a peer that vanished is noticed.
 */
export const TCP_KEEPALIVE_MS = 30_000;

export interface Gateway {
  readonly url: string;
  readonly store: Store;
  /** HTTP/2 (by ALPN) and HTTP/1.1 over TLS; HTTP/1.1 in plain-HTTP mode. */
  readonly server: GatewayServer;
  readonly access: AccessService;
  /** The embedded NATS endpoint; undefined in scale-out (a nats-server cluster). */
  readonly nats: NatsServer | undefined;
  readonly tunnel: TunnelGateway;
  readonly proxy: KubeProxy;
  /** The audit queue's counters; undefined when the audit is off. */
  auditStats(): AuditStats | undefined;
  /** http://HOST:PORT of the metrics listener, when `metricsListen` was given. */
  readonly metricsUrl: string | undefined;
  /** The generated development certificate clients should trust, if any. */
  readonly caFile: string | undefined;
  /** The one-time local admin code issued at this (first) start, to print once. */
  readonly bootstrapCode: string | undefined;
  /** Stops accepting, lets open requests finish (bounded), closes the store. */
  close(): Promise<void>;
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const log = opts.logger;
  // The data dir holds keys and tokens: refused when others can read or write it.
  ensurePrivateDir(opts.dataDir);
  const storeUrl = opts.storeUrl || `sqlite:${join(opts.dataDir, "ward.db")}`;
  const store = await openStore(storeUrl, { logger: log.child({ area: "store" }) });
  log.info("store ready", { dialect: store.dialect });

  const keys = await SigningKeys.load(store.db);
  // One presence source for everything (the proxy, grant status, `ward cluster list`): the tunnel's.
  let tunnel: TunnelGateway | undefined;
  const isClusterOnline = (c: string) => tunnel?.isOnline(c) ?? false;
  const access = new AccessService({ db: store.db, keys, isClusterOnline });
  const boot = await access.bootstrapAdmin(opts.bootstrapAdminEmail);
  if (boot) {
    const file = join(opts.dataDir, "admin-token");
    writePrivateFile(file, boot.apiToken + "\n");
    log.info("created the first admin; its one-time API token is in the file", { email: boot.member.email, file });
  }
  const bootstrap = new Bootstrap({ db: store.db, access });
  let bootstrapCode: string | undefined;
  if (opts.bootstrap === false) await bootstrap.disable();
  else if (boot) bootstrapCode = await bootstrap.issue(boot.member.email);

  const publicHost = opts.publicUrl ? new URL(opts.publicUrl).hostname.replace(/^\[(.*)\]$/, "$1") : undefined;
  const tlsHosts = [...new Set([opts.host, "localhost", "127.0.0.1", ...(publicHost ? [publicHost] : [])])];
  const tls = opts.plainHttp ? undefined : await loadTls({ certFile: opts.tlsCertFile, keyFile: opts.tlsKeyFile, dataDir: opts.dataDir, hosts: tlsHosts, logger: log.child({ area: "tls" }) });
  const caPem = tls?.caFile ? tls.ca?.toString() : undefined;

  // An agent's connection ended: its tunnel instance is gone at once (not after missed heartbeats).
  // The cluster comes from the authenticated identity, the instance from the connection's name.
  const agentConnectionClosed = (identity: string, name: string | undefined) => {
    const cluster = identity.startsWith("agent:") ? identity.slice("agent:".length) : undefined;
    const instance = cluster && isValidClusterId(cluster) ? agentInstanceOf(cluster, name) : undefined;
    if (cluster && instance) tunnel?.agentDisconnected(cluster, instance);
  };
  const transport = opts.nats
    ? await joinNatsCluster(opts.nats, { access, logger: log, onAgentClosed: agentConnectionClosed })
    : embeddedNats({ access, logger: log, onAgentClosed: agentConnectionClosed });
  const { nats, bus } = transport;
  const gatewayTunnel = (tunnel = await TunnelGateway.start(bus, {
    logger: log.child({ area: "tunnel" }),
    ...(opts.idleTimeoutMs ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
    ...(opts.maxStreamsPerCluster ? { maxStreamsPerCluster: opts.maxStreamsPerCluster } : {}),
    ...(opts.maxStreamsPerMember ? { maxStreamsPerMember: opts.maxStreamsPerMember } : {}),
  }));
  const sync = new AccessSync(bus, access, gatewayTunnel, { logger: log.child({ area: "access" }) });
  // What this gateway changes, the others of a deployment hear (and the other way round).
  const relay = new AccessRelay(bus, access, { id: gatewayTunnel.id, logger: log.child({ area: "access" }) });
  transport.onReconnect(() => relay.resync());

  // The audit: queued off the request path, written in batches, pruned daily.
  const auditOn = opts.audit?.enabled !== false;
  const auditStore = new AuditStore(store.db);
  const auditLog = auditOn
    ? new AuditLog<AuditEntry>({ write: (rows) => auditStore.insert(rows), retryable: (e) => isStoreUnavailable(e) || isStoreFull(e), toRow, logger: log.child({ area: "audit" }), ...(opts.audit?.queueCap ? { queueCap: opts.audit.queueCap } : {}) })
    : undefined;
  const retention = new AuditRetention({ store: auditStore, retentionMs: opts.audit?.retentionMs ?? DEFAULT_RETENTION_MS, logger: log.child({ area: "audit" }) });
  retention.start();
  if (auditLog) access.events.on("audit", accessAuditSink(auditLog));

  const proxyLog = log.child({ area: "proxy" });
  // Each finished exchange goes to every sink (audit, metrics), off the hot path.
  const exchangeSinks: ((r: ExchangeRecord) => void)[] = [];
  if (auditLog) exchangeSinks.push(exchangeAuditSink(auditLog));
  const proxy = new KubeProxy({
    tunnel: gatewayTunnel, logger: proxyLog, authorize: tokenCheck(access, proxyLog), captureBodyBytes: auditLog ? BODY_CAPTURE_BYTES : 0,
    onExchange: (r) => {
      for (const sink of exchangeSinks) sink(r);
    },
  });
  access.events.on("revoked", (ev) => {
    const n = proxy.live.revoke({ cluster: ev.clusterId, member: ev.memberId, tokenId: ev.tokenId, grantId: ev.grantId }, `Access revoked (${ev.reason})`);
    if (n) log.info("closed live streams after revocation", { cluster: ev.clusterId, member: ev.memberId, token: ev.tokenId, grant: ev.grantId, reason: ev.reason, streams: n });
  });
  access.events.on("disabled", () => {
    const n = proxy.live.closeAll("The access feature was switched off");
    log.info("access feature switched off: closed every live stream", { streams: n });
  });
  access.events.on("agentCredentialRotated", (cluster) => {
    void transport.disconnectAgents(cluster).then(
      (n) => log.info("agent join credential rotated: disconnected its agents", { cluster, connections: n }),
      (err) => log.warn("agent join credential rotated, but its connected agents could not be disconnected", { cluster, err }),
    );
  });
  access.startExpiryTimer();


  let url = "";
  const publicUrl = () => opts.publicUrl?.replace(/\/+$/, "") || url;
  const cliSessions = new CliSessions({ db: store.db, access, ...(opts.cliAccessTtlSeconds ? { accessTtlSeconds: opts.cliAccessTtlSeconds } : {}) });
  const auth = {
    cliSessions,
    device: new DeviceFlow({
      db: store.db, access, sessions: cliSessions, verificationUri: () => `${publicUrl()}/device`,
      ...(opts.deviceCodeTtlSeconds ? { ttlSeconds: opts.deviceCodeTtlSeconds } : {}),
      ...(opts.deviceIntervalSeconds ? { intervalSeconds: opts.deviceIntervalSeconds } : {}),
    }),
    portalSessions: new PortalSessions({ db: store.db, access }),
    bootstrap,
    oidc: opts.oidc ? new OidcLogin({ ...opts.oidc, db: store.db, redirectUri: () => `${publicUrl()}/auth/callback` }) : undefined,
    allowedDomains: opts.allowedEmailDomains ?? [],
  };
  const app = createApp({
    caPem: () => caPem,
    logger: log,
    readiness: [
      { name: "store", check: () => store.ping() },
      { name: "draining", check: async () => { if (gatewayTunnel.draining) throw new Error("this gateway is shutting down"); } },
    ],
    access,
    auth,
    isClusterOnline,
    publicUrl,
    audit: auditStore,
    auditStats: () => auditLog?.stats(),
  });
  const honoListener = getRequestListener(app.fetch);
  const ws = nats ? createNatsUpgradeHandler(nats) : undefined;
  // In scale-out, an agent pointed at a gateway is told where to dial instead.
  const natsUpgrade = ws?.handleUpgrade ?? ((_req: unknown, socket: Duplex) => void socket.end(statusResponseBytes(new ProxyError(404,
    "This Ward gateway runs in scale-out mode: agents connect to the NATS cluster's websocket listeners (ward agent --gateway wss://…), not to /nats here"))));
  const edge = edgeListeners({ proxy, app: (req, res) => void honoListener(req, res), upgrades: { nats: { path: NATS_PATH, handle: natsUpgrade } } });
  const server = createListener({ tls, ...edge });
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    s.setKeepAlive(true, TCP_KEEPALIVE_MS);
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });

  let metrics: MetricsServer | undefined;
  try {
    if (opts.metricsListen) {
      // prom-client loads only when metrics are asked for.
      const { gatewayMetrics, registerAuditGauges, startMetricsServer } = await import("../metrics/index.ts");
      const m = gatewayMetrics({
        openStreams: () => gatewayTunnel.streamsByKind(),
        agentsOnline: () => gatewayTunnel.onlineClusters().length,
        reconcileOutcomes: () => sync.outcomes,
      });
      exchangeSinks.push((r) => m.exchange(r));
      access.events.on("tokenMinted", (ev) => m.tokenMinted(ev.kind));
      access.events.on("rateLimited", (ev) => m.rateLimited(ev.limit));
      if (auditLog) registerAuditGauges(m.registry, () => auditLog.stats());
      metrics = await startMetricsServer({
        ...opts.metricsListen, registry: m.registry, logger: log.child({ area: "metrics" }),
        ready: () => store.ping().then(() => true, () => false),
        notReadyReason: "the store is not reachable",
      });
      log.info("metrics listening", { url: metrics.url, paths: ["/metrics", "/healthz", "/readyz"] });
    }
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port, opts.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    await metrics?.close();
    sync.close();
    relay.close();
    access.stopExpiryTimer();
    retention.stop();
    await auditLog?.close();
    await gatewayTunnel.close();
    await transport.close();
    await store.close();
    if (opts.metricsListen && !metrics) throw e; // its message names the metrics address
    throw new Error(`Cannot listen on ${opts.host}:${opts.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  url = `${tls ? "https" : "http"}://${host}:${addr.port}`;
  log.info("gateway listening", { url });

  let closing: Promise<void> | undefined;
  return {
    url,
    store,
    server,
    access,
    nats,
    tunnel: gatewayTunnel,
    proxy,
    auditStats: () => auditLog?.stats(),
    metricsUrl: metrics?.url,
    caFile: tls?.caFile,
    bootstrapCode,
    close() {
      closing ??= (async () => {
        // Draining: no new connections (HTTP/2 sessions get GOAWAY, so clients open their next
        // streams elsewhere); readiness says no; watches end cleanly at once; requests, exec and
        // port-forward get the shutdown timeout to finish.
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // Agents stay connected (embedded endpoint) until the streams through them are done.
        const drained = await gatewayTunnel.drain(opts.shutdownTimeoutMs);
        log.info("drained", drained);
        ws?.close();
        sync.close();
        relay.close();
        access.stopExpiryTimer();
        await gatewayTunnel.close();
        await transport.close();
        server.closeIdleConnections();
        const timer = setTimeout(() => {
          log.warn("shutdown timeout: closing open connections", { open: sockets.size });
          for (const s of sockets) s.destroy();
        }, opts.shutdownTimeoutMs);
        await done;
        clearTimeout(timer);
        retention.stop();
        await auditLog?.close();
        await metrics?.close();
        await store.close();
        log.info("gateway stopped");
      })();
      return closing;
    },
  };
}
