/**
 * The portal's JSON API under `/org` (DESIGN.md "API surface"), for the Clusters page, a cluster's
 * Access view and Issued credentials. Authenticated by the portal session cookie; every write
 * needs the session's CSRF token in `X-CSRF-Token` and this gateway's `Origin`. Every rule (who
 * manages, who sees which cluster, grant validation, token lifetimes) is the access service's;
 * errors are the token API's JSON `{ error, reason }`. With the access feature off, everything but
 * the capabilities answers 404 (the capabilities say `enabled: false`, for the page to explain).
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { AccessError, type AccessService, type AuthContext } from "../access/index.ts";
import { csrfMatches, type PortalSession, type PortalSessions } from "../auth/index.ts";
import type { Logger } from "../log/index.ts";
import { accessErrorHandler, body, kubeconfigFile, mintContexts, type IssuedContext } from "./access_routes.ts";
import { OrgViews } from "./org_views.ts";
import { grantEvents, LiveStreams, type LiveStreamLimits } from "./org_events.ts";
import { sameOrigin, SESSION_COOKIE } from "./portal_routes.ts";

/** Clusters in one kubeconfig download (each mints a token against the member's rate limit). */
export const MAX_CLUSTERS_PER_KUBECONFIG = 10;

export interface OrgRoutesOptions {
  access: AccessService;
  sessions: PortalSessions;
  /** The gateway's external URL (no trailing slash): origin checks and kubeconfig server addresses. */
  publicUrl: () => string;
  caPem?: () => string | undefined;
  isClusterOnline: (clusterId: string) => boolean;
  logger: Logger;
  liveStreams?: LiveStreamLimits;
  /** Shared with the portal's pages (default: made here). */
  views?: OrgViews;
}

type Env = { Variables: { auth: AuthContext; session: PortalSession } };

