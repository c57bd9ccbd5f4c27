/**
 * SQLite's write lock held by another process (a backup, the sqlite3 shell, `ward gateway
 * bootstrap`). better-sqlite3 is synchronous, so SQLite's own busy timeout would stall the gateway's
 * whole event loop — every kubectl stream, every agent heartbeat — for as long as it waits. Here
 * SQLite waits only `BUSY_SPIN_MS` itself; a statement it still finds locked is retried after an
 * asynchronous pause until `timeoutMs` has passed, then fails with SQLITE_BUSY (the API answers 503
 * and names the lock). A busy statement changed nothing, so retrying it is safe.
 *
 * Waiting writes must not hold up reads (WAL's point: readers never wait for the writer): with a
 * second, read-only connection (`readDatabase`, for a file database), a statement that only reads
 * and runs outside a transaction goes there; writes and transactions take the one write connection,
 * one caller at a time (a mutex, as kysely keeps for SQLite's single connection).
 */
import {
  CompiledQuery, SelectQueryNode, SqliteAdapter, SqliteDialect, SqliteDriver, type DatabaseConnection, type DialectAdapter, type Driver, type QueryResult,
  type SqliteDatabase,
} from "kysely";
import { isStoreBusy } from "./errors.ts";

/** How long a statement waits for another process's write lock, in all. */
export const BUSY_TIMEOUT_MS = 5000;
/** SQLite's own (blocking) wait per attempt: short enough not to be felt. */
export const BUSY_SPIN_MS = 20;

export interface BusyRetrySqliteOptions {
  /** The write connection (every write, every transaction). */
  database: SqliteDatabase;
  /** A second connection to the same file for reads outside transactions (absent: all on `database`). */
  readDatabase?: SqliteDatabase;
  timeoutMs?: number;
}

export class BusyRetrySqliteDialect extends SqliteDialect {
  #o: BusyRetrySqliteOptions;

  constructor(o: BusyRetrySqliteOptions) {
    super({ database: o.database });
    this.#o = o;
  }

  override createDriver(): Driver {
    return new BusyRetryDriver(this.#o);
  }

  override createAdapter(): DialectAdapter {
    // The driver serializes its write connection itself: kysely's own mutex would make reads wait too.
    return new ConcurrentSqliteAdapter();
  }
}

class ConcurrentSqliteAdapter extends SqliteAdapter {
  override get supportsMultipleConnections(): boolean {
    return true;
  }
}

/** Runs `f`, retrying while SQLite says another connection holds the lock, until `deadline` (clock ms). */
export async function retryBusy<T>(f: () => Promise<T>, deadline: number): Promise<T> {
  for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
    try {
      return await f();
    } catch (e) {
      if (!isStoreBusy(e) || Date.now() + pause > deadline) throw e;
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

/** One caller at a time, in order. */
class Mutex {
  #tail: Promise<void> = Promise.resolve();

  lock(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const ready = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => held);
    return ready;
  }
}

class BusyRetryDriver implements Driver {
  #writer: SqliteDriver;
  #reader: SqliteDriver | undefined;
  #writeConn!: DatabaseConnection;
  #readConn: DatabaseConnection | undefined;
  #mutex = new Mutex();
  #timeoutMs: number;

  constructor(o: BusyRetrySqliteOptions) {
    this.#writer = new SqliteDriver({ database: o.database });
    this.#reader = o.readDatabase ? new SqliteDriver({ database: o.readDatabase }) : undefined;
    this.#timeoutMs = o.timeoutMs ?? BUSY_TIMEOUT_MS;
  }

  async init(): Promise<void> {
    await this.#writer.init();
    this.#writeConn = await this.#writer.acquireConnection();
    if (this.#reader) {
      await this.#reader.init();
      this.#readConn = await this.#reader.acquireConnection();
    }
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new Session(this);
  }

  /**
   * The write connection, held by `session` until it is released. Waiting for it (behind other
   * writes, themselves maybe waiting for the lock) counts against the session's deadline.
   */
  async writeConnection(session: Session): Promise<DatabaseConnection> {
    if (session.release) return this.#writeConn;
    const locked = this.#mutex.lock();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), Math.max(0, session.deadline - Date.now()))));
    const release = await Promise.race([locked, timedOut]);
    clearTimeout(timer);
    if (!release) {
      void locked.then((r) => r());
      throw Object.assign(new Error("database is locked (other writes were waiting for it)"), { code: "SQLITE_BUSY" });
    }
    session.release = release;
    return this.#writeConn;
  }

  readConnection(): DatabaseConnection | undefined {
    return this.#readConn;
  }

  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  async beginTransaction(c: DatabaseConnection): Promise<void> {
    await (c as Session).write("begin");
  }

  async commitTransaction(c: DatabaseConnection): Promise<void> {
    await (c as Session).write("commit");
  }

  async rollbackTransaction(c: DatabaseConnection): Promise<void> {
    await (c as Session).write("rollback");
  }

  async releaseConnection(c: DatabaseConnection): Promise<void> {
    const s = c as Session;
    const release = s.release;
    s.release = undefined;
    release?.();
  }

  async destroy(): Promise<void> {
    await this.#reader?.destroy();
    await this.#writer.destroy();
  }
}

/** What kysely holds between acquire and release: reads go to the read connection until it writes or begins. */
class Session implements DatabaseConnection {
  release: (() => void) | undefined;
  /** Until when this session's statements may wait for the lock (clock ms): one budget per use. */
  readonly deadline: number;
  #d: BusyRetryDriver;

  constructor(d: BusyRetryDriver) {
    this.#d = d;
    this.deadline = Date.now() + d.timeoutMs;
  }

  async write(sql: "begin" | "commit" | "rollback"): Promise<void> {
    const conn = await this.#d.writeConnection(this);
    await retryBusy(() => conn.executeQuery(CompiledQuery.raw(sql)), sql === "begin" ? this.deadline : Date.now() + this.#d.timeoutMs);
  }

  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    const reader = this.release === undefined && SelectQueryNode.is(q.query) ? this.#d.readConnection() : undefined;
    const conn = reader ?? (await this.#d.writeConnection(this));
    return retryBusy(() => conn.executeQuery<R>(q), this.deadline);
  }

  async *streamQuery<R>(q: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    const reader = this.release === undefined ? this.#d.readConnection() : undefined;
    yield* (reader ?? (await this.#d.writeConnection(this))).streamQuery<R>(q, chunkSize);
  }
}
