/**
 * k8s tokens: minted per member and cluster, verified on every proxied request, revoked one by one
 * or all at once. Owns the signature cache and the token-id cache; reads members, clusters and
 * grants through `AccessState`.
 */
import type { RevocationEvent } from "./types.ts";
import { BoundedCache } from "./_cache.ts";
import type { AccessState, TokenState } from "./_access_state.ts";
import { requireAdmin } from "./_access_state.ts";
import { AccessError, TokenRejectedError } from "./errors.ts";
import type { RateLimiter } from "./rate_limiter.ts";
import { newId } from "./secrets.ts";
import type { AccessSettingsStore } from "./access_settings_store.ts";
import type { SigningKeys } from "./signing_keys.ts";
import { signToken, verifyTokenSignature } from "./tokens.ts";
import type { AuthContext, TokenContext } from "./types.ts";

export interface K8sTokensOptions {
  keys: SigningKeys;
  issuer: string;
  rateLimiter: RateLimiter;
}

export class K8sTokens {
  readonly issuer: string;
  #s: AccessState;
  #settings: AccessSettingsStore;
  #keys: SigningKeys;
  #limiter: RateLimiter;
  #signatureCache = new Map<string, { sub: string; jti: string; generation: number; exp: number }>();
  /** When each token was last used (ms), as far as not yet written; written at most once a minute. */
  #lastUsed = new BoundedCache<string, { at: number; written: number }>(50_000);

  constructor(state: AccessState, settings: AccessSettingsStore, opts: K8sTokensOptions) {
    this.#s = state;
    this.#settings = settings;
    this.#keys = opts.keys;
    this.issuer = opts.issuer;
    this.#limiter = opts.rateLimiter;
  }

  /** Mints a k8s token for the caller on a cluster (needs a live grant; rate-limited per member). */
  async mintToken(
    actor: AuthContext,
    clusterId: string,
    opts: { kind?: "k8s-token" | "kubeconfig"; lifetimeSeconds?: unknown } = {},
  ): Promise<{ token: string; expiresAt: string; jti: string }> {
    await this.#settings.requireEnabled();
    const cluster = await this.#s.accessCluster(clusterId, actor);
    const member = await this.#s.member(actor.member.id);
    if (!member || member.status !== "active") throw new AccessError("MemberDisabled", "This member is disabled: ask an admin");
    const grants = await this.#s.liveGrants(clusterId, member.id);
    if (grants.length === 0) {
      throw new AccessError("NoGrant", `You have no access grant on cluster ${clusterId}: ask an admin for one (admins need a grant too)`);
    }
    const wait = this.#limiter.take(member.id);
    if (wait > 0) {
      this.#s.events.emit("rateLimited", { limit: "token-mint", clusterId });
      throw new AccessError("RateLimited", `Too many tokens minted: retry in ${wait}s`, { retryAfter: wait });
    }
    const max = (await this.#settings.get()).maxTokenLifetimeSeconds;
    let lifetime = max;
    if (opts.lifetimeSeconds !== undefined && opts.lifetimeSeconds !== null) {
      const l = opts.lifetimeSeconds;
      if (typeof l !== "number" || !Number.isInteger(l) || l < 1) throw new AccessError("Invalid", "lifetime_seconds must be a positive integer");
      lifetime = Math.min(l, max);
    }
    const nowS = Math.floor(this.#s.now() / 1000);
    let exp = nowS + lifetime;
    // Never outlive every grant: a token of time-boxed access ends with it.
    if (grants.every((g) => g.expires_at !== null)) {
      const last = Math.max(...grants.map((g) => Math.floor(Date.parse(g.expires_at!) / 1000)));
      exp = Math.min(exp, last);
    }
    const jti = newId("k");
    await this.#s.db
      .insertInto("issued_tokens")
      .values({ id: jti, member_id: member.id, cluster_id: clusterId, kind: opts.kind ?? "k8s-token", issued_at: this.#s.iso(nowS * 1000), expires_at: this.#s.iso(exp * 1000), revoked_at: null, last_used_at: null })
      .execute();
    this.#s.tokens.set(jti, { revoked: false, memberId: member.id, clusterId });
    const token = await signToken(this.#keys.current, {
      issuer: this.issuer, subject: member.id, audience: clusterId, generation: cluster.generation, jti, issuedAt: nowS, expiresAt: exp,
    });
    this.#s.events.emit("audit", {
      action: "token.mint", actorId: member.id, actorEmail: member.email, clusterId, tokenId: jti,
      detail: { kind: opts.kind ?? "k8s-token", expires_at: this.#s.iso(exp * 1000) },
    });
    this.#s.events.emit("tokenMinted", { clusterId, memberId: member.id, kind: opts.kind ?? "k8s-token" });
    return { token, expiresAt: this.#s.iso(exp * 1000), jti };
  }

  async listIssuedTokens(
    actor: AuthContext,
    clusterId: string,
  ): Promise<{ id: string; member_id: string; kind: string; issued_at: string; expires_at: string; revoked_at: string | null; last_used_at: string | null }[]> {
    await this.#s.accessCluster(clusterId, actor);
    let q = this.#s.db.selectFrom("issued_tokens").select(["id", "member_id", "kind", "issued_at", "expires_at", "revoked_at", "last_used_at"]).where("cluster_id", "=", clusterId);
    if (actor.member.role !== "admin") q = q.where("member_id", "=", actor.member.id);
    const rows = await q.orderBy("issued_at").execute();
    // Uses not yet written (the last minute's) are known here.
    for (const r of rows) {
      const seen = this.#lastUsed.get(r.id);
      if (seen && (r.last_used_at === null || Date.parse(r.last_used_at) < seen.at)) r.last_used_at = this.#s.iso(seen.at);
    }
    return rows;
  }

  /**
   * Notes a use of a token. The row is written at most once a minute per token and never awaited:
   * the proxy path pays no database round trip for it (a failed write is retried on a later use).
   */
  #markUsed(jti: string): void {
    const now = this.#s.now();
    const seen = this.#lastUsed.get(jti);
    if (seen && now - seen.written < 60_000) {
      seen.at = now;
      return;
    }
    const entry = { at: now, written: now };
    this.#lastUsed.set(jti, entry);
    this.#s.db.updateTable("issued_tokens").set({ last_used_at: this.#s.iso(now) }).where("id", "=", jti).execute().catch(() => {
      entry.written = 0;
    });
  }

