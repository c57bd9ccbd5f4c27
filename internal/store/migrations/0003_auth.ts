/**
 * Sign-in: portal sessions, CLI sessions (refreshable), device-authorization codes, OIDC login
 * transactions, and named, expiring API tokens (robots' credentials and CLI access tokens).
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  // One ALTER per column: SQLite adds a single column per statement.
  await db.schema.alterTable("api_tokens").addColumn("kind", "varchar(16)", (c) => c.notNull().defaultTo("api")).execute();
  await db.schema.alterTable("api_tokens").addColumn("name", "varchar(255)", (c) => c.notNull().defaultTo("")).execute();
  await db.schema.alterTable("api_tokens").addColumn("expires_at", "varchar(32)").execute();
  await db.schema.alterTable("api_tokens").addColumn("last_used_at", "varchar(32)").execute();
  await db.schema.alterTable("api_tokens").addColumn("session_id", "varchar(64)").execute();
  await db.schema.createIndex("api_tokens_member").on("api_tokens").columns(["member_id", "kind"]).execute();

  await db.schema
    .createTable("portal_sessions")
    .addColumn("id_hash", "varchar(128)", (c) => c.primaryKey())
    .addColumn("member_id", "varchar(64)", (c) => c.notNull().references("members.id").onDelete("cascade"))
    .addColumn("csrf_token", "varchar(64)", (c) => c.notNull())
    .addColumn("user_agent", "varchar(255)", (c) => c.notNull())
    .addColumn("created_at", "varchar(32)", (c) => c.notNull())
    .addColumn("expires_at", "varchar(32)", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("cli_sessions")
    .addColumn("id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("member_id", "varchar(64)", (c) => c.notNull().references("members.id").onDelete("cascade"))
    .addColumn("device_name", "varchar(255)", (c) => c.notNull())
    .addColumn("refresh_hash", "varchar(128)", (c) => c.notNull().unique())
    .addColumn("created_at", "varchar(32)", (c) => c.notNull())
    .addColumn("expires_at", "varchar(32)", (c) => c.notNull())
    .addColumn("last_used_at", "varchar(32)")
    .addColumn("revoked_at", "varchar(32)")
    .execute();

  await db.schema
    .createTable("device_codes")
    .addColumn("device_code_hash", "varchar(128)", (c) => c.primaryKey())
    .addColumn("user_code", "varchar(16)", (c) => c.notNull().unique())
    .addColumn("client_name", "varchar(255)", (c) => c.notNull())
    // pending | approved | denied | consumed
    .addColumn("status", "varchar(16)", (c) => c.notNull())
    .addColumn("member_id", "varchar(64)")
    .addColumn("interval_s", "integer", (c) => c.notNull())
    .addColumn("last_poll_at", "varchar(32)")
    .addColumn("created_at", "varchar(32)", (c) => c.notNull())
    .addColumn("expires_at", "varchar(32)", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("login_flows")
    .addColumn("id_hash", "varchar(128)", (c) => c.primaryKey())
    .addColumn("state", "varchar(128)", (c) => c.notNull())
    .addColumn("nonce", "varchar(128)", (c) => c.notNull())
    .addColumn("code_verifier", "varchar(128)", (c) => c.notNull())
    .addColumn("return_to", "varchar(2048)", (c) => c.notNull())
    .addColumn("created_at", "varchar(32)", (c) => c.notNull())
    .addColumn("expires_at", "varchar(32)", (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ["login_flows", "device_codes", "cli_sessions", "portal_sessions"]) await db.schema.dropTable(t).execute();
  await db.schema.dropIndex("api_tokens_member").execute();
  for (const c of ["session_id", "last_used_at", "expires_at", "name", "kind"]) await db.schema.alterTable("api_tokens").dropColumn(c).execute();
}
