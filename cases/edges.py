"""Hand-picked edge cases, run for every item whatever the profile.

Each loss declares its edge cases next to its formula (``LossSpec.edges``, a tuple of
:class:`reference.edges.Edge`: what the case covers — its label is ``edge:<what>`` —, when it
applies, a predicate of the configuration, and the arrays). The values sit exactly on the point
named — errors at a kink (0, ±delta, ±beta, the margin), probabilities 0 and 1, ``-inf`` logits,
zero vectors, equal vectors, zero and tiny variances, counts 0 at rate 0, every target ignored —
and are exactly representable in every tested dtype (small dyadic numbers and 8192 = 2¹³, which
bfloat16's 8-bit significand holds). A row whose point cannot be exact in some dtype says why in
``inexact``; ``Case.meta["exact"]`` tells, per case, whether its arrays survive rounding to the
dtype unchanged.

This module turns them into cases, in the order the loss lists them. Arrays use the canonical
shapes of :func:`cases.strategies.canonical_layout` where they can (N = 4 items, C = 3 classes,
D = 3 features), so a compiled mode compiles once per item. Optional arrays the configuration asks
for (``weight``, ``pos_weight``) and the cotangent of reduction ``none`` are filled in with the
exact pattern 1, ½, 2, ¼, … unless the row gives them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

import reference as R
from reference import shapes
from reference.edges import Arrays, Edge
from reference.spec import LossSpec

from .sampling import output_shape

__all__ = ["COTANGENT_PATTERN", "PATTERN", "Edge", "edge_cases"]

PATTERN = (1.0, 0.5, 2.0, 0.25)  # exact fill for weights; its signed form fills cotangents
COTANGENT_PATTERN = (1.0, -0.5, 2.0, -0.25)


def _tile(pattern, shape) -> np.ndarray:
    n = math.prod(shape)
    return np.resize(np.asarray(pattern, dtype=np.float64), n).reshape(shape)


# --- building cases ------------------------------------------------------------------------------


def _complete(spec: LossSpec, arrays: Arrays, params: Mapping[str, Any], present) -> Arrays:
    """Add the optional arrays the configuration asks for, shaped by the layout the given ones fit."""
    missing = [name for name in spec.optional_arrays if name in present and name not in arrays]
    if not missing:
        return arrays
    full = {**spec.defaults(), **params}
    for layout in shapes.layouts_for(spec.layouts, full):
        if not set(missing) <= set(layout.shapes):
            continue
        bound: dict[str, int] = {}
        if all(
            shapes.bind(layout.shapes[k], v.shape, bound)
            for k, v in arrays.items()
            if k in layout.shapes
        ) and set(arrays) <= set(layout.shapes):
            extra = shapes.concrete(layout, bound, missing)
            return {**arrays, **{k: _tile(PATTERN, s) for k, s in extra.items()}}
    raise ValueError(f"{spec.name}: no layout holds {sorted(arrays)} and {missing}")


def _exact(arrays: Arrays, dtype: str) -> bool:
    return all(
        np.array_equal(R.round_to(v, dtype), v, equal_nan=True)
        for v in arrays.values()
        if not np.issubdtype(v.dtype, np.integer)
    )


def edge_cases(spec: LossSpec, config: Mapping[str, Any], dtype: str) -> list[R.Case]:
    """The hand-picked cases for one configuration, labelled ``edge:<what>``.

    ``dtype`` is set on the cases; device and mode are left at their defaults. ``meta["exact"]``
    is False where rounding to ``dtype`` moves a value (then ``meta["inexact"]`` says why).
    """
    params, present = R.split(spec, config)
    out = []
    for edge in spec.edges:
        if not edge.when(config):
            continue
        arrays = {k: np.asarray(v) for k, v in edge.arrays(config).items()}
        arrays = _complete(spec, arrays, params, present)
        arrays = {k: v for k, v in arrays.items() if k in present or not spec.array(k).optional}
        cotangent = None
        if params["reduction"] == "none":
            cotangent = _tile(COTANGENT_PATTERN, output_shape(spec, arrays, params))
        meta: dict[str, Any] = {"exact": _exact(arrays, dtype)}
        if not meta["exact"]:
            meta["inexact"] = edge.inexact or "a value is not representable in this dtype"
        out.append(
            R.Case(
                spec.name,
                params,
                arrays,
                dtype,
                cotangent=cotangent,
                label=f"edge:{edge.what}",
                meta=meta,
            )
        )
    return out
