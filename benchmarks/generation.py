"""Time hypothesis' drawing of cases and measure what it draws: speed without losing diversity.

    python -m benchmarks.generation [--examples 60] [--seed 1] [--dtype float32 --dtype float16]

Draws ``--examples`` cases through :func:`cases.strategies.case_strategy`, as the conformance run
draws them (hypothesis' generate phase, a fixed seed, no database), for the first configuration
of every loss at each dtype, and prints the
median and mean draw time per case and, as diversity measures of the float elements drawn:

- the share of distinct values among them;
- for log bands, where each element lies between the band's ends (its exponent's position, 0 to
  1) as the entropy of a 20-bin histogram (4.32 bits is uniform) and the share exactly at an end;
  the same for uniform bands on their values; the share of negative elements of unsigned log bands;
- how many distinct bands (and tie draws) the arrays came from.

Run it before and after a change of :mod:`cases.strategies` (``git stash``) to compare both.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import statistics

import numpy as np
from hypothesis import HealthCheck, Phase, given, seed, settings

import reference as R
from cases import profiles, strategies


def _entropy(positions: list[float]) -> tuple[float, float]:
    """(entropy in bits of a 20-bin histogram on [0, 1], share exactly at 0 or 1)."""
    x = np.clip(np.asarray(positions, dtype=np.float64), 0.0, 1.0)
    if not x.size:
        return float("nan"), float("nan")
    counts = np.histogram(x, bins=20, range=(0.0, 1.0))[0]
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum()), float(np.mean((x == 0) | (x == 1)))


class Recorder:
    """Wraps :meth:`HypothesisDrawer.floats` to see each band's drawn values."""

    def __init__(self):
        self.positions: dict[str, list[float]] = collections.defaultdict(list)
        self.negative: list[bool] = []
        self.values = 0
        self.distinct = 0

    def see(self, band, values: np.ndarray) -> None:
        if band.kind == "log":
            a, b = math.log2(band.lo), math.log2(band.hi)
            with np.errstate(divide="ignore"):
                e = np.log2(np.abs(values - band.base))
            self.positions["log"] += ((e - a) / max(b - a, 1e-300)).tolist()
            if not band.sign:
                self.negative += (values < band.base).tolist()
        elif band.kind == "uniform" and band.hi > band.lo:
            self.positions["uniform"] += ((values - band.lo) / (band.hi - band.lo)).tolist()


def _draw_item(spec, config, dtype, profile, examples, seed_value, times, recorder, drawn_from):
    """Draw ``examples`` cases of one item, adding to the timings and counts."""

    @seed(seed_value)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=strategies.case_strategy(
            spec, config, dtype, "cpu", "eager", profile, drawn_in=times.append
        )
    )
    def draw(case):
        for array in case.arrays.values():
            if np.issubdtype(array.dtype, np.floating):
                recorder.values += array.size
                recorder.distinct += len(np.unique(array))
        drawn_from.update(case.meta["drawn_from"].values())

    draw()


def measure(examples: int, seed_value: int, dtypes: list[str]) -> dict:
    profile = profiles.get("ci")
    recorder = Recorder()
    original = strategies.HypothesisDrawer.floats

    def floats(self, band, n, label):
        values = original(self, band, n, label)
        if band.kind != "mixed":
            recorder.see(band, values)
        return values

    times: list[float] = []
    drawn_from: collections.Counter = collections.Counter()
    strategies.HypothesisDrawer.floats = floats
    try:
        for loss in R.names():
            spec = R.get(loss)
            config = next(iter(R.all_configs(spec)))
            for dtype in dtypes:
                _draw_item(
                    spec, config, dtype, profile, examples, seed_value, times, recorder, drawn_from
                )
    finally:
        strategies.HypothesisDrawer.floats = original
    log_entropy, log_ends = _entropy(recorder.positions["log"])
    uniform_entropy, uniform_ends = _entropy(recorder.positions["uniform"])
    return {
        "cases": len(times),
        "draw median µs": round(statistics.median(times) * 1e6),
        "draw mean µs": round(statistics.mean(times) * 1e6),
        "distinct share": round(recorder.distinct / max(recorder.values, 1), 4),
        "log bands: entropy bits / share at an end": [round(log_entropy, 3), round(log_ends, 3)],
        "uniform bands: entropy bits / share at an end": [
            round(uniform_entropy, 3),
            round(uniform_ends, 3),
        ],
        "unsigned log bands: negative share": round(float(np.mean(recorder.negative)), 3),
        "bands and ties drawn from": len(drawn_from),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generation", description=__doc__)
    parser.add_argument("--examples", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dtype", action="append", choices=R.DTYPES)
    args = parser.parse_args(argv)
    result = measure(args.examples, args.seed, args.dtype or ["float32", "float16"])
    print(json.dumps(result, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
