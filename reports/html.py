"""Rendering: the Jinja2 environment, the filters the templates use, and the two pages.

Autoescape is on for every template: results files carry arbitrary text (exception messages,
reproducers), and all of it reaches the page escaped. The only markup inserted unescaped is
the SVG that matplotlib writes from our own figures (it escapes the text it draws).

The report stays one self-contained file that opens offline, and small: each matrix cell's
drill-down and each finding's worst example are rendered here, by the same autoescaping
templates, into a JSON map {anchor: html} that the page carries gzip-compressed and base64
encoded, its repeated lines and <pre> texts in shared tables (``pack_lazy``; reproducers are
most of a run's text). ``report.js`` inflates it with the browser's DecompressionStream on the
first click and inserts the one piece asked for. The matrix body, thousands of near-identical
cells, travels as compact JSON (``matrix_data``) that ``report.js`` turns into the cells as the
page opens.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import re
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from . import plots
from .diff import Diff, verdict_line
from .model import REGIME_LETTERS, Cell, Report, build_report
from .schema import REGIMES, Results
from .verdicts import DESCRIPTIONS, SYMBOLS, VERDICTS

TEXT_LIMIT = 4000  # characters of an inline example shown before it is cut


def format_number(value: Any) -> str:
    """A number for a human: 4 significant digits, nan/∞ spelled, "–" for none."""
    if value is None:
        return "–"
    if not isinstance(value, float):
        return str(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4g}"
    return f"{value:.3g}"


def format_ulps(value: Any) -> str:
    """A ULP count short enough for a matrix cell: 0, 0.5, 12, 3.4k, 2e+06, ∞, nan."""
    if value is None:
        return ""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "∞"
    if value < 10:
        return f"{value:.2g}"
    if value < 1e3:
        return f"{value:.0f}"
    if value < 1e5:
        return f"{value / 1e3:.3g}k"
    return f"{value:.0e}"


def sortable(value: Any) -> str:
    """A data attribute the page's JS sorts by: nan and inf sort as the largest errors."""
    if value is None:
        return ""
    return "Infinity" if not math.isfinite(value) else repr(float(value))


