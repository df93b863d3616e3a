"""Input predicates for divergence entries: numpy functions of a case, shared by all frameworks.

A divergence says *which inputs* it applies to with one of these (``inputs=``) and the same idea
in words (``inputs_text=``). They read the case's arrays as the framework saw them (rounded).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import reference as R
from reference import Case

Predicate = Callable[[Case], bool]


def any_equal(name: str, *values: float) -> Predicate:
    """Some element of array ``name`` equals one of ``values`` exactly."""

    def pred(case: Case) -> bool:
        x = case.rounded().get(name)
        return x is not None and bool(np.any(np.isin(x, values)))

    return pred


def any_below(name: str, bound: float, inclusive: bool = False) -> Predicate:
    def pred(case: Case) -> bool:
        x = case.rounded().get(name)
        return x is not None and bool(np.any(x <= bound if inclusive else x < bound))

    return pred


def any_nonfinite(name: str) -> Predicate:
    def pred(case: Case) -> bool:
        x = case.rounded().get(name)
        return x is not None and bool(np.any(~np.isfinite(x)))

    return pred


def any_zero_vector(*names: str) -> Predicate:
    """Some row (last dimension) of one of the arrays is all zeros."""

    def pred(case: Case) -> bool:
        arrays = case.rounded()
        return any(n in arrays and bool(np.any(np.all(arrays[n] == 0, axis=-1))) for n in names)

    return pred


def any_target_ignored(case: Case) -> bool:
    ignore = case.params.get("ignore_index")
    return ignore is not None and bool(np.any(case.arrays["target"] == ignore))


def all_of(*preds: Predicate) -> Predicate:
    return lambda case: all(p(case) for p in preds)


def any_of(*preds: Predicate) -> Predicate:
    return lambda case: any(p(case) for p in preds)


def kl_incoming_gradient(case: Case) -> np.ndarray:
    """|∂result/∂ℓ_i| that kl_div's backward hands each pointwise term, rounded to the dtype, in
    the input's shape: the cotangent (none), 1/numel (mean), 1/batch size (batchmean), 1 (sum)."""
    x = case.rounded()["input"]
    reduction = {**R.get(case.loss).defaults(), **case.params}["reduction"]
    per_reduction = {
        "none": lambda: np.abs(case.rounded_cotangent()),
        "mean": lambda: 1.0 / max(x.size, 1),
        "batchmean": lambda: 1.0 / (x.shape[0] if x.ndim else 1),
        "sum": lambda: 1.0,
    }
    g = np.asarray(per_reduction[reduction](), dtype=np.float64)
    return R.round_to(np.broadcast_to(g, np.broadcast_shapes(g.shape, x.shape)), case.dtype)
