/**
 * Text that someone else chose (a device name, an email from the identity provider, a provider's
 * error description) made safe to show a person. HTML escaping stops markup, but not characters
 * that change what the text appears to say: bidi overrides can make "evil.example" read as
 * "elpmaxe.live", zero-width characters hide differences, controls and line breaks fake layout.
 */

/** Tabs and line breaks separate words: they become spaces, not nothing. */
const BREAKS = /[\t\n\v\f\r\x85\u2028\u2029]/g;
/**
 * Unicode "other" (controls, format characters such as bidi marks, overrides and isolates,
 * zero-width spaces and joiners, the BOM; surrogates, private use, unassigned), and the Hangul
 * fillers: letters that render as nothing and are used as blank names.
 */
const INVISIBLE = /[\p{C}\u115f\u1160\u3164\uffa0]/gu;

/**
 * `s` without invisible and layout-changing characters, spaces collapsed, trimmed, and at most
 * `maxLength` code points (never half a surrogate pair). Not an HTML escape: render it escaped.
 */
export function displayText(s: string, maxLength: number): string {
  const visible = s.replace(BREAKS, " ").replace(INVISIBLE, "").replace(/\s+/gu, " ").trim();
  const points = Array.from(visible);
  return points.length <= maxLength ? visible : points.slice(0, maxLength).join("").trimEnd();
}
