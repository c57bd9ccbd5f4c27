/**
 * The portal's sign-in pages: SSO login (OIDC), the local bootstrap code, logout, and the device
 * approval page `ward login` sends people to (the pages behind sign-in are `portal_pages/`). Session cookie: HttpOnly, SameSite=Lax, Secure when
 * the gateway is reached over HTTPS. Every session-authenticated write needs the session's CSRF
 * token; pages may not be framed (the approval page is a clickjacking target). Text that others
 * chose (device names, the provider's emails and error descriptions) goes through `displayText`.
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import { AccessError, RateLimiter, type AccessService } from "../access/index.ts";
import { AuthError, csrfMatches, displayText, type Bootstrap, type DeviceFlow, type OidcIdentity, type OidcLogin, type PortalSession, type PortalSessions } from "../auth/index.ts";
import type { Logger } from "../log/index.ts";
import { clientIp } from "./auth_routes.ts";
import { httpErrorHandler } from "./error_handler.ts";

export const SESSION_COOKIE = "ward_session";
export const FLOW_COOKIE = "ward_login";
const PORTAL_PATHS = ["/login", "/auth/callback", "/bootstrap", "/logout", "/device"];

export interface PortalRoutesOptions {
  access: AccessService;
  sessions: PortalSessions;
  device: DeviceFlow;
  bootstrap: Bootstrap;
  /** Absent: no identity provider configured (bootstrap code only). */
  oidc?: OidcLogin | undefined;
  /** Email domains whose people become members at first sign-in. */
  allowedDomains: readonly string[];
  publicUrl: () => string;
  logger: Logger;
  now?: () => number;
}

type Env = { Variables: { session: PortalSession | null } };
type Page = HtmlEscapedString | Promise<HtmlEscapedString>;

function layout(title: string, body: Page): Page {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} &middot; Ward</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}
h1{font-size:1.4rem}code,.code{font:1.2rem ui-monospace,monospace;letter-spacing:.08em}
button,input{font:inherit;padding:.4rem .8rem}.muted{color:#57606a}.error{color:#b42318}form.inline{display:inline}</style>
</head><body><main>${body}</main></body></html>`;
}

/**
 * A browser's Origin header names this gateway: scheme, host and port of its public URL, or of the
 * URL the request came in on. The scheme is https when either says so, because a page served
 * over plain http on the same host (a network attacker can serve one) is another origin.
 */
export function sameOrigin(origin: string, publicUrl: string, requestUrl: string): boolean {
  try {
    const claimed = new URL(origin).origin;
    const pub = new URL(publicUrl);
    const req = new URL(requestUrl);
    const scheme = pub.protocol === "https:" || req.protocol === "https:" ? "https:" : "http:";
    return claimed === pub.origin || claimed === new URL(`${scheme}//${req.host}`).origin;
  } catch {
    return false;
  }
}

/** Lengths at which text from others is cut on pages. */
const SHOWN_EMAIL = 254;
const SHOWN_NAME = 100;
const SHOWN_MESSAGE = 500;
const SHOWN_ADDRESS = 64;

/** "2030-01-01 09:30:00 UTC": unambiguous for an approver in any time zone. */
function utcTime(iso: string): string {
  return `${iso.slice(0, 19).replace("T", " ")} UTC`;
}

/** An IPv4 client reached over a dual-stack socket is shown as plain IPv4. */
function shownAddress(address: string | null): string {
  return address ? displayText(address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, ""), SHOWN_ADDRESS) : "an unrecorded address";
}

/** The page for someone the provider signed in who has no usable membership; says what to do next. */
function noMembership(identity: OidcIdentity, membership: "none" | "disabled"): Page {
  const who = displayText(identity.email ?? identity.sub, SHOWN_EMAIL);
  const unverified = membership === "none" && identity.email !== undefined && !identity.emailVerified;
  const why = membership === "disabled" ? "this membership is disabled" : unverified ? "the identity provider has not verified this address" : "no admin has invited this address";
  const next = unverified
    ? html`<p>Verify this address with your identity provider (its admins may need to send the <code>email_verified</code> claim), then <a href="/login">sign in again</a>.</p>`
    : html`<p>Ask a Ward admin to invite you (<code>ward member invite ${identity.email ? who : "you@example.com"}</code>), then <a href="/login">sign in again</a>.</p>`;
  return html`<h1>You are not a member of this Ward organisation</h1>
<p>You signed in as <strong>${who}</strong>, but ${why}.</p>
${next}`;
}

