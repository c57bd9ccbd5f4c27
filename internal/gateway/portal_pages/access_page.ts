/**
 * A cluster's Access view, adapting to the role. Everyone sees whether the cluster's agent is
 * online, their own access (which grants, live), how to use it (the CLI commands, or a generated
 * kubeconfig to download or copy) and the k8s tokens issued to them. Admins also manage: the grants
 * of everyone with their reconcile status (live as the agent reports), a grant form, per-token
 * revocation of everyone's tokens, and "revoke all" behind a confirmation that names what happens.
 *
 * Parts of the page (`data-part`) are also served alone (`?part=NAME`) so the script can refresh
 * them after a change or on a live event; each renders from the same views the `/org` API answers.
 */
import { html } from "hono/html";
import { DNS1123_LABEL_PATTERN, DNS1123_LABEL_RULE } from "../../validate/index.ts";
import type { ClusterAccessView, GrantView, MemberView, TokenView } from "../org_views.ts";
import { badge, duration, grantText, lifetimeOptions, shownEmail, shownName, time } from "./format.ts";
import type { Html } from "./layout.ts";

export type ClusterAccess = Extract<ClusterAccessView, { cluster: { id: string } }>;

export interface AccessPageData {
  view: ClusterAccess;
  /** Everyone's grants (admins) — null for members, who see their own in `view.my_grants`. */
  grants: GrantView[] | null;
  members: MemberView[] | null;
  tokens: TokenView[];
  /** The gateway's external URL, for the CLI commands. */
  gatewayUrl: string;
  now: number;
}

export const ACCESS_PARTS = ["presence", "mine", "grants", "tokens"] as const;
export type AccessPart = (typeof ACCESS_PARTS)[number];

const ROLES: [string, string][] = [
  ["view", "view — read most objects (not Secrets)"],
  ["edit", "edit — change workloads and read Secrets"],
  ["admin", "admin — edit plus roles and bindings in a namespace"],
  ["cluster-admin", "cluster-admin — everything"],
];

const base = (d: AccessPageData) => `/org/clusters/${d.view.cluster.id}/access`;
const pageUrl = (d: AccessPageData) => `/clusters/${d.view.cluster.id}/access`;

function presence(d: AccessPageData): Html {
  return html`Agent ${badge(d.view.online ? "online" : "offline")}`;
}

function mine(d: AccessPageData): Html {
  const v = d.view;
  if (!v.has_access) {
    return html`<p id="no-access">You have no access grant on this cluster. ${v.can_manage ? "Managing access does not grant it: give yourself a grant below." : "Ask an admin for one."}</p>`;
  }
  return html`<p>You can use this cluster through ${v.my_grants.length === 1 ? "this grant" : "these grants"}:</p>
<ul class="plain" id="my-grants">${v.my_grants.map((g) => html`<li>${grantText(g)} ${badge(g.status)}</li>`)}</ul>`;
}

function useIt(d: AccessPageData): Html {
  const v = d.view;
  if (!v.has_access) return "" as unknown as Html;
  const ns = v.default_namespace ? ` --namespace ${v.default_namespace}` : v.namespaces.length > 1 ? ` --namespace ${v.namespaces[0]}` : "";
  const id = v.cluster.id;
  const file = html`<form class="stack" id="kubeconfig-form" data-org="${base(d)}/kubeconfig" data-then="kubeconfig" data-filename="ward-${id}.kubeconfig.yaml">
<div class="field"><label for="kc-lifetime">Token lifetime</label>
<select id="kc-lifetime" name="lifetime_seconds" data-json="number" aria-describedby="kc-lifetime-hint">${lifetimeOptions(v.max_token_lifetime_seconds)}</select>
<p class="hint" id="kc-lifetime-hint">At most ${duration(v.max_token_lifetime_seconds)}; a token of time-boxed access ends with the grant.</p></div>
<div class="actions"><button type="submit" class="primary">Generate kubeconfig</button></div>
<div class="result" role="status" aria-live="polite" data-result></div>
</form>`;
  return html`<h3>With the Ward CLI</h3>
<p>Tokens are fetched and renewed for you:</p>
<pre id="cli-commands"><code>ward login --gateway ${d.gatewayUrl}
ward cluster kubeconfig add --cluster ${id} --use${ns}</code></pre>
${v.namespaces.length > 1 ? html`<p class="hint">Your access is in several namespaces (${v.namespaces.join(", ")}): pick one with <code>--namespace</code>.</p>` : ""}
<h3>Or a kubeconfig file</h3>
${v.kubeconfig_download.available ? file : html`<p class="notice warn">Kubeconfig download is not offered here: this gateway is reached over plain HTTP, and the file's token would travel in clear. Serve the gateway over HTTPS (its default).</p>`}`;
}

