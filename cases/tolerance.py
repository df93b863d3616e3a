"""The tolerance policy: how far a framework's result may lie from the reference and still match.

What is compared
    The reference is evaluated in float64 on the case's inputs *rounded to the case's dtype*
    (``case.rounded()``), which are exactly the numbers the framework receives. The error measured
    is therefore the framework's arithmetic alone, never input rounding. It is reported two ways:
    in ULPs of the case's dtype at the reference value (``reference.spacing``), and as relative
    error |got − ref| / |ref|.

Non-finite numbers
    NaN, +inf and −inf must agree exactly, element by element: NaN only where the reference is
    NaN, an infinity only where the reference has the same infinity. The one exception is
    overflow: a finite reference value beyond the dtype's range rounds to ±inf, so the framework's
    ±inf is then the correctly rounded answer. Every other disagreement (NaN against a number,
    a finite number against an infinity, −inf against +inf) is an infinite error.

The error model
    A framework evaluates a loss with some sequence of floating-point operations. In the standard
    model of floating-point arithmetic (Higham, *Accuracy and Stability of Numerical Algorithms*,
    §2.2, with underflow) each operation returns ``(x op y)(1 + δ) + η`` with |δ| ≤ u, the unit
    roundoff of the dtype (2^−24 for float32), and |η| ≤ η_min (see :func:`underflow`). The
    rounding error of an operation is therefore proportional to the size of *its* result, not of
    the final one. When a loss is a difference of large terms — logsumexp(x) − x_y for a confident
    prediction, relu(x) − x·y + log1p(e^−|x|) at a large logit, |d| + softplus(−2|d|) − log 2
    for log-cosh at small d, 1 − cos(x1, x2) for nearly parallel vectors — correct float32
    arithmetic has an absolute error proportional to the *terms*, and a bound relative to the
    result alone flags it as a mismatch (the logistic loss at x = 9, y = 1 evaluated in float32
    as log(1 + e^−9), the log-sum-exp form torch documents for BCE with logits, gives 1.2337e-4
    instead of 1.2340e-4: an absolute error of about u, ~1900 float32 ULPs of the result). A
    bound loose enough to pass those everywhere would hide real bugs. So the bound follows the
    terms:

        |got − ref| ≤ ½·ulp(ref) + k(n)·u·S + k(n)·η_min·F,    k(n) = K + K_SUM·log2(n)

    (K = ``K_VALUE`` for values, ``K_GRAD`` for gradients)

    ``½·ulp(ref)``  the rounding of the result itself (a correctly rounded answer always passes;
                    this also covers subnormal results, whose ulp exceeds u·|ref|).
    ``S``           the condition scale: the sum of the magnitudes of the terms a standard
                    evaluation adds up. Each loss declares the elementwise *term scale* T_i of its
                    formula (``TERM_SCALES`` below: e.g. T = Σ_c w_c q_c (|x_c − max x| + L + 1)
                    for cross-entropy, where L is the log-sum-exp of the shifted logits and the
                    1 is the absolute error of a log of a sum near 1). The reduction combines
                    them with the weight each elementwise loss has in the result,
                    c_i = ∂result/∂ℓ_i (1/N for ``mean``, 1 for ``sum``, Σw for weighted means):
                    S = Σ_i |c_i|·T_i for a scalar result, S_i = T_i elementwise for ``none``.
                    Because T_i ≥ |ℓ_i|, S also bounds the reduction's own summation error.
    ``n``           the fan-in: how many input numbers feed each output number (N·C for a
                    cross-entropy mean over an (N, C) input, D for a triplet loss per item). A
                    pairwise (tree) sum of n terms has a worst-case error of u·log2(n)·Σ|terms|,
                    so ``K_SUM`` = 1 comes from that bound, not from a fit. A *sequential* float32
                    sum grows like u·n instead and fails, as it must: the mean of 10⁷ squares
                    x², x ∈ [0.5, 1.5], summed sequentially in float32 is off by 9 000 ULP
                    (0.1 %), pairwise by 0.17 ULP, where the bound allows 17 ULP.
    ``F``           the underflow floor, 1 + Σ|c_i|: an intermediate that falls below the normal
                    range loses up to η_min absolutely, whatever the terms. η_min is the smallest
                    normal number for float64/float32/bfloat16 (flush-to-zero, as XLA on CPU
                    does, passes) and the smallest subnormal for float16. Where a gradient
                    divides by such an intermediate d, the absolute error η of d moves it by
                    |∂g/∂d|·η, which the division turns into a relative error η/d: F for those
                    gradients adds |∂g/∂d| per element (``TermScale.grad_floor``; the triplet
                    loss's g = v/d at distances of the size of eps = 1e-6, subnormal in float16).
    ``K``           the number of rounding errors, counted in units of u·S, that an ordinary
                    evaluation may accumulate. It is calibrated (below), not derived.

    Gradients get their own bound of the same form, with their own constant ``K_GRAD`` and their
    own term scales G_j (e.g. softmax_c·Σwq − w_c q_c has terms of size Σwq·p_c·(1 + |z_c| + L)
    and w_c q_c, the factor (1 + |z_c| + L) being the relative error of exp at an argument of
    that size), multiplied by the cotangent each elementwise loss receives.

    Low precision: many frameworks evaluate float16/bfloat16 losses in float32 and round once
    (torch on CPU), some round every intermediate. The model covers both without a special case:
    u is the unit roundoff of the case's dtype, so a float32-internal evaluation lands within
    ½ ulp (+ a fraction of an ULP), and a native one within the same K rounding errors of
    float16/bfloat16 size. A correctly rounded float16 result always passes, and a relative
    error of 1e-3 in float32 (≈ 17 000 u) fails wherever S is within a few hundred times |ref|,
    i.e. on every ordinary input (figures below).

Calibration (the numbers behind K and K_GRAD)
    For each example, the K it needed is ``(|got − ref| − ½ulp(ref)) / (u·S + η·F) − log2(n)``
    at its worst element. Measured on CPU with ``cases.sampling`` draws at scales 0.01–30, N up
    to 4096, C up to 16, targets within 0.1 % of inputs, probabilities near 0 and 1 ("within
    ½ ulp+…": examples that needed no K at all, values / gradients):

    ==========================  =======  ===============  ===========  ===========
    framework (losses)          examples  within ½ ulp+…   value K max  grad K max
    ==========================  =======  ===============  ===========  ===========
    torch 2.13.0 (18 losses,    19 392   91 % / 88 %       3.5          5.4
    every config, 4 dtypes)
    optax 0.2.8 (6 losses)       2 304   76 % / 73 %       2.8          4.2
    TensorFlow 2.21 (6 losses)   1 312   79 % / 72 %       2.6          2.7
    ==========================  =======  ===============  ===========  ===========

    The worst were torch's gaussian_nll_loss(full, none) in float32 (value, 3.5: seven
    operations, each rounding an intermediate of size S) and torch's float64 cross_entropy with
    label smoothing over 16 classes (gradient, 5.4); a float32 NumPy evaluation of the
    textbook formulas (tests/cases/test_tolerance.py) stays below 2. K is about twice the
    worst: K = 8, K_GRAD
    = 12. Examples beyond those were not rounding and are left to the registries: NaN/inf
    disagreements (torch's log clamp in binary_cross_entropy), subgradient choices at hinges
    that low-precision rounding turned into ties, torch's 1e-12 in cosine_embedding_loss (float64)
    and its float16 overflow of ‖x1‖²‖x2‖², torch's float16 kl_div target gradient (grad·target
    underflows), Keras' log_cosh computing log 2 in float32 for float64 inputs, TensorFlow's
    softmax_cross_entropy_with_logits gradient assuming rows of probability targets sum to 1,
    TensorFlow's float16 reduce_mean over ≥ 65 536 elements (NaN, zero gradient), optax's
    sigmoid_focal_loss target gradient at hard labels.

    On ordinary inputs (every configuration and layout at scale 1) a relative error of 1e-3 in
    float32 exceeds the bound by a factor of 21 to 2000 (median 850). The price of following the
    terms shows in float16: there the bound is typically 1 % relative (50 ULP) for losses whose
    standard evaluations cancel (log-cosh, focal loss), because a native float16 evaluation
    really is that far off.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import reference as R
from reference import binary, classification, core, distribution, embedding
from reference._math import sigmoid, softplus, sum_to_shape, times_or_zero
from reference.contract import K_GRAD as K_GRAD  # re-exported: cases.compare reads it here
from reference.contract import K_SUM, K_VALUE
from reference.reduction import elementwise_cotangent

# --- the constants of the model -----------------------------------------------------------------

# K_VALUE, K_GRAD, K_SUM are defined once, in the neutral contract, which registry predicates read.

# A hinge (max(0, z)) whose argument is within this fraction of its terms' size of 0 may be
# evaluated on either side by correct arithmetic (bfloat16: K·u = 2^-6), so its terms count.
NEAR_HINGE = 2.0**-5


def unit_roundoff(dtype: str) -> float:
    """u = 2^−(p+1): half the gap between 1 and the next number of ``dtype``."""
    return R.FORMATS[dtype].eps / 2.0


def underflow(dtype: str) -> float:
    """η: the absolute error an operation may make near zero.

    The smallest normal number for float64, float32 and bfloat16, so that flush-to-zero
    arithmetic (XLA on CPU, CUDA fast math: subnormal results become 0) passes; the smallest
    subnormal for float16, whose arithmetic keeps subnormals and whose smallest normal (6.1e-5)
    would be a floor too coarse to catch errors in small float16 results.
    """
    fmt = R.FORMATS[dtype]
    return fmt.smallest_subnormal if dtype == "float16" else fmt.tiny


def k(n: int, constant: float = K_VALUE) -> float:
    """The number of rounding errors allowed for a result that reduces ``n`` inputs."""
    return constant + K_SUM * math.log2(max(n, 1))


# --- per-loss term scales -----------------------------------------------------------------------
#
# T(a, p, loss) -> the elementwise term scale, with the elementwise loss's shape.
# G(a, p, c)    -> {argument: gradient term scale with the argument's shape}, for the elementwise
#                  cotangent magnitude c (|∂result/∂ℓ_i|), mirroring the loss's elementwise_vjp.
# ``a`` holds the validated float64 arrays, ``p`` the parameters with defaults filled in. Both
# describe a *standard* evaluation of the formula (and, where frameworks evaluate it differently,
# the union of their terms): every T_i ≥ |ℓ_i|, and a term that a standard evaluation cancels
# contributes its own magnitude.


@dataclass(frozen=True)
class TermScale:
    """T (``value``) and G (``grads``) of one loss, and, for gradients that divide by an
    intermediate which can fall below the normal range, that division's share of F
    (``grad_floor``, see :func:`scales`)."""

    value: Callable[[Mapping[str, np.ndarray], Mapping[str, Any], np.ndarray], np.ndarray]
    grads: Callable[
        [Mapping[str, np.ndarray], Mapping[str, Any], np.ndarray], dict[str, np.ndarray]
    ]
    grad_floor: (
        Callable[[Mapping[str, np.ndarray], Mapping[str, Any], np.ndarray], np.ndarray] | None
    ) = None


def _abs_vjp(name: str):
    """G for a gradient formula without cancellation: |vjp| with the cotangent's magnitude."""

    def grads(a, p, c):
        vjp = R.get(name).elementwise_vjp(a, p, c)
        return {k: np.abs(v) for k, v in vjp.items()}

    return grads


