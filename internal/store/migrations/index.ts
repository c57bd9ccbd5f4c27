/**
 * Every migration, in order. Static imports (not a folder scan) so the bundled single
 * executable carries them. Queries must be dialect-neutral: SQLite and PostgreSQL.
 */
import type { Migration } from "kysely/migration";
import * as m0001 from "./0001_settings.ts";
import * as m0002 from "./0002_access.ts";
import * as m0003 from "./0003_auth.ts";
import * as m0004 from "./0004_device_client_address.ts";
import * as m0005 from "./0005_audit.ts";
import * as m0006 from "./0006_issued_token_last_used.ts";

export const migrations: Record<string, Migration> = {
  "0001_settings": m0001,
  "0002_access": m0002,
  "0003_auth": m0003,
  "0004_device_client_address": m0004,
  "0005_audit": m0005,
  "0006_issued_token_last_used": m0006,
};
