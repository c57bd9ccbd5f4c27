/** Organisation members: invitation, SSO sign-in, the bootstrap admin, roles and status. */
import { requireAdmin, type AccessState } from "./_access_state.ts";
import { toMember } from "./_rows.ts";
import { parseTokenTtl, type ApiTokens } from "./api_tokens.ts";
import { AccessError } from "./errors.ts";
import { newId } from "./secrets.ts";
import { isUniqueViolation } from "../store/index.ts";
import type { MembersTable } from "../store/schema.ts";
import type { AuthContext, Member } from "./types.ts";
import { parseEmail, parseMemberRole } from "./validate.ts";

export class Members {
  #s: AccessState;
  #apiTokens: ApiTokens;

  constructor(state: AccessState, apiTokens: ApiTokens) {
    this.#s = state;
    this.#apiTokens = apiTokens;
  }

  /** Creates the first admin when there are no members yet; returns null otherwise. */
  async bootstrapAdmin(email = "admin@ward.local"): Promise<{ member: Member; apiToken: string } | null> {
    const any = await this.#s.db.selectFrom("members").select("id").limit(1).executeTakeFirst();
    if (any) return null;
    try {
      return await this.#insertMember({ email, role: "admin", robot: false });
    } catch (e) {
      // Another gateway starting on the same empty database created the first admin first.
      if (e instanceof AccessError && e.reason === "Conflict") return null;
      throw e;
    }
  }

  async createMember(actor: AuthContext, input: { email?: unknown; role?: unknown; robot?: unknown; oidc_subject?: unknown; expires_in_seconds?: unknown; api_token?: unknown }): Promise<{ member: Member; apiToken: string }> {
    requireAdmin(actor);
    const email = parseEmail(input.email);
    const role = parseMemberRole(input.role ?? "member");
    if (input.robot !== undefined && typeof input.robot !== "boolean") throw new AccessError("Invalid", "robot must be true or false");
    if (input.oidc_subject !== undefined && input.oidc_subject !== null && typeof input.oidc_subject !== "string") {
      throw new AccessError("Invalid", "oidc_subject must be a string");
    }
    const existing = await this.#s.db.selectFrom("members").select("id").where("email", "=", email).executeTakeFirst();
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
      created_at: this.#s.iso(),
    };
    try {
      await this.#s.db.insertInto("members").values(row).execute();
    } catch (e) {
      // Lost a race with another request (or gateway) adding the same email.
      if (isUniqueViolation(e)) throw new AccessError("Conflict", `A member with email ${m.email} already exists`, { cause: e });
      throw e;
    }
    this.#s.invalidate({ kind: "member", id: row.id });
    const apiToken = m.withToken === false ? "" : (await this.#apiTokens.issueApiToken(row.id, { name: "initial", ...(m.ttlSeconds ? { ttlSeconds: m.ttlSeconds } : {}) })).secret;
    return { member: toMember(row), apiToken };
  }

  /**
   * The member an SSO sign-in maps to. Keyed by the provider's `sub`; a first sign-in binds an
   * invited member by (verified) email, or creates a member when the email's domain is allowed.
   * Returns null when the person has no membership.
   */
  async memberForLogin(who: { sub: string; email?: string | undefined; emailVerified?: boolean | undefined }, allowedDomains: readonly string[] = []): Promise<Member | null> {
    const bySub = await this.#s.db.selectFrom("members").selectAll().where("oidc_subject", "=", who.sub).executeTakeFirst();
    if (bySub) return toMember(bySub);
    // A missing email_verified claim means unverified: only a verified address binds or joins.
    if (!who.email || who.emailVerified !== true) return null;
    const email = who.email.toLowerCase();
    const invited = await this.#s.db.selectFrom("members").selectAll().where("email", "=", email).executeTakeFirst();
    if (invited) {
      if (invited.oidc_subject !== null || invited.robot === 1) return null;
      await this.#s.db.updateTable("members").set({ oidc_subject: who.sub }).where("id", "=", invited.id).execute();
      this.#s.invalidate({ kind: "member", id: invited.id });
      return this.#s.member(invited.id);
    }
    const domain = email.slice(email.lastIndexOf("@") + 1);
    if (!allowedDomains.map((d) => d.toLowerCase()).includes(domain)) return null;
    const { member } = await this.#insertMember({ email: parseEmail(email), role: "member", robot: false, oidc_subject: who.sub, withToken: false });
    return member;
  }

  /** Whether any admin exists (the local bootstrap is offered only before the first one). */
  async hasAdmin(): Promise<boolean> {
    return !!(await this.#s.db.selectFrom("members").select("id").where("role", "=", "admin").limit(1).executeTakeFirst());
  }

  /** Creates or promotes the bootstrap admin (local bootstrap code redeemed). */
  async ensureAdmin(email: string): Promise<Member> {
    const e = parseEmail(email);
    const row = await this.#s.db.selectFrom("members").selectAll().where("email", "=", e).executeTakeFirst();
    if (row) {
      await this.#s.db.updateTable("members").set({ role: "admin", status: "active" }).where("id", "=", row.id).execute();
      this.#s.invalidate({ kind: "member", id: row.id });
      return (await this.#s.member(row.id))!;
    }
    return (await this.#insertMember({ email: e, role: "admin", robot: false, withToken: false })).member;
  }

  async member(id: string): Promise<Member | null> {
    return this.#s.member(id);
  }

  async listMembers(actor: AuthContext): Promise<Member[]> {
    requireAdmin(actor);
    const rows = await this.#s.db.selectFrom("members").selectAll().orderBy("created_at").orderBy("id").execute();
    return rows.map(toMember);
  }

  async updateMember(actor: AuthContext, id: string, patch: { status?: unknown; role?: unknown }): Promise<Member> {
    requireAdmin(actor);
    const m = await this.#s.db.selectFrom("members").selectAll().where("id", "=", id).executeTakeFirst();
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
    if (Object.keys(set).length) await this.#s.db.updateTable("members").set(set).where("id", "=", id).execute();
    this.#s.invalidate({ kind: "member", id: id });
    if (set.status === "disabled" && m.status !== "disabled") await this.#revokeIssuedTokens(id);
    if (set.status !== undefined && set.status !== m.status) {
      // Disabled members' bindings are removed by the agents (and restored when re-enabled).
      for (const c of await this.#s.db.selectFrom("grants").select("cluster_id").distinct().where("member_id", "=", id).execute()) {
        if (set.status === "disabled") this.#s.events.emit("revoked", { clusterId: c.cluster_id, memberId: id, reason: "member-disabled" });
        this.#s.events.emit("grantsChanged", c.cluster_id);
      }
    }
    return (await this.#s.member(id))!;
  }

  /**
   * A disabled member's k8s tokens are revoked for good: enabled again, they mint new ones, and a
   * kubeconfig issued before (copied, maybe stolen) does not come back to life.
   */
  async #revokeIssuedTokens(memberId: string): Promise<void> {
    const live = await this.#s.db.selectFrom("issued_tokens").select("cluster_id").distinct().where("member_id", "=", memberId).where("revoked_at", "is", null).execute();
    if (!live.length) return;
    await this.#s.db.updateTable("issued_tokens").set({ revoked_at: this.#s.iso() }).where("member_id", "=", memberId).where("revoked_at", "is", null).execute();
    for (const c of live) this.#s.invalidate({ kind: "tokens", cluster: c.cluster_id, member: memberId });
  }
}
