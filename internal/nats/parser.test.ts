import { test } from "node:test";
import assert from "node:assert/strict";
import { ClientParser, type ParserOptions } from "./parser.ts";
import { ERR } from "./errors.ts";
// Shared with the nats-parser fuzz target, which (run briefly by internal/fuzz.test.ts) also covers
// random splits of valid traffic under random caps and hostile bytes.
import { parseChunks, recorder, type Ev } from "../../test/helpers/fuzz/nats_parser.ts";
import { splitAt } from "../../test/helpers/fuzz/bytes.ts";

const bytes = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));

const TRAFFIC =
  'CONNECT {"verbose":false,"pedantic":false,"name":"t"}\r\n' +
  "PING\r\n" +
  "SUB foo.* 1\r\n" +
  "SUB bar q1 22\r\n" +
  "PUB foo.a 5\r\nhello\r\n" +
  "PUB foo.b _INBOX.x 0\r\n\r\n" +
  "HPUB foo.c 12 14\r\nNATS/1.0\r\n\r\nhi\r\n" +
  "HPUB foo.d rep 12 12\r\nNATS/1.0\r\n\r\n\r\n" +
  "PUB crlf 4\r\n\r\n\r\n\r\n" +
  "UNSUB 1\r\n" +
  "UNSUB 22 10\r\n" +
  "pong\r\n" +
  "\r\n" +
  "sub lower 3\r\n";

const EXPECTED: Ev[] = [
  ["connect", '{"verbose":false,"pedantic":false,"name":"t"}'],
  ["ping"],
  ["sub", "foo.*", undefined, "1"],
  ["sub", "bar", "q1", "22"],
  ["pub", "foo.a", undefined, -1, "hello"],
  ["pub", "foo.b", "_INBOX.x", -1, ""],
  ["pub", "foo.c", undefined, 12, "NATS/1.0\r\n\r\nhi"],
  ["pub", "foo.d", "rep", 12, "NATS/1.0\r\n\r\n"],
  ["pub", "crlf", undefined, -1, "\r\n\r\n"],
  ["unsub", "1", undefined],
  ["unsub", "22", 10],
  ["pong"],
  ["sub", "lower", undefined, "3"],
];

test("parses every client operation", () => {
  assert.deepEqual(parseChunks([bytes(TRAFFIC)]), EXPECTED);
});

test("same events when split at every byte", () => {
  const b = bytes(TRAFFIC);
  for (let i = 0; i <= b.length; i++) assert.deepEqual(parseChunks(splitAt(b, [i])), EXPECTED, `split at ${i}`);
  const single = Array.from(b, (x) => Uint8Array.of(x));
  assert.deepEqual(parseChunks(single), EXPECTED);
});

test("a payload inside one chunk is passed on without copying", () => {
  const r = recorder();
  const chunk = bytes("PUB a 3\r\nabc\r\n");
  new ClientParser(r.sink).push(chunk);
  assert.equal(r.payloads[0]!.buffer, chunk.buffer);
  assert.equal(r.payloads[0]!.byteOffset, 9);
});

test("a split payload is gathered into a fresh buffer of its exact size", () => {
  const r = recorder();
  const p = new ClientParser(r.sink);
  p.push(bytes("PUB a 6\r\nabc"));
  p.push(bytes("def\r\n"));
  assert.equal(r.payloads[0]!.byteLength, 6);
  assert.equal(r.payloads[0]!.buffer.byteLength, 6);
});

