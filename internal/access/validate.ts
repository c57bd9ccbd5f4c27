/** Pure validation of access inputs. Every function throws an `AccessError("Invalid")` with a clear message. */
import { isValidClusterId } from "../bus/index.ts";
import { AccessError } from "./errors.ts";

export const ROLES = ["view", "edit", "admin", "cluster-admin"] as const;
export type GrantRole = (typeof ROLES)[number];
export const SCOPES = ["cluster", "namespace"] as const;
export type GrantScope = (typeof SCOPES)[number];
export const MEMBER_ROLES = ["admin", "member"] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

export function isDns1123Label(s: string): boolean {
  return DNS1123_LABEL.test(s);
}

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
      `Invalid namespace ${JSON.stringify(typeof v === "string" ? v.slice(0, 80) : v)}: use a DNS-1123 label (1-63 lowercase letters, digits and '-', starting and ending with a letter or digit)`,
    );
  }
  return v;
}

export function parseEmail(v: unknown): string {
  if (typeof v !== "string" || !EMAIL.test(v)) throw new AccessError("Invalid", `Invalid email ${JSON.stringify(v)}: use name@domain`);
  return v.toLowerCase();
}

export function parseClusterId(v: unknown): string {
  if (typeof v !== "string" || !isValidClusterId(v)) {
    throw new AccessError("Invalid", `Invalid cluster id ${JSON.stringify(v)}: use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit`);
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
