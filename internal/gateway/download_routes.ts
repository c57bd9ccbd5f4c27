/**
 * The gateway serves its own executable, so an agent install needs no registry and no second
 * artifact: `GET /download/ward-<os>-<arch>` (the gateway's own platform only) with its SHA-256 in
 * `X-Ward-Sha256`, and `GET /download/ward-<os>-<arch>.sha256` (`<hex>  ward-<os>-<arch>`).
 * Unauthenticated on purpose: the file holds no secret, and the install manifest pins its SHA-256,
 * so what the init step trusts is the pin, not this route. From source (not the single executable)
 * both answer 404 with the reason. `GET /download` says, as JSON, what is served and its SHA-256.
 */
import { createHash } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { Readable } from "node:stream";
import { Hono } from "hono";

export type SelfExecutable = { path: string; name: string } | { reason: string; name: string };

/** This process's executable when it runs as Ward's single executable. */
export function selfExecutable(): SelfExecutable {
  const name = `ward-${process.platform}-${process.arch}`;
  const sea = process.getBuiltinModule("node:sea") as { isSea?: () => boolean } | undefined;
  if (sea?.isSea?.() !== true) return { name, reason: "The gateway runs from source, not as the single executable: build it (node scripts/build.ts) or use an agent image (ward agent manifest --image)" };
  return { name, path: process.execPath };
}

export function downloadRoutes(exe: SelfExecutable = selfExecutable()): Hono {
  const app = new Hono();
  let digest: Promise<string> | undefined;
  const sha256 = (path: string) =>
    (digest ??= new Promise<string>((resolve, reject) => {
      const h = createHash("sha256");
      createReadStream(path).on("data", (b) => h.update(b)).on("error", reject).on("end", () => resolve(h.digest("hex")));
    }).catch((e: unknown) => {
      digest = undefined;
      throw e;
    }));
  const missing = (file: string) =>
    "path" in exe ? `This gateway serves only ${exe.name} (its own platform), not ${file}` : exe.reason;

  // What this gateway serves, for `ward agent manifest`: {"name": …, "sha256": …}, or 404 with why.
  app.get("/", async (c) => {
    if (!("path" in exe)) return c.json({ error: exe.reason, reason: "NotFound" }, 404);
    return c.json({ name: exe.name, sha256: await sha256(exe.path), path: `/download/${exe.name}` });
  });

  app.get("/:file", async (c) => {
    const file = c.req.param("file");
    const sumFile = file.endsWith(".sha256");
    const base = sumFile ? file.slice(0, -".sha256".length) : file;
    if (!("path" in exe) || base !== exe.name) return c.json({ error: missing(base), reason: "NotFound" }, 404);
    const sum = await sha256(exe.path);
    c.header("X-Ward-Sha256", sum);
    c.header("Cache-Control", "no-cache");
    if (sumFile) return c.text(`${sum}  ${exe.name}\n`);
    const size = statSync(exe.path).size;
    c.header("Content-Type", "application/octet-stream");
    c.header("Content-Length", String(size));
    c.header("Content-Disposition", `attachment; filename="${exe.name}"`);
    return c.body(Readable.toWeb(createReadStream(exe.path)) as ReadableStream<Uint8Array>);
  });
  return app;
}