/** Only same-site absolute paths are valid return targets (no `//host`, no `\\`). */
function safeReturnTo(v: string | undefined): string {
  return v && /^\/(?![/\\])[\x21-\x7e]*$/.test(v) ? v : "/";
}

export function portalRoutes(opts: PortalRoutesOptions): Hono<Env> {
  const app = new Hono<Env>();
  const secure = () => opts.publicUrl().startsWith("https:");
  const now = opts.now ?? Date.now;
  const limiterOpts = opts.now ? { now: opts.now } : {};
  const memberCodeLimiter = new RateLimiter({ burst: 10, perMinute: 10, ...limiterOpts });
  // Looser: people behind one NAT share an address.
  const addressCodeLimiter = new RateLimiter({ burst: 30, perMinute: 30, ...limiterOpts });
  const bootstrapLimiter = new RateLimiter({ burst: 5, perMinute: 5, ...limiterOpts });

  /** Every request that tries a user code (looked up, approved or denied) is one guess, for the member and for the address. */
  const takeCodeGuess = (c: Context<Env>, s: PortalSession) => {
    const wait = Math.max(memberCodeLimiter.take(s.member.id), addressCodeLimiter.take(clientIp(c)));
    if (wait) throw new AuthError("rate_limited", `Too many codes tried: wait ${wait} s and try again`, { retryAfter: wait });
  };

  const pageHeaders: MiddlewareHandler<Env> = async (c, next) => {
    c.header("Cache-Control", "no-store");
    c.header("X-Frame-Options", "DENY");
    c.header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    c.header("Referrer-Policy", "same-origin");
    c.set("session", await opts.sessions.get(getCookie(c, SESSION_COOKIE)));
    if (c.req.method === "POST") {
      // Cross-site form posts: refuse a foreign Origin outright; CSRF tokens are checked per route.
      const origin = c.req.header("origin");
      // "null" is what browsers send from privacy-sensitive contexts; the CSRF token still guards those.
      if (origin && origin !== "null" && !sameOrigin(origin, opts.publicUrl(), c.req.url)) {
        return c.html(layout("Forbidden", html`<h1>Forbidden</h1><p class="error">Cross-site request refused.</p>`), 403);
      }
    }
    await next();
  };
  // Only the portal's own paths (this app is mounted at the root beside the API).
  for (const p of PORTAL_PATHS) app.use(p, pageHeaders);

  app.onError(httpErrorHandler<Env, AuthError | AccessError>({
    // AccessError: an identity the access rules refuse (such as an unusable email from the provider).
    owns: (err) => err instanceof AuthError || err instanceof AccessError,
    render(err, c) {
      opts.logger.info("portal sign-in refused", { code: err.reason, why: err.message });
      // The message can carry the provider's words (error_description): shown cleaned.
      return c.html(layout("Sign-in failed", html`<h1>Sign-in failed</h1><p class="error">${displayText(err.message, SHOWN_MESSAGE)}</p><p><a href="/login">Start again</a></p>`), err.status as 400);
    },
    internal: (c) => c.html(layout("Error", html`<h1>Something went wrong</h1><p>Try again; if it persists, ask an admin to check the gateway log.</p>`), 500),
    logger: opts.logger,
    logMessage: "unhandled portal error",
  }));

  const startSession = async (c: Context<Env>, memberId: string, method: "oidc" | "bootstrap") => {
    const member = (await opts.access.member(memberId))!;
    const cookie = await opts.sessions.create(member, c.req.header("user-agent") ?? "");
    setCookie(c, SESSION_COOKIE, cookie, { path: "/", httpOnly: true, secure: secure(), sameSite: "Lax", maxAge: opts.sessions.ttlSeconds });
    opts.logger.info("portal session started", { member: member.id });
    opts.access.events.emit("audit", { action: "sign-in", actorId: member.id, actorEmail: member.email, detail: { method, user_agent: (c.req.header("user-agent") ?? "").slice(0, 256) } });
  };

  const requireSession = (c: Context<Env>): PortalSession | Response => {
    const s = c.get("session");
    if (s) return s;
    const back = c.req.path + (c.req.url.includes("?") ? c.req.url.slice(c.req.url.indexOf("?")) : "");
    return c.redirect(`/login?return_to=${encodeURIComponent(back)}`, 302);
  };

  const csrfField = (s: PortalSession) => html`<input type="hidden" name="_csrf" value="${s.csrfToken}">`;
  const checkCsrf = async (c: Context<Env>, s: PortalSession): Promise<Record<string, string>> => {
    const form = Object.fromEntries(new URLSearchParams(await c.req.text()));
    if (!csrfMatches(s, c.req.header("x-csrf-token") ?? form["_csrf"])) {
      throw new AuthError("invalid_request", "The form expired or did not come from this portal (CSRF check failed): reload the page and try again");
    }
    return form;
  };

  app.get("/login", async (c) => {
    const returnTo = safeReturnTo(c.req.query("return_to"));
    if (!opts.oidc) {
      const boot = await opts.bootstrap.active();
      return c.html(
        layout("Sign in", html`<h1>Sign in</h1><p>No identity provider is configured for this gateway.</p>
${boot ? html`<p><a href="/bootstrap?return_to=${encodeURIComponent(returnTo)}">Sign in with the one-time bootstrap code</a> printed by the gateway at its first start (or by <code>ward gateway bootstrap</code>).</p>` : html`<p class="muted">Ask an admin to configure SSO (<code>--oidc-issuer</code>), or run <code>ward gateway bootstrap</code> on the gateway host for a one-time admin code.</p>`}`),
      );
    }
    const { url, flowCookie } = await opts.oidc.begin(returnTo);
    setCookie(c, FLOW_COOKIE, flowCookie, { path: "/auth", httpOnly: true, secure: secure(), sameSite: "Lax", maxAge: 600 });
    return c.redirect(url, 302);
  });

  app.get("/auth/callback", async (c) => {
    if (!opts.oidc) return c.notFound();
    const flow = getCookie(c, FLOW_COOKIE);
    deleteCookie(c, FLOW_COOKIE, { path: "/auth", secure: secure() });
    const callback = new URL(c.req.url);
    const external = new URL(`${opts.publicUrl()}/auth/callback${callback.search}`);
    const { identity, returnTo } = await opts.oidc.finish(flow, external);
    const member = await opts.access.memberForLogin(identity, opts.allowedDomains);
    if (!member || member.status !== "active") {
      opts.logger.info("sign-in without membership", { sub: identity.sub, emailVerified: identity.emailVerified });
      return c.html(layout("No access", noMembership(identity, member ? "disabled" : "none")), 403);
    }
    await startSession(c, member.id, "oidc");
    return c.redirect(safeReturnTo(returnTo), 302);
  });

  app.get("/bootstrap", async (c) => {
    if (!(await opts.bootstrap.active())) return c.html(layout("Bootstrap", html`<h1>Bootstrap is off</h1><p>The one-time code was used or turned off. Run <code>ward gateway bootstrap</code> on the gateway host for a new one.</p>`), 404);
    const returnTo = safeReturnTo(c.req.query("return_to"));
    return c.html(
      layout("Bootstrap", html`<h1>First sign-in</h1><form method="post" action="/bootstrap">
<input type="hidden" name="return_to" value="${returnTo}">
<p><label>One-time code <input name="code" autocomplete="off" required></label></p><button type="submit">Sign in as admin</button></form>`),
    );
  });

  app.post("/bootstrap", async (c) => {
    const wait = bootstrapLimiter.take(clientIp(c));
    if (wait) throw new AuthError("rate_limited", `Too many attempts: wait ${wait} s`, { retryAfter: wait });
    const form = Object.fromEntries(new URLSearchParams(await c.req.text()));
    const member = await opts.bootstrap.redeem(form["code"] ?? "");
    if (!member) throw new AuthError("login_failed", "That code is wrong, expired or already used");
    opts.logger.info("bootstrap code redeemed", { member: member.id });
    await startSession(c, member.id, "bootstrap");
    return c.redirect(safeReturnTo(form["return_to"]), 302);
  });

  app.post("/logout", async (c) => {
    const s = c.get("session");
    if (s) await checkCsrf(c, s);
    await opts.sessions.destroy(getCookie(c, SESSION_COOKIE));
    deleteCookie(c, SESSION_COOKIE, { path: "/", secure: secure() });
    return c.html(layout("Signed out", html`<h1>Signed out</h1><p><a href="/login">Sign in again</a></p>`));
  });

  app.get("/device", async (c) => {
    const s = requireSession(c);
    if (s instanceof Response) return s;
    const code = c.req.query("user_code");
    if (!code) {
      return c.html(
        layout("Device sign-in", html`<h1>Sign in a device</h1><form method="get" action="/device">
<p><label>Code shown by <code>ward login</code> <input name="user_code" autocomplete="off" required></label></p><button type="submit">Continue</button></form>`),
      );
    }
    takeCodeGuess(c, s);
    const pending = await opts.device.lookup(code);
    if (!pending) {
      return c.html(layout("Unknown code", html`<h1>Code not found</h1><p class="error">The code is wrong, already used or expired. Run <code>ward login</code> again and enter the new code.</p><p><a href="/device">Try another code</a></p>`), 404);
    }
    const minutes = Math.max(1, Math.round((Date.parse(pending.expires_at) - now()) / 60_000));
    return c.html(
      layout("Confirm device", html`<h1>Sign in this device?</h1>
<p><strong>${displayText(pending.client_name, SHOWN_NAME)}</strong> asks to sign in to Ward as <strong>${displayText(s.member.email, SHOWN_EMAIL)}</strong>.</p>
<p id="requested">Requested from <strong>${shownAddress(pending.client_address)}</strong> at ${utcTime(pending.created_at)}.</p>
<p>Code: <span class="code" id="user-code">${pending.user_code}</span> &mdash; check it matches your terminal. It expires in about ${minutes} min.</p>
<p class="muted">Only approve a sign-in you started yourself.</p>
<form class="inline" method="post" action="/device">${csrfField(s)}<input type="hidden" name="user_code" value="${pending.user_code}"><button type="submit" name="action" value="approve" id="approve">Approve</button></form>
<form class="inline" method="post" action="/device">${csrfField(s)}<input type="hidden" name="user_code" value="${pending.user_code}"><button type="submit" name="action" value="deny" id="deny">Deny</button></form>`),
    );
  });

  app.post("/device", async (c) => {
    const s = requireSession(c);
    if (s instanceof Response) return s;
    const form = await checkCsrf(c, s);
    takeCodeGuess(c, s);
    const approve = form["action"] === "approve";
    const ok = await opts.device.decide(form["user_code"] ?? "", s.member.id, approve);
    if (!ok) return c.html(layout("Unknown code", html`<h1>Code not found</h1><p class="error">The code was already used or expired: run <code>ward login</code> again.</p>`), 404);
    opts.logger.info(approve ? "device sign-in approved" : "device sign-in denied", { member: s.member.id });
    opts.access.events.emit("audit", { action: approve ? "device.approve" : "device.deny", actorId: s.member.id, actorEmail: s.member.email });
    return c.html(
      layout(approve ? "Approved" : "Denied", approve ? html`<h1 id="result">Device approved</h1><p>You can close this page and return to your terminal.</p>` : html`<h1 id="result">Sign-in denied</h1><p>The device was not signed in.</p>`),
    );
  });

  return app;
}
