"""Losses that are (negative log-)likelihoods or divergences of distributions."""

from __future__ import annotations

import numpy as np

from . import params as P
from ._math import lgamma_positive, sum_to_shape, times_or_zero
from .domains import COUNT, LOG_PROBABILITY, PROBABILITY, RATE, REAL, VARIANCE
from .edges import BIG, INF, ROW, Config, Edge, is_, vec
from .layouts import same_shape
from .regimes import RegimeRules
from .spec import ArraySpec, ByParam, Elementwise, Layout, LossSpec, Param
from .terms import TermScale

# --- kl_div -----------------------------------------------------------------------------------


def kl_div(a, p) -> Elementwise:
    """ℓ = t (log t − x), pointwise; with ``log_target`` the target is given as log t: e^t (t − x).

    Domain: x = ``input`` holds log-probabilities (any real is accepted), t = ``target``
    probabilities in [0, 1] (enforced) or log-probabilities. A zero target contributes 0 whatever
    x is (0·log 0 = 0).
    Reductions: ``mean`` divides by the number of elements (torch's default, which is *not* the
    KL divergence), ``batchmean`` by the batch size input.shape[0], which is. Smooth:
    ∂ℓ/∂x = −t, ∂ℓ/∂t = log t + 1 − x (−inf at t = 0); with log_target ∂ℓ/∂t = e^t (t − x + 1).
    """
    x, t = a["input"], a["target"]
    if p["log_target"]:
        loss = times_or_zero(np.exp(t), t - x)
    else:
        loss = times_or_zero(t, np.log(t) - x)
    return Elementwise(loss, {"batchmean": x.shape[0]})


def kl_div_vjp(a, p, g):
    x, t = a["input"], a["target"]
    if p["log_target"]:
        et = np.exp(t)
        return {"input": -g * et, "target": g * times_or_zero(et, t - x + 1.0)}
    return {"input": -g * t, "target": g * (np.log(t) + 1.0 - x)}


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


def _kl_target(t: np.ndarray, c: Config) -> np.ndarray:
    """Probabilities, or their logs with ``log_target`` (log 0 = -inf, log 1 = 0: both exact)."""
    if not c.get("log_target"):
        return t
    with np.errstate(divide="ignore"):
        return np.log(t)


_KL_EDGES = (
    Edge(
        "target probabilities exactly 0 and 1",
        lambda c: {"input": vec(-1.0, -2.0, -0.5, 0.0), "target": _kl_target(vec(0, 1, 0, 1), c)},
    ),
    Edge(
        "input -inf where the target is 0 (absent term)",
        lambda c: {"input": vec(-INF, -1.0, -INF, 0.0), "target": _kl_target(vec(0, 1, 0, 1), c)},
    ),
    Edge(
        "input -inf where the target is 1 (infinite loss)",
        lambda c: {"input": vec(-INF, -1.0, 0.0, -0.5), "target": _kl_target(vec(1, 1, 0, 1), c)},
    ),
)


# --- poisson_nll_loss -------------------------------------------------------------------------


def _log_factorial(y: np.ndarray, variant: str) -> np.ndarray:
    """log(y!) for the ``full`` term: torch's documented Stirling approximation, or exact.

    Stirling (torch): y log y − y + ½ log(2π y) where y > 1, and 0 where y ≤ 1 (documented:
    "The approximation is used for target values more than 1. For targets less or equal to 1
    zeros are added"). Exact: lgamma(y + 1); the difference is what the report shows as the
    Stirling gap (≈ 1/(12 y)).
    """
    if variant == "lgamma":
        return lgamma_positive(np.maximum(y, 0.0) + 1.0)
    safe = np.where(y > 1, y, 2.0)
    stirling = safe * np.log(safe) - safe + 0.5 * np.log(2.0 * np.pi * safe)
    return np.where(y > 1, stirling, 0.0)


