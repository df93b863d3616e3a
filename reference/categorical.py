"""Softmax-family losses Keras ships beside its categorical cross-entropy: the categorical
(softmax) focal loss and the generalized cross-entropy. Part of the classification family: the
specs are appended to ``classification.LOSSES``, kept in their own module so that the family
module's own losses stay as they are.

The class axis is last, as Keras computes them (``axis=-1``): (C) unbatched, (N, C) batched.
No clamps: Keras' clip of probabilities to [ε, 1 − ε] and its renormalisation y_pred / Σ y_pred
are its conventions, recorded in its registry with models.
"""

from __future__ import annotations

import numpy as np

from . import params as P
from ._math import log_softmax, softmax_complement, times_or_zero
from .domains import CLASS_INDEX, LOGIT, PROBABILITY
from .edges import BIG, INF, Edge
from .regimes import RegimeRules
from .spec import ArraySpec, Elementwise, Layout, LossSpec, Param
from .terms import TermScale

# Four items of three classes, exact logits; targets as indices, one-hot and soft.
_LOGITS = np.array([[0.5, -1.0, 2.0], [0.0, 0.25, -0.5], [1.0, 1.0, 1.0], [-2.0, 3.0, 0.5]])
_INDEX = np.array([2, 0, 1, 1])
_ONE_HOT = (_INDEX[:, None] == np.arange(3)).astype(np.float64)
_SOFT = np.array([[0.5, 0.5, 0.0], [0.0, 0.25, 0.75], [1.0, 0.0, 0.0], [0.25, 0.25, 0.5]])
_BIG_LOGITS = np.array([[BIG, -BIG, 0], [-BIG, BIG, 0], [BIG, BIG, -BIG], [0, -BIG, BIG]])


def _at(value: float, at_target: bool) -> np.ndarray:
    x = _LOGITS.copy()
    x[np.arange(4), _INDEX if at_target else (_INDEX + 1) % 3] = value
    return x


# --- categorical_focal_crossentropy ----------------------------------------------------------


