// gastbench site: sort a table by clicking a column header (click again to reverse).
// Cells carry the value to sort by in data-value; an empty value (a missing number) always sorts last.
(function () {
  "use strict";

  function compare(a, b, numeric) {
    if (numeric) {
      return parseFloat(a) - parseFloat(b);
    }
    return a.localeCompare(b);
  }

  function sortBy(table, header) {
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var index = headers.indexOf(header);
    var numeric = header.getAttribute("data-type") === "num";
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r1, r2) {
      var a = r1.cells[index].getAttribute("data-value") || "";
      var b = r2.cells[index].getAttribute("data-value") || "";
      if (a === "" || b === "") {
        return (a === "") - (b === "");
      }
      var order = compare(a, b, numeric);
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    headers.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  function setUp() {
    var tables = document.querySelectorAll("table.sortable");
    Array.prototype.forEach.call(tables, function (table) {
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header) {
        header.setAttribute("aria-sort", "none");
        header.addEventListener("click", function () { sortBy(table, header); });
        header.addEventListener("keydown", function (event) {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            sortBy(table, header);
          }
        });
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
