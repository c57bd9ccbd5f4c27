/**
 * The one poller for tests and benchmarks: waits until a condition holds.
 *
 *   await eventually("the agent to connect", () => agent.connected);
 *   const g = await eventually("grant applied", async () => (await grants()).find(isApplied), { timeoutMs: 20_000, intervalMs: 100 });
 *
 * `cond` may be synchronous or async; the first truthy value it gives is returned. The defaults suit
 * in-process conditions (5 s, a try every 10 ms); a condition that asks another process (HTTP, kubectl)
 * passes a longer timeout and interval.
 */

export interface EventuallyOptions {
  /** Give up after this long (default 5,000 ms). */
  timeoutMs?: number;
  /** Pause between tries (default 10 ms). */
  intervalMs?: number;
  /** A try that throws counts as "not yet", and the last error goes into the timeout's message (default: a throw fails at once). */
  retryErrors?: boolean;
  /** More for the timeout's message, e.g. a process's output. */
  context?: () => string;
}

type Falsy = false | 0 | "" | null | undefined;

/** Resolves with `cond`'s first truthy value; rejects once `timeoutMs` passed without one. */
export async function eventually<T>(what: string, cond: () => T | Falsy | Promise<T | Falsy>, opts: EventuallyOptions = {}): Promise<T> {
  const { timeoutMs = 5000, intervalMs = 10, retryErrors = false } = opts;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (err) {
      if (!retryErrors) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      const cause = last === undefined ? "" : `: ${(last as Error).message}`;
      const context = opts.context ? `\n${opts.context()}` : "";
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${cause}${context}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
