/**
 * The gateway's one `upgrade` listener: each upgrade request has exactly one owner, picked from the
 * raw request target. `/nats` (a query allowed) is the NATS endpoint's; the proxy path
 * `/api/v1/clusters/{id}/k8s/...` is the proxy's; anything else is answered 404 and closed. A target
 * with a fragment (never sent by a real client) or a malformed proxy path is answered 400.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { parseProxyPath, ProxyError, statusResponseBytes, type ProxyTarget } from "../proxy/index.ts";

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface UpgradeRoutes {
  nats: UpgradeHandler;
  proxy: (req: IncomingMessage, socket: Duplex, head: Buffer, target: ProxyTarget) => void;
}

export const NATS_PATH = "/nats";

/** Who owns an upgrade for this raw request target (pure; tested). */
export function upgradeOwner(rawUrl: string): { owner: "nats" } | { owner: "proxy"; target: ProxyTarget } | { owner: "none"; error: ProxyError } {
  if (rawUrl.includes("#")) return { owner: "none", error: new ProxyError(400, "Bad request: a request target has no fragment") };
  const q = rawUrl.indexOf("?");
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  if (path === NATS_PATH) return { owner: "nats" };
  let target: ProxyTarget | null;
  try {
    target = parseProxyPath(rawUrl);
  } catch (e) {
    return { owner: "none", error: e instanceof ProxyError ? e : new ProxyError(400, "Invalid request path") };
  }
  return target ? { owner: "proxy", target } : { owner: "none", error: new ProxyError(404, "Not found") };
}

export function upgradeDispatcher(routes: UpgradeRoutes): UpgradeHandler {
  return function dispatchUpgrade(req, socket, head) {
    socket.on("error", () => {});
    const o = upgradeOwner(req.url ?? "/");
    if (o.owner === "nats") return routes.nats(req, socket, head);
    if (o.owner === "proxy") return routes.proxy(req, socket, head, o.target);
    socket.end(statusResponseBytes(o.error));
  };
}
