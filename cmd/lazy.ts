/**
 * Loads one part of the executable: the gateway, the agent, or the client commands that need more
 * than Node built-ins. In development this is a plain dynamic import; the single-executable build
 * swaps in `_lazy_sea.ts`, which compiles the part from its own SEA asset on demand. So
 * `ward --version` and the exec credential plugin never parse server code, and each role holds only
 * its own code in memory (the source of every function stays in V8's heap for the process's life).
 */
export interface Parts {
  gateway: typeof import("./gateway.ts");
  agent: typeof import("./agent.ts");
  client: typeof import("./client.ts");
}
export type Part = keyof Parts;
export const PARTS: readonly Part[] = ["gateway", "agent", "client"];

export function loadPart<P extends Part>(part: P): Promise<Parts[P]> {
  const load: { [K in Part]: () => Promise<Parts[K]> } = {
    gateway: () => import("./gateway.ts"),
    agent: () => import("./agent.ts"),
    client: () => import("./client.ts"),
  };
  return load[part]() as Promise<Parts[P]>;
}