def _diff(a) -> np.ndarray:
    return np.abs(a["input"] - a["target"])


def _same_for_target(scale: np.ndarray) -> dict[str, np.ndarray]:
    return {"input": scale, "target": scale}


# regression: d = x − y is computed with a relative error (x, y exact), so terms follow |d|.


def _huber_value(a, p, loss):
    d, delta = _diff(a), p["delta"]
    return np.where(d <= delta, 0.5 * d * d, delta * (d + 0.5 * delta))


def _smooth_l1_value(a, p, loss):
    d, beta = _diff(a), p["beta"]
    if beta == 0:
        return d
    return np.where(d < beta, 0.5 * d * d / beta, d + 0.5 * beta)


def _huber_grads(a, p, c):
    # optax's 0.5·q² + δ·(|d| − q), q = min(|d|, δ): its gradient adds and removes δ·sign(d)
    delta = p["delta"]
    return _same_for_target(c * (np.minimum(_diff(a), delta) + delta))


def _smooth_l1_grads(a, p, c):
    # smooth_l1(β) computed as huber(δ = β)/β, as a framework without it does: terms up to 1
    beta = p["beta"]
    slope = 1.0 if beta == 0 else np.minimum(_diff(a) / beta, 1.0) + 1.0
    return _same_for_target(c * slope)


