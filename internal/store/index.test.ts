import assert from "node:assert/strict";
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createLogger } from "../log/index.ts";
import { openStore } from "./index.ts";

test("opens a fresh SQLite file in WAL mode, migrates, and reopens idempotently", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ward-store-"));
  try {
    const url = `sqlite:${join(dir, "nested", "ward.db")}`;
    let store = await openStore(url);
    await store.db.insertInto("settings").values({ key: "k", value: "v", updated_at: "now" }).execute();
    await store.ping();
    await store.close();
    store = await openStore(url);
    const row = await store.db.selectFrom("settings").selectAll().where("key", "=", "k").executeTakeFirst();
    assert.equal(row?.value, "v");
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an unusable store URL is a clear error", async () => {
  await assert.rejects(openStore("postgres://x"), /The PostgreSQL store URL postgres:\/\/x\/? names no database: add \/DATABASE/);
  await assert.rejects(openStore("postgres://u:hunter2@db/ward?pool_max=lots"), (e: Error) => /Invalid pool_max="lots" in the store URL/.test(e.message) && !e.message.includes("hunter2"));
  await assert.rejects(openStore("sqlite:/etc/hostname/sub/ward.db"), /Cannot create the directory .*ENOTDIR/);
});

/** A fresh 0700 directory (as `mkdtemp` makes it) for one test, removed after. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ward-store-"));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const modeOf = (p: string) => statSync(p).mode & 0o777;

test("the database and the WAL and SHM files SQLite makes beside it are 0600 under a 022 umask", () =>
  inTempDir(async (dir) => {
    const old = process.umask(0o022);
    try {
      const path = join(dir, "ward.db");
      const store = await openStore(`sqlite:${path}`);
      await store.db.insertInto("settings").values({ key: "k", value: "v", updated_at: "now" }).execute();
      for (const f of [path, `${path}-wal`, `${path}-shm`]) assert.equal(modeOf(f).toString(8), "600", f);
      await store.close();
    } finally {
      process.umask(old);
    }
  }));

test("an existing database that others can read is made private, its WAL and SHM follow, and the log says so", () =>
  inTempDir(async (dir) => {
    const path = join(dir, "ward.db");
    await (await openStore(`sqlite:${path}`)).close();
    chmodSync(path, 0o644);
    const lines: Record<string, unknown>[] = [];
    const store = await openStore(`sqlite:${path}`, { logger: createLogger({ write: (l) => lines.push(JSON.parse(l)) }) });
    await store.db.insertInto("settings").values({ key: "k", value: "v", updated_at: "now" }).execute();
    for (const f of [path, `${path}-wal`, `${path}-shm`]) assert.equal(modeOf(f).toString(8), "600", f);
    await store.close();
    assert.deepEqual(lines.map((l) => [l.level, l.file, l.mode]), [["warn", path, "0644"]]);
  }));

test("a store directory that group or others can enter is refused with the chmod fix", () =>
  inTempDir(async (dir) => {
    chmodSync(dir, 0o755);
    await assert.rejects(openStore(`sqlite:${join(dir, "ward.db")}`), (e: Error) => {
      assert.equal(e.name, "StoreError");
      assert.ok(e.message.includes(`directory ${dir} (mode 0755)`) && e.message.includes(`run 'chmod 700 ${dir}'`), e.message);
      return true;
    });
    assert.ok(!existsSync(join(dir, "ward.db")), "nothing is written into it");
  }));

test("a store directory owned by another user is refused", { skip: process.getuid?.() !== 0 && "needs root to chown" }, () =>
  inTempDir(async (dir) => {
    chownSync(dir, 65534, 65534);
    await assert.rejects(openStore(`sqlite:${join(dir, "ward.db")}`), /belongs to uid 65534, not to this user/);
  }));
