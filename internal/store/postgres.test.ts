import assert from "node:assert/strict";
import { test } from "node:test";
import { isStoreUnavailable } from "./errors.ts";
import { describe, parsePostgresUrl, redactedUrl } from "./postgres.ts";

test("store URL parameters Ward reads are checked and removed; the rest reach pg unchanged", () => {
  const p = parsePostgresUrl("postgres://ward:pw@db.internal:6432/ward?pool_max=25&connect_timeout=3&sslmode=verify-full&sslrootcert=/etc/ward/db-ca.pem");
  assert.deepEqual(p.params, { poolMax: 25, connectTimeoutMs: 3000 });
  assert.equal(p.display, "db.internal:6432/ward");
  const u = new URL(p.connectionString);
  assert.equal(u.searchParams.get("pool_max"), null);
  assert.equal(u.searchParams.get("sslmode"), "verify-full");
  assert.equal(u.searchParams.get("sslrootcert"), "/etc/ward/db-ca.pem");
  assert.deepEqual(parsePostgresUrl("postgresql://h/db").params, { poolMax: 10, connectTimeoutMs: 5000 });
  assert.equal(parsePostgresUrl("postgresql://h/db").display, "h:5432/db");
  for (const bad of ["pool_max=0", "pool_max=1.5", "pool_max=1001", "connect_timeout=0"]) {
    assert.throws(() => parsePostgresUrl(`postgres://h/db?${bad}`), /Invalid .* in the store URL: expected a whole number/);
  }
});

test("passwords never appear in what Ward says about a store", () => {
  assert.equal(redactedUrl("postgres://ward:s3cret@h:5432/db?sslmode=require"), "postgres://ward:***@h:5432/db");
  assert.equal(redactedUrl("postgres://h/db"), "postgres://h/db");
  assert.match(describe({ message: "connect to postgres://ward:s3cret@h/db failed" }), /postgres:\/\/ward:\*\*\*@h\/db failed/);
  assert.match(describe({ code: "28P01" }), /password authentication failed/);
});

test("unavailable means 'retry later', not 'this query is wrong'", () => {
  for (const e of [{ code: "ECONNREFUSED" }, { code: "57P01" }, { code: "08006" }, { code: "SQLITE_BUSY" }, new Error("Connection terminated unexpectedly")]) {
    assert.ok(isStoreUnavailable(e), JSON.stringify(e));
  }
  for (const e of [{ code: "23505" }, { code: "42P01" }, new Error("boom"), null, "x"]) assert.ok(!isStoreUnavailable(e), JSON.stringify(e));
});
