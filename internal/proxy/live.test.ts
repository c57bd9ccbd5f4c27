import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { LiveStreams } from "./live.ts";

test("close() ends only the member's streams on that cluster, and never raises an uncaught error", async () => {
  const live = new LiveStreams();
  const a1 = new PassThrough();
  const a2 = new PassThrough();
  const b1 = new PassThrough();
  const other = new PassThrough();
  live.add("c", "alice", a1);
  live.add("c", "alice", a2);
  live.add("c", "bob", b1);
  live.add("d", "alice", other);
  assert.equal(live.count(), 4);
  assert.equal(live.close("c", "alice", "Access revoked"), 2); // no error listeners of their own: must not throw
  await new Promise((r) => setImmediate(r));
  assert.ok(a1.destroyed && a2.destroyed);
  assert.ok(!b1.destroyed && !other.destroyed);
  assert.equal(live.count(), 2);
  assert.equal(live.close("c", undefined, "revoke-all"), 1);
  await new Promise((r) => setImmediate(r));
  assert.equal(live.count(), 1);
});
