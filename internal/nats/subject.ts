/**
 * Subject syntax, as nats-server defines it: tokens separated by `.`, none empty, no whitespace.
 * A token that is exactly `*` matches one token; exactly `>` matches one or more and must be last.
 * (`a*` is an ordinary literal token.) Pure functions, no allocation on the hot paths.
 */

const DOT = 0x2e;
const STAR = 0x2a;
const GT = 0x3e;

/** The whitespace nats-server refuses in subjects: space, tab, CR, LF and form feed. */
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a || c === 0x0c;
}

/**
 * 0 = invalid, 1 = valid literal, 2 = valid with wildcards.
 * One pass, no allocation.
 */
export function classifySubject(s: string): 0 | 1 | 2 {
  const n = s.length;
  if (n === 0) return 0;
  let tokenStart = 0;
  let wild = false;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : DOT;
    if (c === DOT) {
      const len = i - tokenStart;
      if (len === 0) return 0;
      if (len === 1) {
        const t = s.charCodeAt(tokenStart);
        if (t === STAR) wild = true;
        else if (t === GT) {
          if (i !== n) return 0;
          wild = true;
        }
      }
      tokenStart = i + 1;
    } else if (isSpace(c)) {
      return 0;
    }
  }
  return wild ? 2 : 1;
}

/** Valid for SUB (wildcards allowed). */
export function isValidSubject(s: string): boolean {
  return classifySubject(s) !== 0;
}

/** Valid for PUB and reply subjects (no wildcards). */
export function isValidLiteralSubject(s: string): boolean {
  return classifySubject(s) === 1;
}

/** A queue group name: non-empty, no whitespace. */
export function isValidQueueName(q: string): boolean {
  if (q.length === 0) return false;
  for (let i = 0; i < q.length; i++) if (isSpace(q.charCodeAt(i))) return false;
  return true;
}

/**
 * Does `pattern` (may hold wildcards) match the literal `subject`? No allocation:
 * walks both strings token by token.
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const pn = pattern.length;
  const sn = subject.length;
  if (pn === 0 || sn === 0) return false;
  let p = 0;
  let s = 0;
  for (;;) {
    let pe = pattern.indexOf(".", p);
    if (pe < 0) pe = pn;
    let se = subject.indexOf(".", s);
    if (se < 0) se = sn;
    const plen = pe - p;
    if (plen === 1 && pattern.charCodeAt(p) === GT) return true;
    if (!(plen === 1 && pattern.charCodeAt(p) === STAR)) {
      if (plen !== se - s) return false;
      for (let i = 0; i < plen; i++) if (pattern.charCodeAt(p + i) !== subject.charCodeAt(s + i)) return false;
    }
    const pDone = pe === pn;
    const sDone = se === sn;
    if (pDone || sDone) return pDone && sDone;
    p = pe + 1;
    s = se + 1;
  }
}

/**
 * Is every subject matched by `sub` also matched by `allow`? Both may hold wildcards.
 * Used for subscribe permissions: `foo.*` is covered by `foo.>` but `foo.>` is not covered
 * by `foo.*`.
 */
export function subjectCovers(allow: string, sub: string): boolean {
  const a = allow.split(".");
  const s = sub.split(".");
  for (let i = 0; i < a.length; i++) {
    const at = a[i];
    if (at === ">") return i < s.length;
    const st = s[i];
    if (st === undefined) return false;
    if (at === "*") {
      if (st === ">") return false;
      continue;
    }
    if (st !== at) return false;
  }
  return a.length === s.length;
}
