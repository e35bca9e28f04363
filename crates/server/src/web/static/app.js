// Progressive enhancement only: every page works without this file.
// - Upload form: keeps the "N of M rules will run" counter in step with the rule boxes.
// - Admin rule table: the header box selects or clears every row.
document.addEventListener("DOMContentLoaded", function () {
  var counter = document.getElementById("rules-running");
  if (counter) {
    var boxes = document.querySelectorAll("input.rule-toggle");
    var update = function () {
      var on = 0;
      boxes.forEach(function (b) { if (b.checked) { on += 1; } });
      counter.textContent = String(on);
    };
    boxes.forEach(function (b) { b.addEventListener("change", update); });
    update();
  }
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input.rule-select").forEach(function (b) { b.checked = all.checked; });
    });
  }
});
