/**
 * The Clusters page (the portal's home): every cluster the person can see, whether its agent is
 * online (refreshed every few seconds), their own grants, and a kubeconfig download for one or
 * several clusters with a chosen lifetime. Over plain HTTP the download is not offered, and the
 * page says why.
 */
import { html } from "hono/html";
import type { ClusterView, OrgSettingsView } from "../org_views.ts";
import { badge, grantText, lifetimeOptions, duration, shownName } from "./format.ts";
import type { Html } from "./layout.ts";

/** How often the page refreshes the clusters' online state. */
export const CLUSTERS_REFRESH_MS = 10_000;

function accessCell(c: ClusterView): Html {
  if (c.sandbox) return html`<span class="muted">Sandbox: access management does not apply</span>`;
  if (c.grants.length === 0) return html`<span class="muted">No access</span>`;
  return html`<ul class="plain">${c.grants.map((g) => html`<li>${grantText(g)}</li>`)}</ul>`;
}

/** The table, also served alone (`?part=clusters`) for the live refresh. */
export function clustersTable(clusters: ClusterView[], canManage: boolean): Html {
  if (clusters.length === 0) {
    return html`<p>${canManage ? html`No clusters yet. Register one through the API (<code>POST /api/v1/clusters</code>), then install its agent (<code>ward agent manifest</code>).` : "You have no access to any cluster yet: ask an admin for a grant."}</p>`;
  }
  return html`<table>
<caption class="sr-only">Clusters, their agent's state and your access</caption>
<thead><tr><th scope="col">Cluster</th><th scope="col">Agent</th><th scope="col">Your access</th></tr></thead>
<tbody>${clusters.map((c) => html`<tr data-cluster="${c.id}">
<td><a href="/clusters/${c.id}/access">${shownName(c.name)}</a><br><span class="id">${c.id}</span></td>
<td>${badge(c.online ? "online" : "offline")}</td>
<td>${accessCell(c)}</td></tr>`)}</tbody></table>`;
}

function downloadForm(s: OrgSettingsView, clusters: ClusterView[]): Html {
  if (!s.kubeconfig_download.available) {
    return html`<p class="notice warn" id="download-off">Kubeconfig download is not offered here: this gateway is reached over plain HTTP, and a kubeconfig carries bearer tokens that would travel in clear. Serve the gateway over HTTPS (its default) and open the portal at that address.</p>`;
  }
  const usable = clusters.filter((c) => !c.sandbox && c.grants.length > 0);
  if (usable.length === 0) return html`<p class="muted">You have no access grant on any cluster yet, so there is nothing to download: ask an admin for one.</p>`;
  return html`<form class="stack" id="download" data-org="/org/kubeconfig" data-then="download" data-filename="ward-kubeconfig.yaml">
<fieldset class="field checks"><legend>Clusters</legend>
${usable.map((c, i) => html`<label><input type="checkbox" name="clusters[]" value="${c.id}"${i === 0 ? html` checked` : ""}> ${shownName(c.name)} <span class="id">${c.id}</span></label>`)}
</fieldset>
<div class="field"><label for="download-lifetime">Token lifetime</label>
<select id="download-lifetime" name="lifetime_seconds" data-json="number" aria-describedby="download-lifetime-hint">${lifetimeOptions(s.max_token_lifetime_seconds)}</select>
<p class="hint" id="download-lifetime-hint">Each context carries a token that stops working after this. Your admins allow at most ${duration(s.max_token_lifetime_seconds)}.</p></div>
<div class="actions"><button type="submit" class="primary">Download kubeconfig</button></div>
<div class="result" role="status" aria-live="polite" data-result></div>
</form>`;
}

export function clustersPage(s: OrgSettingsView, clusters: ClusterView[] | null): Html {
  if (!s.enabled || clusters === null) {
    return html`<p class="notice" id="access-off">Access management is switched off on this gateway, so no cluster can be reached through it. ${s.can_manage ? html`Switch it on with <code>PUT /api/v1/settings/access</code> (<code>{"enabled": true}</code>).` : "An admin can switch it on."}</p>`;
  }
  return html`<p class="lede">The clusters you can reach through this gateway. Download a kubeconfig, or open a cluster to see its access.</p>
<section aria-labelledby="clusters-h"><h2 id="clusters-h">Clusters</h2>
<div data-part="clusters" data-refresh="/?part=clusters" data-every="${CLUSTERS_REFRESH_MS}">${clustersTable(clusters, s.can_manage)}</div>
</section>
<section aria-labelledby="download-h"><h2 id="download-h">Download a kubeconfig</h2>
<p class="lede">One file with a <code>ward-&lt;cluster&gt;</code> context for each cluster you pick. The expiry of each token is written in the file.</p>
${downloadForm(s, clusters)}
</section>`;
}