def plain(value: Any) -> str:
    """An example or value as JSON-like text with nan/inf written bare, cut after TEXT_LIMIT."""
    text = _plain(value)
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + f" … ({len(text)} characters)"


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_plain(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_plain(item) for item in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # nan, inf, -inf
    return json.dumps(value, ensure_ascii=False)


def breakable(text: Any) -> Markup:
    """``text`` escaped, with line-break opportunities after ".", "(" and "," so that long
    calls such as torch.nn.functional.binary_cross_entropy_with_logits wrap between names."""
    return Markup(re.sub(r"([.(,])", r"\1<wbr>", str(escape(text))))


def literal(value: Any) -> str:
    """A parameter value as Python spells it (True, None, 'mean'), the way calls are shown."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    return plain(value)


def web_link(url: Any) -> str | None:
    """``url`` when it is an http(s) address, else None: a results file must not be able to
    plant a ``javascript:`` link in the page."""
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return url
    return None


def timestamp(value: Any) -> str:
    """ISO-8601 UTC as "2026-11-23 07:00:00 UTC"."""
    if not value:
        return "–"
    return str(value).replace("T", " ").removesuffix("Z") + (
        " UTC" if str(value).endswith("Z") else ""
    )


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=format_number,
        ulps=format_ulps,
        sortable=sortable,
        plain=plain,
        literal=literal,
        breakable=breakable,
        web_link=web_link,
        timestamp=timestamp,
    )
    env.globals.update(
        verdicts=VERDICTS,
        symbols=SYMBOLS,
        descriptions=DESCRIPTIONS,
        colours=plots.COLOURS,
        regime_names=REGIMES,
        regime_letters=REGIME_LETTERS,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )
    return env


def render_report(results: list[Results], title: str = "lossconf conformance report") -> str:
    report: Report = build_report(results)
    figures = {
        "ulp_histogram": plots.ulp_histogram_svg(report.runs),
        "error_vs_size": plots.error_size_svg(report.runs),
    }
    env = environment()
    return env.get_template("report.html.j2").render(
        title=title,
        report=report,
        # matplotlib's own SVG of our figures: trusted markup (see the module docstring).
        plots={name: Markup(svg) if svg else None for name, svg in figures.items()},
        lazy_data=pack_lazy(lazy_sections(env, report)),
        matrix_data=Markup(script_json(matrix_data(report))),
    )


def script_json(value: Any) -> str:
    """``value`` as JSON that cannot end its <script> element early: "<", ">" and "&" are
    written as \\u escapes, which JSON.parse reads back unchanged."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _error(value: Any) -> float | str | None:
    # JSON has no infinity: "Infinity" is what the page's sort reads for nan and inf alike
    # (as the server-rendered data-vulp did); finite errors travel as numbers.
    if value is None:
        return None
    return float(value) if math.isfinite(value) else "Infinity"


def _int_zero(value: Any) -> bool:
    return type(value) is int and value == 0


def matrix_data(report: Report) -> dict[str, Any]:
    """The matrix body as the page builds it (report.js): ~0.1 MB of JSON instead of ~1.1 MB
    of repeated cell markup (the three ci runs). Per row [loss, config id, cells]; a cell is 0
    where the column did not run it, else [mark (an index into "marks"), value ULP, gradient
    ULP, ULP text, flags (1: fails the run, 2: known bug), triage count, regime marks
    "S1 !B2" ("!": some unexplained)], trailing defaults dropped. A cell's anchor is
    d<row>-<column>, as the model assigns it."""
    marks: dict[str, int] = {}  # a mark's index: "not-offered" is most cells of some runs
    rows = []
    for row in report.rows:
        cells: list[Any] = []
        for cell in row.cells:
            if cell is None:
                cells.append(0)
                continue
            mark = cell.headline
            shown = cell.value_ulp is not None and mark not in ("not-offered", "none")
            entry = [
                marks.setdefault(mark, len(marks)),
                _error(cell.value_ulp),
                _error(cell.grad_ulp),
                format_ulps(cell.value_ulp) if shown else "",
                (1 if cell.failing else 0) | (2 if cell.known_failure else 0),
                cell.triage,
                " ".join(
                    ("!" if m.unexplained else "") + f"{m.letter}{m.findings}"
                    for m in cell.regime_marks
                ),
            ]
            # never a float 0.0 ULP (== 0 in Python): only None, "" and the int 0 are defaults
            while len(entry) > 1 and (entry[-1] in (None, "") or _int_zero(entry[-1])):
                entry.pop()
            cells.append(entry)
        rows.append([row.loss, row.config_id, cells])
    return {
        "marks": list(marks),
        "symbols": SYMBOLS,
        "runStarts": [i for i, column in enumerate(report.columns) if column.starts_run],
        "rows": rows,
    }


def read_matrix(page: str) -> dict[str, Any]:
    """The matrix data a rendered page carries (for tests and tools)."""
    found = re.search(r'<script type="application/json" id="matrix-data">([^<]*)</script>', page)
    return json.loads(found.group(1)) if found else {}


def lazy_sections(env: jinja2.Environment, report: Report) -> dict[str, str]:
    """Every drill-down and finding detail as HTML, by the anchor the page links it with."""
    drill = env.get_template("_drill.html.j2")
    detail = env.get_template("_finding_detail.html.j2")
    registries = {
        run.index: {entry["id"]: entry for entry in run.results.registry} for run in report.runs
    }
    sections = {}
    for cell in report.cells:
        sections[cell.anchor] = drill.render(
            cell=cell,
            entries=_cell_entries(cell, registries[cell.column.run.index]),
            examples=_cell_examples(cell),
        )
    for finding in report.findings:
        sections[finding.anchor] = detail.render(finding=finding)
    return sections


def _cell_entries(cell: Cell, registry: dict[str, dict]) -> list[dict[str, Any]]:
    """The registry entries behind a cell: its worst example's, then every one that explained
    examples of it (by regime order), each once."""
    record = cell.record
    entries: dict[str, dict] = {}
    if record["divergence"] and record["divergence"].get("id"):
        entries[record["divergence"]["id"]] = record["divergence"]
    for name in REGIMES:
        for entry_id in (record["regimes"].get(name) or {}).get("explained_by") or {}:
            entries.setdefault(entry_id, registry.get(entry_id) or {"id": entry_id})
    return list(entries.values())


def _cell_examples(cell: Cell) -> list[tuple[str | None, dict, str | None]]:
    """(regime, worst example, reproducer) to show: a /1 record's one worst example; a /2
    record's ordinary one, then each other regime's where an example differed. Reproducers
    come with the regimes where an example differed, or, where none did, with the ordinary
    example: they are most of the page's data."""
    record = cell.record
    if not cell.has_regimes:
        if record["worst"] or record["reproducer"]:
            return [(None, record["worst"] or {}, record["reproducer"])]
        return []
    shown = []
    for name in REGIMES:
        part = record["regimes"].get(name)
        if not part or not part.get("worst"):
            continue
        differed = any(n for v, n in (part.get("verdicts") or {}).items() if v != "match")
        if name == "ordinary" or differed:
            shown.append(
                (name, part["worst"], part.get("reproducer") if differed else None, differed)
            )
    if not any(differed for *_, differed in shown) and shown:
        name, worst, _, _ = shown[0]
        shown[0] = (name, worst, record["regimes"][name].get("reproducer"), False)
    return [(name, worst, reproducer) for name, worst, reproducer, _ in shown]


_PRE = re.compile(r"(<pre\b[^>]*)>(.*?)</pre>", re.S)


SHARED_LINE = 16  # characters: a repeated line at least this long is shipped once


def pack_lazy(sections: dict[str, str]) -> str:
    """``sections`` as the page carries them: JSON, gzip (fixed time stamp: the same results
    give the same page), base64, in two shared tables that gzip's 32 kB window could not find
    on its own (most drill-downs are several kB, and the repeats are many cells apart):

    - ``texts``: each <pre>'s content (reproducers, examples: half the raw bytes), once per
      distinct text and sorted so that similar scripts lie side by side; the <pre> keeps
      ``data-t``, its index;
    - ``lines``: every line that occurs twice or more (notes, table heads, registry entries'
      descriptions), sorted; a section is a list of runs of its own lines and indices.

    The three ci runs' payload: 1.76 MB compressed with neither, 1.07 MB with ``texts``,
    0.82 MB with both. report.js (and read_lazy here) put the sections back together."""
    distinct = {found.group(2) for html in sections.values() for found in _PRE.finditer(html)}
    texts = sorted(distinct)
    text_index = {text: index for index, text in enumerate(texts)}
    bare = {
        anchor: _PRE.sub(lambda m: f'{m.group(1)} data-t="{text_index[m.group(2)]}"></pre>', html)
        for anchor, html in sections.items()
    }
    counts = Counter(line for html in bare.values() for line in html.split("\n"))
    lines = sorted(line for line, n in counts.items() if n > 1 and len(line) >= SHARED_LINE)
    line_index = {line: index for index, line in enumerate(lines)}
    payload = {
        "sections": {anchor: _share_lines(html, line_index) for anchor, html in bare.items()},
        "lines": lines,
        "texts": texts,
    }
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(gzip.compress(text.encode(), compresslevel=9, mtime=0)).decode()


def _share_lines(html: str, line_index: dict[str, int]) -> list[str | int]:
    """``html`` as runs of its own lines (strings) and indices of shared lines (ints): joined
    with newlines, after each index is replaced by its line, it is ``html`` again."""
    parts: list[str | int] = []
    own: list[str] = []
    for line in html.split("\n"):
        if line in line_index:
            if own:
                parts.append("\n".join(own))
                own = []
            parts.append(line_index[line])
        else:
            own.append(line)
    if own or not parts:
        parts.append("\n".join(own))
    return parts


def read_lazy(page: str) -> dict[str, str]:
    """The drill-downs and finding details a rendered page carries, put back together as
    report.js does (for tests and tools)."""
    found = re.search(r'<script type="application/octet-stream" id="lazy-data"[^>]*>([^<]*)<', page)
    if not found:
        return {}
    payload = json.loads(gzip.decompress(base64.b64decode(found.group(1))).decode())
    lines, texts = payload["lines"], payload["texts"]
    return {
        anchor: re.sub(
            r'(<pre\b[^>]*?) data-t="(\d+)"></pre>',
            lambda m: f"{m.group(1)}>{texts[int(m.group(2))]}</pre>",
            "\n".join(lines[part] if isinstance(part, int) else part for part in parts),
        )
        for anchor, parts in payload["sections"].items()
    }


def write_page(path: str | Path, html: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")


def render_diff(diff: Diff) -> str:
    return (
        environment()
        .get_template("diff.html.j2")
        .render(
            title=f"lossconf diff: {diff.old.label} → {diff.new.label}",
            diff=diff,
            verdict_line=verdict_line(diff),
        )
    )
