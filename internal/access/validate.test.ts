import assert from "node:assert/strict";
import { test } from "node:test";
import { AccessError } from "./errors.ts";
import { parseEmail } from "./validate.ts";

test("parseEmail: plausible addresses pass, lowercased", () => {
  const cases: [input: string, want: string][] = [
    ["dev@example.com", "dev@example.com"],
    ["Dev@Example.COM", "dev@example.com"],
    ["ci@robot.ward", "ci@robot.ward"],
    ["admin@localhost", "admin@localhost"],
    ["first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"],
    ["o'brien_{x}|~!#$%&*/=?^`@example.com", "o'brien_{x}|~!#$%&*/=?^`@example.com"],
    ["jörg@xn--mnchen-3ya.de", "jörg@xn--mnchen-3ya.de"],
    ["a@1-2.example", "a@1-2.example"],
    [`${"l".repeat(64)}@example.com`, `${"l".repeat(64)}@example.com`],
    [`a@${["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(59)].join(".")}`, `a@${["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(59)].join(".")}`],
  ];
  for (const [input, want] of cases) assert.equal(parseEmail(input), want, JSON.stringify(input));
});

test("parseEmail: control, whitespace, invisible and malformed input is refused with the reason and what to do", () => {
  const cases: [input: unknown, why: RegExp][] = [
    ["dev\u0000@example.com", /control character/],
    ["dev@example.com\u0000", /control character/],
    ["dev\u0007@example.com", /control character/],
    ["dev\u009b@example.com", /control character/],
    ["dev@exa\nmple.com", /control character/],
    ["dev @example.com", /whitespace/],
    ["dev@example.com ", /whitespace/],
    ["dev\u00a0@example.com", /whitespace/],
    ["dev\u3000@example.com", /whitespace/],
    ["dev\u202e@example.com", /invisible or text-direction/],
    ["admin\u202egro.elpmaxe@example.com", /invisible or text-direction/],
    ["dev\u2066@example.com", /invisible or text-direction/],
    ["dev\u200e@example.com", /invisible or text-direction/],
    ["ad\u200bmin@example.com", /invisible or text-direction/],
    ["admin@exa\u200dmple.com", /invisible or text-direction/],
    ["\ufeffadmin@example.com", /invisible or text-direction/],
    ["ad\u00admin@example.com", /invisible or text-direction/],
    ["\u3164@example.com", /invisible or text-direction/],
    ["dev\ud800@example.com", /invisible or text-direction/],
    ["", /exactly one @/],
    ["dev.example.com", /exactly one @/],
    ["dev@corp@example.com", /exactly one @/],
    ["@example.com", /before @ is empty/],
    [`${"l".repeat(65)}@example.com`, /before @ is longer than 64 bytes/],
    [`${"ö".repeat(33)}@example.com`, /before @ is longer than 64 bytes/],
    [`a@${"d".repeat(63)}.${"e".repeat(63)}.${"f".repeat(63)}.${"g".repeat(63)}.com`, /longer than 254 bytes/],
    [".dev@example.com", /dots \(not first, last or two in a row\)/],
    ["dev.@example.com", /dots/],
    ["d..ev@example.com", /dots/],
    ['"quoted"@example.com', /before @ may hold/],
    ["dev<x>@example.com", /before @ may hold/],
    ["dev,x@example.com", /before @ may hold/],
    ["dev\\x@example.com", /before @ may hold/],
    ["dev:x@example.com", /before @ may hold/],
    ["dev@", /domain after @ is empty/],
    ["dev@example..com", /DNS labels/],
    ["dev@.example.com", /DNS labels/],
    ["dev@example.com.", /DNS labels/],
    ["dev@-example.com", /DNS labels/],
    ["dev@example-.com", /DNS labels/],
    ["dev@exa_mple.com", /DNS labels/],
    ["dev@münchen.de", /DNS labels.*xn--/],
    ["dev@[127.0.0.1]", /DNS labels/],
    [`dev@${"a".repeat(64)}.com`, /DNS labels/],
    [42, /not a string/],
    [undefined, /not a string/],
    [null, /not a string/],
  ];
  for (const [input, why] of cases) {
    assert.throws(
      () => parseEmail(input),
      (e: unknown) => {
        assert.ok(e instanceof AccessError && e.reason === "Invalid", String(e));
        assert.match(e.message, why, JSON.stringify(input));
        assert.match(e.message, /^Invalid email .*; use an address like name@example\.com$/s);
        assert.doesNotMatch(e.message, /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/, "the message shows invisible characters escaped");
        return true;
      },
      JSON.stringify(input),
    );
  }
});

test("parseEmail: the error spells out the invisible character that made it fail", () => {
  assert.throws(() => parseEmail("admin\u202e@example.com"), /Invalid email "admin\\u202e@example\.com"/);
});
