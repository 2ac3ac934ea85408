/* The review page (开放审核): passages to withhold picked in the text, the decision keys and the
   time the page was open and visible. Offsets are characters of the section text counted from
   each segment's data-offset (as the server counts them: code points), never from the DOM text,
   which may differ. No inline scripts (CSP). */
(function () {
  "use strict";
  var form = document.getElementById("decide-form");
  if (!form) { return; }
  var list = document.getElementById("passages");
  var addButton = document.getElementById("add-selection");
  var removeLabel = addButton ? addButton.getAttribute("data-remove-label") : "x";

  function chars(text) { return Array.from(text).length; }

  /* The section box and the character offset in its text of a DOM position (node, offset). */
  function place(node, offset) {
    if (node.nodeType === 3) {
      var seg = node.parentElement && node.parentElement.closest("[data-offset]");
      if (!seg) { return null; }
      return {
        box: seg.closest("[data-section]"),
        at: Number(seg.getAttribute("data-offset")) + chars(node.textContent.slice(0, offset))
      };
    }
    if (node.nodeType !== 1) { return null; }
    if (node.hasAttribute("data-offset")) {
      var base = Number(node.getAttribute("data-offset"));
      return { box: node.closest("[data-section]"), at: offset ? base + chars(node.textContent) : base };
    }
    if (node.hasAttribute("data-section")) {
      var kid = node.childNodes[offset];
      return {
        box: node,
        at: kid && kid.getAttribute ? Number(kid.getAttribute("data-offset")) : Number(node.getAttribute("data-chars"))
      };
    }
    return null;
  }

  function hidden(name, value) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = String(value);
    return input;
  }

  function addPassage(box, start, end, category) {
    var section = box.getAttribute("data-section");
    var exists = Array.prototype.some.call(list.children, function (li) {
      return li.getAttribute("data-key") === section + ":" + start + ":" + end;
    });
    if (exists || !(start < end)) { return; }
    var li = document.createElement("li");
    li.setAttribute("data-key", section + ":" + start + ":" + end);
    li.appendChild(hidden("passage_section", section));
    li.appendChild(hidden("passage_start", start));
    li.appendChild(hidden("passage_end", end));
    li.appendChild(hidden("passage_category", category || ""));
    var where = document.createElement("span");
    where.className = "small muted";
    where.textContent = (box.getAttribute("data-label") || "") + " " + start + "–" + end + " ";
    var quote = document.createElement("q");
    quote.textContent = Array.from(box.textContent).slice(start, end).join("");
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link-button danger";
    remove.setAttribute("data-remove-passage", "");
    remove.textContent = removeLabel;
    li.appendChild(where);
    li.appendChild(quote);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(remove);
    list.appendChild(li);
    var open = form.querySelector("input[name=decision][value=open]");
    if (open) { open.checked = true; }
  }

  /* The current text selection as a passage, when it lies inside one section. */
  function addSelection() {
    var sel = window.getSelection();
    if (!sel || sel.rangeCount === 0 || sel.isCollapsed) { return false; }
    var range = sel.getRangeAt(0);
    var a = place(range.startContainer, range.startOffset);
    var b = place(range.endContainer, range.endOffset);
    if (!a || !b || !a.box || a.box !== b.box) { return false; }
    addPassage(a.box, Math.min(a.at, b.at), Math.max(a.at, b.at), "");
    sel.removeAllRanges();
    return true;
  }

  if (addButton) {
    addButton.addEventListener("mousedown", function (ev) { ev.preventDefault(); });  /* keep the selection */
    addButton.addEventListener("click", addSelection);
  }

  list.addEventListener("click", function (ev) {
    var button = ev.target.closest("[data-remove-passage]");
    if (button) { button.closest("li").remove(); }
  });

  /* A click on a highlighted finding (no text selected) withholds the whole finding. */
  document.querySelectorAll(".review-text").forEach(function (box) {
    box.addEventListener("click", function (ev) {
      var mark = ev.target.closest("mark[data-start]");
      var sel = window.getSelection();
      if (!mark || (sel && !sel.isCollapsed)) { return; }
      addPassage(box, Number(mark.getAttribute("data-start")), Number(mark.getAttribute("data-end")),
                 mark.getAttribute("data-category"));
    });
  });

  /* 1 / 2 / 3 pick the decision, A adds the selected text; not while typing in a field. */
  var radios = form.querySelectorAll("input[name=decision]");
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var tag = (ev.target.tagName || "").toLowerCase();
    var typing = tag === "input" && ev.target.type !== "radio" && ev.target.type !== "checkbox";
    if (typing || tag === "textarea" || tag === "select" || ev.target.isContentEditable) { return; }
    var n = "123".indexOf(ev.key);
    if (n >= 0 && radios[n]) {
      radios[n].checked = true;
      radios[n].focus();
      ev.preventDefault();
    } else if (ev.key === "a" || ev.key === "A") {
      if (addSelection()) { ev.preventDefault(); }
    }
  });

  /* Seconds the page was open and visible, sent with the decision (reviewer time per item). */
  var seen = 0;
  var since = document.visibilityState === "visible" ? Date.now() : null;
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      since = Date.now();
    } else if (since !== null) {
      seen += Date.now() - since;
      since = null;
    }
  });
  form.addEventListener("submit", function () {
    var total = seen + (since !== null ? Date.now() - since : 0);
    document.getElementById("review-seconds").value = (total / 1000).toFixed(1);
  });
})();
