"""Binary (per-element, two-class) losses on probabilities or logits.

Conventions shared here: a term selected by a label is *absent* when its label weight is 0, so
y·log p with y = 0 is 0 even at p = 0 (not 0·(−inf)); so is an element whose ``weight`` is 0, as
a zero class weight is in cross_entropy and nll_loss. No clamps: −log 0 is +inf, and the
frameworks' clamps (torch's log ≥ −100, Keras' clip to [ε, 1 − ε]) are recorded as their
conventions.
``mean`` divides by the number of elements, with or without ``weight`` (torch's documented rule).
"""

from __future__ import annotations

import numpy as np

from . import params as P
from ._math import sigmoid, softplus, times_or_zero
from .domains import LOGIT, PROBABILITY, WEIGHT
from .spec import ArraySpec, Elementwise, Layout, LossSpec, Param


def _weight(a) -> np.ndarray | float:
    return a.get("weight", 1.0)


# --- binary_cross_entropy ---------------------------------------------------------------------


def binary_cross_entropy(a, p) -> Elementwise:
    """ℓ = −w [y log x + (1 − y) log(1 − x)].

    Domain: x and y probabilities in [0, 1] (enforced); w a rescaling weight broadcast to x.
    At x ∈ {0, 1} the value is +inf when the label selects the zero-probability side and the term is
    absent otherwise (0·log 0 = 0). Smooth inside (0, 1): ∂ℓ/∂x = −w [y/x − (1 − y)/(1 − x)],
    ∂ℓ/∂y = −w [log x − log(1 − x)].
    """
    x, y = a["input"], a["target"]
    loss = -(times_or_zero(y, np.log(x)) + times_or_zero(1.0 - y, np.log1p(-x)))
    return Elementwise(times_or_zero(_weight(a), loss))


def binary_cross_entropy_vjp(a, p, g):
    x, y, w = a["input"], a["target"], _weight(a)
    dx = -(times_or_zero(y, 1.0 / x) - times_or_zero(1.0 - y, 1.0 / (1.0 - x)))
    dy = -(np.log(x) - np.log1p(-x))
    return {"input": g * times_or_zero(w, dx), "target": g * times_or_zero(w, dy)}


# --- binary_cross_entropy_with_logits -----------------------------------------------------------


def _pos_weight(a) -> np.ndarray | float:
    return a.get("pos_weight", 1.0)


def binary_cross_entropy_with_logits(a, p) -> Elementwise:
    """ℓ = w [q·y·softplus(−x) + (1 − y)·softplus(x)], i.e. −w [q y log σ(x) + (1 − y) log(1 − σ(x))].

    Domain: x real logits (±inf allowed), y probabilities in [0, 1] (enforced); w broadcast to x;
    q = ``pos_weight``, one number per class, broadcast along the last (class) dimension.
    Smooth: ∂ℓ/∂x = w [(1 − y) σ(x) − q y σ(−x)], ∂ℓ/∂y = w [q softplus(−x) − softplus(x)].
    """
    x, y = a["input"], a["target"]
    loss = times_or_zero(_pos_weight(a) * y, softplus(-x)) + times_or_zero(1.0 - y, softplus(x))
    return Elementwise(times_or_zero(_weight(a), loss))


def binary_cross_entropy_with_logits_vjp(a, p, g):
    x, y, w, q = a["input"], a["target"], _weight(a), _pos_weight(a)
    dx = times_or_zero(1.0 - y, sigmoid(x)) - times_or_zero(q * y, sigmoid(-x))
    dy = q * softplus(-x) - softplus(x)
    return {"input": g * times_or_zero(w, dx), "target": g * times_or_zero(w, dy)}


# --- sigmoid_focal_loss -----------------------------------------------------------------------


def _focal_parts(x, y):
    prob = sigmoid(x)
    ce = times_or_zero(y, softplus(-x)) + times_or_zero(1.0 - y, softplus(x))
    # 1 − p_t with p_t = p y + (1 − p)(1 − y); σ(−x), not 1 − σ(x), which is 0 beyond x ≈ 37
    one_minus_pt = prob * (1.0 - y) + sigmoid(-x) * y
    return prob, ce, one_minus_pt


def _alpha_t(y, alpha):
    return 1.0 if alpha is None else alpha * y + (1.0 - alpha) * (1.0 - y)


def sigmoid_focal_loss(a, p) -> Elementwise:
    """ℓ = α_t (1 − p_t)^γ · CE(x, y), the RetinaNet focal loss (Lin et al. 2017, eq. 5).

    p = σ(x); p_t = p y + (1 − p)(1 − y); CE = −[y log p + (1 − y) log(1 − p)] computed from the
    logit; α_t = α y + (1 − α)(1 − y) — α weighs positives and 1 − α negatives, not a scalar
    factor — and α_t = 1 when ``alpha`` is None. γ = ``gamma`` ≥ 0; γ = 0, α = None is
    binary_cross_entropy_with_logits. Domain: x real, y in [0, 1] (soft labels as torchvision
    allows). Smooth for γ = 0 or γ ≥ 1; at 1 − p_t = 0 (|x| = inf) the γ-term's derivative is taken
    as 0.
    """
    x, y = a["input"], a["target"]
    _, ce, m = _focal_parts(x, y)
    return Elementwise(_alpha_t(y, p["alpha"]) * ce * m ** p["gamma"])


