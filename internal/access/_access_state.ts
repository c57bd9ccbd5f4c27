/**
 * What the access parts share: the store, the clock, the events, and the caches the proxy path reads
 * through (members, clusters, live grants). This class owns those caches; a part that changes a
 * member, cluster or grant drops the entry here. Private to `access/`.
 */
import { EventEmitter } from "node:events";
import type { Kysely } from "kysely";
import type { Database } from "../store/index.ts";
import { BoundedCache } from "./_cache.ts";
import { toGrant, toMember } from "./_rows.ts";
import { AccessError } from "./errors.ts";
import type { AccessEvents, AccessSettings, AuthContext, Grant, Member } from "./types.ts";
import { isValidClusterId } from "../validate/index.ts";

export interface ClusterState {
  generation: number;
  sandbox: boolean;
}

/** What a k8s token's id maps to (cached: revocation is checked on every proxied request). */
export interface TokenState {
  revoked: boolean;
  memberId: string;
  clusterId: string;
}

/**
 * A part of the cached state that a change made stale. Every cache drop goes through
 * `AccessState.invalidate`, which announces it (`invalidated`), so other gateways of a deployment
 * drop the same entries (scale-out: see relay.ts).
 */
export type Invalidation =
  | { kind: "member"; id: string }
  | { kind: "cluster"; id: string }
  /** One member's grants on a cluster, or (no member) every member's. */
  | { kind: "grants"; cluster: string; member?: string }
  /** One token id, or every token of a cluster (of one member). */
  | { kind: "tokens"; id: string }
  | { kind: "tokens"; cluster: string; member?: string }
  | { kind: "settings" };

export class AccessState {
  readonly events = new EventEmitter<AccessEvents>();
  readonly db: Kysely<Database>;
  readonly now: () => number;
  readonly members = new BoundedCache<string, Member | null>();
  readonly clusters = new BoundedCache<string, ClusterState | null>();
  readonly grants = new BoundedCache<string, Grant[]>();
  readonly tokens = new BoundedCache<string, TokenState | null>(50_000);
  /** The access settings, once read (access_settings_store.ts). */
  settings: AccessSettings | undefined;

  constructor(db: Kysely<Database>, now: () => number) {
    this.db = db;
    this.now = now;
  }

  /** Drops what `inv` names from the caches here and announces it. */
  invalidate(inv: Invalidation): void {
    this.dropCached(inv);
    this.events.emit("invalidated", inv);
  }

  /** Drops what `inv` names from the caches here only (a change another gateway announced). */
  dropCached(inv: Invalidation): void {
    switch (inv.kind) {
      case "member":
        return this.members.delete(inv.id);
      case "cluster":
        return this.clusters.delete(inv.id);
      case "grants":
        if (inv.member !== undefined) return this.grants.delete(grantKey(inv.cluster, inv.member));
        return this.grants.deleteWhere((k) => k.startsWith(inv.cluster + "/"));
      case "tokens":
        if ("id" in inv) return this.tokens.delete(inv.id);
        return this.tokens.deleteWhere((_k, v) => v !== null && v.clusterId === inv.cluster && (inv.member === undefined || v.memberId === inv.member));
      case "settings":
        this.settings = undefined;
        return;
    }
  }

  /** Forgets every cached entry (after a gap in which other gateways' announcements may have been missed). */
  dropAll(): void {
    this.members.clear();
    this.clusters.clear();
    this.grants.clear();
    this.tokens.clear();
    this.settings = undefined;
  }

  iso(ms = this.now()): string {
    return new Date(ms).toISOString();
  }

  async member(id: string): Promise<Member | null> {
    const hit = this.members.get(id);
    if (hit !== undefined) return hit;
    const row = await this.db.selectFrom("members").selectAll().where("id", "=", id).executeTakeFirst();
    const m = row ? toMember(row) : null;
    this.members.set(id, m);
    return m;
  }

  async clusterState(id: string): Promise<ClusterState | null> {
    const hit = this.clusters.get(id);
    if (hit !== undefined) return hit;
    const r = await this.db.selectFrom("clusters").select(["access_generation", "sandbox"]).where("id", "=", id).executeTakeFirst();
    const s = r ? { generation: Number(r.access_generation), sandbox: r.sandbox === 1 } : null;
    this.clusters.set(id, s);
    return s;
  }

  /**
   * The cluster, which must exist and support access. With an actor who is not an admin, it must
   * also be one they hold a live grant on, and an unknown cluster and one they may not reach get
   * the same answer (no existence oracle).
   */
  async accessCluster(id: string, actor?: AuthContext): Promise<ClusterState> {
    const c = isValidClusterId(id) ? await this.clusterState(id) : null;
    const hidden = !!c && actor !== undefined && actor.member.role !== "admin" && (await this.liveGrants(id, actor.member.id)).length === 0;
    if (!c || hidden) {
      throw new AccessError("NotFound", actor && actor.member.role !== "admin" ? `No cluster ${id} that you can access: 'ward cluster list' shows yours, an admin can grant you access` : `No cluster ${id}`);
    }
    if (c.sandbox) throw new AccessError("SandboxCluster", `Cluster ${id} is a sandbox cluster: sandbox clusters do not support access grants or tokens`);
    return c;
  }

  /** A member's live (unexpired) grants on a cluster, cached. */
  async liveGrants(clusterId: string, memberId: string): Promise<Grant[]> {
    const key = grantKey(clusterId, memberId);
    let all = this.grants.get(key);
    if (!all) {
      all = (await this.db.selectFrom("grants").selectAll().where("cluster_id", "=", clusterId).where("member_id", "=", memberId).execute()).map(toGrant);
      this.grants.set(key, all);
    }
    const now = this.iso();
    return all.filter((g) => g.expires_at === null || g.expires_at > now);
  }
}

/** Only active organisation admins manage access. */
export function requireAdmin(actor: AuthContext): void {
  if (actor.member.role !== "admin" || actor.member.status !== "active") {
    throw new AccessError("Forbidden", "Only organisation admins can manage access");
  }
}

/** The key of a member's grants on a cluster in the grants cache. */
export function grantKey(clusterId: string, memberId: string): string {
  return `${clusterId}/${memberId}`;
}
