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
from .edges import BIG, INF, Edge, has, vec
from .regimes import RegimeRules
from .spec import ArraySpec, Elementwise, Layout, LossSpec, Param
from .terms import TermScale


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


def _bce_value(a, p, loss):
    x, y, w = a["input"], a["target"], np.abs(_weight(a))
    # log(1 − x) is taken of a rounded 1 − x: an absolute error of u, whatever x.
    return w * (
        times_or_zero(np.abs(y), np.abs(np.log(x)))
        + times_or_zero(np.abs(1.0 - y), np.abs(np.log1p(-x)) + 1.0)
    )


def _bce_grads(a, p, c):
    x, y, w = a["input"], a["target"], np.abs(_weight(a))
    dx = times_or_zero(np.abs(y), 1.0 / x) + times_or_zero(np.abs(1.0 - y), 1.0 / (1.0 - x))
    dy = np.abs(np.log(x)) + np.abs(np.log1p(-x)) + 1.0
    return {"input": c * w * dx, "target": c * w * dy}


_BCE_EDGES = (
    Edge(
        "input probabilities exactly 0 and 1, labels agreeing",
        lambda c: {"input": vec(0, 1, 0, 1), "target": vec(0, 1, 0, 1)},
    ),
    Edge(
        "input probabilities exactly 0 and 1, labels opposite (infinite loss)",
        lambda c: {"input": vec(0, 1, 0.5, 0.5), "target": vec(1, 0, 0, 1)},
    ),
    Edge(
        "input 2^-16 where the label is 1 (confident and wrong: ∂ℓ/∂x = -65536)",
        lambda c: {"input": vec(2.0**-16, 0.25, 0.5, 0.75), "target": vec(1, 0, 1, 0)},
    ),
    Edge(
        "target probabilities 0, 1 and ½",
        lambda c: {"input": vec(0.25, 0.75, 0.5, 0.125), "target": vec(0, 1, 0.5, 1)},
    ),
    Edge(
        "every weight 0",
        lambda c: {
            "input": vec(0.25, 0.75, 0.5, 0.125),
            "target": vec(0, 1, 0.5, 1),
            "weight": np.zeros(4),
        },
        when=has("weight"),
    ),
)


# --- binary_cross_entropy_with_logits -----------------------------------------------------------


def _pos_weight(a) -> np.ndarray | float:
    return a.get("pos_weight", 1.0)


