// Copy buttons of the share block (web/_share.html). Without this script the buttons stay
// hidden and the URL and citation remain selectable text.
(function () {
  "use strict";
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "share-offscreen";
      document.body.appendChild(area);
      area.select();
      var done = false;
      try { done = document.execCommand("copy"); } catch (e) { done = false; }
      document.body.removeChild(area);
      if (done) { resolve(); } else { reject(new Error("copy")); }
    });
  }
  function init() {
    document.querySelectorAll(".share-block").forEach(function (block) {
      var status = block.querySelector(".share-status");
      block.querySelectorAll("button.share-copy").forEach(function (button) {
        var source = document.getElementById(button.getAttribute("data-copy-from"));
        if (!source) { return; }
        button.hidden = false;
        button.addEventListener("click", function () {
          var text = source.value !== undefined && source.tagName === "INPUT" ? source.value : source.textContent.trim();
          copyText(text).then(function () {
            if (status) { status.textContent = block.getAttribute("data-copied") || ""; }
          }, function () {
            if (source.select) { source.select(); }
            if (status) { status.textContent = block.getAttribute("data-copy-failed") || ""; }
          });
        });
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
