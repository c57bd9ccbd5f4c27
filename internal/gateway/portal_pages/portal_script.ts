/**
 * The portal's progressive script, shipped inside the executable (no CDN, nothing fetched at run
 * time). Pages work without it; with it, forms marked `data-org` send JSON to the `/org` API with
 * the session's CSRF token (from `<meta name="csrf-token">`) in `X-CSRF-Token`.
 */
export const PORTAL_SCRIPT = `"use strict";
(function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  function send(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw new Error(j.error || ("HTTP " + r.status));
        return j;
      });
    });
  }
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.org) return;
    ev.preventDefault();
    var status = form.querySelector("[role=status]");
    var data = {};
    new FormData(form).forEach(function (v, k) { if (v !== "") data[k] = v; });
    send(form.dataset.method || "POST", form.dataset.org, data).then(function () {
      if (status) status.textContent = "Done.";
      form.dispatchEvent(new CustomEvent("org:done", { bubbles: true }));
    }, function (e) {
      if (status) status.textContent = e.message;
    });
  });
  window.wardOrg = { send: send };
})();
`;
