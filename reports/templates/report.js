// lossconf report: matrix filters and sorting, drill-downs and finding details inflated on
// demand from the page's own compressed data, copy buttons. No libraries, nothing loaded.
(function () {
  "use strict";

  function isPressed(button) {
    return button.getAttribute("aria-pressed") === "true";
  }

  const REGIMES = { B: "boundary", K: "kink", R: "range", S: "special", I: "invalid" };

  // A cell's tooltip, from what the cell carries: its mark, errors, regime counts, frame.
  function describeCell(link) {
    const cell = link.parentElement;
    const data = cell.dataset;
    const parts = [];
    let head = data.verdict === "none" ? "no ordinary example" : data.verdict;
    if (data.vulp) head += ": value " + Number(data.vulp).toPrecision(4) + " ULP";
    if (data.gulp) head += ", gradient " + Number(data.gulp).toPrecision(4) + " ULP";
    parts.push(head);
    link.querySelectorAll("b.rg").forEach(function (mark) {
      const text = mark.textContent;
      parts.push((REGIMES[text[0]] || text[0]) + ": " + text.slice(1) + " behaviour(s)" +
        (mark.classList.contains("u") ? ", unexplained" : ""));
    });
    if (data.unexpected === "1") parts.push("unexpected: fails the run");
    else if (link.classList.contains("known")) parts.push("known bug");
    if (data.triage) parts.push(data.triage + " to triage");
    return parts.join("; ");
  }

  // The matrix body, built from the page's compact JSON (reports/html.py, matrix_data) into
  // the markup the server once wrote cell by cell: the same marks, classes and data
  // attributes, which the filters, sorting and tooltips read.
  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function fillMatrix(table) {
    const source = document.getElementById("matrix-data");
    if (!source) return;
    const data = JSON.parse(source.textContent);
    const runStarts = new Set(data.runStarts);
    const body = document.createDocumentFragment();
    data.rows.forEach(function (row, rowIndex) {
      const tr = document.createElement("tr");
      tr.dataset.order = rowIndex;
      tr.dataset.name = row[1];
      const head = element("th", "rowhead");
      head.scope = "row";
      head.appendChild(element("span", "loss", row[0]));
      const variant = element("span", "variant");
      // line-break opportunities after ".", "(" and "," as the server's breakable filter
      row[1].slice(row[0].length).split(/(?<=[.(,])/).forEach(function (piece, index) {
        if (index) variant.appendChild(document.createElement("wbr"));
        variant.appendChild(document.createTextNode(piece));
      });
      head.appendChild(variant);
      tr.appendChild(head);
      row[2].forEach(function (cell, column) {
        const start = runStarts.has(column);
        if (!cell) {
          tr.appendChild(element("td", start ? "empty run-start" : "empty", "·"));
          return;
        }
        const mark = data.marks[cell[0]];
        const flags = cell[4] || 0;
        const td = document.createElement("td");
        td.dataset.verdict = mark;
        if (cell[1] !== undefined && cell[1] !== null) td.dataset.vulp = cell[1];
        if (cell[2] !== undefined && cell[2] !== null) td.dataset.gulp = cell[2];
        if (flags & 1) td.dataset.unexpected = "1";
        if (cell[5]) td.dataset.triage = cell[5];
        if (start) td.className = "run-start";
        const link = element("a", "cell v-" + mark + (flags & 1 ? " unexpected" : "") +
          (flags & 2 ? " known" : ""));
        link.href = "#d" + rowIndex + "-" + column;
        const symbol = element("span", "sym", data.symbols[mark] || "\u2205");
        symbol.setAttribute("aria-hidden", "true");
        link.appendChild(symbol);
        if (cell[3]) link.appendChild(element("span", "err", cell[3]));
        (cell[6] || "").split(" ").forEach(function (text) {
          if (!text) return;
          const unexplained = text[0] === "!";
          link.appendChild(element("b", unexplained ? "rg u" : "rg", unexplained ? text.slice(1) : text));
        });
        link.appendChild(element("span", "sr-only", mark));
        td.appendChild(link);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    table.tBodies[0].appendChild(body);
  }

  function initMatrix(table) {
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    const chips = Array.from(document.querySelectorAll(".chip[data-verdict]"));
    const runBoxes = Array.from(document.querySelectorAll("input[type=checkbox][data-run]"));
    const sortSelect = document.getElementById("sort");
    const textFilter = document.getElementById("filter-text");
    const rowCount = document.getElementById("row-count");
    // Read every cell's data once, on the first filter or sort (not while the page opens):
    // filtering a few hundred rows × dozens of columns must not query the DOM on each click.
    let cellData = null;
    // The mode row has one header per column, each naming its run; a row's cells are its
    // header then one cell per column.
    const headRows = table.tHead.rows;
    const columnRun = Array.from(headRows[headRows.length - 1].cells).map(function (th) {
      return th.dataset.run;
    });
    function cellsOf(row) {
      if (cellData === null) {
        cellData = new Map(rows.map(function (each) {
          const found = [];
          Array.from(each.cells).slice(1).forEach(function (cell, column) {
            if (!cell.dataset.verdict) return;
            found.push({
              run: columnRun[column],
              verdict: cell.dataset.verdict,
              unexpected: cell.dataset.unexpected === "1",
              triage: Boolean(cell.dataset.triage),
              vulp: parseFloat(cell.dataset.vulp),
              gulp: parseFloat(cell.dataset.gulp),
            });
          });
          return [each, found];
        }));
      }
      return cellData.get(row);
    }

    function hiddenRuns() {
      return new Set(runBoxes.filter(function (box) { return !box.checked; })
        .map(function (box) { return box.dataset.run; }));
    }

    function visibleCells(row, hidden) {
      return cellsOf(row).filter(function (cell) { return !hidden.has(cell.run); });
    }

    function showRuns() {
      const hidden = hiddenRuns();
      table.tHead.querySelectorAll("[data-run]").forEach(function (element) {
        element.hidden = hidden.has(element.dataset.run);
      });
      rows.forEach(function (row) {
        Array.from(row.cells).slice(1).forEach(function (cell, column) {
          cell.hidden = hidden.has(columnRun[column]);
        });
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
          return wanted.has(cell.verdict) || (cell.unexpected && wanted.has("unexpected")) ||
            (cell.triage && wanted.has("triage"));
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
    table.addEventListener("mouseover", function (event) {
      const link = event.target.closest("a.cell");
      if (link && !link.title) link.title = describeCell(link);
    });
    // Every row is shown when the page opens: only the count needs writing.
    rowCount.textContent = rows.length + " of " + rows.length + " configurations";
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

  function copyButton(button) {
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
  }

  // Drill-downs and finding details travel as one gzip-compressed, base64-encoded JSON map
  // {sections: {anchor: [html lines or shared-line indices]}, lines: [...], texts: [...]} (rendered and escaped by the report's templates): inflated once, on the
  // first request, so the page itself stays small and renders at once.
  let lazyData = null;
  function lazySections() {
    if (lazyData === null) {
      const source = document.getElementById("lazy-data");
      const binary = atob(source ? source.textContent.trim() : "");
      const bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
      const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
      lazyData = new Response(stream).text().then(JSON.parse);
    }
    return lazyData;
  }

  // A section travels as runs of its own lines and indices into a table of shared lines, its
  // <pre> contents in a second table (html.pack_lazy): reproducers and notes repeat across
  // cells and findings, and compress far better side by side.
  function insertSection(container, payload, anchor) {
    container.innerHTML = (payload.sections[anchor] || []).map(function (part) {
      return typeof part === "number" ? payload.lines[part] : part;
    }).join("\n");
    container.querySelectorAll("pre[data-t]").forEach(function (pre) {
      pre.innerHTML = payload.texts[Number(pre.dataset.t)];
      pre.removeAttribute("data-t");
    });
  }

  const panel = document.getElementById("drill-panel");
  const DRILL = /^#d\d+-\d+$/;

  function closeDrill() {
    if (panel) {
      panel.hidden = true;
      panel.textContent = "";
    }
    markSelectedCell();
  }

  function openDrill(anchor) {
    return lazySections().then(function (payload) {
      if (location.hash !== "#" + anchor || !(anchor in payload.sections)) return;
      insertSection(panel, payload, anchor);
      panel.hidden = false;
      panel.scrollTop = 0;
      markSelectedCell();
    });
  }

  function followHash() {
    if (panel && DRILL.test(location.hash)) openDrill(location.hash.slice(1));
    else closeDrill();
  }

  function fillDetails(details) {
    const body = details.querySelector(".lazy-body");
    if (!details.open || body.childElementCount) return;
    lazySections().then(function (payload) {
      insertSection(body, payload, details.dataset.lazy);
    });
  }

  // Outline the cell whose drill-down is open, so the panel's subject stays findable.
  function markSelectedCell() {
    document.querySelectorAll("a.cell.selected").forEach(function (cell) {
      cell.classList.remove("selected");
    });
    if (!DRILL.test(location.hash) || !panel || panel.hidden) return;
    document.querySelectorAll('a.cell[href="' + location.hash + '"]').forEach(function (cell) {
      cell.classList.add("selected");
    });
  }

  const table = document.getElementById("matrix-table");
  if (table) {
    fillMatrix(table);
    initMatrix(table);
  }
  document.addEventListener("click", function (event) {
    const button = event.target.closest("button.copy");
    if (button) copyButton(button);
  });
  document.querySelectorAll("details.lazy").forEach(function (details) {
    details.addEventListener("toggle", function () { fillDetails(details); });
  });
  window.addEventListener("hashchange", followHash);
  followHash();
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && panel && !panel.hidden) location.hash = "close";
  });
})();
