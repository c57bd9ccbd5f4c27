/**
 * A fuzz target: a name and the fast-check properties that state what its code promises. Every
 * property runs twice over: briefly in `npm test`'s unit stage (`internal/fuzz.test.ts`, `quickRuns`
 * each) and for as long as asked in `scripts/fuzz.ts`, which replays a failure from its seed and path.
 */
import fc from "fast-check";

export interface FuzzProperty {
  name: string;
  /** Runs in the unit stage's short run; together they stay well under a few seconds per target. */
  quickRuns: number;
  /** One fast-check run of the property (`seed`, `numRuns`, `path` as in `fc.check`). */
  check(params: fc.Parameters<unknown>): Promise<fc.RunDetails<unknown>>;
}

export interface FuzzTarget {
  /** The `--target` name: lower case and `-`. */
  name: string;
  /** What is fuzzed, one line. */
  what: string;
  properties: readonly FuzzProperty[];
}

/** Wraps a sync or async property so the runners need not know its value type. */
export function fuzzProperty<Ts>(name: string, quickRuns: number, property: fc.IRawProperty<Ts>): FuzzProperty {
  return {
    name,
    quickRuns,
    check: async (params) => (await fc.check(property, { includeErrorInReport: true, ...params } as fc.Parameters<Ts>)) as fc.RunDetails<unknown>,
  };
}
