import assert from "node:assert/strict";
import { test } from "node:test";
import { RateLimiter } from "./rate_limiter.ts";

test("rate limiter: burst, then Retry-After seconds, refills with the clock, per key", () => {
  let t = 0;
  const rl = new RateLimiter({ burst: 3, perMinute: 6, now: () => t });
  assert.equal(rl.take("a"), 0);
  assert.equal(rl.take("a"), 0);
  assert.equal(rl.take("a"), 0);
  assert.equal(rl.take("a"), 10);
  assert.equal(rl.take("b"), 0);
  t += 5_000;
  assert.equal(rl.take("a"), 5);
  t += 5_000;
  assert.equal(rl.take("a"), 0);
  assert.equal(rl.take("a"), 10);
});
