/**
 * The access model: members, clusters, grants, settings and k8s tokens, with validation and the
 * rules "only admins manage", "admins need a grant too", "sandbox clusters have no access".
 * Verification (`verifyToken`) reads through caches that every mutation here invalidates.
 */
import { EventEmitter } from "node:events";
import type { Kysely } from "kysely";
import type { Database } from "../store/index.ts";
import type { GrantsTable, MembersTable } from "../store/schema.ts";
import { BoundedCache } from "./_cache.ts";
import { AccessError, TokenRejectedError } from "./errors.ts";
import { RateLimiter } from "./rate_limiter.ts";
import { hashSecret, newId, newSecret, secretMatches } from "./secrets.ts";
import type { SigningKeys } from "./signing_keys.ts";
import { signToken, verifyTokenSignature } from "./tokens.ts";
import type {
  AccessSettings, ApiTokenInfo, AuthContext, Cluster, DesiredGrant, Grant, GrantStatusUpdate, Member, RevocationEvent, TokenContext,
} from "./types.ts";
import {
  parseClusterId, parseEmail, parseExpiry, parseGrantRole, parseMemberRole, parseNamespace, parseScope,
} from "./validate.ts";

export const DEFAULT_MAX_TOKEN_LIFETIME_S = 3600;
const SETTING_ENABLED = "access.enabled";
const SETTING_MAX_LIFETIME = "access.max_token_lifetime_seconds";

export interface AccessServiceOptions {
  db: Kysely<Database>;
  keys: SigningKeys;
  /** Clock in ms; tests move it. */
  now?: () => number;
  /** `iss` of minted tokens. */
  issuer?: string;
  rateLimiter?: RateLimiter;
  /** Whether an agent of the cluster is connected (new grants start `pending` then, else `cluster_offline`). */
  isClusterOnline?: (clusterId: string) => boolean;
}

export interface AccessEvents {
  revoked: [RevocationEvent];
  /** The set of live grants of a cluster changed: push it to the agent. */
  grantsChanged: [string];
  /** The access feature was switched off: every proxied stream ends. */
  disabled: [];
  /** A cluster's agent join credential was replaced: its connected agents must be disconnected. */
  agentCredentialRotated: [string];
  /** A cluster's grant statuses (agent reports) or online state changed: for live views, not the agent. */
  statusChanged: [string];
}

interface ClusterState {
  generation: number;
  sandbox: boolean;
}
interface TokenState {
  revoked: boolean;
  memberId: string;
  clusterId: string;
}

export class AccessService {
  readonly events = new EventEmitter<AccessEvents>();
  readonly issuer: string;
  #db: Kysely<Database>;
  #keys: SigningKeys;
  #now: () => number;
  #signatureCache = new Map<string, { sub: string; jti: string; generation: number; exp: number }>();
  #limiter: RateLimiter;
  #online: (clusterId: string) => boolean;
  #settings: AccessSettings | undefined;
  #members = new BoundedCache<string, Member | null>();
  #clusters = new BoundedCache<string, ClusterState | null>();
  #grants = new BoundedCache<string, Grant[]>();
  #tokens = new BoundedCache<string, TokenState | null>(50_000);
  /** Grant expiry: grants that lapsed up to here have been announced. */
  #expiryCheckedAt: number;
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  #nextExpiry = Infinity;
  #expiryTimerOn = false;

  constructor(opts: AccessServiceOptions) {
    this.#db = opts.db;
    this.#keys = opts.keys;
    this.#now = opts.now ?? Date.now;
    this.issuer = opts.issuer ?? "ward";
    this.#limiter = opts.rateLimiter ?? new RateLimiter({ now: this.#now });
    this.#online = opts.isClusterOnline ?? (() => false);
    this.#expiryCheckedAt = this.#now();
  }

  // ---- grant expiry ----------------------------------------------------------------------

  /**
   * Announces grant expiries as they happen: an expired grant is a revocation (its live streams
   * close, its bindings go). The gateway turns this on; tests move the clock and call
   * `checkExpiries()` themselves.
   */
  startExpiryTimer(): void {
    this.#expiryTimerOn = true;
    void this.#scheduleExpiry();
  }

