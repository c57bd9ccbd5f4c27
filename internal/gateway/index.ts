/**
 * The gateway process: store, HTTP server, graceful shutdown. Later areas (NATS endpoint,
 * tunnel, proxy, access, portal) are wired in here.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { getRequestListener } from "@hono/node-server";
import { AccessService, AccessSync, ClusterPresence, SigningKeys } from "../access/index.ts";
import { subjects, isValidClusterId } from "../bus/index.ts";
import { NatsServer, attachNatsWebSocket, type Authenticator } from "../nats/index.ts";
import { openStore, type Store } from "../store/index.ts";
import type { Logger } from "../log/index.ts";
import { KubeProxy, parseProxyPath, PROXY_PREFIX, ProxyError, statusResponseBytes, writeStatus } from "../proxy/index.ts";
import { TunnelGateway } from "../tunnel/index.ts";
import { TokenRejectedError } from "../access/index.ts";
import { Bootstrap, CliSessions, DeviceFlow, OidcLogin, PortalSessions } from "../auth/index.ts";
import { createApp } from "./app.ts";
import { loadTls } from "./tls.ts";

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
}

export interface Gateway {
  readonly url: string;
  readonly store: Store;
  readonly server: Server;
  readonly access: AccessService;
  readonly nats: NatsServer;
  readonly tunnel: TunnelGateway;
  readonly proxy: KubeProxy;
  /** The generated development certificate clients should trust, if any. */
  readonly caFile: string | undefined;
  /** The one-time local admin code issued at this (first) start, to print once. */
  readonly bootstrapCode: string | undefined;
  /** Stops accepting, lets open requests finish (bounded), closes the store. */
  close(): Promise<void>;
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const log = opts.logger;
  const storeUrl = opts.storeUrl || `sqlite:${join(opts.dataDir, "ward.db")}`;
  const store = await openStore(storeUrl);
  log.info("store ready", { dialect: store.dialect });

  const keys = await SigningKeys.load(store.db);
  const presence = new ClusterPresence();
  const access = new AccessService({ db: store.db, keys, isClusterOnline: (c) => presence.isOnline(c) });
  const boot = await access.bootstrapAdmin(opts.bootstrapAdminEmail);
  if (boot) {
    const file = join(opts.dataDir, "admin-token");
    writeFileSync(file, boot.apiToken + "\n", { mode: 0o600 });
    log.info("created the first admin; its one-time API token is in the file", { email: boot.member.email, file });
  }
  const bootstrap = new Bootstrap({ db: store.db, access });
  let bootstrapCode: string | undefined;
  if (opts.bootstrap === false) await bootstrap.disable();
  else if (boot) bootstrapCode = await bootstrap.issue(boot.member.email);

  const authenticator: Authenticator = async (co) => {
    const cluster = co.user;
    if (typeof cluster !== "string" || typeof co.pass !== "string" || !isValidClusterId(cluster)) return null;
    if (!(await access.authenticateAgent(cluster, co.pass))) {
      log.warn("agent authentication failed", { cluster });
      return null;
    }
    return { identity: `agent:${cluster}`, permissions: subjects.agentPermissions(cluster) };
  };
  const nats = new NatsServer({ authenticator, logger: log.child({ area: "nats" }) });
  const bus = nats.connectInProcess({ identity: "gateway" });
  const sync = new AccessSync(bus, access, presence, { logger: log.child({ area: "access" }) });

  const tunnel = await TunnelGateway.start(bus, { logger: log.child({ area: "tunnel" }) });
  const proxy = new KubeProxy({
    tunnel,
    logger: log.child({ area: "proxy" }),
    authorize: async ({ cluster, token }) => {
      if (!token) throw new ProxyError(401, "Unauthorized: no token; get a kubeconfig with 'ward cluster kubeconfig add'");
      try {
        const ctx = await access.verifyToken(token, cluster);
        return { member: ctx.member.id, user: ctx.member.email, groups: [] };
      } catch (e) {
        if (!(e instanceof TokenRejectedError)) throw e;
        log.info("token rejected", { cluster, why: e.message });
        throw new ProxyError(401, "Unauthorized: the token is not valid for this cluster (expired, revoked, or access removed); get a new one with 'ward cluster kubeconfig add'");
      }
    },
  });
  access.events.on("revoked", (ev) => {
    const n = proxy.live.close(ev.clusterId, ev.memberId, "Access revoked");
    if (n) log.info("closed live streams after revocation", { cluster: ev.clusterId, member: ev.memberId, streams: n });
  });

  const tls = opts.plainHttp ? undefined : await loadTls({ certFile: opts.tlsCertFile, keyFile: opts.tlsKeyFile, dataDir: opts.dataDir, hosts: [opts.host, "localhost", "127.0.0.1"] });
  const caPem = tls?.caFile ? tls.cert.toString() : undefined;

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
    readiness: [{ name: "store", check: () => store.ping() }],
    access,
    auth,
    isClusterOnline: (c) => presence.isOnline(c),
    publicUrl,
  });
  const honoListener = getRequestListener(app.fetch);
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    let target;
    try {
      target = parseProxyPath(req.url ?? "/");
    } catch (e) {
      return writeStatus(res, e instanceof ProxyError ? e : new ProxyError(400, "Invalid request path"));
    }
    if (target) proxy.handleRequest(req, res, target);
    else void honoListener(req, res);
  };
  const server: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, onRequest) : createHttpServer(onRequest);
  const ws = attachNatsWebSocket(server, nats, { path: "/nats" });
  server.on("upgrade", (req: IncomingMessage, socket, head: Buffer) => {
    const path = req.url ?? "/";
    if (path === "/nats" || path.startsWith("/nats?")) return; // the NATS endpoint's
    try {
      const target = path.startsWith(PROXY_PREFIX) ? parseProxyPath(path) : null;
      if (!target) return void socket.end(statusResponseBytes(new ProxyError(404, "Not found")));
      proxy.handleUpgrade(req, socket, head, target);
    } catch (e) {
      socket.end(statusResponseBytes(e instanceof ProxyError ? e : new ProxyError(400, "Bad request")));
    }
  });
  const sockets = new Set<Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port, opts.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (e) {
    sync.close();
    await tunnel.close();
    await nats.close();
    await store.close();
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
    tunnel,
    proxy,
    caFile: tls?.caFile,
    bootstrapCode,
    close() {
      closing ??= (async () => {
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        ws.detach();
        sync.close();
        await tunnel.close();
        await nats.close();
        server.closeIdleConnections();
        const timer = setTimeout(() => {
          log.warn("shutdown timeout: closing open connections", { open: sockets.size });
          for (const s of sockets) s.destroy();
        }, opts.shutdownTimeoutMs);
        await done;
        clearTimeout(timer);
        await store.close();
        log.info("gateway stopped");
      })();
      return closing;
    },
  };
}
