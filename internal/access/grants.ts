/** Grants: a member's role at a scope on a cluster, what the agents reconcile, and their status. */
import type { DesiredGrant, GrantStatusUpdate } from "../bus/index.ts";
import { isUniqueViolation } from "../store/index.ts";
import type { GrantsTable } from "../store/schema.ts";
import { requireAdmin, type AccessState } from "./_access_state.ts";
import { toGrant } from "./_rows.ts";
import { AccessError } from "./errors.ts";
import type { GrantExpiry } from "./grant_expiry.ts";
import { newId } from "./secrets.ts";
import type { AuthContext, Grant } from "./types.ts";
import { parseEmail, parseExpiry, parseGrantRole, parseNamespace, parseScope } from "./validate.ts";

export type GrantInput = { member_id?: unknown; member_email?: unknown; role?: unknown; scope?: unknown; namespace?: unknown; expires_at?: unknown };

export class Grants {
  #s: AccessState;
  #expiry: GrantExpiry;
  #online: (clusterId: string) => boolean;

  constructor(state: AccessState, expiry: GrantExpiry, isClusterOnline: (clusterId: string) => boolean) {
    this.#s = state;
    this.#expiry = expiry;
    this.#online = isClusterOnline;
  }

  createGrant(actor: AuthContext, clusterId: string, input: GrantInput): Promise<{ grant: Grant; created: boolean }> {
    return this.#createGrant(actor, clusterId, input, false);
  }

  async #createGrant(actor: AuthContext, clusterId: string, input: GrantInput, retried: boolean): Promise<{ grant: Grant; created: boolean }> {
    requireAdmin(actor);
    await this.#s.accessCluster(clusterId);
    const memberId = typeof input.member_id === "string" ? input.member_id : input.member_email !== undefined ? await this.#memberIdByEmail(input.member_email) : undefined;
    if (memberId === undefined) throw new AccessError("Invalid", "member_id or member_email is required");
    const role = parseGrantRole(input.role);
    const scope = parseScope(input.scope ?? (input.namespace ? "namespace" : "cluster"));
    const namespace = parseNamespace(scope, input.namespace);
    const expires_at = parseExpiry(input.expires_at, this.#s.now());
    const member = await this.#s.member(memberId);
    if (!member) throw new AccessError("NotFound", `No member ${memberId}`);
    if (member.status !== "active") throw new AccessError("MemberDisabled", `Member ${member.email} is disabled: enable them before granting access`);

    const now = this.#s.iso();
    const existing = await this.#s.db
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
      await this.#s.db.updateTable("grants").set({ expires_at, status, error: null, created_by: actor.member.id, updated_at: now }).where("id", "=", id).execute();
    } else {
      id = newId("g");
      try {
        await this.#s.db
          .insertInto("grants")
          .values({ id, cluster_id: clusterId, member_id: member.id, role, scope, namespace, status, error: null, expires_at, created_by: actor.member.id, created_at: now, updated_at: now })
          .execute();
      } catch (e) {
        // The same grant was created at this moment by another request (maybe on another gateway):
        // asked again, it is found and answered as above (idempotent, or its expiry replaced).
        if (isUniqueViolation(e) && !retried) return this.#createGrant(actor, clusterId, input, true);
        throw e;
      }
    }
    this.#s.invalidate({ kind: "grants", cluster: clusterId, member: member.id });
    this.#s.events.emit("grantsChanged", clusterId);
    if (expires_at !== null) void this.#expiry.schedule(Date.parse(expires_at));
    this.#s.events.emit("audit", {
      action: "grant.create", actorId: actor.member.id, actorEmail: actor.member.email, clusterId, grantId: id,
      detail: { member_id: member.id, role, scope, namespace: namespace || null, expires_at },
    });
    const row = await this.#s.db.selectFrom("grants").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    return { grant: toGrant(row), created: !existing };
  }

  /** Admins see every grant of the cluster; members see their own. */
  async listGrants(actor: AuthContext, clusterId: string): Promise<Grant[]> {
    await this.#s.accessCluster(clusterId, actor);
    let q = this.#s.db.selectFrom("grants").selectAll().where("cluster_id", "=", clusterId);
    if (actor.member.role !== "admin") q = q.where("member_id", "=", actor.member.id);
    return (await q.orderBy("created_at").orderBy("id").execute()).map(toGrant);
  }

  async deleteGrant(actor: AuthContext, clusterId: string, grantId: string): Promise<void> {
    requireAdmin(actor);
    await this.#s.accessCluster(clusterId);
    const g = await this.#s.db.selectFrom("grants").select(["id", "member_id"]).where("id", "=", grantId).where("cluster_id", "=", clusterId).executeTakeFirst();
    if (!g) throw new AccessError("NotFound", `No grant ${grantId} on cluster ${clusterId}`);
    await this.#s.db.deleteFrom("grants").where("id", "=", grantId).execute();
    this.#s.invalidate({ kind: "grants", cluster: clusterId, member: g.member_id });
    this.#s.events.emit("revoked", { clusterId, memberId: g.member_id, grantId, reason: "grant-deleted" });
    this.#s.events.emit("audit", { action: "grant.delete", actorId: actor.member.id, actorEmail: actor.member.email, clusterId, grantId, detail: { member_id: g.member_id } });
    this.#s.events.emit("grantsChanged", clusterId);
  }

  async #memberIdByEmail(email: unknown): Promise<string> {
    const e = parseEmail(email);
    const row = await this.#s.db.selectFrom("members").select("id").where("email", "=", e).executeTakeFirst();
    if (!row) throw new AccessError("NotFound", `No member with email ${e}: invite them first`);
    return row.id;
  }

  /** Every live grant of a cluster, as the agent reconciles them. */
  async desiredGrants(clusterId: string): Promise<DesiredGrant[]> {
    const now = this.#s.iso();
    const rows = await this.#s.db
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
    const at = this.#s.iso();
    for (const u of updates) {
      if (u.status !== "applied" && u.status !== "failed") continue;
      const error = u.status === "failed" ? String(u.error ?? "unknown error").slice(0, 2000) : null;
      await this.#s.db.updateTable("grants").set({ status: u.status, error, updated_at: at }).where("id", "=", u.id).where("cluster_id", "=", clusterId).execute();
    }
    if (updates.length) {
      this.#s.invalidate({ kind: "grants", cluster: clusterId });
      this.#s.events.emit("statusChanged", clusterId);
    }
  }

  /** Moves grants waiting for an agent between `pending` and `cluster_offline` when it comes or goes. */
  async setClusterOnline(clusterId: string, online: boolean): Promise<void> {
    const [from, to] = online ? (["cluster_offline", "pending"] as const) : (["pending", "cluster_offline"] as const);
    await this.#s.db.updateTable("grants").set({ status: to, updated_at: this.#s.iso() }).where("cluster_id", "=", clusterId).where("status", "=", from).execute();
    this.#s.invalidate({ kind: "grants", cluster: clusterId });
    this.#s.events.emit("statusChanged", clusterId);
  }
}
