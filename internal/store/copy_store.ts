/**
 * Moving a deployment from one store to another (`ward gateway migrate-store`): every Ward table,
 * copied in one transaction on the target, then verified table by table (row count and a digest of
 * the rows in a canonical form). The target must be empty: nothing is ever merged or overwritten.
 *
 * Tables are read in pages (keyset, in each database's own key order), so a long audit moves in
 * bounded memory. The digest is the sum of the rows' SHA-256s modulo 2^256: it does not depend on the
 * order rows come in, and the two databases' collations may order text keys differently.
 */
import { createHash } from "node:crypto";
import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.ts";
import { StoreError } from "./errors.ts";

/** Every table Ward keeps, parents before children (foreign keys), with its primary key. */
export const STORE_TABLES: readonly { table: keyof Database; key: readonly string[] }[] = [
  { table: "settings", key: ["key"] },
  { table: "members", key: ["id"] },
  { table: "api_tokens", key: ["id"] },
  { table: "clusters", key: ["id"] },
  { table: "grants", key: ["id"] },
  { table: "issued_tokens", key: ["id"] },
  { table: "signing_keys", key: ["kid"] },
  { table: "portal_sessions", key: ["id_hash"] },
  { table: "cli_sessions", key: ["id"] },
  { table: "device_codes", key: ["device_code_hash"] },
  { table: "login_flows", key: ["id_hash"] },
  { table: "audit_events", key: ["time", "id"] },
];

/** Migration bookkeeping, not data: each store keeps its own. */
const BOOKKEEPING = new Set(["kysely_migration", "kysely_migration_lock", "ward_migration", "ward_migration_lock"]);

export interface TableReport {
  table: string;
  rows: number;
  sha256: string;
}

type Row = Record<string, unknown>;
type Table = (typeof STORE_TABLES)[number];

/** Rows read (and inserted) at a time. */
const PAGE_ROWS = 500;
/** Rows per INSERT: the widest table (audit_events, 31 columns) stays far below both dialects' bound-parameter limits. */
const INSERT_ROWS = 200;
const MOD = 1n << 256n;

/** A row in a form both dialects give alike: keys sorted; bigint as number. */
function canonical(row: Row): string {
  const keys = Object.keys(row).sort();
  return JSON.stringify(keys.map((k) => [k, typeof row[k] === "bigint" ? Number(row[k]) : row[k]]));
}

/** A table's rows in pages, by its primary key in this database's order (keyset: no OFFSET scans). */
async function* pages(db: Kysely<Database>, { table, key }: Table): AsyncGenerator<Row[]> {
  let last: unknown[] | undefined;
  for (;;) {
    let q = db.selectFrom(table).selectAll();
    if (last) {
      const after = last;
      q = q.where(() => sql<boolean>`(${sql.join(key.map((k) => sql.ref(k)))}) > (${sql.join(after)})`);
    }
    for (const k of key) q = q.orderBy(sql.ref(k));
    const rows = (await q.limit(PAGE_ROWS).execute()) as Row[];
    if (rows.length) yield rows;
    if (rows.length < PAGE_ROWS) return;
    const end = rows[rows.length - 1]!;
    last = key.map((k) => end[k]);
  }
}

class Digest {
  rows = 0;
  #sum = 0n;
  add(rows: Row[]): void {
    for (const r of rows) this.#sum = (this.#sum + BigInt(`0x${createHash("sha256").update(canonical(r)).digest("hex")}`)) % MOD;
    this.rows += rows.length;
  }
  report(table: string): TableReport {
    return { table, rows: this.rows, sha256: this.#sum.toString(16).padStart(64, "0") };
  }
}

/** Ward's tables that exist in `db` but the copy does not know (a migration added one): refused, never skipped. */
async function unknownTables(db: Kysely<Database>): Promise<string[]> {
  const known = new Set<string>(STORE_TABLES.map((t) => t.table));
  const tables = await db.introspection.getTables();
  return tables.map((t) => t.name).filter((n) => !known.has(n) && !BOOKKEEPING.has(n));
}

/** Per table: rows and digest. */
export async function storeReport(db: Kysely<Database>): Promise<TableReport[]> {
  const out: TableReport[] = [];
  for (const t of STORE_TABLES) {
    const d = new Digest();
    for await (const rows of pages(db, t)) d.add(rows);
    out.push(d.report(t.table));
  }
  return out;
}

/**
 * Copies every row of `from` into the empty `to` (both already migrated to the same version), in one
 * transaction on the target; then compares both stores table by table before committing. Returns
 * the source's report.
 */
export async function copyStore(from: Kysely<Database>, to: Kysely<Database>, onTable?: (r: TableReport) => void): Promise<TableReport[]> {
  for (const [name, db] of [["source", from], ["target", to]] as const) {
    const extra = await unknownTables(db);
    if (extra.length) throw new StoreError(`The ${name} store has tables this version cannot copy (${extra.join(", ")}): use the ward version that created them`);
  }
  const nonEmpty = (await storeReport(to)).filter((t) => t.rows > 0);
  if (nonEmpty.length) {
    throw new StoreError(`The target store is not empty (${nonEmpty.map((t) => `${t.table}: ${t.rows} rows`).join(", ")}): migrate-store only writes into an empty database`);
  }
  // Verified inside the transaction: a mismatch rolls everything back and the target stays empty.
  const source = await to.transaction().execute(async (trx) => {
    const reports: TableReport[] = [];
    for (const t of STORE_TABLES) {
      const d = new Digest();
      for await (const rows of pages(from, t)) {
        d.add(rows);
        for (let i = 0; i < rows.length; i += INSERT_ROWS) await trx.insertInto(t.table).values(rows.slice(i, i + INSERT_ROWS) as never).execute();
      }
      reports.push(d.report(t.table));
    }
    const copied = await storeReport(trx);
    for (const report of reports) {
      const got = copied.find((c) => c.table === report.table)!;
      if (got.rows !== report.rows || got.sha256 !== report.sha256) {
        throw new StoreError(`Verification failed for table ${report.table}: source ${report.rows} rows (${report.sha256.slice(0, 12)}), target ${got.rows} rows (${got.sha256.slice(0, 12)}); nothing was written`);
      }
    }
    return reports;
  });
  for (const report of source) onTable?.(report);
  return source;
}
