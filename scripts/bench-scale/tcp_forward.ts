/**
 * A loopback TCP forwarder in front of the gateway, for one simulated agent's connection, so the
 * benchmark can fail the network under it the two ways an agent vanishes:
 *   - `cut()`: both sockets reset at once (RST), as when the agent's host or pod dies;
 *   - `blackhole()`: the connection stays open but no byte passes either way any more, as when a
 *     link or a NAT silently drops it: no heartbeat arrives and nothing says goodbye.
 * Either way the forwarder stops accepting: the agent's NATS client redials once even with
 * `maxReconnectAttempts: 0` (nats-core counts attempts after the first), and a host that is gone
 * does not answer. TLS passes through untouched (the agent still verifies the gateway's certificate).
 */
import net from "node:net";

export interface Forwarder {
  /** The local port to dial instead of the gateway's. */
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  cut(): void;
  blackhole(): void;
  close(): Promise<void>;
}

export async function startForwarder(target: { host: string; port: number }): Promise<Forwarder> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(target.port, target.host);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get accepted() {
      return accepted;
    },
    cut() {
      server.close();
      for (const [a, b] of pairs) {
        a.resetAndDestroy();
        b.resetAndDestroy();
      }
      pairs.clear();
    },
    blackhole() {
      server.close();
      for (const [a, b] of pairs) {
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
      }
    },
    async close() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
      if (server.listening) await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
