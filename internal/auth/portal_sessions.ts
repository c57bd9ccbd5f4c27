/**
 * Portal sessions: an opaque cookie (stored hashed) naming a member, with a per-session CSRF
 * token that every session-authenticated write must echo.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Kysely } from "kysely";
import { hashSecret, newSecret, type AccessService, type Member } from "../access/index.ts";
import type { Database } from "../store/index.ts";

export interface PortalSession {
  member: Member;
  csrfToken: string;
  expiresAt: string;
}

export interface PortalSessionsOptions {
  db: Kysely<Database>;
  access: AccessService;
  now?: () => number;
  /** Default 12 hours. */
  ttlSeconds?: number;
}

export class PortalSessions {
  readonly ttlSeconds: number;
  #db: Kysely<Database>;
  #access: AccessService;
  #now: () => number;

  constructor(opts: PortalSessionsOptions) {
    this.#db = opts.db;
    this.#access = opts.access;
    this.#now = opts.now ?? Date.now;
    this.ttlSeconds = opts.ttlSeconds ?? 12 * 3600;
  }

  /** Starts a session; returns the cookie value (shown to the browser only). */
  async create(member: Member, userAgent: string): Promise<string> {
    const cookie = newSecret("");
    const now = this.#now();
    await this.#db.deleteFrom("portal_sessions").where("expires_at", "<", new Date(now).toISOString()).execute();
    await this.#db
      .insertInto("portal_sessions")
      .values({
        id_hash: hashSecret(cookie), member_id: member.id, csrf_token: randomBytes(24).toString("base64url"), user_agent: userAgent.slice(0, 255),
        created_at: new Date(now).toISOString(), expires_at: new Date(now + this.ttlSeconds * 1000).toISOString(),
      })
      .execute();
    return cookie;
  }

  /** The live session of a cookie with an active member, or null. */
  async get(cookie: string | undefined): Promise<PortalSession | null> {
    if (!cookie || cookie.length > 128) return null;
    const row = await this.#db.selectFrom("portal_sessions").selectAll().where("id_hash", "=", hashSecret(cookie)).executeTakeFirst();
    if (!row || Date.parse(row.expires_at) <= this.#now()) return null;
    const member = await this.#access.member(row.member_id);
    if (!member || member.status !== "active") return null;
    return { member, csrfToken: row.csrf_token, expiresAt: row.expires_at };
  }

  async destroy(cookie: string | undefined): Promise<void> {
    if (cookie) await this.#db.deleteFrom("portal_sessions").where("id_hash", "=", hashSecret(cookie)).execute();
  }
}

/** Constant-time comparison of a submitted CSRF token with the session's. */
export function csrfMatches(session: PortalSession, submitted: string | undefined): boolean {
  if (!submitted) return false;
  const a = Buffer.from(session.csrfToken);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}
