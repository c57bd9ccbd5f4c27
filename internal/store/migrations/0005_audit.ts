/** The audit: every proxied request and every access change, token mint and sign-in. */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("audit_events")
    .addColumn("id", "varchar(40)", (c) => c.notNull())
    .addColumn("time", "varchar(32)", (c) => c.notNull())
    .addColumn("action", "varchar(40)", (c) => c.notNull())
    .addColumn("request_id", "varchar(128)")
    .addColumn("member_id", "varchar(64)")
    .addColumn("member_email", "varchar(320)")
    .addColumn("cluster_id", "varchar(64)")
    .addColumn("grant_ids", "text")
    .addColumn("token_id", "varchar(64)")
    .addColumn("verb", "varchar(32)")
    .addColumn("api_group", "varchar(253)")
    .addColumn("resource", "varchar(253)")
    .addColumn("subresource", "varchar(253)")
    .addColumn("namespace", "varchar(253)")
    .addColumn("name", "varchar(253)")
    .addColumn("path", "text")
    .addColumn("impersonated", "varchar(512)")
    .addColumn("user_agent", "varchar(512)")
    .addColumn("status", "integer")
    .addColumn("bytes_in", "bigint")
    .addColumn("bytes_out", "bigint")
    .addColumn("duration_ms", "integer")
    .addColumn("body", "text")
    .addColumn("body_content_type", "varchar(255)")
    .addColumn("body_bytes", "bigint")
    .addColumn("body_truncated", "integer")
    .addColumn("detail", "text")
    // (time, id): newest-first pages and the prune walk it; one index fewer to write per row than an id key plus a time index.
    .addPrimaryKeyConstraint("audit_events_pkey", ["time", "id"])
    .execute();
  await db.schema.createIndex("audit_events_cluster_time").on("audit_events").columns(["cluster_id", "time"]).execute();
  await db.schema.createIndex("audit_events_member_time").on("audit_events").columns(["member_id", "time"]).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("audit_events").execute();
}
