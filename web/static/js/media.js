// Room audio and video, negotiated over the page's live socket (live.js), on either engine.
// Embedded (aiortc): one RTCPeerConnection to the server. The page offers its camera and
// microphone plus receiving "slots"; the server answers and says, in media.state, whose picture
// and sound is in which slot; the page renegotiates only when asked for more slots (media.need).
// Janus (data-engine="janus"): the camera goes out on its own connection in two simulcast
// layers; what the page watches comes on a second connection that the server offers
// (media.sub.offer) and the page answers; a shared screen is a third. The server picks each
// stream's layer (stage high, thumbnails low); the page tells it when its link is poor.
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
  var engine = panel.getAttribute("data-engine") || "aiortc";
  var janus = engine === "janus";
  var joined = false;     // janus: watching (and maybe publishing) in the room
  var subPc = null;       // janus: what this page watches, offered by the server
  var subChain = Promise.resolve();
  var screenPc = null, screenStream = null;
  var quality = "high", lastStats = {};
  var qstate = window.companionQuality ? window.companionQuality.start() : null;
  function rx() { return janus ? subPc : pc; }
  function isJoined() { return janus ? joined : !!pc; }

  function status(text) { var el = document.getElementById("media-status"); if (el) el.textContent = text; }
  function send(obj) { return window.companionSend && window.companionSend(obj); }
  function show(el, on) { if (el) el.hidden = !on; }

  function controls() {
    var on = isJoined();
    show($("media-join"), !on);
    show($("media-watch"), !on);
    show($("media-leave"), on);
    show($("media-mic"), on && publish && local && local.getAudioTracks().length > 0);
    show($("media-cam"), on && publish && local && local.getVideoTracks().length > 0);
    var share = $("media-screen");
    if (share) {
      show(share, on && !!(lastState && lastState.may_share) && !!navigator.mediaDevices.getDisplayMedia);
      share.textContent = screenStream ? "Stop sharing your screen" : "Share your screen";
      share.setAttribute("aria-pressed", String(!!screenStream));
    }
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
    if (janus) {
      joined = true;
      send({ type: "media.watch" });
      if (publish && local) await startPublish();
      else status("Watching and listening.");
      controls();
      return;
    }
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

  // Janus: the camera and microphone on a connection of their own, video in two layers the
  // server forwards as each viewer needs (640×360 and 320×180 from a 640×360 camera).
  async function startPublish() {
    if (pc) { pc.close(); pc = null; }
    var conn = pc = new RTCPeerConnection({ iceServers: ice, bundlePolicy: "max-bundle" });
    conn.addEventListener("connectionstatechange", function () {
      if (pc !== conn) return;
      if (conn.connectionState === "connected") status(micOn ? "You are live in this room." : "You are in this room, muted.");
      if (conn.connectionState === "failed") { status("The audio/video connection failed; trying again…"); scheduleRetry(); }
    });
    local.getAudioTracks().forEach(function (t) { t.enabled = micOn; conn.addTransceiver(t, { direction: "sendonly" }); });
    local.getVideoTracks().forEach(function (t) {
      t.enabled = camOn;
      // Two layers: a browser sends at most two for a 640×360 camera, and keeps the low one
      // when it must drop one (Janus records and falls back to it).
      conn.addTransceiver(t, { direction: "sendonly", sendEncodings: [
        { rid: "h", maxBitrate: 600000 },
        { rid: "l", scaleResolutionDownBy: 2, maxBitrate: 200000 }
      ] });
    });
    send({ type: "media.mute", audio: !micOn, video: !camOn });
    selfTile().querySelector("video").srcObject = local;
    status("Connecting audio and video…");
    await negotiate();
  }

  // Janus: the server offers what this page watches; a fresh offer means a new room.
  function onSubOffer(msg) {
    subChain = subChain.then(async function () {
      if (!joined) return;
      if (msg.fresh || !subPc) {
        if (subPc) subPc.close();
        streams = {};
        var conn = subPc = new RTCPeerConnection({ iceServers: ice, bundlePolicy: "max-bundle" });
        conn.addEventListener("track", function () { render(); });
        conn.addEventListener("connectionstatechange", function () {
          if (subPc === conn && conn.connectionState === "failed") scheduleRetry();
        });
      }
      try {
        await subPc.setRemoteDescription({ type: "offer", sdp: msg.sdp });
        await subPc.setLocalDescription(await subPc.createAnswer());
        await gathered(subPc, 3000);
        send({ type: "media.sub.answer", sdp: subPc.localDescription.sdp });
      } catch (err) {
        status("Could not receive the room's audio and video: " + err.message);
      }
      render();
    });
  }

  // A screen or window as a second feed, shown large to everyone in the room. The browser's
  // own "Stop sharing" ends the track; the page notices and tells the server.
  async function shareScreen() {
    if (screenStream) { stopScreen(true); return; }
    try {
      screenStream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 10, max: 15 } }, audio: false });
    } catch (err) {
      screenStream = null;
      status("Screen sharing did not start (" + (err && err.message || err) + ").");
      return;
    }
    var track = screenStream.getVideoTracks()[0];
    track.addEventListener("ended", function () { stopScreen(true); status("You stopped sharing your screen."); });
    var mine = document.createElement("figure");
    mine.id = "media-screen-self";
    mine.className = "vtile vtile-self-screen";
    var v = document.createElement("video");
    v.autoplay = true; v.muted = true; v.playsInline = true;
    v.setAttribute("aria-label", "The screen you are sharing");
    v.srcObject = screenStream;
    var cap = document.createElement("figcaption");
    cap.textContent = "You are sharing this";
    mine.appendChild(v); mine.appendChild(cap);
    $("media-gallery").appendChild(mine);
    var conn = screenPc = new RTCPeerConnection({ iceServers: ice, bundlePolicy: "max-bundle" });
    conn.addTransceiver(track, { direction: "sendonly" });
    controls();
    await conn.setLocalDescription(await conn.createOffer());
    await gathered(conn, 3000);
    if (screenPc === conn) send({ type: "media.screen.offer", sdp: conn.localDescription.sdp });
    status("Sharing your screen with the room.");
  }
  function stopScreen(tell) {
    if (screenStream) screenStream.getTracks().forEach(function (t) { t.stop(); });
    screenStream = null;
    if (screenPc) { screenPc.close(); screenPc = null; }
    var mine = $("media-screen-self");
    if (mine) mine.remove();
    if (tell) send({ type: "media.screen.stop" });
    controls();
  }

  // Janus: how the pictures arrive. A link that loses packets or frames steps down by itself
  // (high → low → audio only), and back up after a good while; each tile shows what it gets.
  function stepQuality(sampleLossy) {
    var next = window.companionQuality.step(qstate, sampleLossy);
    var changed = next.level !== qstate.level;
    qstate = next;
    quality = next.level;
    if (changed) send({ type: "media.quality", level: quality });
  }
  async function watchQuality() {
    if (!janus || !subPc || !joined || !qstate) return;
    var report;
    try { report = await subPc.getStats(); } catch (e) { return; }
    var lost = 0, got = 0, heights = {};
    report.forEach(function (r) {
      if (r.type !== "inbound-rtp" || r.kind !== "video") return;
      var before = lastStats[r.id] || { lost: r.packetsLost || 0, got: r.packetsReceived || 0 };
      lost += Math.max(0, (r.packetsLost || 0) - before.lost);
      got += Math.max(0, (r.packetsReceived || 0) - before.got);
      lastStats[r.id] = { lost: r.packetsLost || 0, got: r.packetsReceived || 0 };
      if (r.mid !== undefined) heights[r.mid] = r.frameHeight || 0;
    });
    if (got + lost > 50) stepQuality(window.companionQuality.lossy(lost, got));
    Array.prototype.slice.call(panel.querySelectorAll(".vtile[data-mid]")).forEach(function (el) {
      var h = heights[el.getAttribute("data-mid")];
      var q = el.querySelector(".vtile-q");
      if (!q) return;
      var text = quality === "audio" && !el.classList.contains("is-screen") ? "audio only" : (h ? h + "p" : "…");
      if (q.textContent !== text) { q.textContent = text; q.setAttribute("aria-label", "Picture quality: " + text); }
    });
  }
  setInterval(watchQuality, 2000);

  function hangUp(forget) {
    if (pc) { pc.close(); pc = null; }
    if (subPc) { subPc.close(); subPc = null; }
    if (janus) stopScreen(false);
    joined = false;
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
    var conn = rx();
    if (!conn) return null;
    var t = conn.getTransceivers().filter(function (x) { return x.mid === mid; })[0];
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
    if (st && rx() && !st.link) {
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
        el.classList.toggle("is-screen", !!t.screen);
        el.setAttribute("data-person", pid);
        if (janus) {
          var q = el.querySelector(".vtile-q");
          if (!q) {
            q = document.createElement("span");
            q.className = "vtile-q";
            q.setAttribute("role", "img");
            el.appendChild(q);
          }
          if (p.video) el.setAttribute("data-mid", p.video);
          else {
            // The server sends this person's sound only (this page's link is poor).
            el.removeAttribute("data-mid");
            if (q.textContent !== "audio only") { q.textContent = "audio only"; q.setAttribute("aria-label", "Picture quality: audio only"); }
          }
        }
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
        if (el.id !== "media-self" && el.id !== "media-screen-self" && !keep[el.id]) el.remove();
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
      if (isJoined()) hangUp(false);
      status("Audio and video for this room are in the meeting linked below.");
    } else {
      show(link, false);
      show($("media-controls"), true);
      if (wanted && !isJoined()) join(publish);
    }
    if (!st.room) status(isJoined() ? "No room right now (a break): you will be connected again when the next session starts." : "No room right now.");
    if (wanted && isJoined() && !st.you.connected && !negotiating) {
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
    else if (msg.type === "media.sub.offer") onSubOffer(msg);
    else if (msg.type === "media.republish") { if (joined && publish && local) startPublish(); }
    else if (msg.type === "media.screen.answer" && screenPc) {
      try { await screenPc.setRemoteDescription({ type: "answer", sdp: msg.sdp }); }
      catch (err) { status("Could not share your screen: " + err.message); stopScreen(true); }
    } else if (msg.type === "media.screen.ended") {
      stopScreen(false);
      if (msg.message) status(msg.message);
    }
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
      if (screenPc && !screenPc.remoteDescription) stopScreen(false);
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
  if ($("media-screen")) $("media-screen").addEventListener("click", function () { shareScreen(); });
  controls();
  var kept = null;
  try { kept = sessionStorage.getItem(KEPT); } catch (e) { kept = null; }
  if (kept) {
    // Rejoin once the live socket is open (signalling travels on it).
    document.addEventListener("companion:connected", function once() {
      document.removeEventListener("companion:connected", once);
      if (!isJoined()) join(kept === "publish");
    });
  }
})();