def _log_cosh_value(a, p, loss):
    # Keras: d + softplus(−2d) − log 2 at the signed d (terms up to 3|d|); optax:
    # logaddexp(d, −d) − log 2. Both cancel to ~d²/2 at small d.
    d = _diff(a)
    return 3.0 * d + softplus(-2.0 * d) + np.log(2.0)


def _log_cosh_grads(a, p, c):
    # 1 − 2σ(−2d) (Keras' autodiff) or σ(2d) − σ(−2d) (optax): terms of size ≤ 3, each an exp
    # of an argument of size 2|d| (relative error ~u·2|d|).
    return _same_for_target(3.0 * c * (1.0 + 2.0 * _diff(a)))


# binary


def _bce_value(a, p, loss):
    x, y, w = a["input"], a["target"], np.abs(binary._weight(a))
    # log(1 − x) is taken of a rounded 1 − x: an absolute error of u, whatever x.
    return w * (
        times_or_zero(np.abs(y), np.abs(np.log(x)))
        + times_or_zero(np.abs(1.0 - y), np.abs(np.log1p(-x)) + 1.0)
    )


def _bce_grads(a, p, c):
    x, y, w = a["input"], a["target"], np.abs(binary._weight(a))
    dx = times_or_zero(np.abs(y), 1.0 / x) + times_or_zero(np.abs(1.0 - y), 1.0 / (1.0 - x))
    dy = np.abs(np.log(x)) + np.abs(np.log1p(-x)) + 1.0
    return {"input": c * w * dx, "target": c * w * dy}


