/**
 * The gateway's V8 heap and external memory from its Prometheus `/metrics` (prom-client's default
 * process metrics; the gateway serves them with `--metrics-listen`): splits a per-watch RSS figure
 * into what JavaScript objects hold and the rest (sockets, TLS state, allocator).
 */
import type { Ward } from "../../test/helpers/ward.ts";

export const METRICS_ARGS = ["--metrics-listen", "127.0.0.1:0"];

export interface HeapFigures {
  heapUsedKiB: number;
  externalKiB: number;
}

export type HeapReader = () => Promise<HeapFigures>;

/** A reader for a gateway started with METRICS_ARGS. */
export async function gatewayHeapReader(w: Ward): Promise<HeapReader> {
  const url = (await w.gateway.waitFor(/"metrics listening".*?"url":"(http:[^"]+)"/, 10_000))[1]!;
  return async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    const get = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN) / 1024;
    return { heapUsedKiB: Math.round(get("nodejs_heap_size_used_bytes")), externalKiB: Math.round(get("nodejs_external_memory_bytes")) };
  };
}
