/**
 * The small requests: `n` loops, each GETting one small ConfigMap again and again, half over
 * HTTP/1.1 (a keep-alive socket each, bench-proxy's client) and half over the HTTP/2 sessions the
 * watches also use, spread over the gateways. Each answer must be a 200 carrying the object.
 */
import { performance } from "node:perf_hooks";
import { req, type Target } from "../bench-proxy/client.ts";
import type { H2Pool } from "./h2_pool.ts";
import { errorLabel, type LoadStats } from "./stats.ts";

export interface SmallSide { target: Target; pool: H2Pool }

export async function smallLoops(sides: SmallSide[], n: number, path: string, stats: LoadStats, until: () => boolean): Promise<void> {
  await Promise.all(Array.from({ length: n }, async (_, i) => {
    const side = sides[i % sides.length]!;
    const h2 = Math.floor(i / sides.length) % 2 === 1;
    const proto = h2 ? "h2" : "http1";
    while (!until()) {
      const t0 = performance.now();
      try {
        const r = h2 ? await side.pool.get(path, side.target.token) : await req(side.target, "GET", path);
        const ms = performance.now() - t0;
        if (r.status !== 200) stats.error(`small ${proto}: ${r.status}`, r.text);
        else if (!r.text.includes('"kind":"ConfigMap"')) stats.error(`small ${proto}: not the object`, r.text);
        else {
          stats.latencyMs(ms);
          stats.add("small");
        }
      } catch (err) {
        stats.error(`small ${proto}: ${errorLabel(err)}`, (err as Error).message);
        await new Promise((r) => setTimeout(r, 100)); // no busy loop on a dead socket
      }
    }
  }));
}
