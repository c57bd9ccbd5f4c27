/**
 * Fuzz target `nats-parser`: the embedded NATS endpoint's client-protocol parser
 * (`internal/nats/parser.ts`), its subject rules (`subject.ts`) and the MSG lines it writes
 * (`wire.ts`). `natsOpArb`, `recorder` and `parseChunks` are also used by `internal/nats/parser.test.ts`.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { Parser as NatsJsParser, type ParserEvent } from "@nats-io/nats-core/internal";
import { ERR, type NatsProtocolError } from "../../../internal/nats/index.ts";
import { classifySubject, ClientParser, isValidQueueName, msgLength, writeMsg, type ClientOpSink, type ParserOptions } from "../../../internal/nats/internal.ts";
import { concatBytes, cuts, mutated, splitAt } from "./bytes.ts";
import { fuzzProperty, type FuzzTarget } from "./fuzz_target.ts";

/** One sink event; a payload as a latin1 string copied when it was handed over. */
export type Ev =
  | ["connect", string]
  | ["pub", string, string | undefined, number, string]
  | ["sub", string, string | undefined, string]
  | ["unsub", string, number | undefined]
  | ["ping"]
  | ["pong"]
  | ["error", string];

/** A sink that records events, and the payload buffers as handed over. */
export function recorder(): { sink: ClientOpSink; events: Ev[]; payloads: Uint8Array[] } {
  const events: Ev[] = [];
  const payloads: Uint8Array[] = [];
  const sink: ClientOpSink = {
    connect: (json) => events.push(["connect", json]),
    pub: (subject, reply, hdrLen, data) => {
      payloads.push(data);
      events.push(["pub", subject, reply, hdrLen, Buffer.from(data).toString("latin1")]);
    },
    sub: (subject, queue, sid) => events.push(["sub", subject, queue, sid]),
    unsub: (sid, max) => events.push(["unsub", sid, max]),
    ping: () => events.push(["ping"]),
    pong: () => events.push(["pong"]),
    error: (err: NatsProtocolError) => events.push(["error", err.wireText]),
  };
  return { sink, events, payloads };
}

export function parseChunks(chunks: readonly Uint8Array[], opts?: ParserOptions): Ev[] {
  const r = recorder();
  const p = new ClientParser(r.sink, opts);
  for (const c of chunks) p.push(c);
  return r.events;
}

const token = fc.stringMatching(/^[A-Za-z0-9_$-]{1,8}$/);
const subject = fc.array(token, { minLength: 1, maxLength: 4 }).map((t) => t.join("."));
const payload = fc.uint8Array({ maxLength: 300 });
const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");

/** One valid client operation: its bytes and the event it must give. */
export const natsOpArb: fc.Arbitrary<{ wire: Uint8Array; ev: Ev }> = fc.oneof(
  fc.tuple(subject, fc.option(subject, { nil: undefined }), payload).map(([s, r, p]) => ({
    wire: concatBytes([Buffer.from(`PUB ${s}${r ? " " + r : ""} ${p.length}\r\n`), p, Buffer.from("\r\n")]),
    ev: ["pub", s, r, -1, latin1(p)] as Ev,
  })),
  fc.tuple(subject, fc.option(subject, { nil: undefined }), payload, payload).map(([s, r, h, p]) => ({
    wire: concatBytes([Buffer.from(`HPUB ${s}${r ? " " + r : ""} ${h.length} ${h.length + p.length}\r\n`), h, p, Buffer.from("\r\n")]),
    ev: ["pub", s, r, h.length, latin1(h) + latin1(p)] as Ev,
  })),
  fc.tuple(subject, fc.option(token, { nil: undefined }), fc.nat(9999)).map(([s, q, sid]) => ({
    wire: Buffer.from(`SUB ${s}${q ? " " + q : ""} ${sid}\r\n`),
    ev: ["sub", s, q, String(sid)] as Ev,
  })),
  fc.tuple(fc.nat(9999), fc.option(fc.nat(1000), { nil: undefined })).map(([sid, max]) => ({
    wire: Buffer.from(`UNSUB ${sid}${max === undefined ? "" : " " + max}\r\n`),
    ev: ["unsub", String(sid), max] as Ev,
  })),
  fc.constant({ wire: Buffer.from("PING\r\n"), ev: ["ping"] as Ev }),
  fc.constant({ wire: Buffer.from("PONG\r\n"), ev: ["pong"] as Ev }),
  fc.json({ maxDepth: 2 }).map((j) => ({ wire: Buffer.from(`CONNECT ${j}\r\n`), ev: ["connect", j] as Ev })),
);

