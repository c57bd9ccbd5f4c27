/** Table and JSON output for client commands. */

export type OutputFormat = "table" | "json";

export function parseOutput(v: unknown): OutputFormat | undefined {
  if (v === undefined || v === "table" || v === "wide") return "table";
  if (v === "json") return "json";
  return undefined;
}

/** Left-aligned columns separated by three spaces, like kubectl's tables. */
export function table(headers: string[], rows: string[][]): string {
  if (!rows.length) return "";
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("   ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

/** "in 59m", "3h ago", "-" — for expiry columns. */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "-";
  const d = Date.parse(iso) - now;
  const a = Math.abs(d);
  const s = a < 90_000 ? `${Math.round(a / 1000)}s` : a < 5_400_000 ? `${Math.round(a / 60_000)}m` : a < 172_800_000 ? `${Math.round(a / 3_600_000)}h` : `${Math.round(a / 86_400_000)}d`;
  return d >= 0 ? `in ${s}` : `${s} ago`;
}
