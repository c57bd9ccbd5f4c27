/**
 * The store: kysely over SQLite (default, one file, WAL) or PostgreSQL (scale-out).
 * Migrations run at open. Everything above uses `Store.db` with dialect-neutral queries.
 */
import { dirname } from "node:path";
import { Kysely } from "kysely";
import { Migrator } from "kysely/migration";
import { createLogger, type Logger } from "../log/index.ts";
import type { Database } from "./schema.ts";
import { StoreError } from "./errors.ts";
import { migrations } from "./migrations/index.ts";
import { ensurePrivateDir, ensurePrivateFile, tightenPrivateFile } from "./private_files.ts";
import { sqliteNativeBinding } from "./sqlite.ts";
import { BUSY_SPIN_MS, BusyRetrySqliteDialect } from "./sqlite_busy.ts";

export type { AuditEventsTable, Database } from "./schema.ts";
export { StoreError, StoreUnavailableError, isStoreBusy, isStoreFull, isStoreUnavailable, isUniqueViolation } from "./errors.ts";
export { redactedUrl } from "./postgres.ts";
export { copyStore, storeReport, STORE_TABLES, type TableReport } from "./copy_store.ts";
export { ensurePrivateDir, tightenPrivateFile, writePrivateFile } from "./private_files.ts";

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: "sqlite" | "postgres";
  /** A cheap round trip, for readiness. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** Where to say that an existing database file was made private. Default: JSON lines on stderr. */
  logger?: Logger;
}

/** `url` is `sqlite:<path>` (or a bare path), `sqlite::memory:`, or `postgres://…`. */
export async function openStore(url: string, opts: OpenStoreOptions = {}): Promise<Store> {
  const logger = opts.logger ?? createLogger({ base: { area: "store" } });
  let store: Store;
  if (isPostgresUrl(url)) {
    const { openPostgres } = await import("./postgres.ts");
    store = { dialect: "postgres", ...(await openPostgres(url, logger)) };
  } else {
    store = await openSqlite(url.replace(/^sqlite:/, ""), logger);
  }
  try {
    if (store.dialect === "postgres") {
      const { withMigrationLock } = await import("./postgres.ts");
      await withMigrationLock(store.db, (conn, schema) => migrate(conn, { schema, table: "ward_migration", lockTable: "ward_migration_lock" }));
    } else {
      await migrate(store.db);
    }
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/** What SQLite writes beside the database: the same pages, so the same secrets. */
const SQLITE_COMPANIONS = ["-wal", "-shm", "-journal"];

async function openSqlite(path: string, logger: Logger): Promise<Store> {
  const { default: BetterSqlite3 } = await import("better-sqlite3");
  const nativeBinding = await sqliteNativeBinding();
  if (path !== ":memory:") {
    ensurePrivateDir(dirname(path));
    for (const suffix of SQLITE_COMPANIONS) tightenPrivateFile(path + suffix, logger);
    // Created 0600 before SQLite opens it: SQLite gives -wal/-shm the database file's mode.
    ensurePrivateFile(path, logger);
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
  // Waiting for another process's write lock happens asynchronously (sqlite_busy.ts), not in SQLite.
  sqlite.pragma(`busy_timeout = ${BUSY_SPIN_MS}`);
  // Reads outside transactions use a second connection, so they never wait behind a waiting write.
  let reader;
  if (path !== ":memory:") {
    reader = new BetterSqlite3(path, { readonly: true, fileMustExist: true, ...(nativeBinding ? { nativeBinding: nativeBinding as unknown as string } : {}) });
    reader.pragma(`busy_timeout = ${BUSY_SPIN_MS}`);
  }
  const db = new Kysely<Database>({ dialect: new BusyRetrySqliteDialect({ database: sqlite, ...(reader && { readDatabase: reader }) }) });
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

/**
 * PostgreSQL keeps Ward's migration records in its own tables, in the connection's current schema:
 * a database shared with other applications (other schemas, other kysely users) cannot confuse it.
 * SQLite keeps kysely's default names (the file is Ward's alone).
 */
export interface MigrationTables {
  schema?: string;
  table: string;
  lockTable: string;
}

async function migrate(db: Kysely<Database>, tables?: MigrationTables): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    // Unordered: 0005 (the audit) was reserved and ships after 0006, so a store that already ran 0006
    // runs 0005 next instead of refusing to start.
    allowUnorderedMigrations: true,
    ...(tables && { migrationTableSchema: tables.schema, migrationTableName: tables.table, migrationLockTableName: tables.lockTable }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error");
    throw new StoreError(`Database migration ${failed?.migrationName ?? ""} failed: ${(error as Error).message ?? error}`);
  }
}