def binary_cross_entropy_with_logits(a, p) -> Elementwise:
    """ℓ = w [q·y·softplus(−x) + (1 − y)·softplus(x)], i.e. −w [q y log σ(x) + (1 − y) log(1 − σ(x))].

    Domain: x real logits (±inf allowed), y probabilities in [0, 1] (enforced); w broadcast to x
    (one per element of (N) or (N, C), or one per class); q = ``pos_weight``, one number per
    class, broadcast along the last (class) dimension.
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


def _logistic_weight(a) -> np.ndarray:
    """w·(1 + max(q, 1)): the weights in front of the two logistic terms of BCE with logits."""
    q = np.abs(np.asarray(_pos_weight(a)))
    return np.abs(_weight(a)) * (1.0 + np.maximum(q, 1.0))


def _bce_logits_value(a, p, loss):
    # torch: (1 − y)x + m + log(e^−m + e^(−x−m)) with m = max(−x, 0); Keras: relu(x) − x·y +
    # log1p(e^−|x|); optax: −y·log σ(x) − (1 − y)·log σ(−x). Union: terms of size |x| per label
    # weight, plus 1 for the log of a sum in [1, 2].
    return _logistic_weight(a) * (np.abs(a["input"]) + 1.0)


def _bce_logits_grads(a, p, c):
    # σ(±x) − y: terms ≤ 1 per label weight; σ computed as exp(x − softplus(x)) (JAX's
    # logaddexp gradient) has a relative error of u·|x|.
    scale = c * _logistic_weight(a) * (np.abs(a["input"]) + 1.0)
    return {"input": scale, "target": scale}


def _logit_edges() -> tuple[Edge, ...]:
    """Saturated, infinite and zero logits: the edge cases of every loss of a logit."""
    return (
        Edge(
            f"input logits ±{BIG:g} (saturated sigmoid)",
            lambda c: {"input": vec(BIG, -BIG, BIG, -BIG), "target": vec(1, 0, 0, 1)},
        ),
        Edge(
            "input logits ±inf",
            lambda c: {"input": vec(INF, -INF, INF, -INF), "target": vec(1, 0, 0, 1)},
        ),
        Edge(
            "input logits 0, target 0, 1, ½ and ¼",
            lambda c: {"input": np.zeros(4), "target": vec(0, 1, 0.5, 0.25)},
        ),
    )


_BCE_LOGITS_EDGES = (
    *_logit_edges(),
    Edge(
        "every weight 0",
        lambda c: {
            "input": vec(BIG, -BIG, 0.5, -0.5),
            "target": vec(0, 1, 1, 0),
            "weight": np.zeros(4),
        },
        when=has("weight"),
    ),
    Edge(
        "pos_weight 0 (positive terms vanish)",
        lambda c: {
            "input": vec(-BIG, 0.5, -0.5, 0),
            "target": vec(1, 1, 0.5, 1),
            "pos_weight": vec(0),
        },
        when=has("pos_weight"),
    ),
)


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


_FOCAL_M_ERROR = 3.0  # 1 − p_t from a rounded σ(x): absolute error of about 3u


def _focal_value(a, p, loss):
    x, y, gamma = a["input"], a["target"], p["gamma"]
    _, ce, m = _focal_parts(x, y)
    t_ce = 2.0 * (np.abs(x) + 1.0)
    at = np.abs(_alpha_t(y, p["alpha"]))
    if gamma == 0:
        return at * t_ce
    # (1 − p_t)^γ from an m with absolute error ~3u has relative error γ·3u/m.
    return at * (t_ce * m**gamma + ce * gamma * m ** (gamma - 1.0) * _FOCAL_M_ERROR)


def _focal_grads(a, p, c):
    x, y, gamma, alpha = a["input"], a["target"], p["gamma"], p["alpha"]
    prob, ce, m = _focal_parts(x, y)
    t_ce = 2.0 * (np.abs(x) + 1.0)
    at = np.abs(_alpha_t(y, alpha))
    both = at + (abs(2.0 * alpha - 1.0) if alpha is not None else 0.0)
    if gamma == 0:
        dx = (prob + np.abs(y)) * (np.abs(x) + 1.0)
        return {"input": c * at * dx, "target": c * both * t_ce}
    mod = m**gamma
    dmod = gamma * m ** (gamma - 1.0)
    ddmod = gamma * abs(gamma - 1.0) * m ** (gamma - 2.0) if gamma != 1 else 0.0 * m
    err = _FOCAL_M_ERROR
    dm_dx = 2.0 * prob * (1.0 - prob)
    dx = (
        (prob + np.abs(y)) * mod
        + np.abs(prob - y) * dmod * err
        + dm_dx * (t_ce * dmod + ce * ddmod * err)
    )
    dy = t_ce * mod + dmod * (3.0 * t_ce + ce * err) + 3.0 * ce * ddmod * err
    # σ(x) and its complement carry a relative error of u·|x| (see _bce_logits_grads)
    return {"input": c * at * dx * (np.abs(x) + 1.0), "target": c * both * dy}


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
    # a weight per element: how a mask of the elements is passed (torch broadcasts weight to input)
    Layout(
        "(N, C) elementwise weight",
        {"input": ("N", "C"), "target": ("N", "C"), "weight": ("N", "C"), "pos_weight": ("C",)},
    ),
)
_FOCAL_LAYOUTS = (
    Layout("(N)", {"input": ("N",), "target": ("N",)}),
    Layout("(N, C)", {"input": ("N", "C"), "target": ("N", "C")}),
)


def _probabilities_inside(a, p, h):
    x = a["input"]
    return bool(np.all((x > 4 * h) & (x < 1 - 4 * h)))


# Labels 0 and 1 select one of the two terms: hard labels are these losses' ordinary use.
_HARD_LABELS = RegimeRules(labels=("target",))


def _bce_grad_before_mean(a, p, c):
    """The input gradient as torch's backward forms it, before the mean divides it: (x − y)/(x(1 −
    x)), then times the weight, inside (0, 1)."""
    x, y = a["input"], a["target"]
    inside = (x > 0) & (x < 1)
    safe = np.where(inside, x, 0.5)
    term = np.where(inside, np.abs(x - y) / (safe * (1.0 - safe)), 0.0)
    return [term, times_or_zero(np.abs(_weight(a)), term)]


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
        term_scale=TermScale(_bce_value, _bce_grads),
        regimes=RegimeRules(labels=("target",), intermediates=_bce_grad_before_mean),
        edges=_BCE_EDGES,
        element_kind="elementwise",
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
        term_scale=TermScale(_bce_logits_value, _bce_logits_grads),
        regimes=_HARD_LABELS,
        edges=_BCE_LOGITS_EDGES,
        element_kind="elementwise",
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
        term_scale=TermScale(_focal_value, _focal_grads),
        regimes=_HARD_LABELS,
        edges=_logit_edges(),
        element_kind="elementwise",
    ),
)
