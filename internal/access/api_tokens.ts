/** Bearer API tokens of members: robots' credentials, personal tokens and CLI sessions (stored hashed). */
import { requireAdmin, type AccessState } from "./_access_state.ts";
import { AccessError } from "./errors.ts";
import { hashSecret, newId, newSecret } from "./secrets.ts";
import type { ApiTokenInfo, AuthContext } from "./types.ts";

export class ApiTokens {
  #s: AccessState;

  constructor(state: AccessState) {
    this.#s = state;
  }

  /** A new bearer API token for a member (returned once, stored hashed). */
  async issueApiToken(memberId: string, opts: { kind?: "api" | "cli"; name?: string; ttlSeconds?: number; sessionId?: string } = {}): Promise<{ id: string; secret: string; expiresAt: string | null }> {
    const kind = opts.kind ?? "api";
    const secret = newSecret(kind === "cli" ? "wardc_" : "wardp_");
    const id = newId("t");
    const expiresAt = opts.ttlSeconds === undefined ? null : this.#s.iso(this.#s.now() + opts.ttlSeconds * 1000);
    await this.#s.db
      .insertInto("api_tokens")
      .values({ id, member_id: memberId, token_hash: hashSecret(secret), created_at: this.#s.iso(), revoked_at: null, kind, name: opts.name ?? "", expires_at: expiresAt, last_used_at: null, session_id: opts.sessionId ?? null })
      .execute();
    return { id, secret, expiresAt };
  }

  /** Admins issue named, expiring API tokens (robots' credentials); shown once. */
  async createApiToken(actor: AuthContext, memberId: string, input: { name?: unknown; expires_in_seconds?: unknown }): Promise<{ token: ApiTokenInfo; secret: string }> {
    requireAdmin(actor);
    const member = await this.#s.member(memberId);
    if (!member) throw new AccessError("NotFound", `No member ${memberId}`);
    const name = input.name ?? "";
    if (typeof name !== "string" || name.length > 255) throw new AccessError("Invalid", "name must be a string of at most 255 characters");
    const t = await this.issueApiToken(memberId, { name, ttlSeconds: parseTokenTtl(input.expires_in_seconds) });
    const token = (await this.listApiTokens(actor, memberId)).find((x) => x.id === t.id)!;
    this.#s.events.emit("audit", { action: "api-token.create", actorId: actor.member.id, actorEmail: actor.member.email, tokenId: t.id, detail: { member_id: memberId, name } });
    return { token, secret: t.secret };
  }

  /** A member's API tokens (never the secrets); admins see anyone's, members their own. */
  async listApiTokens(actor: AuthContext, memberId: string): Promise<ApiTokenInfo[]> {
    if (actor.member.id !== memberId) requireAdmin(actor);
    return this.#s.db
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
    const r = await this.#s.db.updateTable("api_tokens").set({ revoked_at: this.#s.iso() }).where("id", "=", tokenId).where("member_id", "=", memberId).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new AccessError("NotFound", `No API token ${tokenId} for member ${memberId}`);
    this.#s.events.emit("audit", { action: "api-token.revoke", actorId: actor.member.id, actorEmail: actor.member.email, tokenId, detail: { member_id: memberId } });
  }

  /** Resolves a bearer API token (admin-issued or a CLI session's) to an active member, or throws Unauthorized. */
  async authenticateApiToken(secret: string): Promise<AuthContext> {
    const row = await this.#s.db
      .selectFrom("api_tokens")
      .select(["id", "member_id", "revoked_at", "expires_at", "kind", "last_used_at"])
      .where("token_hash", "=", hashSecret(secret))
      .executeTakeFirst();
    if (!row || row.revoked_at) throw new AccessError("Unauthorized", "Invalid API token");
    const now = this.#s.now();
    if (row.expires_at && Date.parse(row.expires_at) <= now) {
      throw new AccessError("Unauthorized", row.kind === "cli" ? "Session expired: run 'ward login'" : "API token expired: ask an admin for a new one");
    }
    const member = await this.#s.member(row.member_id);
    if (!member) throw new AccessError("Unauthorized", "Invalid API token");
    if (member.status !== "active") throw new AccessError("MemberDisabled", "This member is disabled: ask an admin");
    // last_used_at is informational: written at most once a minute per token.
    if (!row.last_used_at || now - Date.parse(row.last_used_at) > 60_000) {
      await this.#s.db.updateTable("api_tokens").set({ last_used_at: this.#s.iso(now) }).where("id", "=", row.id).execute();
    }
    return { member };
  }
}

/** Lifetime of an admin-issued API token: default 90 days, at most 366. */
export function parseTokenTtl(v: unknown): number {
  const ttl = v ?? 90 * 86400;
  if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 60 || ttl > 366 * 86400) {
    throw new AccessError("Invalid", "expires_in_seconds must be an integer between 60 and 31622400 (366 days)");
  }
  return ttl;
}
