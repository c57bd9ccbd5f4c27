/** A token bucket per key (member id), with an injected clock. */
export interface RateLimiterOptions {
  /** Requests allowed in a burst. Default 10. */
  burst?: number;
  /** Tokens added per minute. Default 30. */
  perMinute?: number;
  now?: () => number;
  /** Buckets kept at most (least recently used are dropped). Default 10000. */
  maxKeys?: number;
}

export class RateLimiter {
  #burst: number;
  #perMs: number;
  #now: () => number;
  #maxKeys: number;
  #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(opts: RateLimiterOptions = {}) {
    this.#burst = opts.burst ?? 10;
    this.#perMs = (opts.perMinute ?? 30) / 60_000;
    this.#now = opts.now ?? Date.now;
    this.#maxKeys = opts.maxKeys ?? 10_000;
    if (!(this.#burst >= 1) || !(this.#perMs > 0)) throw new Error("Rate limiter needs burst >= 1 and perMinute > 0");
  }

  /** Takes one token; returns 0 when allowed, else the seconds to wait (for Retry-After). */
  take(key: string): number {
    const now = this.#now();
    let b = this.#buckets.get(key);
    if (b) {
      this.#buckets.delete(key);
      b.tokens = Math.min(this.#burst, b.tokens + (now - b.at) * this.#perMs);
      b.at = now;
    } else {
      b = { tokens: this.#burst, at: now };
    }
    this.#buckets.set(key, b);
    if (this.#buckets.size > this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.#perMs / 1000));
  }
}
