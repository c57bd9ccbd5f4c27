/** Device login: the address each `ward login` asked from, shown on the portal's approval page. */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  // Nullable: codes issued before this migration have no recorded address.
  await db.schema.alterTable("device_codes").addColumn("client_address", "varchar(64)").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("device_codes").dropColumn("client_address").execute();
}
