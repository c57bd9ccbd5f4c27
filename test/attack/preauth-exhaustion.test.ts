/**
 * Pre-authentication resource exhaustion, end to end through `dist/ward gateway` + `dist/ward agent`
 * and the real kube-apiserver: huge bodies and heads, slow and idle clients, HTTP/2 floods (rapid
 * reset, SETTINGS, PING, streams, CONTINUATION), and WebSocket frames before authentication on the
 * proxy path and the NATS endpoint. Each is cut within a stated time or size, the gateway's
 * resident memory stays bounded, and kubectl keeps working during and after.
 */
import assert from "node:assert/strict";
import { connect as h2connect } from "node:http2";
import { connect as tcpConnect, type Socket } from "node:net";
import { describe, test } from "node:test";
import { eventually } from "../helpers/eventually.ts";
import type { KubeEnv } from "../helpers/kube-env.ts";
import { kubectl, type KubectlTarget } from "../helpers/kubectl.ts";
import { clientFrame, upgradeRequest } from "../helpers/raw_ws.ts";
import { useWard, type Ward } from "../helpers/ward.ts";
import { H2, H2_FLAGS, h2Frame, h2Pseudo, hpackBlock, http1, rawConn, rawExchange, rawH2, responses, rssMiB, type RawConn, type RawH2 } from "./harness.ts";

const CLUSTER = "dos";
const P = `/api/v1/clusters/${CLUSTER}/k8s`;
/** The gateway's head timeout and TLS handshake timeout (internal/gateway/listener.ts), and how often Node checks the first. */
const HEAD_TIMEOUT_MS = 20_000;
const CHECK_MS = 5_000;
/** Slack for a busy 2-core machine. */
const SLACK_MS = 5_000;
/** What the gateway may grow by under all of this (it idles near 100 MiB). */
const RSS_GROWTH_MIB = 200;

let kube: KubeEnv;
let w: Ward;
let token: string;
let target: KubectlTarget;
let baseRss: number;

useWard({ ward: { cluster: CLUSTER } }, async (s) => {
  ({ kube, w } = s);
  target = { kubectl: kube.kubectl.newest, kubeconfig: s.dev.kubeconfig };
  const t = await w.api(s.dev.token, "POST", `/api/v1/clusters/${CLUSTER}/k8s-token`, {});
  token = t.json.token;
  await legit("warm-up");
  baseRss = rssMiB(w);
});

/** A real kubectl request through Ward succeeds (within 20 s). */
async function legit(what: string): Promise<void> {
  const r = await kubectl(target, ["get", "configmaps", "-n", kube.namespace, "-o", "name"], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, `kubectl failed ${what}: ${r.stderr}`);
}

function assertRss(what: string): void {
  const rss = rssMiB(w);
  assert.ok(rss < baseRss + RSS_GROWTH_MIB, `${what}: gateway RSS ${rss.toFixed(0)} MiB (it started at ${baseRss.toFixed(0)} MiB)`);
}

/** Resolves with how long after `t0` the connection closed, or rejects after `ms`. */
async function closedWithin(closedAt: Promise<number>, t0: number, ms: number, what: string): Promise<number> {
  const at = await Promise.race([closedAt, new Promise<number>((_, rej) => setTimeout(() => rej(new Error(`${what}: still open after ${ms} ms`)), ms))]);
  return at - t0;
}

