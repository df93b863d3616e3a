"""Value bands: the families of float values a domain's arguments are drawn from.

Each :class:`~reference.spec.Domain` declares its bands (``Domain.bands``, in
:mod:`reference.domains`), so a new domain brings its own; :mod:`cases.strategies` realises a band
with hypothesis or with a seeded NumPy generator, identically. Bands are dtype-aware (ordinary
values, tiny ones, values near the loss's kinks, the dtype's sigmoid saturation, its exp overflow,
large values below the dtype's maximum, or a per-element mix), so ``hypothesis.target`` can climb
toward the regions where a dtype breaks. Plain data: nothing here draws.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .dtypes import FloatFormat, spacing


@dataclass(frozen=True)
class Band:
    """A family of float values, realised identically by hypothesis and by a NumPy generator.

    ``uniform``: on [lo, hi]. ``log``: base + sign·m with m log-uniform on [lo, hi] (sign 0: either
    sign). ``near``: points[i] + k·ulps[i], |k| ≤ NEAR_ULPS (``cases.strategies``). ``values``:
    one of ``points``. ``integers``: whole numbers in [lo, hi]. ``mixed``: each element from one of
    ``parts``.
    """

    name: str
    kind: str
    lo: float = 0.0
    hi: float = 0.0
    sign: int = 0
    base: float = 0.0
    points: tuple[float, ...] = ()
    ulps: tuple[float, ...] = ()
    parts: tuple[Band, ...] = field(default=(), repr=False)


def small_low(fmt: FloatFormat) -> float:
    """Smallest magnitude of the "small" bands: eps³, but not below the smallest normal number."""
    return max(fmt.tiny, fmt.eps**3)


def saturation(fmt: FloatFormat) -> float:
    """|x| beyond which σ(x) rounds to 1 in the format: (mantissa bits + 1)·ln 2.

    float64 36.7, float32 16.6, float16 7.6, bfloat16 5.5.
    """
    return (fmt.mantissa_bits + 1) * math.log(2.0)


def exp_overflow(fmt: FloatFormat) -> float:
    """x beyond which e^x overflows the format: ln(max). float16 11.1, float32/bfloat16 88.7."""
    return math.log(fmt.max_value)


def large_high(fmt: FloatFormat) -> float:
    """Largest magnitude drawn: 1e4 (float16's maximum is 65504, so 1e4 fits every format)."""
    return min(1e4, fmt.max_value / 4)


def near(name: str, anchors, dtype: str) -> Band:
    """Values a few ULPs of ``dtype`` around each anchor."""
    points = tuple(sorted({float(a) for a in anchors}))
    # At 0 the step is one ULP of 1, so "near 0" reaches differences of a few eps, not subnormals.
    ulps = tuple(float(spacing(np.array(p if p else 1.0), dtype)) for p in points)
    return Band(name, "near", points=points, ulps=ulps)


def kink_points(params: Mapping[str, Any], kinks: tuple[str, ...]) -> tuple[float, ...]:
    """0 and ±each kink parameter (``kinks``, see :attr:`reference.spec.Param.kink`) of the
    configuration ``params``."""
    out = {0.0}
    for name in kinks:
        v = params.get(name)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v:
            out |= {float(v), -float(v)}
    return tuple(sorted(out))


def mixed(parts: tuple[Band, ...]) -> tuple[Band, ...]:
    """The parts, and a band mixing them element by element."""
    return (*parts, Band("mixed", "mixed", parts=parts))
