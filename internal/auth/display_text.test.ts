import assert from "node:assert/strict";
import { test } from "node:test";
import { displayText } from "./display_text.ts";

test("displayText: invisible, bidi and control characters go, breaks become spaces, length is capped by code point", () => {
  const cases: [name: string, input: string, max: number, want: string][] = [
    ["plain text stays", "dev laptop", 100, "dev laptop"],
    ["C0 control", "laptop\u0007 of dev", 100, "laptop of dev"],
    ["NUL and DEL", "a\u0000b\u007fc", 100, "abc"],
    ["C1 control", "a\u0085b\u009bc", 100, "a bc"],
    ["line breaks and tabs separate words", "my\r\nlaptop\tat\u2028home\u2029now", 100, "my laptop at home now"],
    ["right-to-left override", "laptop\u202Egnp.exe", 100, "laptopgnp.exe"],
    ["every bidi embedding, override and mark", "a\u202Ab\u202Bc\u202Cd\u202De\u200Ef\u200Fg\u061Ch", 100, "abcdefgh"],
    ["bidi isolates", "a\u2066b\u2067c\u2068d\u2069e", 100, "abcde"],
    ["zero-width space, joiners, word joiner, BOM", "ad\u200Bm\u200Ci\u200Dn\u2060\uFEFF", 100, "admin"],
    ["soft hyphen and Mongolian vowel separator", "ad\u00ADmin\u180E", 100, "admin"],
    ["Hangul fillers that render as blank names", "\u3164\u115F\u1160\uFFA0", 100, ""],
    ["tag characters (invisible ASCII lookalikes)", "ok\u{E0061}\u{E0062}", 100, "ok"],
    ["lone surrogates", "a\uD800b\uDC00c", 100, "abc"],
    ["private use", "a\uE000b", 100, "ab"],
    ["runs of space-likes collapse; ends trimmed", " \u00A0 a \u3000\u2003 b\u00A0", 100, "a b"],
    ["non-Latin letters and emoji stay", "Jörg's 笔记本 🚀", 100, "Jörg's 笔记本 🚀"],
    ["capped at max code points", "abcdef", 3, "abc"],
    ["an astral character is never cut in half", "🚀🚀🚀", 2, "🚀🚀"],
    ["no trailing space after the cut", "ab cd", 3, "ab"],
  ];
  for (const [name, input, max, want] of cases) assert.equal(displayText(input, max), want, name);
});
