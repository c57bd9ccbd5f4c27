/**
 * Faster WebSocket masking and unmasking for the `ws` package.
 *
 * Every client→server frame is XOR-masked with a fresh random key (RFC 6455 §5.3): the agent masks
 * what it sends, the embedded endpoint unmasks what it receives. Without its optional native addon,
 * `ws` does both one byte at a time (~0.7 GiB/s here), which made unmasking the largest single cost
 * of the embedded endpoint for 64 KiB messages. `ws` (8.18+) first looks for
 * `websocketMask`/`websocketUnmask` on Node's `http` module (where a runtime may provide native
 * ones); this module supplies word-at-a-time versions there, before `ws` is loaded, unless the
 * runtime already has them. Import it before "ws". If `ws` was loaded earlier in the process,
 * nothing changes (still correct, slower).
 */
import http from "node:http";

/** XORs `buffer` in place with the 4-byte `mask`, 32 bits at a time. Same result as ws's loop. */
export function unmask(buffer: Uint8Array, mask: Uint8Array): void {
  const n = buffer.length;
  let i = 0;
  if (n >= 32) {
    // Align to 4 bytes, then XOR whole words with the mask rotated to this position.
    const head = (4 - (buffer.byteOffset & 3)) & 3;
    for (; i < head; i++) buffer[i]! ^= mask[i & 3]!;
    const words = (n - i) >> 2;
    const m = new Uint8Array(4);
    for (let k = 0; k < 4; k++) m[k] = mask[(i + k) & 3]!;
    const m32 = new Uint32Array(m.buffer)[0]!;
    const w = new Uint32Array(buffer.buffer, buffer.byteOffset + i, words);
    for (let j = 0; j < words; j++) w[j]! ^= m32;
    i += words * 4;
  }
  for (; i < n; i++) buffer[i]! ^= mask[i & 3]!;
}

/**
 * Writes the first `length` bytes of `source`, masked, into `output` at `offset` (ws's signature).
 * A copy (memcpy), then the word-at-a-time XOR in place: source and output rarely share an
 * alignment (the frame header sits before the payload), so XOR-ing while copying could not use
 * whole words on both sides.
 */
export function mask(source: Uint8Array, maskBytes: Uint8Array, output: Uint8Array, offset: number, length: number): void {
  if (length < 32) {
    for (let i = 0; i < length; i++) output[offset + i] = source[i]! ^ maskBytes[i & 3]!;
    return;
  }
  output.set(length === source.length ? source : source.subarray(0, length), offset);
  unmask(output.subarray(offset, offset + length), maskBytes);
}

type HttpWithMask = { websocketMask?: typeof mask; websocketUnmask?: typeof unmask };

function install(): void {
  const h = http as unknown as HttpWithMask;
  try {
    if (h.websocketMask === undefined && h.websocketUnmask === undefined) {
      h.websocketMask = mask;
      h.websocketUnmask = unmask;
    }
  } catch {
    // A runtime with a frozen http module: ws keeps its own loop.
  }
}

install();
