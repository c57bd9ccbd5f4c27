/**
 * The portal's progressive script, shipped inside the executable (no CDN, nothing fetched at run
 * time from elsewhere). The pages are rendered on the server and readable without it; it does only
 * what needs a browser:
 *  - forms marked `data-org` send JSON to the `/org` API with the session's CSRF token (from
 *    `<meta name="csrf-token">`) in `X-CSRF-Token`; `data-then` says what follows: `download` (the
 *    kubeconfig is saved as a file), `kubeconfig` (shown with its expiry, to download or copy),
 *    `refresh` (the page's parts are fetched again);
 *  - `data-confirm` on a form or a `data-delete` button asks first, in the page's one `<dialog>`;
 *  - parts (`data-part`) are refreshed from `data-refresh` after every change, every `data-every`
 *    ms, and on the live events of `data-events` (server-sent events; polling if they fail);
 *  - the grant form's scope radio enables the namespace field only for a namespace grant.
 * Text from the server is set as text, never as HTML; only the server's own page parts are HTML.
 */
export const PORTAL_SCRIPT = `"use strict";
(function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";

  function send(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      if (r.status === 204) return {};
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw new Error(j.error || ("The gateway answered " + r.status));
        return j;
      });
    });
  }

  // ---- page parts
  var sessionEnded = false;
  function refreshPart(el) {
    var url = el.getAttribute("data-refresh");
    if (!url || sessionEnded) return Promise.resolve();
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (r) {
      if (r.status === 401) { sessionEnded = true; announce("Your session ended: reload the page to sign in again."); return; }
      if (!r.ok) return;
      return r.text().then(function (html) {
        var hadFocus = el.contains(document.activeElement);
        el.innerHTML = html;
        if (hadFocus) focusMain();
      });
    }, function () {});
  }
  function refreshAll(selector) {
    return Promise.all(Array.prototype.map.call(document.querySelectorAll(selector || "[data-part]"), refreshPart));
  }
  function focusMain() {
    var m = document.getElementById("main");
    if (m) m.focus();
  }
  function announce(text) {
    var box = document.querySelector("[data-result]");
    if (box) box.textContent = text;
  }

  // ---- building DOM from data (text only)
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { e.append(c); });
    return e;
  }
  function timeEl(iso) {
    return el("time", { datetime: iso }, [iso.slice(0, 16).replace("T", " ") + " UTC"]);
  }
  function saveFile(text, name) {
    var url = URL.createObjectURL(new Blob([text], { type: "application/yaml" }));
    var a = el("a", { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  }

  // ---- confirmation
  function confirmFirst(source) {
    var text = source.getAttribute("data-confirm");
    var dialog = document.getElementById("confirm");
    if (!text) return Promise.resolve(true);
    if (!dialog || typeof dialog.showModal !== "function") return Promise.resolve(window.confirm(text));
    document.getElementById("confirm-text").textContent = text;
    document.getElementById("confirm-ok").textContent = source.getAttribute("data-confirm-ok") || "Confirm";
    dialog.returnValue = "";
    dialog.showModal();
    return new Promise(function (resolve) {
      dialog.addEventListener("close", function () {
        resolve(dialog.returnValue === "ok");
        if (source.focus) source.focus();
      }, { once: true });
    });
  }

  // ---- forms
  function formJson(form) {
    var data = {};
    Array.prototype.forEach.call(form.elements, function (f) {
      if (!f.name || f.disabled || f.name === "_csrf") return;
      if ((f.type === "checkbox" || f.type === "radio") && !f.checked) return;
      var v = f.value;
      if (v === "") return;
      var kind = f.getAttribute("data-json");
      if (kind === "number") v = Number(v);
      if (kind === "local-time") v = new Date(v).toISOString();
      if (/\\[\\]$/.test(f.name)) {
        var k = f.name.slice(0, -2);
        (data[k] = data[k] || []).push(v);
      } else {
        data[f.name] = v;
      }
    });
    return data;
  }

  var after = {
    download: function (form, res, out) {
      var name = form.getAttribute("data-filename") || "ward-kubeconfig.yaml";
      saveFile(res.kubeconfig, name);
      var list = el("ul", { "class": "plain", "data-expiry": "" }, (res.contexts || []).map(function (c) {
        return el("li", {}, [el("code", {}, [c.context]), " expires ", timeEl(c.expires_at)]);
      }));
      out.replaceChildren(el("p", {}, ["Saved " + name + ". Use it with KUBECONFIG=" + name + " kubectl --context <context>."]), list);
    },
    kubeconfig: function (form, res, out) {
      var name = form.getAttribute("data-filename") || "ward-kubeconfig.yaml";
      var download = el("button", { type: "button", "class": "primary", "data-download": "" }, ["Download " + name]);
      download.addEventListener("click", function () { saveFile(res.kubeconfig, name); });
      var copied = el("span", { role: "status", "aria-live": "polite" });
      var copy = el("button", { type: "button", "data-copy": "" }, ["Copy to clipboard"]);
      copy.addEventListener("click", function () {
        navigator.clipboard.writeText(res.kubeconfig).then(function () { copied.textContent = "Copied."; }, function () { copied.textContent = "Copying was refused by the browser: use Download."; });
      });
      var pre = el("pre", { "data-kubeconfig": "" }, [res.kubeconfig]);
      out.replaceChildren(
        el("p", { "data-expiry": "" }, ["Generated kubeconfig for context ", el("code", {}, [res.context]), res.namespace ? " (namespace " + res.namespace + ")" : "", ". Its token expires ", timeEl(res.expires_at), "."]),
        el("div", { "class": "actions" }, [download, copy, copied]),
        el("details", {}, [el("summary", {}, ["Show the file"]), pre])
      );
      refreshAll('[data-part="tokens"]');
    },
    refresh: function (form, res, out) {
      out.textContent = form.getAttribute("data-done") || "Done.";
      form.reset();
      syncScope(form);
      refreshAll();
    }
  };

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-org")) return;
    ev.preventDefault();
    var out = form.querySelector("[data-result]") || el("div");
    var button = form.querySelector('button[type="submit"]');
    var body = formJson(form);
    confirmFirst(form).then(function (ok) {
      if (!ok) return;
      out.removeAttribute("role");
      out.setAttribute("role", "status");
      out.textContent = "Working…";
      if (button) button.disabled = true;
      return send(form.getAttribute("data-method") || "POST", form.getAttribute("data-org"), body).then(function (res) {
        (after[form.getAttribute("data-then")] || after.refresh)(form, res, out);
      }, function (e) {
        out.setAttribute("role", "alert");
        out.textContent = e.message;
      });
    }).finally(function () { if (button) button.disabled = false; });
  });

  // ---- delete buttons (grants, tokens)
  document.addEventListener("click", function (ev) {
    var b = ev.target instanceof Element ? ev.target.closest("[data-delete]") : null;
    if (!b) return;
    confirmFirst(b).then(function (ok) {
      if (!ok) return;
      return send("DELETE", b.getAttribute("data-delete")).then(function () {
        announcePage("Done.");
        return refreshAll();
      }, function (e) { announcePage(e.message, true); });
    });
  });
  function announcePage(text, error) {
    var box = document.getElementById("page-status");
    if (!box) {
      box = el("div", { id: "page-status", "aria-live": "polite" });
      document.getElementById("main").prepend(box);
    }
    box.setAttribute("role", error ? "alert" : "status");
    box.className = error ? "notice warn" : "notice";
    box.textContent = text;
  }

  // ---- the grant form: a namespace only for a namespace grant
  function syncScope(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("input[type=radio][data-controls]:checked"), function (r) {
      var target = document.getElementById(r.getAttribute("data-controls"));
      if (!target) return;
      var on = r.value === "namespace";
      target.disabled = !on;
      target.required = on;
    });
  }
  document.addEventListener("change", function (ev) {
    if (ev.target instanceof HTMLInputElement && ev.target.hasAttribute("data-controls")) syncScope(ev.target.form);
  });

  // ---- live
  function poll(ms, selector) {
    setInterval(function () { if (!document.hidden) refreshAll(selector); }, ms);
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-every]"), function (p) {
    var ms = Number(p.getAttribute("data-every"));
    if (ms >= 1000) setInterval(function () { if (!document.hidden) refreshPart(p); }, ms);
  });
  var live = document.querySelector("[data-events]");
  if (live) {
    var polling = false;
    var fallback = function () { if (!polling) { polling = true; poll(5000, "[data-live]"); } };
    if (typeof EventSource !== "function") fallback();
    else {
      var es = new EventSource(live.getAttribute("data-events"));
      // Every event, the first too: something may have changed since the page was rendered.
      es.addEventListener("grants", function () { refreshAll("[data-live]"); });
      es.addEventListener("end", function (e) {
        es.close();
        try { announcePage(JSON.parse(e.data).error || "Live updates ended.", true); } catch (x) { announcePage("Live updates ended.", true); }
      });
      es.onerror = function () { if (es.readyState === 2) fallback(); };
    }
  }

  syncScope();
  window.wardOrg = { send: send, refreshAll: refreshAll };
})();
`;
