/**
 * The access model's test fixture, shared by the unit tests of access, auth, gateway and client: a
 * fresh store, a service with a movable clock, an admin (bootstrapped), a member and a cluster.
 *
 * The store is SQLite in memory, or, with `WARD_TEST_STORE=postgres`, a fresh schema in the
 * PostgreSQL database at `WARD_TEST_PG_URL`: `npm test` runs these suites once on each (the same
 * tests, not a copy; `scripts/with-postgres.ts` starts the server).
 */
import { AccessService, RateLimiter, SigningKeys, type AuthContext } from "../../internal/access/index.ts";
import { openStore, type Store } from "../../internal/store/index.ts";

export interface Fixture {
  store: Store;
  svc: AccessService;
  keys: SigningKeys;
  clock: { t: number };
  admin: AuthContext;
  adminToken: string;
  member: AuthContext;
  memberToken: string;
  close(): Promise<void>;
}

let schemas = 0;

/** A store URL for one test: SQLite in memory, or a new empty schema on the test PostgreSQL. */
export async function testStoreUrl(): Promise<string> {
  const kind = process.env.WARD_TEST_STORE ?? "sqlite";
  if (kind === "sqlite") return "sqlite::memory:";
  if (kind !== "postgres") throw new Error(`WARD_TEST_STORE must be sqlite or postgres, got ${JSON.stringify(kind)}`);
  const base = process.env.WARD_TEST_PG_URL;
  if (!base) throw new Error("WARD_TEST_STORE=postgres needs WARD_TEST_PG_URL (run the suite through scripts/with-postgres.ts)");
  const schema = `t_${process.pid}_${++schemas}`;
  const { default: pg } = await import("pg");
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  try {
    await c.query(`create schema ${schema}`);
  } finally {
    await c.end();
  }
  const u = new URL(base);
  u.searchParams.set("options", `-c search_path=${schema}`);
  u.searchParams.set("pool_max", "4");
  return u.toString();
}

export async function fixture(opts: { online?: boolean; burst?: number } = {}): Promise<Fixture> {
  const store = await openStore(await testStoreUrl());
  const clock = { t: Date.parse("2030-01-01T00:00:00Z") };
  const now = () => clock.t;
  const keys = await SigningKeys.load(store.db, now);
  const svc = new AccessService({
    db: store.db, keys, now,
    rateLimiter: new RateLimiter({ now, burst: opts.burst ?? 100, perMinute: 60 }),
    isClusterOnline: () => opts.online ?? false,
  });
  const boot = (await svc.bootstrapAdmin("root@example.com"))!;
  const admin = { member: boot.member };
  const m = await svc.createMember(admin, { email: "dev@example.com", role: "member" });
  await svc.createCluster(admin, { id: "prod", name: "Production" });
  return {
    store, svc, keys, clock, admin, adminToken: boot.apiToken, member: { member: m.member }, memberToken: m.apiToken,
    close: () => store.close(),
  };
}
