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
                    formula (``LossSpec.term_scale``, a :class:`reference.terms.TermScale` next to
                    the formula in its family module: e.g. T = Σ_c w_c q_c (|x_c − max x| + L + 1)
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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import reference as R
from reference import core
from reference._math import times_or_zero
from reference.contract import K_GRAD as K_GRAD  # re-exported: cases.compare reads it here
from reference.contract import K_SUM, K_VALUE
from reference.spec import LossSpec
from reference.terms import NEAR_HINGE as NEAR_HINGE  # re-exported with the model's constants
from reference.terms import Terms, TermScale, evaluate_terms

# --- the constants of the model -----------------------------------------------------------------

# K_VALUE, K_GRAD, K_SUM are defined once, in the neutral contract, which registry predicates read.
# NEAR_HINGE, the band around a hinge within which its terms count, is defined with the term
# scales that use it (reference/terms.py).


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
    """The loss's declared term scale (``LossSpec.term_scale``)."""
    spec = R.get(loss)
    if spec.term_scale is None:
        raise LookupError(
            f"{loss} declares no term scale: add term_scale=TermScale(value, grads) to its "
            f"LossSpec in reference/{spec.family}.py (the magnitudes of the terms its formula "
            "adds; see cases/tolerance.py's docstring)"
        )
    return spec.term_scale


def fan_in(arrays: Mapping[str, np.ndarray], result_size: int) -> int:
    """How many input numbers feed each output number: the largest input over the result size."""
    largest = max((np.size(v) for v in arrays.values()), default=1)
    return max(1, largest // max(1, result_size))


def scales(
    loss: str,
    arrays: Mapping[str, np.ndarray],
    params: Mapping[str, Any],
    cotangent: np.ndarray | None = None,
    spec: LossSpec | None = None,
) -> Scales:
    """S, G, F and n for ``loss`` on ``arrays`` (already rounded to the case's dtype).

    ``spec``: a modified definition of the loss (a registry entry's model,
    :class:`reference.contract.Prediction`) whose own formula and term scale to use instead of
    the reference's. Raises :class:`reference.InvalidInput` where the reference does.
    """
    spec = spec or R.get(loss)
    arrs, full, _ = core.validate(spec, arrays, params)
    with np.errstate(all="ignore"):
        el = spec.elementwise(arrs, full)
    return scales_of(spec, arrs, full, el, cotangent, loss)


def case_scales(case: R.Case) -> Scales:
    """:func:`scales` of a case under the reference's own definition, from what the case has
    derived already (:meth:`reference.case.Case.derived` and :meth:`~reference.case.Case.terms`)."""
    arrs, full, _, el = case.derived()
    # a loss without a term scale: case.terms() is None, and scales_of raises, naming the loss
    return scales_of(R.get(case.loss), arrs, full, el, case.rounded_cotangent(), terms=case.terms())


def scales_of(
    spec: LossSpec,
    arrs,
    full,
    el,
    cotangent: np.ndarray | None,
    loss: str | None = None,
    terms: Terms | None = None,
) -> Scales:
    """:func:`scales` from ``core.validate``'s arrays and parameters and the unreduced loss ``el``
    (``loss``: the loss's name, where ``spec`` is a registry entry's modified definition;
    ``terms``: the term scale evaluated already, :func:`reference.terms.evaluate_terms`)."""
    ts = spec.term_scale or term_scale(loss or spec.name)
    if terms is None:
        terms = evaluate_terms(ts, arrs, full, el, cotangent)
    c = terms.c
    with np.errstate(all="ignore"):
        if terms.weight is None:  # reduction none
            value = terms.value
            floor = 2.0
        else:
            # c_i = ∂result/∂ℓ_i: the weight of each elementwise loss in the reduced result
            value = np.asarray(np.sum(times_or_zero(terms.weight, terms.value)))
            floor = 1.0 + float(np.sum(terms.weight))
        grad_floor = 1.0 + (float(np.max(c)) if c.size else 0.0)
        if ts.grad_floor is not None:
            grad_floor = grad_floor + np.asarray(ts.grad_floor(arrs, full, c), dtype=np.float64)
    n = fan_in(arrs, int(np.size(value)))
    return Scales(value, dict(terms.grads), floor, grad_floor, n)


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
