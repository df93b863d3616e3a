"""Term scales: the size of the terms a standard evaluation of a loss adds up.

Each loss declares its :class:`TermScale` in its family module, next to its formula, because it
describes that formula's own arithmetic; :mod:`cases.tolerance` (whose docstring states the error
model and its calibration) turns it into the bound a framework's result must keep.

T(a, p, loss) -> the elementwise term scale, with the elementwise loss's shape.
G(a, p, c)    -> {argument: gradient term scale with the argument's shape}, for the elementwise
                 cotangent magnitude c (|∂result/∂ℓ_i|), mirroring the loss's elementwise_vjp.
``a`` holds the validated float64 arrays, ``p`` the parameters with defaults filled in. Both
describe a *standard* evaluation of the formula (and, where frameworks evaluate it differently,
the union of their terms): every T_i ≥ |ℓ_i|, and a term that a standard evaluation cancels
contributes its own magnitude.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

# A hinge (max(0, z)) whose argument is within this fraction of its terms' size of 0 may be
# evaluated on either side by correct arithmetic (bfloat16: K·u = 2^-6), so its terms count.
NEAR_HINGE = 2.0**-5


@dataclass(frozen=True)
class TermScale:
    """T (``value``) and G (``grads``) of one loss, and, for gradients that divide by an
    intermediate which can fall below the normal range, that division's share of F
    (``grad_floor``, see :func:`cases.tolerance.scales`)."""

    value: Callable[[Mapping[str, np.ndarray], Mapping[str, Any], np.ndarray], np.ndarray]
    grads: Callable[
        [Mapping[str, np.ndarray], Mapping[str, Any], np.ndarray], dict[str, np.ndarray]
    ]
    grad_floor: (
        Callable[[Mapping[str, np.ndarray], Mapping[str, Any], np.ndarray], np.ndarray] | None
    ) = None


@dataclass(frozen=True)
class Terms:
    """A term scale evaluated on one case: T (``value``, elementwise), G (``grads``), the
    cotangent ``c`` each elementwise loss receives (|∂result/∂ℓ_i| times the case's cotangent),
    with which G was formed, and for a scalar reduction ``weight``, |∂result/∂ℓ_i| alone (the
    weight of each elementwise loss in the result; None for reduction ``none``)."""

    value: np.ndarray
    grads: dict[str, np.ndarray]
    c: np.ndarray
    weight: np.ndarray | None


def cotangent_weights(el, reduction: str, cotangent) -> tuple[np.ndarray | None, np.ndarray]:
    """For the unreduced loss ``el`` (:class:`reference.spec.Elementwise`): the weight of each
    elementwise loss in a scalar result, |∂result/∂ℓ_i| (None for reduction ``none``), and the
    cotangent magnitude each receives, c_i = weight_i·|cotangent| (|cotangent| itself for
    ``none``; a missing cotangent counts as 1)."""
    from .reduction import elementwise_cotangent

    with np.errstate(all="ignore"):
        if reduction == "none":
            cot = 1.0 if cotangent is None else np.asarray(cotangent, dtype=np.float64)
            return None, np.abs(np.broadcast_to(cot, el.loss.shape))
        weight = np.abs(elementwise_cotangent(el, reduction, None))
        return weight, weight * (1.0 if cotangent is None else float(np.abs(cotangent)))


def evaluate_terms(ts: TermScale, arrs, full, el, cotangent) -> Terms:
    """``ts`` on validated arrays ``arrs``, parameters ``full`` and the unreduced loss ``el``
    (:class:`reference.spec.Elementwise`), for the result's ``cotangent`` (None: 1)."""
    with np.errstate(all="ignore"):
        value = np.asarray(ts.value(arrs, full, el.loss), dtype=np.float64)
        weight, c = cotangent_weights(el, full["reduction"], cotangent)
        grads = {
            name: np.asarray(g, dtype=np.float64) for name, g in ts.grads(arrs, full, c).items()
        }
    return Terms(value, grads, c, weight)


def abs_loss(a, p, loss) -> np.ndarray:
    """T for a loss that is a single term: |ℓ| itself."""
    return np.abs(loss)


def abs_vjp(vjp: Callable[..., dict[str, np.ndarray]]):
    """G for a gradient formula without cancellation: |vjp| with the cotangent's magnitude."""

    def grads(a, p, c):
        return {k: np.abs(v) for k, v in vjp(a, p, c).items()}

    return grads