def _logistic_weight(a) -> np.ndarray:
    """w·(1 + max(q, 1)): the weights in front of the two logistic terms of BCE with logits."""
    q = np.abs(np.asarray(binary._pos_weight(a)))
    return np.abs(binary._weight(a)) * (1.0 + np.maximum(q, 1.0))


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


_FOCAL_M_ERROR = 3.0  # 1 − p_t from a rounded σ(x): absolute error of about 3u


def _focal_value(a, p, loss):
    x, y, gamma = a["input"], a["target"], p["gamma"]
    _, ce, m = binary._focal_parts(x, y)
    t_ce = 2.0 * (np.abs(x) + 1.0)
    at = np.abs(binary._alpha_t(y, p["alpha"]))
    if gamma == 0:
        return at * t_ce
    # (1 − p_t)^γ from an m with absolute error ~3u has relative error γ·3u/m.
    return at * (t_ce * m**gamma + ce * gamma * m ** (gamma - 1.0) * _FOCAL_M_ERROR)


def _focal_grads(a, p, c):
    x, y, gamma, alpha = a["input"], a["target"], p["gamma"], p["alpha"]
    prob, ce, m = binary._focal_parts(x, y)
    t_ce = 2.0 * (np.abs(x) + 1.0)
    at = np.abs(binary._alpha_t(y, alpha))
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


# classification


def _softmax_parts(a, p):
    """Class-last logits shifted by their row maximum, |z|, L = log Σ e^z, and the smoothed target."""
    x = classification._class_last(a["input"])
    m = np.max(x, axis=-1, keepdims=True)
    z = x - np.where(np.isfinite(m), m, 0.0)
    lse = np.log(np.sum(np.exp(z), axis=-1, keepdims=True))
    q, _ = classification._smoothed_target(a, p)
    w = np.abs(classification._class_weights(a, x.shape[-1]))
    return z, lse, q, w


def _cross_entropy_value(a, p, loss):
    z, lse, q, w = _softmax_parts(a, p)
    # log softmax = z − L: |z| and L rounded separately, L with an absolute error ~u.
    return np.sum(times_or_zero(w * np.abs(q), np.abs(z) + lse + 1.0), axis=-1)


def _cross_entropy_grads(a, p, c):
    z, lse, q, w = _softmax_parts(a, p)
    wq = w * np.abs(q)
    prob = np.exp(z - lse)
    cc = c[..., None]
    # softmax_c·Σwq − w_c q_c; exp at an argument of size |z| + L has that relative error.
    dx = cc * (prob * np.sum(wq, axis=-1, keepdims=True) * (1.0 + np.abs(z) + lse) + wq)
    out = {"input": classification._class_back(dx)}
    if p["target_kind"] == "probability":
        dt = cc * (1.0 - p["label_smoothing"]) * w * (np.abs(z) + lse + 1.0)
        out["target"] = classification._class_back(dt)
    return out


def _nll_value(a, p, loss):
    return np.abs(loss)


def _multi_margin_parts(a, p):
    z, others = classification._margins(a, p)
    x = classification._class_last(a["input"])
    x_y = np.take_along_axis(x, a["target"][..., None], axis=-1)
    size = abs(p["margin"]) + np.abs(x_y) + np.abs(x)  # margin − x_y + x_i: three terms
    near = others & (z >= -NEAR_HINGE * size)
    w_y = np.abs(classification._class_weights(a, z.shape[-1]))[a["target"]]
    return np.maximum(z, 0.0), size, near, w_y / z.shape[-1]


def _multi_margin_value(a, p, loss):
    hinge, size, near, scale = _multi_margin_parts(a, p)
    if p["p"] == 1:
        per_class = np.where(near, hinge + size, 0.0)
    else:
        per_class = np.where(near, hinge * (hinge + 2.0 * size), 0.0)
    return scale * np.sum(per_class, axis=-1)


