/**
 * The WebSocket endpoint: turns HTTP upgrade requests into NATS connections, binary messages
 * carrying the protocol byte stream, as nats-server's websocket listener does.
 *
 * `createNatsUpgradeHandler` listens on nothing: whoever owns the server's one `upgrade` listener
 * decides which requests are the endpoint's (the gateway routes exactly `/nats`) and hands them
 * over. `attachNatsWebSocket` is that listener for a server with nothing else to upgrade.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
// Must come before "ws" (see the file).
import "./ws_masking.ts";
import { WebSocketServer, type ServerOptions, type WebSocket } from "ws";
import { positiveInt } from "./options.ts";
import { WsPreAuthGuard } from "./ws_pre_auth_guard.ts";
import { WsTransport } from "./ws_transport.ts";
import type { NatsServer } from "./server.ts";

export interface NatsUpgradeOptions {
  /** Largest single WebSocket message accepted once authenticated; default max(8 MiB, 4 × max_payload). */
  maxMessageBytes?: number;
  /**
   * Bytes a client may send before it has authenticated, counted on the wire (frame headers
   * included); a frame announcing more closes the connection at once. Default: the server's
   * `preAuthMaxBytes`. No limit once authenticated, or when the server has no authenticator.
   */
  preAuthMaxBytes?: number;
}

/** Where the embedded endpoint serves NATS over WebSocket on the gateway's HTTPS port. */
export const NATS_PATH = "/nats";

export interface NatsWebSocketOptions extends NatsUpgradeOptions {
  /** Request path to handle, exactly, a query string allowed; default NATS_PATH. */
  path?: string;
}

export interface NatsUpgradeHandler {
  /**
   * Takes one upgrade request (the caller has decided it is the endpoint's). A request that is
   * not a valid WebSocket upgrade (wrong method included) is answered 400 and its socket closed.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Takes no more upgrades (they are answered 503); open connections stay until the NATS server closes them. */
  close(): void;
}

/** Anything with Node's HTTP server `upgrade` event (http, https, http2 compat servers). */
export interface UpgradeEmitter {
  on(event: "upgrade", listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown;
  off(event: "upgrade", listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown;
}

export interface NatsWebSocketHandle {
  /** Stops handling upgrades (open connections stay until the NATS server closes them). */
  detach(): void;
}

export function createNatsUpgradeHandler(nats: NatsServer, opts: NatsUpgradeOptions = {}): NatsUpgradeHandler {
  const maxPayload = positiveInt("maxMessageBytes", opts.maxMessageBytes, Math.max(8 * 1024 * 1024, 4 * nats.maxPayload));
  const preAuthMaxBytes = positiveInt("preAuthMaxBytes", opts.preAuthMaxBytes, nats.opts.preAuthMaxBytes, 256);
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    clientTracking: false,
    skipUTF8Validation: true,
    maxPayload,
    // How long ws waits for the peer's close frame after sending its own (30 s by default) — also
    // after the protocol errors it closes for by itself.
    closeTimeout: nats.opts.closeGraceMs,
  } as ServerOptions);
  const log = nats.opts.logger;
  return {
    handleUpgrade(req, socket, head) {
      // ws would answer a wrong method 405; it answers the other malformed handshakes 400 itself
      // (and closes the socket).
      if (req.method !== "GET") return badRequest(socket, "Bad request: a WebSocket upgrade is a GET request");
      const remote = req.socket.remoteAddress ?? "";
      wss.handleUpgrade(req, socket, head, (ws) => {
        const lift = guardUntilAuthenticated(socket, preAuthMaxBytes, () =>
          log.info(`NATS WebSocket client sent more than preAuthMaxBytes (${preAuthMaxBytes}) before authenticating: dropped`, { remote }),
        );
        serveNats(nats, ws, new WsTransport(ws, remote, lift));
      });
    },
    close() {
      wss.close();
    },
  };
}

export function attachNatsWebSocket(httpServer: UpgradeEmitter, nats: NatsServer, opts: NatsWebSocketOptions = {}): NatsWebSocketHandle {
  const path = opts.path ?? NATS_PATH;
  const handler = createNatsUpgradeHandler(nats, opts);
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (isPathOrQuery(req.url, path)) handler.handleUpgrade(req, socket, head);
  };
  httpServer.on("upgrade", onUpgrade);
  return {
    detach() {
      httpServer.off("upgrade", onUpgrade);
      handler.close();
    },
  };
}

/** `url` is exactly `path`, or `path` and a query (`/nats?x`, never `/nats/x` or `/nats#x`). */
function isPathOrQuery(url: string | undefined, path: string): boolean {
  if (url === undefined || !url.startsWith(path)) return false;
  return url.length === path.length || url[path.length] === "?";
}

function serveNats(nats: NatsServer, ws: WebSocket, transport: WsTransport): void {
  const conn = nats.accept(transport);
  if (conn === null) return;
  ws.on("message", (data: Buffer) => conn.receive(data));
  ws.on("close", () => conn.transportClosed());
  ws.on("error", () => conn.transportClosed());
}

/**
 * Drops the socket as soon as the client sends, or a frame header announces, more than `maxBytes`
 * before it has authenticated. Returns the function that lifts the guard.
 */
function guardUntilAuthenticated(socket: Duplex, maxBytes: number, onDrop: () => void): () => void {
  const guard = new WsPreAuthGuard(maxBytes);
  const onData = (chunk: Buffer): void => {
    if (guard.push(chunk)) return;
    socket.off("data", onData);
    onDrop();
    socket.destroy();
  };
  // Ahead of ws's own listener: the chunk that crosses the limit is the last one ws is given.
  socket.prependListener("data", onData);
  return () => socket.off("data", onData);
}

/** Answers an upgrade request 400 with a plain-text message and closes the socket once it is written. */
function badRequest(socket: Duplex, message: string): void {
  socket.on("error", () => socket.destroy());
  socket.once("finish", () => socket.destroy());
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
  );
}
