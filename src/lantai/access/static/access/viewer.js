/* 公众查档: a zoomable page-image viewer. Mouse (wheel, drag, double-click), keyboard
   (+ - 0, arrows, PageUp/PageDown) and touch (pinch, drag) through pointer events. */
(function () {
  "use strict";
  var STEP = 1.25, MIN = 0.5, MAX = 10, PAN = 60;

  function Viewer(root) {
    var stage = root.querySelector(".viewer-stage");
    var images = Array.prototype.slice.call(stage.querySelectorAll("img"));
    var pageLabel = root.querySelector("[data-page]");
    var zoomLabel = root.querySelector("[data-zoom-label]");
    var template = stage.getAttribute("data-page-template") || "%(page)s / %(pages)s";
    var index = 0, fit = 1, scale = 1, x = 0, y = 0;
    var pointers = {}, pinch = null, drag = null;

    function img() { return images[index]; }
    function size() { return { w: stage.clientWidth, h: stage.clientHeight }; }
    function apply() {
      var im = img();
      im.style.transform = "translate(" + x + "px," + y + "px) scale(" + scale + ")";
      var zoom = scale / fit;
      stage.setAttribute("data-zoom", zoom.toFixed(2));
      if (zoomLabel) zoomLabel.textContent = Math.round(zoom * 100) + "%";
      if (pageLabel) pageLabel.textContent = template.replace("%(page)s", index + 1).replace("%(pages)s", images.length);
    }
    function clamp() {
      var im = img(), s = size(), w = im.naturalWidth * scale, h = im.naturalHeight * scale;
      x = w <= s.w ? (s.w - w) / 2 : Math.min(0, Math.max(s.w - w, x));
      y = h <= s.h ? (s.h - h) / 2 : Math.min(0, Math.max(s.h - h, y));
    }
    function reset() {
      var im = img(), s = size();
      if (!im.naturalWidth) return;
      fit = Math.min(s.w / im.naturalWidth, s.h / im.naturalHeight);
      scale = fit; clamp(); apply();
    }
    function zoomAt(factor, cx, cy) {
      var s = size();
      if (cx === undefined) { cx = s.w / 2; cy = s.h / 2; }
      var next = Math.min(MAX * fit, Math.max(MIN * fit, scale * factor));
      x = cx - (cx - x) * (next / scale); y = cy - (cy - y) * (next / scale);
      scale = next; clamp(); apply();
    }
    function pan(dx, dy) { x += dx; y += dy; clamp(); apply(); }
    function go(k) {
      if (k < 0 || k >= images.length || k === index) return;
      images[index].hidden = true; index = k; images[index].hidden = false;
      if (!img().getAttribute("src") && img().dataset.src) img().src = img().dataset.src; // on demand
      if (img().complete) reset(); else img().addEventListener("load", reset, { once: true });
      apply();
    }
    function point(e) { var r = stage.getBoundingClientRect(); return { x: e.clientX - r.left, y: e.clientY - r.top }; }

    stage.classList.add("ready");
    images.forEach(function (im, k) {
      im.addEventListener("load", function () { if (k === index) reset(); });
    });
    if (img().complete) reset();
    window.addEventListener("resize", function () { var z = scale / fit; reset(); zoomAt(z); });

    root.addEventListener("click", function (e) {
      var b = e.target.closest("[data-action]");
      if (!b) return;
      var a = b.getAttribute("data-action");
      if (a === "zoom-in") zoomAt(STEP);
      else if (a === "zoom-out") zoomAt(1 / STEP);
      else if (a === "reset") reset();
      else if (a === "prev") go(index - 1);
      else if (a === "next") go(index + 1);
    });
    stage.addEventListener("keydown", function (e) {
      var handled = true;
      switch (e.key) {
        case "+": case "=": case "Add": zoomAt(STEP); break;
        case "-": case "_": case "Subtract": zoomAt(1 / STEP); break;
        case "0": reset(); break;
        case "ArrowLeft": pan(PAN, 0); break;
        case "ArrowRight": pan(-PAN, 0); break;
        case "ArrowUp": pan(0, PAN); break;
        case "ArrowDown": pan(0, -PAN); break;
        case "PageUp": go(index - 1); break;
        case "PageDown": go(index + 1); break;
        default: handled = false;
      }
      if (handled) e.preventDefault();
    });
    stage.addEventListener("wheel", function (e) {
      e.preventDefault();
      var p = point(e);
      zoomAt(e.deltaY < 0 ? STEP : 1 / STEP, p.x, p.y);
    }, { passive: false });
    stage.addEventListener("dblclick", function (e) { var p = point(e); zoomAt(STEP * STEP, p.x, p.y); });
    stage.addEventListener("pointerdown", function (e) {
      stage.setPointerCapture(e.pointerId);
      pointers[e.pointerId] = point(e);
      var ids = Object.keys(pointers);
      if (ids.length === 2) {
        var a = pointers[ids[0]], b = pointers[ids[1]];
        pinch = { d: Math.hypot(a.x - b.x, a.y - b.y), scale: scale }; drag = null;
      } else if (ids.length === 1) {
        drag = pointers[e.pointerId]; stage.classList.add("dragging");
      }
    });
    stage.addEventListener("pointermove", function (e) {
      if (!(e.pointerId in pointers)) return;
      var p = point(e), ids = Object.keys(pointers);
      if (pinch && ids.length === 2) {
        pointers[e.pointerId] = p;
        var a = pointers[ids[0]], b = pointers[ids[1]];
        var d = Math.hypot(a.x - b.x, a.y - b.y);
        if (pinch.d > 0) zoomAt((pinch.scale * d / pinch.d) / scale, (a.x + b.x) / 2, (a.y + b.y) / 2);
      } else if (drag) {
        pan(p.x - drag.x, p.y - drag.y); drag = p; pointers[e.pointerId] = p;
      }
    });
    function up(e) {
      delete pointers[e.pointerId];
      if (Object.keys(pointers).length < 2) pinch = null;
      if (!Object.keys(pointers).length) { drag = null; stage.classList.remove("dragging"); }
    }
    stage.addEventListener("pointerup", up);
    stage.addEventListener("pointercancel", up);
    apply();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-viewer]").forEach(function (root) {
      if (root.querySelector(".viewer-stage img")) Viewer(root);
    });
  });
})();
