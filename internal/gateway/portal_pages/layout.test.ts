/** The portal frame: CSRF meta tag, hashed external script only, strict CSP and secure headers. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { html } from "hono/html";
import { portalScript } from "./assets.ts";
import { layout, pageHeaders, PORTAL_CSP } from "./layout.ts";

test("a page carries the CSRF meta tag, the hashed script and no inline script", async () => {
  const app = new Hono().use(pageHeaders()).get("/", (c) => c.html(layout("Clusters <x>", "tok\"en", html`<p>hi</p>`)));
  const res = await app.request("/");
  const body = await res.text();
  assert.match(body, /<meta name="csrf-token" content="tok&quot;en">/);
  assert.match(body, /Clusters &lt;x&gt; · Ward/);
  assert.ok(body.includes(`<script src="${portalScript.path}" defer></script>`));
  assert.equal(body.match(/<script/g)?.length, 1);
  assert.equal(res.headers.get("content-security-policy"), PORTAL_CSP);
  assert.match(PORTAL_CSP, /script-src 'self';/);
  assert.equal(res.headers.get("x-frame-options"), "DENY");
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  assert.equal(res.headers.get("cache-control"), "no-store");
});