def _multi_margin_grads(a, p, c):
    hinge, size, near, scale = _multi_margin_parts(a, p)
    slope = 1.0 if p["p"] == 1 else 2.0 * (hinge + size)
    others = np.where(near, (c * scale)[..., None] * slope, 0.0)
    # the target's own score enters every term: its gradient is the sum of the others'
    onehot = classification._one_hot(a["target"], np.ones(a["target"].shape, bool), hinge.shape[-1])
    dx = np.where(onehot, np.sum(others, axis=-1, keepdims=True), others)
    return {"input": classification._class_back(dx)}


def _multilabel_weight(a):
    x = a["input"]
    return np.abs(classification._class_weights(a, x.shape[-1])) * 2.0 / x.shape[-1]


def _multilabel_value(a, p, loss):
    return np.sum(_multilabel_weight(a) * (np.abs(a["input"]) + 1.0), axis=-1)


def _multilabel_grads(a, p, c):
    scale = c[..., None] * _multilabel_weight(a) * (np.abs(a["input"]) + 1.0)
    return {"input": scale, "target": scale}


# distribution


def _kl_value(a, p, loss):
    x, t = a["input"], a["target"]
    if p["log_target"]:
        return np.exp(t) * (np.abs(t) + np.abs(x))
    return times_or_zero(np.abs(t), np.abs(np.log(t)) + np.abs(x))


def _kl_grads(a, p, c):
    x, t = a["input"], a["target"]
    if p["log_target"]:
        et = np.exp(t)
        return {"input": c * et, "target": c * et * (np.abs(t) + np.abs(x) + 1.0)}
    return {"input": c * np.abs(t), "target": c * (np.abs(np.log(t)) + 1.0 + np.abs(x))}


def _stirling_terms(y, variant):
    if variant == "lgamma":
        return np.abs(distribution._log_factorial(y, variant))
    safe = np.where(y > 1, y, 2.0)
    terms = np.abs(safe * np.log(safe)) + safe + 0.5 * np.abs(np.log(2.0 * np.pi * safe))
    return np.where(y > 1, terms, 0.0)


def _poisson_value(a, p, loss):
    x, y = a["input"], np.abs(a["target"])
    if p["log_input"]:
        terms = np.exp(x) + times_or_zero(y, np.abs(x))
    else:
        terms = np.abs(x) + times_or_zero(y, np.abs(np.log(x + p["eps"])) + 1.0)
    if p["full"]:
        terms = terms + _stirling_terms(a["target"], p["full_term"])
    return terms


def _poisson_grads(a, p, c):
    x, y = a["input"], np.abs(a["target"])
    if p["log_input"]:
        return {"input": c * (np.exp(x) + y)}
    return {"input": c * (1.0 + times_or_zero(y, 1.0 / np.abs(x + p["eps"])))}


def _gaussian_value(a, p, loss):
    _, v = distribution._variance(a, p)
    d = a["input"] - a["target"]
    terms = 0.5 * (np.abs(np.log(v)) + d * d / v)
    if p["full"]:
        terms = terms + 0.5 * np.log(2.0 * np.pi)
    return np.broadcast_to(terms, a["input"].shape)


def _gaussian_grads(a, p, c):
    var, v = distribution._variance(a, p)
    d = a["input"] - a["target"]
    dx = c * np.abs(d) / v
    dvar = c * np.where(var > p["eps"], 0.5 * (1.0 / v + d * d / (v * v)), 0.0)
    shape = a["var"].shape
    dvar = np.reshape(sum_to_shape(np.broadcast_to(dvar, d.shape), var.shape), shape)
    return {"input": dx, "target": dx, "var": dvar}


# embedding


def _triplet_parts(a, p):
    diffs, d = embedding._distances(a, p)
    neg = np.minimum(d["an"], d["pn"]) if p["swap"] else d["an"]
    z = d["ap"] - neg + p["margin"]
    size = d["ap"] + neg + abs(p["margin"])
    return diffs, d, size, z >= -NEAR_HINGE * size


def _triplet_value(a, p, loss):
    _, _, size, near = _triplet_parts(a, p)
    return np.where(near, size, 0.0)


def _triplet_grads(a, p, c):
    from reference._math import pnorm_grad

    diffs, d, _, near = _triplet_parts(a, p)
    g = {k: np.abs(pnorm_grad(diffs[k], d[k], p["p"])) for k in diffs}
    scale = np.where(near, c, 0.0)[..., None]
    swap = 1.0 if p["swap"] else 0.0
    return {
        "anchor": scale * (g["ap"] + g["an"]),
        "positive": scale * (g["ap"] + swap * g["pn"]),
        "negative": scale * (g["an"] + swap * g["pn"]),
    }


