/* "Select all" on the approval queue. Without it every log is ticked by hand. */
(function () {
  "use strict";
  var all = document.querySelector("[data-select-all]");
  if (!all) return;
  var boxes = Array.prototype.slice.call(
    document.querySelectorAll('input[type="checkbox"][name="ids"]')
  );
  if (!boxes.length) return;

  function sync() {
    var ticked = boxes.filter(function (box) { return box.checked; }).length;
    all.checked = ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  }

  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
    all.indeterminate = false;
  });
  boxes.forEach(function (box) { box.addEventListener("change", sync); });

  var wrapper = all.closest("[data-select-all-box]");
  if (wrapper) wrapper.setAttribute("data-ready", "");
  sync();
})();
