/**
 * Retention: rows older than the retention (default 30 days) are deleted at start and once a day.
 * The clock is injected so tests move time.
 */
import type { Logger } from "../log/index.ts";
import type { AuditStore } from "./audit_store.ts";

export const DEFAULT_RETENTION_MS = 30 * 86_400_000;
const DAY_MS = 86_400_000;

export interface RetentionOptions {
  store: Pick<AuditStore, "prune">;
  retentionMs: number;
  logger: Logger;
  now?: () => number;
  /** How often to prune (default daily). */
  intervalMs?: number;
}

export class AuditRetention {
  #o: RetentionOptions;
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: RetentionOptions) {
    if (!(opts.retentionMs > 0)) throw new RangeError("Audit retention must be positive");
    this.#o = opts;
  }

  /** Deletes what is older than the retention now. Returns how many rows. */
  async prune(): Promise<number> {
    const now = this.#o.now?.() ?? Date.now();
    const before = new Date(now - this.#o.retentionMs).toISOString();
    const n = await this.#o.store.prune(before);
    if (n) this.#o.logger.info("audit rows pruned", { before, rows: n });
    return n;
  }

  start(): void {
    const run = () =>
      void this.prune().catch((err: unknown) => this.#o.logger.warn("audit prune failed; retrying at the next one", { err: err as Error }));
    run();
    this.#timer = setInterval(run, this.#o.intervalMs ?? DAY_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
