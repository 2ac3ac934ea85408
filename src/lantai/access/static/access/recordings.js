/* 公众查档: the time-coded segments of a recording seek its player. A segment link is
   #rec-<id>-t=<seconds> (shareable); following it, or opening the page at it, plays from there.
   No inline script (the CSP forbids it), no dependencies. */
(function () {
  "use strict";
  var LINK = /^#rec-(\d+)-t=(\d+(?:\.\d+)?)$/;

  function seek(hash, play) {
    var m = LINK.exec(hash || "");
    if (!m) return false;
    var box = document.getElementById("rec-" + m[1]);
    var player = box && box.querySelector("[data-player]");
    if (!player) return false;
    var at = parseFloat(m[2]);
    function go() {
      player.currentTime = at;
      if (play) { var p = player.play(); if (p && p.catch) p.catch(function () {}); }
    }
    if (player.readyState >= 1) go();
    else player.addEventListener("loadedmetadata", go, { once: true });
    box.scrollIntoView({ block: "nearest" });
    return true;
  }

  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a[data-seek]");
    if (!a) return;
    var hash = a.getAttribute("href");
    if (seek(hash, true)) {
      e.preventDefault();
      if (history.replaceState) history.replaceState(null, "", hash);
    }
  });
  window.addEventListener("hashchange", function () { seek(location.hash, true); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { seek(location.hash, false); });
  } else {
    seek(location.hash, false);
  }
})();