const capsArb = fc.record({
  maxControlLine: fc.integer({ min: 8, max: 96 }),
  maxConnectLine: fc.integer({ min: 0, max: 256 }),
  maxPayload: fc.integer({ min: 0, max: 400 }),
});

/**
 * Valid traffic under random caps, split anywhere: the events of the operations up to the first
 * that breaks a cap, then that cap's error (CONNECT may use the longer of its two line caps).
 */
const capsHonoured = fc.property(fc.array(natsOpArb, { maxLength: 12 }), fc.option(capsArb, { nil: undefined }), cuts, (ops, caps, c) => {
  const want: Ev[] = [];
  for (const { wire, ev } of ops) {
    const line = Buffer.from(wire).indexOf("\r\n");
    const lineCap = !caps ? Infinity : ev[0] === "connect" ? Math.max(caps.maxConnectLine, caps.maxControlLine) : caps.maxControlLine;
    if (line > lineCap) {
      want.push(["error", ERR.maxControlLine]);
      break;
    }
    if (caps && ev[0] === "pub" && ev[4].length > caps.maxPayload) {
      want.push(["error", ERR.maxPayload]);
      break;
    }
    want.push(ev);
  }
  const wire = concatBytes(ops.map((o) => o.wire));
  assert.deepEqual(parseChunks([wire], caps), want);
  assert.deepEqual(parseChunks(splitAt(wire, c), caps), want);
});

/** Protocol words, separators and digits, so random input gets deep into the parser's states. */
const protocolPiece = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.constantFrom("PUB ", "HPUB ", "SUB ", "UNSUB ", "CONNECT ", "PING", "PONG", "pub", "\r\n", "\n", " ", "\t", "\r", "0", "12", "300", "a.b", "*", ">", "{}")
    .map((s) => new Uint8Array(Buffer.from(s, "latin1"))),
);
const hostileBytes = fc.oneof(
  mutated(fc.array(natsOpArb, { maxLength: 8 }).map((ops) => concatBytes(ops.map((o) => o.wire))), [0x0d, 0x0a, 0x20, 0x09, 0x30, 0x31, 0x39, 0x2e]),
  fc.array(protocolPiece, { maxLength: 30 }).map(concatBytes),
);

/** A sink event's arguments as they must look: non-empty, without the parser's separators. */
function assertWellFormed(ev: Ev, caps: Required<Omit<ParserOptions, "alloc">>): void {
  const arg = (s: string | undefined) => s === undefined || (s.length > 0 && !/[ \t\n]/.test(s));
  switch (ev[0]) {
    case "pub":
      assert.ok(arg(ev[1]) && ev[1] !== undefined && arg(ev[2]), `PUB arguments ${JSON.stringify(ev)}`);
      assert.ok(ev[4].length <= caps.maxPayload && ev[3] <= ev[4].length, `PUB sizes ${JSON.stringify(ev)}`);
      break;
    case "sub":
      assert.ok(arg(ev[1]) && arg(ev[2]) && arg(ev[3]), `SUB arguments ${JSON.stringify(ev)}`);
      break;
    case "unsub":
      assert.ok(arg(ev[1]) && (ev[2] === undefined || Number.isSafeInteger(ev[2])), `UNSUB arguments ${JSON.stringify(ev)}`);
      break;
  }
}