  async revokeToken(actor: AuthContext, clusterId: string, jti: string): Promise<void> {
    const t = await this.#s.db.selectFrom("issued_tokens").select(["member_id"]).where("id", "=", jti).where("cluster_id", "=", clusterId).executeTakeFirst();
    // Another member's token looks exactly like a missing one to a member.
    if (!t || (actor.member.role !== "admin" && actor.member.id !== t.member_id)) throw new AccessError("NotFound", `No token ${jti} on cluster ${clusterId}`);
    await this.#s.db.updateTable("issued_tokens").set({ revoked_at: this.#s.iso() }).where("id", "=", jti).where("revoked_at", "is", null).execute();
    this.#s.invalidate({ kind: "tokens", id: jti });
    this.#s.events.emit("revoked", { clusterId, memberId: t.member_id, tokenId: jti, reason: "token-revoked" });
    this.#s.events.emit("audit", { action: "token.revoke", actorId: actor.member.id, actorEmail: actor.member.email, clusterId, tokenId: jti, detail: { member_id: t.member_id } });
  }

  /**
   * Revokes every issued token of the cluster (or of one member on it). Cluster-wide, it also bumps
   * the access generation so tokens minted by any gateway are refused.
   */
  async revokeAll(actor: AuthContext, clusterId: string, input: { member_id?: unknown } = {}): Promise<{ revoked: number; generation: number }> {
    requireAdmin(actor);
    await this.#s.accessCluster(clusterId);
    const memberId = input.member_id;
    if (memberId !== undefined && typeof memberId !== "string") throw new AccessError("Invalid", "member_id must be a string");
    const at = this.#s.iso();
    let q = this.#s.db.updateTable("issued_tokens").set({ revoked_at: at }).where("cluster_id", "=", clusterId).where("revoked_at", "is", null);
    if (memberId) q = q.where("member_id", "=", memberId);
    const res = await q.executeTakeFirst();
    if (!memberId) {
      await this.#s.db.updateTable("clusters").set((eb) => ({ access_generation: eb("access_generation", "+", 1) })).where("id", "=", clusterId).execute();
      this.#s.invalidate({ kind: "cluster", id: clusterId });
    }
    this.#s.invalidate(memberId ? { kind: "tokens", cluster: clusterId, member: memberId } : { kind: "tokens", cluster: clusterId });
    const ev: RevocationEvent = { clusterId, reason: "revoke-all" };
    if (memberId) ev.memberId = memberId;
    this.#s.events.emit("revoked", ev);
    this.#s.events.emit("audit", {
      action: "access.revoke-all", actorId: actor.member.id, actorEmail: actor.member.email, clusterId,
      detail: { member_id: memberId ?? null, revoked_tokens: Number(res.numUpdatedRows) },
    });
    const c = await this.#s.accessCluster(clusterId);
    return { revoked: Number(res.numUpdatedRows), generation: c.generation };
  }

  async #tokenState(jti: string): Promise<TokenState | null> {
    const hit = this.#s.tokens.get(jti);
    if (hit !== undefined) return hit;
    const r = await this.#s.db.selectFrom("issued_tokens").select(["member_id", "cluster_id", "revoked_at"]).where("id", "=", jti).executeTakeFirst();
    const s = r ? { revoked: r.revoked_at !== null, memberId: r.member_id, clusterId: r.cluster_id } : null;
    this.#s.tokens.set(jti, s);
    return s;
  }

  /**
   * The signature check, cached per exact (cluster, token) string: kubectl sends the same token on
   * every request, and an EdDSA verify is the proxy path's most expensive step. Expiry is re-checked
   * on every hit; everything stateful (member, grant, generation, revocation) is checked by the caller.
   */
  async #verifiedClaims(token: string, clusterId: string): Promise<{ sub: string; jti: string; generation: number; exp: number }> {
    const key = `${clusterId}\u0000${token}`;
    const now = this.#s.now();
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
    await this.#settings.requireEnabled();
    const claims = await this.#verifiedClaims(token, clusterId);
    const cluster = await this.#s.clusterState(clusterId);
    if (!cluster) throw new TokenRejectedError("unknown cluster");
    if (cluster.sandbox) throw new TokenRejectedError("sandbox cluster");
    if (claims.generation !== cluster.generation) throw new TokenRejectedError("stale access generation");
    const t = await this.#tokenState(claims.jti);
    if (!t || t.memberId !== claims.sub || t.clusterId !== clusterId) throw new TokenRejectedError("unknown token id");
    if (t.revoked) throw new TokenRejectedError("token revoked");
    const member = await this.#s.member(claims.sub);
    if (!member) throw new TokenRejectedError("unknown member");
    if (member.status !== "active") throw new TokenRejectedError("member disabled");
    const grants = await this.#s.liveGrants(clusterId, member.id);
    if (grants.length === 0) throw new TokenRejectedError("no live grant");
    this.#markUsed(claims.jti);
    return { member, clusterId, jti: claims.jti, expiresAt: claims.exp * 1000, grants };
  }
}
