/* Lantai staff UI: progress polling for queued imports and checks, confirmations, print. No inline scripts (CSP). */
(function () {
  "use strict";

  function pollProgress(box) {
    var url = box.getAttribute("data-progress-url");
    var bar = box.querySelector("progress");
    var rows = box.querySelector("#progress-rows");
    var status = document.getElementById(box.getAttribute("data-status-id") || "batch-status");
    var stage = box.querySelector(".progress-stage");
    var delay = 1000;

    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { setTimeout(tick, delay * 3); return; }
          if (rows && typeof data.rows === "number") { rows.textContent = String(data.rows); }
          if (status && data.status_label) { status.textContent = data.status_label; }
          if (stage && data.stage_label) { stage.textContent = data.stage_label; }
          if (bar && data.progress > 0) { bar.max = 1; bar.value = data.progress; }
          if (data.done) { window.location.reload(); return; }
          setTimeout(tick, delay);
        })
        .catch(function () { setTimeout(tick, delay * 3); });
    }
    tick();
  }

  function confirmButtons() {
    document.querySelectorAll("[data-confirm]").forEach(function (el) {
      el.addEventListener("click", function (ev) {
        if (!window.confirm(el.getAttribute("data-confirm"))) { ev.preventDefault(); }
      });
    });
  }

  function printButtons() {
    document.querySelectorAll("[data-print]").forEach(function (el) {
      el.addEventListener("click", function () { window.print(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-progress-url]").forEach(pollProgress);
    confirmButtons();
    printButtons();
  });
})();
