"""Helpers that several frameworks' registry predicates share (NumPy functions of a case).

Predicates read the case's arrays as the framework saw them (``case.rounded()``); the matcher
(:meth:`reference.contract.Divergence.matches_inputs`) asks them only where they can apply and
with NumPy's floating-point warnings off.
"""

from __future__ import annotations

import numpy as np

import reference as R
from reference import Case


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
