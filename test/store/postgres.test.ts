/**
 * The store on a real PostgreSQL (Debian's server, started here on loopback): several gateways on
 * one database from the first start, atomic counters under concurrent writers, clear errors for an
 * unreachable database, and recovery when the database returns. The access, auth and gateway
 * suites also run on PostgreSQL as a whole (`npm test`'s PostgreSQL stage).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { sql } from "kysely";
import { AccessService, SigningKeys } from "../../internal/access/index.ts";
import { isStoreUnavailable, openStore, redactedUrl, storeReport, type Store } from "../../internal/store/index.ts";
import { migrations } from "../../internal/store/migrations/index.ts";
import { eventually } from "../helpers/eventually.ts";
import { startPostgres, type Postgres } from "../helpers/postgres.ts";
import { run, start } from "../helpers/process.ts";
import { wardBinary } from "../helpers/ward.ts";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let pg: Postgres;
before(async () => {
  pg = await startPostgres();
});
after(() => pg?.destroy());

test("gateways starting at once on one empty database all come up; the schema is migrated once", async () => {
  const db = await pg.createDatabase();
  const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(pg.url(db))));
  try {
    const applied = pg.psql("select name from ward_migration order by name", db).split("\n");
    assert.deepEqual(applied, Object.keys(migrations).sort());
    // Every store works on the one schema.
    await stores[0]!.db.insertInto("settings").values({ key: "k", value: "v", updated_at: "now" }).execute();
    for (const s of stores) assert.equal((await s.db.selectFrom("settings").select("value").where("key", "=", "k").executeTakeFirst())?.value, "v");
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
  // Opened again: nothing to migrate, nothing changes.
  const again = await openStore(pg.url(db));
  await again.close();
  assert.equal(pg.psql("select count(*) from ward_migration", db), String(Object.keys(migrations).length));
});

test("another application's kysely tables in the same database do not confuse Ward's migrations", async () => {
  const db = await pg.createDatabase();
  pg.psql("create schema other; create table other.kysely_migration (name varchar(255) primary key, timestamp varchar(255) not null); insert into other.kysely_migration values ('0001_settings', 'x'); create table other.kysely_migration_lock (id varchar(255) primary key, is_locked integer not null default 0)", db);
  const s = await openStore(pg.url(db));
  try {
    await s.db.insertInto("settings").values({ key: "k", value: "v", updated_at: "now" }).execute();
    assert.equal(pg.psql("select count(*) from public.ward_migration", db), String(Object.keys(migrations).length));
  } finally {
    await s.close();
  }
});

test("the access generation and grant writes stay exact under concurrent writers on two gateways", async () => {
  const db = await pg.createDatabase();
  const [a, b] = await Promise.all([openStore(pg.url(db)), openStore(pg.url(db))]);
  try {
    const svc = async (s: Store) => new AccessService({ db: s.db, keys: await SigningKeys.load(s.db), isClusterOnline: () => true });
    const sa = await svc(a);
    const sb = await svc(b);
    const boot = (await sa.bootstrapAdmin("root@example.com"))!;
    const admin = { member: boot.member };
    await sa.createCluster(admin, { id: "prod", name: "Production" });
    const members = await Promise.all(Array.from({ length: 10 }, (_, i) => sa.createMember(admin, { email: `m${i}@example.com`, role: "member" })));
    const generation = async () => Number(pg.psql("select access_generation from clusters where id = 'prod'", db));
    const g0 = await generation();
    // Revoke-all from both gateways at once, interleaved with grant writes for the same members.
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => (i % 2 ? sa : sb).revokeAll(admin, "prod")),
      ...members.map((m, i) => (i % 2 ? sb : sa).createGrant(admin, "prod", { member_email: m.member.email, role: "view", scope: "cluster" })),
    ]);
    // The same grant asked for at once from each gateway, many times: one row; every answer is that grant.
    const same = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? sa : sb).createGrant(admin, "prod", { member_email: members[0]!.member.email, role: "edit", scope: "namespace", namespace: "team" })));
    assert.equal(new Set(same.map((r) => r.grant.id)).size, 1, "every caller gets the one grant");
    assert.equal(same.filter((r) => r.created).length, 1, "created once");
    assert.equal(await generation(), g0 + 10, "every revoke-all counted exactly once");
    assert.equal(pg.psql("select count(*) from grants where cluster_id = 'prod' and role = 'view'", db), "10");
    assert.equal(pg.psql("select count(*) from grants where cluster_id = 'prod' and role = 'edit'", db), "1", "the unique grant exists once");
    // A token minted after the last revoke-all carries the final generation: it verifies on the
    // gateway that minted it and on one that starts now. (A running gateway learns another's
    // changes through the events of scale-out part 2; here each sees its own at once.)
    const minted = await sb.mintToken({ member: members[1]!.member }, "prod");
    assert.equal((await sb.verifyToken(minted.token, "prod")).member.email, "m1@example.com");
    const fresh = await svc(a);
    assert.equal((await fresh.verifyToken(minted.token, "prod")).member.email, "m1@example.com");
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test("an unreachable database at start names the host and the cause, never the password", async () => {
  const secret = "s3cret-pw";
  const cases: [string, RegExp][] = [
    [`postgres://ward:${secret}@127.0.0.1:1/ward`, /Cannot connect to PostgreSQL at 127\.0\.0\.1:1\/ward: connection refused/],
    [pg.url("no_such_db"), /Cannot connect to PostgreSQL at 127\.0\.0\.1:\d+\/no_such_db: the database does not exist/],
    [pg.url("postgres").replace(/:[^:@/]+@/, `:${secret}@`), /password authentication failed/],
    [`postgres://ward:${secret}@127.0.0.1:${pg.port}`, /names no database/],
    [`${pg.url("postgres")}?pool_max=0`, /Invalid pool_max="0" in the store URL/],
  ];
  for (const [url, re] of cases) {
    await assert.rejects(openStore(url), (e: Error) => {
      assert.equal(e.name, "StoreError");
      assert.match(e.message, re);
      assert.ok(!e.message.includes(secret), `the password leaked: ${e.message}`);
      return true;
    });
  }
  assert.equal(redactedUrl(`postgres://ward:${secret}@db.example:5432/ward?sslmode=require`), "postgres://ward:***@db.example:5432/ward");
});

test("the database stopped under a running store: errors say unavailable; it recovers by itself when the database returns", async () => {
  const db = await pg.createDatabase();
  const s = await openStore(pg.url(db));
  try {
    await s.db.insertInto("settings").values({ key: "k", value: "v", updated_at: "now" }).execute();
    await pg.stop();
    const err = await s.db.selectFrom("settings").selectAll().execute().then(() => null, (e: unknown) => e);
    assert.ok(err, "a query fails while the database is down");
    assert.ok(isStoreUnavailable(err), `classified as unavailable: ${(err as Error).message}`);
    await assert.rejects(s.ping());
    await pg.start();
    const rows = await eventually("the store to recover", () => s.db.selectFrom("settings").selectAll().execute(), { timeoutMs: 10_000, intervalMs: 200, retryErrors: true });
    assert.equal(rows[0]?.value, "v");
    await s.ping();
  } finally {
    await s.close();
  }
});

test("ward gateway migrate-store: SQLite to PostgreSQL and back, verified; tokens and keys keep working; a non-empty target is refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ward-migrate-"));
  try {
    // A small deployment on SQLite: members, a robot token, clusters, grants, issued tokens, keys, settings.
    const sqliteUrl = `sqlite:${join(dir, "ward.db")}`;
    const src = await openStore(sqliteUrl);
    const svc = new AccessService({ db: src.db, keys: await SigningKeys.load(src.db), isClusterOnline: () => true });
    const boot = (await svc.bootstrapAdmin("root@example.com"))!;
    const admin = { member: boot.member };
    await svc.createCluster(admin, { id: "prod", name: "Production" });
    await svc.createCluster(admin, { id: "dev", name: "Développement ✓" });
    const dev = await svc.createMember(admin, { email: "dev@example.com", role: "member" });
    await svc.createGrant(admin, "prod", { member_email: "dev@example.com", role: "edit", scope: "namespace", namespace: "team-a", expires_at: "2031-01-01T00:00:00.000Z" });
    await svc.createGrant(admin, "dev", { member_email: "dev@example.com", role: "view", scope: "cluster" });
    const minted = await svc.mintToken({ member: dev.member }, "prod");
    await svc.revokeAll(admin, "dev");
    // More rows than a page, with keys the two databases' collations may order differently.
    const extra = Array.from({ length: 1234 }, (_, i) => ({ key: `${i % 2 ? "K" : "k"}${i % 3 ? "-" : "_"}${i}`, value: `v${i}`, updated_at: "now" }));
    for (let i = 0; i < extra.length; i += 200) await src.db.insertInto("settings").values(extra.slice(i, i + 200)).execute();
    const before = await storeReport(src.db);
    await src.close();

    const target = await pg.createDatabase();
    const secret = decodeURIComponent(new URL(pg.url(target)).password);
    const r = await run(wardBinary, ["gateway", "migrate-store", "--from", sqliteUrl, "--to", pg.url(target)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /grants +2 rows +sha256 [0-9a-f]{16} +verified/);
    assert.match(r.stdout, /Done: \d+ rows in \d+ tables copied and verified/);
    assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), "the database password is never printed");

    // And back to a new SQLite file: the round trip is exact.
    const back = `sqlite:${join(dir, "back.db")}`;
    const r2 = await run(wardBinary, ["gateway", "migrate-store", "--from", pg.url(target), "--to", back]);
    assert.equal(r2.code, 0, r2.stderr);
    const backStore = await openStore(back);
    try {
      assert.deepEqual(await storeReport(backStore.db), before);
    } finally {
      await backStore.close();
    }
    const pgStore = await openStore(pg.url(target));
    try {
      assert.deepEqual(await storeReport(pgStore.db), before, "every table arrives identical");
      // (What follows writes: last-used times.)
      // The same signing keys and token records: the token minted on SQLite verifies on PostgreSQL,
      // the robot's API token still authenticates, the generation bump carried over.
      const moved = new AccessService({ db: pgStore.db, keys: await SigningKeys.load(pgStore.db), isClusterOnline: () => true });
      assert.equal((await moved.verifyToken(minted.token, "prod")).member.email, "dev@example.com");
      assert.equal((await moved.authenticateApiToken(boot.apiToken)).member.email, "root@example.com");
      assert.equal(Number(pg.psql("select access_generation from clusters where id = 'dev'", target)), 2);
    } finally {
      await pgStore.close();
    }

    // Into the same target again: refused, nothing changes.
    const again = await run(wardBinary, ["gateway", "migrate-store", "--from", sqliteUrl, "--to", pg.url(target)]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /target store is not empty \(settings|members: \d+ rows/);
    // Clear usage errors.
    const missing = await run(wardBinary, ["gateway", "migrate-store", "--from", `sqlite:${join(dir, "nope.db")}`, "--to", pg.url(target)]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no SQLite store at/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("TLS to the database: verify-full with the database's CA connects; another CA is refused with a clear error", async () => {
  const tlsPg = await startPostgres({ tls: true });
  try {
    const db = await tlsPg.createDatabase();
    const base = tlsPg.url(db);
    const s = await openStore(`${base}?sslmode=verify-full&sslrootcert=${encodeURIComponent(tlsPg.caFile!)}`);
    try {
      const { rows } = await sql<{ ssl: boolean }>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`.execute(s.db);
      assert.equal(rows[0]?.ssl, true, "the connection is encrypted");
    } finally {
      await s.close();
    }
    // A CA that did not sign the server's certificate does not vouch for it.
    const wrong = mkdtempSync(join(tmpdir(), "ward-ca-"));
    try {
      const { execFileSync } = await import("node:child_process");
      execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=not-the-db-ca", "-keyout", join(wrong, "k"), "-out", join(wrong, "ca.crt")], { stdio: "pipe" });
      await assert.rejects(openStore(`${base}?sslmode=verify-full&sslrootcert=${encodeURIComponent(join(wrong, "ca.crt"))}`), (e: Error) => {
        assert.match(e.message, /Cannot connect to PostgreSQL at 127\.0\.0\.1:\d+\/\w+: .*(certificate|self-signed|verify)/i);
        return true;
      });
    } finally {
      rmSync(wrong, { recursive: true, force: true });
    }
  } finally {
    await tlsPg.destroy();
  }
});

test("two dist/ward gateways started at once on one empty database both come up; one first admin", async () => {
  const db = await pg.createDatabase();
  const dir = mkdtempSync(join(tmpdir(), "ward-two-"));
  const gws = ["a", "b"].map((n) => start(wardBinary, ["gateway", "--listen", "127.0.0.1:0", "--data-dir", join(dir, n), "--store", pg.url(db)]));
  try {
    await Promise.all(gws.map((g) => g.waitFor(/"gateway listening"/, 30_000)));
    assert.equal(pg.psql("select count(*) from members where role = 'admin'", db), "1", "the first admin is created once");
    assert.equal(pg.psql("select count(*) from ward_migration", db), String(Object.keys(migrations).length));
    const created = ["a", "b"].filter((n) => existsSync(join(dir, n, "admin-token")));
    assert.equal(created.length, 1, "one gateway wrote the first admin's token");
  } finally {
    await Promise.all(gws.map((g) => g.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a checked-out connection terminated between a transaction's statements fails that transaction (unavailable), not the process", async () => {
  const db = await pg.createDatabase();
  const store = await openStore(pg.url(db));
  try {
    await assert.rejects(store.db.transaction().execute(async (tx) => {
      const pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx)).rows[0]!.pid;
      pg.psql(`select pg_terminate_backend(${pid})`);
      // The client's 'error' event fires now, with no query of it in flight.
      await new Promise((r) => setTimeout(r, 200));
      await sql`select 1`.execute(tx);
    }), (e: unknown) => isStoreUnavailable(e) || /terminat|not queryable/i.test((e as Error).message));
    // The pool replaced it: the store works on.
    await eventually("the store answers again", async () => (await sql<{ one: number }>`select 1 as one`.execute(store.db)).rows[0]?.one === 1, { timeoutMs: 5000, intervalMs: 100, retryErrors: true });
  } finally {
    await store.close();
  }
});
