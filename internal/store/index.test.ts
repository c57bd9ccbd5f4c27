import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
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
  await assert.rejects(openStore("postgres://x"), /PostgreSQL store is not available/);
  await assert.rejects(openStore("sqlite:/etc/hostname/sub/ward.db"), /Cannot create the directory .*ENOTDIR/);
});
