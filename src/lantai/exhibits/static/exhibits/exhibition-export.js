/* Deep zoom in an exported exhibition package (works from file:// and a USB kiosk): each
   .export-zoom[data-tiles] becomes an OpenSeadragon viewer over the static IIIF level-0 tiles
   whose info was loaded by tiles/cN/info.js. Without OpenSeadragon the plain image stays. */
(function () {
  "use strict";
  if (!window.OpenSeadragon || !window.LANTAI_TILES) return;
  document.querySelectorAll(".export-zoom[data-tiles]").forEach(function (box) {
    var info = window.LANTAI_TILES[box.getAttribute("data-tiles")];
    if (!info) return;
    var image = box.querySelector("img");
    box.classList.add("zooming");
    if (image) image.hidden = true;
    window.OpenSeadragon({
      element: box,
      prefixUrl: "vendor/openseadragon/images/",
      tileSources: info,
      showNavigator: false,
      keyboardShortcutsEnabled: true,
      crossOriginPolicy: false
    });
  });
})();
