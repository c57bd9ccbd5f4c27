/**
 * RFC 6455 §5.2 frame headers: read incrementally by the scanners that watch raw WebSocket bytes
 * without buffering payload (the NATS endpoint's pre-auth guard, the proxy's activity scanner), and
 * written by those that put frames on a socket themselves (the NATS transports, a cut exec's Status).
 */

/** The longest frame header: 2 bytes, 8 of extended length, 4 of mask. */
export const MAX_FRAME_HEADER = 14;

/** The length of a frame header whose first `have` bytes are in `h` (2 until its length byte is in). */
export function frameHeaderLength(h: Uint8Array, have: number): number {
  if (have < 2) return 2;
  const len7 = h[1]! & 0x7f;
  const extended = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
  const mask = h[1]! & 0x80 ? 4 : 0;
  return 2 + extended + mask;
}

/** The payload length a complete header announces (past 2^53 it is inexact, but over any cap). */
export function framePayloadLength(h: Uint8Array): number {
  const len7 = h[1]! & 0x7f;
  if (len7 < 126) return len7;
  if (len7 === 126) return (h[2]! << 8) | h[3]!;
  const view = new DataView(h.buffer, h.byteOffset + 2, 8);
  return view.getUint32(0) * 2 ** 32 + view.getUint32(4);
}

/** WebSocket opcodes that Ward writes itself. */
export const OPCODE = { binary: 0x2, close: 0x8 } as const;

/**
 * The header of a final frame (FIN set) of `opcode` for `n` payload bytes; with `maskKey` (4 bytes),
 * a client frame: the mask bit set and the key after the length.
 */
export function encodeFrameHeader(n: number, opcode: number = OPCODE.binary, maskKey?: Uint8Array): Uint8Array {
  const ext = n < 126 ? 0 : n < 0x10000 ? 2 : 8;
  const h = new Uint8Array(2 + ext + (maskKey ? 4 : 0));
  h[0] = 0x80 | opcode;
  h[1] = (maskKey ? 0x80 : 0) | (ext === 0 ? n : ext === 2 ? 126 : 127);
  if (ext === 2) {
    h[2] = n >>> 8;
    h[3] = n & 0xff;
  } else if (ext === 8) new DataView(h.buffer).setBigUint64(2, BigInt(n));
  if (maskKey) h.set(maskKey, 2 + ext);
  return h;
}
