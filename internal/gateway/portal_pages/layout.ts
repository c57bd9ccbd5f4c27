/**
 * The frame of the portal's pages: a skip link, the header (the product, the navigation, who is
 * signed in and a sign-out form), the CSRF token in `<meta name="csrf-token">` for the script to send
 * as `X-CSRF-Token`, the hashed stylesheet and script (no inline script or style), one confirmation
 * dialog the script reuses, and the headers that go with it — a strict Content-Security-Policy
 * (`script-src 'self'`, `connect-src 'self'` for the `/org` API and its event stream) plus hono's
 * `secureHeaders`.
 */
import type { MiddlewareHandler } from "hono";
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import { secureHeaders } from "hono/secure-headers";
import { portalScript, portalStyle } from "./assets.ts";

export const PORTAL_CSP = "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

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

/** Who is signed in, for the header (absent on pages shown before sign-in). */
export interface Viewer {
  email: string;
  role: string;
  csrfToken: string;
}

export interface PageOptions {
  title: string;
  /** The heading (default: the title). */
  heading?: Html;
  viewer: Viewer;
  /** Which navigation entry is current. */
  nav?: "clusters";
  body: Html;
}

/** A whole page. */
export function layout(p: PageOptions): Html {
  const current = (name: string) => (p.nav === name ? html` aria-current="page"` : "");
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${p.viewer.csrfToken}">
<title>${p.title} &middot; Ward</title>
<link rel="stylesheet" href="${portalStyle.path}">
<script src="${portalScript.path}" defer></script>
</head><body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="/">Ward</a>
<nav aria-label="Main"><a href="/"${current("clusters")}>Clusters</a></nav>
<div class="who"><span>${p.viewer.email} &middot; ${p.viewer.role}</span>
<form method="post" action="/logout"><input type="hidden" name="_csrf" value="${p.viewer.csrfToken}"><button type="submit" class="link">Sign out</button></form></div>
</header>
<main id="main" tabindex="-1">
<h1>${p.heading ?? p.title}</h1>
<noscript><p class="notice warn">This page shows what you have without JavaScript; to change anything, allow this gateway's own script (nothing is loaded from elsewhere).</p></noscript>
${p.body}
</main>
<dialog id="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-text">
<form method="dialog">
<h2 id="confirm-title">Are you sure?</h2>
<p id="confirm-text"></p>
<div class="actions"><button value="cancel" id="confirm-cancel" autofocus>Cancel</button><button value="ok" class="danger" id="confirm-ok">Confirm</button></div>
</form>
</dialog>
</body></html>`;
}
