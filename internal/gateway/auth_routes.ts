/**
 * The CLI's sign-in endpoints under `/api/v1/auth` (no bearer token needed): device
 * authorization, the token endpoint (device code and refresh grants) and logout.
 * Bodies are form-encoded (RFC 6749/8628) or JSON; errors are `{ error, error_description }`.
 */
import { Hono, type Context } from "hono";
import { getConnInfo } from "@hono/node-server/conninfo";
import { RateLimiter } from "../access/index.ts";
import { AuthError, DEVICE_GRANT_TYPE, type CliSessions, type DeviceFlow } from "../auth/index.ts";
import type { Logger } from "../log/index.ts";
import { httpErrorHandler } from "./error_handler.ts";

export interface AuthRoutesOptions {
  device: DeviceFlow;
  sessions: CliSessions;
  logger: Logger;
  now?: () => number;
}

async function params(c: Context): Promise<Record<string, string>> {
  const type = c.req.header("content-type") ?? "";
  const text = await c.req.text();
  if (text.length > 16 * 1024) throw new AuthError("invalid_request", "Request body too large");
  if (type.startsWith("application/json")) {
    let v: unknown;
    try {
      v = JSON.parse(text || "{}");
    } catch {
      throw new AuthError("invalid_request", "The body is not valid JSON");
    }
    if (!v || typeof v !== "object" || Array.isArray(v)) throw new AuthError("invalid_request", "The body must be a JSON object");
    return Object.fromEntries(Object.entries(v).filter(([, x]) => typeof x === "string")) as Record<string, string>;
  }
  return Object.fromEntries(new URLSearchParams(text));
}

export function clientIp(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown";
  }
}

export function authRoutes(opts: AuthRoutesOptions): Hono {
  const api = new Hono();
  const clock = opts.now ? { now: opts.now } : {};
  const startLimiter = new RateLimiter({ burst: 20, perMinute: 20, ...clock });
  // Per client address: a device-login poll every 5 s and refreshes fit easily; guessing does not.
  const tokenLimiter = new RateLimiter({ burst: 30, perMinute: 60, ...clock });

  api.onError(httpErrorHandler({
    owns: (err) => err instanceof AuthError,
    render(err, c) {
      c.header("Cache-Control", "no-store");
      return c.json({ error: err.reason, error_description: err.message }, err.status as 400);
    },
    internal: (c) => c.json({ error: "server_error", error_description: "Internal error" }, 500),
    logger: opts.logger,
    logMessage: "unhandled sign-in error",
  }));

  api.post("/device", async (c) => {
    const wait = startLimiter.take(clientIp(c));
    if (wait) throw new AuthError("rate_limited", `Too many sign-in attempts: try again in ${wait} s`, { retryAfter: wait });
    const p = await params(c);
    const auth = await opts.device.start(p["client_name"], { clientAddress: clientIp(c) });
    c.header("Cache-Control", "no-store");
    return c.json(auth);
  });

  api.post("/token", async (c) => {
    const wait = tokenLimiter.take(clientIp(c));
    if (wait) throw new AuthError("rate_limited", `Too many token requests from this address: try again in ${wait} s`, { retryAfter: wait });
    const p = await params(c);
    c.header("Cache-Control", "no-store");
    switch (p["grant_type"]) {
      case DEVICE_GRANT_TYPE: {
        const t = await opts.device.poll(p["device_code"]);
        opts.logger.info("CLI signed in", { member: t.member.id, session: t.session_id });
        return c.json(t);
      }
      case "refresh_token": {
        if (!p["refresh_token"]) throw new AuthError("invalid_request", "refresh_token is required");
        return c.json(await opts.sessions.refresh(p["refresh_token"]));
      }
      default:
        throw new AuthError("unsupported_grant_type", `grant_type must be ${DEVICE_GRANT_TYPE} or refresh_token`);
    }
  });

  api.post("/logout", async (c) => {
    const wait = tokenLimiter.take(clientIp(c));
    if (wait) throw new AuthError("rate_limited", `Too many requests from this address: try again in ${wait} s`, { retryAfter: wait });
    const p = await params(c);
    if (!p["refresh_token"]) throw new AuthError("invalid_request", "refresh_token is required");
    await opts.sessions.revoke(p["refresh_token"]);
    return c.body(null, 204);
  });

  return api;
}
