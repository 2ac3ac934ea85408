// 鉴定: a "select all" checkbox for the rows of a table (keyboard: Tab to it, Space toggles).
document.addEventListener("change", function (event) {
  var box = event.target;
  if (!box.matches || !box.matches("input[data-select-all]")) return;
  var form = box.form;
  if (!form) return;
  var name = box.getAttribute("data-select-all");
  form.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (other) {
    if (!other.disabled) other.checked = box.checked;
  });
});
