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
import type { AccessEvents, AuthContext, Grant, Member } from "./types.ts";
import { isValidClusterId } from "../validate/index.ts";

export interface ClusterState {
  generation: number;
  sandbox: boolean;
}

export class AccessState {
  readonly events = new EventEmitter<AccessEvents>();
  readonly db: Kysely<Database>;
  readonly now: () => number;
  readonly members = new BoundedCache<string, Member | null>();
  readonly clusters = new BoundedCache<string, ClusterState | null>();
  readonly grants = new BoundedCache<string, Grant[]>();

  constructor(db: Kysely<Database>, now: () => number) {
    this.db = db;
    this.now = now;
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
