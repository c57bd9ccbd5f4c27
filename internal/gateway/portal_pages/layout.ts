/**
 * The frame of the portal's pages: the CSRF token in `<meta name="csrf-token">` for the script to
 * send as `X-CSRF-Token`, the hashed script (no inline script), and the headers that go with it — a
 * strict Content-Security-Policy (`script-src 'self'`, `connect-src 'self'` for the `/org` API and
 * its event stream) plus hono's `secureHeaders`.
 */
import type { MiddlewareHandler } from "hono";
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import { secureHeaders } from "hono/secure-headers";
import { portalScript } from "./assets.ts";

export const PORTAL_CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Headers for every portal page: `secureHeaders`, the strict CSP, and no caching. */
export function pageHeaders(): MiddlewareHandler {
  const secure = secureHeaders({ xFrameOptions: "DENY", referrerPolicy: "no-referrer" });
  return async (c, next) => {
    await secure(c, async () => {
      await next();
    });
    c.header("Content-Security-Policy", PORTAL_CSP);
    c.header("Cache-Control", "no-store");
  };
}

/** A whole page: title, the session's CSRF token, and the body. */
export function layout(title: string, csrfToken: string, body: HtmlEscapedString | Promise<HtmlEscapedString>) {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${csrfToken}">
<title>${title} · Ward</title>
<script src="${portalScript.path}" defer></script>
</head><body><main>
<h1>${title}</h1>
${body}
</main></body></html>`;
}
