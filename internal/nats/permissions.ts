/**
 * Per-connection permissions: publish and subscribe allow-lists (wildcards allowed), and
 * nats-server's `allow_responses`: a connection may publish to a reply subject it received on a
 * delivered message, a limited number of times within a TTL, even without publish rights.
 */
import { NatsConfigError } from "./errors.ts";
import { isValidSubject, subjectCovers, subjectMatches } from "./subject.ts";

export interface Permissions {
  /** Subjects this connection may publish to (wildcards allowed). */
  publish: string[];
  /** Subjects this connection may subscribe to (wildcards allowed). */
  subscribe: string[];
}

export class CompiledPermissions {
  readonly #publish: readonly string[];
  readonly #subscribe: readonly string[];

  /** Throws NatsConfigError for an invalid pattern. */
  constructor(p: Permissions) {
    for (const s of [...p.publish, ...p.subscribe]) {
      if (typeof s !== "string" || !isValidSubject(s)) {
        throw new NatsConfigError(`Invalid permission subject ${JSON.stringify(s)}: use NATS subject syntax (tokens separated by '.', '*' and '>' as whole tokens)`);
      }
    }
    this.#publish = [...p.publish];
    this.#subscribe = [...p.subscribe];
  }

  /** May publish to this literal subject? */
  canPublish(subject: string): boolean {
    const list = this.#publish;
    for (let i = 0; i < list.length; i++) if (subjectMatches(list[i]!, subject)) return true;
    return false;
  }

  /** May subscribe to this subject (possibly a wildcard)? Every subject it can match must be allowed. */
  canSubscribe(subject: string): boolean {
    const list = this.#subscribe;
    for (let i = 0; i < list.length; i++) if (subjectCovers(list[i]!, subject)) return true;
    return false;
  }
}

export interface ResponsePermission {
  /** Replies allowed per received reply subject (nats-server `max`, default 1). */
  max: number;
  /** How long the right lasts, in ms (default 2 minutes). */
  ttlMs: number;
}

interface Grant {
  expires: number;
  left: number;
}

/** Reply subjects a connection may answer once (or `max` times) within a TTL. */
export class ResponseGrants {
  readonly #grants = new Map<string, Grant>();
  readonly #max: number;
  readonly #ttl: number;
  readonly #cap: number;

  constructor(perm: ResponsePermission, cap = 4096) {
    this.#max = perm.max;
    this.#ttl = perm.ttlMs;
    this.#cap = cap;
  }

  get size(): number {
    return this.#grants.size;
  }

  grant(reply: string, now: number): void {
    const existing = this.#grants.get(reply);
    if (existing !== undefined) {
      existing.expires = now + this.#ttl;
      existing.left = this.#max;
      return;
    }
    if (this.#grants.size >= this.#cap) this.#prune(now);
    this.#grants.set(reply, { expires: now + this.#ttl, left: this.#max });
  }

  /** Uses one reply right for `subject`; false when there is none. */
  consume(subject: string, now: number): boolean {
    const g = this.#grants.get(subject);
    if (g === undefined) return false;
    if (g.expires < now) {
      this.#grants.delete(subject);
      return false;
    }
    if (--g.left <= 0) this.#grants.delete(subject);
    return true;
  }

  #prune(now: number): void {
    for (const [k, g] of this.#grants) if (g.expires < now) this.#grants.delete(k);
    // Still full: forget the oldest tenth.
    let n = this.#grants.size >= this.#cap ? Math.max(1, this.#cap >> 3) : 0;
    for (const k of this.#grants.keys()) {
      if (n-- <= 0) break;
      this.#grants.delete(k);
    }
  }
}
