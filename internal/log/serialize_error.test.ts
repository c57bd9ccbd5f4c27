import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger } from "./index.ts";
import { MAX_CAUSE_DEPTH, serializeError } from "./serialize_error.ts";

class UpstreamError extends Error {
  override name = "UpstreamError";
  code = "ECONNRESET";
  /** What must never reach a log. */
  headers = { authorization: "Bearer secret-token" };
  token = "secret-token";
}

test("a logged error keeps its class, message, stack, code and cause, and nothing else", () => {
  const lines: string[] = [];
  const log = createLogger({ write: (l) => lines.push(l) });
  const root = new TypeError("socket hang up");
  const err = new UpstreamError("upstream failed", { cause: root });
  log.error("request failed", { err, path: "/x" });
  assert.equal(lines.length, 1);
  assert.ok(!lines[0]!.includes("secret-token"), lines[0]);
  const rec = JSON.parse(lines[0]!);
  assert.equal(rec.path, "/x");
  assert.equal(rec.err.name, "UpstreamError");
  assert.equal(rec.err.message, "upstream failed");
  assert.equal(rec.err.code, "ECONNRESET");
  assert.match(rec.err.stack, /^UpstreamError: upstream failed\n\s+at /);
  assert.deepEqual(Object.keys(rec.err).sort(), ["cause", "code", "message", "name", "stack"]);
  assert.equal(rec.err.cause.name, "TypeError");
  assert.equal(rec.err.cause.message, "socket hang up");
  assert.match(rec.err.cause.stack, /^TypeError: socket hang up/);
  assert.equal(rec.err.cause.cause, undefined);
});

test("causes: primitives kept, objects dropped, chains and cycles bounded", () => {
  assert.equal(serializeError(new Error("a", { cause: "why" })).cause, "why");
  assert.equal(serializeError(new Error("a", { cause: { headers: { authorization: "x" } } })).cause, undefined);
  assert.equal(serializeError(Object.assign(new Error("a"), { code: { nested: 1 } })).code, undefined);
  const a = new Error("a");
  const b = new Error("b", { cause: a });
  a.cause = b; // a cycle
  let s = serializeError(a);
  let depth = 0;
  while (typeof s.cause === "object") {
    s = s.cause;
    depth++;
  }
  assert.equal(depth, MAX_CAUSE_DEPTH);
});
