import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import BetterSqlite3 from "better-sqlite3";
import { Kysely } from "kysely";
import { openStore } from "./index.ts";
import { BUSY_SPIN_MS, BusyRetrySqliteDialect } from "./sqlite_busy.ts";

test("another process's write lock is waited for asynchronously: the event loop keeps turning, and the write lands once the lock is released", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ward-busy-"));
  const path = join(dir, "ward.db");
  const store = await openStore(`sqlite:${path}`);
  const other = new BetterSqlite3(path);
  try {
    other.exec("BEGIN IMMEDIATE");
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const write = store.db.insertInto("settings").values({ key: "k", value: "v", updated_at: "now" }).execute();
    setTimeout(() => other.exec("COMMIT"), 400);
    await write;
    clearInterval(ticker);
    // SQLite blocking for the whole wait would have let the ticker run about once.
    assert.ok(ticks >= 15, `the event loop turned only ${ticks} times while the write waited`);
    assert.equal((await store.db.selectFrom("settings").select("value").where("key", "=", "k").executeTakeFirst())?.value, "v");
  } finally {
    other.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a lock held past the timeout fails the write with SQLITE_BUSY, and a transaction is rolled back whole", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ward-busy-"));
  const path = join(dir, "t.db");
  const sqlite = new BetterSqlite3(path);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma(`busy_timeout = ${BUSY_SPIN_MS}`);
  sqlite.exec("create table t (x integer)");
  const reader = new BetterSqlite3(path, { readonly: true });
  const db = new Kysely<{ t: { x: number } }>({ dialect: new BusyRetrySqliteDialect({ database: sqlite, readDatabase: reader, timeoutMs: 300 }) });
  const other = new BetterSqlite3(path);
  try {
    other.exec("BEGIN IMMEDIATE");
    other.exec("insert into t values (9)");
    // Reads answer at once, from the last commit, while a write waits for the lock.
    const waiting = assert.rejects(db.insertInto("t").values({ x: 0 }).execute(), (e: { code?: string }) => e.code === "SQLITE_BUSY");
    const r0 = Date.now();
    assert.deepEqual(await db.selectFrom("t").select("x").execute(), []);
    assert.ok(Date.now() - r0 < 100, `a read waited ${Date.now() - r0} ms behind the waiting write`);
    await waiting;
    const t0 = Date.now();
    await assert.rejects(db.insertInto("t").values({ x: 1 }).execute(), (e: { code?: string }) => e.code === "SQLITE_BUSY");
    assert.ok(Date.now() - t0 >= 250, "it waited about the timeout");
    // Writes queued behind a waiting write share no budget: each gives up within its own timeout.
    const t1 = Date.now();
    await Promise.all([1, 2, 3].map((x) => assert.rejects(db.insertInto("t").values({ x }).execute(), (e: { code?: string }) => e.code === "SQLITE_BUSY")));
    assert.ok(Date.now() - t1 < 600, `three queued writes took ${Date.now() - t1} ms to give up`);
    await assert.rejects(db.transaction().execute(async (tx) => {
      await tx.selectFrom("t").selectAll().execute();
      await tx.insertInto("t").values({ x: 2 }).execute();
    }), (e: { code?: string }) => e.code === "SQLITE_BUSY");
    other.exec("ROLLBACK");
    await db.insertInto("t").values({ x: 3 }).execute();
    // A write is seen by the next read (on the other connection) at once.
    assert.deepEqual(await db.selectFrom("t").select("x").execute(), [{ x: 3 }]);
    await db.transaction().execute(async (tx) => {
      await tx.insertInto("t").values({ x: 4 }).execute();
      assert.deepEqual(await tx.selectFrom("t").select("x").orderBy("x").execute(), [{ x: 3 }, { x: 4 }], "a transaction reads its own writes");
      assert.deepEqual(await db.selectFrom("t").select("x").execute(), [{ x: 3 }], "others read the last commit meanwhile");
    });
  } finally {
    other.close();
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
