/* 公众查档: autocomplete for the search box (ARIA combobox), sort on change. No dependencies. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function combobox(input) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    var url = input.getAttribute("data-suggest");
    var timer = null, active = -1, items = [], last = "";

    function close() {
      list.hidden = true; list.innerHTML = ""; items = []; active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
    function choose(i) {
      if (i < 0 || i >= items.length) return;
      input.value = items[i]; close();
      if (input.form) input.form.submit();
    }
    function mark(i) {
      var nodes = list.querySelectorAll("li");
      nodes.forEach(function (li, k) { li.setAttribute("aria-selected", k === i ? "true" : "false"); });
      active = i;
      if (i >= 0) input.setAttribute("aria-activedescendant", nodes[i].id);
      else input.removeAttribute("aria-activedescendant");
    }
    function show(suggestions) {
      list.innerHTML = ""; items = suggestions.slice(0, 10); active = -1;
      if (!items.length) { close(); return; }
      items.forEach(function (text, k) {
        var li = document.createElement("li");
        li.id = list.id + "-" + k; li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false"); li.textContent = text;
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(k); });
        list.appendChild(li);
      });
      list.hidden = false; input.setAttribute("aria-expanded", "true");
    }
    function fetchSuggestions() {
      var q = input.value.trim();
      if (!q || q === last) { if (!q) close(); return; }
      last = q;
      fetch(url + "?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
        .then(function (data) { if (input.value.trim() === q) show(data.suggestions || []); })
        .catch(close);
    }
    input.addEventListener("input", function () {
      clearTimeout(timer); timer = setTimeout(fetchSuggestions, 250);
    });
    input.addEventListener("keydown", function (e) {
      if (list.hidden) return;
      if (e.key === "ArrowDown") { e.preventDefault(); mark((active + 1) % items.length); }
      else if (e.key === "ArrowUp") { e.preventDefault(); mark(active <= 0 ? items.length - 1 : active - 1); }
      else if (e.key === "Enter" && active >= 0) { e.preventDefault(); choose(active); }
      else if (e.key === "Escape") { e.preventDefault(); close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-suggest]").forEach(combobox);
    document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
      sel.addEventListener("change", function () { sel.form.submit(); });
    });
  });
})();
