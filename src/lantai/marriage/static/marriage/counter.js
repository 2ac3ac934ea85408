// The counter's forms show only the fields that apply: proofs of the chosen requester type, and
// the inputs of the chosen search mode. Without JavaScript every field stays visible.
(function () {
  "use strict";
  function follow(select, attr) {
    const form = select.form;
    function apply() {
      const value = select.type === "radio" ? (form.querySelector("input[name='" + select.name + "']:checked") || {}).value : select.value;
      form.querySelectorAll("[data-types]").forEach(function (row) {
        row.hidden = row.getAttribute("data-types").split(" ").indexOf(value) < 0;
      });
    }
    form.addEventListener("change", function (e) { if (e.target.name === select.name) apply(); });
    apply();
  }
  document.addEventListener("DOMContentLoaded", function () {
    const type = document.querySelector("#requester-form select[name='requester_type']");
    if (type) follow(type);
    const mode = document.querySelector("input[name='mode']");
    if (mode) follow(mode);
  });
})();
