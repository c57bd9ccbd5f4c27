/**
 * SQLite's write lock held by another process (a backup, the sqlite3 shell, `ward gateway
 * bootstrap`): better-sqlite3 is synchronous, so SQLite's own busy timeout would stall the gateway's
 * whole event loop — every kubectl stream, every agent heartbeat — for as long as it waits. Here
 * SQLite waits only `BUSY_SPIN_MS` itself; a statement it still finds locked is retried after an
 * asynchronous pause until `timeoutMs` has passed, then fails with SQLite's SQLITE_BUSY (the API
 * answers 503 and names the lock). A busy statement changed nothing, so retrying it is safe.
 */
import { SqliteDialect, type CompiledQuery, type DatabaseConnection, type Driver, type QueryResult, type SqliteDialectConfig } from "kysely";
import { isStoreBusy } from "./errors.ts";

/** How long a statement waits for another process's write lock, in all. */
export const BUSY_TIMEOUT_MS = 5000;
/** SQLite's own (blocking) wait per attempt: short enough not to be felt. */
export const BUSY_SPIN_MS = 20;

export class BusyRetrySqliteDialect extends SqliteDialect {
  #timeoutMs: number;

  constructor(config: SqliteDialectConfig, timeoutMs = BUSY_TIMEOUT_MS) {
    super(config);
    this.#timeoutMs = timeoutMs;
  }

  override createDriver(): Driver {
    return busyRetryDriver(super.createDriver(), this.#timeoutMs);
  }
}

/** Runs `f`, retrying while SQLite says another connection holds the lock, for up to `timeoutMs`. */
export async function retryBusy<T>(f: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
    try {
      return await f();
    } catch (e) {
      if (!isStoreBusy(e) || Date.now() + pause > deadline) throw e;
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

function busyRetryDriver(inner: Driver, timeoutMs: number): Driver {
  // kysely's driver holds one connection (and a mutex around it): the retry keeps it, so a
  // transaction's statements never interleave with another caller's.
  const wrapped = new WeakMap<DatabaseConnection, DatabaseConnection>();
  const wrap = (c: DatabaseConnection): DatabaseConnection => {
    let w = wrapped.get(c);
    if (!w) {
      w = {
        executeQuery: <R>(q: CompiledQuery): Promise<QueryResult<R>> => retryBusy(() => c.executeQuery<R>(q), timeoutMs),
        streamQuery: <R>(q: CompiledQuery, chunkSize: number) => c.streamQuery<R>(q, chunkSize),
      };
      wrapped.set(c, w);
    }
    return w;
  };
  return {
    init: (o) => inner.init(o),
    acquireConnection: async (o) => wrap(await inner.acquireConnection(o)),
    // Transactions run their BEGIN/COMMIT through the wrapped connection, so these retry too.
    beginTransaction: (c, s) => inner.beginTransaction(c, s),
    commitTransaction: (c) => inner.commitTransaction(c),
    rollbackTransaction: (c) => inner.rollbackTransaction(c),
    ...(inner.savepoint && { savepoint: (c, n, q) => inner.savepoint!(c, n, q) }),
    ...(inner.rollbackToSavepoint && { rollbackToSavepoint: (c, n, q) => inner.rollbackToSavepoint!(c, n, q) }),
    ...(inner.releaseSavepoint && { releaseSavepoint: (c, n, q) => inner.releaseSavepoint!(c, n, q) }),
    releaseConnection: (c, o) => inner.releaseConnection(c, o),
    destroy: (o) => inner.destroy(o),
  };
}
