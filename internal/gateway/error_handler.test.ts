import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { HttpError } from "../errors/index.ts";
import { createLogger } from "../log/index.ts";
import { httpErrorHandler } from "./error_handler.ts";

class OwnError extends HttpError {}

function app(thrown: Error) {
  const lines: Record<string, unknown>[] = [];
  const a = new Hono();
  a.onError(httpErrorHandler({
    owns: (err) => err instanceof OwnError,
    render: (err, c) => c.json({ reason: err.reason }, err.status as 400),
    internal: (c) => c.text("internal", 500),
    logger: createLogger({ write: (l) => void lines.push(JSON.parse(l)) }),
    logMessage: "unhandled test error",
  }));
  a.get("/x", () => {
    throw thrown;
  });
  return { a, lines };
}

test("an owned HttpError is rendered the surface's way, Retry-After set, nothing logged", async () => {
  const { a, lines } = app(new OwnError(429, "Slow", "Wait", { retryAfter: 7 }));
  const res = await a.request("/x");
  assert.equal(res.status, 429);
  assert.equal(res.headers.get("retry-after"), "7");
  assert.deepEqual(await res.json(), { reason: "Slow" });
  assert.deepEqual(lines, []);
});

test("any other error (an HttpError of another surface too) is logged with the path and answered as internal", async () => {
  for (const thrown of [new Error("boom"), new HttpError(400, "Other", "not this surface's")]) {
    const { a, lines } = app(thrown);
    const res = await a.request("/x");
    assert.equal(res.status, 500);
    assert.equal(res.headers.get("retry-after"), null);
    assert.equal(await res.text(), "internal");
    assert.deepEqual(lines.map((l) => [l["level"], l["msg"], l["path"]]), [["error", "unhandled test error", "/x"]]);
  }
});

test("a full disk under the database (SQLITE_FULL, PostgreSQL 53100) is a 507 StoreFull that says what to free; a locked SQLite file a 503 that says so", async () => {
  for (const code of ["SQLITE_FULL", "53100"]) {
    const { a, lines } = app(Object.assign(new Error("database or disk is full"), { code }));
    const res = await a.request("/x");
    assert.equal(res.status, 507, code);
    assert.deepEqual(await res.json(), { reason: "StoreFull" });
    assert.deepEqual(lines.map((l) => [l["level"], l["msg"], l["cause"]]), [["error", "store full: a write was refused", code]]);
  }
  for (const code of ["SQLITE_BUSY", "SQLITE_BUSY_SNAPSHOT"]) {
    const { a, lines } = app(Object.assign(new Error("database is locked"), { code }));
    const res = await a.request("/x");
    assert.equal(res.status, 503, code);
    assert.equal(res.headers.get("retry-after"), "5");
    assert.deepEqual(await res.json(), { reason: "StoreUnavailable" });
    assert.deepEqual(lines.map((l) => [l["level"], l["msg"]]), [["warn", "store busy"]]);
  }
});