def sigmoid_focal_loss_vjp(a, p, g):
    x, y, alpha, gamma = a["input"], a["target"], p["alpha"], p["gamma"]
    prob, ce, m = _focal_parts(x, y)
    mod = m**gamma
    # d(m^γ)/dm = γ m^(γ−1), zero when γ = 0 and taken as 0 where m = 0
    dmod = np.where(m > 0, gamma * m ** (gamma - 1.0), 0.0) if gamma else np.zeros_like(m)
    # σ(−x) for 1 − σ(x) again, so that confident logits keep their gradient's digits
    dm_dx = prob * sigmoid(-x) * (1.0 - 2.0 * y)
    dm_dy = 1.0 - 2.0 * prob
    dce_dx = (1.0 - y) * prob - y * sigmoid(-x)  # = σ(x) − y
    dce_dy = -x
    at = _alpha_t(y, alpha)
    dx = at * (dce_dx * mod + times_or_zero(ce, dmod) * dm_dx)
    dy = at * (dce_dy * mod + times_or_zero(ce, dmod) * dm_dy)
    if alpha is not None:
        dy = dy + (2.0 * alpha - 1.0) * ce * mod
    return {"input": g * dx, "target": g * dy}


# --- declarations -----------------------------------------------------------------------------

_PROB_TARGET = ArraySpec("target", PROBABILITY, differentiable=True, description="label in [0, 1]")
_WEIGHT = ArraySpec(
    "weight",
    WEIGHT,
    differentiable=False,
    optional=True,
    description="rescaling weight broadcast to input (a constant, not differentiated)",
)
_POS_WEIGHT = ArraySpec(
    "pos_weight",
    WEIGHT,
    differentiable=False,
    optional=True,
    description="weight of positive examples, one per class, broadcast along the last dimension",
)

_BCE_LAYOUTS = (
    Layout("(N)", {"input": ("N",), "target": ("N",), "weight": ("N",)}),
    Layout("(N, C)", {"input": ("N", "C"), "target": ("N", "C"), "weight": ("C",)}),
    Layout(
        "(N, C) elementwise weight",
        {"input": ("N", "C"), "target": ("N", "C"), "weight": ("N", "C")},
    ),
)
_BCE_LOGITS_LAYOUTS = (
    Layout("(N)", {"input": ("N",), "target": ("N",), "weight": ("N",), "pos_weight": (1,)}),
    Layout(
        "(N, C)",
        {"input": ("N", "C"), "target": ("N", "C"), "weight": ("C",), "pos_weight": ("C",)},
    ),
)
_FOCAL_LAYOUTS = (
    Layout("(N)", {"input": ("N",), "target": ("N",)}),
    Layout("(N, C)", {"input": ("N", "C"), "target": ("N", "C")}),
)


def _probabilities_inside(a, p, h):
    x = a["input"]
    return bool(np.all((x > 4 * h) & (x < 1 - 4 * h)))


LOSSES = (
    LossSpec(
        "binary_cross_entropy",
        "binary",
        "cross-entropy of probabilities against labels in [0, 1]",
        (
            ArraySpec("input", PROBABILITY, differentiable=True, description="probability"),
            _PROB_TARGET,
            _WEIGHT,
        ),
        (P.reduction(),),
        _BCE_LAYOUTS,
        binary_cross_entropy,
        binary_cross_entropy_vjp,
        smooth_at=_probabilities_inside,
        torch_name="binary_cross_entropy",
    ),
    LossSpec(
        "binary_cross_entropy_with_logits",
        "binary",
        "binary cross-entropy computed from logits, with positive-class weight",
        (
            ArraySpec("input", LOGIT, differentiable=True, description="logit"),
            _PROB_TARGET,
            _WEIGHT,
            _POS_WEIGHT,
        ),
        (P.reduction(),),
        _BCE_LOGITS_LAYOUTS,
        binary_cross_entropy_with_logits,
        binary_cross_entropy_with_logits_vjp,
        torch_name="binary_cross_entropy_with_logits",
    ),
    LossSpec(
        "sigmoid_focal_loss",
        "binary",
        "RetinaNet focal loss α_t (1 − p_t)^γ CE (torchvision.ops, optax, Keras focal)",
        (ArraySpec("input", LOGIT, differentiable=True, description="logit"), _PROB_TARGET),
        (
            Param(
                "alpha",
                0.25,
                "be None or a real number in [0, 1]",
                lambda v: (
                    v is None
                    or (isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1)
                ),
                grid=(0.25, None),
                description="weight of positives (1 − α for negatives); None: no class balancing",
            ),
            P.nonnegative("gamma", 2.0, (2.0, 0.0), "focusing exponent"),
            P.reduction(),
        ),
        _FOCAL_LAYOUTS,
        sigmoid_focal_loss,
        sigmoid_focal_loss_vjp,
    ),
)
