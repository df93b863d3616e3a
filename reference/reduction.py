"""The one place reductions are applied, kept apart from every loss's elementwise formula.

``none`` returns the elementwise loss; ``sum`` adds it up; ``mean`` and ``batchmean`` divide the sum
(of the elements times the per-element factors the loss declares for that reduction, if any:
torch's CTC mean divides each item by its target length) by the denominator the loss declares
(``loss.size`` unless it says otherwise: cross-entropy with class weights divides by the sum of the
applied weights, ``kl_div``'s ``batchmean`` by the batch size). A denominator of zero gives NaN
when the sum is 0 and ±inf otherwise, as x/0 does.

The vector-Jacobian product runs the same way backwards: a reduction's cotangent becomes a
per-element cotangent, which the loss's ``elementwise_vjp`` then pulls back to its arguments. The
denominators never depend on a differentiable argument (they count items or add class weights).
"""

from __future__ import annotations

import numpy as np

from .spec import Elementwise

REDUCTIONS = ("none", "mean", "sum", "batchmean")


def denominator(el: Elementwise, reduction: str) -> float:
    return float(el.denominators.get(reduction, el.loss.size))


def reduce(el: Elementwise, reduction: str) -> np.ndarray:
    """Apply ``reduction`` to an elementwise loss: an array for ``none``, a 0-d array otherwise."""
    if reduction == "none":
        return el.loss
    factors = el.factors.get(reduction)
    total = np.sum(el.loss if factors is None else el.loss * factors, dtype=np.float64)
    if reduction == "sum":
        return np.asarray(total)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(total / np.float64(denominator(el, reduction)))


def elementwise_cotangent(
    el: Elementwise, reduction: str, cotangent: np.ndarray | float | None = None
) -> np.ndarray:
    """The cotangent of each elementwise loss, given the cotangent of the reduced result.

    ``cotangent`` defaults to 1 for scalar reductions (the gradient of the scalar); for ``none`` it
    must have the elementwise loss's shape.
    """
    if reduction == "none":
        if cotangent is None:
            raise ValueError("reduction 'none' needs a cotangent with the loss's shape")
        g = np.asarray(cotangent, dtype=np.float64)
        if g.shape != el.loss.shape:
            raise ValueError(f"cotangent shape {g.shape} != loss shape {el.loss.shape}")
        return g
    g = np.float64(1.0 if cotangent is None else np.asarray(cotangent, dtype=np.float64))
    if reduction != "sum":
        with np.errstate(divide="ignore", invalid="ignore"):
            g = g / np.float64(denominator(el, reduction))
    factors = el.factors.get(reduction)
    if factors is not None:
        return np.asarray(g * np.broadcast_to(factors, el.loss.shape), dtype=np.float64)
    return np.full(el.loss.shape, g, dtype=np.float64)