function grantsTable(d: AccessPageData): Html {
  const grants = d.grants ?? [];
  if (grants.length === 0) return html`<p id="no-grants">No grants on this cluster yet.</p>`;
  return html`<table id="grants-table">
<caption class="sr-only">Grants on this cluster and their state in the cluster</caption>
<thead><tr><th scope="col">Member</th><th scope="col">Role</th><th scope="col">Scope</th><th scope="col">Expires</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody>${grants.map((g) => html`<tr data-grant="${g.id}">
<td>${shownEmail(g.member_email)}</td>
<td>${g.role}</td>
<td>${g.scope === "namespace" ? html`namespace <code>${g.namespace}</code>` : "whole cluster"}</td>
<td>${time(g.expires_at, "never")}</td>
<td>${badge(g.status)}${g.status === "failed" && g.error ? html`<span class="detail">${shownName(g.error)}</span>` : ""}</td>
<td><button type="button" class="danger" data-delete="${base(d)}/grants/${g.id}"
 data-confirm="Delete ${g.role} access of ${shownEmail(g.member_email)}? Their tokens for this cluster stop working under this grant and their open sessions close."
 data-confirm-ok="Delete grant" aria-label="Delete the ${g.role} grant of ${shownEmail(g.member_email)}">Delete</button></td>
</tr>`)}</tbody></table>`;
}

function grantForm(d: AccessPageData): Html {
  return html`<form class="stack" id="grant-form" data-org="${base(d)}/grants" data-then="refresh" data-done="Grant created: the agent applies it now.">
<div class="field"><label for="grant-member">Member's email</label>
<input type="email" id="grant-member" name="member_email" list="grant-members" required autocomplete="off" placeholder="name@example.com">
<datalist id="grant-members">${(d.members ?? []).map((m) => html`<option value="${shownEmail(m.email)}"></option>`)}</datalist></div>
<div class="field"><label for="grant-role">Role</label>
<select id="grant-role" name="role">${ROLES.map(([v, label]) => html`<option value="${v}">${label}</option>`)}</select></div>
<fieldset class="field"><legend>Scope</legend>
<label><input type="radio" name="scope" value="namespace" checked data-controls="grant-namespace"> One namespace</label>
<label><input type="radio" name="scope" value="cluster" data-controls="grant-namespace"> The whole cluster</label></fieldset>
<div class="field"><label for="grant-namespace">Namespace</label>
<input type="text" id="grant-namespace" name="namespace" required maxlength="63" pattern="${DNS1123_LABEL_PATTERN}" placeholder="team-a" autocomplete="off" aria-describedby="grant-namespace-hint">
<p class="hint" id="grant-namespace-hint">A Kubernetes namespace name: ${DNS1123_LABEL_RULE}.</p></div>
<div class="field"><label for="grant-expires">Expires (optional, in your local time)</label>
<input type="datetime-local" id="grant-expires" name="expires_at" data-json="local-time" aria-describedby="grant-expires-hint">
<p class="hint" id="grant-expires-hint">Leave empty for access until someone removes it.</p></div>
<div class="actions"><button type="submit" class="primary">Grant access</button></div>
<div class="result" role="status" aria-live="polite" data-result></div>
</form>`;
}

function tokenState(t: TokenView, now: number): string {
  if (t.revoked_at) return "revoked";
  return Date.parse(t.expires_at) <= now ? "expired" : "active";
}

