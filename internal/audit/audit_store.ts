/**
 * The audit table: batched inserts, and the query behind `ward audit list` and `GET /api/v1/audit`
 * (filters, newest first, a bounded page and a cursor to the next one). Dialect-neutral kysely.
 */
import { CompiledQuery, type Kysely } from "kysely";
import type { Database } from "../store/index.ts";
import { AUDIT_COLUMNS as COLUMNS, type AuditRow } from "./audit_row.ts";

export const MAX_QUERY_LIMIT = 1000;
export const DEFAULT_QUERY_LIMIT = 100;
/** Rows per INSERT statement: well under SQLite's 32,766 bound parameters (28 columns each). */
const INSERT_CHUNK = 100;

export interface AuditQuery {
  cluster?: string;
  /** A member id or email. */
  member?: string;
  /** Only rows of this member id (a member reading their own audit). */
  onlyMemberId?: string;
  /** ISO time: rows at or after it. */
  since?: string;
  /** A Kubernetes verb (get, list, watch, create, …) or an action (token.mint, sign-in, …). */
  verb?: string;
  limit?: number;
  /** From a previous page's `next`. */
  cursor?: string;
}

export interface AuditPage {
  rows: AuditRow[];
  /** The cursor of the next (older) page; null when this was the last. */
  next: string | null;
}

export class InvalidCursorError extends Error {
  override name = "InvalidCursorError";
}

function encodeCursor(row: AuditRow): string {
  return Buffer.from(JSON.stringify([row.time, row.id])).toString("base64url");
}

function decodeCursor(c: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(c, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === "string" && typeof v[1] === "string" && v[0].length <= 32 && v[1].length <= 40) return [v[0], v[1]];
  } catch {
    // below
  }
  throw new InvalidCursorError("Invalid cursor: pass the `next` value of a previous page unchanged");
}

/** PostgreSQL's driver reads a bigint as a string (it may exceed 2^53); byte counts never do. */
function numbers(r: AuditRow): AuditRow {
  const n = (v: number | string | null) => (v === null ? null : Number(v));
  return { ...r, bytes_in: n(r.bytes_in), bytes_out: n(r.bytes_out), body_bytes: n(r.body_bytes) };
}

export class AuditStore {
  #db: Kysely<Database>;
  /** The compiled INSERT of n rows, by n: kysely compiles it for the dialect once (compiling each batch cost about a fifth of the insert). */
  #insertSql = new Map<number, string>();

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  #sqlFor(n: number): string {
    let sql = this.#insertSql.get(n);
    if (sql === undefined) {
      const template = Object.fromEntries(COLUMNS.map((c) => [c, null])) as unknown as AuditRow;
      sql = this.#db.insertInto("audit_events").values(Array.from({ length: n }, () => template)).compile().sql;
      this.#insertSql.set(n, sql);
    }
    return sql;
  }

  /** Inserts rows in one transaction. */
  async insert(rows: readonly AuditRow[]): Promise<void> {
    if (!rows.length) return;
    await this.#db.transaction().execute(async (tx) => {
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        const chunk = rows.slice(i, i + INSERT_CHUNK);
        const params: unknown[] = [];
        for (const r of chunk) for (const c of COLUMNS) params.push(r[c]);
        await tx.executeQuery(CompiledQuery.raw(this.#sqlFor(chunk.length), params));
      }
    });
  }

  async query(q: AuditQuery = {}): Promise<AuditPage> {
    const limit = Math.min(Math.max(1, Math.floor(q.limit ?? DEFAULT_QUERY_LIMIT)), MAX_QUERY_LIMIT);
    let sel = this.#db.selectFrom("audit_events").selectAll();
    if (q.cluster !== undefined) sel = sel.where("cluster_id", "=", q.cluster);
    if (q.member !== undefined) {
      const m = q.member;
      sel = sel.where((eb) => eb.or([eb("member_id", "=", m), eb("member_email", "=", m)]));
    }
    if (q.onlyMemberId !== undefined) sel = sel.where("member_id", "=", q.onlyMemberId);
    if (q.since !== undefined) sel = sel.where("time", ">=", q.since);
    if (q.verb !== undefined) {
      const v = q.verb;
      sel = sel.where((eb) => eb.or([eb("verb", "=", v), eb("action", "=", v)]));
    }
    if (q.cursor !== undefined) {
      const [time, id] = decodeCursor(q.cursor);
      sel = sel.where((eb) => eb.or([eb("time", "<", time), eb.and([eb("time", "=", time), eb("id", "<", id)])]));
    }
    const rows = (await sel.orderBy("time", "desc").orderBy("id", "desc").limit(limit + 1).execute()).map(numbers);
    const more = rows.length > limit;
    if (more) rows.length = limit;
    return { rows, next: more ? encodeCursor(rows[rows.length - 1]!) : null };
  }

  /** Deletes rows older than `before` (ISO). Returns how many. */
  async prune(before: string): Promise<number> {
    const r = await this.#db.deleteFrom("audit_events").where("time", "<", before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
