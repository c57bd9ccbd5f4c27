/**
 * Grant expiry: an expired grant is a revocation (its live streams close, its bindings go), announced
 * as it happens. The gateway starts the timer; tests move the clock and call `check()` themselves.
 */
import type { AccessState } from "./_access_state.ts";

export class GrantExpiry {
  #s: AccessState;
  /** Grants that lapsed up to here have been announced. */
  #checkedAt: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #next = Infinity;
  #on = false;

  constructor(state: AccessState) {
    this.#s = state;
    this.#checkedAt = state.now();
  }

  /** Announces expiries as they happen, from now on. */
  start(): void {
    this.#on = true;
    void this.schedule();
  }

  stop(): void {
    this.#on = false;
    clearTimeout(this.#timer);
    this.#next = Infinity;
  }

  /** Emits `revoked` (grant-expired) and `grantsChanged` for grants that lapsed since the last check. */
  async check(): Promise<number> {
    const now = this.#s.now();
    const from = this.#s.iso(this.#checkedAt);
    this.#checkedAt = now;
    const rows = await this.#s.db
      .selectFrom("grants")
      .select(["id", "cluster_id", "member_id"])
      .where("expires_at", ">", from)
      .where("expires_at", "<=", this.#s.iso(now))
      .execute();
    const clusters = new Set<string>();
    for (const g of rows) {
      this.#s.invalidate({ kind: "grants", cluster: g.cluster_id, member: g.member_id });
      this.#s.events.emit("revoked", { clusterId: g.cluster_id, memberId: g.member_id, grantId: g.id, reason: "grant-expired" });
      clusters.add(g.cluster_id);
    }
    for (const c of clusters) this.#s.events.emit("grantsChanged", c);
    return rows.length;
  }

  /** Sets the timer for the soonest expiry (`soonest`, or read from the store); a sooner timer already set stays. */
  async schedule(soonest?: number): Promise<void> {
    if (!this.#on) return;
    let next = soonest;
    if (next === undefined) {
      const r = await this.#s.db.selectFrom("grants").select((eb) => eb.fn.min("expires_at").as("next")).where("expires_at", ">", this.#s.iso()).executeTakeFirst();
      next = r?.next ? Date.parse(r.next) : Infinity;
      // At most a minute: the periodic re-check.
      next = Math.min(next, this.#s.now() + 60_000);
    }
    if (!this.#on || next >= this.#next) return;
    clearTimeout(this.#timer);
    this.#next = next;
    // Re-checked at least every minute (a clock that jumps, a grant written by another gateway).
    const wait = Math.max(0, Math.min(next - this.#s.now(), 60_000));
    this.#timer = setTimeout(() => {
      this.#next = Infinity;
      void this.check()
        .catch(() => {})
        .then(() => this.schedule());
    }, wait);
    this.#timer.unref?.();
  }
}
