import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { connect as h2connect, createSecureServer, type ClientHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { silentLogger } from "../log/index.ts";
import type { EdgeResponse } from "../proxy/index.ts";
import { startGateway } from "./gateway.ts";
import { boundSession, createListener, H2_MAX_CONCURRENT_STREAMS, type GatewayServer } from "./listener.ts";

let dir: string;
let tls: { cert: Buffer; key: Buffer };
let server: GatewayServer;
let port: number;
const seen: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "ward-listener-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=DNS:localhost", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });
  tls = { cert: readFileSync(join(dir, "cert.pem")), key: readFileSync(join(dir, "key.pem")) };
  server = createListener({
    tls,
    request: (req, res: EdgeResponse) => {
      seen.push(`request ${req.httpVersion} ${req.url}`);
      res.writeHead(200, ["Warning", "299 - one", "Warning", "299 - two", "Content-Type", "text/plain"]);
      res.end("ok");
    },
    upgrade: (req, socket) => {
      seen.push(`upgrade ${req.httpVersion} ${req.url}`);
      socket.end("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    },
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

const h2 = () => h2connect(`https://localhost:${port}`, { ca: tls.cert, host: "127.0.0.1" } as never);

function get(session: ClientHttp2Session, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; rst: number }> {
  return new Promise((resolve) => {
    const req = session.request({ ":path": "/x", ...headers });
    let status = 0;
    let head: Record<string, unknown> = {};
    req.on("response", (h) => ((status = Number(h[":status"])), (head = h)));
    req.on("error", () => {});
    req.resume();
    req.on("close", () => resolve({ status, headers: head, rst: req.rstCode ?? 0 }));
  });
}

test("TLS: HTTP/2 for clients that ask by ALPN, with kube-apiserver's stream limit; HTTP/1.1 requests and upgrades beside it", async () => {
  seen.length = 0;
  const session = h2();
  const [settings] = await once(session, "remoteSettings");
  assert.equal(session.alpnProtocol, "h2");
  assert.equal(settings.maxConcurrentStreams, H2_MAX_CONCURRENT_STREAMS);
  assert.equal(settings.maxHeaderListSize, 16 * 1024);
  assert.equal(settings.enableConnectProtocol, false);
  const r = await get(session, {});
  assert.equal(r.status, 200);
  assert.deepEqual(r.headers["warning"], "299 - one, 299 - two");
  session.close();

  const h1 = await new Promise<{ alpn: string | false | null; status: number }>((resolve, reject) => {
    httpsRequest({ host: "127.0.0.1", port, path: "/y", ca: tls.cert, servername: "localhost", ALPNProtocols: ["http/1.1"] } as never, (res) => {
      res.resume();
      resolve({ alpn: (res.socket as TLSSocket).alpnProtocol, status: res.statusCode ?? 0 });
    }).on("error", reject).end();
  });
  assert.deepEqual(h1, { alpn: "http/1.1", status: 200 });

  // Go's WebSocket and SPDY dialers offer http/1.1 only.
  const s = tlsConnect({ host: "127.0.0.1", port, ca: tls.cert, servername: "localhost", ALPNProtocols: ["http/1.1"] });
  await once(s, "secureConnect");
  assert.equal(s.alpnProtocol, "http/1.1");
  s.end("GET /exec HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  let text = "";
  for await (const c of s) text += c;
  assert.match(text, /^HTTP\/1\.1 101 /);
  assert.deepEqual(seen, ["request 2.0 /x", "request 1.1 /y", "upgrade 1.1 /exec"]);
});

/** An HPACK string length: a 7-bit prefix integer (RFC 7541 §5.1), no Huffman coding. */
function hpackLength(n: number): Buffer {
  if (n < 127) return Buffer.from([n]);
  const out = [127];
  for (n -= 127; n >= 128; n >>= 7) out.push((n & 127) | 128);
  out.push(n);
  return Buffer.from(out);
}

/** An HPACK literal header field without indexing, new name. */
function literal(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0]), hpackLength(name.length), Buffer.from(name), hpackLength(value.length), Buffer.from(value)]);
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

/** Sends one HTTP/2 request with these extra header fields as raw frames; the RST_STREAM code it got, or null. */
async function rawH2(extra: [string, string][]): Promise<number | null> {
  const s = tlsConnect({ host: "127.0.0.1", port, ca: tls.cert, servername: "localhost", ALPNProtocols: ["h2"] });
  await once(s, "secureConnect");
  const block = Buffer.concat([[":method", "GET"], [":scheme", "https"], [":path", "/exec"], [":authority", "localhost"], ...extra].map(([n, v]) => literal(n!, v!)));
  // HEADERS (END_STREAM), then CONTINUATION frames of at most the default 16 KiB frame size; the last ends the headers.
  const parts = [];
  for (let o = 0; o < block.length || o === 0; o += 16384) parts.push(block.subarray(o, o + 16384));
  const frames = parts.map((p, i) => frame(i === 0 ? 1 : 9, (i === 0 ? 0x1 : 0) | (i === parts.length - 1 ? 0x4 : 0), 1, p));
  s.on("error", () => {});
  // The server's SETTINGS (its 16 KiB header list) take effect once acknowledged, as a client must.
  s.write(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), frame(4, 0, 0, Buffer.alloc(0))]));
  await once(s, "readable");
  s.write(Buffer.concat([frame(4, 1, 0, Buffer.alloc(0)), ...frames]));
  let got = Buffer.alloc(0);
  for await (const chunk of s as AsyncIterable<Buffer>) {
    got = Buffer.concat([got, chunk]);
    for (let o = 0; o + 9 <= got.length; o += 9 + got.readUIntBE(o, 3)) {
      const type = got[o + 3];
      const stream = got.readUInt32BE(o + 5);
      if (stream !== 1 || o + 13 > got.length) continue;
      s.destroy();
      return type === 3 ? got.readUInt32BE(o + 9) : null;
    }
  }
  throw new Error(`The connection closed without an answer on the stream: ${got.toString("hex")}`);
}

