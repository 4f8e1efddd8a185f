// Filters and drill-down for the compatibility report. Reads only data-* attributes and
// never builds markup from text: every string it writes goes through textContent.
(function () {
  "use strict";
  var doc = document;

  function all(selector, root) {
    return Array.prototype.slice.call((root || doc).querySelectorAll(selector));
  }

  function selected(kind) {
    var set = Object.create(null);
    all('input[data-filter="' + kind + '"]').forEach(function (box) {
      if (box.checked) { set[box.value] = true; }
    });
    return set;
  }

  function apply() {
    var verdicts = selected("verdict");
    var targets = selected("target");
    var families = selected("family");
    all("th[data-col], td[data-col], li[data-col]").forEach(function (el) {
      el.hidden = !targets[el.getAttribute("data-col")];
    });
    var shown = 0;
    var rows = all("tr[data-row]");
    rows.forEach(function (row) {
      var visible = !!families[row.getAttribute("data-family")] && all("td[data-col]", row).some(function (td) {
        return targets[td.getAttribute("data-col")] && verdicts[td.getAttribute("data-outcome")];
      });
      row.hidden = !visible;
      if (visible) { shown += 1; }
    });
    all("details[data-drill]").forEach(function (d) {
      d.hidden = !(targets[d.getAttribute("data-col")] && verdicts[d.getAttribute("data-outcome")] &&
        families[d.getAttribute("data-family")]);
    });
    all("[data-drill-group]").forEach(function (group) {
      group.hidden = all("details[data-drill]", group).every(function (d) { return d.hidden; });
    });
    var status = doc.getElementById("filter-status");
    if (status) {
      var columns = all('input[data-filter="target"]');
      var on = columns.filter(function (box) { return box.checked; }).length;
      status.textContent = "Showing " + shown + " of " + rows.length + " checks and " + on + " of " +
        columns.length + " targets.";
    }
  }

  function setAll(kind, values) {
    all('input[data-filter="' + kind + '"]').forEach(function (box) {
      box.checked = values === null || values.indexOf(box.value) !== -1;
    });
  }

  function openDetails(id) {
    var el = id ? doc.getElementById(id) : null;
    if (el && el.tagName === "DETAILS") {
      el.open = true;
      el.hidden = false;
      var group = el.closest("[data-drill-group]");
      if (group) { group.hidden = false; }
    }
  }

  var panel = doc.getElementById("filters");
  if (panel) {
    panel.hidden = false;
    panel.addEventListener("change", apply);
    panel.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("button[data-action]") : null;
      if (!button) { return; }
      var action = button.getAttribute("data-action");
      if (action === "all") {
        setAll("verdict", null); setAll("target", null); setAll("family", null);
      } else if (action === "problems") {
        setAll("verdict", ["deviation", "violation", "error"]);
      } else if (action === "expand" || action === "collapse") {
        all("details[data-drill]").forEach(function (d) { d.open = action === "expand"; });
        return;
      }
      apply();
    });
  }

  // A matrix cell links to its details below; open them before the browser scrolls there.
  doc.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-open]") : null;
    if (link) { openDetails(link.getAttribute("data-open")); }
  });
  window.addEventListener("hashchange", function () {
    openDetails(decodeURIComponent(window.location.hash.slice(1)));
  });

  apply();
  if (window.location.hash) { openDetails(decodeURIComponent(window.location.hash.slice(1))); }
})();
