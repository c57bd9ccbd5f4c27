import { test } from "node:test";
import assert from "node:assert/strict";
import { assertClusterId, assertSubjectToken, isDns1123Label, isSubjectToken, isValidClusterId, parseDuration, requestIdFrom, isValidRequestId } from "./index.ts";

test("cluster ids: DNS-1123 labels, one rule for the CLI, the gateway and the agent", () => {
  for (const ok of ["a", "prod", "prod-1", "0", "a".repeat(63), "a-b-c"]) assert.ok(isValidClusterId(ok), ok);
  for (const bad of ["", "-a", "a-", "A", "a.b", "a*", "a>", "a b", "a_b", "a".repeat(64), "ward/x", "é"]) {
    assert.ok(!isValidClusterId(bad), bad);
    assert.throws(() => assertClusterId(bad), /^Error: Invalid cluster id .*: use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit$/);
  }
  assert.equal(assertClusterId("prod"), "prod");
});

test("DNS-1123 labels", () => {
  assert.ok(isDns1123Label("kube-system"));
  for (const bad of ["Kube", "-x", "x-", "x.y", "", "x".repeat(64)]) assert.ok(!isDns1123Label(bad), bad);
});

test("subject tokens: never a dot or a wildcard", () => {
  assert.ok(isSubjectToken("Ab_9-"));
  for (const bad of ["", "a.b", "*", ">", "a b", "x".repeat(65)]) assert.ok(!isSubjectToken(bad), bad);
  assert.throws(() => assertSubjectToken("a.b", "agent id"), /^Error: Invalid agent id "a.b": use 1-64 of \[A-Za-z0-9_-\]$/);
});

test("durations: one grammar, each caller picks units, fractions and bare numbers", () => {
  assert.equal(parseDuration("250ms"), 250);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("2d"), 172_800_000);
  assert.equal(parseDuration("42"), undefined);
  assert.equal(parseDuration("42", { bareMilliseconds: true }), 42);
  assert.equal(parseDuration("30s", { units: ["m", "h", "d"] }), undefined);
  assert.equal(parseDuration("1.5h", { fractions: false }), undefined);
  assert.equal(parseDuration("12h", { units: ["m", "h", "d"], fractions: false }), 43_200_000);
  for (const bad of ["-1s", "1 s", "s", "1.s", "1e3ms", " 1s"]) assert.equal(parseDuration(bad), undefined, bad);
});

test("request ids: a well-formed client id is kept, anything else replaced by a UUID", () => {
  for (const ok of ["a", "abc-123", "0f8e:req.1_x", "x".repeat(128)]) {
    assert.ok(isValidRequestId(ok), ok);
    assert.equal(requestIdFrom([ok]), ok);
  }
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  for (const bad of ["", "x".repeat(129), "a b", "a\nb", "a/b", "é", "<script>"]) {
    assert.ok(!isValidRequestId(bad), bad);
    assert.match(requestIdFrom([bad]), uuid);
  }
  assert.match(requestIdFrom([]), uuid);
  assert.match(requestIdFrom(["a", "b"]), uuid, "two ids: neither is trusted");
  assert.notEqual(requestIdFrom([]), requestIdFrom([]));
});
