// What a viewer's link can take, from its own loss measurements: the rule media.js follows on
// the Janus engine. Two lossy samples in a row (2 s each) step down — high, then low, then audio
// only; ten good ones in a row step back up one level. Pure, so it is tested on its own
// (tests/js/quality_check.mjs).
(function (root) {
  "use strict";
  var LEVELS = ["high", "low", "audio"];
  var LOSSY = 0.08; // a tenth of packets lost, near enough
  function lossy(lost, got) { return got + lost > 50 && lost / (got + lost) > LOSSY; }
  function step(state, sampleLossy) {
    var s = { level: state.level, poor: state.poor, good: state.good };
    if (sampleLossy) { s.poor += 1; s.good = 0; } else { s.good += 1; s.poor = 0; }
    var i = LEVELS.indexOf(s.level);
    if (s.poor >= 2 && i < LEVELS.length - 1) { s.level = LEVELS[i + 1]; s.poor = 0; }
    else if (s.good >= 10 && i > 0) { s.level = LEVELS[i - 1]; s.good = 0; }
    return s;
  }
  var api = { LEVELS: LEVELS, lossy: lossy, step: step, start: function () { return { level: "high", poor: 0, good: 0 }; } };
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.companionQuality = api;
})(typeof window !== "undefined" ? window : globalThis);
