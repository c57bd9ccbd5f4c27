/**
 * Joins an upgraded socket and a tunnel stream as raw bytes both ways, with half-close: when one
 * side ends, the other side's writable end is ended (not destroyed), so bytes still in flight —
 * like a WebSocket close frame right before the API server closes — reach the other end.
 * An error (a reset stream, a broken socket) tears both down.
 */
import type { Duplex } from "node:stream";

export function splice(socket: Duplex, stream: Duplex): void {
  socket.pipe(stream);
  stream.pipe(socket);
  socket.on("error", () => socket.destroy());
  socket.once("close", () => {
    stream.unpipe(socket);
    if (!stream.writableEnded) stream.end();
    stream.resume(); // drain what the peer still sends, so the stream can finish cleanly
  });
  stream.once("error", () => socket.destroy());
  stream.once("close", () => {
    if (!socket.destroyed && !socket.writableEnded) socket.end();
  });
}
