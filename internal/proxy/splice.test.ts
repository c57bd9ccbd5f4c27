import assert from "node:assert/strict";
import { Duplex, PassThrough, Readable, Writable } from "node:stream";
import { test } from "node:test";
import { corkedPipe, relay, splice } from "./splice.ts";

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

test("corkedPipe: the chunks of one turn leave in one write; backpressure pauses and resumes; end follows", { timeout: 5000 }, async () => {
  const src = new PassThrough();
  const writes: number[] = [];
  let open = false;
  const held: (() => void)[] = [];
  const done = (cb: () => void) => (open ? setImmediate(cb) : held.push(cb)); // the "socket" drains once opened
  const dst = new Writable({
    highWaterMark: 64,
    writev(chunks, cb) {
      writes.push(chunks.length);
      done(cb);
    },
    write(_c, _e, cb) {
      writes.push(1);
      done(cb);
    },
  });
  corkedPipe(src, dst);
  for (let i = 0; i < 5; i++) src.write(Buffer.alloc(40, i)); // one turn: 200 bytes, over the 64-byte mark
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(writes, [5], "one write for the turn's five chunks");
  assert.equal(src.isPaused(), true, "paused while the destination wants a drain");
  src.end(Buffer.alloc(10, 9));
  open = true;
  for (const cb of held.splice(0)) cb();
  await new Promise((r) => dst.once("finish", r));
  assert.equal(writes.reduce((a, b) => a + b, 0), 6, "every chunk written once");
  assert.equal(dst.writableFinished, true);
});

test("splice: bytes both ways; a socket that closes ends the stream's writable side", { timeout: 5000 }, async () => {
  const fromClient = new PassThrough();
  const toClient: Buffer[] = [];
  const socket = Duplex.from({ readable: fromClient, writable: new Writable({ write(c, _e, cb) { toClient.push(c); cb(); } }) });
  const toAgent: Buffer[] = [];
  const fromAgent = new PassThrough();
  const stream = Duplex.from({ readable: fromAgent, writable: new Writable({ write(c, _e, cb) { toAgent.push(c); cb(); } }) });
  splice(socket, stream);
  fromClient.write("stdin");
  fromAgent.write("stdout-1|");
  fromAgent.write("stdout-2");
  await new Promise((r) => setImmediate(r));
  assert.equal(Buffer.concat(toAgent).toString(), "stdin");
  assert.equal(Buffer.concat(toClient).toString(), "stdout-1|stdout-2");
  socket.destroy();
  await new Promise((r) => setImmediate(r));
  assert.equal(stream.writableEnded, true);
});