# d(m^γ)/dm · m⁻¹-free: the factor γ m^(γ−1), taken as 0 where m = 0 (a class softmax gives all
# its mass) and where γ = 0, as sigmoid_focal_loss takes it.
def _dpow(m: np.ndarray, gamma: float, order: int = 1) -> np.ndarray:
    if gamma == 0 or (order == 2 and gamma == 1):
        return np.zeros_like(m)
    coef = gamma if order == 1 else gamma * abs(gamma - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(m > 0, coef * m ** (gamma - order), 0.0)


def _focal_parts(a):
    x = a["input"]
    logp = log_softmax(x)
    return x, a["target"], logp, np.exp(logp), softmax_complement(x)


def categorical_focal_crossentropy(a, p) -> Elementwise:
    """ℓ_n = −α Σ_c t_c (1 − p_c)^γ log p_c, p = softmax(x_n), the softmax focal loss as Keras'
    CategoricalFocalCrossentropy(from_logits=True) defines it.

    Lin et al. (2017) define the focal loss for one binary label, −α_t (1 − p_t)^γ log p_t; Keras
    extends it to C classes by weighting each class's cross-entropy term with its own focal factor
    (1 − p_c)^γ and one scalar α for every class (not α_t: no 1 − α for negatives). With one-hot
    targets it is −α (1 − p_y)^γ log p_y. γ = 0, α = 1 is the softmax cross-entropy with
    probability targets. Domain: x real logits (±inf allowed), class axis last; t probabilities in
    [0, 1] (soft labels; rows need not sum to 1); α ≥ 0, γ ≥ 0. A class with t_c = 0 is absent
    (0·log 0 = 0). A +inf logit's own softmax is inf/inf, NaN, as in cross_entropy's log-softmax;
    the other classes of its row get p = 0. Smooth for γ = 0 or γ ≥ 1:
    ∂ℓ/∂x_k = p_k Σ_c B_c − B_k with B_c = α t_c [(1 − p_c)^γ − γ (1 − p_c)^(γ−1) p_c log p_c];
    ∂ℓ/∂t_c = −α (1 − p_c)^γ log p_c. Where 1 − p_c = 0 the γ-term's derivative is taken as 0.
    """
    _, t, logp, _, m = _focal_parts(a)
    terms = times_or_zero(t, -logp * m ** p["gamma"])
    return Elementwise(p["alpha"] * np.sum(terms, axis=-1))


def categorical_focal_crossentropy_vjp(a, p, g):
    _, t, logp, prob, m = _focal_parts(a)
    alpha, gamma = p["alpha"], p["gamma"]
    mod = m**gamma
    b = alpha * times_or_zero(t, mod - times_or_zero(_dpow(m, gamma), prob * logp))
    # p_k Σ_{c≠k} B_c − B_k (1 − p_k): no p − 1 with p ≈ 1 at a confident class
    dx = prob * (np.sum(b, axis=-1, keepdims=True) - b) - b * m
    g = np.asarray(g)[..., None]
    return {"input": g * dx, "target": g * alpha * -logp * mod}


_FOCAL_M_ERROR = 3.0  # 1 − p_c from a rounded softmax: an absolute error of a few u


def _focal_sizes(a):
    x, t = a["input"], np.abs(a["target"])
    finite = np.isfinite(np.max(x, axis=-1, keepdims=True))
    z = np.abs(x - np.where(finite, np.max(x, axis=-1, keepdims=True), 0.0))
    lse = np.log(np.sum(np.exp(-z), axis=-1, keepdims=True))
    # log softmax = z − L: |z| and L rounded apart, L with an absolute error ~u
    return t, z + np.abs(lse) + 1.0


def _categorical_focal_value(a, p, loss):
    _, _, logp, _, m = _focal_parts(a)
    t, size = _focal_sizes(a)
    gamma = p["gamma"]
    # (1 − p)^γ from an m with absolute error ~3u has relative error γ·3u/m
    per_class = size * m**gamma + np.abs(logp) * _dpow(m, gamma) * _FOCAL_M_ERROR
    return abs(p["alpha"]) * np.sum(times_or_zero(t, per_class), axis=-1)


def _categorical_focal_grads(a, p, c):
    _, _, logp, prob, m = _focal_parts(a)
    t, size = _focal_sizes(a)
    gamma, alpha = p["gamma"], abs(p["alpha"])
    d1, d2 = _dpow(m, gamma), _dpow(m, gamma, 2)
    err = _FOCAL_M_ERROR
    b = alpha * times_or_zero(
        t,
        (m**gamma + d1 * prob * np.abs(logp)) * size + err * (d1 * (1.0 + np.abs(logp)) + d2),
    )
    cc = np.asarray(c)[..., None]
    dx = cc * (prob * np.sum(b, axis=-1, keepdims=True) * size + b)
    dt = cc * alpha * (size * m**gamma + np.abs(logp) * d1 * err)
    return {"input": dx, "target": dt}


_FOCAL_EDGES = (
    Edge(
        "-inf logit at a non-target class",
        lambda c: {"input": _at(-INF, False), "target": _ONE_HOT.copy()},
    ),
    Edge(
        "-inf logit at the target class (infinite loss)",
        lambda c: {"input": _at(-INF, True), "target": _ONE_HOT.copy()},
    ),
    Edge(
        "+inf logit at a non-target class (infinite loss)",
        lambda c: {"input": _at(INF, False), "target": _ONE_HOT.copy()},
    ),
    Edge("all logits equal", lambda c: {"input": np.zeros((4, 3)), "target": _ONE_HOT.copy()}),
    Edge(f"logits ±{BIG:g}", lambda c: {"input": _BIG_LOGITS.copy(), "target": _ONE_HOT.copy()}),
    Edge(
        "soft targets 0, ¼, ½, 1 with -inf logits where the target is 0",
        lambda c: {"input": np.where(_SOFT == 0, -INF, _LOGITS), "target": _SOFT.copy()},
    ),
    Edge("target rows all 0", lambda c: {"input": _LOGITS.copy(), "target": np.zeros((4, 3))}),
)


# --- categorical_generalized_cross_entropy ---------------------------------------------------


def _true_class(a) -> np.ndarray:
    return np.take_along_axis(a["input"], a["target"][..., None], axis=-1)[..., 0]


def categorical_generalized_cross_entropy(a, p) -> Elementwise:
    """ℓ_n = (1 − p_y^q) / q, the generalized cross-entropy (L_q loss) of Zhang & Sabuncu (2018,
    eq. 6), as Keras' CategoricalGeneralizedCrossEntropy computes it on probabilities.

    p_y = x_{n, y_n}, the input's entry at the target class: the loss reads nothing else (no
    softmax, no renormalisation). q = 1 is 1 − p_y (MAE on the true-class probability, up to the
    paper's factor 2 over a one-hot target); q → 0 is −log p_y (cross-entropy). Domain: x
    probabilities in [0, 1] (enforced), class axis last; y a class index in [0, C) (enforced);
    q in (0, 1]. Smooth in p_y > 0: ∂ℓ/∂x_{n, y} = −p_y^(q−1), 0 at the other classes; at the
    boundary p_y = 0 it is −inf for q < 1 (the value stays 1/q), and −1 there for q = 1.
    """
    py = _true_class(a)
    q = p["q"]
    if q == 1:
        return Elementwise(1.0 - py)
    # −expm1(q log p): no cancellation of 1 − p^q at p near 1
    with np.errstate(divide="ignore"):
        return Elementwise(-np.expm1(q * np.log(py)) / q)


def categorical_generalized_cross_entropy_vjp(a, p, g):
    x, y, q = a["input"], a["target"], p["q"]
    py = _true_class(a)
    with np.errstate(divide="ignore"):
        d = -(py ** (q - 1.0)) if q != 1 else -np.ones_like(py)
    onehot = y[..., None] == np.arange(x.shape[-1])
    return {"input": np.where(onehot, (np.asarray(g) * d)[..., None], 0.0)}


def _gce_value(a, p, loss):
    py, q = _true_class(a), p["q"]
    # 1 − p^q as written: 1 and p^q (relative error ~u(1 + q|log p|)), over q
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = 1.0 + np.where(py > 0, q * np.abs(np.log(py)), 0.0)
    return (1.0 + py**q * rel) / q


def _gce_grads(a, p, c):
    x, y, q = a["input"], a["target"], p["q"]
    py = _true_class(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = 1.0 + np.where(py > 0, abs(q - 1.0) * np.abs(np.log(py)), 0.0)
        d = (py ** (q - 1.0) if q != 1 else np.ones_like(py)) * rel
    onehot = y[..., None] == np.arange(x.shape[-1])
    return {"input": np.where(onehot, (np.asarray(c) * d)[..., None], 0.0)}


def _gce_probabilities(value: float | None = None) -> np.ndarray:
    x = np.array([[0.25, 0.5, 0.25], [0.5, 0.25, 0.125], [0.0, 1.0, 0.0], [0.125, 0.75, 0.125]])
    if value is not None:
        x[np.arange(4), _INDEX] = value
    return x


_GCE_EDGES = (
    Edge(
        "probability 0 at the target class (infinite gradient for q < 1)",
        lambda c: {"input": _gce_probabilities(0.0), "target": _INDEX.copy()},
    ),
    Edge(
        "probability 1 at the target class (zero loss)",
        lambda c: {"input": _gce_probabilities(1.0), "target": _INDEX.copy()},
    ),
    Edge(
        "probabilities 0 and 1 at the other classes",
        lambda c: {"input": _gce_probabilities(), "target": np.array([1, 1, 1, 0])},
    ),
)


_CLASS_LAST_PROB_TARGET = (
    Layout("(C)", {"input": ("C",), "target": ("C",)}),
    Layout("(N, C)", {"input": ("N", "C"), "target": ("N", "C")}),
)
_CLASS_LAST_INDEX_TARGET = (
    Layout("(C)", {"input": ("C",), "target": ()}),
    Layout("(N, C)", {"input": ("N", "C"), "target": ("N",)}),
)


LOSSES = (
    LossSpec(
        "categorical_focal_crossentropy",
        "classification",
        "softmax focal loss −α Σ_c t_c (1 − p_c)^γ log p_c (Keras CategoricalFocalCrossentropy)",
        (
            ArraySpec("input", LOGIT, differentiable=True, description="logits, class axis last"),
            ArraySpec("target", PROBABILITY, differentiable=True, description="soft labels"),
        ),
        (
            P.nonnegative("alpha", 0.25, (0.25, 1.0), "one weight of every class's term"),
            P.nonnegative("gamma", 2.0, (2.0, 0.0), "focusing exponent"),
            P.reduction(),
        ),
        _CLASS_LAST_PROB_TARGET,
        categorical_focal_crossentropy,
        categorical_focal_crossentropy_vjp,
        term_scale=TermScale(_categorical_focal_value, _categorical_focal_grads),
        # one-hot and soft targets weigh the classes: 0 and 1 are ordinary targets
        regimes=RegimeRules(labels=("target",)),
        edges=_FOCAL_EDGES,
        element_kind="per_vector",
        unbatched=("(C)", "(N, C)"),
    ),
    LossSpec(
        "categorical_generalized_cross_entropy",
        "classification",
        "generalized cross-entropy (1 − p_y^q)/q of probabilities (Zhang & Sabuncu 2018)",
        (
            ArraySpec(
                "input", PROBABILITY, differentiable=True, description="probabilities, class last"
            ),
            ArraySpec("target", CLASS_INDEX, differentiable=False, description="class index"),
        ),
        (
            Param(
                "q",
                0.5,
                "be a real number in (0, 1]",
                lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 1,
                grid=(0.5, 1.0),
                description="1 is MAE on p_y, the limit 0 cross-entropy",
            ),
            P.reduction(),
        ),
        _CLASS_LAST_INDEX_TARGET,
        categorical_generalized_cross_entropy,
        categorical_generalized_cross_entropy_vjp,
        term_scale=TermScale(_gce_value, _gce_grads),
        edges=_GCE_EDGES,
        element_kind="per_vector",
        unbatched=("(C)", "(N, C)"),
    ),
)
