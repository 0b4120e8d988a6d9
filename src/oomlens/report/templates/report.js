(function () {
  "use strict";
  var body = document.body;

  // The report document, for the "save as JSON" link.
  var data = document.getElementById("report-data");
  var json = data ? data.textContent : "";
  try {
    JSON.parse(json);
  } catch (e) {
    json = "";
  }
  var save = document.getElementById("save-json");
  if (save && json) {
    save.href = URL.createObjectURL(new Blob([json], {type: "application/json"}));
    save.hidden = false;
  }

  // Sortable tables: numeric columns sort by the raw number in each cell's data-value.
  function key(row, index, numeric) {
    var cell = row.cells[index];
    if (!cell) {
      return numeric ? -Infinity : "";
    }
    var raw = cell.getAttribute("data-value");
    if (numeric) {
      var n = parseFloat(raw);
      return isNaN(n) ? -Infinity : n;
    }
    return (raw !== null ? raw : cell.textContent).trim().toLowerCase();
  }

  function sortBy(th) {
    var table = th.closest("table");
    var tbody = table.tBodies[0];
    var headers = th.parentNode.children;
    var index = Array.prototype.indexOf.call(headers, th);
    var numeric = th.getAttribute("data-type") === "number";
    var current = th.getAttribute("aria-sort");
    var direction;
    if (current === "descending") {
      direction = "ascending";
    } else if (current === "ascending") {
      direction = "descending";
    } else {
      direction = numeric ? "descending" : "ascending";
    }
    var sign = direction === "ascending" ? 1 : -1;
    var rows = Array.prototype.map.call(tbody.rows, function (row, i) {
      return {row: row, key: key(row, index, numeric), i: i};
    });
    rows.sort(function (a, b) {
      if (a.key < b.key) {
        return -sign;
      }
      if (a.key > b.key) {
        return sign;
      }
      return a.i - b.i;
    });
    rows.forEach(function (r) {
      tbody.appendChild(r.row);
    });
    Array.prototype.forEach.call(headers, function (h) {
      h.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", direction);
  }

  document.querySelectorAll("table.sortable thead th[data-type]").forEach(function (th) {
    var button = th.querySelector("button");
    (button || th).addEventListener("click", function () {
      sortBy(th);
    });
  });

  // Open every trace of a leak group, or close them again.
  document.querySelectorAll("button.toggle-traces").forEach(function (button) {
    button.addEventListener("click", function () {
      var group = button.closest(".group");
      var all = group.querySelectorAll("details.more-trace");
      var open = button.getAttribute("aria-pressed") !== "true";
      all.forEach(function (d) {
        d.open = open;
      });
      button.setAttribute("aria-pressed", open ? "true" : "false");
      button.textContent = open ? "close the other traces" : "open every trace";
    });
  });

  body.setAttribute("data-js-ready", "1");
})();
