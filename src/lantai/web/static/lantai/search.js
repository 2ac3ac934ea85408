/* Staff search page: a facet checkbox applies itself (the 筛选 button is for browsers without JS).
   The search box's autocomplete and the sort select come from access/portal.js. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[type=checkbox][data-autosubmit]").forEach(function (box) {
      box.addEventListener("change", function () { box.form.submit(); });
    });
  });
})();
