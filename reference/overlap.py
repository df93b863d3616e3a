"""Overlap losses for segmentation: one minus a soft overlap ratio of a prediction and a mask.

Each item n of an (N, D) batch is a row of D predictions p (probabilities, or sigmoid of logits)
and a row of D targets t in [0, 1]; the loss compares the soft intersection I = Σ p·t with the
sizes P = Σ p and T = Σ t of the row. Every ratio here has the form

    q = (c·I + s_num) / (u·I + a·P + b·T + s_den),    ℓ = 1 − q,

(Dice: c = 2, u = 0, a = b = 1; Tversky: c = 1, u = 1 − α − β, a = α, b = β), with a smoothing
constant added to the numerator and the denominator. :func:`overlap_ratio` and
:func:`overlap_vjp` evaluate that form for any coefficients, so that a framework's hard-coded
variant (an ε in the denominator only, α and β exchanged) is modelled with the reference's own
pieces. The loss is smooth wherever its denominator is non-zero; where it is zero (an all-zero
prediction and mask with no smoothing) it is 0/0 = NaN, value and gradient alike: the smoothing
constant is what decides that point, and the reference adds none of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import params as P
from ._math import sigmoid
from .domains import LOGIT, PROBABILITY
from .edges import BIG, Edge
from .regimes import RegimeRules, nonzero_square
from .spec import ArraySpec, ByParam, Elementwise, Layout, LossSpec, Param
from .terms import TermScale


@dataclass(frozen=True)
class Ratio:
    """The coefficients of q = (c·I + s_num) / (u·I + a·P + b·T + s_den)."""

    c: float
    u: float
    a: float
    b: float
    s_num: float
    s_den: float


def dice_ratio(p) -> Ratio:
    s = p["smooth"]
    return Ratio(2.0, 0.0, 1.0, 1.0, s, s)


def tversky_ratio(p) -> Ratio:
    alpha, beta, s = p["alpha"], p["beta"], p["smooth"]
    return Ratio(1.0, 1.0 - alpha - beta, alpha, beta, s, s)


def probabilities(a, p):
    """(p, dp/dinput): the input itself, or sigmoid of the logit and its derivative σ(1 − σ)."""
    x = a["input"]
    if p["logits"]:
        s = sigmoid(x)
        return s, s * sigmoid(-x)
    return x, np.ones_like(x)


def _sums(prob, t):
    return np.sum(prob * t, axis=-1), np.sum(prob, axis=-1), np.sum(t, axis=-1)


def _denominator(r: Ratio, i, ps, ts):
    return r.u * i + r.a * ps + r.b * ts + r.s_den


def overlap_ratio(a, p, r: Ratio) -> np.ndarray:
    prob, _ = probabilities(a, p)
    i, ps, ts = _sums(prob, a["target"])
    with np.errstate(invalid="ignore", divide="ignore"):
        return (r.c * i + r.s_num) / _denominator(r, i, ps, ts)


def overlap_vjp(a, p, g, r: Ratio) -> dict[str, np.ndarray]:
    """∂ℓ/∂p_j = −[c·t_j − q·(u·t_j + a)] / D and ∂ℓ/∂t_j = −[c·p_j − q·(u·p_j + b)] / D, with D
    the denominator; the logit's chain factor σ(1 − σ)."""
    prob, dprob = probabilities(a, p)
    t = a["target"]
    i, ps, ts = _sums(prob, t)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = _denominator(r, i, ps, ts)
        q = (r.c * i + r.s_num) / d
        gq = (-np.asarray(g, dtype=np.float64) / d)[..., None]
        qq = q[..., None]
        return {
            "input": gq * (r.c * t - qq * (r.u * t + r.a)) * dprob,
            "target": gq * (r.c * prob - qq * (r.u * prob + r.b)),
        }


def dice_loss(a, p) -> Elementwise:
    """ℓ_n = 1 − (2·Σ_j p_j t_j + smooth) / (Σ_j p_j + Σ_j t_j + smooth), the soft Dice loss.

    Per item n of (N, D): p = input (``logits=False``, probabilities in [0, 1]) or sigmoid(input)
    (``logits=True``), t = target in [0, 1] (a mask, hard or soft); the smoothing constant
    ``smooth`` ≥ 0 is added to numerator and denominator (Milletari et al. 2016, V-Net, with the
    usual additive smoothing). Domain: probabilities (or real logits) and targets in [0, 1].
    Smooth wherever the denominator is non-zero, no subgradient choice:
    ∂ℓ/∂p_j = −(2 t_j − q)/(P + T + smooth), ∂ℓ/∂t_j = −(2 p_j − q)/(P + T + smooth) with
    q = 1 − ℓ. An all-zero prediction and mask at smooth = 0 is 0/0 = NaN (value and gradient);
    with smooth > 0 it is 1 − smooth/smooth = 0.
    """
    return Elementwise(1.0 - overlap_ratio(a, p, dice_ratio(p)))


