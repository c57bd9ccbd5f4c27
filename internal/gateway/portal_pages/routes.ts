/**
 * The portal's pages: the Clusters page at `/` and a cluster's Access view at
 * `/clusters/{cluster_id}/access`, server-rendered from the views the `/org` API answers (one
 * implementation of every rule), with the script doing only what needs a browser: sending forms
 * to the `/org` API, downloads and copies, live refreshes. `?part=NAME` answers one part of a page
 * (for those refreshes); without a session a page redirects to sign-in and a part answers 401.
 */
import { Hono, type Context } from "hono";
import { getCookie } from "hono/cookie";
import { html } from "hono/html";
import { AccessError, type AccessService, type AuthContext } from "../../access/index.ts";
import type { PortalSession, PortalSessions } from "../../auth/index.ts";
import type { Logger } from "../../log/index.ts";
import { httpErrorHandler } from "../error_handler.ts";
import type { OrgViews } from "../org_views.ts";
import { accessPage, accessPart, accessUnavailable, ACCESS_PARTS, type AccessPageData, type AccessPart, type ClusterAccess } from "./access_page.ts";
import { clustersPage, clustersTable } from "./clusters_page.ts";
import { shownEmail, shownName } from "./format.ts";
import { layout, pageHeaders, type Html, type Viewer } from "./layout.ts";

export interface PortalPagesOptions {
  access: AccessService;
  sessions: PortalSessions;
  views: OrgViews;
  sessionCookie: string;
  publicUrl: () => string;
  logger: Logger;
  now?: () => number;
}

type Env = { Variables: { session: PortalSession } };

const PAGE_PATHS = ["/", "/clusters/:cluster_id/access"];

const viewer = (s: PortalSession): Viewer => ({ email: shownEmail(s.member.email), role: s.member.role, csrfToken: s.csrfToken });

export function portalPages(opts: PortalPagesOptions): Hono<Env> {
  const app = new Hono<Env>();
  const now = opts.now ?? Date.now;
  const { views } = opts;

  // Mounted at the root beside the API: only the pages' own paths.
  for (const p of PAGE_PATHS) app.use(p, pageHeaders());
  for (const p of PAGE_PATHS) app.use(p, async (c, next) => {
    const session = await opts.sessions.get(getCookie(c, opts.sessionCookie));
    if (!session) {
      if (c.req.query("part") !== undefined) return c.text("Your session ended: reload the page to sign in again", 401);
      const back = c.req.path + (c.req.url.includes("?") ? c.req.url.slice(c.req.url.indexOf("?")) : "");
      return c.redirect(`/login?return_to=${encodeURIComponent(back)}`, 302);
    }
    c.set("session", session);
    await next();
  });

  const page = (c: Context<Env>, title: string, body: Html, status = 200, heading?: Html) =>
    c.html(layout({ title, viewer: viewer(c.get("session")), nav: "clusters", body, ...(heading ? { heading } : {}) }), status as 200);

  app.onError(httpErrorHandler<Env, AccessError>({
    owns: (err) => err instanceof AccessError,
    render(err, c) {
      const status = err.reason === "FeatureDisabled" ? 404 : err.status;
      const message = err.reason === "FeatureDisabled" ? "Access management is switched off on this gateway." : err.message;
      if (c.req.query("part") !== undefined) return c.text(message, status as 400);
      return page(c, status === 404 ? "Not found" : "Refused", html`<p class="notice warn" role="alert">${shownName(message)}</p><p><a href="/">Back to your clusters</a></p>`, status);
    },
    internal: (c) => c.html(html`<!doctype html><title>Error &middot; Ward</title><p>Something went wrong. Try again; if it persists, ask an admin to check the gateway log.</p>`, 500),
    logger: opts.logger,
    logMessage: "unhandled portal page error",
  }));

  const auth = (c: Context<Env>): AuthContext => ({ member: c.get("session").member });

  app.get("/", async (c) => {
    const a = auth(c);
    const s = await views.settings(a);
    const clusters = s.enabled ? await views.clusters(a) : null;
    if (c.req.query("part") === "clusters") {
      if (!clusters) return c.text("Access management is switched off on this gateway.", 404);
      return c.html(clustersTable(clusters, s.can_manage));
    }
    return page(c, "Clusters", clustersPage(s, clusters));
  });

  app.get("/clusters/:cluster_id/access", async (c) => {
    const a = auth(c);
    const id = c.req.param("cluster_id");
    const view = await views.clusterAccess(a, id);
    const partName = c.req.query("part");
    if (!view.enabled || !view.cluster || view.sandbox) {
      if (partName !== undefined) return c.text("Access management does not apply to this cluster", 404);
      const kind = !view.enabled || !view.cluster ? "disabled" : "sandbox";
      return page(c, `${id} \u00b7 Access`, accessUnavailable(kind, view.can_manage, id), kind === "disabled" ? 404 : 200);
    }
    const v = view as ClusterAccess;
    if (partName !== undefined && !(ACCESS_PARTS as readonly string[]).includes(partName)) throw new AccessError("NotFound", `No part ${partName} on this page`);
    const want = (p: AccessPart) => partName === undefined || partName === p;
    const admin = v.can_manage;
    const d: AccessPageData = {
      view: v,
      grants: admin && want("grants") ? await views.grants(a, id) : null,
      members: admin && partName === undefined ? await views.members(a, id) : null,
      tokens: want("tokens") ? await views.tokens(a, id) : [],
      gatewayUrl: opts.publicUrl(),
      now: now(),
    };
    if (partName !== undefined) {
      if (partName === "grants" && !admin) throw new AccessError("Forbidden", "Only admins manage grants");
      return c.html(accessPart(partName as AccessPart, d));
    }
    return page(c, `${v.cluster.name} \u00b7 Access`, accessPage(d), 200, html`${shownName(v.cluster.name)} <span class="muted">&middot; Access</span>`);
  });

  return app;
}
