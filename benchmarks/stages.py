"""Print where the conformance harness spends its time, from a ``--timings`` file.

    python -m benchmarks.stages TIMINGS.json [TIMINGS.json ...] [--markdown]

The conformance plugin (``pytest tests/conformance --timings PATH``) records, for every example,
the seconds spent generating the case (hypothesis draw), evaluating the reference, in the native
call (forward + backward, as the adapter timed it), in the adapter around it (building tensors,
converting results), comparing and judging, and recording; and, per item, the wall time and
example count, so that what falls between the stages (hypothesis' engine, pytest) shows as
"other". Where the framework traced or compiled for a new input signature, the whole first call
is the stage "compile" and a second call is the native one (:class:`adapters.base.FirstCalls`).
The harness is everything but the native call and the compiling calls: what lossconf adds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

HARNESS = ("generate", "reference", "adapter", "compare", "record")
COMPILE = "compile"


def stage_values(data: dict) -> dict[str, list[float]]:
    """The per-example seconds of every stage; timings written before the compile stage existed
    (its time was then part of the adapter's or the native call's) read as compiling nothing."""
    stages = dict(data["stages"])
    stages.setdefault(COMPILE, [0.0] * len(stages["native"]))
    return stages


def compiling(stages: dict[str, list[float]]) -> list[float]:
    """The seconds of the compiling calls (the examples whose call compiled)."""
    return [c for c in stages[COMPILE] if c > 0]


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def table(data: dict) -> list[tuple[str, str, str, str]]:
    stages = stage_values(data)
    n = len(stages["native"])
    totals = {name: sum(values) for name, values in stages.items()}
    wall = sum(item[0] for item in data.get("items", []))
    other = max(wall - sum(totals.values()), 0.0)
    rows = []
    for name in ("generate", "reference", "native", COMPILE, "adapter", "compare", "record"):
        values = stages[name]
        rows.append(
            (
                name,
                _us(statistics.median(values)),
                f"{totals[name]:.1f} s",
                f"{100 * totals[name] / wall:.1f} %" if wall else "—",
            )
        )
    rows.append(("other", "—", f"{other:.1f} s", f"{100 * other / wall:.1f} %" if wall else "—"))
    harness = [sum(stages[s][i] for s in HARNESS) for i in range(n)]
    rows.append(
        (
            "harness (all but native, compile)",
            _us(statistics.median(harness)),
            f"{sum(harness) + other:.1f} s",
            f"{100 * (sum(harness) + other) / wall:.1f} %" if wall else "—",
        )
    )
    with_compile = [h + c for h, c in zip(harness, stages[COMPILE], strict=True)]
    rows.append(("harness and compiling calls", _us(statistics.median(with_compile)), "", ""))
    calls = compiling(stages)
    rows.append(
        (
            "compiling calls: median / count",
            _us(statistics.median(calls)) if calls else "—",
            f"{len(calls)}",
            "",
        )
    )
    rows.append(
        ("items / examples / wall", f"{len(data.get('items', []))} / {n}", f"{wall:.1f} s", "")
    )
    return rows


def render(data: dict, markdown: bool) -> str:
    title = f"{data['framework']} {data['version']}, profile {data['profile']}"
    head = ("stage", "median per example", "total", "share of item time")
    rows = table(data)
    if markdown:
        lines = [f"**{title}**", "", "| " + " | ".join(head) + " |", "|---|---:|---:|---:|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return "\n".join([title, fmt.format(*head), *(fmt.format(*r) for r in rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stages", description=__doc__)
    parser.add_argument("timings", nargs="+")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    for path in args.timings:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            print(f"{path}: cannot read timings ({exc})", file=sys.stderr)
            return 2
        print(render(data, args.markdown))
        print()
    return 0


def run_cli(argv: list[str] | None = None) -> int:
    """``main``, quiet when its reader stops reading (``python -m benchmarks.stages F | head``)."""
    try:
        return main(argv)
    except BrokenPipeError:
        # the rest of the output has nowhere to go; point stdout at /dev/null so that the
        # interpreter's own flush at exit does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(run_cli())
