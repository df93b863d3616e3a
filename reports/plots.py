"""Plots for the report, drawn by matplotlib and returned as inline SVG text.

Figures are built with ``matplotlib.figure.Figure`` on an Agg canvas (which lays them out)
and saved as SVG, never through pyplot: no GUI backend is ever selected, the process-wide
backend setting is left alone, and nothing needs a display. Colours are the Okabe–Ito palette
(distinguishable with the common colour-vision deficiencies) and every run also gets its own
hatch or marker, so the plots stay readable in greyscale.
"""

from __future__ import annotations

import io
import math
import random
from collections import defaultdict

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, SymmetricalLogLocator

from .model import DTYPE_ORDER, Run, order_key
from .schema import ULP_BUCKETS

COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
HATCHES = ("", "//", "..", "xx", "\\\\", "--", "++")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
MAX_POINTS = 1500  # per run and dtype in the error-vs-size plot

_RC = {
    "svg.fonttype": "none",  # text stays text: smaller, selectable, uses the page's fonts
    "font.size": 9,
    "font.family": ["DejaVu Sans", "sans-serif"],
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e3e6ea",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
}


def _style(index: int) -> dict:
    return {
        "colour": COLOURS[index % len(COLOURS)],
        "hatch": HATCHES[index % len(HATCHES)],
        "marker": MARKERS[index % len(MARKERS)],
    }


def _dtypes(keys) -> list[str]:
    return sorted({dtype for _, dtype in keys}, key=lambda d: order_key(d, DTYPE_ORDER))


def _new_figure(panels: int) -> Figure:
    figure = Figure(figsize=(4.6 * panels, 2.9), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _to_svg(figure: Figure, salt: str) -> str:
    buffer = io.StringIO()
    # A fixed salt makes the ids matplotlib writes deterministic and distinct between the
    # plots of one page (two inline SVGs sharing an id would clip each other's paths).
    with matplotlib.rc_context({"svg.hashsalt": salt}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: the SVG is inline


def ulp_histogram_data(runs: list[Run]) -> dict[tuple[int, str], dict[str, int]]:
    """Summed ``ulp_hist`` per (run index, dtype)."""
    totals: dict[tuple[int, str], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(ULP_BUCKETS, 0)
    )
    for run in runs:
        for record in run.results.records:
            for bucket, count in record["ulp_hist"].items():
                if bucket in ULP_BUCKETS and count:
                    totals[(run.index, record["dtype"])][bucket] += count
    return dict(totals)


def ulp_histogram_svg(runs: list[Run]) -> str | None:
    """Share of examples per value-ULP bucket, one panel per dtype, one bar per run."""
    data = ulp_histogram_data(runs)
    if not data:
        return None
    dtypes = _dtypes(data)
    present = [run for run in runs if any((run.index, d) in data for d in dtypes)]
    width = 0.8 / len(present)
    with matplotlib.rc_context(_RC):
        figure = _new_figure(len(dtypes))
        axes = figure.subplots(1, len(dtypes), squeeze=False, sharey=True)[0]
        for ax, dtype in zip(axes, dtypes, strict=True):
            for slot, run in enumerate(present):
                counts = data.get((run.index, dtype))
                if not counts:
                    continue
                total = sum(counts.values())
                shares = [100.0 * counts[b] / total for b in ULP_BUCKETS]
                style = _style(run.index)
                ax.bar(
                    [i + (slot - (len(present) - 1) / 2) * width for i in range(len(ULP_BUCKETS))],
                    shares,
                    width,
                    label=run.label,
                    color=style["colour"],
                    hatch=style["hatch"],
                    edgecolor="white",
                    linewidth=0.4,
                )
            ax.set_title(dtype, fontweight="bold")
            ax.set_yscale("log")
            ax.set_ylim(0.01, 100)
            ax.set_xticks(
                range(len(ULP_BUCKETS)),
                ["≤" + b if b[0].isdigit() else b for b in ULP_BUCKETS],
                rotation=60,
                ha="right",
                rotation_mode="anchor",
            )
            ax.set_xlabel("value error, ULPs (bucket upper bound)")
        axes[0].set_ylabel("share of examples, %")
        axes[0].yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
        handles, labels = _legend_in_run_order(axes, runs)
        figure.legend(handles, labels, loc="outside upper center", ncols=len(labels), frameon=False)
        return _to_svg(figure, "ulp-histogram")


def error_size_data(runs: list[Run]) -> dict[tuple[int, str], list[tuple[float, float]]]:
    """(reduced elements, value ULP) samples per (run index, dtype), finite errors only."""
    points: dict[tuple[int, str], list[tuple[float, float]]] = defaultdict(list)
    for run in runs:
        for record in run.results.records:
            for size, error in record["samples"]:
                if size and size > 0 and math.isfinite(error):
                    points[(run.index, record["dtype"])].append((size, error))
    return {key: thin_out(values) for key, values in points.items()}


def thin_out(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """At most MAX_POINTS points: the largest errors always, a fixed-seed sample of the rest.

    Every point is an SVG element; a full run has ~10^5 samples, which would make the page
    tens of megabytes while the eye sees no more than a few thousand points anyway.
    """
    if len(points) <= MAX_POINTS:
        return points
    ordered = sorted(points, key=lambda point: point[1], reverse=True)
    keep = MAX_POINTS // 10
    rest = random.Random(0).sample(ordered[keep:], MAX_POINTS - keep)
    return ordered[:keep] + rest


def error_size_svg(runs: list[Run]) -> str | None:
    """Value error against the number of reduced elements, one panel per dtype."""
    data = error_size_data(runs)
    if not data:
        return None
    dtypes = _dtypes(data)
    with matplotlib.rc_context(_RC):
        figure = _new_figure(len(dtypes))
        axes = figure.subplots(1, len(dtypes), squeeze=False, sharey=True)[0]
        for ax, dtype in zip(axes, dtypes, strict=True):
            for run in runs:
                points = data.get((run.index, dtype))
                if not points:
                    continue
                style = _style(run.index)
                ax.scatter(
                    [p[0] for p in points],
                    [p[1] for p in points],
                    s=14,
                    alpha=0.75,
                    label=run.label,
                    color=style["colour"],
                    marker=style["marker"],
                    linewidths=0,
                )
            ax.set_title(dtype, fontweight="bold")
            ax.set_xscale("log")
            ax.set_yscale("symlog", linthresh=1.0)
            ax.set_ylim(bottom=0)
            # errors span 0 to ~1e120 ULPs (a tiny reference value): at most ~7 decade labels,
            # else they overprint each other
            ax.yaxis.set_major_locator(SymmetricalLogLocator(base=10, linthresh=1.0, subs=[1.0]))
            ax.yaxis.get_major_locator().set_params(numticks=7)
            ax.set_xlabel("reduced elements")
        axes[0].set_ylabel("value error, ULPs")
        handles, labels = _legend_in_run_order(axes, runs)
        figure.legend(handles, labels, loc="outside upper center", ncols=len(labels), frameon=False)
        return _to_svg(figure, "error-vs-size")


def _legend_in_run_order(axes, runs: list[Run]) -> tuple[list, list[str]]:
    """One legend entry per run, in run order, whichever panels the run appears in."""
    entries: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    labels = [run.label for run in runs if run.label in entries]
    return [entries[label] for label in labels], labels
