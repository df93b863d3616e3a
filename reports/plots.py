"""Plots for the report, drawn by matplotlib and returned as inline SVG text.

Figures are built with ``matplotlib.figure.Figure`` on an Agg canvas (which lays them out)
and saved as SVG, never through pyplot: no GUI backend is ever selected, the process-wide
backend setting is left alone, and nothing needs a display. Colours are the Okabe–Ito palette
(distinguishable with the common colour-vision deficiencies) and every run also gets its own
hatch or marker, so the plots stay readable in greyscale.

Finite errors and non-finite disagreements (NaN or ±inf where the reference differs) are kept
apart: the histogram draws the non-finite ones as their own bar behind a separator, and the
error-vs-size plot caps its axis at OFF_SCALE ULPs (an error of 10^120 ULPs — a tiny reference
value — says "wrong", not how wrong), draws larger errors in a band above the cap and counts
the non-finite disagreements in the panel instead of plotting them. Scatter points are drawn
as one embedded image per panel (matplotlib's ``rasterized``), so a plot costs tens of
kilobytes, not one SVG element per point.
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
HATCHES = ("", "//", "\\\\", "--", "||", "++", "xx")  # dotted hatches cost ~60 kB of SVG each
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
MAX_POINTS = 1500  # per run and dtype in the error-vs-size plot
OFF_SCALE = 1e6  # ULPs: errors above are drawn in the off-scale band, not on the axis
RASTER_DPI = 110  # resolution of the scatter points' embedded image

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
        figure.savefig(
            buffer, format="svg", metadata={"Date": None}, bbox_inches="tight", dpi=RASTER_DPI
        )
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
    """Share of examples per value-ULP bucket, one panel per dtype, one bar per run; the
    non-finite disagreements stand apart, right of a separator."""
    data = ulp_histogram_data(runs)
    if not data:
        return None
    dtypes = _dtypes(data)
    present = [run for run in runs if any((run.index, d) in data for d in dtypes)]
    width = 0.8 / len(present)
    finite = [bucket for bucket in ULP_BUCKETS if bucket != "nonfinite"]
    # the non-finite bar sits one slot further right than the buckets' spacing
    positions = [*range(len(finite)), len(finite) + 0.6]
    with matplotlib.rc_context(_RC):
        figure = _new_figure(len(dtypes))
        axes = figure.subplots(1, len(dtypes), squeeze=False, sharey=True)[0]
        for ax, dtype in zip(axes, dtypes, strict=True):
            for slot, run in enumerate(present):
                counts = data.get((run.index, dtype))
                if not counts:
                    continue
                total = sum(counts.values())
                shares = [100.0 * counts[b] / total for b in (*finite, "nonfinite")]
                style = _style(run.index)
                ax.bar(
                    [x + (slot - (len(present) - 1) / 2) * width for x in positions],
                    shares,
                    width,
                    label=run.label,
                    color=style["colour"],
                    hatch=style["hatch"],
                    edgecolor="white",
                    linewidth=0.4,
                )
            ax.axvline(len(finite) - 0.2, color="#5f6b78", linestyle="--", linewidth=0.8)
            ax.set_title(dtype, fontweight="bold")
            ax.set_yscale("log")
            ax.set_ylim(0.01, 100)
            ax.set_xticks(
                positions,
                [*("≤" + b if b[0].isdigit() else b for b in finite), "non-finite"],
                rotation=60,
                ha="right",
                rotation_mode="anchor",
            )
            ax.get_xticklabels()[-1].set_fontweight("bold")
            ax.set_xlabel("finite value error, ULPs (bucket upper bound) | NaN/±inf")
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


def nonfinite_counts(runs: list[Run]) -> dict[str, int]:
    """Examples per dtype whose value disagreed non-finitely (the ``nonfinite`` bucket)."""
    counts: dict[str, int] = defaultdict(int)
    for run in runs:
        for record in run.results.records:
            counts[record["dtype"]] += int(record["ulp_hist"].get("nonfinite", 0) or 0)
    return dict(counts)


def error_size_svg(runs: list[Run]) -> str | None:
    """Value error against the number of reduced elements, one panel per dtype: the axis ends
    at OFF_SCALE ULPs, larger finite errors sit in a band above it, non-finite ones are
    counted in the panel."""
    data = error_size_data(runs)
    if not data:
        return None
    dtypes = _dtypes(data)
    nonfinite = nonfinite_counts(runs)
    band = OFF_SCALE * 10  # where off-scale points are drawn
    with matplotlib.rc_context(_RC):
        figure = _new_figure(len(dtypes))
        axes = figure.subplots(1, len(dtypes), squeeze=False, sharey=True)[0]
        for ax, dtype in zip(axes, dtypes, strict=True):
            off_scale = 0
            for run in runs:
                points = data.get((run.index, dtype))
                if not points:
                    continue
                style = _style(run.index)
                inside = [p for p in points if p[1] <= OFF_SCALE]
                beyond = [p for p in points if p[1] > OFF_SCALE]
                off_scale += len(beyond)
                ax.scatter(
                    [p[0] for p in inside],
                    [p[1] for p in inside],
                    s=14,
                    alpha=0.75,
                    label=run.label,
                    color=style["colour"],
                    marker=style["marker"],
                    linewidths=0,
                    rasterized=True,
                )
                if beyond:
                    ax.scatter(
                        [p[0] for p in beyond],
                        [band] * len(beyond),
                        s=18,
                        alpha=0.75,
                        color=style["colour"],
                        marker="^",
                        linewidths=0,
                        rasterized=True,
                    )
            ax.axhspan(OFF_SCALE * 2, OFF_SCALE * 50, color="#f3e9e9", zorder=0)
            ax.set_title(dtype, fontweight="bold")
            ax.set_xscale("log")
            ax.set_yscale("symlog", linthresh=1.0)
            ax.set_ylim(0, OFF_SCALE * 50)
            ax.yaxis.set_major_locator(SymmetricalLogLocator(base=10, linthresh=1.0, subs=[1.0]))
            ax.yaxis.get_major_locator().set_params(numticks=5)
            notes = [f"{off_scale} beyond 10⁶ ULP (▲)"] if off_scale else []
            if nonfinite.get(dtype):
                notes.append(f"{nonfinite[dtype]} non-finite, not plotted")
            if notes:
                ax.text(
                    0.02,
                    0.97,
                    "\n".join(notes),
                    transform=ax.transAxes,
                    va="top",
                    fontsize=8,
                    color="#7f1414",
                )
            ax.set_xlabel("reduced elements")
        axes[0].set_ylabel("finite value error, ULPs")
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
