/** How the portal writes times, lifetimes, grants and states. */
import { html } from "hono/html";
import { displayText } from "../../auth/index.ts";
import type { Html } from "./layout.ts";

/** Lengths at which text from others (emails, names, agent errors) is cut on pages. */
export const SHOWN = { email: 254, name: 100, message: 500 } as const;

export const shownEmail = (s: string | null | undefined) => (s ? displayText(s, SHOWN.email) : "—");
export const shownName = (s: string) => displayText(s, SHOWN.name);

/** "2030-01-01 09:30 UTC": unambiguous in any time zone; the exact instant in `datetime`. */
export function time(iso: string | null | undefined, none = "—"): Html {
  if (!iso) return html`${none}`;
  return html`<time datetime="${iso}">${iso.slice(0, 16).replace("T", " ")} UTC</time>`;
}

const UNITS: [number, string][] = [[86_400, "day"], [3_600, "hour"], [60, "minute"], [1, "second"]];

/** 28800 → "8 hours". */
export function duration(seconds: number): string {
  for (const [n, unit] of UNITS) {
    if (seconds >= n && seconds % n === 0) {
      const v = seconds / n;
      return `${v} ${unit}${v === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} seconds`;
}

const LIFETIMES = [15 * 60, 3_600, 8 * 3_600, 86_400, 7 * 86_400, 30 * 86_400];

/** The lifetimes offered for a kubeconfig: the usual ones under the admins' maximum, and the maximum (the default). */
export function lifetimeOptions(maxSeconds: number): Html {
  const values = [...LIFETIMES.filter((s) => s < maxSeconds), maxSeconds];
  return html`${values.map((s) => html`<option value="${s}"${s === maxSeconds ? html` selected` : ""}>${duration(s)}${s === maxSeconds ? " (the maximum)" : ""}</option>`)}`;
}

export interface GrantLike {
  role: string;
  scope: string;
  namespace: string | null;
  expires_at: string | null;
}

/** "edit in namespace team-a until 2030-01-01 09:30 UTC". */
export function grantText(g: GrantLike): Html {
  const where = g.scope === "namespace" ? html`in namespace <code>${g.namespace}</code>` : html`on the whole cluster`;
  return html`<strong>${g.role}</strong> ${where}${g.expires_at ? html` until ${time(g.expires_at)}` : ""}`;
}

const STATE_WORDS: Record<string, string> = {
  online: "Online", offline: "Offline", pending: "Pending", applied: "Applied", failed: "Failed",
  cluster_offline: "Cluster offline", active: "Active", revoked: "Revoked", expired: "Expired",
};

/** A state in words and colour (never colour alone). */
export function badge(state: string): Html {
  return html`<span class="badge s-${state}">${STATE_WORDS[state] ?? state}</span>`;
}
