/**
 * The store: kysely over SQLite (default, one file, WAL) or PostgreSQL (scale-out).
 * Migrations run at open. Everything above uses `Store.db` with dialect-neutral queries.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { Kysely, SqliteDialect } from "kysely";
import { Migrator } from "kysely/migration";
import type { Database } from "./schema.ts";
import { migrations } from "./migrations/index.ts";
import { sqliteNativeBinding } from "./sqlite.ts";

export type { Database } from "./schema.ts";

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: "sqlite" | "postgres";
  /** A cheap round trip, for readiness. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class StoreError extends Error {
  override name = "StoreError";
}

/** `url` is `sqlite:<path>` (or a bare path), `sqlite::memory:`, or `postgres://…`. */
export async function openStore(url: string): Promise<Store> {
  let store: Store;
  if (/^postgres(ql)?:\/\//.test(url)) {
    throw new StoreError("PostgreSQL store is not available in this build yet: use a sqlite: store URL");
  } else {
    store = await openSqlite(url.replace(/^sqlite:/, ""));
  }
  try {
    await migrate(store.db);
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}

async function openSqlite(path: string): Promise<Store> {
  const { default: BetterSqlite3 } = await import("better-sqlite3");
  const nativeBinding = await sqliteNativeBinding();
  if (path !== ":memory:") {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new StoreError(`Cannot create the directory for SQLite database ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  let sqlite;
  try {
    sqlite = new BetterSqlite3(path, nativeBinding ? { nativeBinding: nativeBinding as unknown as string } : {});
  } catch (e) {
    throw new StoreError(`Cannot open SQLite database ${path}: ${(e as Error).message}`);
  }
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return {
    db,
    dialect: "sqlite",
    async ping() {
      sqlite.prepare("select 1").get();
    },
    async close() {
      await db.destroy();
    },
  };
}

async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error");
    throw new StoreError(`Database migration ${failed?.migrationName ?? ""} failed: ${(error as Error).message ?? error}`);
  }
}
