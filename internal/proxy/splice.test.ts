import assert from "node:assert/strict";
import { PassThrough, Readable, Writable } from "node:stream";
import { test } from "node:test";
import { relay } from "./splice.ts";

/** Resolves once the stream has closed (whether or not it errored). */
const closed = (s: Readable | Writable) => (s.closed ? Promise.resolve() : new Promise<void>((r) => s.once("close", () => r())));

const sink = () => {
  const chunks: Buffer[] = [];
  const w = new Writable({ highWaterMark: 4, write(c, _e, cb) { chunks.push(c); setImmediate(cb); } });
  return { w, text: () => Buffer.concat(chunks).toString() };
};

test("relay: every byte in order with backpressure, then both sides end cleanly", { timeout: 5000 }, async () => {
  const src = Readable.from(Array.from({ length: 200 }, (_, i) => Buffer.from(`${i},`)));
  const { w, text } = sink();
  relay(src, w);
  await closed(w);
  assert.equal(text(), Array.from({ length: 200 }, (_, i) => `${i},`).join(""));
  assert.equal(w.writableFinished, true);
  assert.equal(src.readableEnded, true);
  assert.equal(w.errored, null);
});

test("relay: the destination closing early (client went away) destroys the source", { timeout: 5000 }, async () => {
  const src = new PassThrough();
  const dst = new PassThrough();
  relay(src, dst);
  src.write("partial");
  dst.destroy();
  await closed(src);
  assert.equal((src.errored as NodeJS.ErrnoException | null)?.code, "ERR_STREAM_PREMATURE_CLOSE");
});

test("relay: the source failing or closing early destroys the destination; no unhandled errors", { timeout: 5000 }, async () => {
  const a = new PassThrough();
  const b = new PassThrough();
  relay(a, b);
  a.destroy(new Error("upstream reset"));
  await closed(b);
  assert.equal((b.errored as Error | null)?.message, "upstream reset");
  b.emit("error", new Error("late")); // still handled after settling

  const c = new PassThrough();
  const d = new PassThrough();
  relay(c, d);
  c.destroy(); // closed without an end
  await closed(d);
  assert.equal((d.errored as NodeJS.ErrnoException | null)?.code, "ERR_STREAM_PREMATURE_CLOSE");
});

test("relay: a destination error destroys the source with that error", { timeout: 5000 }, async () => {
  const src = new PassThrough();
  const dst = new Writable({ write(_c, _e, cb) { cb(new Error("socket broke")); } });
  relay(src, dst);
  src.write("x");
  await closed(src);
  assert.equal((src.errored as Error | null)?.message, "socket broke");
});
