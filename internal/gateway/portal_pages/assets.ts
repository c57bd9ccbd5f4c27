/**
 * Static portal assets (the script and the stylesheet) served from memory at content-hashed paths
 * (`/assets/portal.<hash>.js`), so they can be cached for a year: a new build changes the hash and
 * therefore the URL. Nothing is fetched from elsewhere: the pages work offline.
 */
import { createHash } from "node:crypto";
import { Hono } from "hono";
import { PORTAL_SCRIPT } from "./portal_script.ts";
import { PORTAL_CSS } from "./portal_style.ts";

interface Asset { path: string; body: string; type: string }

function hashed(name: string, ext: string, body: string, type: string): Asset {
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 16);
  return { path: `/assets/${name}.${hash}.${ext}`, body, type };
}

/** The portal script's URL, for `<script src>` in the pages. */
export const portalScript: Asset = hashed("portal", "js", PORTAL_SCRIPT, "text/javascript; charset=utf-8");
/** The stylesheet's URL, for `<link rel=stylesheet>`. */
export const portalStyle: Asset = hashed("portal", "css", PORTAL_CSS, "text/css; charset=utf-8");

/** Routes for the hashed assets; mount at `/`. */
export function assetRoutes(): Hono {
  const app = new Hono();
  for (const a of [portalScript, portalStyle]) {
    app.get(a.path, (c) => c.body(a.body, 200, {
      "Content-Type": a.type,
      "Cache-Control": "public, max-age=31536000, immutable",
      "X-Content-Type-Options": "nosniff",
    }));
  }
  return app;
}
