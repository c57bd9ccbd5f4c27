/**
 * Live grant status for the portal's Access view, as server-sent events: the cluster's grants (as
 * `GET …/access/grants` answers them) and whether its agent is online, sent at the start and again
 * whenever they change — the access service's `grantsChanged` (grants created, deleted, expired)
 * and `statusChanged` (agent reports through `setGrantStatus`, presence through `setClusterOnline`).
 *
 * Bounded: at most `maxPerMember` streams per member and `maxTotal` in all; changes coalesce into
 * one pending refresh per stream (a slow reader holds one write, never a queue); a keepalive
 * comment every `keepaliveMs` (below the 60 s idle limits of common proxies) also re-checks the
 * session, so a signed-out or disabled member's stream ends; listeners go when the stream ends.
 */
import type { Context } from "hono";
import { streamSSE, type SSEStreamingApi } from "hono/streaming";
import { AccessError, type AccessService, type AuthContext } from "../access/index.ts";
import type { Logger } from "../log/index.ts";

export interface LiveStreamLimits {
  /** Open streams per member; default 4 (a few tabs). */
  maxPerMember?: number;
  /** Open streams in all; default 200. */
  maxTotal?: number;
  /** Keepalive comment (and session re-check) interval; default 25 s. */
  keepaliveMs?: number;
}

export interface GrantEventsOptions {
  access: AccessService;
  isClusterOnline: (clusterId: string) => boolean;
  logger: Logger;
  /** The member's current identity, or null once the session ended or the member was disabled. */
  currentAuth: () => Promise<AuthContext | null>;
  /** The grants JSON the view shows (the same as `GET …/access/grants`). */
  grants: (auth: AuthContext, clusterId: string) => Promise<unknown[]>;
}

/** Counts open streams against the caps. */
export class LiveStreams {
  readonly maxPerMember: number;
  readonly maxTotal: number;
  readonly keepaliveMs: number;
  #perMember = new Map<string, number>();
  #total = 0;

  constructor(limits: LiveStreamLimits = {}) {
    this.maxPerMember = limits.maxPerMember ?? 4;
    this.maxTotal = limits.maxTotal ?? 200;
    this.keepaliveMs = limits.keepaliveMs ?? 25_000;
    if (!(this.maxPerMember >= 1 && this.maxTotal >= 1 && this.keepaliveMs > 0 && this.keepaliveMs < 60_000)) {
      throw new Error("Live stream limits need maxPerMember >= 1, maxTotal >= 1 and 0 < keepaliveMs < 60000");
    }
  }

  get open(): number {
    return this.#total;
  }

  /** Takes a slot for the member (release it exactly once), or throws RateLimited. */
  acquire(memberId: string): () => void {
    const mine = this.#perMember.get(memberId) ?? 0;
    if (mine >= this.maxPerMember) throw new AccessError("RateLimited", `Too many live views open (${this.maxPerMember}): close other Ward tabs and reload`, { retryAfter: 10 });
    if (this.#total >= this.maxTotal) throw new AccessError("RateLimited", "The gateway has too many live views open: try again shortly", { retryAfter: 10 });
    this.#perMember.set(memberId, mine + 1);
    this.#total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      const left = (this.#perMember.get(memberId) ?? 1) - 1;
      if (left > 0) this.#perMember.set(memberId, left);
      else this.#perMember.delete(memberId);
    };
  }
}

/** Answers the request with the event stream of one cluster's grants (the caller checked access). */
export function grantEvents(c: Context, clusterId: string, auth: AuthContext, streams: LiveStreams, opts: GrantEventsOptions): Response {
  const release = streams.acquire(auth.member.id);
  c.header("X-Accel-Buffering", "no");
  return streamSSE(c, async (stream) => {
    const { access } = opts;
    let dirty = true;
    let running = false;
    let finish!: () => void;
    const ended = new Promise<void>((resolve) => (finish = resolve));
    /** Writes in flight: a keepalive waits for none (a reader that stalls holds at most two writes). */
    let inFlight = 0;
    const write = async (text: string) => {
      inFlight++;
      try {
        await stream.write(text);
      } finally {
        inFlight--;
      }
    };
    const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
    const end = (reason: string, error: string) => {
      void write(event("end", { reason, error }));
      finish();
    };

    const refresh = async (s: SSEStreamingApi) => {
      while (dirty && !s.aborted) {
        dirty = false;
        try {
          await access.requireEnabled();
          const who = await opts.currentAuth();
          if (!who) return end("Unauthorized", "Your session ended: sign in again");
          const grants = await opts.grants(who, clusterId);
          await write(event("grants", { grants, online: opts.isClusterOnline(clusterId) }));
        } catch (err) {
          if (!(err instanceof AccessError)) opts.logger.warn("live grant view failed", { cluster: clusterId, err });
          const reason = err instanceof AccessError ? (err.reason === "FeatureDisabled" ? "NotFound" : err.reason) : "InternalError";
          return end(reason, err instanceof AccessError && err.reason !== "FeatureDisabled" ? err.message : "Not found");
        }
      }
    };
    const kick = () => {
      dirty = true;
      if (running) return;
      running = true;
      void refresh(stream).finally(() => (running = false));
    };
    const onChange = (cluster: string) => cluster === clusterId && kick();
    const onDisabled = () => void end("NotFound", "Not found");
    const keepalive = setInterval(() => {
      if (!inFlight) void write(": keepalive\n\n");
      void opts.currentAuth().then((who) => (who ? undefined : end("Unauthorized", "Your session ended: sign in again")), () => undefined);
    }, streams.keepaliveMs);
    access.events.on("grantsChanged", onChange);
    access.events.on("statusChanged", onChange);
    access.events.on("disabled", onDisabled);
    stream.onAbort(() => finish());
    try {
      kick();
      await ended;
    } finally {
      clearInterval(keepalive);
      access.events.off("grantsChanged", onChange);
      access.events.off("statusChanged", onChange);
      access.events.off("disabled", onDisabled);
      release();
    }
  });
}