def poisson_nll_loss(a, p) -> Elementwise:
    """ℓ = e^x − y x with ``log_input`` (x is the log-rate), else ℓ = x − y log(x + eps).

    With ``full`` the log(y!) term is added, as torch's Stirling approximation (only where y > 1);
    ``full_term='lgamma'`` (reference only) adds the exact lgamma(y + 1) instead. Domain: y is a count
    (≥ 0 intended, not enforced; a zero count removes the y-term even where x = −inf); x is a real
    log-rate, or a rate ≥ 0 without log_input. ``eps`` is torch's API parameter, used only without
    log_input. Smooth in x: ∂ℓ/∂x = e^x − y, or 1 − y/(x + eps). The count is data and is not
    differentiated.
    """
    x, y = a["input"], a["target"]
    if p["log_input"]:
        loss = np.exp(x) - times_or_zero(y, x)
    else:
        loss = x - times_or_zero(y, np.log(x + p["eps"]))
    if p["full"]:
        loss = loss + _log_factorial(y, p["full_term"])
    return Elementwise(loss)


def poisson_nll_loss_vjp(a, p, g):
    x, y = a["input"], a["target"]
    if p["log_input"]:
        return {"input": g * (np.exp(x) - y)}
    return {"input": g * (1.0 - times_or_zero(y, 1.0 / (x + p["eps"])))}


def _stirling_terms(y, variant):
    if variant == "lgamma":
        return np.abs(_log_factorial(y, variant))
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


_POISSON_EDGES = (
    Edge(
        "count 0 at rate 0",
        lambda c: {"input": vec(0, 0, 1, 2), "target": vec(0, 0, 0, 1)},
        when=is_(log_input=False),
    ),
    Edge(
        "count 0 at log-rate -inf (rate 0)",
        lambda c: {"input": vec(-INF, -INF, 0, 1), "target": vec(0, 0, 0, 1)},
        when=is_(log_input=True),
    ),
    Edge(
        "positive count at rate 0 (log(0 + eps))",
        lambda c: {"input": vec(0, 0, 0.5, 0), "target": vec(1, 3, 0, 2)},
        when=is_(log_input=False),
    ),
    Edge(
        "counts 0, 1, 2, 3 around the Stirling threshold y > 1",
        lambda c: {"input": vec(0.5, 0.5, 0.5, 0.5), "target": vec(0, 1, 2, 3)},
    ),
    Edge(
        f"log-rates ±{BIG:g}/64 (e^x overflows float16 and bfloat16 at 128)",
        lambda c: {"input": vec(128, -128, 16, -16), "target": vec(0, 1, 2, 3)},
        when=is_(log_input=True),
    ),
)


# --- gaussian_nll_loss ------------------------------------------------------------------------


def _variance(a, p) -> tuple[np.ndarray, np.ndarray]:
    """var broadcast against input (a var with one fewer dimension gains a trailing one), and the
    clamped variance max(var, eps)."""
    var = a["var"]
    if var.ndim == a["input"].ndim - 1:
        var = var[..., None]
    return var, np.maximum(var, p["eps"])


def gaussian_nll_loss(a, p) -> Elementwise:
    """ℓ = ½ [log max(var, eps) + (x − y)² / max(var, eps)], plus ½ log 2π with ``full``.

    ``eps`` is torch's API parameter that clamps the variance from below. var has the input's
    shape, or one fewer (trailing) dimension, or a trailing dimension of 1; it is broadcast
    against the input, and ``none`` has the input's shape. Domain: x, y real, var ≥ 0 (enforced).
    Derivatives: ∂ℓ/∂x = (x − y)/v = −∂ℓ/∂y; ∂ℓ/∂var = ½ (1/v − (x − y)²/v²) where var > eps and 0
    where the clamp is active (at var = eps the minimum-norm subgradient, 0), summed over the
    dimensions var was broadcast along.
    """
    x, y = a["input"], a["target"]
    _, v = _variance(a, p)
    loss = 0.5 * (np.log(v) + (x - y) ** 2 / v)
    if p["full"]:
        loss = loss + 0.5 * np.log(2.0 * np.pi)
    return Elementwise(np.broadcast_to(loss, x.shape).copy())


