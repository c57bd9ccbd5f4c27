/**
 * `GET /api/v1/audit`: the audit, newest first. Token-authenticated like the rest of `/api/v1`;
 * admins see every row, a member only their own. Filters: `cluster`, `member` (email or id), `since`
 * (a duration like `1h` or an RFC 3339 time), `verb` (a Kubernetes verb or an action such as
 * `token.mint`), `limit` (1–1000, default 100) and `cursor` (the previous page's `next`). A bad
 * filter is a 400 `{ error, reason: "Invalid" }`. Admins also get the write queue's counters
 * (`queue`: queued, dropped, written, failed).
 */
import { Hono } from "hono";
import { AccessError, type AccessService, type AuthContext } from "../access/index.ts";
import { InvalidCursorError, MAX_QUERY_LIMIT, type AuditQuery, type AuditRow, type AuditStats, type AuditStore } from "../audit/index.ts";
import type { Logger } from "../log/index.ts";
import { isValidClusterId, parseDuration } from "../validate/index.ts";
import { accessErrorHandler, bearerAuth } from "./access_routes.ts";

export interface AuditRoutesOptions {
  access: AccessService;
  audit: AuditStore;
  logger: Logger;
  /** The write queue's counters (queued, dropped, written), shown to admins; undefined when the audit is off. */
  stats?: () => AuditStats | undefined;
  now?: () => number;
}

type Env = { Variables: { auth: AuthContext } };

const VERB = /^[a-z][a-z.-]{0,39}$/;

/** The query string as an AuditQuery, or an `Invalid` AccessError naming the bad filter. */
export function parseAuditQuery(q: Record<string, string | undefined>, now: number): AuditQuery {
  const out: AuditQuery = {};
  const bad = (what: string) => new AccessError("Invalid", what);
  if (q.cluster !== undefined) {
    if (!isValidClusterId(q.cluster)) throw bad(`Invalid cluster ${JSON.stringify(q.cluster.slice(0, 64))}: use a cluster id`);
    out.cluster = q.cluster;
  }
  if (q.member !== undefined) {
    if (q.member === "" || q.member.length > 320) throw bad("Invalid member: give a member's email or id");
    out.member = q.member;
  }
  if (q.since !== undefined) {
    const ms = parseDuration(q.since, { units: ["s", "m", "h", "d"] });
    const t = ms === undefined && /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(q.since) ? Date.parse(q.since) : NaN;
    if (ms !== undefined) out.since = new Date(now - ms).toISOString();
    else if (!Number.isNaN(t)) out.since = new Date(t).toISOString();
    else throw bad(`Invalid since ${JSON.stringify(q.since.slice(0, 64))}: use a duration like 1h or 7d, or an RFC 3339 time like 2026-12-01T00:00:00Z`);
  }
  if (q.verb !== undefined) {
    if (!VERB.test(q.verb)) throw bad(`Invalid verb ${JSON.stringify(q.verb.slice(0, 64))}: use a Kubernetes verb like get or create, or an action like token.mint`);
    out.verb = q.verb;
  }
  if (q.limit !== undefined) {
    const n = /^\d{1,5}$/.test(q.limit) ? Number(q.limit) : NaN;
    if (!(n >= 1 && n <= MAX_QUERY_LIMIT)) throw bad(`Invalid limit: use a whole number from 1 to ${MAX_QUERY_LIMIT}`);
    out.limit = n;
  }
  if (q.cursor !== undefined) {
    if (q.cursor.length > 200) throw bad("Invalid cursor: pass the `next` value of a previous page unchanged");
    out.cursor = q.cursor;
  }
  return out;
}

/** A row as the API shows it: grants as a list, detail as an object, the truncated flag as a boolean. */
export function auditRowJson(r: AuditRow) {
  return {
    ...r,
    grant_ids: r.grant_ids ? r.grant_ids.split(",") : [],
    body_truncated: r.body_truncated === null ? null : r.body_truncated === 1,
    detail: r.detail ? (JSON.parse(r.detail) as unknown) : null,
  };
}

export function auditRoutes(opts: AuditRoutesOptions): Hono<Env> {
  const api = new Hono<Env>();
  api.onError(accessErrorHandler(opts.logger));
  api.use("/audit", bearerAuth(opts.access));
  api.get("/audit", async (c) => {
    const auth = c.get("auth");
    const q = parseAuditQuery(c.req.query(), (opts.now ?? Date.now)());
    if (auth.member.role !== "admin") q.onlyMemberId = auth.member.id;
    try {
      const page = await opts.audit.query(q);
      const queue = auth.member.role === "admin" ? opts.stats?.() : undefined;
      return c.json({ events: page.rows.map(auditRowJson), next: page.next, ...(queue ? { queue } : {}) });
    } catch (e) {
      if (e instanceof InvalidCursorError) throw new AccessError("Invalid", e.message);
      throw e;
    }
  });
  return api;
}
