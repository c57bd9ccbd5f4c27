/** Access model: members, API tokens, clusters, grants, issued k8s tokens, signing keys. */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("members")
    .addColumn("id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("email", "varchar(320)", (c) => c.notNull().unique())
    .addColumn("oidc_subject", "varchar(255)")
    .addColumn("role", "varchar(16)", (c) => c.notNull())
    .addColumn("robot", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("status", "varchar(16)", (c) => c.notNull())
    .addColumn("created_at", "varchar(32)", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("api_tokens")
    .addColumn("id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("member_id", "varchar(64)", (c) => c.notNull().references("members.id").onDelete("cascade"))
    .addColumn("token_hash", "varchar(128)", (c) => c.notNull().unique())
    .addColumn("created_at", "varchar(32)", (c) => c.notNull())
    .addColumn("revoked_at", "varchar(32)")
    .execute();
  await db.schema
    .createTable("clusters")
    .addColumn("id", "varchar(63)", (c) => c.primaryKey())
    .addColumn("name", "varchar(255)", (c) => c.notNull())
    .addColumn("sandbox", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("agent_credential_hash", "varchar(128)", (c) => c.notNull())
    .addColumn("access_generation", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("last_seen_at", "varchar(32)")
    .addColumn("created_at", "varchar(32)", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("grants")
    .addColumn("id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("cluster_id", "varchar(63)", (c) => c.notNull().references("clusters.id").onDelete("cascade"))
    .addColumn("member_id", "varchar(64)", (c) => c.notNull().references("members.id").onDelete("cascade"))
    .addColumn("role", "varchar(16)", (c) => c.notNull())
    .addColumn("scope", "varchar(16)", (c) => c.notNull())
    // "" for cluster scope, so the unique index below works the same on SQLite and PostgreSQL.
    .addColumn("namespace", "varchar(63)", (c) => c.notNull())
    .addColumn("status", "varchar(16)", (c) => c.notNull())
    .addColumn("error", "text")
    .addColumn("expires_at", "varchar(32)")
    .addColumn("created_by", "varchar(64)", (c) => c.notNull())
    .addColumn("created_at", "varchar(32)", (c) => c.notNull())
    .addColumn("updated_at", "varchar(32)", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("grants_unique").on("grants").columns(["cluster_id", "member_id", "role", "scope", "namespace"]).unique().execute();
  await db.schema.createIndex("grants_member").on("grants").columns(["member_id", "cluster_id"]).execute();
  await db.schema
    .createTable("issued_tokens")
    .addColumn("id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("member_id", "varchar(64)", (c) => c.notNull().references("members.id").onDelete("cascade"))
    .addColumn("cluster_id", "varchar(63)", (c) => c.notNull().references("clusters.id").onDelete("cascade"))
    .addColumn("kind", "varchar(16)", (c) => c.notNull())
    .addColumn("issued_at", "varchar(32)", (c) => c.notNull())
    .addColumn("expires_at", "varchar(32)", (c) => c.notNull())
    .addColumn("revoked_at", "varchar(32)")
    .execute();
  await db.schema.createIndex("issued_tokens_member").on("issued_tokens").columns(["cluster_id", "member_id"]).execute();
  await db.schema
    .createTable("signing_keys")
    .addColumn("kid", "varchar(128)", (c) => c.primaryKey())
    .addColumn("alg", "varchar(16)", (c) => c.notNull())
    .addColumn("private_jwk", "text", (c) => c.notNull())
    .addColumn("public_jwk", "text", (c) => c.notNull())
    .addColumn("created_at", "varchar(32)", (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ["signing_keys", "issued_tokens", "grants", "clusters", "api_tokens", "members"]) {
    await db.schema.dropTable(t).execute();
  }
}
