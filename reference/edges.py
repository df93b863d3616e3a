"""The vocabulary hand-picked edge cases are declared in, next to each loss's formula.

A loss lists its :class:`Edge`\\ s in its ``LossSpec.edges``; :mod:`cases.edges` turns them into
cases for every configuration and dtype. The values sit exactly on the point named — errors at a
kink, probabilities 0 and 1, ``-inf`` logits, zero vectors — and are exactly representable in every
tested dtype (small dyadic numbers and :data:`BIG` = 2¹³, which bfloat16's 8-bit significand holds).
A row whose point cannot be exact in some dtype says why in ``inexact``.

Arrays use the canonical shapes of :func:`cases.strategies.canonical_layout` where they can
(N = 4 items, C = 3 classes, D = 3 features), so a compiled mode compiles once per item.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

INF = math.inf
BIG = 8192.0  # 2**13: exact in every dtype, e^BIG overflows all of them, BIG² overflows float16
ROW = np.array([0.25, -1.5, 3.0, 0.0])  # an ordinary, exact batch of 4 values

Arrays = dict[str, np.ndarray]
Config = Mapping[str, Any]


def vec(*values) -> np.ndarray:
    """A float64 vector of the given values."""
    return np.array(values, dtype=np.float64)


def always(config: Config) -> bool:
    return True


def has(name: str) -> Callable[[Config], bool]:
    """The configuration has this optional array, or this parameter is non-zero."""
    return lambda config: bool(config.get(name))


def is_(**wanted) -> Callable[[Config], bool]:
    """The configuration has these parameter values."""
    return lambda config: all(config.get(k) == v for k, v in wanted.items())


@dataclass(frozen=True)
class Edge:
    """One hand-picked case: ``arrays(config)`` builds the arrays for a configuration (optional
    arrays it leaves out are filled in by :mod:`cases.edges`); ``when`` says which configurations
    it applies to; its label is ``edge:<what>``."""

    what: str
    arrays: Callable[[Config], Arrays]
    when: Callable[[Config], bool] = field(default=always)
    inexact: str = ""  # why the named point is not exactly representable in some dtype
