/**
 * The access model's test fixture, shared by the unit tests of access, auth, gateway and client: an
 * in-memory store, a service with a movable clock, an admin (bootstrapped), a member and a cluster.
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

export async function fixture(opts: { online?: boolean; burst?: number } = {}): Promise<Fixture> {
  const store = await openStore("sqlite::memory:");
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
