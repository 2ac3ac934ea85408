/* 数字化 pages in the staff UI: draw search hits and OCR line boxes over a page image, and jump a
   recording to a described segment. No inline scripts or styles (CSP): boxes come as
   data-box="x0,y0,x1,y1" in the stored page's pixels and are scaled to the displayed image here. */
(function () {
  "use strict";

  function parseBox(text) {
    var v = (text || "").split(",").map(Number);
    return v.length === 4 && v.every(isFinite) ? v : null;
  }

  function place(el, box, img, scale) {
    el.style.left = (img.offsetLeft + box[0] * scale) + "px";
    el.style.top = (img.offsetTop + box[1] * scale) + "px";
    el.style.width = Math.max(2, (box[2] - box[0]) * scale) + "px";
    el.style.height = Math.max(2, (box[3] - box[1]) * scale) + "px";
  }

  function overlay(figure) {
    var img = figure.querySelector("img.page-image");
    var width = parseFloat(figure.getAttribute("data-page-width")) || 0;
    var lineBox = figure.querySelector(".line-box");
    if (!img || !width) { return; }
    function scale() { return img.clientWidth / width; }
    function drawHits() {
      var s = scale();
      if (!s) { return; }
      figure.querySelectorAll(".hit-box[data-box]").forEach(function (el) {
        var box = parseBox(el.getAttribute("data-box"));
        if (box) { place(el, box, img, s); el.hidden = false; }
      });
      figure.classList.add("boxes-drawn");
    }
    if (img.complete && img.naturalWidth) { drawHits(); } else { img.addEventListener("load", drawHits); }
    window.addEventListener("resize", drawHits);
    var first = figure.querySelector(".hit-box");
    if (first) {
      img.addEventListener("load", function () { first.scrollIntoView({ block: "center" }); });
    }
    if (!lineBox) { return; }
    document.querySelectorAll(".ocr-line[data-box]").forEach(function (line) {
      function show() {
        var box = parseBox(line.getAttribute("data-box"));
        if (box && scale()) { place(lineBox, box, img, scale()); lineBox.hidden = false; }
      }
      function hide() { lineBox.hidden = true; }
      line.addEventListener("mouseenter", show);
      line.addEventListener("focusin", show);
      line.addEventListener("mouseleave", hide);
      line.addEventListener("focusout", hide);
    });
  }

  function seekLinks() {
    document.querySelectorAll("[data-seek][data-player]").forEach(function (link) {
      link.addEventListener("click", function (ev) {
        var player = document.getElementById(link.getAttribute("data-player"));
        var at = parseFloat(link.getAttribute("data-seek"));
        if (!player || !isFinite(at)) { return; }
        ev.preventDefault();
        player.currentTime = at;
        var played = player.play();
        if (played && played.catch) { played.catch(function () {}); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".page-overlay").forEach(overlay);
    seekLinks();
  });
})();
