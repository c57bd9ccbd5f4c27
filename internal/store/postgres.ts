/**
 * The PostgreSQL store: kysely's Postgres dialect over a bounded `pg` pool. The same migrations and
 * queries as SQLite; what differs between the two is kept here and in `dialect.ts`.
 *
 * Several gateways may share one database from the first start: migrations run on one connection
 * holding a session advisory lock, so when two gateways start at once one migrates and the other
 * waits, then finds nothing to do.
 */
import { Kysely, PostgresDialect, sql } from "kysely";
import type { Logger } from "../log/index.ts";
import type { Database } from "./schema.ts";
import { StoreError } from "./errors.ts";

/** Store URL parameters Ward reads itself (removed before the URL reaches `pg`). */
export interface PostgresParams {
  /** Most connections the pool opens (`?pool_max=`, default 10). */
  poolMax: number;
  /** How long a connection attempt may take (`?connect_timeout=` seconds, default 5). */
  connectTimeoutMs: number;
}

/** The lock every gateway takes around migrations (an arbitrary constant: "ward" in ASCII). */
export const MIGRATION_LOCK_ID = 0x77617264;

/** `postgres://user:***@host:port/db`: the URL with its password hidden, for messages and logs. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    u.search = "";
    return u.toString();
  } catch {
    return "postgres://(unparsable URL)";
  }
}

/** Host and port as a person would name them in an error. */
function where(url: URL): string {
  return `${url.hostname || "localhost"}:${url.port || "5432"}${url.pathname}`;
}

export function parsePostgresUrl(url: string): { connectionString: string; params: PostgresParams; display: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new StoreError("Invalid PostgreSQL store URL: expected postgres://user:password@host:port/database");
  }
  if (!u.pathname || u.pathname === "/") throw new StoreError(`The PostgreSQL store URL ${redactedUrl(url)} names no database: add /DATABASE`);
  const int = (name: string, dflt: number, min: number, max: number): number => {
    const raw = u.searchParams.get(name);
    u.searchParams.delete(name);
    if (raw === null) return dflt;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new StoreError(`Invalid ${name}=${JSON.stringify(raw)} in the store URL: expected a whole number from ${min} to ${max}`);
    return n;
  };
  const poolMax = int("pool_max", 10, 1, 1000);
  const connectTimeoutMs = int("connect_timeout", 5, 1, 600) * 1000;
  return { connectionString: u.toString(), params: { poolMax, connectTimeoutMs }, display: where(u) };
}

export interface PostgresStoreParts {
  db: Kysely<Database>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens the pool and proves the database answers (an unreachable one fails here, naming the host
 * and the cause). Migrations are the caller's next step (`migratePostgres`).
 */
export async function openPostgres(url: string, logger: Logger): Promise<PostgresStoreParts> {
  const { connectionString, params, display } = parsePostgresUrl(url);
  const { default: pg } = await import("pg");
  // bigint columns (counts, sizes) come back as numbers, not strings: every value Ward stores in
  // one fits in 2^53.
  const types = {
    getTypeParser: ((oid: number, format?: string) =>
      oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
  };
  const pool = new pg.Pool({
    connectionString,
    max: params.poolMax,
    connectionTimeoutMillis: params.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    // A connection stuck in a network partition is found by TCP, not by waiting forever.
    keepAlive: true,
    keepAliveInitialDelayMillis: 30_000,
    types,
    application_name: "ward",
  });
  // An idle client's connection dropping (the database restarted) is reported here; the pool
  // replaces it on the next checkout. Without a listener it would crash the process.
  pool.on("error", (e) => logger.warn("PostgreSQL connection lost; the pool reconnects on demand", { err: e.message }));
  // A checked-out client's connection dropping when no query of it is in flight (between checkout
  // and its first query, between a transaction's statements) is emitted on the client itself, where
  // the pool's listener is not: unheard, it crashed the gateway when the database restarted. Its
  // next query fails instead (503), and the pool discards it on release.
  pool.on("connect", (client) => client.on("error", (e) => logger.warn("PostgreSQL connection lost while in use; the pool replaces it", { err: e.message })));
  try {
    const c = await pool.connect();
    c.release();
  } catch (e) {
    await pool.end().catch(() => {});
    throw new StoreError(`Cannot connect to PostgreSQL at ${display}: ${describe(e)}`, { cause: e });
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}

/**
 * Runs `fn` on one connection holding the migration lock (session-level, released after), with the
 * connection's current schema (where Ward's tables live).
 */
export async function withMigrationLock<T>(db: Kysely<Database>, fn: (conn: Kysely<Database>, schema: string) => Promise<T>): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`.execute(conn);
    try {
      const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(conn);
      const schema = rows[0]?.schema;
      if (!schema) throw new StoreError("PostgreSQL has no current schema for Ward's tables: check the user's search_path");
      return await fn(conn, schema);
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`.execute(conn);
    }
  });
}

/** The cause of a connection failure, in words a person can act on (never the password). */
export function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { code?: string };
  switch (err?.code) {
    case "ECONNREFUSED":
      return "connection refused (is PostgreSQL running and listening there?)";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "the host name does not resolve";
    case "ETIMEDOUT":
      return "the connection timed out";
    case "28P01":
      return "password authentication failed (check the user and password in the store URL)";
    case "28000":
      return "the server refused this user (pg_hba.conf)";
    case "3D000":
      return "the database does not exist (create it first: createdb)";
    default:
      return err?.message ? String(err.message).replace(/postgres(ql)?:\/\/[^\s]*/g, (m) => redactedUrl(m)) : String(e);
  }
}
