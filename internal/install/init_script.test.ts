import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { INIT_SCRIPT } from "./index.ts";

// The script as the init container runs it, with sh and curl from this machine and a file:// URL.
function setUp() {
  const dir = mkdtempSync(join(tmpdir(), "ward-init-"));
  const src = join(dir, "served");
  writeFileSync(src, "#!/bin/sh\necho ward 1.2.3\n");
  mkdirSync(join(dir, "bin"));
  const sum = createHash("sha256").update("#!/bin/sh\necho ward 1.2.3\n").digest("hex");
  const dest = join(dir, "bin", "ward");
  const run = (sha: string) =>
    spawnSync("sh", ["-c", INIT_SCRIPT], { env: { PATH: process.env["PATH"], WARD_DOWNLOAD_URL: `file://${src}`, WARD_SHA256: sha, WARD_DEST: dest }, encoding: "utf8" });
  return { dir, sum, dest, run };
}

test("a file whose SHA-256 differs from the pin is deleted and the step fails", () => {
  const { dir, sum, run } = setUp();
  const r = run(sum.replace(/^./, sum[0] === "0" ? "1" : "0"));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /refusing/);
  assert.deepEqual(readdirSync(join(dir, "bin")), []);
});

test("a malformed pin is refused before any download", () => {
  const { dir, run } = setUp();
  for (const bad of ["", "abc", "A".repeat(64), "g".repeat(64), "a".repeat(65)]) {
    assert.equal(run(bad).status, 2, JSON.stringify(bad));
    assert.deepEqual(readdirSync(join(dir, "bin")), []);
  }
});

test("the pinned file is made executable (read-only) and runs", () => {
  const { sum, dest, run } = setUp();
  const r = run(sum);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(statSync(dest).mode & 0o777, 0o555);
  assert.equal(spawnSync(dest, { encoding: "utf8" }).stdout, "ward 1.2.3\n");
});

test("a failed download leaves nothing", () => {
  const { dir, sum, dest } = setUp();
  const r = spawnSync("sh", ["-c", INIT_SCRIPT], { env: { PATH: process.env["PATH"], WARD_DOWNLOAD_URL: `file://${dir}/missing`, WARD_SHA256: sum, WARD_DEST: dest }, encoding: "utf8" });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot download/);
  assert.deepEqual(readdirSync(join(dir, "bin")), []);
});
