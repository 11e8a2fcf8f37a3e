// Replay of a recorded part: the cameras of one part play, pause and seek together.
(function () {
  "use strict";
  document.querySelectorAll("[data-sync-group]").forEach(function (box) {
    var videos = Array.prototype.slice.call(box.querySelectorAll("video"));
    var busy = false;
    function follow(source, act) {
      if (busy) return;
      busy = true;
      videos.forEach(function (v) { if (v !== source) act(v); });
      busy = false;
    }
    videos.forEach(function (v) {
      v.addEventListener("play", function () { follow(v, function (o) { o.currentTime = v.currentTime; o.play().catch(function () {}); }); });
      v.addEventListener("pause", function () { follow(v, function (o) { o.pause(); }); });
      v.addEventListener("seeked", function () { follow(v, function (o) { if (Math.abs(o.currentTime - v.currentTime) > 0.3) o.currentTime = v.currentTime; }); });
    });
  });
})();
