/**
 * What the attack suites share: raw HTTP/1.1 exchanges over TLS (bytes sent exactly as written), a
 * raw HTTP/2 client that writes frames by hand (pseudo-headers, connection-specific headers, floods
 * that Node's own client refuses to send), plain HTTP/2 requests, tokens signed with the gateway's
 * own key (claims the gateway never mints), and the gateway's resident memory.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect as h2connect } from "node:http2";
import { join } from "node:path";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import Database from "better-sqlite3";
import { importJWK, SignJWT, type JWK } from "jose";
import { eventually } from "../helpers/eventually.ts";
import type { KubeEnv } from "../helpers/kube-env.ts";
import { kubectl } from "../helpers/kubectl.ts";
import type { Ward } from "../helpers/ward.ts";

/** A TLS connection to the gateway speaking HTTP/1.1 (ALPN), recording what it receives. */
export interface RawConn {
  socket: TLSSocket;
  text(): string;
  closed: boolean;
  /** Resolves with Date.now() when the server closed. */
  closedAt: Promise<number>;
  write(data: string | Uint8Array): void;
  /** Resolves once the received text matches, rejects after `ms`. */
  waitFor(re: RegExp, ms?: number): Promise<string>;
}

export async function rawConn(w: Ward, alpn: string[] = ["http/1.1"]): Promise<RawConn> {
  const u = new URL(w.url);
  const socket = tlsConnect({ host: u.hostname, port: Number(u.port), ca: w.ca, servername: "localhost", ALPNProtocols: alpn });
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", resolve);
    socket.once("error", reject);
  });
  let received = "";
  socket.on("data", (c: Buffer) => (received += c.toString("latin1")));
  socket.on("error", () => {});
  const conn: RawConn = {
    socket,
    text: () => received,
    closed: false,
    closedAt: new Promise((resolve) => socket.once("close", () => ((conn.closed = true), resolve(Date.now())))),
    write: (d) => void (!socket.destroyed && socket.write(d)),
    async waitFor(re, ms = 10_000) {
      await eventually(String(re), () => re.test(received) || conn.closed, { timeoutMs: ms, intervalMs: 5, context: () => received.slice(0, 2000) });
      if (!re.test(received)) throw new Error(`No ${re} before the server closed; received:\n${received.slice(0, 2000)}`);
      return received;
    },
  };
  return conn;
}

/**
 * Writes `data` on a new HTTP/1.1 connection and collects what comes back: until the server closes,
 * or nothing more arrived for `quietMs` after at least one complete response, or `ms` passed.
 */
export async function rawExchange(w: Ward, data: string | Uint8Array, ms = 10_000, quietMs = 100): Promise<{ text: string; closed: boolean }> {
  const c = await rawConn(w);
  c.write(data);
  let last = Date.now();
  let seen = 0;
  const deadline = Date.now() + ms;
  while (!c.closed && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    if (c.text().length !== seen) (seen = c.text().length), (last = Date.now());
    else if (complete(c.text()) && Date.now() - last >= quietMs) break;
  }
  await new Promise((r) => setImmediate(r));
  const closed = c.closed;
  c.socket.destroy();
  return { text: c.text(), closed };
}

/** Whether the text ends with a complete response (Content-Length framed, or a 101). */
function complete(text: string): boolean {
  const rs = responses(text);
  if (rs.length === 0) return false;
  const lastR = rs[rs.length - 1]!;
  if (lastR.status === 101) return true;
  const len = Number(/^content-length:\s*(\d+)/im.exec(lastR.head)?.[1] ?? NaN);
  return Number.isNaN(len) ? /\r\n0\r\n\r\n$/.test(text) : lastR.body.length === len;
}

