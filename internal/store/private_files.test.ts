import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createLogger } from "../log/index.ts";
import { ensurePrivateDir, ensurePrivateFile, tightenPrivateFile, writePrivateFile } from "./private_files.ts";

const isRoot = process.getuid?.() === 0;
const mode = (p: string) => statSync(p).mode & 0o777;

function withDir(fn: (dir: string) => void | Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), "ward-private-"));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, logger: createLogger({ level: "debug", write: (l) => lines.push(JSON.parse(l)) }) };
}

/** Runs `fn` under `mask`: the modes below must not depend on the caller's umask. */
function underUmask<T>(mask: number, fn: () => T): T {
  const old = process.umask(mask);
  try {
    return fn();
  } finally {
    process.umask(old);
  }
}

test("a missing directory is created 0700, whatever the umask", withDir((dir) => {
  const data = join(dir, "a", "b");
  underUmask(0, () => ensurePrivateDir(data));
  assert.equal(mode(data), 0o700);
  assert.equal(mode(join(dir, "a")), 0o700);
}));

for (const bad of [0o755, 0o750, 0o705, 0o770, 0o777, 0o701]) {
  test(`a directory with mode 0${bad.toString(8)} is refused with the path, its mode and the chmod fix`, withDir((dir) => {
    const data = join(dir, "data");
    mkdirSync(data);
    chmodSync(data, bad);
    assert.throws(() => ensurePrivateDir(data), (e: Error) => {
      assert.equal(e.name, "StoreError");
      assert.ok(e.message.includes(`(mode 0${bad.toString(8)})`), e.message);
      assert.ok(e.message.includes(`run 'chmod 700 ${data}'`), e.message);
      return true;
    });
  }));
}

test("a private directory passes, as does a symlink to one", withDir((dir) => {
  const data = join(dir, "data");
  mkdirSync(data, { mode: 0o700 });
  ensurePrivateDir(data);
  chmodSync(data, 0o500);
  ensurePrivateDir(data);
  const link = join(dir, "link");
  symlinkSync(data, link);
  ensurePrivateDir(link);
  chmodSync(data, 0o755);
  assert.throws(() => ensurePrivateDir(link), /mode 0755/);
}));

test("a directory owned by another user is refused", { skip: !isRoot && "needs root to chown" }, withDir((dir) => {
  const data = join(dir, "data");
  mkdirSync(data, { mode: 0o700 });
  chownSync(data, 65534, 65534);
  assert.throws(() => ensurePrivateDir(data), /The directory .*data belongs to uid 65534, not to this user \(uid 0\): run Ward as its owner/);
}));

test("a file in the way of a directory is a clear error", withDir((dir) => {
  const file = join(dir, "file");
  writeFileSync(file, "");
  assert.throws(() => ensurePrivateDir(join(file, "sub")), /Cannot create the directory .*ENOTDIR/);
  assert.throws(() => ensurePrivateDir(file), /is not a directory: remove it/);
}));

test("an existing secrets file that others can read is made private, and the log says so", withDir((dir) => {
  const file = join(dir, "key");
  writeFileSync(file, "secret");
  chmodSync(file, 0o644);
  const { lines, logger } = capture();
  tightenPrivateFile(file, logger);
  assert.equal(mode(file), 0o600);
  assert.equal(lines.length, 1);
  assert.deepEqual([lines[0]!.level, lines[0]!.file, lines[0]!.mode, lines[0]!.newMode], ["warn", file, "0644", "0600"]);
  tightenPrivateFile(file, logger); // already private: nothing to say
  tightenPrivateFile(join(dir, "missing"), logger);
  assert.equal(lines.length, 1);
}));

test("an executable secrets file keeps its owner bits", withDir((dir) => {
  const file = join(dir, "addon");
  writeFileSync(file, "");
  chmodSync(file, 0o755);
  tightenPrivateFile(file, capture().logger);
  assert.equal(mode(file), 0o700);
}));

test("ensurePrivateFile creates an empty 0600 file under any umask and tightens an existing one", withDir((dir) => {
  const file = join(dir, "ward.db");
  underUmask(0, () => ensurePrivateFile(file, capture().logger));
  assert.equal(mode(file), 0o600);
  assert.equal(readFileSync(file, "utf8"), "");
  writeFileSync(file, "pages");
  chmodSync(file, 0o664);
  ensurePrivateFile(file, capture().logger);
  assert.equal(mode(file), 0o600);
  assert.equal(readFileSync(file, "utf8"), "pages");
}));

test("writePrivateFile replaces a wider existing file with a 0600 one and leaves no temporary file", withDir((dir) => {
  const file = join(dir, "admin-token");
  writeFileSync(file, "old");
  chmodSync(file, 0o644);
  underUmask(0, () => writePrivateFile(file, "new\n"));
  assert.equal(readFileSync(file, "utf8"), "new\n");
  assert.equal(mode(file), 0o600);
  assert.deepEqual(readdirSync(dir), ["admin-token"]);
}));
