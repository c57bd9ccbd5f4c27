/**
 * Moving a deployment from one store to another (`ward gateway migrate-store`): every Ward table,
 * copied in one transaction on the target, then verified table by table (row count and a SHA-256 of
 * the rows in a canonical form). The target must be empty: nothing is ever merged or overwritten.
 */
import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
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
];

/** Migration bookkeeping, not data: each store keeps its own. */
const BOOKKEEPING = new Set(["kysely_migration", "kysely_migration_lock", "ward_migration", "ward_migration_lock"]);

export interface TableReport {
  table: string;
  rows: number;
  sha256: string;
}

type Row = Record<string, unknown>;

/** A row in a form both dialects give alike: keys sorted; bigint as number. */
function canonical(row: Row): string {
  const keys = Object.keys(row).sort();
  return JSON.stringify(keys.map((k) => [k, typeof row[k] === "bigint" ? Number(row[k]) : row[k]]));
}

async function readTable(db: Kysely<Database>, table: string, key: readonly string[]): Promise<Row[]> {
  const rows = (await db.selectFrom(table as keyof Database).selectAll().execute()) as Row[];
  // Sorted here, not by ORDER BY: the two databases' collations may order text differently.
  const k = (r: Row) => JSON.stringify(key.map((c) => r[c]));
  return rows.sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
}

function digest(table: string, rows: Row[]): TableReport {
  const h = createHash("sha256");
  for (const r of rows) h.update(canonical(r) + "\n");
  return { table, rows: rows.length, sha256: h.digest("hex") };
}

/** Ward's tables that exist in `db` but the copy does not know (a migration added one): refused, never skipped. */
async function unknownTables(db: Kysely<Database>): Promise<string[]> {
  const known = new Set<string>(STORE_TABLES.map((t) => t.table));
  const tables = await db.introspection.getTables();
  return tables.map((t) => t.name).filter((n) => !known.has(n) && !BOOKKEEPING.has(n));
}

/** Per table: rows and checksum. */
export async function storeReport(db: Kysely<Database>): Promise<TableReport[]> {
  const out: TableReport[] = [];
  for (const { table, key } of STORE_TABLES) out.push(digest(table, await readTable(db, table, key)));
  return out;
}

/**
 * Copies every row of `from` into the empty `to` (both already migrated to the same version), in one
 * transaction on the target; then compares both stores table by table. Returns the source's report.
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
  const source: { report: TableReport; rows: Row[] }[] = [];
  for (const { table, key } of STORE_TABLES) {
    const rows = await readTable(from, table, key);
    source.push({ report: digest(table, rows), rows });
  }
  // Verified inside the transaction: a mismatch rolls everything back and the target stays empty.
  await to.transaction().execute(async (trx) => {
    for (const { report, rows } of source) {
      for (let i = 0; i < rows.length; i += 200) {
        await trx.insertInto(report.table as keyof Database).values(rows.slice(i, i + 200) as never).execute();
      }
    }
    const copied = await storeReport(trx);
    for (const { report } of source) {
      const got = copied.find((c) => c.table === report.table)!;
      if (got.rows !== report.rows || got.sha256 !== report.sha256) {
        throw new StoreError(`Verification failed for table ${report.table}: source ${report.rows} rows (${report.sha256.slice(0, 12)}), target ${got.rows} rows (${got.sha256.slice(0, 12)}); nothing was written`);
      }
    }
  });
  for (const { report } of source) onTable?.(report);
  return source.map((s) => s.report);
}
