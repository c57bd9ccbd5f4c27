/**
 * Loads the heavy half of the executable. In development this is a plain dynamic import; the
 * single-executable build swaps in `_lazy_sea.ts`, which compiles it from an SEA asset on demand,
 * so `ward --version` and the exec credential plugin never parse the server code.
 */
export type Heavy = typeof import("./heavy.ts");

export function loadHeavy(): Promise<Heavy> {
  return import("./heavy.ts");
}
