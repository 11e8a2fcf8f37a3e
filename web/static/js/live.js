// Live page behaviour that htmx does not do by itself:
// - measure the offset between this browser's clock and the course clock over the WebSocket,
// - run countdowns from the server's UTC instants with that offset (and the rehearsal speed),
// - show each Eastern Time beside the viewer's own zone,
// - show the connection state.
(function () {
  "use strict";

  // Course time = base + speed * (Date.now() - localAt), from the best (lowest round trip) sample.
  var sync = { base: Date.now(), localAt: Date.now(), speed: 1, rtt: Infinity };
  var socket = null;
  var viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var courseZone = document.body.getAttribute("data-course-tz") || "America/New_York";

  function courseNow() {
    return sync.base + sync.speed * (Date.now() - sync.localAt);
  }
  window.companionNow = courseNow;

  function ping() {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "clock", t0: Date.now() }));
    }
  }

  function onClock(msg) {
    var t1 = Date.now();
    if (typeof msg.t0 === "number") {
      var rtt = t1 - msg.t0;
      if (rtt <= sync.rtt || msg.speed !== sync.speed) {
        sync = { base: msg.server + (msg.speed * rtt) / 2, localAt: t1, speed: msg.speed, rtt: rtt };
      }
    } else {
      // Pushed by the server (first message, or the rehearsal clock moved): take it, then refine.
      sync = { base: msg.server, localAt: t1, speed: msg.speed, rtt: Infinity };
      [50, 400, 1200].forEach(function (ms) { setTimeout(ping, ms); });
    }
    tick();
  }

  function fmtRemaining(ms) {
    if (ms <= 0) return "now";
    var s = Math.ceil(ms / 1000);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    var mm = String(m).padStart(2, "0"), ss = String(sec).padStart(2, "0");
    if (h > 48) return Math.floor(h / 24) + " days";
    return h > 0 ? h + ":" + mm + ":" + ss : m + ":" + ss;
  }

  function tick() {
    var now = courseNow();
    document.querySelectorAll("[data-until]").forEach(function (el) {
      var text = fmtRemaining(Date.parse(el.getAttribute("data-until")) - now);
      if (el.textContent !== text) el.textContent = text;
    });
    document.querySelectorAll("[data-elapsed-since]").forEach(function (el) {
      var s = Math.max(0, Math.floor((now - Date.parse(el.getAttribute("data-elapsed-since"))) / 1000));
      var text = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
      if (el.textContent !== text) el.textContent = text;
    });
  }

  var hm = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
  var zoneName = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" });
  function sameOffset(d) {
    var f = function (tz) {
      return new Intl.DateTimeFormat("en-US", { timeZone: tz, hour: "numeric", minute: "numeric", day: "numeric" }).format(d);
    };
    return f(viewerZone) === f(courseZone);
  }
  function zoneOf(d) {
    var part = zoneName.formatToParts(d).find(function (p) { return p.type === "timeZoneName"; });
    return part ? part.value : viewerZone;
  }
  // Adds "(4:00 PM–4:30 PM CEST, your time)" after each Eastern Time range and single time.
  function localize(root) {
    root.querySelectorAll("[data-local-range]:not([data-localized]), time[data-local]:not([data-localized])").forEach(function (el) {
      el.setAttribute("data-localized", "");
      var start = new Date(el.getAttribute("data-start") || el.getAttribute("datetime"));
      var endAttr = el.getAttribute("data-end");
      if (isNaN(start) || sameOffset(start)) return;
      var text = hm.format(start) + (endAttr ? "–" + hm.format(new Date(endAttr)) : "");
      var span = document.createElement("span");
      span.className = "local-time";
      span.textContent = " (" + text + " " + zoneOf(start) + ", your time)";
      el.after(span);
    });
  }

  function setStatus(state, text) {
    var el = document.getElementById("conn-status");
    if (!el) return;
    el.className = "conn conn-" + state;
    el.textContent = text;
    document.body.classList.toggle("offline", state === "lost");
  }

  // Other scripts (media.js) send on this page's socket and hear its JSON messages.
  window.companionSend = function (obj) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(obj));
    return true;
  };
  function announce(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  document.addEventListener("htmx:ws:after:connection", function (evt) {
    socket = evt.detail.connection.socket;
    setStatus("live", "Live");
    announce("companion:connected", {});
  });
  var revoked = false;
  document.addEventListener("htmx:ws:close", function () {
    socket = null;
    if (!revoked) setStatus("lost", "Connection lost — reconnecting…");
  });
  document.addEventListener("htmx:ws:before:message:incoming", function (evt) {
    if (!socket && evt.detail.connection) {
      socket = evt.detail.connection.socket;
      if (!revoked) setStatus("live", "Live");
    }
    var data = evt.detail.message.data;
    if (typeof data !== "string" || data.charAt(0) !== "{") return;
    var msg;
    try { msg = JSON.parse(data); } catch (e) { return; }
    if (msg.type === "clock") onClock(msg);
    if (msg.type === "error") setStatus("live", msg.message);
    if (msg.type === "revoked" || msg.type === "closed") { revoked = true; setStatus("lost", msg.message); }
    if (msg.type === "reload") { window.location.reload(); }
    if (typeof msg.type === "string" && msg.type.indexOf("media.") === 0) announce("companion:media", msg);
    evt.detail.cancelled = true;
  });

  // Announcements a reader dismissed stay dismissed, in this browser, across pushes and reloads.
  var DISMISSED = "companion.dismissed";
  function dismissed() {
    try { return JSON.parse(localStorage.getItem(DISMISSED) || "[]"); } catch (e) { return []; }
  }
  function hideDismissed() {
    var gone = dismissed();
    document.querySelectorAll("[data-announcement]").forEach(function (el) {
      el.hidden = gone.indexOf(el.getAttribute("data-announcement")) >= 0;
    });
  }
  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest && evt.target.closest("[data-dismiss]");
    if (!btn) return;
    var gone = dismissed();
    gone.push(btn.getAttribute("data-dismiss"));
    try { localStorage.setItem(DISMISSED, JSON.stringify(gone.slice(-200))); } catch (e) { /* full */ }
    hideDismissed();
  });
  document.addEventListener("DOMContentLoaded", function () { hideDismissed(); speakToMe(); fold(); });

  // On a phone the secondary panels (schedule, next, who is here) start folded, so the role's
  // main control is on the first screen; on a wider screen they stay open.
  function fold() {
    if (!window.matchMedia || !window.matchMedia("(max-width: 760px)").matches) return;
    document.querySelectorAll("details[data-fold]").forEach(function (d) { d.open = false; });
  }

  // The views a group shares say "You" to the person they name (the bytes are the same for
  // everyone in the group; this page knows who it is for).
  var me = document.body.getAttribute("data-person");
  function speakToMe() {
    if (!me) return;
    document.querySelectorAll('[data-you-if="' + me + '"]').forEach(function (el) {
      var text = el.getAttribute("data-you-text");
      if (text && el.textContent !== text) el.textContent = text;
    });
    // What is for everyone else (tagging in for the one already in the hot seat) is not for them.
    document.querySelectorAll('[data-hide-if="' + me + '"]').forEach(function (el) {
      if (!el.hidden) el.hidden = true;
    });
  }

  // A form marked data-reset-on-success (a call for help) is emptied once the server took it.
  document.addEventListener("htmx:after:request", function (evt) {
    var form = evt.target;
    var ctx = evt.detail && evt.detail.ctx;
    if (!form.matches || !form.matches("form[data-reset-on-success]") || !ctx || !ctx.response) return;
    if (ctx.response.status >= 200 && ctx.response.status < 300) {
      form.reset();
      var action = form.getAttribute("hx-post");
      Object.keys(typing).forEach(function (k) { if (k.indexOf(action + "|") === 0) delete typing[k]; });
    }
  });

  // A pushed partial replaces its <details>; keep each one open or closed as the viewer left it.
  // Only what the viewer did counts: a "toggle" event also fires for a details rendered open,
  // and remembering those would keep yesterday open after the server closed it.
  var openState = {};
  document.addEventListener("click", function (evt) {
    var summary = evt.target.closest && evt.target.closest("summary");
    var details = summary && summary.parentElement;
    if (!details || details.tagName !== "DETAILS" || !details.id) return;
    openState[details.id] = !details.open;  // the click is about to toggle it
  }, true);
  function restoreOpen() {
    Object.keys(openState).forEach(function (id) {
      var el = document.getElementById(id);
      if (el && el.open !== openState[id]) el.open = openState[id];
    });
  }

  // A pushed partial also replaces any form inside it. Keep what the person was typing (and
  // where the cursor was) until they send it.
  var typing = {};
  var focusKey = null;
  function fieldKey(el) {
    var form = el.closest("form");
    var action = form && (form.getAttribute("hx-post") || form.getAttribute("action"));
    return action && el.name ? action + "|" + el.name : null;
  }
  document.addEventListener("input", function (evt) {
    var key = fieldKey(evt.target);
    if (key && evt.target.type !== "hidden") typing[key] = evt.target.value;
  }, true);
  document.addEventListener("focusin", function (evt) { focusKey = fieldKey(evt.target); }, true);
  document.addEventListener("submit", function (evt) {
    var action = evt.target.getAttribute("hx-post") || evt.target.getAttribute("action");
    Object.keys(typing).forEach(function (k) { if (k.indexOf(action + "|") === 0) delete typing[k]; });
  }, true);
  function restoreTyping() {
    Object.keys(typing).forEach(function (key) {
      var parts = key.split("|");
      var form = document.querySelector('form[hx-post="' + CSS.escape(parts[0]) + '"]');
      var field = form && form.querySelector('[name="' + CSS.escape(parts[1]) + '"]');
      if (!field || field.value === typing[key]) return;
      if (field.tagName === "SELECT" || field.value === "") field.value = typing[key];
      if (key === focusKey && document.activeElement === document.body) {
        field.focus();
        if (field.setSelectionRange && field.type === "text") field.setSelectionRange(field.value.length, field.value.length);
      }
    });
  }

  new MutationObserver(function () { restoreOpen(); restoreTyping(); hideDismissed(); speakToMe(); localize(document); tick(); countUnread(); visitChanged(); })
    .observe(document.body, { childList: true, subtree: true });
  document.addEventListener("DOMContentLoaded", function () {
    var z = document.querySelector(".your-zone");
    if (z) z.textContent = "Your own zone (" + viewerZone + ") is shown beside each time where it differs.";
    localize(document);
    tick();
  });
  setInterval(tick, 250);
  setInterval(ping, 30000);

  // Talk beside the video: Enter sends (Shift+Enter is a new line); messages that arrived since
  // this person last looked at the talk are counted beside its heading until they do.
  document.addEventListener("keydown", function (evt) {
    var box = evt.target;
    if (!box.matches || !box.matches(".chat-form textarea")) return;
    if (evt.key === "Enter" && !evt.shiftKey && !evt.isComposing) {
      evt.preventDefault();
      if (box.value.trim()) box.form.requestSubmit();
    }
  });
  function lastRead(room) {
    try { return Number(sessionStorage.getItem("talk-read:" + room) || 0); } catch (e) { return 0; }
  }
  function markRead() {
    var live = document.getElementById("talk");
    if (!live) return;
    var seqs = Array.prototype.map.call(live.querySelectorAll("li[data-seq]"), function (li) {
      return Number(li.getAttribute("data-seq"));
    });
    try { sessionStorage.setItem("talk-read:" + live.getAttribute("data-room"), String(Math.max.apply(null, [0].concat(seqs)))); } catch (e) {}
    countUnread();
  }
  function countUnread() {
    // Each room tile of the director's page: the messages of that group since they last read it
    // (by dropping in and looking at its talk).
    document.querySelectorAll("[data-talk-seqs]").forEach(function (tile) {
      var seen = lastRead(tile.getAttribute("data-talk-room"));
      var n = tile.getAttribute("data-talk-seqs").split(" ").filter(function (x) { return Number(x) > seen; }).length;
      var words = n ? n + " new" : "";
      if (tile.hidden !== (n === 0)) tile.hidden = n === 0;
      if (tile.textContent !== words) tile.textContent = words;
    });
    var live = document.getElementById("talk");
    var badge = document.getElementById("talk-unread");
    if (!live || !badge) return;
    var me = document.body.getAttribute("data-person");
    var seen = lastRead(live.getAttribute("data-room"));
    var n = Array.prototype.filter.call(live.querySelectorAll("li[data-seq]"), function (li) {
      return Number(li.getAttribute("data-seq")) > seen && li.getAttribute("data-author") !== me;
    }).length;
    // Written only when it changes: this runs from the page's mutation observer.
    var words = n ? n + " new" : "";
    if (badge.hidden !== (n === 0)) badge.hidden = n === 0;
    if (badge.textContent !== words) badge.textContent = words;
  }
  document.addEventListener("focusin", function (evt) {
    if (evt.target.closest && evt.target.closest(".panel.talk")) markRead();
  });
  document.addEventListener("click", function (evt) {
    if (evt.target.closest && evt.target.closest(".panel.talk")) markRead();
  });
  document.addEventListener("DOMContentLoaded", countUnread);

  // A staff member's drop-in moves their whole page to another room (its panels are not on the
  // page they had): when the room they visit now is not the one this page was drawn with (they
  // dropped in from another tab, left, or the visit ended with its item), the page loads again.
  var reloading = false;
  function visitChanged() {
    var panel = document.getElementById("visit");
    if (!panel || reloading || !panel.hasAttribute("data-visit-now")) return;
    if (panel.getAttribute("data-visit-now") !== (document.body.getAttribute("data-visit") || "")) {
      reloading = true;
      window.location.reload();
    }
  }
})();