describe("pre-auth resource exhaustion", () => {
  test("huge bodies without a token: answered 401 at once and not read on (HTTP/1.1 closes, HTTP/2 resets the stream)", async () => {
    const TOTAL = 256 << 20;
    // A body that has begun: the 401 says the connection closes, and it does.
    for (const framing of ["Transfer-Encoding: chunked", `Content-Length: ${TOTAL}`]) {
      const c = await rawConn(w);
      c.write(http1("POST", `${P}/api/v1/namespaces/${kube.namespace}/configmaps`, ["Content-Type: application/json", framing], framing.startsWith("Transfer") ? "400\r\n" + "a".repeat(1024) : "a".repeat(1024)));
      await c.waitFor(/^HTTP\/1\.1 401 [^]*\r\nconnection: close\r\n/i);
      await closedWithin(c.closedAt, Date.now(), 2000, `${framing}: after the 401`);
    }
    // A body pushed as fast as the gateway takes it: it stops taking it at once.
    for (const framing of ["Transfer-Encoding: chunked", `Content-Length: ${TOTAL}`]) {
      const c = await rawConn(w);
      c.write(http1("POST", `${P}/api/v1/namespaces/${kube.namespace}/configmaps`, ["Content-Type: application/json", framing]));
      const chunk = Buffer.alloc(64 * 1024, "a");
      const framed = framing.startsWith("Transfer") ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]) : chunk;
      let sent = 0;
      const t0 = Date.now();
      await new Promise<void>((res) => {
        let resolve = res;
        const pump = () => {
          if (c.closed || sent >= TOTAL || Date.now() - t0 > 15_000) return resolve();
          sent += chunk.length;
          if (c.socket.write(framed)) setImmediate(pump);
          else c.socket.once("drain", pump);
        };
        c.socket.once("close", () => resolve());
        // A server that neither reads nor closes must not hang the test: the asserts below say what happened.
        const guard = setTimeout(resolve, 15_000);
        const done = resolve;
        resolve = () => (clearTimeout(guard), done());
        pump();
      });
      // The answer may be lost to the reset of a close with bytes still in flight: then the close is the answer.
      if (c.text()) assert.match(c.text(), /^HTTP\/1\.1 401 [^]*\r\nconnection: close\r\n/i, `${framing}: ${c.text().slice(0, 300)}`);
      await closedWithin(c.closedAt, t0, 5000, framing);
      assert.ok(sent < 64 << 20, `${framing}: the gateway read on after answering (${sent >> 20} MiB sent)`);
      c.socket.destroy();
    }
    // HTTP/2: the stream is answered and reset; the session's flow-control window bounds what was taken.
    const session = h2connect(w.url, { ca: w.ca, servername: "localhost" });
    session.on("error", () => {});
    const req = session.request({ ":method": "POST", ":path": `${P}/api/v1/namespaces/${kube.namespace}/configmaps`, "content-type": "application/json" }, { endStream: false });
    req.on("error", () => {});
    let status = 0;
    req.on("response", (h) => (status = Number(h[":status"])));
    // Read the answer: a stream reset while its answer sits unread is `closed` but emits no 'close'
    // (nor 'drain') until that answer is consumed — on a busy machine the pump then waited forever.
    req.resume();
    let sent = 0;
    const chunk = Buffer.alloc(16 * 1024);
    const t0 = Date.now();
    await new Promise<void>((res) => {
      let resolve = res;
      const pump = () => {
        if (req.closed || req.destroyed || Date.now() - t0 > 15_000) return resolve();
        sent += chunk.length;
        if (req.write(chunk)) setImmediate(pump);
        else req.once("drain", pump);
      };
      req.once("close", () => resolve());
      const poll = setInterval(() => req.closed && resolve(), 20);
      const guard = setTimeout(resolve, 15_000);
      const done = resolve;
      resolve = () => (clearInterval(poll), clearTimeout(guard), done());
      pump();
    });
    assert.equal(status, 401);
    assert.ok(req.closed, "the HTTP/2 stream stayed open after its 401");
    assert.ok(Date.now() - t0 < 5000, `the HTTP/2 stream closed after ${Date.now() - t0} ms`);
    assert.ok(sent < 4 << 20, `HTTP/2: ${sent >> 10} KiB taken after the answer`);
    session.destroy();
    assertRss("after huge bodies");
    await legit("after huge bodies");
  });

  test("huge heads: one large header, many small ones, an HTTP/2 header list and a CONTINUATION flood are cut", async () => {
    for (const [what, headers] of [
      ["a 64 KiB header", [`X-Big: ${"a".repeat(64 * 1024)}`]],
      ["5,000 headers", Array.from({ length: 5000 }, (_, i) => `X-H${i}: v`)],
      ["a 64 KiB Authorization", [`Authorization: Bearer ${"a".repeat(64 * 1024)}`]],
    ] as const) {
      const { text, closed } = await rawExchange(w, http1("GET", `${P}/api`, [...headers]));
      assert.match(text, /^HTTP\/1\.1 431 /, `${what}: ${text.slice(0, 200)}`);
      assert.ok(closed, `${what}: not closed`);
    }
    // HTTP/2: a 64 KiB header list (HEADERS + CONTINUATION).
    const big = await rawH2(w);
    await eventually("the server's SETTINGS", () => big.frames.some((f) => f.type === H2.SETTINGS), { timeoutMs: 5000 });
    const block = hpackBlock([...h2Pseudo("GET", `${P}/api`), ["x-big", "a".repeat(64 * 1024)]]);
    big.write(h2Frame(H2.HEADERS, H2_FLAGS.END_STREAM, 1, block.subarray(0, 16_000)));
    for (let i = 16_000; i < block.length; i += 16_000) big.write(h2Frame(H2.CONTINUATION, i + 16_000 >= block.length ? H2_FLAGS.END_HEADERS : 0, 1, block.subarray(i, i + 16_000)));
    await eventually("the big header list refused", () => big.resetCode(1) !== undefined || big.goaway() !== undefined || big.closed || big.answered(1), { timeoutMs: 5000 });
    assert.ok(!big.answered(1) || /431|400/.test(""), "a 64 KiB header list was answered as a request");
    big.socket.destroy();
    // CONTINUATION without end (CVE-2024-27316 class): 10 MiB of continuation frames.
    const flood = await rawH2(w);
    flood.write(h2Frame(H2.HEADERS, 0, 1, hpackBlock(h2Pseudo("GET", `${P}/api`))));
    const t0 = Date.now();
    const piece = h2Frame(H2.CONTINUATION, 0, 1, hpackBlock([["x-c", "a".repeat(1000)]]));
    for (let i = 0; i < 10_000 && !flood.closed; i++) {
      if (!flood.write(piece)) await new Promise((r) => flood.socket.once("drain", r).once("close", r));
    }
    await closedWithin(flood.closedAt, t0, 10_000, "a CONTINUATION flood");
    assertRss("after huge heads");
    await legit("after huge heads");
  });

  test("slow and idle clients are cut within the stated times while kubectl keeps working", { timeout: 90_000 }, async () => {
    const u = new URL(w.url);
    const t0 = Date.now();
    const cut: { what: string; limit: number; closed: Promise<number> }[] = [];
    const sockets: { destroy(): void }[] = [];
    // 100 TCP connections that never start TLS: the handshake timeout.
    for (let i = 0; i < 100; i++) {
      const s: Socket = tcpConnect({ host: u.hostname, port: Number(u.port) });
      s.on("error", () => {});
      sockets.push(s);
      cut.push({ what: "no TLS handshake", limit: HEAD_TIMEOUT_MS + SLACK_MS, closed: new Promise((r) => s.once("close", () => r(Date.now()))) });
    }
    // 100 HTTP/1.1 connections that send nothing, and 10 that dribble their head a byte a second (slowloris).
    const idle: RawConn[] = [];
    for (let i = 0; i < 100; i++) idle.push(await rawConn(w));
    for (const c of idle) cut.push({ what: "an idle HTTP/1.1 connection", limit: HEAD_TIMEOUT_MS + CHECK_MS + SLACK_MS, closed: c.closedAt });
    const slow: RawConn[] = [];
    for (let i = 0; i < 10; i++) slow.push(await rawConn(w));
    const head = http1("GET", `${P}/api`, [`X-Pad: ${"a".repeat(200)}`]);
    let pos = 0;
    const dribble = setInterval(() => {
      for (const c of slow) c.write(head[pos % head.length]!);
      pos++;
    }, 1000);
    for (const c of slow) cut.push({ what: "a slowloris head", limit: HEAD_TIMEOUT_MS + CHECK_MS + SLACK_MS, closed: c.closedAt });
    // 10 HTTP/2 sessions that open no stream and ping every second.
    const quiet: RawH2[] = [];
    for (let i = 0; i < 10; i++) quiet.push(await rawH2(w));
    const pinger = setInterval(() => {
      for (const h of quiet) h.write(h2Frame(H2.PING, 0, 0, Buffer.alloc(8)));
    }, 1000);
    for (const h of quiet) cut.push({ what: "an HTTP/2 session without streams", limit: HEAD_TIMEOUT_MS + SLACK_MS, closed: h.closedAt });
    // 10 slow unauthenticated bodies (a byte a second): answered 401 at once and closed.
    const bodies: RawConn[] = [];
    for (let i = 0; i < 10; i++) {
      const c = await rawConn(w);
      c.write(http1("POST", `${P}/api/v1/namespaces/${kube.namespace}/configmaps`, ["Content-Type: application/json", "Content-Length: 1000000"], "{"));
      bodies.push(c);
      cut.push({ what: "a slow body without a token", limit: 3000 + SLACK_MS, closed: c.closedAt });
    }
    const dripper = setInterval(() => {
      for (const c of bodies) c.write(" ");
    }, 1000);
    try {
      // kubectl works all along.
      for (let i = 0; i < 3; i++) {
        await legit(`with ${cut.length} slow clients connected`);
        await new Promise((r) => setTimeout(r, 3000));
      }
      assertRss(`with ${cut.length} slow clients connected`);
      const late: string[] = [];
      await Promise.all(cut.map(async (c) => {
        const at = await Promise.race([c.closed, new Promise<number>((r) => setTimeout(() => r(Infinity), c.limit - (Date.now() - t0)))]);
        if (at - t0 > c.limit) late.push(`${c.what}: ${at === Infinity ? "still open" : `closed after ${at - t0} ms`} (limit ${c.limit} ms)`);
      }));
      assert.deepEqual([...new Set(late)], []);
      for (const c of bodies) assert.match(c.text(), /^HTTP\/1\.1 401 /);
      for (const h of quiet) assert.equal(h.goaway()?.code, 0, "the idle session ends with GOAWAY NO_ERROR");
    } finally {
      clearInterval(dribble);
      clearInterval(pinger);
      clearInterval(dripper);
      for (const s of [...sockets, ...idle.map((c) => c.socket), ...slow.map((c) => c.socket), ...quiet.map((h) => h.socket), ...bodies.map((c) => c.socket)]) s.destroy();
    }
    await legit("after the slow clients");
  });

  test("HTTP/2 floods: rapid reset, SETTINGS and PING floods, too many streams; the session is cut and the agent's streams end", { timeout: 60_000 }, async () => {
    const path = `${P}/api/v1/namespaces/${kube.namespace}/configmaps`;
    // Rapid reset, with and without a valid token: HEADERS then RST_STREAM, thousands of times.
    for (const auth of [[], [["authorization", `Bearer ${token}`]]] as [string, string][][]) {
      const h = await rawH2(w);
      const t0 = Date.now();
      let sid = 1;
      for (let batch = 0; batch < 50 && !h.closed; batch++) {
        const frames: Buffer[] = [];
        for (let i = 0; i < 200; i++, sid += 2) {
          frames.push(h2Frame(H2.HEADERS, H2_FLAGS.END_HEADERS | H2_FLAGS.END_STREAM, sid, hpackBlock([...h2Pseudo("GET", path), ...auth])));
          frames.push(h2Frame(H2.RST_STREAM, 0, sid, Buffer.from([0, 0, 0, 8])));
        }
        if (!h.write(Buffer.concat(frames))) await new Promise((r) => h.socket.once("drain", r).once("close", r));
      }
      await closedWithin(h.closedAt, t0, 15_000, `rapid reset ${auth.length ? "with" : "without"} a token`);
      assert.ok(h.goaway() === undefined || h.goaway()!.code !== 0, `rapid reset ended with ${JSON.stringify(h.goaway())}`);
    }
    // No stream the rapid resets opened stays open at the agent.
    await eventually("the agent's open streams back to 0", async () => (await w.agentMetric("ward_agent_open_streams")) === 0, { timeoutMs: 10_000, intervalMs: 200 });
    // SETTINGS and PING floods from a client that never reads the answers (its ACKs pile up at the gateway).
    for (const [what, frame] of [["SETTINGS", h2Frame(H2.SETTINGS, 0, 0, Buffer.from([0, 3, 0, 0, 0, 100]))], ["PING", h2Frame(H2.PING, 0, 0, Buffer.alloc(8))]] as const) {
      const h = await rawH2(w, { read: false });
      const t0 = Date.now();
      const many = Buffer.concat(Array.from({ length: 1000 }, () => frame));
      for (let i = 0; i < 200 && !h.closed && Date.now() - t0 < 10_000; i++) {
        if (!h.write(many)) await Promise.race([new Promise((r) => h.socket.once("drain", r).once("close", r)), new Promise((r) => setTimeout(r, 500))]);
      }
      h.socket.resume();
      await closedWithin(h.closedAt, t0, 15_000, `a ${what} flood`);
    }
    assertRss("after SETTINGS and PING floods");
    // 1,000 streams at once (the limit is 100), unauthenticated, bodies never sent.
    const h = await rawH2(w);
    await eventually("the server's SETTINGS", () => h.frames.some((f) => f.type === H2.SETTINGS), { timeoutMs: 5000 });
    const frames: Buffer[] = [];
    for (let i = 0, sid = 1; i < 1000; i++, sid += 2) frames.push(h2Frame(H2.HEADERS, H2_FLAGS.END_HEADERS, sid, hpackBlock([...h2Pseudo("POST", path), ["content-type", "application/json"]])));
    h.write(Buffer.concat(frames));
    await eventually("streams past the limit refused", () => h.closed || h.goaway() !== undefined || h.frames.filter((f) => f.type === H2.RST_STREAM && f.payload.readUInt32BE(0) === 7).length >= 800, { timeoutMs: 10_000 });
    const answered = new Set(h.frames.filter((f) => f.type === H2.HEADERS).map((f) => f.stream)).size;
    assert.ok(answered <= 100, `${answered} of 1,000 concurrent streams were answered (the limit is 100)`);
    h.socket.destroy();
    assertRss("after HTTP/2 floods");
    await legit("after HTTP/2 floods");
  });

  test("WebSocket before authentication: the proxy path answers 401 and closes; /nats cuts huge, endless and silent clients", async () => {
    const execPath = `${P}/api/v1/namespaces/${kube.namespace}/pods/${kube.pod}/exec?command=cat&stdin=true`;
    // The proxy path never upgrades before authentication: frames behind the request are not read.
    const c = await rawConn(w);
    const t0 = Date.now();
    c.write(upgradeRequest(execPath, { Authorization: "Bearer not-a-token", "Sec-WebSocket-Protocol": "v5.channel.k8s.io" }));
    c.write(clientFrame(0x2, Buffer.alloc(64 * 1024), 7 << 20));
    await closedWithin(c.closedAt, t0, 3000, "a frame behind an unauthenticated upgrade");
    assert.deepEqual(responses(c.text()).map((r) => r.status), [401]);
    // /nats: a frame announcing 7 MiB, fragments without end, and a connection that never sends CONNECT.
    const nats = async () => {
      const s = await rawConn(w);
      s.write(upgradeRequest("/nats"));
      await s.waitFor(/^HTTP\/1\.1 101 [^]*?\r\n\r\n/);
      return s;
    };
    const huge = await nats();
    let t = Date.now();
    huge.write(clientFrame(0x2, Buffer.from("CONNECT {"), 7 << 20));
    await closedWithin(huge.closedAt, t, 3000, "/nats: a frame announcing 7 MiB");
    const endless = await nats();
    t = Date.now();
    let sent = 0;
    for (let i = 0; i < 200 && !endless.closed; i++) {
      endless.write(clientFrame(i === 0 ? 0x1 : 0x0, Buffer.alloc(1024, "a"), 1024, false));
      sent += 1024;
      await new Promise((r) => setTimeout(r, 5));
    }
    await closedWithin(endless.closedAt, t, 3000, "/nats: fragments without end");
    assert.ok(sent <= 64 * 1024, `/nats took ${sent} bytes of fragments before authentication`);
    // 50 connections that never authenticate: all gone within the auth timeout (2 s) and the grace.
    const silent = await Promise.all(Array.from({ length: 50 }, () => nats()));
    t = Date.now();
    await Promise.all(silent.map((s) => closedWithin(s.closedAt, t, 2000 + 250 + SLACK_MS, "/nats without CONNECT")));
    assertRss("after WebSocket floods");
    await legit("after WebSocket floods");
  });

  test("after everything: the gateway's memory is bounded and kubectl works", async () => {
    assertRss("at the end");
    const hwm = rssMiB(w, "VmHWM");
    assert.ok(hwm < baseRss + RSS_GROWTH_MIB + 100, `gateway peak RSS ${hwm.toFixed(0)} MiB`);
    await legit("at the end");
  });
});
