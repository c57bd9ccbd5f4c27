import assert from "node:assert/strict";
import { test } from "node:test";
import { StreamStats } from "./stream_stats.ts";

test("StreamStats: open follows opens and closes, total only grows, a stray close never goes negative", () => {
  const s = new StreamStats();
  const { onActive } = s; // passed around unbound, as createUpstreamHandler does
  assert.deepEqual([s.open, s.total], [0, 0]);
  onActive(1);
  onActive(1);
  onActive(1);
  assert.deepEqual([s.open, s.total], [3, 3]);
  onActive(-1);
  onActive(-1);
  assert.deepEqual([s.open, s.total], [1, 3]);
  onActive(-1);
  onActive(-1);
  assert.deepEqual([s.open, s.total], [0, 3]);
  onActive(1);
  assert.deepEqual([s.open, s.total], [1, 4]);
});
