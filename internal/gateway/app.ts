/** The gateway's HTTP routes (hono). Handlers are small; the areas they call do the work. */
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AccessService } from "../access/index.ts";
import type { Logger } from "../log/index.ts";
import type { Bootstrap, CliSessions, DeviceFlow, OidcLogin, PortalSessions } from "../auth/index.ts";
import type { AuditStats, AuditStore } from "../audit/index.ts";
import { accessRoutes } from "./access_routes.ts";
import { auditRoutes } from "./audit_routes.ts";
import { downloadRoutes, type SelfExecutable } from "./download_routes.ts";
import { authRoutes } from "./auth_routes.ts";
import { orgRoutes } from "./org_routes.ts";
import { OrgViews } from "./org_views.ts";
import { portalRoutes, SESSION_COOKIE } from "./portal_routes.ts";
import { portalPages } from "./portal_pages/routes.ts";
import { assetRoutes } from "./portal_pages/assets.ts";
import { VERSION } from "../version.ts";

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export interface AppDeps {
  logger: Logger;
  readiness: ReadinessCheck[];
  /** The access API under /api/v1 (absent: not mounted). */
  access?: AccessService;
  /** External URL of the gateway, for kubeconfigs. */
  publicUrl?: () => string;
  caPem?: () => string | undefined;
  /** Sign-in (portal pages and the CLI's device login); needs `access`. */
  auth?: {
    cliSessions: CliSessions;
    device: DeviceFlow;
    portalSessions: PortalSessions;
    bootstrap: Bootstrap;
    oidc: OidcLogin | undefined;
    allowedDomains: readonly string[];
  };
  isClusterOnline?: (clusterId: string) => boolean;
  /** The audit behind GET /api/v1/audit (absent: not mounted); needs `access`. */
  audit?: AuditStore;
  auditStats?: () => AuditStats | undefined;
  /** What GET /download/… serves (default: this process, when it is the single executable). */
  selfExecutable?: SelfExecutable;
}

/**
 * Request bodies are bounded while they stream in, before any handler or authentication reads
 * them: sign-in forms and tokens are small, JSON API objects are too. (The kubectl proxy path is not
 * here: its bodies stream through the tunnel under per-stream flow control.)
 */
export const AUTH_BODY_MAX_BYTES = 16 * 1024;
export const API_BODY_MAX_BYTES = 64 * 1024;

function bodyTooLarge(c: Context, limit: number, oauth: boolean): Response {
  // The rest of the body is not read: the connection closes after this answer.
  c.header("Connection", "close");
  const message = `Request body too large: at most ${limit / 1024} KiB`;
  return oauth ? c.json({ error: "invalid_request", error_description: message }, 413) : c.json({ error: message, reason: "RequestTooLarge" }, 413);
}

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.use("/api/v1/auth/*", bodyLimit({ maxSize: AUTH_BODY_MAX_BYTES, onError: (c) => bodyTooLarge(c, AUTH_BODY_MAX_BYTES, true) }));
  app.use("*", bodyLimit({ maxSize: API_BODY_MAX_BYTES, onError: (c) => bodyTooLarge(c, API_BODY_MAX_BYTES, false) }));

  app.get("/healthz", (c) => c.json({ status: "ok", version: VERSION }));

  app.get("/readyz", async (c) => {
    const failed: Record<string, string> = {};
    await Promise.all(
      deps.readiness.map(async (r) => {
        try {
          await r.check();
        } catch (e) {
          failed[r.name] = (e as Error).message;
        }
      }),
    );
    if (Object.keys(failed).length) {
      deps.logger.warn("not ready", { failed });
      return c.json({ status: "not ready", failed }, 503);
    }
    return c.json({ status: "ready" });
  });

  app.route("/download", downloadRoutes(deps.selfExecutable));
  app.route("/", assetRoutes());

  const publicUrl = deps.publicUrl ?? (() => "https://127.0.0.1:8443");
  if (deps.access && deps.auth) {
    // Before the bearer-authenticated API: these endpoints are how a CLI gets its first token.
    app.route("/api/v1/auth", authRoutes({ device: deps.auth.device, sessions: deps.auth.cliSessions, logger: deps.logger }));
    app.route("/", portalRoutes({
      access: deps.access, sessions: deps.auth.portalSessions, device: deps.auth.device, bootstrap: deps.auth.bootstrap,
      oidc: deps.auth.oidc, allowedDomains: deps.auth.allowedDomains, publicUrl, logger: deps.logger,
    }));
    const isClusterOnline = deps.isClusterOnline ?? (() => false);
    const views = new OrgViews({ access: deps.access, publicUrl, isClusterOnline });
    app.route("/", portalPages({ access: deps.access, sessions: deps.auth.portalSessions, views, sessionCookie: SESSION_COOKIE, publicUrl, logger: deps.logger }));
    app.route("/org", orgRoutes({ access: deps.access, sessions: deps.auth.portalSessions, publicUrl, caPem: deps.caPem, logger: deps.logger, isClusterOnline, views }));
  }
  if (deps.access && deps.audit) app.route("/api/v1", auditRoutes({ access: deps.access, audit: deps.audit, stats: deps.auditStats, logger: deps.logger }));
  if (deps.access) {
    app.route("/api/v1", accessRoutes({ access: deps.access, publicUrl, caPem: deps.caPem, logger: deps.logger, isClusterOnline: deps.isClusterOnline ?? (() => false) }));
  }

  app.notFound((c) => c.json({ error: "Not found", reason: "NotFound" }, 404));
  app.onError((err, c) => {
    deps.logger.error("unhandled error", { err, path: c.req.path });
    return c.json({ error: "Internal error", reason: "InternalError" }, 500);
  });
  return app;
}