export function orgRoutes(opts: OrgRoutesOptions): Hono<Env> {
  const { access } = opts;
  const app = new Hono<Env>();
  const streams = new LiveStreams(opts.liveStreams);
  const views = opts.views ?? new OrgViews(opts);
  app.onError(accessErrorHandler(opts.logger));
  app.notFound((c) => c.json({ error: "Not found", reason: "NotFound" }, 404));

  app.use("*", async (c, next) => {
    c.header("Cache-Control", "no-store");
    c.header("X-Content-Type-Options", "nosniff");
    const session = await opts.sessions.get(getCookie(c, SESSION_COOKIE));
    if (!session) throw new AccessError("Unauthorized", "Not signed in (or the session ended): sign in to the portal again");
    const write = c.req.method !== "GET" && c.req.method !== "HEAD";
    // Reads need no Origin (a same-origin GET may not send one), but a foreign one is refused too:
    // an EventSource from another site would hold a live stream open with this session.
    const origin = c.req.header("origin");
    if ((write || origin !== undefined) && (!origin || !sameOrigin(origin, opts.publicUrl(), c.req.url))) {
      throw new AccessError("Forbidden", "Cross-origin request refused: use the portal pages of this gateway");
    }
    if (write) {
      if (!csrfMatches(session, c.req.header("x-csrf-token"))) throw new AccessError("Forbidden", "CSRF check failed: send the session's token in X-CSRF-Token (reload the page and try again)");
    }
    c.set("session", session);
    c.set("auth", { member: session.member });
    await next();
  });
  const enabled: MiddlewareHandler<Env> = async (_c, next) => {
    await access.requireEnabled();
    await next();
  };

  /** Kubeconfigs carry bearer tokens: never offered when the gateway is reached over plain http. */
  const requireHttps = () => {
    if (!opts.publicUrl().startsWith("https:")) {
      throw new AccessError("InsecureTransport", "Kubeconfig download is off: this gateway's public URL is plain http, so the token would travel in clear. Serve the gateway over HTTPS (its default) and use that address");
    }
  };

  const kubeconfigText = (auth: AuthContext, issued: IssuedContext[]) => kubeconfigFile(opts.publicUrl(), opts.caPem?.(), auth.member.email, issued);
  const contextJson = ({ token: _token, ...rest }: IssuedContext) => rest;

  // ---- the person and their clusters
  app.get("/capabilities", async (c) => c.json(await views.settings(c.get("auth"))));
  app.get("/clusters", enabled, async (c) => c.json({ clusters: await views.clusters(c.get("auth")) }));
  app.post("/kubeconfig", enabled, async (c) => {
    requireHttps();
    const b = await body(c);
    const ids = b.clusters;
    if (!Array.isArray(ids) || ids.length < 1 || ids.length > MAX_CLUSTERS_PER_KUBECONFIG || !ids.every((x) => typeof x === "string")) {
      throw new AccessError("Invalid", `clusters must be a list of 1-${MAX_CLUSTERS_PER_KUBECONFIG} cluster ids`);
    }
    const auth = c.get("auth");
    const issued = await mintContexts(access, auth, [...new Set(ids as string[])], b.lifetime_seconds);
    opts.logger.info("portal kubeconfig issued", { member: auth.member.id, clusters: issued.map((t) => t.cluster), tokens: issued.map((t) => t.token_id) });
    return c.json({ kubeconfig: kubeconfigText(auth, issued), expires_at: issued.map((t) => t.expires_at).sort()[0], contexts: issued.map(contextJson) });
  });

  // ---- one cluster's Access view
  app.get("/clusters/:cluster_id/access/capabilities", async (c) => {
    const v = await views.clusterAccess(c.get("auth"), c.req.param("cluster_id"));
    if (!v.cluster) {
      const { cluster: _none, ...off } = v;
      return c.json(off);
    }
    return c.json(v);
  });
  app.get("/clusters/:cluster_id/access/members", enabled, async (c) => c.json({ members: await views.members(c.get("auth"), c.req.param("cluster_id")) }));
  app.get("/clusters/:cluster_id/access/grants", enabled, async (c) => c.json({ grants: await views.grants(c.get("auth"), c.req.param("cluster_id")) }));
  app.post("/clusters/:cluster_id/access/grants", enabled, async (c) => {
    const auth = c.get("auth");
    const { grant, created } = await access.createGrant(auth, c.req.param("cluster_id"), await body(c));
    opts.logger.info("grant created in the portal", { cluster: grant.cluster_id, grant: grant.id, member: grant.member_id, by: auth.member.id });
    return c.json({ grant: { ...grant, member_email: (await access.member(grant.member_id))?.email ?? null } }, created ? 201 : 200);
  });
  app.delete("/clusters/:cluster_id/access/grants/:grant_id", enabled, async (c) => {
    await access.deleteGrant(c.get("auth"), c.req.param("cluster_id"), c.req.param("grant_id"));
    return c.body(null, 204);
  });
  app.post("/clusters/:cluster_id/access/revoke-all", enabled, async (c) => {
    const auth = c.get("auth");
    const r = await access.revokeAll(auth, c.req.param("cluster_id"), await body(c));
    opts.logger.info("revoke-all from the portal", { cluster: c.req.param("cluster_id"), by: auth.member.id, tokens: r.revoked });
    return c.json({ revoked_tokens: r.revoked, generation: r.generation });
  });
  app.post("/clusters/:cluster_id/access/kubeconfig", enabled, async (c) => {
    requireHttps();
    const auth = c.get("auth");
    const [issued] = await mintContexts(access, auth, [c.req.param("cluster_id")], (await body(c)).lifetime_seconds);
    const t = issued!;
    opts.logger.info("portal kubeconfig issued", { member: auth.member.id, clusters: [t.cluster], tokens: [t.token_id] });
    return c.json({ kubeconfig: kubeconfigText(auth, [t]), expires_at: t.expires_at, token_id: t.token_id, context: t.context, namespace: t.namespace ?? null });
  });
  app.get("/clusters/:cluster_id/access/tokens", enabled, async (c) => {
    return c.json({ tokens: await views.tokens(c.get("auth"), c.req.param("cluster_id")) });
  });
  app.delete("/clusters/:cluster_id/access/tokens/:token_id", enabled, async (c) => {
    await access.revokeToken(c.get("auth"), c.req.param("cluster_id"), c.req.param("token_id"));
    return c.body(null, 204);
  });
  app.get("/clusters/:cluster_id/access/events", enabled, async (c) => {
    const auth = c.get("auth");
    const id = c.req.param("cluster_id");
    await access.listGrants(auth, id); // refused (404, 422) before the stream starts
    const cookie = getCookie(c, SESSION_COOKIE);
    return grantEvents(c, id, auth, streams, {
      access, isClusterOnline: opts.isClusterOnline, logger: opts.logger, grants: (auth, id) => views.grants(auth, id),
      currentAuth: async () => {
        const s = await opts.sessions.get(cookie);
        return s ? { member: s.member } : null;
      },
    });
  });

  return app;
}