def _pnorm_grad_sensitivity(v: np.ndarray, d: np.ndarray, order: float) -> np.ndarray:
    """|∂g_j/∂d| + |∂g_j/∂v_j| for the p-norm's gradient g_j = sign(v_j)(|v_j|/d)^(p−1).

    How far an absolute error η in the norm d, or in a component v_j of the difference, moves
    the gradient: η·(p − 1)/d·((|v_j|/d)^(p−1) + (|v_j|/d)^(p−2)), i.e. η·(1/d + |v_j|/d²) for
    p = 2 (for p > 2 the second term is bounded by its value at |v_j| = d, which is used; the
    configurations use p ∈ {1, 2}). 0 for p = 1, whose gradient sign(v) does not divide by d, and
    at d = 0, where torch and the reference both take the subgradient 0.
    """
    if order == 1:
        return np.zeros(v.shape)
    d = d[..., None]
    safe = np.where(d > 0, d, 1.0)
    ratio = np.abs(v) / safe
    second = ratio ** (order - 2.0) if order <= 2 else np.ones(v.shape)
    return np.where(d > 0, (order - 1.0) / safe * (ratio ** (order - 1.0) + second), 0.0)


def _triplet_grad_floor(a, p, c):
    """Each gradient of an active triplet divides by its distances (∂d/∂v = v/d for p = 2).
    A distance of the size of eps (anchor equal to positive or negative, eps = 1e-6) lies below
    float16's smallest normal number 6.1e-5, where it keeps only a few significant bits: the
    absolute error η of that one rounding, divided by d, moves the gradient by η/d (2^-25/1.7e-6
    = 1.7 % at D = 3), however correctly each operation rounds. Summed over the distances the loss
    uses, per element, the same for the three arguments (they share their shape)."""
    diffs, d, _, near = _triplet_parts(a, p)
    used = ("ap", "an", "pn") if p["swap"] else ("ap", "an")
    total = sum(_pnorm_grad_sensitivity(diffs[k], d[k], p["p"]) for k in used)
    return np.where(near, c, 0.0)[..., None] * total


def _cosine_parts(a, p):
    x1, x2 = a["input1"], a["input2"]
    cos, n1, n2 = embedding._cosine(a)
    # the dot product's terms, relative to ‖x1‖‖x2‖ (≤ 1 by Cauchy-Schwarz)
    dot = np.sum(np.abs(x1 * x2), axis=-1) / (n1 * n2) + np.abs(cos)
    margin = p["margin"]
    near = (a["target"] == 1) | (cos - margin >= -NEAR_HINGE * (1.0 + abs(margin)))
    return cos, n1, n2, dot, near


def _cosine_value(a, p, loss):
    _, _, _, dot, near = _cosine_parts(a, p)
    own = np.where(a["target"] == 1, 1.0, abs(p["margin"]))
    return np.where(near, own + dot, 0.0)


def _cosine_grads(a, p, c):
    x1, x2 = a["input1"], a["input2"]
    _, n1, n2, dot, near = _cosine_parts(a, p)
    s = np.where(near, c, 0.0)[..., None]
    n1, n2, dot = n1[..., None], n2[..., None], dot[..., None]
    return {
        "input1": s * (np.abs(x2) / (n1 * n2) + dot * np.abs(x1) / (n1 * n1)),
        "input2": s * (np.abs(x1) / (n1 * n2) + dot * np.abs(x2) / (n2 * n2)),
    }


def _ranking_near(a, p):
    size = np.abs(a["input1"] - a["input2"]) + abs(p["margin"])
    z = -a["target"] * (a["input1"] - a["input2"]) + p["margin"]
    return size, z >= -NEAR_HINGE * size


def _ranking_value(a, p, loss):
    size, near = _ranking_near(a, p)
    return np.where(near, size, 0.0)


def _ranking_grads(a, p, c):
    _, near = _ranking_near(a, p)
    g = np.where(near, c, 0.0)
    return {"input1": g, "input2": g}


def _hinge_near(a, p):
    x, margin = a["input"], p["margin"]
    size = np.abs(x) + abs(margin)
    return size, (a["target"] == 1) | (margin - x >= -NEAR_HINGE * size)


def _hinge_value(a, p, loss):
    size, near = _hinge_near(a, p)
    return np.where(a["target"] == 1, np.abs(a["input"]), np.where(near, size, 0.0))


def _hinge_grads(a, p, c):
    _, near = _hinge_near(a, p)
    return {"input": np.where(near, c, 0.0)}


def _soft_margin_value(a, p, loss):
    # softplus(z) evaluated as log1p(e^z) or as a log-sum-exp: the latter's log of a sum in [1, 2]
    # has an absolute error of u.
    return softplus(-a["target"] * a["input"]) + 1.0


