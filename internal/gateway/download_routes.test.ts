import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { downloadRoutes } from "./download_routes.ts";

test("serves its own executable with its SHA-256, and nothing else", async () => {
  const path = join(mkdtempSync(join(tmpdir(), "ward-dl-")), "ward");
  const bytes = Buffer.from("#!/bin/sh\necho ward\n");
  writeFileSync(path, bytes);
  const sum = createHash("sha256").update(bytes).digest("hex");
  const app = downloadRoutes({ path, name: "ward-linux-x64" });
  const res = await app.request("/ward-linux-x64");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-ward-sha256"), sum);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
  assert.equal(await (await app.request("/ward-linux-x64.sha256")).text(), `${sum}  ward-linux-x64\n`);
  assert.deepEqual(await (await app.request("/")).json(), { name: "ward-linux-x64", sha256: sum, path: "/download/ward-linux-x64" });
  const other = await app.request("/ward-darwin-arm64");
  assert.equal(other.status, 404);
  assert.match((await other.json()).error, /only ward-linux-x64/);
});

test("from source: 404 with the reason", async () => {
  const app = downloadRoutes({ name: "ward-linux-x64", reason: "The gateway runs from source" });
  for (const p of ["/", "/ward-linux-x64", "/ward-linux-x64.sha256"]) {
    const res = await app.request(p);
    assert.equal(res.status, 404);
    assert.match((await res.json()).error, /from source/);
  }
});