def gaussian_nll_loss_vjp(a, p, g):
    x, y = a["input"], a["target"]
    var, v = _variance(a, p)
    d = x - y
    dvar = g * np.where(var > p["eps"], 0.5 * (1.0 / v - d * d / (v * v)), 0.0)
    return {
        "input": g * d / v,
        "target": -g * d / v,
        "var": np.reshape(sum_to_shape(np.broadcast_to(dvar, x.shape), var.shape), a["var"].shape),
    }


def _gaussian_value(a, p, loss):
    _, v = _variance(a, p)
    d = a["input"] - a["target"]
    terms = 0.5 * (np.abs(np.log(v)) + d * d / v)
    if p["full"]:
        terms = terms + 0.5 * np.log(2.0 * np.pi)
    return np.broadcast_to(terms, a["input"].shape)


def _gaussian_grads(a, p, c):
    var, v = _variance(a, p)
    d = a["input"] - a["target"]
    dx = c * np.abs(d) / v
    dvar = c * np.where(var > p["eps"], 0.5 * (1.0 / v + d * d / (v * v)), 0.0)
    shape = a["var"].shape
    dvar = np.reshape(sum_to_shape(np.broadcast_to(dvar, d.shape), var.shape), shape)
    return {"input": dx, "target": dx, "var": dvar}


_GAUSSIAN_EDGES = (
    Edge(
        "variance 0 (clamped to eps)",
        lambda c: {"input": ROW.copy(), "target": ROW + 0.5, "var": np.zeros(4)},
    ),
    Edge(
        "tiny variance 2^-22 below eps",
        lambda c: {"input": ROW.copy(), "target": ROW - 0.25, "var": np.full(4, 2.0**-22)},
    ),
    Edge(
        "variance exactly eps (the clamp's kink)",
        lambda c: {"input": ROW.copy(), "target": ROW + 1.0, "var": np.full(4, c["eps"])},
        inexact="eps = 1e-6 has no exact float32/float16/bfloat16 value: the rounded variance "
        "lies beside the clamp in the reference, while a framework clamping with eps cast to "
        "the dtype sits on it",
    ),
    Edge(
        "error 0 (input = target)",
        lambda c: {"input": ROW.copy(), "target": ROW.copy(), "var": vec(1, 0.5, 2, 0.25)},
    ),
)


def _gaussian_kinks(a, p):
    """The clamp max(var, eps) turns at var = eps."""
    var = a["var"]
    return [(var - p["eps"], np.abs(var) + p["eps"])]


def _gaussian_intermediates(a, p, c):
    """What the documented ½[log v + (x − y)²/v] forms on the way: the square, the quotient, 1/v
    (its backward multiplies by it) and (d²/v)/v (the var gradient's division part), each with
    the cotangent it carries backwards, and (d²/v)/v without it: a quotient's backward forms
    that before multiplying (torch's div backward is −grad·((a/b)/b)), so it overflows, and
    gives inf·0 = NaN, even where the cotangent is 0."""
    _, v = _variance(a, p)
    d2 = (a["input"] - a["target"]) ** 2
    g = np.broadcast_to(np.asarray(c), d2.shape)
    return [d2, d2 / v, g / v, g * d2 / v / v, d2 / v / v]


# --- generalized_kl_divergence ----------------------------------------------------------------
#
# optax.losses.generalized_kl_divergence (and its deprecated alias convex_kl_divergence): the
# Bregman divergence of f(u) = u log u − u between the target and the prediction e^x, summed over
# the last axis. Not torch's kl_div under any configuration: kl_div has no e^x − t term, so the two
# agree only where both Σ_j t_j = 1 and Σ_j e^{x_j} = 1 (then Σ_j (e^{x_j} − t_j) = 0).


