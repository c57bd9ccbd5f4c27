/**
 * The audit's write path, off the request path: `record` only appends to a bounded in-memory queue
 * (never awaits, never throws); a timer writes the queue in batches. When the queue is full a record
 * is dropped and counted — traffic never waits for the store. Turning queued entries into rows
 * (request info, body redaction) happens at flush time, not on the request's turn of the loop.
 */
import type { Logger } from "../log/index.ts";
import type { AuditRow } from "./audit_row.ts";

export interface AuditLogOptions<T> {
  /**
   * Writes one batch (one transaction). A failure counts the batch as failed, not retried, unless
   * `retryable` says the store is only away for now.
   */
  write: (rows: AuditRow[]) => Promise<void>;
  /**
   * True for errors that say the store is away for now (unreachable, locked, out of disk space):
   * the batch is kept and written first at the next flush (the queue behind it keeps its cap), so
   * an outage delays audit rows instead of losing them. Default: nothing is retried.
   */
  retryable?: (err: unknown) => boolean;
  /** Turns a queued entry into its row (at flush time). */
  toRow: (entry: T) => AuditRow;
  logger: Logger;
  /** Entries held at most (default 10,000); more are dropped and counted. */
  queueCap?: number;
  /** Rows per insert (default 500). */
  batchSize?: number;
  /** How often the queue is written (default 250 ms); a full batch is written at once. */
  flushIntervalMs?: number;
}

export interface AuditStats {
  queued: number;
  dropped: number;
  written: number;
  /** Rows whose batch the store refused. */
  failed: number;
}

export const DEFAULT_QUEUE_CAP = 10_000;
export const DEFAULT_BATCH_SIZE = 500;
export const DEFAULT_FLUSH_INTERVAL_MS = 250;

export class AuditLog<T> {
  #o: Required<Omit<AuditLogOptions<T>, "logger" | "retryable">> & Pick<AuditLogOptions<T>, "logger" | "retryable">;
  #queue: T[] = [];
  /** A batch the store refused for now: written first at the next flush. */
  #retry: AuditRow[] | undefined;
  #dropped = 0;
  #written = 0;
  #failed = 0;
  #flushing: Promise<void> | undefined;
  #soon = false;
  #timer: NodeJS.Timeout;
  #closed = false;
  #lastDropLog = 0;
  #lastFailLog = 0;

  constructor(opts: AuditLogOptions<T>) {
    this.#o = { queueCap: DEFAULT_QUEUE_CAP, batchSize: DEFAULT_BATCH_SIZE, flushIntervalMs: DEFAULT_FLUSH_INTERVAL_MS, ...opts };
    if (!(this.#o.queueCap >= 1 && this.#o.batchSize >= 1)) throw new RangeError("AuditLog: queueCap and batchSize must be at least 1");
    this.#timer = setInterval(() => void this.flush(), this.#o.flushIntervalMs);
    this.#timer.unref();
  }

  /** Queues an entry; drops and counts it when the queue is full or the log is closed. Never blocks. */
  record(entry: T): void {
    if (this.#closed || this.#queue.length >= this.#o.queueCap) {
      this.#dropped++;
      const now = Date.now();
      if (now - this.#lastDropLog >= 10_000) {
        this.#lastDropLog = now;
        this.#o.logger.warn("audit queue full: dropping records", { queueCap: this.#o.queueCap, dropped: this.#dropped });
      }
      return;
    }
    this.#queue.push(entry);
    if (this.#queue.length >= this.#o.batchSize && !this.#soon) {
      this.#soon = true;
      setImmediate(() => {
        this.#soon = false;
        void this.flush();
      });
    }
  }

  stats(): AuditStats {
    return { queued: this.#queue.length + (this.#retry?.length ?? 0), dropped: this.#dropped, written: this.#written, failed: this.#failed };
  }

  /** Writes everything queued now (batch by batch). Concurrent calls share one run. */
  flush(): Promise<void> {
    this.#flushing ??= this.#drain().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  async #drain(): Promise<void> {
    const retry = this.#retry;
    this.#retry = undefined;
    // The store still away: the rest waits for the next flush too.
    if (retry && !(await this.#write(retry))) return;
    while (this.#queue.length) {
      const batch = this.#queue.splice(0, this.#o.batchSize);
      const rows: AuditRow[] = [];
      for (const e of batch) {
        try {
          rows.push(this.#o.toRow(e));
        } catch (err) {
          this.#failed++;
          this.#o.logger.warn("audit entry could not be turned into a row", { err: err as Error });
        }
      }
      if (!(await this.#write(rows))) return;
    }
  }

  /** Writes one batch; false when it is kept for the next flush (the store is away for now). */
  async #write(rows: AuditRow[]): Promise<boolean> {
    try {
      await this.#o.write(rows);
      this.#written += rows.length;
      return true;
    } catch (err) {
      const keep = !this.#closed && this.#o.retryable?.(err) === true;
      if (keep) this.#retry = rows;
      else this.#failed += rows.length;
      // At most one line per 10 s: a store that is away fails every batch until it returns.
      const now = Date.now();
      if (now - this.#lastFailLog >= 10_000) {
        this.#lastFailLog = now;
        if (keep) this.#o.logger.warn("audit batch write failed; retrying at the next flush", { rows: rows.length, err: err as Error });
        else this.#o.logger.error("audit batch write failed; its rows are lost", { rows: rows.length, failed: this.#failed, err: err as Error });
      }
      return !keep;
    }
  }

  /** Stops taking entries and writes what is queued. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.flush();
  }
}