def dice_loss_vjp(a, p, g):
    return overlap_vjp(a, p, g, dice_ratio(p))


def tversky_loss(a, p) -> Elementwise:
    """ℓ_n = 1 − (I + smooth) / (I + α·FP + β·FN + smooth), the Tversky loss (Salehi et al. 2017).

    Per item n of (N, D), with p as for dice_loss (probability, or sigmoid of the logit) and t the
    target in [0, 1]: I = Σ p·t, FP = Σ p·(1 − t) (predicted where the mask is not; α weighs
    them, as in Salehi et al.'s definition and optax's and Keras' documentation), FN = Σ (1 − p)·t
    (β). Domain: α, β ≥ 0, smooth ≥ 0, p and t in [0, 1]. α = β = ½ is the Dice loss with twice
    the smoothing: 1 − (2I + 2·smooth)/(P + T + 2·smooth). Smooth wherever the denominator is
    non-zero: with D = I + α·FP + β·FN + smooth and q = 1 − ℓ,
    ∂ℓ/∂p_j = −[t_j − q·((1 − α − β)·t_j + α)]/D, ∂ℓ/∂t_j = −[p_j − q·((1 − α − β)·p_j + β)]/D.
    D = 0 (e.g. an all-zero prediction and mask at smooth = 0) gives 0/0 = NaN.
    """
    return Elementwise(1.0 - overlap_ratio(a, p, tversky_ratio(p)))


def tversky_loss_vjp(a, p, g):
    return overlap_vjp(a, p, g, tversky_ratio(p))


# --- term scales, regimes ----------------------------------------------------------------------


def _terms(a, p, r: Ratio):
    """q, the denominator D, and the size of the terms a standard evaluation of numerator and
    denominator adds (the union of the forms frameworks use: P and T summed directly, or the
    non-negative false-positive and false-negative sums P − I and T − I, which cancel)."""
    prob, dprob = probabilities(a, p)
    t = a["target"]
    i, ps, ts = _sums(prob, t)
    d = _denominator(r, i, ps, ts)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = (r.c * i + r.s_num) / d
    size = (abs(r.u) + r.a + r.b + 1.0) * i + r.a * ps + r.b * ts + r.s_den
    return prob, dprob, t, q, d, size


def _value_scale(ratio):
    def value(a, p, loss):
        _, _, _, q, d, size = _terms(a, p, ratio(p))
        with np.errstate(invalid="ignore", divide="ignore"):
            return 1.0 + np.abs(q) * (1.0 + size / np.abs(d))

    return value


def _chain_terms(prob, dprob, p):
    """The size of the terms of the logit's chain factor as autodiff evaluates it: σ·(1 − σ) from
    the forward's rounded σ (JAX's default rule for lax.logistic, jax/_src/lax/lax.py:4523-4529
    at 0.10.2; torch's sigmoid_backward and TensorFlow's SigmoidGrad alike), whose subtraction
    adds terms of size 1 and σ: σ·(1 + σ). Where σ rounds to 1 the factor is 0 while σ(x)σ(−x)
    is not; its absolute error u·σ is what the reference's σ(−x) avoids and a standard evaluation
    makes (as 1 − p_t in the focal loss's term scale)."""
    return prob * (1.0 + prob) if p["logits"] else dprob


def _grad_scale(ratio):
    def grads(a, p, c):
        r = ratio(p)
        prob, dprob, t, q, d, size = _terms(a, p, r)
        dprob = _chain_terms(prob, dprob, p)
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = (1.0 + size / np.abs(d))[..., None]
            cq = (np.asarray(c, dtype=np.float64) / np.abs(d))[..., None]
            qq = np.abs(q)[..., None]
            return {
                "input": cq * (r.c * t + qq * (abs(r.u) * t + r.a)) * rel * dprob,
                "target": cq * (r.c * prob + qq * (abs(r.u) * prob + r.b)) * rel,
            }

    return grads


def _zero_denominator(ratio):
    """An item whose denominator without the smoothing is 0 (an all-zero prediction and mask):
    there the smoothing alone decides the value (0/0 = NaN without it)."""

    def boundary(a, p) -> bool:
        r = ratio(p)
        prob, _ = probabilities(a, p)
        i, ps, ts = _sums(prob, a["target"])
        return bool(np.any(_denominator(r, i, ps, ts) - r.s_den == 0))

    return boundary


