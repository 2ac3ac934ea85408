/* The IIIF viewer (web/_iiif_viewer.html): OpenSeadragon over IIIF Image API tile sources, with
   a page strip, previous/next, zoom, full page, a side-by-side comparison with synchronised zoom,
   and IIIF Content Search hits drawn as overlays. Keyboard: ← → pages, + − zoom, 0 home, F full
   page, Esc leaves full page. Every word shown comes from the page's data-t-* attributes
   (Django i18n); nothing here writes a style attribute or a <style> element (CSP style-src 'self'). */
(function () {
  "use strict";
  if (window.LantaiIIIFViewer) return; // the include may appear more than once on a page
  window.LantaiIIIFViewer = true;

  var STEP = 1.25;
  var OSD_STYLE_MARK = "data-openseadragon-mobile-css";

  // OpenSeadragon 6 appends a <style> element to <head> (to hide the canvas focus outline on
  // touch screens) unless document.querySelector finds one with this attribute. CSP style-src
  // 'self' blocks it and Chromium reports a violation for any <style> element, even an inert
  // one, so while a viewer is built that one question is answered "there is one". We keep the
  // focus outline on purpose.
  function withoutOsdStyle(build) {
    var asked = "style[" + OSD_STYLE_MARK + "]";
    var find = document.querySelector;
    document.querySelector = function (selector) {
      return selector === asked ? document.head : find.apply(document, arguments);
    };
    try { return build(); } finally { delete document.querySelector; } // the prototype's again
  }

  function fmt(template, values) {
    return String(template || "").replace(/%\((\w+)\)s/g, function (all, key) {
      return key in values ? values[key] : all;
    });
  }

  function pathOf(url) {
    try { return new URL(url, window.location.href).pathname.replace(/\/info\.json$/, ""); }
    catch (e) { return ""; }
  }

  function typing(target) {
    return target && target.closest && target.closest("input, textarea, select, [contenteditable]");
  }

  // Show the fallback images kept in <noscript> (OpenSeadragon did not load or failed).
  function showFallback(root) {
    var kept = root.querySelector("noscript");
    if (!kept || root.querySelector(".iiif-viewer-fallback")) return;
    var holder = document.createElement("template");
    holder.innerHTML = kept.textContent; // our own server-rendered, escaped markup
    root.appendChild(holder.content);
  }

  function Viewer(root) {
    var T = function (name) { return root.getAttribute("data-t-" + name) || ""; };
    var pages = Array.prototype.map.call(root.querySelectorAll("[data-info]"), function (li) {
      return { info: li.getAttribute("data-info"), label: li.getAttribute("data-label") || "" };
    });
    var stage = root.querySelector("[data-stage]");
    var paneEls = root.querySelectorAll("[data-pane]");
    var statusEl = root.querySelector("[data-status]");
    var strip = root.querySelector("[data-strip]");
    var compareButton = root.querySelector("[data-action=compare]");
    var fullButton = root.querySelector("[data-action=full]");
    var comparing = root.getAttribute("data-mode") === "compare" && pages.length > 1;
    var index = 0;
    var hits = [];       // [{page, rect: [x, y, w, h] in canvas units, canvas: {w, h}, ...}]
    var current = null;  // the hit shown last (to zoom to when its page opens)
    var syncing = false;

    function makeViewer(pane) {
      return withoutOsdStyle(function () { return window.OpenSeadragon({
        element: pane,
        prefixUrl: root.getAttribute("data-prefix"),
        tileSources: pages.map(function (p) { return p.info; }),
        sequenceMode: true,
        showNavigationControl: false,
        showSequenceControl: false,
        showReferenceStrip: false,
        gestureSettingsMouse: { clickToZoom: false },
        visibilityRatio: 0.5,
        minZoomImageRatio: 0.8,
        maxZoomPixelRatio: 4,
        crossOriginPolicy: false
      }); });
    }

    var viewers = []; // the second side is made when the reader first compares

    function other(k) { return Math.min(pages.length - 1, k + 1); }
    function percent(v) {
      var home = v.viewport ? v.viewport.getHomeZoom() : 0;
      return home ? Math.round(v.viewport.getZoom() / home * 100) : 100;
    }
    function status() {
      if (!statusEl) return;
      statusEl.textContent = (comparing
        ? fmt(T("pair"), { left: index + 1, right: other(index) + 1 })
        : fmt(T("page"), { page: index + 1, pages: pages.length })) + " · " + percent(viewers[0]) + "%";
    }
    function layout() {
      paneEls[1].hidden = !comparing;
      root.classList.toggle("iiif-viewer-comparing", comparing);
      if (compareButton) compareButton.setAttribute("aria-pressed", comparing ? "true" : "false");
      if (strip) {
        strip.querySelectorAll("[data-page]").forEach(function (b) {
          var k = Number(b.getAttribute("data-page"));
          var shown = k === index || (comparing && k === other(index));
          if (shown) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
        });
      }
      status();
    }
    function go(k) {
      k = Math.max(0, Math.min(pages.length - 1 - (comparing ? 1 : 0), k));
      if (k !== index) {
        index = k;
        if (viewers[0].currentPage() !== index) viewers[0].goToPage(index);
      }
      if (comparing) {
        paneEls[1].hidden = false; // shown before OpenSeadragon measures it
        if (!viewers[1]) add(makeViewer(paneEls[1]), 1);
        if (viewers[1].currentPage() !== other(index)) viewers[1].goToPage(other(index));
      }
      layout();
    }
    // the first side only: in comparison the other follows it (see `follow`)
    function zoom(factor) {
      lead = 0;
      viewers[0].viewport.zoomBy(factor);
      viewers[0].viewport.applyConstraints();
    }
    function home() { lead = 0; viewers[0].viewport.goHome(); }
    function setFull(on) {
      root.classList.toggle("iiif-viewer-full", on);
      document.documentElement.classList.toggle("iiif-viewer-page-locked", on);
      if (fullButton) fullButton.setAttribute("aria-pressed", on ? "true" : "false");
    }
    function toggleCompare() {
      comparing = !comparing && pages.length > 1;
      if (comparing && index > pages.length - 2) {
        index = pages.length - 2;
        viewers[0].goToPage(index);
      }
      go(index);
    }

    // In comparison the side the reader moves leads and the other follows its zoom and pan
    // (viewport coordinates: both images are 1 wide); a side that opens a page takes the view
    // of the first side.
    var lead = 0;
    function copyView(from, to) {
      if (!to.viewport || !from.viewport || !to.world.getItemCount()) return;
      syncing = true;
      to.viewport.zoomTo(from.viewport.getZoom(), null, true);
      to.viewport.panTo(from.viewport.getCenter(), true);
      syncing = false;
      paneEls[viewers.indexOf(to)].setAttribute("data-zoom", percent(to));
    }
    function add(v, n) {
      viewers[n] = v;
      function follow() {
        if (comparing && !syncing && n === lead && viewers.length > 1) copyView(v, viewers[1 - n]);
      }
      ["canvas-press", "canvas-scroll", "canvas-pinch", "canvas-key"].forEach(function (name) {
        v.addHandler(name, function () { lead = n; });
      });
      function shown() { // the zoom readout (home zoom changes with the image and the pane size)
        paneEls[n].setAttribute("data-zoom", percent(v));
        if (n === 0) status();
      }
      v.addHandler("zoom", function () { follow(); shown(); });
      v.addHandler("resize", shown);
      v.addHandler("pan", follow);
      v.addHandler("open", function () {
        if (n === 1 && comparing) copyView(viewers[0], v);
        shown();
        if (n === 0 || comparing) drawHits(v);
      });
      v.addHandler("open-failed", function () {
        if (statusEl) statusEl.textContent = T("open-failed");
      });
      v.addHandler("page", function (e) {
        if (n === 0 && e.page !== index) { index = e.page; layout(); }
      });
      // Our keys replace OpenSeadragon's (its ← → pan and F flips the image).
      v.addHandler("canvas-key", function (e) {
        if (command(e.originalEvent.key) && e.originalEvent.type === "keydown") {
          e.preventDefaultAction = true;
        }
      });
    }
    // shown before OpenSeadragon measures its pane (a pane measured hidden opens zoomed in)
    root.querySelector("[data-toolbar]").hidden = false;
    stage.hidden = false;
    if (strip) strip.hidden = false;
    add(makeViewer(paneEls[0]), 0);

    function command(key) {
      return {
        ArrowLeft: "prev", ArrowRight: "next", "+": "zoom-in", "=": "zoom-in",
        "-": "zoom-out", "_": "zoom-out", "0": "home", f: "full", F: "full"
      }[key] || (key === "Escape" && root.classList.contains("iiif-viewer-full") ? "leave" : "");
    }
    function run(action) {
      if (action === "prev") go(index - 1);
      else if (action === "next") go(index + 1);
      else if (action === "zoom-in") zoom(STEP);
      else if (action === "zoom-out") zoom(1 / STEP);
      else if (action === "home") home();
      else if (action === "full") setFull(!root.classList.contains("iiif-viewer-full"));
      else if (action === "leave") setFull(false);
      else if (action === "compare") toggleCompare();
    }

    root.addEventListener("click", function (e) {
      var b = e.target.closest("[data-action]");
      if (b) { run(b.getAttribute("data-action")); return; }
      var p = e.target.closest("[data-page]");
      if (p) { current = null; go(Number(p.getAttribute("data-page"))); }
    });
    root.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.altKey || e.metaKey || typing(e.target)) return;
      var action = command(e.key);
      if (!action) return;
      e.preventDefault();
      run(action);
    });

    // --- content search -------------------------------------------------------------------
    var form = root.querySelector("[data-search-form]");
    var countEl = root.querySelector("[data-hit-count]");
    var list = root.querySelector("[data-hits]");
    var canvases = null; // promise of {canvasId: {page, w, h}}

    function canvasMap() {
      if (canvases) return canvases;
      var manifest = root.getAttribute("data-manifest");
      var byPath = {};
      pages.forEach(function (p, k) { byPath[pathOf(p.info)] = k; });
      canvases = !manifest ? Promise.resolve({}) : fetch(manifest, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : {}; })
        .then(function (m) {
          var map = {};
          (m.items || []).forEach(function (canvas, order) {
            var page = order;
            try {
              var body = canvas.items[0].items[0].body;
              var service = [].concat(body.service || [])[0] || {};
              var found = byPath[pathOf(service.id || service["@id"] || "")];
              if (found !== undefined) page = found;
            } catch (e) { /* a canvas without an image: by order */ }
            map[canvas.id] = { page: page, w: canvas.width, h: canvas.height };
          });
          return map;
        })
        .catch(function () { return {}; });
      return canvases;
    }

    function targetOf(anno) {
      var t = [].concat(anno.target || [])[0];
      if (!t) return null;
      var id = typeof t === "string" ? t : (typeof t.source === "string" ? t.source
        : (t.source && (t.source.id || t.source["@id"])) || t.id || "");
      var selector = t.selector ? [].concat(t.selector)[0] : null;
      var fragment = (selector && selector.value) || (id.indexOf("#") >= 0 ? id.split("#")[1] : "");
      var m = /xywh=(?:pixel:)?([\d.]+),([\d.]+),([\d.]+),([\d.]+)/.exec(fragment || "");
      if (!m) return null;
      return { canvas: id.split("#")[0], rect: [+m[1], +m[2], +m[3], +m[4]] };
    }
    function textOf(anno) {
      var body = [].concat(anno.body || [])[0] || {};
      return body.value || (anno.label && [].concat(Object.values(anno.label)[0] || [])[0]) || "";
    }
    function quotes(page) {
      var byAnno = {};
      (page.annotations || []).forEach(function (p) {
        (p.items || []).forEach(function (h) {
          var t = [].concat(h.target || [])[0] || {};
          var source = typeof t.source === "string" ? t.source : (t.source && t.source.id);
          var q = [].concat(t.selector || []).filter(function (s) { return s.type === "TextQuoteSelector"; })[0];
          if (source && q) byAnno[source] = q;
        });
      });
      return byAnno;
    }

    function drawHits(v) {
      v.clearOverlays();
      var item = v.world.getItemAt(0);
      if (!item) return;
      var size = item.source.dimensions;
      var page = v.currentPage();
      hits.forEach(function (hit) {
        if (hit.page !== page) return;
        var sx = hit.canvas.w ? size.x / hit.canvas.w : 1, sy = hit.canvas.h ? size.y / hit.canvas.h : 1;
        var rect = item.imageToViewportRectangle(hit.rect[0] * sx, hit.rect[1] * sy, hit.rect[2] * sx, hit.rect[3] * sy);
        var mark = document.createElement("div");
        mark.className = "iiif-viewer-hit" + (hit === current ? " iiif-viewer-hit-current" : "");
        mark.setAttribute("data-hit", hit.n);
        v.addOverlay({ element: mark, location: rect });
        if (hit === current) { // the hit with some of its page around it
          var around = new window.OpenSeadragon.Rect(rect.x - rect.width, rect.y - 3 * rect.height,
                                                    rect.width * 3, rect.height * 7);
          v.viewport.fitBoundsWithConstraints(around);
        }
      });
    }
    function showHit(hit) {
      current = hit;
      if (comparing) toggleCompare();
      if (viewers[0].currentPage() === hit.page) drawHits(viewers[0]);
      else go(hit.page); // drawn on "open"
    }
    function renderHits() {
      list.textContent = "";
      hits.forEach(function (hit) {
        var li = document.createElement("li");
        var b = document.createElement("button");
        b.type = "button";
        b.className = "iiif-viewer-hit-link";
        var where = document.createElement("span");
        where.className = "iiif-viewer-hit-page";
        where.textContent = fmt(T("hit-page"), { n: hit.page + 1 });
        b.appendChild(where);
        b.appendChild(document.createTextNode(" "));
        if (hit.quote) {
          b.appendChild(document.createTextNode(hit.quote.prefix || ""));
          var mark = document.createElement("mark");
          mark.textContent = hit.quote.exact || "";
          b.appendChild(mark);
          b.appendChild(document.createTextNode(hit.quote.suffix || ""));
        } else {
          b.appendChild(document.createTextNode(hit.text));
        }
        b.addEventListener("click", function () { showHit(hit); });
        li.appendChild(b);
        list.appendChild(li);
      });
    }
    if (form) {
      form.hidden = false;
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var q = form.elements.q.value.trim();
        if (!q) return;
        var url = root.getAttribute("data-search");
        countEl.textContent = T("searching");
        fetch(url + (url.indexOf("?") >= 0 ? "&" : "?") + "q=" + encodeURIComponent(q),
          { credentials: "same-origin", headers: { Accept: "application/ld+json, application/json" } })
          .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
          .then(function (page) {
            return canvasMap().then(function (map) {
              var byAnno = quotes(page);
              hits = [];
              (page.items || []).forEach(function (anno) {
                var t = targetOf(anno);
                if (!t) return;
                var c = map[t.canvas] || { page: 0, w: 0, h: 0 };
                hits.push({ n: hits.length, page: c.page, canvas: c, rect: t.rect,
                            text: textOf(anno), quote: byAnno[anno.id] || null });
              });
              hits.sort(function (a, b) { return a.page - b.page || a.rect[1] - b.rect[1]; });
              hits.forEach(function (h, n) { h.n = n; });
              countEl.textContent = hits.length ? fmt(T("hits"), { count: hits.length }) : T("no-hits");
              renderHits();
              if (hits.length) showHit(hits[0]);
              else viewers.forEach(function (v) { v.clearOverlays(); });
            });
          })
          .catch(function () { countEl.textContent = T("search-failed"); });
      });
    }

    root.classList.add("iiif-viewer-live");
    go(0);
  }

  function start() {
    document.querySelectorAll("[data-iiif-viewer]").forEach(function (root) {
      if (root.getAttribute("data-started") || !root.querySelector("[data-stage]")) return;
      root.setAttribute("data-started", "1");
      if (typeof window.OpenSeadragon !== "function") { showFallback(root); return; }
      try {
        Viewer(root);
      } catch (e) {
        showFallback(root);
        throw e;
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
