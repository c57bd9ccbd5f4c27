/** The hashed portal assets: stable path per content, long cache, nothing else served. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { silentLogger } from "../../log/index.ts";
import { createApp } from "../app.ts";
import { assetRoutes, portalScript } from "./assets.ts";
import { PORTAL_SCRIPT } from "./portal_script.ts";

test("the portal script is served at its content-hashed path with a long cache", async () => {
  assert.match(portalScript.path, /^\/assets\/portal\.[0-9a-f]{16}\.js$/);
  const res = await assetRoutes().request(portalScript.path);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("cache-control"), "public, max-age=31536000, immutable");
  assert.match(res.headers.get("content-type") ?? "", /^text\/javascript/);
  assert.equal(await res.text(), PORTAL_SCRIPT);
});

test("another hash or name is not served", async () => {
  assert.equal((await assetRoutes().request("/assets/portal.0000000000000000.js")).status, 404);
  assert.equal((await assetRoutes().request("/assets/other.js")).status, 404);
});

test("the script sends the CSRF token from the meta tag and has no inline-eval constructs", () => {
  assert.match(PORTAL_SCRIPT, /X-CSRF-Token/);
  assert.match(PORTAL_SCRIPT, /meta\[name="csrf-token"\]/);
  assert.doesNotMatch(PORTAL_SCRIPT, /\beval\(|new Function\(/);
});

test("createApp serves the portal script", async () => {
  const app = createApp({ logger: silentLogger, readiness: [] });
  const res = await app.request(portalScript.path);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), PORTAL_SCRIPT);
});