def generalized_kl_divergence(a, p) -> Elementwise:
    """ℓ_n = Σ_j [t_j (log t_j − x_j) + e^{x_j} − t_j], over the last axis.

    Domain: x = ``input`` holds log-predictions (any real; the prediction e^x need not be
    normalised), t = ``target`` probabilities in [0, 1] (enforced; rows need not sum to 1: the
    divergence is defined for unnormalised measures). A zero target's t (log t − x) is absent
    (0·log 0 = 0, also at x = −inf). ℓ ≥ 0, with 0 exactly where e^x = t. Smooth:
    ∂ℓ/∂x_j = e^{x_j} − t_j, ∂ℓ/∂t_j = log t_j − x_j (−inf at t_j = 0, NaN at t_j = 0 and
    x_j = −inf, where the limit depends on the path).
    """
    x, t = a["input"], a["target"]
    return Elementwise(np.sum(times_or_zero(t, np.log(t) - x) + np.exp(x) - t, axis=-1))


def generalized_kl_divergence_vjp(a, p, g):
    x, t = a["input"], a["target"]
    g = np.asarray(g)[..., None]
    return {"input": g * (np.exp(x) - t), "target": g * (np.log(t) - x)}


def _gkl_value(a, p, loss):
    x, t = a["input"], a["target"]
    terms = times_or_zero(t, np.abs(np.log(t)) + np.abs(x)) + np.exp(x) + t
    return np.sum(terms, axis=-1)


def _gkl_grads(a, p, c):
    x, t = a["input"], a["target"]
    cc = np.asarray(c)[..., None]
    # ∂/∂t of the documented t log t − t x + e^x − t is formed as (log t − x + 1) − 1 (the
    # product rule on t log t, then the −t): the two 1s cancel where log t ≈ x
    dt = np.abs(np.log(t)) + np.abs(x) + 2.0
    return {"input": cc * (np.exp(x) + t), "target": cc * dt}


_GKL_ROWS = np.array([[-1.0, -2.0, -0.5], [0.0, -1.0, 0.5], [-0.25, -0.25, -3.0], [1.0, 0.0, -1.0]])
_GKL_TARGET = np.array([[0.0, 1.0, 0.5], [0.25, 0.0, 1.0], [1.0, 1.0, 0.0], [0.5, 0.25, 0.25]])

_GKL_EDGES = (
    Edge(
        "target probabilities exactly 0 and 1",
        lambda c: {"input": _GKL_ROWS.copy(), "target": _GKL_TARGET.copy()},
    ),
    Edge(
        "input -inf where the target is 0 (absent term, e^x = 0)",
        lambda c: {"input": np.where(_GKL_TARGET == 0, -INF, _GKL_ROWS), "target": _GKL_TARGET},
    ),
    Edge(
        "input -inf where the target is positive (infinite loss)",
        lambda c: {"input": np.where(_GKL_TARGET == 1, -INF, _GKL_ROWS), "target": _GKL_TARGET},
    ),
    Edge(
        "prediction equal to the target, e^0 = 1 (ℓ = 0 by cancellation of e^x − t)",
        lambda c: {"input": np.zeros((4, 3)), "target": np.ones((4, 3))},
    ),
    Edge(
        "log-predictions 16 (e^x overflows float16 and bfloat16 only at 89)",
        lambda c: {"input": np.full((4, 3), 16.0), "target": _GKL_TARGET.copy()},
    ),
)