/** The HTTP/1.1 responses in a received text: status codes and their bodies (Content-Length framed). */
export function responses(text: string): { status: number; head: string; body: string }[] {
  const out: { status: number; head: string; body: string }[] = [];
  let rest = text;
  for (;;) {
    const m = /^HTTP\/1\.[01] (\d{3})[^\r]*\r\n([^]*?)\r\n\r\n/.exec(rest);
    if (!m) return out;
    const len = Number(/^content-length:\s*(\d+)/im.exec(m[2]!)?.[1] ?? 0);
    const body = rest.slice(m[0].length, m[0].length + len);
    out.push({ status: Number(m[1]), head: m[2]!, body });
    if (Number(m[1]) === 101) return out; // the rest is the upgraded protocol's
    rest = rest.slice(m[0].length + len);
  }
}

/** Parses a Kubernetes Status body (asserting it is one) with the expected code. */
export function assertStatus(body: string, code: number, what: string): { message: string; reason: string } {
  let s: { kind?: string; code?: number; message?: string; reason?: string };
  try {
    s = JSON.parse(body);
  } catch {
    assert.fail(`${what}: not a Status: ${body.slice(0, 300)}`);
  }
  assert.equal(s.kind, "Status", `${what}: ${body.slice(0, 300)}`);
  assert.equal(s.code, code, `${what}: ${body.slice(0, 300)}`);
  assert.ok(s.message, `${what}: a Status without a message`);
  return { message: s.message!, reason: s.reason! };
}

/** One HTTP/1.1 request head (and body) as text; `headers` are raw lines "Name: value". */
export function http1(method: string, path: string, headers: string[], body = ""): string {
  return `${method} ${path} HTTP/1.1\r\nHost: localhost\r\n${headers.map((h) => h + "\r\n").join("")}\r\n${body}`;
}

export interface H2Response {
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

/** One request over Node's HTTP/2 client (a fresh session). */
export async function h2Request(w: Ward, headers: Record<string, string | string[]>, body?: string): Promise<H2Response> {
  const session = h2connect(w.url, { ca: w.ca, servername: "localhost" });
  session.on("error", () => {});
  try {
    return await new Promise<H2Response>((resolve, reject) => {
      const req = session.request(headers, { endStream: body === undefined });
      let text = "";
      let head: Record<string, unknown> = {};
      req.on("response", (h) => (head = h));
      req.on("data", (c: Buffer) => (text += c.toString()));
      req.on("end", () => resolve({ status: Number(head[":status"]), headers: head, body: text }));
      req.on("error", reject);
      if (body !== undefined) req.end(body);
    });
  } finally {
    session.close();
  }
}

// ---- A raw HTTP/2 client: frames written by hand, HPACK literals without indexing or Huffman. ----

export const H2 = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const H2_FLAGS = { END_STREAM: 1, ACK: 1, END_HEADERS: 4 } as const;

function hpackInt(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

/** A header block of literal fields without indexing (RFC 7541 §6.2.2), names and values as given. */
export function hpackBlock(fields: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    const n = Buffer.from(name, "latin1");
    const v = Buffer.from(value, "latin1");
    parts.push(Buffer.from([0x00, ...hpackInt(n.length, 7, 0)]), n, Buffer.from(hpackInt(v.length, 7, 0)), v);
  }
  return Buffer.concat(parts);
}

export function h2Frame(type: number, flags: number, stream: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

export interface RawH2Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

export interface RawH2 {
  socket: TLSSocket;
  frames: RawH2Frame[];
  closed: boolean;
  closedAt: Promise<number>;
  write(b: Uint8Array): boolean;
  headers(stream: number, fields: [string, string][], endStream?: boolean): void;
  /** The error code of the stream's RST_STREAM, the GOAWAY's when the session went away, or undefined. */
  resetCode(stream: number): number | undefined;
  goaway(): { lastStream: number; code: number } | undefined;
  /** Whether the server sent a HEADERS frame on the stream (a response). */
  answered(stream: number): boolean;
}

/** A raw HTTP/2 session: preface and an empty SETTINGS sent; server SETTINGS are acknowledged unless `ackSettings` is false. */
export async function rawH2(w: Ward, opts: { ackSettings?: boolean; read?: boolean } = {}): Promise<RawH2> {
  const u = new URL(w.url);
  const socket = tlsConnect({ host: u.hostname, port: Number(u.port), ca: w.ca, servername: "localhost", ALPNProtocols: ["h2"] });
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", resolve);
    socket.once("error", reject);
  });
  assert.equal(socket.alpnProtocol, "h2");
  socket.on("error", () => {});
  const frames: RawH2Frame[] = [];
  let buf = Buffer.alloc(0);
  const h: RawH2 = {
    socket, frames, closed: false,
    closedAt: new Promise((resolve) => socket.once("close", () => ((h.closed = true), resolve(Date.now())))),
    write: (b) => !socket.destroyed && socket.write(b),
    headers(stream, fields, endStream = true) {
      h.write(h2Frame(H2.HEADERS, H2_FLAGS.END_HEADERS | (endStream ? H2_FLAGS.END_STREAM : 0), stream, hpackBlock(fields)));
    },
    resetCode(stream) {
      const rst = frames.find((f) => f.type === H2.RST_STREAM && f.stream === stream);
      if (rst) return rst.payload.readUInt32BE(0);
      const g = h.goaway();
      return g && stream > g.lastStream ? g.code : undefined;
    },
    goaway() {
      const g = frames.find((f) => f.type === H2.GOAWAY);
      return g ? { lastStream: g.payload.readUInt32BE(0) & 0x7fffffff, code: g.payload.readUInt32BE(4) } : undefined;
    },
    answered: (stream) => frames.some((f) => f.type === H2.HEADERS && f.stream === stream),
  };
  if (opts.read !== false) {
    socket.on("data", (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const f = { type: buf[3]!, flags: buf[4]!, stream: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) };
        buf = buf.subarray(9 + len);
        if (frames.length < 100_000) frames.push(f);
        if (f.type === H2.SETTINGS && !(f.flags & H2_FLAGS.ACK) && opts.ackSettings !== false) h.write(h2Frame(H2.SETTINGS, H2_FLAGS.ACK, 0));
      }
    });
  } else {
    socket.pause();
  }
  h.write(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"), h2Frame(H2.SETTINGS, 0, 0)]));
  return h;
}

