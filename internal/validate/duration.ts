/**
 * Durations written as a number and a unit (`250ms`, `1.5s`, `45m`, `12h`, `30d`). Each caller says
 * which units, fractions and bare numbers it accepts; the grammar and the unit sizes live only here.
 */
export type DurationUnit = "ms" | "s" | "m" | "h" | "d";

const UNIT_MS: Record<DurationUnit, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

export interface DurationOptions {
  /** The units accepted; all by default. */
  units?: readonly DurationUnit[];
  /** Whether `1.5h` is accepted; by default it is. */
  fractions?: boolean;
  /** Whether a bare integer is accepted, as milliseconds; by default it is not. */
  bareMilliseconds?: boolean;
}

/** `raw` in milliseconds (rounded), or undefined when it is not such a duration. */
export function parseDuration(raw: string, opts: DurationOptions = {}): number | undefined {
  if (opts.bareMilliseconds && /^\d+$/.test(raw)) return Number(raw);
  const m = DURATION.exec(raw);
  if (!m) return undefined;
  const unit = m[2] as DurationUnit;
  if (opts.units && !opts.units.includes(unit)) return undefined;
  if (opts.fractions === false && m[1]!.includes(".")) return undefined;
  return Math.round(Number(m[1]) * UNIT_MS[unit]);
}
