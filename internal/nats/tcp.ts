/**
 * Optional plain TCP listener for NATS tools (`nats` CLI, nats-bench): the same protocol over a
 * raw socket. Loopback by default.
 */
import { createServer, type Socket } from "node:net";
import type { ClosedReason } from "./errors.ts";
import type { NatsServer } from "./server.ts";
import type { Transport } from "./transport.ts";

export interface NatsTcpOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
}

export interface NatsTcpListener {
  readonly port: number;
  close(): Promise<void>;
}

class TcpTransport implements Transport {
  readonly #socket: Socket;
  readonly remoteAddress: string;

  constructor(socket: Socket) {
    this.#socket = socket;
    this.remoteAddress = socket.remoteAddress ?? "";
  }

  send(chunk: Uint8Array): void {
    this.#socket.write(chunk);
  }

  cork(): void {
    this.#socket.cork();
  }

  uncork(): void {
    this.#socket.uncork();
  }

  get bufferedAmount(): number {
    return this.#socket.writableLength;
  }

  close(_reason: ClosedReason): void {
    this.#socket.resume();
    this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }
}

export function listenNatsTcp(nats: NatsServer, opts: NatsTcpOptions = {}): Promise<NatsTcpListener> {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    const conn = nats.accept(new TcpTransport(socket));
    if (conn === null) return;
    socket.on("data", (data: Buffer) => conn.receive(data));
    socket.on("close", () => conn.transportClosed());
    socket.on("error", () => conn.transportClosed());
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      const addr = server.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      resolve({
        port,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}