def _soft_margin_grads(a, p, c):
    return {"input": c * sigmoid(-a["target"] * a["input"]) * (np.abs(a["input"]) + 1.0)}


TERM_SCALES: dict[str, TermScale] = {
    "mse_loss": TermScale(lambda a, p, loss: np.abs(loss), _abs_vjp("mse_loss")),
    "l1_loss": TermScale(lambda a, p, loss: np.abs(loss), _abs_vjp("l1_loss")),
    "huber_loss": TermScale(_huber_value, _huber_grads),
    "smooth_l1_loss": TermScale(_smooth_l1_value, _smooth_l1_grads),
    "log_cosh": TermScale(_log_cosh_value, _log_cosh_grads),
    "binary_cross_entropy": TermScale(_bce_value, _bce_grads),
    "binary_cross_entropy_with_logits": TermScale(_bce_logits_value, _bce_logits_grads),
    "sigmoid_focal_loss": TermScale(_focal_value, _focal_grads),
    "cross_entropy": TermScale(_cross_entropy_value, _cross_entropy_grads),
    "nll_loss": TermScale(_nll_value, _abs_vjp("nll_loss")),
    "multi_margin_loss": TermScale(_multi_margin_value, _multi_margin_grads),
    "multilabel_soft_margin_loss": TermScale(_multilabel_value, _multilabel_grads),
    "kl_div": TermScale(_kl_value, _kl_grads),
    "poisson_nll_loss": TermScale(_poisson_value, _poisson_grads),
    "gaussian_nll_loss": TermScale(_gaussian_value, _gaussian_grads),
    "triplet_margin_loss": TermScale(_triplet_value, _triplet_grads, _triplet_grad_floor),
    "cosine_embedding_loss": TermScale(_cosine_value, _cosine_grads),
    "margin_ranking_loss": TermScale(_ranking_value, _ranking_grads),
    "hinge_embedding_loss": TermScale(_hinge_value, _hinge_grads),
    "soft_margin_loss": TermScale(_soft_margin_value, _soft_margin_grads),
}


# --- scales of one case -------------------------------------------------------------------------


@dataclass(frozen=True)
class Scales:
    """Everything the bound needs about one case, computed once with the reference.

    ``value``: S, with the result's shape (0-d for a scalar reduction); ``grads``: G per argument;
    ``floor``: F for the value, ``grad_floor``: F for the gradients, a number or, where the loss
    declares a per-element share (:attr:`TermScale.grad_floor`), an array broadcastable to every
    gradient; ``n``: the fan-in.
    """

    value: np.ndarray
    grads: dict[str, np.ndarray]
    floor: float
    grad_floor: float | np.ndarray
    n: int


def term_scale(loss: str) -> TermScale:
    try:
        return TERM_SCALES[loss]
    except KeyError:
        raise KeyError(
            f"no term scale for loss {loss!r}: add one to cases.tolerance.TERM_SCALES "
            "(the magnitudes of the terms its formula adds; see the module docstring)"
        ) from None


