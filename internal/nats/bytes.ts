/**
 * Byte/string helpers for the wire. Subjects, sids and queue names travel as "binary strings"
 * (one char per byte, latin1), so bytes round-trip exactly whatever encoding the client used.
 */

const utf8 = new TextDecoder();
const utf8enc = new TextEncoder();

/** Bytes [start, end) as a binary string. */
export function latin1(b: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n <= 0) return "";
  if (n <= 48) {
    let s = "";
    for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
    return s;
  }
  let s = "";
  for (let i = start; i < end; i += 4096) {
    s += String.fromCharCode.apply(null, b.subarray(i, Math.min(end, i + 4096)) as unknown as number[]);
  }
  return s;
}

/** Writes a binary string at `pos`; the caller guarantees room. Returns the new position. */
export function writeLatin1(buf: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i);
  return pos;
}

/** Writes a non-negative integer in decimal at `pos`. Returns the new position. */
export function writeUint(buf: Uint8Array, pos: number, v: number): number {
  if (v < 10) {
    buf[pos] = 0x30 + v;
    return pos + 1;
  }
  let digits = 0;
  for (let t = v; t > 0; t = Math.floor(t / 10)) digits++;
  let p = pos + digits;
  for (let t = v; t > 0; t = Math.floor(t / 10)) buf[--p] = 0x30 + (t % 10);
  return pos + digits;
}

export function decimalLength(v: number): number {
  if (v < 10) return 1;
  let d = 0;
  for (let t = v; t > 0; t = Math.floor(t / 10)) d++;
  return d;
}

export function decodeUtf8(b: Uint8Array): string {
  return utf8.decode(b);
}

export function encodeUtf8(s: string): Uint8Array {
  return utf8enc.encode(s);
}

// deno-lint-ignore no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

/** A JS string as the binary string of its UTF-8 bytes (identity for ASCII). */
export function toWire(s: string): string {
  if (!NON_ASCII.test(s)) return s;
  const b = utf8enc.encode(s);
  return latin1(b, 0, b.length);
}

/** Inverse of `toWire` (identity for ASCII). */
export function fromWire(s: string): string {
  if (!NON_ASCII.test(s)) return s;
  const b = new Uint8Array(s.length);
  writeLatin1(b, 0, s);
  return utf8.decode(b);
}
