/**
 * Byte-stream arbitraries shared by the codec targets: chunk boundaries anywhere, and mutations of
 * valid input (bytes set, inserted, deleted, cut short, length fields set to values around a cap).
 */
import fc from "fast-check";

/** Cut points; `splitAt` reduces each modulo the input's length. */
export const cuts: fc.Arbitrary<number[]> = fc.array(fc.nat(), { maxLength: 12 });

/** `b` split at `rawCuts` (each modulo `b.length + 1`), every piece a copy of its own. */
export function splitAt(b: Uint8Array, rawCuts: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of rawCuts.map((x) => x % (b.length + 1)).sort((x, y) => x - y)) {
    out.push(b.slice(prev, c));
    prev = c;
  }
  out.push(b.slice(prev));
  return out;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

type Edit =
  | { kind: "set"; at: number; byte: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; n: number }
  | { kind: "cut"; at: number }
  | { kind: "u16" | "u32"; at: number; value: number };

function applyEdit(b: Uint8Array, e: Edit): Uint8Array {
  const at = e.at % (b.length + 1);
  switch (e.kind) {
    case "set":
      if (at === b.length) return b;
      return Uint8Array.from(b, (x, i) => (i === at ? e.byte : x));
    case "insert":
      return concatBytes([b.subarray(0, at), e.bytes, b.subarray(at)]);
    case "delete":
      return concatBytes([b.subarray(0, at), b.subarray(at + e.n)]);
    case "cut":
      return b.slice(0, at);
    case "u16":
    case "u32": {
      const n = e.kind === "u16" ? 2 : 4;
      if (at + n > b.length) return b;
      const out = b.slice();
      const dv = new DataView(out.buffer);
      if (n === 2) dv.setUint16(at, e.value & 0xffff);
      else dv.setUint32(at, e.value >>> 0);
      return out;
    }
  }
}

/**
 * `base` with up to four edits. `interesting` are the values length fields are set to (big-endian,
 * as u16 and u32), and bytes are set to their low byte as often as to random ones.
 */
export function mutated(base: fc.Arbitrary<Uint8Array>, interesting: readonly number[] = []): fc.Arbitrary<Uint8Array> {
  const value = interesting.length ? fc.oneof(fc.nat(), fc.constantFrom(...interesting)) : fc.nat();
  const edit: fc.Arbitrary<Edit> = fc.oneof(
    fc.record({ kind: fc.constant("set" as const), at: fc.nat(), byte: fc.oneof(fc.nat(255), value.map((v) => v & 0xff)) }),
    fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
    fc.record({ kind: fc.constantFrom("u16" as const, "u32" as const), at: fc.nat(), value }),
  );
  return fc.tuple(base, fc.array(edit, { maxLength: 4 })).map(([b, edits]) => edits.reduce(applyEdit, b));
}
