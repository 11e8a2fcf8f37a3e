// Room audio and video: one RTCPeerConnection to the server, negotiated over the page's live
// socket (live.js). The page offers its camera and microphone plus receiving "slots"; the
// server answers and says, in media.state, whose picture and sound is in which slot. Moving to
// another room, a new stage or someone leaving only changes that mapping; the page renegotiates
// only when the server asks for more slots (media.need).
(function () {
  "use strict";

  var panel = document.getElementById("media");
  if (!panel || !window.RTCPeerConnection) {
    if (panel) status("This browser cannot do audio and video calls; please use a current Chrome, Edge, Firefox or Safari.");
    return;
  }
  var $ = function (id) { return document.getElementById(id); };
  var ice = [];
  try { ice = JSON.parse(panel.getAttribute("data-ice") || "[]"); } catch (e) { ice = []; }

  var pc = null;          // the connection while joined
  var local = null;       // this person's camera and microphone
  var wanted = false;     // the person chose to join (we rejoin after a drop)
  var publish = true;     // with camera and microphone, or watch and listen only
  var negotiating = false;
  var pendingNeed = null; // a media.need that arrived mid-negotiation
  var micOn = true, camOn = true, userTouchedMic = false;
  var lastState = null;
  var streams = {};       // mid -> MediaStream holding that slot's track
  var retryTimer = null;

  function status(text) { var el = document.getElementById("media-status"); if (el) el.textContent = text; }
  function send(obj) { return window.companionSend && window.companionSend(obj); }
  function show(el, on) { if (el) el.hidden = !on; }

  function controls() {
    var joined = !!pc;
    show($("media-join"), !joined);
    show($("media-watch"), !joined);
    show($("media-leave"), joined);
    show($("media-mic"), joined && publish && local && local.getAudioTracks().length > 0);
    show($("media-cam"), joined && publish && local && local.getVideoTracks().length > 0);
    $("media-mic").textContent = micOn ? "Mute microphone" : "Unmute microphone";
    $("media-mic").setAttribute("aria-pressed", String(!micOn));
    $("media-cam").textContent = camOn ? "Turn camera off" : "Turn camera on";
    $("media-cam").setAttribute("aria-pressed", String(!camOn));
  }

  function explain(err) {
    var name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError")
      return "Camera and microphone are blocked for this site. Allow them in your browser's site settings (the camera icon in the address bar), then press Join again — or join to watch and listen only.";
    if (name === "NotFoundError" || name === "OverconstrainedError")
      return "No camera or microphone was found. Plug one in and press Join again, or join to watch and listen only.";
    if (name === "NotReadableError" || name === "AbortError")
      return "The camera or microphone is in use by another program. Close it there and press Join again.";
    return "Could not start the camera or microphone (" + (err && err.message || err) + ").";
  }

  async function getLocal() {
    try {
      return await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true },
        video: { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 15, max: 15 } }
      });
    } catch (err) {
      // A camera problem should not cost the person their microphone.
      try {
        var audioOnly = await navigator.mediaDevices.getUserMedia({ audio: true });
        status(explain(err) + " Joining with your microphone only.");
        return audioOnly;
      } catch (err2) {
        throw err;
      }
    }
  }

  function addSlots(video, audio) {
    for (var i = 0; i < video; i++) {
      var t = pc.addTransceiver("video", { direction: "recvonly" });
      preferVp8(t);
    }
    for (var j = 0; j < audio; j++) pc.addTransceiver("audio", { direction: "recvonly" });
  }
  function preferVp8(t) {
    // The server forwards VP8; ask for it first so the browser never picks another codec.
    if (!t.setCodecPreferences || !window.RTCRtpReceiver || !RTCRtpReceiver.getCapabilities) return;
    var caps = RTCRtpReceiver.getCapabilities("video");
    if (!caps) return;
    var vp8 = caps.codecs.filter(function (c) { return /vp8|rtx/i.test(c.mimeType); });
    if (vp8.length) { try { t.setCodecPreferences(vp8); } catch (e) { /* keep defaults */ } }
  }
  function slots(kind) {
    return pc.getTransceivers().filter(function (t) {
      return t.receiver.track && t.receiver.track.kind === kind && t.direction === "recvonly";
    }).length;
  }

  async function negotiate() {
    if (!pc) return;
    negotiating = true;
    try {
      var offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      await gathered(pc, 3000);
      if (!pc) return;
      if (!send({ type: "media.offer", sdp: pc.localDescription.sdp })) {
        negotiating = false;
        status("Waiting for the connection to the course to come back…");
      }
    } catch (err) {
      negotiating = false;
      status("Could not set up audio and video: " + err.message);
    }
  }
  function gathered(conn, ms) {
    return new Promise(function (resolve) {
      if (conn.iceGatheringState === "complete") return resolve();
      var done = function () { if (conn.iceGatheringState === "complete") { conn.removeEventListener("icegatheringstatechange", done); resolve(); } };
      conn.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, ms);
    });
  }

  // Whether this tab had joined, and how: a reload (the server asks for one when a staff page's
  // groups change) rejoins by itself. Per tab, so another tab never joins unasked.
  var KEPT = "companion.media.joined";
  function remember(on) {
    try { if (on) sessionStorage.setItem(KEPT, publish ? "publish" : "watch"); else sessionStorage.removeItem(KEPT); }
    catch (e) { /* storage off: a reload asks again */ }
  }

  async function join(withDevices) {
    wanted = true;
    publish = withDevices;
    remember(true);
    clearTimeout(retryTimer);
    status("Starting…");
    if (publish && !local) {
      try { local = await getLocal(); } catch (err) { status(explain(err)); wanted = false; controls(); return; }
    }
    hangUp(false);
    pc = new RTCPeerConnection({ iceServers: ice, bundlePolicy: "max-bundle" });
    pc.addEventListener("track", function () { render(); });
    pc.addEventListener("connectionstatechange", function () {
      if (!pc) return;
      if (pc.connectionState === "connected") status(publish ? (micOn ? "You are live in this room." : "You are in this room, muted.") : "Watching and listening.");
      if (pc.connectionState === "failed") { status("The audio/video connection failed; trying again…"); scheduleRetry(); }
    });
    if (publish && local) {
      local.getAudioTracks().forEach(function (t) { t.enabled = micOn; });
      local.getVideoTracks().forEach(function (t) { t.enabled = camOn; });
      send({ type: "media.mute", audio: !micOn, video: !camOn });
      local.getTracks().forEach(function (t) { pc.addTransceiver(t, { direction: "sendonly" }); });
      var self = selfTile();
      self.querySelector("video").srcObject = local;
    }
    var tiles = lastState ? lastState.tiles.length : 0;
    addSlots(Math.max(3, tiles + 2), Math.max(3, tiles + 2));
    controls();
    status("Connecting audio and video…");
    await negotiate();
  }

  function hangUp(forget) {
    if (pc) { pc.close(); pc = null; }
    negotiating = false;
    pendingNeed = null;
    streams = {};
    if (forget) {
      wanted = false;
      remember(false);
      if (local) { local.getTracks().forEach(function (t) { t.stop(); }); local = null; }
      send({ type: "media.leave" });
      var self = $("media-self");
      if (self) self.remove();
    }
    render();
    controls();
  }

  function scheduleRetry() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(function () { if (wanted) join(publish); }, 2000);
  }

  function setMic(on, byUser) {
    micOn = on;
    if (byUser) userTouchedMic = true;
    if (local) local.getAudioTracks().forEach(function (t) { t.enabled = on; });
    send({ type: "media.mute", audio: !on });
    controls();
  }
  function setCam(on) {
    camOn = on;
    if (local) local.getVideoTracks().forEach(function (t) { t.enabled = on; });
    send({ type: "media.mute", video: !on });
    controls();
  }

  function selfTile() {
    var el = $("media-self");
    if (el) return el;
    el = document.createElement("figure");
    el.id = "media-self";
    el.className = "vtile vtile-self";
    var v = document.createElement("video");
    v.autoplay = true; v.muted = true; v.playsInline = true;
    v.setAttribute("aria-label", "Your own camera");
    var cap = document.createElement("figcaption");
    cap.textContent = "You";
    el.appendChild(v); el.appendChild(cap);
    $("media-gallery").appendChild(el);
    return el;
  }

  function trackFor(mid) {
    if (!pc) return null;
    var t = pc.getTransceivers().filter(function (x) { return x.mid === mid; })[0];
    return t ? t.receiver.track : null;
  }
  function streamFor(mid) {
    if (!streams[mid]) {
      var track = trackFor(mid);
      if (!track) return null;
      streams[mid] = new MediaStream([track]);
    }
    return streams[mid];
  }

  // Draw the tiles from the latest media.state: stage large, everyone else small.
  function render() {
    var st = lastState;
    var stage = $("media-stage"), gallery = $("media-gallery"), sounds = $("media-audio");
    var keep = {};
    if (st && pc && !st.link) {
      var people = {};
      st.tiles.forEach(function (tile) {
        var p = people[tile.person] || (people[tile.person] = { tile: tile, video: null, audio: null });
        p[tile.kind] = tile.mid;
        if (tile.kind === "video") p.tile = tile;
      });
      Object.keys(people).forEach(function (pid) {
        var p = people[pid];
        var id = "media-p-" + pid;
        keep[id] = true;
        var el = document.getElementById(id);
        if (!el) {
          el = document.createElement("figure");
          el.id = id;
          el.className = "vtile";
          var v = document.createElement("video");
          v.autoplay = true; v.playsInline = true; v.muted = true; // sound plays from the <audio>
          var cap = document.createElement("figcaption");
          el.appendChild(v); el.appendChild(cap);
        }
        var t = p.tile;
        var parent = t.stage ? stage : gallery;
        if (el.parentNode !== parent) parent.appendChild(el);
        el.classList.toggle("on-stage", !!t.stage);
        el.setAttribute("data-person", pid);
        var muted = t.muted || {};
        el.querySelector("figcaption").textContent = t.name + (t.role ? " · " + t.role : "") + (muted.audio ? " · muted" : "");
        el.classList.toggle("cam-off", !p.video || !!muted.video);
        var video = el.querySelector("video");
        video.setAttribute("aria-label", "Camera of " + t.name);
        var vs = p.video ? streamFor(p.video) : null;
        if (vs && video.srcObject !== vs) video.srcObject = vs;
        if (p.audio) {
          var aid = "media-a-" + pid;
          keep[aid] = true;
          var a = document.getElementById(aid);
          if (!a) { a = document.createElement("audio"); a.id = aid; a.autoplay = true; sounds.appendChild(a); }
          var as = streamFor(p.audio);
          if (as && a.srcObject !== as) a.srcObject = as;
        }
      });
    }
    [stage, gallery, sounds].forEach(function (box) {
      Array.prototype.slice.call(box.children).forEach(function (el) {
        if (el.id !== "media-self" && !keep[el.id]) el.remove();
      });
    });
  }

  function onState(st) {
    var first = lastState === null;
    lastState = st;
    $("media-room").textContent = st.room ? "— " + st.label : "";
    $("media-stage-label").textContent = st.room && st.stage_label !== "Everyone" ? st.stage_label : "";
    var link = $("media-link");
    if (st.link) {
      $("media-link-a").href = st.link;
      show(link, true);
      show($("media-controls"), false);
      if (pc) hangUp(false);
      status("Audio and video for this room are in the meeting linked below.");
    } else {
      show(link, false);
      show($("media-controls"), true);
      if (wanted && !pc) join(publish);
    }
    if (!st.room) status(pc ? "No room right now (a break): you will be connected again when the next session starts." : "No room right now.");
    if (wanted && pc && !st.you.connected && !negotiating) {
      // The server lost this page's connection (it restarted, or the socket dropped): offer again.
      scheduleRetry();
    }
    if (pc && publish && !userTouchedMic && st.you.muted_on_join === micOn) {
      setMic(!st.you.muted_on_join, false);
      status(micOn ? "You are on the stage: your microphone is on." : "You joined muted, as observers are during a scene. Unmute to speak.");
    }
    if (first && st.you.muted_on_join) micOn = false;
    var rec = $("media-recording");
    if (st.recording) {
      if (!rec) { rec = document.createElement("p"); rec.id = "media-recording"; rec.className = "media-recording"; panel.querySelector(".media-head").appendChild(rec); }
      rec.textContent = st.recording;
    } else if (rec) rec.remove();
    render();
    controls();
  }

  document.addEventListener("companion:media", async function (evt) {
    var msg = evt.detail;
    if (msg.type === "media.state") onState(msg);
    else if (msg.type === "media.answer" && pc) {
      try { await pc.setRemoteDescription({ type: "answer", sdp: msg.sdp }); }
      catch (err) { status("Could not set up audio and video: " + err.message); }
      negotiating = false;
      render();
      if (pendingNeed) { var n = pendingNeed; pendingNeed = null; more(n); }
    } else if (msg.type === "media.need" && pc) {
      if (negotiating) pendingNeed = msg; else more(msg);
    } else if (msg.type === "media.error") {
      negotiating = false;
      status(msg.message);
      if (msg.retry) scheduleRetry();
    }
  });
  function more(need) {
    addSlots(Math.max(0, need.video + 2 - slots("video")), Math.max(0, need.audio + 2 - slots("audio")));
    negotiate();
  }
  document.addEventListener("companion:connected", function () {
    if (wanted) scheduleRetry(); // the server dropped our connection with the socket
  });

  $("media-join").addEventListener("click", function () { userTouchedMic = false; join(true); });
  $("media-watch").addEventListener("click", function () { join(false); });
  $("media-leave").addEventListener("click", function () { hangUp(true); status("You left audio and video."); });
  $("media-mic").addEventListener("click", function () { setMic(!micOn, true); });
  $("media-cam").addEventListener("click", function () { setCam(!camOn); });
  controls();
  var kept = null;
  try { kept = sessionStorage.getItem(KEPT); } catch (e) { kept = null; }
  if (kept) {
    // Rejoin once the live socket is open (signalling travels on it).
    document.addEventListener("companion:connected", function once() {
      document.removeEventListener("companion:connected", once);
      if (!pc) join(kept === "publish");
    });
  }
})();