LOSSES = (
    LossSpec(
        "kl_div",
        "distribution",
        "pointwise Kullback-Leibler divergence t (log t − x), with batchmean",
        (
            ArraySpec(
                "input",
                LOG_PROBABILITY,
                differentiable=True,
                description="log-probabilities of the model",
            ),
            ArraySpec(
                "target",
                ByParam("log_target", {False: PROBABILITY, True: LOG_PROBABILITY}),
                differentiable=True,
                description="probabilities, or log-probabilities",
            ),
        ),
        (
            P.flag("log_target", False, "the target is given as log-probabilities"),
            P.reduction("batchmean"),
        ),
        same_shape("input", "target", scalar=False),
        kl_div,
        kl_div_vjp,
        smooth_at=lambda a, p, h: p["log_target"] or bool(np.all(a["target"] > 4 * h)),
        term_scale=TermScale(_kl_value, _kl_grads),
        edges=_KL_EDGES,
        element_kind="elementwise",
    ),
    LossSpec(
        "poisson_nll_loss",
        "distribution",
        "Poisson negative log-likelihood, with optional Stirling term",
        (
            ArraySpec(
                "input",
                ByParam("log_input", {True: REAL, False: RATE}),
                differentiable=True,
                description="log-rate, or rate",
            ),
            ArraySpec("target", COUNT, differentiable=False, description="observed count"),
        ),
        (
            P.flag("log_input", True, "input is the log of the rate"),
            P.flag("full", False, "add the log(y!) term (Stirling approximation)"),
            P.nonnegative(
                "eps", 1e-8, (1e-8,), "added to the rate inside the log when log_input is False"
            ),
            Param(
                "full_term",
                "stirling",
                "be 'stirling' or 'lgamma'",
                lambda v: v in ("stirling", "lgamma"),
                grid=("stirling", "lgamma"),
                description="reference only: the documented Stirling term, or exact lgamma(y+1)",
                api=False,
                applies_when={"full": True},
            ),
            P.reduction(),
        ),
        same_shape("input", "target"),
        poisson_nll_loss,
        poisson_nll_loss_vjp,
        smooth_at=lambda a, p, h: p["log_input"] or bool(np.all(a["input"] + p["eps"] > 4 * h)),
        term_scale=TermScale(_poisson_value, _poisson_grads),
        edges=_POISSON_EDGES,
        element_kind="elementwise",
        unbatched=("scalar", "(N)"),
    ),
    LossSpec(
        "gaussian_nll_loss",
        "distribution",
        "Gaussian negative log-likelihood with predicted variance",
        (
            ArraySpec("input", REAL, differentiable=True, description="predicted mean"),
            ArraySpec("target", REAL, differentiable=True, description="observation"),
            ArraySpec("var", VARIANCE, differentiable=True, description="predicted variance"),
        ),
        (
            P.flag("full", False, "add the constant ½ log 2π"),
            P.nonnegative("eps", 1e-6, (1e-6,), "lower clamp of the variance"),
            P.reduction(),
        ),
        (
            Layout("(N, D)", {"input": ("N", "D"), "target": ("N", "D"), "var": ("N", "D")}),
            Layout("(N, D), var (N)", {"input": ("N", "D"), "target": ("N", "D"), "var": ("N",)}),
            Layout(
                "(N, D), var (N, 1)", {"input": ("N", "D"), "target": ("N", "D"), "var": ("N", 1)}
            ),
            Layout("(N)", {"input": ("N",), "target": ("N",), "var": ("N",)}),
            Layout("(N), var ()", {"input": ("N",), "target": ("N",), "var": ()}),
        ),
        gaussian_nll_loss,
        gaussian_nll_loss_vjp,
        smooth_at=lambda a, p, h: bool(np.all(np.abs(a["var"] - p["eps"]) > 4 * h)),
        term_scale=TermScale(_gaussian_value, _gaussian_grads),
        regimes=RegimeRules(kinks=_gaussian_kinks, intermediates=_gaussian_intermediates),
        edges=_GAUSSIAN_EDGES,
        element_kind="elementwise",
    ),
    LossSpec(
        "generalized_kl_divergence",
        "distribution",
        "generalized KL divergence Σ_j t_j (log t_j − x_j) + e^{x_j} − t_j over the last axis",
        (
            ArraySpec(
                "input",
                LOG_PROBABILITY,
                differentiable=True,
                description="log-predictions (need not be normalised)",
            ),
            ArraySpec(
                "target",
                PROBABILITY,
                differentiable=True,
                description="target probabilities (rows need not sum to 1)",
            ),
        ),
        (P.reduction(),),
        (
            Layout("(D)", {"input": ("D",), "target": ("D",)}),
            Layout("(N, D)", {"input": ("N", "D"), "target": ("N", "D")}),
        ),
        generalized_kl_divergence,
        generalized_kl_divergence_vjp,
        smooth_at=lambda a, p, h: bool(np.all(a["target"] > 4 * h)),
        term_scale=TermScale(_gkl_value, _gkl_grads),
        edges=_GKL_EDGES,
        element_kind="per_vector",
        unbatched=("(D)", "(N, D)"),
    ),
)
