/**
 * The gateway process: store, HTTP server, graceful shutdown. Later areas (NATS endpoint,
 * tunnel, proxy, access, portal) are wired in here.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import { getRequestListener } from "@hono/node-server";
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
}

export interface Gateway {
  readonly url: string;
  readonly store: Store;
  readonly server: Server;
  /** Stops accepting, lets open requests finish (bounded), closes the store. */
  close(): Promise<void>;
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const log = opts.logger;
  const storeUrl = opts.storeUrl || `sqlite:${join(opts.dataDir, "ward.db")}`;
  const store = await openStore(storeUrl);
  log.info("store ready", { dialect: store.dialect });

  const app = createApp({ logger: log, readiness: [{ name: "store", check: () => store.ping() }] });
  const server = createServer(getRequestListener(app.fetch));
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
    await store.close();
    throw new Error(`Cannot listen on ${opts.host}:${opts.port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  log.info("gateway listening", { url });

  let closing: Promise<void> | undefined;
  return {
    url,
    store,
    server,
    close() {
      closing ??= (async () => {
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
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