def _quotient(ratio):
    """The denominator D and D², which autodiff's quotient rule forms (−num/D²): a small D
    (a nearly empty item at smooth = 0) puts D² below the normal range of float16 first, and of
    float64 from D < 1.5e-154 (logits near −700: D² is 0 and the rule's 0/0 NaN)."""

    def intermediates(a, p, c):
        r = ratio(p)
        prob, _ = probabilities(a, p)
        i, ps, ts = _sums(prob, a["target"])
        d = _denominator(r, i, ps, ts)
        return [d, nonzero_square(d)]

    return intermediates


def _regimes(ratio) -> RegimeRules:
    # hard masks 0 and 1 and predictions 0 and 1 are the loss's ordinary use: no log is taken
    return RegimeRules(
        boundary=_zero_denominator(ratio),
        intermediates=_quotient(ratio),
        labels=("input", "target"),
    )


# --- edge cases --------------------------------------------------------------------------------

_MASK = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
_SOFT = np.array([[0.75, 0.25, 0.5], [0.125, 1.0, 0.0], [0.5, 0.5, 0.5], [0.0, 0.25, 1.0]])


def _as_input(prob: np.ndarray, c) -> np.ndarray:
    """Probabilities 0, ½ and 1 as the configuration's input: a logit −BIG, 0 or +BIG, whose
    sigmoid is exactly 0, ½ or 1 in float64 (e^−8192 underflows)."""
    if not c.get("logits"):
        return prob
    return np.select([prob == 0.0, prob == 1.0, prob == 0.5], [-BIG, BIG, 0.0], np.nan)


def _pair(prob, mask, c) -> dict[str, np.ndarray]:
    return {
        "input": _as_input(np.asarray(prob, dtype=np.float64), c),
        "target": np.asarray(mask, dtype=np.float64),
    }


_HALVES = np.array([[0.5, 0.0, 1.0], [0.0, 1.0, 0.5], [1.0, 0.5, 0.0], [0.5, 0.5, 0.5]])

EDGES = (
    Edge(
        "all-zero prediction and mask in one item (0/0 without smoothing)",
        lambda c: _pair(
            np.vstack([np.zeros(3), _HALVES[1:]]), np.vstack([np.zeros(3), _MASK[1:]]), c
        ),
    ),
    Edge("prediction equal to the hard mask (loss 0)", lambda c: _pair(_MASK, _MASK, c)),
    Edge(
        "prediction disjoint from the mask (no intersection)",
        lambda c: _pair(1.0 - _MASK, _MASK, c),
    ),
    Edge("probabilities 0, ½, 1 against a hard mask", lambda c: _pair(_HALVES, _MASK, c)),
    Edge(
        "a soft mask against probabilities 0, ½, 1",
        lambda c: _pair(_HALVES, _SOFT, c),
    ),
)


# --- the registry --------------------------------------------------------------------------------

_INPUT = ArraySpec(
    "input",
    ByParam("logits", {False: PROBABILITY, True: LOGIT}),
    differentiable=True,
    description="predicted probability (logits=False) or logit (logits=True)",
)
_TARGET = ArraySpec("target", PROBABILITY, differentiable=True, description="mask value in [0, 1]")
_LAYOUTS = (Layout("(N, D)", {"input": ("N", "D"), "target": ("N", "D")}),)


def _smooth_param() -> Param:
    return P.nonnegative(
        "smooth", 1.0, (1.0, 0.0), "added to the overlap ratio's numerator and denominator"
    )


def _logits_param() -> Param:
    return P.flag("logits", False, "input is a logit: the prediction is sigmoid(input)")


LOSSES = (
    LossSpec(
        "dice_loss",
        "overlap",
        "1 − (2 Σ p·t + smooth) / (Σ p + Σ t + smooth) per item",
        (_INPUT, _TARGET),
        (_smooth_param(), _logits_param(), P.reduction()),
        _LAYOUTS,
        dice_loss,
        dice_loss_vjp,
        term_scale=TermScale(_value_scale(dice_ratio), _grad_scale(dice_ratio)),
        regimes=_regimes(dice_ratio),
        edges=EDGES,
        element_kind="per_vector",
    ),
    LossSpec(
        "tversky_loss",
        "overlap",
        "1 − (I + smooth) / (I + α·FP + β·FN + smooth) per item",
        (_INPUT, _TARGET),
        (
            P.nonnegative("alpha", 0.5, (0.5, 0.3), "weight of the false positives Σ p·(1 − t)"),
            P.nonnegative("beta", 0.5, (0.5, 0.7), "weight of the false negatives Σ (1 − p)·t"),
            _smooth_param(),
            _logits_param(),
            P.reduction(),
        ),
        _LAYOUTS,
        tversky_loss,
        tversky_loss_vjp,
        term_scale=TermScale(_value_scale(tversky_ratio), _grad_scale(tversky_ratio)),
        regimes=_regimes(tversky_ratio),
        edges=EDGES,
        element_kind="per_vector",
    ),
)
