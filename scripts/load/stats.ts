/**
 * What the workloads record while they run: counters, errors by kind (each with its first message),
 * and the small requests' latencies in a log-bucketed histogram (2 % wide buckets: constant memory
 * however long the run, percentiles within 2 %), for the whole run and for the current interval.
 */
export class Histogram {
  static readonly #BASE = Math.log(1.02);
  #buckets = new Map<number, number>();
  count = 0;
  max = 0;

  add(ms: number): void {
    const b = Math.max(0, Math.ceil(Math.log(Math.max(ms, 0.01) * 100) / Histogram.#BASE));
    this.#buckets.set(b, (this.#buckets.get(b) ?? 0) + 1);
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  /** The upper bound (ms) of the bucket holding the p-th percentile; 0 when empty. */
  percentile(p: number): number {
    if (!this.count) return 0;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (const b of [...this.#buckets.keys()].sort((x, y) => x - y)) {
      seen += this.#buckets.get(b)!;
      if (seen >= rank) return Math.min(this.max, Math.exp(b * Histogram.#BASE) / 100);
    }
    return this.max;
  }

  summary(): { count: number; p50: number; p95: number; p99: number; max: number } {
    const r = (v: number) => +v.toFixed(2);
    return { count: this.count, p50: r(this.percentile(50)), p95: r(this.percentile(95)), p99: r(this.percentile(99)), max: r(this.max) };
  }
}

export interface ErrorKind {
  count: number;
  /** The first occurrence's message. */
  sample: string;
  /** Seconds into the load when it first happened. */
  firstAtS: number;
}

export class LoadStats {
  readonly t0 = Date.now();
  /** Workload counters: small GETs done, watch events, exec round trips, port-forward bytes … */
  readonly counts: Record<string, number> = {};
  readonly errors = new Map<string, ErrorKind>();
  readonly latency = new Histogram();
  interval = new Histogram();
  /** Set once the workloads are being stopped: what fails after is the shutdown, not an error. */
  stopping = false;

  add(counter: string, n = 1): void {
    this.counts[counter] = (this.counts[counter] ?? 0) + n;
  }

  latencyMs(ms: number): void {
    this.latency.add(ms);
    this.interval.add(ms);
  }

  /** An error of `kind` ("small: 503", "watch: reset" …); ignored once stopping. */
  error(kind: string, message: string): void {
    if (this.stopping) return;
    const e = this.errors.get(kind);
    if (e) e.count++;
    else this.errors.set(kind, { count: 1, sample: message.slice(0, 500), firstAtS: +((Date.now() - this.t0) / 1000).toFixed(1) });
  }

  errorTotal(): number {
    let n = 0;
    for (const e of this.errors.values()) n += e.count;
    return n;
  }

  /** The current interval's latencies, and a fresh interval. */
  takeInterval(): Histogram {
    const h = this.interval;
    this.interval = new Histogram();
    return h;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A short label of an error for its kind: a code (ECONNRESET), else its class. */
export function errorLabel(err: unknown): string {
  const e = err as { code?: string; name?: string };
  return e?.code ?? e?.name ?? "Error";
}
