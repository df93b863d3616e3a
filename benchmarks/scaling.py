"""Time one framework's conformance run serially and on N workers, and print the benchmark table.

    python -m benchmarks.scaling [--workers 2] [--out benchmarks/results] [-- PYTEST ARGS]

Runs ``pytest tests/conformance`` for the framework in ``LOSSCONF_FRAMEWORK`` twice — serially
with ``--timings`` (the per-stage medians of :mod:`benchmarks.stages`) and with
``-n N --dist loadgroup`` — each as a fresh process, and prints: per stage the median per example,
the compiling calls (the framework's first call at a new input signature, see
:mod:`benchmarks.stages`), the harness median (everything but the native and compiling calls;
also with them) and its ratio to the native call's median,
the two wall times and the scaling efficiency (serial wall ÷ (N × parallel wall); 100 % is perfect
use of N cores). Wall times include pytest start-up and imports, as a user pays them.
``--markdown`` prints the README's rows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .stages import HARNESS, compiling, stage_values


def timed_run(arguments: list[str]) -> tuple[float, int]:
    """(wall seconds, exit status) of one conformance run in a fresh interpreter."""
    command = [sys.executable, "-m", "pytest", "tests/conformance", "-q", "-p", "no:cacheprovider"]
    started = time.perf_counter()
    status = subprocess.run([*command, *arguments], stdout=subprocess.DEVNULL).returncode
    return time.perf_counter() - started, status


def medians(timings: dict) -> dict[str, float]:
    stages = stage_values(timings)
    n = len(stages["native"])
    harness = [sum(stages[s][i] for s in HARNESS) for i in range(n)]
    out = {name: statistics.median(values) for name, values in stages.items() if values}
    out["harness"] = statistics.median(harness) if harness else float("nan")
    with_compile = [h + c for h, c in zip(harness, stages["compile"], strict=True)]
    out["harness and compile"] = statistics.median(with_compile) if harness else float("nan")
    calls = compiling(stages)
    out["compiling calls"] = len(calls)
    out["compiling call"] = statistics.median(calls) if calls else float("nan")
    # hypothesis-drawn examples (a generate time) apart from the fixed ones (edge, invalid):
    # the harness median lands between the two, so each is worth its own figure
    drawn = [h for h, g in zip(harness, stages["generate"], strict=True) if g > 0]
    fixed = [h for h, g in zip(harness, stages["generate"], strict=True) if g == 0]
    out["harness drawn"] = statistics.median(drawn) if drawn else float("nan")
    out["harness fixed"] = statistics.median(fixed) if fixed else float("nan")
    out["drawn share"] = len(drawn) / n if n else float("nan")
    draws = [g for g in stages["generate"] if g > 0]
    out["generate drawn"] = statistics.median(draws) if draws else float("nan")
    return out


def rows(timings: dict, serial: float, parallel: float, workers: int) -> list[tuple[str, str]]:
    found = medians(timings)
    us = lambda seconds: f"{seconds * 1e6:,.0f} µs"  # noqa: E731
    out = [(f"{name} (median per example)", us(found[name])) for name in (*HARNESS, "native")]
    out.append(
        (
            "compiling calls: median / count (the first call at a new shape, whole)",
            f"{us(found['compiling call'])} / {found['compiling calls']}"
            if found["compiling calls"]
            else "none",
        )
    )
    out.append(("harness (all but the native and the compiling calls)", us(found["harness"])))
    out.append(("harness with the compiling calls", us(found["harness and compile"])))
    out.append(
        (
            "… of examples hypothesis drew / of the others",
            f"{us(found['harness drawn'])} / {us(found['harness fixed'])}",
        )
    )
    out.append(("generate, of the drawn examples", us(found["generate drawn"])))
    out.append(("share of drawn examples", f"{found['drawn share']:.0%}"))
    out.append(("harness ÷ native call", f"{found['harness'] / found['native']:.1f}×"))
    out.append(
        ("examples / items", f"{len(timings['stages']['native'])} / {len(timings['items'])}")
    )
    out.append(("ci run, serial (wall)", f"{serial:.1f} s"))
    out.append((f"ci run, -n {workers} --dist loadgroup (wall)", f"{parallel:.1f} s"))
    out.append(
        (
            "speed-up / scaling efficiency",
            f"{serial / parallel:.2f}× / {serial / (workers * parallel):.0%}",
        )
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args(argv)
    framework = os.environ.get("LOSSCONF_FRAMEWORK")
    if not framework:
        print("LOSSCONF_FRAMEWORK is not set: which framework to time?", file=sys.stderr)
        return 2
    timings = Path(args.out) / f"{framework}.json"
    serial, status = timed_run(["--timings", str(timings), *args.pytest_args])
    parallel, status_n = timed_run(
        ["-n", str(args.workers), "--dist", "loadgroup", *args.pytest_args]
    )
    data = json.loads(timings.read_text())
    title = f"{framework} {data['version']}, profile {data['profile']}"
    if status or status_n:  # the timing is still worth printing; the status says why to look
        title += f" (exit status serial {status}, parallel {status_n})"
    table = rows(data, serial, parallel, args.workers)
    if args.markdown:
        print(f"**{title}**\n\n| measure | value |\n|---|---:|")
        print("\n".join(f"| {name} | {value} |" for name, value in table))
    else:
        width = max(len(name) for name, _ in table)
        print(title)
        print("\n".join(f"  {name:<{width}}  {value:>12}" for name, value in table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