  stopExpiryTimer(): void {
    this.#expiryTimerOn = false;
    clearTimeout(this.#expiryTimer);
    this.#nextExpiry = Infinity;
  }

  /** Emits `revoked` (grant-expired) and `grantsChanged` for grants that lapsed since the last check. */
  async checkExpiries(): Promise<number> {
    const now = this.#now();
    const from = this.#iso(this.#expiryCheckedAt);
    this.#expiryCheckedAt = now;
    const rows = await this.#db
      .selectFrom("grants")
      .select(["id", "cluster_id", "member_id"])
      .where("expires_at", ">", from)
      .where("expires_at", "<=", this.#iso(now))
      .execute();
    const clusters = new Set<string>();
    for (const g of rows) {
      this.#grants.delete(grantKey(g.cluster_id, g.member_id));
      this.events.emit("revoked", { clusterId: g.cluster_id, memberId: g.member_id, grantId: g.id, reason: "grant-expired" });
      clusters.add(g.cluster_id);
    }
    for (const c of clusters) this.events.emit("grantsChanged", c);
    return rows.length;
  }

  /** Sets the timer for the soonest expiry (`soonest`, or read from the store); a sooner timer already set stays. */
  async #scheduleExpiry(soonest?: number): Promise<void> {
    if (!this.#expiryTimerOn) return;
    let next = soonest;
    if (next === undefined) {
      const r = await this.#db.selectFrom("grants").select((eb) => eb.fn.min("expires_at").as("next")).where("expires_at", ">", this.#iso()).executeTakeFirst();
      next = r?.next ? Date.parse(r.next) : Infinity;
      // At most a minute: the periodic re-check.
      next = Math.min(next, this.#now() + 60_000);
    }
    if (!this.#expiryTimerOn || next >= this.#nextExpiry) return;
    clearTimeout(this.#expiryTimer);
    this.#nextExpiry = next;
    // Re-checked at least every minute (a clock that jumps, a grant written by another gateway).
    const wait = Math.max(0, Math.min(next - this.#now(), 60_000));
    this.#expiryTimer = setTimeout(() => {
      this.#nextExpiry = Infinity;
      void this.checkExpiries()
        .catch(() => {})
        .then(() => this.#scheduleExpiry());
    }, wait);
    this.#expiryTimer.unref?.();
  }

  #iso(ms = this.#now()): string {
    return new Date(ms).toISOString();
  }

  // ---- settings --------------------------------------------------------------------------

  async settings(): Promise<AccessSettings> {
    if (this.#settings) return this.#settings;
    const rows = await this.#db.selectFrom("settings").selectAll().where("key", "in", [SETTING_ENABLED, SETTING_MAX_LIFETIME]).execute();
    const get = (k: string) => rows.find((r) => r.key === k)?.value;
    const s: AccessSettings = {
      enabled: get(SETTING_ENABLED) !== "false",
      maxTokenLifetimeSeconds: Number(get(SETTING_MAX_LIFETIME) ?? DEFAULT_MAX_TOKEN_LIFETIME_S),
    };
    this.#settings = s;
    return s;
  }

  async updateSettings(actor: AuthContext, patch: { enabled?: unknown; max_token_lifetime_seconds?: unknown }): Promise<AccessSettings> {
    requireAdmin(actor);
    const updates: [string, string][] = [];
    if (patch.enabled !== undefined) {
      if (typeof patch.enabled !== "boolean") throw new AccessError("Invalid", "enabled must be true or false");
      updates.push([SETTING_ENABLED, String(patch.enabled)]);
    }
    if (patch.max_token_lifetime_seconds !== undefined) {
      const v = patch.max_token_lifetime_seconds;
      if (typeof v !== "number" || !Number.isInteger(v) || v < 60 || v > 30 * 86400) {
        throw new AccessError("Invalid", "max_token_lifetime_seconds must be an integer between 60 and 2592000 (30 days)");
      }
      updates.push([SETTING_MAX_LIFETIME, String(v)]);
    }
    const at = this.#iso();
    for (const [key, value] of updates) {
      await this.#db
        .insertInto("settings")
        .values({ key, value, updated_at: at })
        .onConflict((oc) => oc.column("key").doUpdateSet({ value, updated_at: at }))
        .execute();
    }
    const wasEnabled = this.#settings?.enabled ?? true;
    this.#settings = undefined;
    const s = await this.settings();
    if (wasEnabled && !s.enabled) this.events.emit("disabled");
    return s;
  }

  async requireEnabled(): Promise<void> {
    if (!(await this.settings()).enabled) throw new AccessError("FeatureDisabled", "Not found");
  }

  // ---- members ---------------------------------------------------------------------------

  /** Creates the first admin when there are no members yet; returns null otherwise. */
  async bootstrapAdmin(email = "admin@ward.local"): Promise<{ member: Member; apiToken: string } | null> {
    const any = await this.#db.selectFrom("members").select("id").limit(1).executeTakeFirst();
    if (any) return null;
    return this.#insertMember({ email, role: "admin", robot: false });
  }

  async createMember(actor: AuthContext, input: { email?: unknown; role?: unknown; robot?: unknown; oidc_subject?: unknown; expires_in_seconds?: unknown; api_token?: unknown }): Promise<{ member: Member; apiToken: string }> {
    requireAdmin(actor);
    const email = parseEmail(input.email);
    const role = parseMemberRole(input.role ?? "member");
    if (input.robot !== undefined && typeof input.robot !== "boolean") throw new AccessError("Invalid", "robot must be true or false");
    if (input.oidc_subject !== undefined && input.oidc_subject !== null && typeof input.oidc_subject !== "string") {
      throw new AccessError("Invalid", "oidc_subject must be a string");
    }
    const existing = await this.#db.selectFrom("members").select("id").where("email", "=", email).executeTakeFirst();
    if (existing) throw new AccessError("Conflict", `A member with email ${email} already exists (${existing.id})`);
    const robot = input.robot === true;
    // A robot's first API token expires like every admin-issued token; a person's is a personal token.
    const ttlSeconds = robot ? parseTokenTtl(input.expires_in_seconds) : undefined;
    // `api_token: false` invites a person who will only sign in (SSO / device login).
    const withToken = robot || input.api_token !== false;
    return this.#insertMember({ email, role, robot, oidc_subject: (input.oidc_subject as string | undefined) ?? null, ttlSeconds, withToken });
  }

  async #insertMember(m: { email: string; role: Member["role"]; robot: boolean; oidc_subject?: string | null; withToken?: boolean; ttlSeconds?: number | undefined }): Promise<{ member: Member; apiToken: string }> {
    const row: MembersTable = {
      id: newId("m"),
      email: m.email,
      oidc_subject: m.oidc_subject ?? null,
      role: m.role,
      robot: m.robot ? 1 : 0,
      status: "active",
      created_at: this.#iso(),
    };
    await this.#db.insertInto("members").values(row).execute();
    this.#members.delete(row.id);
    const apiToken = m.withToken === false ? "" : (await this.issueApiToken(row.id, { name: "initial", ...(m.ttlSeconds ? { ttlSeconds: m.ttlSeconds } : {}) })).secret;
    return { member: toMember(row), apiToken };
  }

  /** A new bearer API token for a member (returned once, stored hashed). */
  async issueApiToken(memberId: string, opts: { kind?: "api" | "cli"; name?: string; ttlSeconds?: number; sessionId?: string } = {}): Promise<{ id: string; secret: string; expiresAt: string | null }> {
    const kind = opts.kind ?? "api";
    const secret = newSecret(kind === "cli" ? "wardc_" : "wardp_");
    const id = newId("t");
    const expiresAt = opts.ttlSeconds === undefined ? null : this.#iso(this.#now() + opts.ttlSeconds * 1000);
    await this.#db
      .insertInto("api_tokens")
      .values({ id, member_id: memberId, token_hash: hashSecret(secret), created_at: this.#iso(), revoked_at: null, kind, name: opts.name ?? "", expires_at: expiresAt, last_used_at: null, session_id: opts.sessionId ?? null })
      .execute();
    return { id, secret, expiresAt };
  }

  /** Admins issue named, expiring API tokens (robots' credentials); shown once. */
  async createApiToken(actor: AuthContext, memberId: string, input: { name?: unknown; expires_in_seconds?: unknown }): Promise<{ token: ApiTokenInfo; secret: string }> {
    requireAdmin(actor);
    const member = await this.#member(memberId);
    if (!member) throw new AccessError("NotFound", `No member ${memberId}`);
    const name = input.name ?? "";
    if (typeof name !== "string" || name.length > 255) throw new AccessError("Invalid", "name must be a string of at most 255 characters");
    const t = await this.issueApiToken(memberId, { name, ttlSeconds: parseTokenTtl(input.expires_in_seconds) });
    const token = (await this.listApiTokens(actor, memberId)).find((x) => x.id === t.id)!;
    return { token, secret: t.secret };
  }

  /** A member's API tokens (never the secrets); admins see anyone's, members their own. */
  async listApiTokens(actor: AuthContext, memberId: string): Promise<ApiTokenInfo[]> {
    if (actor.member.id !== memberId) requireAdmin(actor);
    return this.#db
      .selectFrom("api_tokens")
      .select(["id", "member_id", "kind", "name", "created_at", "expires_at", "last_used_at", "revoked_at"])
      .where("member_id", "=", memberId)
      .where("kind", "=", "api")
      .orderBy("created_at")
      .orderBy("id")
      .execute();
  }

  async revokeApiToken(actor: AuthContext, memberId: string, tokenId: string): Promise<void> {
    if (actor.member.id !== memberId) requireAdmin(actor);
    const r = await this.#db.updateTable("api_tokens").set({ revoked_at: this.#iso() }).where("id", "=", tokenId).where("member_id", "=", memberId).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new AccessError("NotFound", `No API token ${tokenId} for member ${memberId}`);
  }

  /**
   * The member an SSO sign-in maps to. Keyed by the provider's `sub`; a first sign-in binds an
   * invited member by (verified) email, or creates a member when the email's domain is allowed.
   * Returns null when the person has no membership.
   */
  async memberForLogin(who: { sub: string; email?: string | undefined; emailVerified?: boolean | undefined }, allowedDomains: readonly string[] = []): Promise<Member | null> {
    const bySub = await this.#db.selectFrom("members").selectAll().where("oidc_subject", "=", who.sub).executeTakeFirst();
    if (bySub) return toMember(bySub);
    // A missing email_verified claim means unverified: only a verified address binds or joins.
    if (!who.email || who.emailVerified !== true) return null;
    const email = who.email.toLowerCase();
    const invited = await this.#db.selectFrom("members").selectAll().where("email", "=", email).executeTakeFirst();
    if (invited) {
      if (invited.oidc_subject !== null || invited.robot === 1) return null;
      await this.#db.updateTable("members").set({ oidc_subject: who.sub }).where("id", "=", invited.id).execute();
      this.#members.delete(invited.id);
      return this.#member(invited.id);
    }
    const domain = email.slice(email.lastIndexOf("@") + 1);
    if (!allowedDomains.map((d) => d.toLowerCase()).includes(domain)) return null;
    const { member } = await this.#insertMember({ email: parseEmail(email), role: "member", robot: false, oidc_subject: who.sub, withToken: false });
    return member;
  }

  /** Whether any admin exists (the local bootstrap is offered only before the first one). */
  async hasAdmin(): Promise<boolean> {
    return !!(await this.#db.selectFrom("members").select("id").where("role", "=", "admin").limit(1).executeTakeFirst());
  }

  /** Creates or promotes the bootstrap admin (local bootstrap code redeemed). */
  async ensureAdmin(email: string): Promise<Member> {
    const e = parseEmail(email);
    const row = await this.#db.selectFrom("members").selectAll().where("email", "=", e).executeTakeFirst();
    if (row) {
      await this.#db.updateTable("members").set({ role: "admin", status: "active" }).where("id", "=", row.id).execute();
      this.#members.delete(row.id);
      return (await this.#member(row.id))!;
    }
    return (await this.#insertMember({ email: e, role: "admin", robot: false, withToken: false })).member;
  }

  async member(id: string): Promise<Member | null> {
    return this.#member(id);
  }

  async listMembers(actor: AuthContext): Promise<Member[]> {
    requireAdmin(actor);
    const rows = await this.#db.selectFrom("members").selectAll().orderBy("created_at").orderBy("id").execute();
    return rows.map(toMember);
  }

  async updateMember(actor: AuthContext, id: string, patch: { status?: unknown; role?: unknown }): Promise<Member> {
    requireAdmin(actor);
    const m = await this.#db.selectFrom("members").selectAll().where("id", "=", id).executeTakeFirst();
    if (!m) throw new AccessError("NotFound", `No member ${id}`);
    const set: Partial<MembersTable> = {};
    if (patch.status !== undefined) {
      if (patch.status !== "active" && patch.status !== "disabled") throw new AccessError("Invalid", "status must be active or disabled");
      set.status = patch.status;
    }
    if (patch.role !== undefined) set.role = parseMemberRole(patch.role);
    if (id === actor.member.id && (set.status === "disabled" || set.role === "member")) {
      throw new AccessError("Invalid", "Admins cannot disable or demote themselves: ask another admin");
    }
    if (Object.keys(set).length) await this.#db.updateTable("members").set(set).where("id", "=", id).execute();
    this.#members.delete(id);
    if (set.status !== undefined && set.status !== m.status) {
      // Disabled members' bindings are removed by the agents (and restored when re-enabled).
      for (const c of await this.#db.selectFrom("grants").select("cluster_id").distinct().where("member_id", "=", id).execute()) {
        if (set.status === "disabled") this.events.emit("revoked", { clusterId: c.cluster_id, memberId: id, reason: "member-disabled" });
        this.events.emit("grantsChanged", c.cluster_id);
      }
    }
    return (await this.#member(id))!;
  }

  async #member(id: string): Promise<Member | null> {
    const hit = this.#members.get(id);
    if (hit !== undefined) return hit;
    const row = await this.#db.selectFrom("members").selectAll().where("id", "=", id).executeTakeFirst();
    const m = row ? toMember(row) : null;
    this.#members.set(id, m);
    return m;
  }

  /** Resolves a bearer API token (admin-issued or a CLI session's) to an active member, or throws Unauthorized. */
  async authenticateApiToken(secret: string): Promise<AuthContext> {
    const row = await this.#db
      .selectFrom("api_tokens")
      .select(["id", "member_id", "revoked_at", "expires_at", "kind", "last_used_at"])
      .where("token_hash", "=", hashSecret(secret))
      .executeTakeFirst();
    if (!row || row.revoked_at) throw new AccessError("Unauthorized", "Invalid API token");
    const now = this.#now();
    if (row.expires_at && Date.parse(row.expires_at) <= now) {
      throw new AccessError("Unauthorized", row.kind === "cli" ? "Session expired: run 'ward login'" : "API token expired: ask an admin for a new one");
    }
    const member = await this.#member(row.member_id);
    if (!member) throw new AccessError("Unauthorized", "Invalid API token");
    if (member.status !== "active") throw new AccessError("MemberDisabled", "This member is disabled: ask an admin");
    // last_used_at is informational: written at most once a minute per token.
    if (!row.last_used_at || now - Date.parse(row.last_used_at) > 60_000) {
      await this.#db.updateTable("api_tokens").set({ last_used_at: this.#iso(now) }).where("id", "=", row.id).execute();
    }
    return { member };
  }

  // ---- clusters --------------------------------------------------------------------------

  async createCluster(actor: AuthContext, input: { id?: unknown; name?: unknown; sandbox?: unknown }): Promise<{ cluster: Cluster; joinToken: string }> {
    requireAdmin(actor);
    const id = parseClusterId(input.id);
    const name = input.name === undefined ? id : input.name;
    if (typeof name !== "string" || name.length < 1 || name.length > 255) throw new AccessError("Invalid", "name must be a string of 1-255 characters");
    if (input.sandbox !== undefined && typeof input.sandbox !== "boolean") throw new AccessError("Invalid", "sandbox must be true or false");
    if (await this.#db.selectFrom("clusters").select("id").where("id", "=", id).executeTakeFirst()) {
      throw new AccessError("Conflict", `Cluster ${id} already exists: pick another id`);
    }
    const joinToken = newSecret("wardj_");
    const created_at = this.#iso();
    await this.#db
      .insertInto("clusters")
      .values({ id, name, sandbox: input.sandbox ? 1 : 0, agent_credential_hash: hashSecret(joinToken), access_generation: 1, last_seen_at: null, created_at })
      .execute();
    this.#clusters.delete(id);
    return { cluster: (await this.getCluster(id))!, joinToken };
  }

  async getCluster(id: string): Promise<Cluster | null> {
    const r = await this.#db.selectFrom("clusters").selectAll().where("id", "=", id).executeTakeFirst();
    return r ? toCluster(r) : null;
  }

  /** Admins see every cluster; members only those they hold a live grant on. */
  async listClusters(actor: AuthContext): Promise<Cluster[]> {
    if (actor.member.role !== "admin") return (await this.myClusters(actor)).map((c) => c.cluster);
    const rows = await this.#db.selectFrom("clusters").selectAll().orderBy("id").execute();
    return rows.map(toCluster);
  }

  /**
   * Replaces a cluster's agent join credential (returned once). The old one is refused from now
   * on, and the agents connected with it are disconnected (`agentCredentialRotated`).
   */
  async rotateJoinCredential(actor: AuthContext, clusterId: string): Promise<{ joinToken: string }> {
    requireAdmin(actor);
    const id = isClusterIdLike(clusterId) ? clusterId : undefined;
    const joinToken = newSecret("wardj_");
    const r = id === undefined ? undefined : await this.#db.updateTable("clusters").set({ agent_credential_hash: hashSecret(joinToken) }).where("id", "=", id).executeTakeFirst();
    if (!r || Number(r.numUpdatedRows) === 0) throw new AccessError("NotFound", `No cluster ${clusterId}`);
    this.events.emit("agentCredentialRotated", clusterId);
    return { joinToken };
  }

  /** Checks an agent's join credential (constant-time on the hash). */
  async authenticateAgent(clusterId: string, credential: string): Promise<boolean> {
    const r = await this.#db.selectFrom("clusters").select("agent_credential_hash").where("id", "=", clusterId).executeTakeFirst();
    return !!r && secretMatches(credential, r.agent_credential_hash);
  }

  /** Whether the cluster exists (cached, like the verifier's view of it). */
  async clusterExists(clusterId: string): Promise<boolean> {
    return isClusterIdLike(clusterId) && (await this.#clusterState(clusterId)) !== null;
  }

  async markSeen(clusterId: string): Promise<void> {
    await this.#db.updateTable("clusters").set({ last_seen_at: this.#iso() }).where("id", "=", clusterId).execute();
  }

  async #clusterState(id: string): Promise<ClusterState | null> {
    const hit = this.#clusters.get(id);
    if (hit !== undefined) return hit;
    const r = await this.#db.selectFrom("clusters").select(["access_generation", "sandbox"]).where("id", "=", id).executeTakeFirst();
    const s = r ? { generation: Number(r.access_generation), sandbox: r.sandbox === 1 } : null;
    this.#clusters.set(id, s);
    return s;
  }

  /**
   * The cluster, which must exist and support access. With an actor who is not an admin, it must
   * also be one they hold a live grant on, and an unknown cluster and one they may not reach get
   * the same answer (no existence oracle).
   */
  async #accessCluster(id: string, actor?: AuthContext): Promise<ClusterState> {
    const c = isClusterIdLike(id) ? await this.#clusterState(id) : null;
    const hidden = !!c && actor !== undefined && actor.member.role !== "admin" && (await this.liveGrants(id, actor.member.id)).length === 0;
    if (!c || hidden) {
      throw new AccessError("NotFound", actor && actor.member.role !== "admin" ? `No cluster ${id} that you can access: 'ward cluster list' shows yours, an admin can grant you access` : `No cluster ${id}`);
    }
    if (c.sandbox) throw new AccessError("SandboxCluster", `Cluster ${id} is a sandbox cluster: sandbox clusters do not support access grants or tokens`);
    return c;
  }

  // ---- grants ----------------------------------------------------------------------------

  async createGrant(
    actor: AuthContext,
    clusterId: string,
    input: { member_id?: unknown; member_email?: unknown; role?: unknown; scope?: unknown; namespace?: unknown; expires_at?: unknown },
  ): Promise<{ grant: Grant; created: boolean }> {
    requireAdmin(actor);
    await this.#accessCluster(clusterId);
    const memberId = typeof input.member_id === "string" ? input.member_id : input.member_email !== undefined ? await this.#memberIdByEmail(input.member_email) : undefined;
    if (memberId === undefined) throw new AccessError("Invalid", "member_id or member_email is required");
    const role = parseGrantRole(input.role);
    const scope = parseScope(input.scope ?? (input.namespace ? "namespace" : "cluster"));
    const namespace = parseNamespace(scope, input.namespace);
    const expires_at = parseExpiry(input.expires_at, this.#now());
    const member = await this.#member(memberId);
    if (!member) throw new AccessError("NotFound", `No member ${memberId}`);
    if (member.status !== "active") throw new AccessError("MemberDisabled", `Member ${member.email} is disabled: enable them before granting access`);

    const now = this.#iso();
    const existing = await this.#db
      .selectFrom("grants")
      .selectAll()
      .where("cluster_id", "=", clusterId)
      .where("member_id", "=", member.id)
      .where("role", "=", role)
      .where("scope", "=", scope)
      .where("namespace", "=", namespace)
      .executeTakeFirst();
    if (existing && (existing.expires_at === null || existing.expires_at > now) && existing.expires_at === expires_at) {
      return { grant: toGrant(existing), created: false }; // the same grant again: idempotent
    }
    const status: GrantsTable["status"] = this.#online(clusterId) ? "pending" : "cluster_offline";
    let id: string;
    if (existing) {
      // Same member/role/scope/namespace with another (or a lapsed) expiry: the new request replaces it.
      id = existing.id;
      await this.#db.updateTable("grants").set({ expires_at, status, error: null, created_by: actor.member.id, updated_at: now }).where("id", "=", id).execute();
    } else {
      id = newId("g");
      await this.#db
        .insertInto("grants")
        .values({ id, cluster_id: clusterId, member_id: member.id, role, scope, namespace, status, error: null, expires_at, created_by: actor.member.id, created_at: now, updated_at: now })
        .execute();
    }
    this.#grants.delete(grantKey(clusterId, member.id));
    this.events.emit("grantsChanged", clusterId);
    if (expires_at !== null) void this.#scheduleExpiry(Date.parse(expires_at));
    const row = await this.#db.selectFrom("grants").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    return { grant: toGrant(row), created: !existing };
  }

  /** Admins see every grant of the cluster; members see their own. */
  async listGrants(actor: AuthContext, clusterId: string): Promise<Grant[]> {
    await this.#accessCluster(clusterId, actor);
    let q = this.#db.selectFrom("grants").selectAll().where("cluster_id", "=", clusterId);
    if (actor.member.role !== "admin") q = q.where("member_id", "=", actor.member.id);
    return (await q.orderBy("created_at").orderBy("id").execute()).map(toGrant);
  }

  async deleteGrant(actor: AuthContext, clusterId: string, grantId: string): Promise<void> {
    requireAdmin(actor);
    await this.#accessCluster(clusterId);
    const g = await this.#db.selectFrom("grants").select(["id", "member_id"]).where("id", "=", grantId).where("cluster_id", "=", clusterId).executeTakeFirst();
    if (!g) throw new AccessError("NotFound", `No grant ${grantId} on cluster ${clusterId}`);
    await this.#db.deleteFrom("grants").where("id", "=", grantId).execute();
    this.#grants.delete(grantKey(clusterId, g.member_id));
    this.events.emit("revoked", { clusterId, memberId: g.member_id, grantId, reason: "grant-deleted" });
    this.events.emit("grantsChanged", clusterId);
  }

  /**
   * Revokes every issued token of the cluster (or of one member on it). Cluster-wide, it also bumps
   * the access generation so tokens minted by any gateway are refused.
   */
  async revokeAll(actor: AuthContext, clusterId: string, input: { member_id?: unknown } = {}): Promise<{ revoked: number; generation: number }> {
    requireAdmin(actor);
    await this.#accessCluster(clusterId);
    const memberId = input.member_id;
    if (memberId !== undefined && typeof memberId !== "string") throw new AccessError("Invalid", "member_id must be a string");
    const at = this.#iso();
    let q = this.#db.updateTable("issued_tokens").set({ revoked_at: at }).where("cluster_id", "=", clusterId).where("revoked_at", "is", null);
    if (memberId) q = q.where("member_id", "=", memberId);
    const res = await q.executeTakeFirst();
    if (!memberId) {
      await this.#db.updateTable("clusters").set((eb) => ({ access_generation: eb("access_generation", "+", 1) })).where("id", "=", clusterId).execute();
      this.#clusters.delete(clusterId);
    }
    this.#tokens.deleteWhere((_k, v) => v !== null && v.clusterId === clusterId && (!memberId || v.memberId === memberId));
    const ev: RevocationEvent = { clusterId, reason: "revoke-all" };
    if (memberId) ev.memberId = memberId;
    this.events.emit("revoked", ev);
    const c = await this.#accessCluster(clusterId);
    return { revoked: Number(res.numUpdatedRows), generation: c.generation };
  }

  /** A member's live (unexpired) grants on a cluster, cached. */
  async liveGrants(clusterId: string, memberId: string): Promise<Grant[]> {
    const key = grantKey(clusterId, memberId);
    let all = this.#grants.get(key);
    if (!all) {
      all = (await this.#db.selectFrom("grants").selectAll().where("cluster_id", "=", clusterId).where("member_id", "=", memberId).execute()).map(toGrant);
      this.#grants.set(key, all);
    }
    const now = this.#iso();
    return all.filter((g) => g.expires_at === null || g.expires_at > now);
  }

  async #memberIdByEmail(email: unknown): Promise<string> {
    const e = parseEmail(email);
    const row = await this.#db.selectFrom("members").select("id").where("email", "=", e).executeTakeFirst();
    if (!row) throw new AccessError("NotFound", `No member with email ${e}: invite them first`);
    return row.id;
  }

  /**
   * The clusters a member can reach, with their own live grants: every cluster for admins
   * (who manage them; using one still needs a grant), else the clusters they hold a grant on.
   */
  async myClusters(actor: AuthContext): Promise<{ cluster: Cluster; grants: Grant[] }[]> {
    const now = this.#iso();
    const grants = (await this.#db.selectFrom("grants").selectAll().where("member_id", "=", actor.member.id).execute())
      .map(toGrant)
      .filter((g) => g.expires_at === null || g.expires_at > now);
    let q = this.#db.selectFrom("clusters").selectAll().orderBy("id");
    if (actor.member.role !== "admin") {
      const ids = [...new Set(grants.map((g) => g.cluster_id))];
      if (!ids.length) return [];
      q = q.where("id", "in", ids);
    }
    return (await q.execute()).map((r) => ({ cluster: toCluster(r), grants: grants.filter((g) => g.cluster_id === r.id) }));
  }

  /** Every live grant of a cluster, as the agent reconciles them. */
  async desiredGrants(clusterId: string): Promise<DesiredGrant[]> {
    const now = this.#iso();
    const rows = await this.#db
      .selectFrom("grants")
      .innerJoin("members", "members.id", "grants.member_id")
      .select(["grants.id", "grants.role", "grants.scope", "grants.namespace", "grants.expires_at", "members.email", "members.status"])
      .where("grants.cluster_id", "=", clusterId)
      .where((eb) => eb.or([eb("grants.expires_at", "is", null), eb("grants.expires_at", ">", now)]))
      .orderBy("grants.id")
      .execute();
    return rows
      .filter((r) => r.status === "active")
      .map((r) => ({ id: r.id, role: r.role, scope: r.scope, namespace: r.namespace || null, user: r.email, expires_at: r.expires_at }));
  }

  /** Records what the agent reported. Unknown ids (deleted meanwhile) are ignored. */
  async setGrantStatus(clusterId: string, updates: GrantStatusUpdate[]): Promise<void> {
    const at = this.#iso();
    for (const u of updates) {
      if (u.status !== "applied" && u.status !== "failed") continue;
      const error = u.status === "failed" ? String(u.error ?? "unknown error").slice(0, 2000) : null;
      await this.#db.updateTable("grants").set({ status: u.status, error, updated_at: at }).where("id", "=", u.id).where("cluster_id", "=", clusterId).execute();
    }
    if (updates.length) {
      this.#grants.deleteWhere((k) => k.startsWith(clusterId + "/"));
      this.events.emit("statusChanged", clusterId);
    }
  }

  /** Moves grants waiting for an agent between `pending` and `cluster_offline` when it comes or goes. */
  async setClusterOnline(clusterId: string, online: boolean): Promise<void> {
    const [from, to] = online ? (["cluster_offline", "pending"] as const) : (["pending", "cluster_offline"] as const);
    await this.#db.updateTable("grants").set({ status: to, updated_at: this.#iso() }).where("cluster_id", "=", clusterId).where("status", "=", from).execute();
    this.#grants.deleteWhere((k) => k.startsWith(clusterId + "/"));
    this.events.emit("statusChanged", clusterId);
  }

  // ---- tokens ----------------------------------------------------------------------------

  /** Mints a k8s token for the caller on a cluster (needs a live grant; rate-limited per member). */
  async mintToken(
    actor: AuthContext,
    clusterId: string,
    opts: { kind?: "k8s-token" | "kubeconfig"; lifetimeSeconds?: unknown } = {},
  ): Promise<{ token: string; expiresAt: string; jti: string }> {
    await this.requireEnabled();
    const cluster = await this.#accessCluster(clusterId, actor);
    const member = await this.#member(actor.member.id);
    if (!member || member.status !== "active") throw new AccessError("MemberDisabled", "This member is disabled: ask an admin");
    const grants = await this.liveGrants(clusterId, member.id);
    if (grants.length === 0) {
      throw new AccessError("NoGrant", `You have no access grant on cluster ${clusterId}: ask an admin for one (admins need a grant too)`);
    }
    const wait = this.#limiter.take(member.id);
    if (wait > 0) throw new AccessError("RateLimited", `Too many tokens minted: retry in ${wait}s`, { retryAfter: wait });
    const max = (await this.settings()).maxTokenLifetimeSeconds;
    let lifetime = max;
    if (opts.lifetimeSeconds !== undefined && opts.lifetimeSeconds !== null) {
      const l = opts.lifetimeSeconds;
      if (typeof l !== "number" || !Number.isInteger(l) || l < 1) throw new AccessError("Invalid", "lifetime_seconds must be a positive integer");
      lifetime = Math.min(l, max);
    }
    const nowS = Math.floor(this.#now() / 1000);
    let exp = nowS + lifetime;
    // Never outlive every grant: a token of time-boxed access ends with it.
    if (grants.every((g) => g.expires_at !== null)) {
      const last = Math.max(...grants.map((g) => Math.floor(Date.parse(g.expires_at!) / 1000)));
      exp = Math.min(exp, last);
    }
    const jti = newId("k");
    await this.#db
      .insertInto("issued_tokens")
      .values({ id: jti, member_id: member.id, cluster_id: clusterId, kind: opts.kind ?? "k8s-token", issued_at: this.#iso(nowS * 1000), expires_at: this.#iso(exp * 1000), revoked_at: null })
      .execute();
    this.#tokens.set(jti, { revoked: false, memberId: member.id, clusterId });
    const token = await signToken(this.#keys.current, {
      issuer: this.issuer, subject: member.id, audience: clusterId, generation: cluster.generation, jti, issuedAt: nowS, expiresAt: exp,
    });
    return { token, expiresAt: this.#iso(exp * 1000), jti };
  }

  async listIssuedTokens(actor: AuthContext, clusterId: string): Promise<{ id: string; member_id: string; kind: string; issued_at: string; expires_at: string; revoked_at: string | null }[]> {
    await this.#accessCluster(clusterId, actor);
    let q = this.#db.selectFrom("issued_tokens").select(["id", "member_id", "kind", "issued_at", "expires_at", "revoked_at"]).where("cluster_id", "=", clusterId);
    if (actor.member.role !== "admin") q = q.where("member_id", "=", actor.member.id);
    return q.orderBy("issued_at").execute();
  }

  async revokeToken(actor: AuthContext, clusterId: string, jti: string): Promise<void> {
    const t = await this.#db.selectFrom("issued_tokens").select(["member_id"]).where("id", "=", jti).where("cluster_id", "=", clusterId).executeTakeFirst();
    // Another member's token looks exactly like a missing one to a member.
    if (!t || (actor.member.role !== "admin" && actor.member.id !== t.member_id)) throw new AccessError("NotFound", `No token ${jti} on cluster ${clusterId}`);
    await this.#db.updateTable("issued_tokens").set({ revoked_at: this.#iso() }).where("id", "=", jti).where("revoked_at", "is", null).execute();
    this.#tokens.delete(jti);
    this.events.emit("revoked", { clusterId, memberId: t.member_id, tokenId: jti, reason: "token-revoked" });
  }

  async #tokenState(jti: string): Promise<TokenState | null> {
    const hit = this.#tokens.get(jti);
    if (hit !== undefined) return hit;
    const r = await this.#db.selectFrom("issued_tokens").select(["member_id", "cluster_id", "revoked_at"]).where("id", "=", jti).executeTakeFirst();
    const s = r ? { revoked: r.revoked_at !== null, memberId: r.member_id, clusterId: r.cluster_id } : null;
    this.#tokens.set(jti, s);
    return s;
  }

  /**
   * The signature check, cached per exact (cluster, token) string: kubectl sends the same token on
   * every request, and an EdDSA verify is the proxy path's most expensive step. Expiry is re-checked
   * on every hit; everything stateful (member, grant, generation, revocation) is checked by the caller.
   */
  async #verifiedClaims(token: string, clusterId: string): Promise<{ sub: string; jti: string; generation: number; exp: number }> {
    const key = `${clusterId}\u0000${token}`;
    const now = this.#now();
    const hit = this.#signatureCache.get(key);
    if (hit) {
      if (now / 1000 >= hit.exp + 5) {
        this.#signatureCache.delete(key);
        throw new TokenRejectedError("token expired");
      }
      return hit;
    }
    const claims = await verifyTokenSignature(token, { keys: this.#keys, issuer: this.issuer, audience: clusterId, now });
    if (this.#signatureCache.size >= 10_000) this.#signatureCache.delete(this.#signatureCache.keys().next().value!);
    this.#signatureCache.set(key, claims);
    return claims;
  }

  /**
   * Verifies a k8s token for a request to `clusterId`: signature, pinned algorithm, exp/nbf,
   * audience, active member, live grant, generation, not revoked. Throws `TokenRejectedError`.
   */
  async verifyToken(token: string, clusterId: string): Promise<TokenContext> {
    await this.requireEnabled();
    const claims = await this.#verifiedClaims(token, clusterId);
    const cluster = await this.#clusterState(clusterId);
    if (!cluster) throw new TokenRejectedError("unknown cluster");
    if (cluster.sandbox) throw new TokenRejectedError("sandbox cluster");
    if (claims.generation !== cluster.generation) throw new TokenRejectedError("stale access generation");
    const t = await this.#tokenState(claims.jti);
    if (!t || t.memberId !== claims.sub || t.clusterId !== clusterId) throw new TokenRejectedError("unknown token id");
    if (t.revoked) throw new TokenRejectedError("token revoked");
    const member = await this.#member(claims.sub);
    if (!member) throw new TokenRejectedError("unknown member");
    if (member.status !== "active") throw new TokenRejectedError("member disabled");
    const grants = await this.liveGrants(clusterId, member.id);
    if (grants.length === 0) throw new TokenRejectedError("no live grant");
    return { member, clusterId, jti: claims.jti, expiresAt: claims.exp * 1000, grants };
  }
}

/** Lifetime of an admin-issued API token: default 90 days, at most 366. */
function parseTokenTtl(v: unknown): number {
  const ttl = v ?? 90 * 86400;
  if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 60 || ttl > 366 * 86400) {
    throw new AccessError("Invalid", "expires_in_seconds must be an integer between 60 and 31622400 (366 days)");
  }
  return ttl;
}

function requireAdmin(actor: AuthContext): void {
  if (actor.member.role !== "admin" || actor.member.status !== "active") {
    throw new AccessError("Forbidden", "Only organisation admins can manage access");
  }
}

function isClusterIdLike(id: string): boolean {
  try {
    parseClusterId(id);
    return true;
  } catch {
    return false;
  }
}

function grantKey(clusterId: string, memberId: string): string {
  return `${clusterId}/${memberId}`;
}

function toMember(r: MembersTable): Member {
  return { id: r.id, email: r.email, role: r.role, robot: r.robot === 1, status: r.status, oidc_subject: r.oidc_subject, created_at: r.created_at };
}

function toCluster(r: { id: string; name: string; sandbox: number; access_generation: number; last_seen_at: string | null; created_at: string }): Cluster {
  return { id: r.id, name: r.name, sandbox: r.sandbox === 1, access_generation: Number(r.access_generation), last_seen_at: r.last_seen_at, created_at: r.created_at };
}

function toGrant(r: GrantsTable): Grant {
  return { ...r, namespace: r.namespace || null };
}
