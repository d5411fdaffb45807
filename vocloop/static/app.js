// Progressive enhancement for signed-in pages; everything works without it.
(function () {
  "use strict";
  // A checkbox with data-select-all="name" ticks every checkbox of that name.
  document.querySelectorAll("input[data-select-all]").forEach(function (master) {
    master.addEventListener("change", function () {
      document.querySelectorAll('input[type=checkbox][name="' + master.dataset.selectAll + '"]').forEach(function (box) {
        box.checked = master.checked;
      });
    });
  });
  // Forms with data-confirm ask before they do something hard to undo.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
})();
