/** The store's one error class: opening, migrating, and the private files around the store. */
export class StoreError extends Error {
  override name = "StoreError";
}

/** The database cannot be reached right now (it went away, restarted, or is overloaded): retry later. */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

/** PostgreSQL SQLSTATE classes and client errors that mean "unreachable now", not "this query is wrong". */
const UNAVAILABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "57P01", "57P02", "57P03", "53300", "SQLITE_BUSY", "SQLITE_LOCKED"]);

/** True when `e` says the store is unreachable or busy for now (the API answers 503, the caller may retry). */
export function isStoreUnavailable(e: unknown): boolean {
  if (e instanceof StoreUnavailableError) return true;
  const err = e as { code?: unknown; message?: unknown } | null;
  if (!err || typeof err !== "object") return false;
  const code = typeof err.code === "string" ? err.code : "";
  if (UNAVAILABLE_CODES.has(code) || code.startsWith("08") || isStoreBusy(e)) return true;
  // pg's own client errors carry no code.
  const msg = typeof err.message === "string" ? err.message : "";
  return /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/.test(msg);
}

/**
 * True when `e` says the disk holding the database is full (SQLite's SQLITE_FULL, PostgreSQL's
 * 53100 disk_full): nothing was written; reads still work, and writes do again once space is freed.
 */
export function isStoreFull(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === "SQLITE_FULL" || code === "53100";
}

/** True when `e` is SQLite's "another connection holds the write lock" (past the busy timeout). */
export function isStoreBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

/**
 * True when a write lost a race for a unique key (PostgreSQL 23505; SQLite's UNIQUE or PRIMARY KEY
 * constraint): another writer, maybe another gateway, inserted the same row first.
 */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}
