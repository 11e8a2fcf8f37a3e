// Forms marked data-durable never lose what someone wrote.
// - Every change is kept as a draft in this browser (localStorage), across reloads, lost
//   connections and server restarts.
// - A submission carries an id made here (sid). The server stores a submission once, however
//   often the same id arrives, so sending again after a lost reply is always safe.
// - What cannot be sent now (offline, server restarting, store unreachable) waits in a queue and
//   is sent again when the connection comes back.
// - Each form says what is saved and what is still waiting; the header counts what is waiting.
(function () {
  "use strict";

  var person = document.body.getAttribute("data-person") || "anonymous";
  var PREFIX = "companion:" + person + ":";

  function load(key, fallback) {
    try {
      var raw = window.localStorage.getItem(PREFIX + key);
      return raw ? JSON.parse(raw) : fallback;
    } catch (e) { return fallback; }
  }
  function save(key, value) {
    try { window.localStorage.setItem(PREFIX + key, JSON.stringify(value)); } catch (e) { /* full or blocked */ }
  }
  function drop(key) {
    try { window.localStorage.removeItem(PREFIX + key); } catch (e) { /* blocked */ }
  }
  function newId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function pending() { return load("pending", []); }
  function setPending(list) { save("pending", list); showCount(); }

  function fields(form) {
    var out = [];
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string" && name !== "sid") out.push([name, value]);
    });
    return out;
  }
  function fill(form, entries) {
    entries.forEach(function (pair) {
      var el = form.elements.namedItem(pair[0]);
      if (!el) return;
      if (el instanceof RadioNodeList) {
        Array.prototype.forEach.call(el, function (r) { if (r.value === pair[1]) r.checked = true; });
      } else if (el.type === "checkbox") {
        el.checked = el.value === pair[1];
      } else {
        el.value = pair[1];
      }
    });
  }

  function statusOf(form) { return form.querySelector(".durable-status"); }
  function say(form, text, kind) {
    var el = statusOf(form);
    if (!el) return;
    // Only real changes: this page watches its own DOM, and a write that changes nothing would
    // still wake every observer.
    var cls = "durable-status" + (kind ? " " + kind : "");
    if (el.textContent !== text) el.textContent = text;
    if (el.className !== cls) el.className = cls;
  }
  function formFor(key) {
    return document.querySelector('form[data-durable="' + CSS.escape(key) + '"]');
  }
  function showCount() {
    var el = document.getElementById("pending-count");
    if (!el) return;
    var n = pending().length;
    var text = n === 0 ? "" : n + (n === 1 ? " submission" : " submissions") + " not sent yet";
    if (el.hidden !== (n === 0)) el.hidden = n === 0;
    if (el.textContent !== text) el.textContent = text;
  }

  // Drafts: every edit is kept, under the form's key, with the id its submission will carry.
  function keep(form) {
    var key = form.getAttribute("data-durable");
    var draft = load("draft:" + key, null) || { sid: newId() };
    draft.fields = fields(form);
    draft.at = Date.now();
    save("draft:" + key, draft);
    say(form, "Draft kept on this device — not sent yet.", "draft");
  }
  document.addEventListener("input", function (evt) {
    var form = evt.target.closest && evt.target.closest("form[data-durable]");
    if (form) keep(form);
  }, true);
  document.addEventListener("change", function (evt) {
    var form = evt.target.closest && evt.target.closest("form[data-durable]");
    if (form) keep(form);
  }, true);

  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.matches || !form.matches("form[data-durable]")) return;
    evt.preventDefault();
    evt.stopPropagation();
    var key = form.getAttribute("data-durable");
    var draft = load("draft:" + key, null);
    var sid = draft ? draft.sid : newId();
    var body = new URLSearchParams();
    fields(form).forEach(function (pair) { body.append(pair[0], pair[1]); });
    body.append("sid", sid);
    var list = pending().filter(function (p) { return p.sid !== sid; });
    list.push({ sid: sid, key: key, action: form.getAttribute("action"), body: body.toString(),
                label: form.getAttribute("data-label") || "your answers",
                after: form.getAttribute("data-after") || "" });
    setPending(list);
    drop("draft:" + key);
    say(form, "Sending…", "sending");
    flush();
  }, true);

  function textOf(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    return (doc.body.textContent || "").trim();
  }

  // The queue: oldest first; stops at the first that cannot be sent now and tries again later.
  var flushing = false;
  var retryMs = 2000;
  var retryTimer = null;
  function later() {
    if (retryTimer) return;
    retryTimer = setTimeout(function () { retryTimer = null; flush(); }, retryMs);
    retryMs = Math.min(retryMs * 2, 30000);
  }
  function flush() {
    if (flushing) return;
    var list = pending();
    if (!list.length) { showCount(); return; }
    flushing = true;
    var item = list[0];
    fetch(item.action, {
      method: "POST",
      body: item.body,
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    }).then(function (res) {
      return res.text().then(function (text) { return { status: res.status, ok: res.ok, text: textOf(text) }; });
    }).then(function (r) {
      flushing = false;
      var form = formFor(item.key);
      var permanent = r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429;
      if (r.ok || permanent) {
        setPending(pending().filter(function (p) { return p.sid !== item.sid; }));
      }
      if (r.ok) {
        retryMs = 2000;
        save("saved:" + item.key, { at: Date.now() });
        if (form) say(form, "✓ Saved. " + r.text, "saved");
        // A message box (chat) is emptied once its message is stored, ready for the next.
        if (form && form.hasAttribute("data-reset-on-success")) {
          var box = form.querySelector("textarea");
          if (box) box.value = "";
        }
        if (item.after === "reload" && !pending().length) { window.location.reload(); return; }
        flush();
      } else if (permanent) {
        // Refused (not allowed, or a value to fix): nothing was stored; give the words back.
        var entries = [];
        new URLSearchParams(item.body).forEach(function (v, k) { if (k !== "sid") entries.push([k, v]); });
        save("draft:" + item.key, { sid: item.sid, fields: entries, at: Date.now() });
        if (form) { fill(form, entries); say(form, "Not saved: " + r.text, "error"); }
        flush();
      } else {
        if (form) say(form, "Not sent yet (" + (r.text || "the server is busy") + "). It will be sent again automatically.", "waiting");
        later();
      }
    }).catch(function () {
      flushing = false;
      var form = formFor(item.key);
      if (form) say(form, "Not sent yet — you seem to be offline. It will be sent when the connection is back.", "waiting");
      later();
    });
  }

  // Forms arrive with the page and with live pushes: put drafts back into each new one.
  function restore() {
    var waiting = {};
    pending().forEach(function (p) { waiting[p.key] = true; });
    document.querySelectorAll("form[data-durable]:not([data-restored])").forEach(function (form) {
      form.setAttribute("data-restored", "");
      var key = form.getAttribute("data-durable");
      var draft = load("draft:" + key, null);
      if (draft && draft.fields) {
        fill(form, draft.fields);
        say(form, "Draft kept on this device — not sent yet.", "draft");
      } else if (waiting[key]) {
        say(form, "Waiting to send…", "waiting");
      }
    });
    showCount();
  }

  function wake() { retryMs = 2000; if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; } flush(); }
  new MutationObserver(restore).observe(document.documentElement, { childList: true, subtree: true });
  document.addEventListener("DOMContentLoaded", function () { restore(); flush(); });
  window.addEventListener("online", wake);
  document.addEventListener("htmx:ws:after:connection", wake);
  setInterval(function () { if (pending().length) flush(); }, 5000);
})();