const errorCases: [string, string, ParserOptions?][] = [
  ["FOO bar\r\n", ERR.unknownOp],
  ["PUBX a 1\r\n", ERR.unknownOp],
  [" PUB a 1\r\n", ERR.unknownOp],
  ["PUB a\r\n", ERR.unknownOp],
  ["PUB a b c d\r\n", ERR.unknownOp],
  ["PUB a -1\r\n", ERR.unknownOp],
  ["PUB a 1x\r\n", ERR.unknownOp],
  ["PUB a 3\r\nabcX\r\n", ERR.unknownOp],
  ["HPUB a 5 3\r\n", ERR.unknownOp],
  ["SUB a\r\n", ERR.unknownOp],
  ["SUB a b c d\r\n", ERR.unknownOp],
  ["UNSUB\r\n", ERR.unknownOp],
  ["UNSUB 1 x\r\n", ERR.unknownOp],
  ["PING x\r\n", ERR.unknownOp],
  ["PUB a 11\r\n", ERR.maxPayload, { maxPayload: 10 }],
  ["HPUB a 2 11\r\n", ERR.maxPayload, { maxPayload: 10 }],
  [`SUB ${"x".repeat(40)} 1\r\n`, ERR.maxControlLine, { maxControlLine: 32 }],
  [`SUB ${"x".repeat(40)}`, ERR.maxControlLine, { maxControlLine: 32 }],
  [`CONNECT {"a":"${"x".repeat(80)}"}\r\n`, ERR.maxControlLine, { maxControlLine: 32, maxConnectLine: 64 }],
];

test("violations are reported once, then input is ignored", () => {
  for (const [input, wire, opts] of errorCases) {
    const b = bytes(input + "PING\r\n");
    for (let i = 0; i <= b.length; i++) {
      const ev = parseChunks(splitAt(b, [i]), opts);
      assert.deepEqual(ev, [["error", wire]], `${JSON.stringify(input)} split at ${i}`);
    }
  }
});

test("a long CONNECT is allowed up to maxConnectLine", () => {
  const json = `{"auth_token":"${"t".repeat(100)}"}`;
  const b = bytes(`CONNECT ${json}\r\nPING\r\n`);
  for (let i = 0; i <= b.length; i++) {
    assert.deepEqual(parseChunks(splitAt(b, [i]), { maxControlLine: 32, maxConnectLine: 200 }), [["connect", json], ["ping"]]);
  }
});

test("hold: push stops right after the operation that held, at every split; the next push goes on", () => {
  const b = bytes('PING\r\nCONNECT {"user":"u"}\r\nSUB a 1\r\nPUB a 2\r\nhi\r\n');
  const want: Ev[] = [["ping"], ["connect", '{"user":"u"}'], ["sub", "a", undefined, "1"], ["pub", "a", undefined, -1, "hi"]];
  for (let cut = 0; cut <= b.length; cut++) {
    const r = recorder();
    let holding = false;
    const p = new ClientParser({ ...r.sink, connect: (json) => (r.sink.connect(json), p.hold(), (holding = true)) });
    // What a server does while its authenticator runs: keep the bytes, parse them later.
    const rest: Uint8Array[] = [];
    for (const chunk of splitAt(b, [cut])) {
      if (holding) rest.push(chunk);
      else {
        const used = p.push(chunk);
        if (used < chunk.length) rest.push(chunk.subarray(used));
      }
    }
    assert.deepEqual(r.events, want.slice(0, 2), `split at ${cut}: nothing after the CONNECT`);
    for (const chunk of rest) assert.equal(p.push(chunk), chunk.length);
    assert.deepEqual(r.events, want, `split at ${cut}`);
  }
});

test("limitPayload: a lowered cap applies to the next announced payload, and can be raised again", () => {
  const r = recorder();
  const p = new ClientParser(r.sink, { maxPayload: 1000 });
  p.limitPayload(10);
  p.push(bytes("PUB a 10\r\n0123456789\r\n"));
  p.limitPayload(1000);
  p.push(bytes(`PUB a 11\r\n${"x".repeat(11)}\r\n`));
  p.limitPayload(10);
  p.push(bytes("PUB a 11\r\n"));
  assert.deepEqual(r.events, [["pub", "a", undefined, -1, "0123456789"], ["pub", "a", undefined, -1, "x".repeat(11)], ["error", ERR.maxPayload]]);
});