function tokensTable(d: AccessPageData): Html {
  const admin = d.view.can_manage;
  // Newest first: the one just issued is on top.
  const tokens = [...d.tokens].reverse();
  if (tokens.length === 0) return html`<p id="no-tokens">No tokens issued for this cluster${admin ? "" : " to you"} yet.</p>`;
  return html`<table id="tokens-table">
<caption class="sr-only">k8s tokens issued for this cluster</caption>
<thead><tr><th scope="col">Token</th>${admin ? html`<th scope="col">Member</th>` : ""}<th scope="col">Kind</th><th scope="col">Issued</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody>${tokens.map((t) => {
    const state = tokenState(t, d.now);
    return html`<tr data-token="${t.id}">
<td><code>${t.id}</code></td>${admin ? html`<td>${shownEmail(t.member_email)}</td>` : ""}
<td>${t.kind}</td><td>${time(t.issued_at)}</td><td>${time(t.expires_at)}</td><td>${time(t.last_used_at, "never")}</td>
<td>${badge(state)}</td>
<td>${state === "active" ? html`<button type="button" class="danger" data-delete="${base(d)}/tokens/${t.id}" data-confirm="Revoke token ${t.id}? kubectl using it stops working at once and its open sessions close." data-confirm-ok="Revoke token" aria-label="Revoke token ${t.id}">Revoke</button>` : ""}</td>
</tr>`;
  })}</tbody></table>`;
}

/** One part alone, for the script's refresh. */
export function accessPart(part: AccessPart, d: AccessPageData): Html {
  switch (part) {
    case "presence": return presence(d);
    case "mine": return mine(d);
    case "grants": return grantsTable(d);
    case "tokens": return tokensTable(d);
  }
}

const part = (d: AccessPageData, name: AccessPart, body: Html, live = false) =>
  name === "presence"
    ? html`<span data-part="${name}" data-refresh="${pageUrl(d)}?part=${name}"${live ? html` data-live` : ""}>${body}</span>`
    : html`<div data-part="${name}" data-refresh="${pageUrl(d)}?part=${name}"${live ? html` data-live` : ""}>${body}</div>`;

export function accessPage(d: AccessPageData): Html {
  const v = d.view;
  const admin = v.can_manage;
  return html`<p class="lede"><span class="id">${v.cluster.id}</span> &middot; ${part(d, "presence", presence(d), true)}</p>
<div data-events="${base(d)}/events" hidden></div>
<section aria-labelledby="mine-h"><h2 id="mine-h">Your access</h2>
${part(d, "mine", mine(d), true)}
${useIt(d)}
</section>
${admin ? html`<section aria-labelledby="grants-h"><h2 id="grants-h">Grants</h2>
<p class="lede">Each grant becomes a RoleBinding or ClusterRoleBinding in the cluster; its state follows what the agent reports.</p>
${part(d, "grants", grantsTable(d), true)}
<h3 id="grant-form-h">Grant access</h3>
${grantForm(d)}
</section>` : ""}
<section aria-labelledby="tokens-h"><h2 id="tokens-h">Issued credentials</h2>
<p class="lede">${admin ? "Every k8s token issued for this cluster" : "The k8s tokens issued to you for this cluster"} (kubeconfig downloads and the CLI's short-lived tokens). Revoking one stops it at once.</p>
${part(d, "tokens", tokensTable(d))}
</section>
${admin ? html`<section class="panel danger" aria-labelledby="revoke-h"><h2 id="revoke-h">Revoke all tokens</h2>
<p>Every token issued for this cluster stops working at once, and open kubectl sessions (watches, <code>logs -f</code>, exec, port-forward) close. Grants stay: people get new tokens from the CLI or a new kubeconfig.</p>
<form id="revoke-all" data-org="${base(d)}/revoke-all" data-then="refresh" data-done="Every token for this cluster was revoked."
 data-confirm="Revoke every token for cluster ${v.cluster.id}? Every token issued for this cluster stops working at once, and every open kubectl session through Ward closes. Grants stay."
 data-confirm-ok="Revoke all tokens">
<div class="actions"><button type="submit" class="danger">Revoke all tokens&hellip;</button></div>
<div class="result" role="status" aria-live="polite" data-result></div>
</form></section>` : ""}`;
}

/** The view when the access feature is off, or the cluster is a sandbox. */
export function accessUnavailable(kind: "disabled" | "sandbox", canManage: boolean, clusterId: string): Html {
  if (kind === "disabled") {
    return html`<p class="notice" id="access-off">Access management is switched off on this gateway: nobody can reach <code>${clusterId}</code> through Ward, and its access endpoints answer 404. ${canManage ? html`Switch it on with <code>PUT /api/v1/settings/access</code> (<code>{"enabled": true}</code>).` : "An admin can switch it on."}</p>`;
  }
  return html`<p class="notice" id="sandbox">This is a sandbox cluster: access management (grants, tokens, kubeconfigs) is not supported for sandbox clusters.</p>`;
}
