/**
 * The gateway's edge: every request and every upgrade on the HTTPS port has exactly one owner,
 * picked from the raw request target by one table each.
 *
 * Requests: the proxy path `/api/v1/clusters/{id}/k8s/...` is the proxy's, a malformed proxy path
 * is answered with a Status (400), and everything else goes to the app (API and portal).
 *
 * Upgrades: a named exact path (a query allowed; the wiring passes `{ nats: "/nats" }`) is that
 * route's, the proxy path is the proxy's, anything else is answered 404 and closed. A target with a
 * fragment (never sent by a real client) or a malformed proxy path is answered 400.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import type { Duplex } from "node:stream";
import { parseProxyPath, type ProxyTarget } from "./path.ts";
import { appResponse, type EdgeRequest, type EdgeResponse } from "./protocol.ts";
import { ProxyError, statusResponseBytes, writeStatus } from "./status.ts";

/** Requests arrive over HTTP/1.1 or HTTP/2; upgrades only over HTTP/1.1. */
export type RequestHandler = (req: EdgeRequest, res: ServerResponse | Http2ServerResponse) => void;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** What the edge hands proxy-path traffic to (KubeProxy). */
export interface ProxyRoutes {
  handleRequest(req: EdgeRequest, res: EdgeResponse, target: ProxyTarget): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: ProxyTarget): void;
}

export interface EdgeRoutes {
  proxy: ProxyRoutes;
  /** Every request that is not on the proxy path. */
  app: RequestHandler;
  /** Upgrade owners by exact path, such as `{ nats: { path: "/nats", handle } }`. */
  upgrades: Record<string, { path: string; handle: UpgradeHandler }>;
}

export type RequestOwner = { owner: "proxy"; target: ProxyTarget } | { owner: "app" } | { owner: "none"; error: ProxyError };
export type UpgradeOwner = { owner: string } | { owner: "proxy"; target: ProxyTarget } | { owner: "none"; error: ProxyError };

function proxyTarget(rawUrl: string): { target: ProxyTarget | null } | { error: ProxyError } {
  try {
    return { target: parseProxyPath(rawUrl) };
  } catch (e) {
    return { error: e instanceof ProxyError ? e : new ProxyError(400, "Invalid request path") };
  }
}

/** Who owns a plain request for this raw request target (pure; tested). */
export function requestOwner(rawUrl: string): RequestOwner {
  const p = proxyTarget(rawUrl);
  if ("error" in p) return { owner: "none", error: p.error };
  return p.target ? { owner: "proxy", target: p.target } : { owner: "app" };
}

/** Who owns an upgrade for this raw request target, given the exact paths by owner name (pure; tested). */
export function upgradeOwner(rawUrl: string, paths: Readonly<Record<string, string>>): UpgradeOwner {
  if (rawUrl.includes("#")) return { owner: "none", error: new ProxyError(400, "Bad request: a request target has no fragment") };
  const q = rawUrl.indexOf("?");
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  for (const [owner, p] of Object.entries(paths)) if (path === p) return { owner };
  const p = proxyTarget(rawUrl);
  if ("error" in p) return { owner: "none", error: p.error };
  return p.target ? { owner: "proxy", target: p.target } : { owner: "none", error: new ProxyError(404, "Not found") };
}

/** The server's `request` and `upgrade` listeners for these routes. */
export function edgeListeners(routes: EdgeRoutes): { request: RequestHandler; upgrade: UpgradeHandler } {
  const paths = Object.fromEntries(Object.entries(routes.upgrades).map(([owner, r]) => [owner, r.path]));
  return {
    request(req, res) {
      const o = requestOwner(req.url ?? "/");
      if (o.owner === "proxy") return routes.proxy.handleRequest(req, res, o.target);
      // The app (Hono) may set headers HTTP/1.1 needs and HTTP/2 forbids: they are left out on HTTP/2.
      if (o.owner === "app") return routes.app(req, appResponse(req, res));
      writeStatus(res, o.error);
    },
    upgrade(req, socket, head) {
      socket.on("error", () => {});
      const o = upgradeOwner(req.url ?? "/", paths);
      if ("target" in o) return routes.proxy.handleUpgrade(req, socket, head, o.target);
      if ("error" in o) return void socket.end(statusResponseBytes(o.error));
      routes.upgrades[o.owner]!.handle(req, socket, head);
    },
  };
}
