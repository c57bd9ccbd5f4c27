/**
 * Joins an upgraded socket and a tunnel stream as raw bytes both ways, with half-close: when one
 * side ends, the other side's writable end is ended (not destroyed), so bytes still in flight —
 * like a WebSocket close frame right before the API server closes — reach the other end.
 * An error (a reset stream, a broken socket) tears both down.
 */
import type { Duplex, Readable, Writable } from "node:stream";

export interface SpliceOptions {
  /** Bytes that end the socket cleanly when the stream fails (a Status on exec's error channel); undefined: destroy it. */
  lastWords?: (err: Error) => Uint8Array | undefined;
}

export function splice(socket: Duplex, stream: Duplex, opts: SpliceOptions = {}): void {
  socket.pipe(stream);
  const stop = corkedPipe(stream, socket);
  socket.on("error", () => socket.destroy());
  socket.once("close", () => {
    stop();
    if (!stream.writableEnded) stream.end();
    stream.resume(); // drain what the peer still sends, so the stream can finish cleanly
  });
  stream.once("error", (err) => {
    const last = socket.destroyed || socket.writableEnded ? undefined : opts.lastWords?.(err);
    if (last) socket.end(last);
    else socket.destroy();
  });
  stream.once("close", () => {
    if (!socket.destroyed && !socket.writableEnded) socket.end();
  });
}

/**
 * `src.pipe(dst)` for a socket: every chunk `src` emits in one turn of the event loop goes out
 * in one write (the socket is corked until the turn ends) — a tunnel message carries many 16 KiB
 * chunks, and a TLS write plus a syscall for each cost more than the bytes. Backpressure is
 * checked once per turn: `src` pauses while the socket wants a drain. Ends `dst` when `src` ends.
 * Returns a function that stops it (like `unpipe`).
 */
export function corkedPipe(src: Readable, dst: Writable): () => void {
  let corked = false;
  const resume = () => src.resume();
  const flush = () => {
    corked = false;
    dst.uncork();
    if (dst.writableNeedDrain && !dst.destroyed) {
      src.pause();
      dst.once("drain", resume);
    }
  };
  const onData = (chunk: Uint8Array) => {
    if (dst.destroyed || dst.writableEnded) return;
    if (!corked) {
      corked = true;
      dst.cork();
      process.nextTick(flush);
    }
    dst.write(chunk);
  };
  const onEnd = () => {
    if (!dst.destroyed && !dst.writableEnded) dst.end();
  };
  src.on("data", onData);
  src.once("end", onEnd);
  return () => {
    src.off("data", onData);
    src.off("end", onEnd);
    dst.off("drain", resume);
  };
}

export interface RelayOptions {
  /** Errors of `src` that end `dst` cleanly rather than destroying it (a watch's idle timeout). */
  endOn?: (err: Error) => boolean;
  /** Bytes that end `dst` cleanly after an error of `src` (a watch's final ERROR event); undefined: destroy it. */
  lastWords?: (err: Error) => Uint8Array | undefined;
}

/**
 * `src` → `dst` with backpressure, like `stream.pipeline(src, dst)`: an error or a premature close
 * on either side destroys the other (a client that goes away cancels the upstream exchange, and the
 * other way round). It skips pipeline's per-call AbortController, whose abort builds a DOMException
 * with a stack trace on every completed exchange (about 3 % of the proxy's CPU at c=64).
 */
export function relay(src: Readable, dst: Writable, opts: RelayOptions = {}): void {
  let settled = false;
  const teardown = (err: Error) => {
    if (settled) return;
    settled = true;
    if (!src.destroyed) src.destroy(err);
    if (dst.destroyed) return;
    if (opts.endOn?.(err)) {
      // What `src` already delivered is written, then `dst` ends as if `src` had.
      src.unpipe(dst);
      dst.end();
      return;
    }
    const last = dst.writableEnded ? undefined : opts.lastWords?.(err);
    if (last) {
      src.unpipe(dst);
      dst.end(last);
    } else dst.destroy(err);
  };
  // Listeners stay attached after settling, so late errors of either side are never unhandled.
  src.on("error", teardown);
  dst.on("error", teardown);
  src.once("close", () => {
    if (!src.readableEnded) teardown(prematureClose());
  });
  dst.once("close", () => {
    if (!dst.writableFinished) teardown(prematureClose());
  });
  dst.once("finish", () => (settled = true));
  src.pipe(dst);
}

function prematureClose(): Error {
  return Object.assign(new Error("Premature close"), { code: "ERR_STREAM_PREMATURE_CLOSE" });
}