const hostile = fc.property(hostileBytes, capsArb, cuts, (bytes, caps, c) => {
  const biggest = Math.max(caps.maxControlLine + 1, Math.max(caps.maxConnectLine, caps.maxControlLine) + 1, caps.maxPayload);
  const parse = (chunks: Uint8Array[]) => {
    const r = recorder();
    const p = new ClientParser(r.sink, {
      ...caps,
      alloc: (n) => {
        assert.ok(n <= biggest, `allocated ${n} bytes with caps ${JSON.stringify(caps)}`);
        return new Uint8Array(n);
      },
    });
    for (const chunk of chunks) assert.equal(p.push(chunk), chunk.length, "push consumes every byte");
    // Buffers handed over are never written again.
    const pubs = r.events.filter((e) => e[0] === "pub");
    r.payloads.forEach((b, i) => assert.equal(latin1(b), pubs[i]![4], "a payload changed after it was handed over"));
    return r.events;
  };
  const events = parse(splitAt(bytes, c));
  assert.deepEqual(parse([bytes]), events, "the same events in one piece");
  const errors = events.filter((e) => e[0] === "error").length;
  assert.ok(errors === 0 || (errors === 1 && events.at(-1)![0] === "error"), "at most one error, and nothing after it");
  for (const e of events) assertWellFormed(e, caps);
});

/** Subject validity as nats-server's `isValidSubject` (server/sublist.go) states it, written from its rules. */
function natsServerSubject(s: string): 0 | 1 | 2 {
  if (s === "") return 0;
  const tokens = s.split(".");
  let wild = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === "" || /[ \t\n\f\r]/.test(t) || (t === ">" && i !== tokens.length - 1)) return 0;
    if (t === "*" || t === ">") wild = true;
  }
  return wild ? 2 : 1;
}

const hostileName = fc
  .array(fc.constantFrom("a", "bc", "$SYS", ".", ".", "*", ">", " ", "\t", "\r", "\n", "\f", "\v", "\0", "\xe9", "\xa0", "\x85"), { maxLength: 8 })
  .map((parts) => parts.join(""));

const subjects = fc.property(hostileName, (s) => {
  assert.equal(classifySubject(s), natsServerSubject(s), `subject ${JSON.stringify(s)}`);
  assert.equal(isValidQueueName(s), s !== "" && !/[ \t\n\f\r]/.test(s), `queue name ${JSON.stringify(s)}`);
});

/** What nats.js's client parser (the official one) reads from bytes, split as given. */
function natsJsMessages(chunks: readonly Uint8Array[]): unknown[] {
  const out: unknown[] = [];
  const p = new NatsJsParser({
    push: (e) => {
      const { kind, msg, data } = e as ParserEvent;
      if (!msg) return void out.push({ kind });
      const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : latin1(b));
      out.push({ subject: text(msg.subject), sid: msg.sid, reply: text(msg.reply), hdr: msg.hdr, data: text(data) });
    },
  });
  for (const c of chunks) p.parse(c);
  return out;
}

const msgArb = fc.record({ subject, sid: fc.nat(), reply: fc.option(subject, { nil: undefined }), hdr: fc.option(payload, { nil: undefined }), data: payload });

const msgWire = fc.property(fc.array(msgArb, { minLength: 1, maxLength: 6 }), cuts, (msgs, c) => {
  const parts = msgs.map((m) => {
    const body = m.hdr ? concatBytes([m.hdr, m.data]) : m.data;
    const hdrLen = m.hdr ? m.hdr.length : -1;
    const buf = new Uint8Array(msgLength(m.subject, String(m.sid), m.reply, hdrLen, body.length));
    assert.equal(writeMsg(buf, 0, m.subject, String(m.sid), m.reply, hdrLen, body), buf.length, "msgLength is what writeMsg writes");
    return buf;
  });
  const want = msgs.map((m) => ({ subject: m.subject, sid: m.sid, reply: m.reply, hdr: m.hdr ? m.hdr.length : -1, data: latin1(m.hdr ? concatBytes([m.hdr, m.data]) : m.data) }));
  assert.deepEqual(natsJsMessages(splitAt(concatBytes(parts), c)), want);
});

export const natsParserTarget: FuzzTarget = {
  name: "nats-parser",
  what: "NATS client protocol: ops at any chunking under random caps, hostile bytes, subject rules vs nats-server, MSG lines vs nats.js",
  properties: [
    fuzzProperty("valid traffic under random caps at any chunking", 1000, capsHonoured),
    fuzzProperty("hostile bytes: one error at most, bounded, same at any chunking", 2000, hostile),
    fuzzProperty("subjects and queue names valid exactly as nats-server says", 5000, subjects),
    fuzzProperty("MSG/HMSG as written parse the same in nats.js", 500, msgWire),
  ],
};
