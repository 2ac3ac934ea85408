/* Lantai staff UI: progress polling for queued imports and checks, confirmations, print, chunked uploads. No inline scripts (CSP). */
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
          var banner = document.getElementById("worker-status");
          if (banner && typeof data.worker_down === "boolean") { banner.hidden = !data.worker_down; }
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


  /* Resumable chunked upload of a transfer package: the file goes up in 8 MiB chunks while the form
     is filled in; the form then posts only the upload token. The token is kept in localStorage under
     the file's name, size and date, so choosing the same file after a break resumes at the server's
     offset. Without JS the plain multipart post still works. */
  var CHUNK = 8 * 1024 * 1024;

  function chunkedUpload(form) {
    var input = form.querySelector("input[type=file][name=package]");
    var hidden = form.querySelector("input[name=upload]");
    var box = form.querySelector(".upload-progress");
    if (!input || !hidden || !box) { return; }
    var bar = box.querySelector("progress");
    var percent = box.querySelector(".upload-percent");
    var note = box.querySelector(".upload-note");
    var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    var startUrl = form.getAttribute("data-chunked-upload");
    var state = { busy: false, done: false, submitWhenDone: false };
    var tries = 0;

    function show(offset, size, text) {
      box.hidden = false;
      bar.value = size ? offset / size : 1;
      percent.textContent = Math.floor(100 * (size ? offset / size : 1)) + "%";
      if (text !== undefined) { note.textContent = text; }
    }

    function request(method, url, body, headers) {
      headers = Object.assign({ "X-CSRFToken": csrf, Accept: "application/json" }, headers || {});
      return fetch(url, { method: method, body: body, headers: headers, credentials: "same-origin" })
        .then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (data) {
            data.status = r.status;
            return data;
          });
        });
    }

    function open(file, key) {  // the saved session for this file, else a new one
      var saved = localStorage.getItem(key);
      var resume = saved
        ? request("GET", startUrl + saved + "/").then(function (d) { return d.status === 200 ? d : null; })
        : Promise.resolve(null);
      return resume.then(function (d) {
        if (d) { show(d.offset, file.size, d.offset ? box.getAttribute("data-text-resumed") : ""); return d; }
        var params = new URLSearchParams({ name: file.name, size: String(file.size) });
        return request("POST", startUrl, params).then(function (d) {
          if (d.status !== 201) { throw new Error(d.error || String(d.status)); }
          localStorage.setItem(key, d.token);
          return d;
        });
      });
    }

    function send(file, token, offset) {
      show(offset, file.size);
      if (offset >= file.size) { return Promise.resolve(token); }
      var end = Math.min(offset + CHUNK, file.size);
      var range = "bytes " + offset + "-" + (end - 1) + "/" + file.size;
      return request("PUT", startUrl + token + "/", file.slice(offset, end), {
        "Content-Range": range, "Content-Type": "application/octet-stream"
      }).then(function (d) {
        var moved = typeof d.offset === "number" && d.offset !== offset;
        if (d.status !== 200 && !(d.status === 409 && moved)) {
          throw new Error(d.error || String(d.status));
        }
        return send(file, token, d.offset);  // on 409 the server says where to go on from
      }, function () {  // a network break: wait, ask the server how far it got, go on from there
        if (tries >= 5) { throw new Error(""); }
        return new Promise(function (resolve) { setTimeout(resolve, 2000 * ++tries); })
          .then(function () { return request("GET", startUrl + token + "/"); })
          .then(function (d) { return send(file, token, d.status === 200 ? d.offset : offset); });
      });
    }

    input.addEventListener("change", function () {
      var file = input.files[0];
      hidden.value = "";
      state.done = false;
      if (!file || state.busy) { return; }
      var key = "lantai.upload:" + [file.name, file.size, file.lastModified].join(":");
      state.busy = true;
      tries = 0;
      show(0, file.size, "");
      open(file, key)
        .then(function (d) { return send(file, d.token, d.offset); })
        .then(function (token) {
          hidden.value = token;
          state.busy = false;
          state.done = true;
          localStorage.removeItem(key);
          if (state.submitWhenDone) { form.requestSubmit(); }
        })
        .catch(function (e) {
          note.textContent = box.getAttribute("data-text-failed") + " " + (e.message || "");
          state.submitWhenDone = false;
        })
        .finally(function () { state.busy = false; });
    });

    form.addEventListener("submit", function (ev) {
      if (state.busy) {  // still uploading: post when the last chunk is in
        ev.preventDefault();
        state.submitWhenDone = true;
        note.textContent = box.getAttribute("data-text-waiting");
      } else if (state.done) {
        input.value = "";  // the server has the file already: post only the token
      }
    });
  }

  /* A page that shows something a job is still doing (a package 待保存) reloads itself every
     data-refresh-seconds, unless the user has typed into a form on it (nothing typed is lost). */
  function refreshWhileWaiting(el) {
    var seconds = parseInt(el.getAttribute("data-refresh-seconds"), 10) || 10;
    var typed = false;
    document.addEventListener("input", function () { typed = true; });
    setInterval(function () {
      if (!typed && !document.hidden) { window.location.reload(); }
    }, seconds * 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-progress-url]").forEach(pollProgress);
    var waiting = document.querySelector("[data-refresh-seconds]");
    if (waiting) { refreshWhileWaiting(waiting); }
    confirmButtons();
    printButtons();
    document.querySelectorAll("form[data-chunked-upload]").forEach(chunkedUpload);
  });
})();
