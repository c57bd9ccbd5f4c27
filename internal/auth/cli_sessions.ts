/**
 * CLI sessions: what `ward login` keeps. A long-lived refresh token (stored hashed, revocable by
 * `ward logout` or an admin) mints short-lived bearer access tokens for the API. Refresh tokens
 * are not rotated, so parallel kubectl invocations refreshing at once never lock each other out.
 */
import type { Kysely } from "kysely";
import type { AccessService, Member } from "../access/index.ts";
import { hashSecret, newId, newSecret } from "../access/index.ts";
import type { Database } from "../store/index.ts";
import { AuthError } from "./errors.ts";

export interface CliTokens {
  access_token: string;
  token_type: "Bearer";
  /** Seconds the access token lives. */
  expires_in: number;
  refresh_token?: string;
  session_id: string;
  member: { id: string; email: string; role: string };
}

export interface CliSessionsOptions {
  db: Kysely<Database>;
  access: AccessService;
  now?: () => number;
  /** Default 1 hour. */
  accessTtlSeconds?: number;
  /** Default 30 days. */
  sessionTtlSeconds?: number;
}

export class CliSessions {
  #db: Kysely<Database>;
  #access: AccessService;
  #now: () => number;
  #accessTtl: number;
  #sessionTtl: number;

  constructor(opts: CliSessionsOptions) {
    this.#db = opts.db;
    this.#access = opts.access;
    this.#now = opts.now ?? Date.now;
    this.#accessTtl = opts.accessTtlSeconds ?? 3600;
    this.#sessionTtl = opts.sessionTtlSeconds ?? 30 * 86400;
  }

  async create(member: Member, deviceName: string): Promise<CliTokens> {
    const id = newId("s");
    const refresh = newSecret("wardr_");
    const now = this.#now();
    await this.#db
      .insertInto("cli_sessions")
      .values({
        id, member_id: member.id, device_name: deviceName, refresh_hash: hashSecret(refresh),
        created_at: new Date(now).toISOString(), expires_at: new Date(now + this.#sessionTtl * 1000).toISOString(), last_used_at: null, revoked_at: null,
      })
      .execute();
    return { ...(await this.#accessToken(member, id, deviceName)), refresh_token: refresh };
  }

  /** A new access token for a live session (the refresh token stays the same). */
  async refresh(refreshToken: string): Promise<CliTokens> {
    const s = await this.#db.selectFrom("cli_sessions").selectAll().where("refresh_hash", "=", hashSecret(refreshToken)).executeTakeFirst();
    if (!s || s.revoked_at) throw new AuthError("invalid_grant", "This session was signed out: run 'ward login'");
    if (Date.parse(s.expires_at) <= this.#now()) throw new AuthError("invalid_grant", "This session expired: run 'ward login'");
    const member = await this.#access.member(s.member_id);
    if (!member || member.status !== "active") throw new AuthError("invalid_grant", "This member is disabled: ask an admin");
    await this.#db.updateTable("cli_sessions").set({ last_used_at: new Date(this.#now()).toISOString() }).where("id", "=", s.id).execute();
    return this.#accessToken(member, s.id, s.device_name);
  }

  /** Signs a session out: its refresh token and every access token it minted stop working. */
  async revoke(refreshToken: string): Promise<boolean> {
    const s = await this.#db.selectFrom("cli_sessions").select(["id", "revoked_at"]).where("refresh_hash", "=", hashSecret(refreshToken)).executeTakeFirst();
    if (!s) return false;
    const at = new Date(this.#now()).toISOString();
    await this.#db.updateTable("cli_sessions").set({ revoked_at: at }).where("id", "=", s.id).where("revoked_at", "is", null).execute();
    await this.#db.updateTable("api_tokens").set({ revoked_at: at }).where("session_id", "=", s.id).where("revoked_at", "is", null).execute();
    return true;
  }

  async #accessToken(member: Member, sessionId: string, deviceName: string): Promise<CliTokens> {
    const t = await this.#access.issueApiToken(member.id, { kind: "cli", name: deviceName, ttlSeconds: this.#accessTtl, sessionId });
    return {
      access_token: t.secret,
      token_type: "Bearer",
      expires_in: this.#accessTtl,
      session_id: sessionId,
      member: { id: member.id, email: member.email, role: member.role },
    };
  }
}
