/** How bench-scale's rows print: goal columns (reported, never asserted) and small statistics. */

/** `(goal ≤ X: met)` or `(goal ≤ X: MISSED)`. */
export const goalCol = (met: boolean, goal: string) => `(goal ${goal}: ${met ? "met" : "MISSED"})`;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}