def fan_in(arrays: Mapping[str, np.ndarray], result_size: int) -> int:
    """How many input numbers feed each output number: the largest input over the result size."""
    largest = max((np.size(v) for v in arrays.values()), default=1)
    return max(1, largest // max(1, result_size))


def scales(
    loss: str,
    arrays: Mapping[str, np.ndarray],
    params: Mapping[str, Any],
    cotangent: np.ndarray | None = None,
) -> Scales:
    """S, G, F and n for ``loss`` on ``arrays`` (already rounded to the case's dtype).

    Raises :class:`reference.InvalidInput` where the reference does.
    """
    spec = R.get(loss)
    arrs, full, _ = core.validate(spec, arrays, params)
    ts = term_scale(loss)
    with np.errstate(all="ignore"):
        el = spec.elementwise(arrs, full)
        terms = np.asarray(ts.value(arrs, full, el.loss), dtype=np.float64)
        reduction = full["reduction"]
        if reduction == "none":
            value = terms
            floor = 2.0
            cot = 1.0 if cotangent is None else np.asarray(cotangent, dtype=np.float64)
            c = np.abs(np.broadcast_to(cot, el.loss.shape))
        else:
            # c_i = ∂result/∂ℓ_i: the weight of each elementwise loss in the reduced result
            weight = np.abs(elementwise_cotangent(el, reduction, None))
            value = np.asarray(np.sum(times_or_zero(weight, terms)))
            floor = 1.0 + float(np.sum(weight))
            cot = 1.0 if cotangent is None else float(np.abs(cotangent))
            c = weight * cot
        grads = {
            name: np.asarray(g, dtype=np.float64) for name, g in ts.grads(arrs, full, c).items()
        }
        grad_floor = 1.0 + (float(np.max(c)) if c.size else 0.0)
        if ts.grad_floor is not None:
            grad_floor = grad_floor + np.asarray(ts.grad_floor(arrs, full, c), dtype=np.float64)
    n = fan_in(arrs, int(np.size(value)))
    return Scales(value, grads, floor, grad_floor, n)


# --- the bound and the error ---------------------------------------------------------------------


def bound(
    reference_value: np.ndarray,
    scale: np.ndarray,
    floor: float,
    dtype: str,
    n: int,
    constant: float,
    spacing: np.ndarray | None = None,
) -> np.ndarray:
    """The largest |got − ref| that passes, per element (see the module docstring).

    Where the term scale is undefined (0·inf at a non-finite input) the bound is infinite; such
    elements have non-finite references, which are checked exactly before any bound.
    ``spacing``: ``reference.spacing(reference_value, dtype)``, if the caller has it already.
    """
    ref = np.asarray(reference_value, dtype=np.float64)
    if spacing is None:
        spacing = R.spacing(ref, dtype)
    kk = k(n, constant)
    with np.errstate(all="ignore"):
        out = (
            0.5 * spacing
            + kk * unit_roundoff(dtype) * np.asarray(scale, dtype=np.float64)
            + kk * underflow(dtype) * floor
        )
    return np.where(np.isnan(out), np.inf, out)


@dataclass(frozen=True)
class Check:
    """One array compared element by element; the figures are those of its critical element.

    The critical element is the one closest to (or furthest beyond) its bound, i.e. the largest
    error/bound ratio; its error is reported in ULPs of the dtype at its reference value and
    relative to it. ``index`` locates it (a tuple, () for a scalar).
    """

    ok: bool
    ratio: float  # error / bound at the critical element (> 1: beyond the bound)
    ulp: float
    rel: float
    bound_ulp: float
    index: tuple[int, ...]
    got: float
    expected: float
    nonfinite: bool  # the critical element disagrees on NaN/inf


def absolute_error(got: np.ndarray, ref: np.ndarray, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """|got − ref| per element with the non-finite rules applied, and a mask of the elements
    whose non-finite status disagrees (their error is +inf)."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    finite = np.isfinite(got) & np.isfinite(ref)
    if finite.all():  # the common case, kept cheap
        return np.abs(got - ref), np.zeros(ref.shape, dtype=bool)
    with np.errstate(all="ignore"):
        rounded = R.round_to(ref, dtype)
        both_nan = np.isnan(got) & np.isnan(ref)
        same_inf = np.isinf(got) & (got == rounded)  # ref is that infinity, or overflows to it
        agree = both_nan | same_inf
        err = np.where(finite, np.abs(got - ref), np.where(agree, 0.0, np.inf))
    return err, ~(finite | agree)


def check(
    got: np.ndarray,
    ref: np.ndarray,
    allowed: np.ndarray,
    dtype: str,
    spacing: np.ndarray | None = None,
) -> Check:
    """Compare ``got`` with ``ref`` (same shape) against the per-element bound ``allowed``."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if ref.size == 0:
        return Check(True, 0.0, 0.0, 0.0, 0.0, (), math.nan, math.nan, False)
    spacing = R.spacing(ref, dtype) if spacing is None else np.asarray(spacing)
    allowed = np.asarray(allowed, dtype=np.float64)
    if allowed.shape != ref.shape:
        allowed = np.broadcast_to(allowed, ref.shape)
    err, disagree = absolute_error(got, ref, dtype)
    with np.errstate(all="ignore"):
        ratio = np.where(err == 0, 0.0, err / allowed)
    if disagree.any():
        ratio[disagree] = np.inf
    index = np.unravel_index(int(np.argmax(ratio)), ref.shape)
    e, r, b, gap = (
        float(err[index]),
        float(ref[index]),
        float(allowed[index]),
        float(spacing[index]),
    )
    if not math.isfinite(r) or not math.isfinite(e):
        # non-finite numbers must agree exactly: no ULP scale, a zero bound
        ulp = rel = 0.0 if e == 0 else math.inf
        bound_ulp = 0.0 if not math.isfinite(r) else b / gap
    else:
        ulp = e / gap
        rel = 0.0 if e == 0 else (e / abs(r) if r != 0 else math.inf)
        bound_ulp = b / gap
    worst = float(ratio[index])
    return Check(
        worst <= 1.0,
        worst,
        ulp,
        rel,
        bound_ulp,
        tuple(int(i) for i in index),
        float(got[index]),
        r,
        bool(disagree[index]),
    )
