// lossconf report: matrix filters and sorting, copy buttons. No libraries, nothing loaded.
(function () {
  "use strict";

  function isPressed(button) {
    return button.getAttribute("aria-pressed") === "true";
  }

  function initMatrix(table) {
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    const chips = Array.from(document.querySelectorAll(".chip[data-verdict]"));
    const runBoxes = Array.from(document.querySelectorAll("input[type=checkbox][data-run]"));
    const sortSelect = document.getElementById("sort");
    const textFilter = document.getElementById("filter-text");
    const rowCount = document.getElementById("row-count");
    // Read every cell's data once: filtering a few hundred rows × dozens of columns must not
    // query the DOM again on each click.
    const cellsOf = new Map(rows.map(function (row) {
      return [row, Array.from(row.querySelectorAll("td[data-verdict]")).map(function (cell) {
        return {
          run: cell.dataset.run,
          verdict: cell.dataset.verdict,
          unexpected: cell.dataset.unexpected === "1",
          vulp: parseFloat(cell.dataset.vulp),
          gulp: parseFloat(cell.dataset.gulp),
        };
      })];
    }));

    function hiddenRuns() {
      return new Set(runBoxes.filter(function (box) { return !box.checked; })
        .map(function (box) { return box.dataset.run; }));
    }

    function visibleCells(row, hidden) {
      return cellsOf.get(row).filter(function (cell) { return !hidden.has(cell.run); });
    }

    function showRuns() {
      const hidden = hiddenRuns();
      table.querySelectorAll("[data-run]").forEach(function (element) {
        element.hidden = hidden.has(element.dataset.run);
      });
    }

    // A row is shown when it has a cell in a visible run and, if verdict chips are pressed,
    // one of its visible cells has a pressed verdict (or is unexpected, for that chip).
    function applyFilters() {
      const hidden = hiddenRuns();
      const wanted = new Set(chips.filter(isPressed).map(function (chip) { return chip.dataset.verdict; }));
      const needle = textFilter.value.trim().toLowerCase();
      let shown = 0;
      rows.forEach(function (row) {
        const cells = visibleCells(row, hidden);
        const verdictOk = wanted.size === 0 || cells.some(function (cell) {
          return wanted.has(cell.verdict) || (cell.unexpected && wanted.has("unexpected"));
        });
        const textOk = !needle || row.dataset.name.toLowerCase().includes(needle);
        row.hidden = !(cells.length > 0 && verdictOk && textOk);
        if (!row.hidden) shown += 1;
      });
      rowCount.textContent = shown + " of " + rows.length + " configurations";
    }

    function worstError(row, key, hidden) {
      return visibleCells(row, hidden).reduce(function (worst, cell) {
        return Number.isNaN(cell[key]) ? worst : Math.max(worst, cell[key]);
      }, -1);
    }

    function sortRows() {
      const how = sortSelect.value;
      const hidden = hiddenRuns();
      const keyed = rows.map(function (row) {
        return { row: row, error: how === "vulp" || how === "gulp" ? worstError(row, how, hidden) : 0 };
      });
      keyed.sort(function (a, b) {
        if (how === "name") return a.row.dataset.name.localeCompare(b.row.dataset.name);
        return (b.error - a.error) || (a.row.dataset.order - b.row.dataset.order);
      });
      const ordered = document.createDocumentFragment();
      keyed.forEach(function (item) { ordered.appendChild(item.row); });
      body.appendChild(ordered);
    }

    chips.forEach(function (chip) {
      chip.addEventListener("click", function () {
        chip.setAttribute("aria-pressed", isPressed(chip) ? "false" : "true");
        applyFilters();
      });
    });
    runBoxes.forEach(function (box) {
      box.addEventListener("change", function () { showRuns(); sortRows(); applyFilters(); });
    });
    sortSelect.addEventListener("change", sortRows);
    textFilter.addEventListener("input", applyFilters);
    applyFilters();
  }

  function copyWithSelection(text) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    area.remove();
    return copied;
  }

  function initCopyButtons() {
    document.querySelectorAll("button.copy").forEach(function (button) {
      button.addEventListener("click", function () {
        const text = document.getElementById(button.dataset.copy).textContent;
        function confirm(label) {
          button.textContent = label;
          setTimeout(function () { button.textContent = "Copy"; }, 1500);
        }
        // The async clipboard API needs a secure context; a page opened from disk may not be one.
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(
            function () { confirm("Copied"); },
            function () { confirm(copyWithSelection(text) ? "Copied" : "Select and copy"); });
        } else {
          confirm(copyWithSelection(text) ? "Copied" : "Select and copy");
        }
      });
    });
  }

  // Outline the cell whose drill-down is open, so the panel's subject stays findable.
  function markSelectedCell() {
    document.querySelectorAll("a.cell.selected").forEach(function (cell) {
      cell.classList.remove("selected");
    });
    if (!location.hash.startsWith("#d")) return;
    document.querySelectorAll('a.cell[href="' + location.hash + '"]').forEach(function (cell) {
      cell.classList.add("selected");
    });
  }

  const table = document.getElementById("matrix-table");
  if (table) initMatrix(table);
  initCopyButtons();
  markSelectedCell();
  window.addEventListener("hashchange", markSelectedCell);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && document.querySelector(".drill:target")) location.hash = "close";
  });
})();