test("an HTTP/2 request carrying upgrade headers is not an upgrade: its stream is reset (PROTOCOL_ERROR) before any listener sees it", async () => {
  seen.length = 0;
  const PROTOCOL_ERROR = 1;
  for (const extra of [[["upgrade", "websocket"]], [["connection", "upgrade"], ["upgrade", "websocket"]], [["upgrade", "spdy/3.1"]], [[":protocol", "websocket"]], [["transfer-encoding", "chunked"]]] as [string, string][][]) {
    assert.equal(await rawH2(extra), PROTOCOL_ERROR, JSON.stringify(extra));
  }
  assert.equal(await rawH2([["sec-websocket-version", "13"]]), null, "a plain request gets an answer");
  assert.deepEqual(seen, ["request 2.0 /exec"]);
});

test("a request head past 16 KiB is refused on both protocols", async () => {
  seen.length = 0;
  // Node's client would refuse to send it (the server's SETTINGS say 16 KiB): raw frames do.
  const ENHANCE_YOUR_CALM = 11;
  assert.equal(await rawH2([["x-big", "a".repeat(17 * 1024)]]), ENHANCE_YOUR_CALM);
  assert.deepEqual(seen, []);
  const status = await new Promise<number>((resolve, reject) => {
    httpsRequest({ host: "127.0.0.1", port, path: "/", ca: tls.cert, servername: "localhost", headers: { "x-big": "a".repeat(17 * 1024) } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on("error", reject).end();
  });
  assert.equal(status, 431);
});

test("an HTTP/2 session gets GOAWAY when it opens no stream in time, or has none open for the idle time; an open stream keeps it", async () => {
  const quiet = createSecureServer({ ...tls }, (req, res) => {
    res.writeHead(200); // sends the head (HTTP/2)
    if (req.url !== "/watch") res.end();
  });
  quiet.on("session", (s) => boundSession(s, { firstStreamMs: 150, idleMs: 300 }));
  quiet.listen(0, "127.0.0.1");
  await once(quiet, "listening");
  const url = `https://localhost:${(quiet.address() as AddressInfo).port}`;
  try {
    const t0 = Date.now();
    const silent = h2connect(url, { ca: tls.cert, host: "127.0.0.1" } as never);
    await once(silent, "goaway");
    assert.ok(Date.now() - t0 >= 140, `GOAWAY after ${Date.now() - t0} ms`);

    const watching = h2connect(url, { ca: tls.cert, host: "127.0.0.1" } as never);
    let away = 0;
    watching.on("goaway", () => (away = Date.now()));
    const watch = watching.request({ ":path": "/watch" });
    await once(watch, "response");
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(away, 0, "a session with an open (quiet) stream stays");
    const ended = Date.now();
    watch.close();
    await once(watching, "goaway");
    assert.ok(away - ended >= 280, `GOAWAY ${away - ended} ms after its last stream ended`);
  } finally {
    quiet.close();
  }
});

test("closing the gateway sends its HTTP/2 sessions GOAWAY (clients reconnect elsewhere) and ends them", async () => {
  const data = mkdtempSync(join(tmpdir(), "ward-gw-h2-"));
  const gw = await startGateway({ host: "127.0.0.1", port: 0, dataDir: data, shutdownTimeoutMs: 2000, logger: silentLogger });
  try {
    const session = h2connect(gw.url, { ca: readFileSync(gw.caFile!), servername: "localhost" });
    session.on("error", () => {});
    const r = await get(session, { ":path": "/healthz" });
    assert.equal(session.alpnProtocol, "h2");
    assert.notEqual(r.status, 0);
    const away = once(session, "goaway");
    const sessionClosed = once(session, "close");
    const closed = gw.close();
    const [code] = await away;
    assert.equal(code, 0, "GOAWAY with NO_ERROR: a graceful close");
    await closed;
    await sessionClosed;
  } finally {
    await gw.close();
    rmSync(data, { recursive: true, force: true });
  }
});
