/** The portal frame: CSRF meta tag, hashed external script and stylesheet only, strict CSP and secure headers. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { html } from "hono/html";
import { portalScript, portalStyle } from "./assets.ts";
import { layout, pageHeaders, PORTAL_CSP } from "./layout.ts";

test("a page carries the CSRF meta tag, the hashed script and stylesheet, and nothing inline", async () => {
  const viewer = { email: "a<b>@example.com", role: "admin", csrfToken: "tok\"en" };
  const app = new Hono().use(pageHeaders()).get("/", (c) => c.html(layout({ title: "Clusters <x>", viewer, body: html`<p>hi</p>` })));
  const res = await app.request("/");
  const body = await res.text();
  assert.match(body, /<meta name="csrf-token" content="tok&quot;en">/);
  assert.match(body, /<input type="hidden" name="_csrf" value="tok&quot;en">/, "sign-out carries the token");
  assert.match(body, /Clusters &lt;x&gt; &middot; Ward/);
  assert.match(body, /a&lt;b&gt;@example.com/);
  assert.ok(body.includes(`<script src="${portalScript.path}" defer></script>`));
  assert.ok(body.includes(`<link rel="stylesheet" href="${portalStyle.path}">`));
  assert.equal(body.match(/<script/g)?.length, 1);
  assert.doesNotMatch(body, /<style|style="/, "no inline style");
  assert.equal(res.headers.get("content-security-policy"), PORTAL_CSP);
  assert.match(PORTAL_CSP, /script-src 'self';/);
  assert.match(PORTAL_CSP, /style-src 'self';/);
  assert.equal(res.headers.get("x-frame-options"), "DENY");
  assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  assert.equal(res.headers.get("cache-control"), "no-store");
});