/** HPACK's Huffman codes of the ten digits (RFC 7541 Appendix B), enough to read a `:status`. */
const HUFFMAN_DIGITS: [string, number, number][] = [
  ["0", 0b00000, 5], ["1", 0b00001, 5], ["2", 0b00010, 5], ["3", 0b011001, 6], ["4", 0b011010, 6],
  ["5", 0b011011, 6], ["6", 0b011100, 6], ["7", 0b011101, 6], ["8", 0b011110, 6], ["9", 0b011111, 6],
];
const STATIC_STATUS: Record<number, number> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };

function huffmanDigits(b: Buffer): string {
  let bits = "";
  for (const x of b) bits += x.toString(2).padStart(8, "0");
  let out = "";
  let i = 0;
  for (;;) {
    const d = HUFFMAN_DIGITS.find(([, code, n]) => bits.slice(i, i + n) === code.toString(2).padStart(n, "0"));
    if (!d) return out; // the rest is EOS padding
    out += d[0];
    i += d[2];
  }
}

/**
 * The `:status` of the server's response on a stream of a raw session: the first field of its first
 * HEADERS block (an indexed static entry, or a literal with the static name, Huffman or not).
 */
export function h2Status(h: RawH2, stream: number): number | undefined {
  const f = h.frames.find((x) => x.type === H2.HEADERS && x.stream === stream);
  if (!f) return undefined;
  let i = 0;
  const p = f.payload;
  while ((p[i]! & 0xe0) === 0x20) i++; // a dynamic table size update
  const b = p[i]!;
  if (b & 0x80) return STATIC_STATUS[b & 0x7f];
  const name = (b & 0xc0) === 0x40 ? b & 0x3f : b & 0x0f;
  assert.equal(name, 8, "the first field is not :status");
  const v = p[i + 1]!;
  const raw = p.subarray(i + 2, i + 2 + (v & 0x7f));
  return Number(v & 0x80 ? huffmanDigits(raw) : raw.toString("latin1"));
}

