"""Rendering: the Jinja2 environment, the filters the templates use, and the two pages.

Autoescape is on for every template: results files carry arbitrary text (exception messages,
reproducers), and all of it reaches the page escaped. The only markup inserted unescaped is
the SVG that matplotlib writes from our own figures (it escapes the text it draws).
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from . import plots
from .diff import Diff, verdict_line
from .model import Report, build_report
from .schema import Results
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
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )
    return env


def render_report(results: list[Results], title: str = "lossconf conformance report") -> str:
    report: Report = build_report(results)
    figures = {
        "ulp_histogram": plots.ulp_histogram_svg(report.runs),
        "error_vs_size": plots.error_size_svg(report.runs),
    }
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            title=title,
            report=report,
            # matplotlib's own SVG of our figures: trusted markup (see the module docstring).
            plots={name: Markup(svg) if svg else None for name, svg in figures.items()},
        )
    )


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
