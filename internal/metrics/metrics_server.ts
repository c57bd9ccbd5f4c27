/**
 * The operations endpoint of a long-running role: Prometheus `/metrics` from a prom-client registry,
 * `/healthz` (the process is alive) and `/readyz` (the role can do its work, e.g. the agent is
 * connected to the gateway). Plain HTTP on its own listener, meant for loopback or a cluster-internal
 * address that Prometheus and the kubelet's probes reach.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { Logger } from "../log/index.ts";

export interface MetricsServerOptions {
  host: string;
  /** 0 picks a free port (see `url`). */
  port: number;
  registry: Registry;
  /** Readiness: `/readyz` answers 200 when true, 503 with `notReadyReason` otherwise (a check may be async, e.g. a store ping). */
  ready: () => boolean | Promise<boolean>;
  notReadyReason?: string;
  logger: Logger;
}

export interface MetricsServer {
  /** http://HOST:PORT with the port actually bound. */
  readonly url: string;
  close(): Promise<void>;
}

function answer(res: ServerResponse, status: number, body: string, contentType = "text/plain; charset=utf-8"): void {
  res.writeHead(status, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store" });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

/** Starts listening; rejects with a message naming the address when it cannot bind. */
export async function startMetricsServer(o: MetricsServerOptions): Promise<MetricsServer> {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return answer(res, 405, "Method not allowed: use GET\n");
    }
    const path = (req.url ?? "/").split("?")[0];
    switch (path) {
      case "/metrics":
        return answer(res, 200, await o.registry.metrics(), o.registry.contentType);
      case "/healthz":
        return answer(res, 200, "ok\n");
      case "/readyz":
        return (await o.ready()) ? answer(res, 200, "ok\n") : answer(res, 503, `not ready: ${o.notReadyReason ?? "starting"}\n`);
      default:
        return answer(res, 404, "Not found: try /metrics, /healthz or /readyz\n");
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      o.logger.warn("metrics request failed", { path: req.url, err: err as Error });
      if (!res.headersSent) answer(res, 500, "Internal error collecting metrics\n");
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => reject(new Error(`Cannot serve metrics on ${o.host}:${o.port}: ${err.code ?? err.message}`)));
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  server.on("error", (err) => o.logger.warn("metrics server error", { err }));
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
