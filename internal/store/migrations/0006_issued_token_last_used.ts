/** Issued k8s tokens: when each was last used, for the portal's Issued credentials table. */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  // Nullable: never used yet (and tokens issued before this migration).
  await db.schema.alterTable("issued_tokens").addColumn("last_used_at", "varchar(32)").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("issued_tokens").dropColumn("last_used_at").execute();
}
