/**
 * Every error the embedded NATS endpoint raises, plus the exact texts nats-server puts on the
 * wire (`-ERR '…'`) and the close reasons it records, so clients see the same strings.
 */

/** `-ERR` texts, verbatim from nats-server (client.go / errors.go). */
export const ERR = {
  unknownOp: "Unknown Protocol Operation",
  authViolation: "Authorization Violation",
  authTimeout: "Authentication Timeout",
  maxPayload: "Maximum Payload Violation",
  maxControlLine: "maximum control line exceeded",
  maxConnections: "maximum connections exceeded",
  maxSubscriptions: "maximum subscriptions exceeded",
  invalidSubject: "Invalid Subject",
  invalidPublishSubject: "Invalid Publish Subject",
  staleConnection: "Stale Connection",
  badProtocol: "invalid client protocol",
  noRespondersNeedsHeaders: "no responders requires headers support",
} as const;

/** Why a connection was closed: nats-server's `ClosedState` strings (monitor.go). */
export const CLOSED = {
  clientClosed: "Client Closed",
  authTimeout: "Authentication Timeout",
  authViolation: "Authentication Failure",
  slowConsumer: "Slow Consumer (Pending Bytes)",
  readError: "Read Error",
  writeError: "Write Error",
  parseError: "Parse Error",
  staleConnection: "Stale Connection",
  protocolViolation: "Protocol Violation",
  badProtocol: "Bad Client Protocol Version",
  maxConnections: "Maximum Connections Exceeded",
  maxPayload: "Maximum Message Payload Exceeded",
  maxControlLine: "Maximum Control Line Exceeded",
  serverShutdown: "Server Shutdown",
  revoked: "Credentials Revoked",
} as const;

export type ClosedReason = (typeof CLOSED)[keyof typeof CLOSED];

/** Go's `%q` for the ASCII-ish strings that appear in subjects (used in `-ERR` texts). */
export function goQuote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += s[i];
  }
  return out + '"';
}

export function pubViolationText(subject: string): string {
  return `Permissions Violation for Publish to ${goQuote(subject)}`;
}

/** A restricted connection named a reply subject it could not itself subscribe to. */
export function replyViolationText(reply: string): string {
  return `Permissions Violation for Publish with Reply of ${goQuote(reply)}`;
}

export function subViolationText(subject: string, queue?: string): string {
  const base = `Permissions Violation for Subscription to ${goQuote(subject)}`;
  return queue === undefined ? base : `${base} using queue ${goQuote(queue)}`;
}

/** A protocol violation found by the parser; `wireText` is what the client is told. */
export class NatsProtocolError extends Error {
  readonly wireText: string;
  readonly closedReason: ClosedReason;
  constructor(message: string, wireText: string = ERR.unknownOp, closedReason: ClosedReason = CLOSED.parseError) {
    super(message);
    this.name = "NatsProtocolError";
    this.wireText = wireText;
    this.closedReason = closedReason;
  }
}

/** A configuration value is out of range; raised once, at construction. */
export class NatsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NatsConfigError";
  }
}

/** The connection was closed by the server (slow consumer, shutdown, stale…). */
export class NatsConnectionClosedError extends Error {
  readonly reason: ClosedReason;
  constructor(reason: ClosedReason, options?: { cause?: unknown }) {
    super(`Connection closed by the NATS endpoint: ${reason}`, options);
    this.name = "NatsConnectionClosedError";
    this.reason = reason;
  }
}

/** The authenticator hook threw; the client only sees `Authorization Violation`. */
export class NatsAuthenticatorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NatsAuthenticatorError";
  }
}
