/**
 * The gateway process: store, HTTP server, graceful shutdown. Later areas (NATS endpoint,
 * tunnel, proxy, access, portal) are wired in here.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { getRequestListener } from "@hono/node-server";
import { AccessService, AccessSync, ClusterPresence, SigningKeys } from "../access/index.ts";
import { subjects, isValidClusterId } from "../bus/index.ts";
import { NatsServer, attachNatsWebSocket, type Authenticator } from "../nats/index.ts";
import { openStore, type Store } from "../store/index.ts";
import type { Logger } from "../log/index.ts";
import { createApp } from "./app.ts";

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
}

export interface Gateway {
  readonly url: string;
  readonly store: Store;
  readonly server: Server;
  readonly access: AccessService;
  readonly nats: NatsServer;
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

  let url = "";
  const app = createApp({
    logger: log,
    readiness: [{ name: "store", check: () => store.ping() }],
    access,
    publicUrl: () => opts.publicUrl?.replace(/\/+$/, "") || url,
  });
  const server = createServer(getRequestListener(app.fetch));
  const ws = attachNatsWebSocket(server, nats, { path: "/nats" });
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
    await nats.close();
    await store.close();
    throw new Error(`Cannot listen on ${opts.host}:${opts.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  url = `http://${host}:${addr.port}`;
  log.info("gateway listening", { url });

  let closing: Promise<void> | undefined;
  return {
    url,
    store,
    server,
    access,
    nats,
    close() {
      closing ??= (async () => {
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        ws.detach();
        sync.close();
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
