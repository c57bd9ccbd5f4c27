/**
 * Tunnel test helpers, shared by the tunnel's unit tests (in-memory bus), the proxy's unit tests and
 * the tunnel integration tests (real transports): a started gateway + agent pair, an echoing
 * handler, stream readers and deterministic payloads.
 */
import type { Bus } from "../../internal/bus/index.ts";
import { TunnelAgent, TunnelGateway, type AgentOptions, type GatewayOptions, type StreamHandler, type TunnelStream } from "../../internal/tunnel/index.ts";
import { eventually } from "./eventually.ts";

export interface Pair {
  gateway: TunnelGateway;
  agent: TunnelAgent;
  close(): Promise<void>;
}

/** Starts a gateway on `gwBus` and an agent for `cluster` on `agentBus`, and waits until the gateway sees it. */
export async function startPair(
  gwBus: Bus,
  agentBus: Bus,
  handler: StreamHandler,
  opts: { cluster?: string; gateway?: GatewayOptions; agent?: Partial<AgentOptions> } = {},
): Promise<Pair> {
  const cluster = opts.cluster ?? "c1";
  const gateway = await TunnelGateway.start(gwBus, opts.gateway);
  const agent = new TunnelAgent(agentBus, { cluster, ...opts.agent });
  await agent.serve(handler);
  await eventually("agent presence", () => gateway.isOnline(cluster), { intervalMs: 2 });
  return {
    gateway,
    agent,
    async close() {
      await agent.close();
      await gateway.close();
    },
  };
}

export async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function closed(s: TunnelStream): Promise<void> {
  if (!s.closed) await new Promise((r) => s.once("close", r));
}

/** Resolves with the error the stream fails with (rejects if it closes cleanly). */
export function errorOf(s: TunnelStream): Promise<Error> {
  return new Promise((resolve, reject) => {
    s.once("error", resolve);
    s.once("close", () => setImmediate(() => reject(new Error(`Stream ${s.id} closed without error`))));
  });
}

/** An agent handler: answers 200 and echoes the request body, or the path's behaviour for tests. */
export const echoHandler: StreamHandler = (s) => {
  s.on("error", () => {});
  s.respond({ status: 200, headers: ["x-path", s.request.path, "x-method", s.request.method] });
  s.pipe(s);
};

/** Deterministic pseudo-random bytes: the same seed and offset always give the same byte. */
export function patternBytes(seed: number, offset: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = ((offset + i) * 31 + seed * 17 + ((offset + i) >> 8)) & 0xff;
  return b;
}
