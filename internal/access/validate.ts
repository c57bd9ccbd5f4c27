/** Pure validation of access inputs. Every function throws an `AccessError("Invalid")` with a clear message. */
import { CLUSTER_ID_RULE, DNS1123_LABEL_RULE, isDns1123Label, isValidClusterId } from "../validate/index.ts";
import { ROLES, SCOPES, type GrantRole, type GrantScope } from "../bus/index.ts";
import { AccessError } from "./errors.ts";

export const MEMBER_ROLES = ["admin", "member"] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

/** RFC 5321 limits, in octets. */
const MAX_EMAIL = 254;
const MAX_LOCAL_PART = 64;
/** A dot-atom's atom: RFC 5322 atext plus letters, marks and digits of any script (RFC 6531). */
const LOCAL_ATOM = /^[\p{L}\p{M}\p{N}!#$%&'*+\-/=?^_`{|}~]+$/u;
/** Format characters (bidi marks, overrides, isolates, zero-width ones), surrogates, private use,
 * unassigned, and the Hangul fillers: nothing a person can see, so nothing an address may hold. */
const INVISIBLE = /[\p{Cf}\p{Cs}\p{Co}\p{Cn}\u115f\u1160\u3164\uffa0]/u;

export function parseGrantRole(v: unknown): GrantRole {
  if (typeof v === "string" && (ROLES as readonly string[]).includes(v)) return v as GrantRole;
  throw new AccessError("Invalid", `Invalid role ${JSON.stringify(v)}: use one of ${ROLES.join(", ")}`);
}

export function parseScope(v: unknown): GrantScope {
  if (typeof v === "string" && (SCOPES as readonly string[]).includes(v)) return v as GrantScope;
  throw new AccessError("Invalid", `Invalid scope ${JSON.stringify(v)}: use cluster or namespace`);
}

export function parseMemberRole(v: unknown): MemberRole {
  if (typeof v === "string" && (MEMBER_ROLES as readonly string[]).includes(v)) return v as MemberRole;
  throw new AccessError("Invalid", `Invalid member role ${JSON.stringify(v)}: use admin or member`);
}

/** The namespace of a grant: required and a DNS-1123 label for namespace scope, absent for cluster scope. */
export function parseNamespace(scope: GrantScope, v: unknown): string {
  if (scope === "cluster") {
    if (v !== undefined && v !== null && v !== "") {
      throw new AccessError("Invalid", "A cluster-scoped grant takes no namespace: drop it or use scope namespace");
    }
    return "";
  }
  if (typeof v !== "string" || !isDns1123Label(v)) {
    throw new AccessError(
      "Invalid",
      `Invalid namespace ${JSON.stringify(typeof v === "string" ? v.slice(0, 80) : v)}: use a DNS-1123 label (${DNS1123_LABEL_RULE})`,
    );
  }
  return v;
}

/**
 * A member's email, lowercased. It names the member in kubectl (`ward:<email>`), in RBAC bindings
 * and on pages, so only a plausible addr-spec passes: `local@domain`, the local part a dot-atom,
 * the domain DNS labels (international names in their xn-- form), nothing invisible.
 */
export function parseEmail(v: unknown): string {
  const problem = typeof v === "string" ? emailProblem(v) : "it is not a string";
  if (problem) throw new AccessError("Invalid", `Invalid email ${quoted(v)}: ${problem}; use an address like name@example.com`);
  return (v as string).toLowerCase();
}

/** What keeps `s` from being a plausible address, or "" when nothing does. */
function emailProblem(s: string): string {
  if (/\p{Cc}/u.test(s)) return "it contains a control character";
  // Before whitespace: JavaScript counts the zero-width BOM as a space.
  if (INVISIBLE.test(s)) return "it contains an invisible or text-direction formatting character";
  if (/\s/u.test(s)) return "it contains whitespace";
  if (octets(s) > MAX_EMAIL) return `it is longer than ${MAX_EMAIL} bytes`;
  const at = s.indexOf("@");
  if (at < 0 || at !== s.lastIndexOf("@")) return "it must contain exactly one @";
  const local = s.slice(0, at);
  const domain = s.slice(at + 1);
  if (local === "") return "the part before @ is empty";
  if (octets(local) > MAX_LOCAL_PART) return `the part before @ is longer than ${MAX_LOCAL_PART} bytes`;
  if (!local.split(".").every((atom) => LOCAL_ATOM.test(atom))) {
    return "the part before @ may hold letters, digits, !#$%&'*+-/=?^_`{|}~ and dots (not first, last or two in a row)";
  }
  if (domain === "") return "the domain after @ is empty";
  if (!domain.split(".").every((label) => isDns1123Label(label.toLowerCase()))) {
    return "the domain must be DNS labels joined by dots (letters, digits and '-', not at a label's ends; xn-- form for international names)";
  }
  return "";
}

function octets(s: string): number {
  return new TextEncoder().encode(s).length;
}

/** `v` for an error message, invisible characters spelled out (\u202e) so a person can see them. */
function quoted(v: unknown): string {
  const s = JSON.stringify(typeof v === "string" ? v.slice(0, 80) : v) ?? String(v);
  return s.replace(/(?! )[\p{C}\p{Z}]/gu, (ch) => `\\u${ch.codePointAt(0)!.toString(16).padStart(4, "0")}`);
}

export function parseClusterId(v: unknown): string {
  if (typeof v !== "string" || !isValidClusterId(v)) {
    throw new AccessError("Invalid", `Invalid cluster id ${JSON.stringify(v)}: use ${CLUSTER_ID_RULE}`);
  }
  return v;
}

/** An optional expiry: an ISO date in the future (relative to `now`). */
export function parseExpiry(v: unknown, now: number): string | null {
  if (v === undefined || v === null || v === "") return null;
  const t = typeof v === "string" ? Date.parse(v) : NaN;
  if (!Number.isFinite(t)) throw new AccessError("Invalid", `Invalid expires_at ${JSON.stringify(v)}: use an ISO-8601 time such as 2030-01-01T00:00:00Z`);
  if (t <= now) throw new AccessError("Invalid", "expires_at is in the past: pick a time in the future");
  return new Date(t).toISOString();
}
