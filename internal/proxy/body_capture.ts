/**
 * Keeps the first bytes of a request body as it streams to the tunnel, for the audit of a write:
 * a second 'data' listener beside the relay's pipe, so the body is never buffered whole and never
 * waits for the copy. Past `limit` bytes it only counts.
 */
import type { Readable } from "node:stream";

export interface BodyCapture {
  /** The first bytes of the body (at most the limit). */
  bytes: Buffer;
  /** The body's size so far. */
  size: number;
  truncated: boolean;
  contentType: string | undefined;
}

/**
 * Starts capturing `src`'s body. Call it in the same turn as the pipe that relays `src` (a 'data'
 * listener switches the stream to flowing: both must be attached before the first chunk).
 */
export function captureBody(src: Readable, limit: number, contentType: string | undefined): () => BodyCapture {
  const chunks: Buffer[] = [];
  let kept = 0;
  let size = 0;
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (kept >= limit) return;
    const part = chunk.length > limit - kept ? chunk.subarray(0, limit - kept) : chunk;
    chunks.push(Buffer.from(part)); // a copy: the relay may hand the chunk on to be reused
    kept += part.length;
  };
  src.on("data", onData);
  src.once("close", () => src.off("data", onData));
  return () => ({ bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), size, truncated: size > kept, contentType });
}
