import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { addonDirs, installAddon } from "./sqlite.ts";

const isRoot = process.getuid?.() === 0;
const addon = new Uint8Array(Buffer.from("the real better_sqlite3.node"));
const addonName = `better_sqlite3-${createHash("sha256").update(addon).digest("hex").slice(0, 16)}.node`;

function withDir(fn: (dir: string) => void) {
  return () => {
    const dir = mkdtempSync(join(tmpdir(), "ward-addon-"));
    try {
      fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test("the temp-dir fallback is a per-user directory, not one shared by every user", () => {
  const dirs = addonDirs({ XDG_CACHE_HOME: "/home/me/.cache" });
  assert.deepEqual(dirs, [join("/home/me/.cache", "ward", "native"), join(tmpdir(), `ward-${process.getuid!()}`)]);
});

test("the addon is written into a new 0700 directory and reused while its content matches", withDir((dir) => {
  const cache = join(dir, "ward-1");
  const file = installAddon(addon, [cache]);
  assert.equal(file, join(cache, addonName));
  assert.deepEqual(new Uint8Array(readFileSync(file)), addon);
  assert.equal(statSync(cache).mode & 0o777, 0o700);
  const ino = statSync(file).ino;
  assert.equal(installAddon(addon, [cache]), file);
  assert.equal(statSync(file).ino, ino, "a matching file is not rewritten");
  assert.deepEqual(readdirSync(cache), [addonName], "no temporary file is left");
}));

test("a planted file under the addon's name is replaced before it could be loaded", withDir((dir) => {
  const cache = join(dir, "cache");
  mkdirSync(cache, { mode: 0o700 });
  writeFileSync(join(cache, addonName), "planted code");
  const file = installAddon(addon, [cache]);
  assert.deepEqual(new Uint8Array(readFileSync(file)), addon);
}));

test("a cache directory of ours that others may write to is made private first", withDir((dir) => {
  const cache = join(dir, "cache");
  mkdirSync(cache);
  chmodSync(cache, 0o777);
  installAddon(addon, [cache]);
  assert.equal(statSync(cache).mode & 0o777, 0o700);
}));

test("a symlink in place of the cache directory is replaced by a real one, its target left alone", withDir((dir) => {
  const elsewhere = join(dir, "elsewhere");
  mkdirSync(elsewhere, { mode: 0o700 });
  const cache = join(dir, "cache");
  symlinkSync(elsewhere, cache);
  const file = installAddon(addon, [cache]);
  assert.equal(file, join(cache, addonName));
  assert.ok(lstatSync(cache).isDirectory());
  assert.deepEqual(readdirSync(elsewhere), []);
}));

test("another user's directory is never used: the next one is, or a clear error says what to do", { skip: !isRoot && "needs root to chown" }, withDir((dir) => {
  const theirs = join(dir, "theirs");
  mkdirSync(theirs, { mode: 0o700 });
  chownSync(theirs, 65534, 65534);
  const ours = join(dir, "ours");
  assert.equal(installAddon(addon, [theirs, ours]), join(ours, addonName));
  assert.deepEqual(readdirSync(theirs), []);
  assert.throws(() => installAddon(addon, [theirs]), /Cannot write the SQLite addon to a private cache directory \(set XDG_CACHE_HOME .*\): .*theirs belongs to uid 65534, not to this user \(uid 0\), so Ward loads no code from it: have it removed/);
}));

test("another user's symlink is refused, not followed", { skip: !isRoot && "needs root to chown" }, withDir((dir) => {
  const target = join(dir, "target");
  mkdirSync(target, { mode: 0o700 });
  const cache = join(dir, "cache");
  symlinkSync(target, cache);
  lchownSync(cache, 65534, 65534);
  assert.throws(() => installAddon(addon, [cache]), /belongs to uid 65534/);
  assert.deepEqual(readdirSync(target), []);
}));