/** The DATA the server sent on a stream so far. */
export function h2Body(h: RawH2, stream: number): string {
  return Buffer.concat(h.frames.filter((f) => f.type === H2.DATA && f.stream === stream).map((f) => f.payload)).toString();
}

/** Whether the server ended the stream (END_STREAM on its HEADERS or DATA, a reset, or the session gone). */
export function h2Done(h: RawH2, stream: number): boolean {
  return h.closed || h.resetCode(stream) !== undefined || h.frames.some((f) => f.stream === stream && (f.type === H2.DATA || f.type === H2.HEADERS) && (f.flags & H2_FLAGS.END_STREAM) !== 0);
}

/** A DATA frame. */
export function h2Data(stream: number, data: Uint8Array, end: boolean): Buffer {
  return h2Frame(H2.DATA, end ? H2_FLAGS.END_STREAM : 0, stream, data);
}

/** The pseudo-headers of a plain request. */
export function h2Pseudo(method: string, path: string): [string, string][] {
  return [[":method", method], [":scheme", "https"], [":authority", "localhost"], [":path", path]];
}

// ---- Tokens with chosen claims, signed with the gateway's own key (read from its store). ----

export interface ForgeKit {
  kid: string;
  publicJwk: JWK;
  /** A JWT with `claims` (merged over valid defaults), signed EdDSA with the gateway's key. */
  sign(claims: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
}

export async function gatewayKey(w: Ward): Promise<ForgeKit> {
  const db = new Database(join(w.dir, "gw", "ward.db"), { readonly: true, fileMustExist: true });
  let row: { kid: string; private_jwk: string; public_jwk: string };
  try {
    row = db.prepare("SELECT kid, private_jwk, public_jwk FROM signing_keys ORDER BY created_at DESC LIMIT 1").get() as typeof row;
  } finally {
    db.close();
  }
  const key = await importJWK(JSON.parse(row.private_jwk) as JWK, "EdDSA");
  return {
    kid: row.kid,
    publicJwk: JSON.parse(row.public_jwk) as JWK,
    async sign(claims, header = {}) {
      const now = Math.floor(Date.now() / 1000);
      const all: Record<string, unknown> = { iss: "ward", iat: now, nbf: now, exp: now + 600, ...claims };
      for (const [k, v] of Object.entries(all)) if (v === undefined) delete all[k];
      return new SignJWT(all).setProtectedHeader({ alg: "EdDSA", kid: row.kid, typ: "JWT", ...header }).sign(key);
    },
  };
}

/** The claims of a JWT (no verification). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
}

// ---- The gateway process and the API server's own view. ----

/** The gateway's resident set in MiB. */
export function rssMiB(w: Ward, field: "VmRSS" | "VmHWM" = "VmRSS"): number {
  const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${w.gateway.child.pid}/status`, "utf8"));
  assert.ok(m, `no ${field} for the gateway`);
  return Number(m[1]) / 1024;
}

/** Whether a ConfigMap exists, asked of the API server directly (the kube-env admin). */
export async function configMapExists(kube: KubeEnv, ns: string, name: string): Promise<boolean> {
  const r = await kubectl({ kubectl: kube.kubectl.newest, kubeconfig: kube.kubeconfig }, ["get", "configmap", name, "-n", ns, "-o", "name", "--ignore-not-found"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim() !== "";
}

/**
 * A request that creates ConfigMap `name`: the marker a smuggled request would leave behind. `prefix`
 * is the proxy path (`/api/v1/clusters/C/k8s`, a request to the gateway) or "" (one meant for the API server).
 */
export function markerRequest(prefix: string, ns: string, name: string, token: string): string {
  const body = JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name } });
  return http1("POST", `${prefix}/api/v1/namespaces/${ns}/configmaps`, [
    `Authorization: Bearer ${token}`, "Content-Type: application/json", `Content-Length: ${Buffer.byteLength(body)}`,
  ], body);
}
