/**
 * A WebSocket client written by hand over a TCP or TLS socket, for what real clients never do:
 * frames that announce more than they carry, fragments without end, a close frame never answered,
 * upgrade requests that are not valid. Also the client frame encoder the unit tests share.
 */
import { Buffer } from "node:buffer";
import { connect as tcpConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { eventually } from "./eventually.ts";

const MASK = [0x11, 0x22, 0x33, 0x44];

/**
 * A client frame (masked, RFC 6455 §5.2) announcing `declared` payload bytes and carrying
 * `payload` (fewer when a test wants a frame that never ends).
 */
export function clientFrame(opcode: number, payload: Uint8Array, declared = payload.length, fin = true): Uint8Array {
  const head: number[] = [(fin ? 0x80 : 0) | opcode];
  if (declared < 126) head.push(0x80 | declared);
  else if (declared < 0x10000) head.push(0x80 | 126, declared >> 8, declared & 0xff);
  else {
    const hi = Math.floor(declared / 2 ** 32);
    const lo = declared >>> 0;
    head.push(0x80 | 127, hi >>> 24, (hi >> 16) & 0xff, (hi >> 8) & 0xff, hi & 0xff, lo >>> 24, (lo >> 16) & 0xff, (lo >> 8) & 0xff, lo & 0xff);
  }
  head.push(...MASK);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  for (let i = 0; i < payload.length; i++) out[head.length + i] = payload[i]! ^ MASK[i & 3]!;
  return out;
}

/** A binary frame carrying `text` (latin1). */
export function textFrame(text: string): Uint8Array {
  return clientFrame(0x2, new Uint8Array(Buffer.from(text, "latin1")));
}

export interface RawSocket {
  readonly socket: Socket;
  /** Everything received so far (latin1). */
  text(): string;
  /** Resolves with Date.now() when the socket closed. */
  readonly closedAt: Promise<number>;
  /** Writes; false once the socket is gone (a write to a dropped socket is not an error here). */
  write(bytes: Uint8Array | string): boolean;
  /** Resolves once the received text matches, rejects after `ms`. */
  waitFor(re: RegExp, ms?: number): Promise<string>;
}

export interface RawOptions {
  port: number;
  /** PEM to trust: connect over TLS. */
  ca?: string | Buffer;
  /** TLS: the protocols offered by ALPN (default none). */
  alpn?: string[];
}

/** A plain socket to the server (TLS when `ca` is given) recording what it receives. */
export async function rawSocket(opts: RawOptions): Promise<RawSocket> {
  const socket: Socket = opts.ca
    ? tlsConnect({ host: "127.0.0.1", port: opts.port, ca: opts.ca, servername: "localhost", ...(opts.alpn ? { ALPNProtocols: opts.alpn } : {}) })
    : tcpConnect({ host: "127.0.0.1", port: opts.port });
  await new Promise<void>((resolve, reject) => {
    socket.once(opts.ca ? "secureConnect" : "connect", () => resolve());
    socket.once("error", reject);
  });
  let received = "";
  let gone = false;
  socket.on("data", (b: Buffer) => (received += b.toString("latin1")));
  socket.on("error", () => {});
  const closedAt = new Promise<number>((resolve) =>
    socket.once("close", () => {
      gone = true;
      resolve(Date.now());
    }),
  );
  return {
    socket,
    text: () => received,
    closedAt,
    write: (bytes) => !gone && !socket.destroyed && socket.write(bytes) !== undefined,
    async waitFor(re, ms = 5000) {
      await eventually(String(re), () => re.test(received) || gone, { timeoutMs: ms, intervalMs: 5, context: () => `received:\n${received}` });
      if (!re.test(received)) throw new Error(`No ${re} (socket closed); received:\n${received}`);
      return received;
    },
  };
}

/** An upgrade request's text; `headers` replace or (with null) remove the valid defaults. */
export function upgradeRequest(path: string, headers: Record<string, string | null> = {}, method = "GET"): string {
  const all: Record<string, string | null> = {
    Host: "localhost",
    Connection: "Upgrade",
    Upgrade: "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    ...headers,
  };
  const lines = Object.entries(all).filter((e): e is [string, string] => e[1] !== null);
  return `${method} ${path} HTTP/1.1\r\n${lines.map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n`;
}

/** A WebSocket opened by hand: the 101 is in, frames go out with `write`. */
export async function rawWebSocket(opts: RawOptions & { path?: string }): Promise<RawSocket> {
  const s = await rawSocket(opts);
  s.write(upgradeRequest(opts.path ?? "/nats"));
  await s.waitFor(/^HTTP\/1\.1 101 [^]*?\r\n\r\n/);
  return s;
}
