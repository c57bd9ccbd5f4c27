import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { classifySubject, isValidQueueName, subjectCovers, subjectMatches } from "./subject.ts";

test("classifies subjects like nats-server", () => {
  const cases: [string, 0 | 1 | 2][] = [
    ["foo", 1],
    ["foo.bar", 1],
    ["foo.b*r", 1],
    ["foo.>x", 1],
    ["$SYS.x", 1],
    ["foo.*", 2],
    ["*", 2],
    [">", 2],
    ["foo.*.bar.>", 2],
    ["", 0],
    [".", 0],
    ["foo.", 0],
    [".foo", 0],
    ["foo..bar", 0],
    ["foo.>.bar", 0],
    ["foo bar", 0],
    ["foo\tbar", 0],
    ["foo\r", 0],
    ["foo\n", 0],
    // Form feed is whitespace to nats-server too (found by the nats-parser fuzz target).
    ["foo\fbar", 0],
    ["\f", 0],
    ["foo.\f", 0],
  ];
  for (const [s, want] of cases) assert.equal(classifySubject(s), want, JSON.stringify(s));
  assert.equal(isValidQueueName("q"), true);
  assert.equal(isValidQueueName(""), false);
  assert.equal(isValidQueueName("a b"), false);
  assert.equal(isValidQueueName("a\fb"), false);
});

test("matches wildcards", () => {
  const yes: [string, string][] = [
    ["foo", "foo"],
    ["foo.*", "foo.bar"],
    ["*.bar", "foo.bar"],
    ["foo.>", "foo.bar"],
    ["foo.>", "foo.bar.baz"],
    [">", "foo"],
    ["*.*.c", "a.b.c"],
  ];
  const no: [string, string][] = [
    ["foo", "foo.bar"],
    ["foo.bar", "foo"],
    ["foo.*", "foo"],
    ["foo.*", "foo.bar.baz"],
    ["foo.>", "foo"],
    ["foo.bar", "foo.baz"],
    ["foo.ba", "foo.bar"],
    ["fo", "foo"],
  ];
  for (const [p, s] of yes) assert.equal(subjectMatches(p, s), true, `${p} ~ ${s}`);
  for (const [p, s] of no) assert.equal(subjectMatches(p, s), false, `${p} !~ ${s}`);
});

test("coverage for subscribe permissions", () => {
  assert.equal(subjectCovers("foo.>", "foo.*"), true);
  assert.equal(subjectCovers("foo.>", "foo.bar.>"), true);
  assert.equal(subjectCovers("foo.*", "foo.bar"), true);
  assert.equal(subjectCovers("foo.*", "foo.*"), true);
  assert.equal(subjectCovers("foo.*", "foo.>"), false);
  assert.equal(subjectCovers("foo.bar", "foo.*"), false);
  assert.equal(subjectCovers("foo.>", "foo"), false);
  assert.equal(subjectCovers("foo.>", ">"), false);
  assert.equal(subjectCovers(">", ">"), true);
});

test("property: subjectMatches agrees with a regex model", () => {
  const tok = fc.constantFrom("a", "b", "cd");
  const pat = fc.array(fc.constantFrom("a", "b", "cd", "*"), { minLength: 1, maxLength: 4 }).chain((ts) =>
    fc.boolean().map((fwc) => (fwc ? [...ts.slice(0, -1), ">"] : ts).join(".")),
  );
  const subj = fc.array(tok, { minLength: 1, maxLength: 5 }).map((t) => t.join("."));
  fc.assert(
    fc.property(pat, subj, (p, s) => {
      const re = new RegExp("^" + p.split(".").map((t) => (t === "*" ? "[^.]+" : t === ">" ? ".+" : t)).join("\\.") + "$");
      assert.equal(subjectMatches(p, s), re.test(s));
    }),
    { numRuns: 2000 },
  );
});
