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
  // The routing rule form shows only the fields of the chosen target ("a team", "a person" ...).
  document.querySelectorAll("form.rule-form").forEach(function (form) {
    var show = function () {
      var chosen = form.querySelector("input[name=action]:checked");
      form.querySelectorAll(".target").forEach(function (group) {
        group.hidden = chosen !== null && !group.classList.contains("for-" + chosen.value);
      });
    };
    form.querySelectorAll("input[name=action]").forEach(function (radio) { radio.addEventListener("change", show); });
    show();
  });
  // The "More" menu closes on Escape (focus back on its button) and on a click outside it.
  var more = document.querySelector("details.nav-more");
  if (more) {
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && more.open) { more.open = false; more.querySelector("summary").focus(); }
    });
    document.addEventListener("click", function (event) {
      if (more.open && !more.contains(event.target)) { more.open = false; }
    });
  }
})();
