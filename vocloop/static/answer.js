// The answer page's one script: at the first real key press, touch or pointer movement, tell the
// server that a person is here, so their one-click score counts at once. Mail scanners that render
// the page and run this script make no such input (isTrusted is false for synthetic events).
(function () {
  var person = document.getElementById("person");
  if (!person || !navigator.sendBeacon) return;
  var kinds = ["pointermove", "pointerdown", "keydown", "touchstart"];
  function seen(event) {
    if (!event.isTrusted) return;
    kinds.forEach(function (kind) { window.removeEventListener(kind, seen, true); });
    var body = new FormData();
    body.append("score", person.getAttribute("data-score"));
    navigator.sendBeacon(person.getAttribute("data-seen"), body);
  }
  kinds.forEach(function (kind) { window.addEventListener(kind, seen, { capture: true, passive: true }); });
})();
