"""Regression losses: functions of the difference d = input − target, applied elementwise (of
log(1 + input) − log(1 + target) for the squared logarithmic error, and of d relative to the
target for the percentage error).

Every loss here has reduction ``mean`` dividing by the number of elements.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import params as P
from ._math import softplus
from .domains import LOG1P_ARGUMENT, NONZERO, REAL
from .edges import BIG, INF, ROW, Edge, has, vec
from .layouts import same_shape
from .regimes import RegimeRules
from .spec import ArraySpec, Elementwise, LossSpec
from .terms import TermScale, abs_loss, abs_vjp

_ARRAYS = (
    ArraySpec("input", REAL, differentiable=True, description="prediction"),
    ArraySpec("target", REAL, differentiable=True, description="ground truth"),
)
_LAYOUTS = same_shape("input", "target")


def _diff(a) -> np.ndarray:
    return a["input"] - a["target"]


def _pull_back(a, dloss_dd: np.ndarray, g: np.ndarray) -> dict[str, np.ndarray]:
    """d is input − target, so its cotangent goes to input and, negated, to target."""
    gd = g * dloss_dd
    return {"input": gd, "target": -gd}


def _away_from(values: np.ndarray, points: tuple[float, ...], h: float) -> bool:
    return all(bool(np.all(np.abs(values - p) > 4 * h)) for p in points)


# Term scales: d = x − y is computed with a relative error (x, y exact), so terms follow |d|.


def _abs_diff(a) -> np.ndarray:
    return np.abs(a["input"] - a["target"])


def _same_for_target(scale: np.ndarray) -> dict[str, np.ndarray]:
    return {"input": scale, "target": scale}


# Edge cases: ROW shifted by the errors named, against ROW.


def _error(offsets):
    return lambda c: {"input": ROW + np.asarray(offsets(c), dtype=np.float64), "target": ROW}


def _edges(*extra: Edge) -> tuple[Edge, ...]:
    """The edge cases every regression loss has, then its own."""
    return (
        Edge("error 0 (input = target)", _error(lambda c: [0.0] * 4)),
        Edge(
            f"errors ±{BIG:g} (overflow of squares and exponentials)",
            lambda c: {"input": vec(BIG, -BIG, 0, BIG), "target": vec(0, 0, BIG, -BIG)},
        ),
        Edge(
            "errors ±2^-6 (small, beside the kink of |d| at 0)",
            _error(lambda c: [2.0**-6, -(2.0**-6), 2.0**-6, 0.0]),
        ),
        *extra,
    )


def _at_param(param: str) -> Edge:
    return Edge(
        f"errors exactly ±{param} (where quadratic turns linear)",
        _error(lambda c: [c[param], -c[param], c[param], -c[param]]),
        when=has(param),
    )


# --- mse_loss ---------------------------------------------------------------------------------


def mse_loss(a, p) -> Elementwise:
    """ℓ = (x − y)².

    Domain: x, y real. Smooth everywhere: ∂ℓ/∂x = 2(x − y) = −∂ℓ/∂y.
    """
    return Elementwise(_diff(a) ** 2)


def mse_loss_vjp(a, p, g):
    return _pull_back(a, 2.0 * _diff(a), g)


# --- l2_loss ----------------------------------------------------------------------------------


def l2_loss(a, p) -> Elementwise:
    """ℓ = ½(x − y)², and ½x² without a target (y = 0).

    One definition serves both natives: optax.losses.l2_loss(predictions, targets=None) is this
    loss elementwise (0.5 · squared_error), and tf.nn.l2_loss(t) = Σ t²/2 is its ``sum`` without
    a target. Half of mse_loss, not a separate loss per framework: the natives differ only in the
    reduction and in whether a target is given, which are the configuration. Domain: x, y real.
    Smooth everywhere: ∂ℓ/∂x = x − y = −∂ℓ/∂y.
    """
    d = a["input"] - a["target"] if "target" in a else a["input"]
    return Elementwise(0.5 * d * d)


def _l2_square(a, p, c):
    """The square both natives form before halving it (optax: 0.5 · squared_error; tf.nn.l2_loss:
    Σ t² / 2): in float16 it overflows from an error of 256 on, where ½ d² stays representable up
    to 362."""
    d = a["input"] - a["target"] if "target" in a else a["input"]
    return [d * d]


def _no_target(c) -> bool:
    return not c.get("target")


def l2_loss_vjp(a, p, g):
    if "target" not in a:
        return {"input": g * a["input"]}
    return _pull_back(a, _diff(a), g)


# --- l1_loss ----------------------------------------------------------------------------------


def l1_loss(a, p) -> Elementwise:
    """ℓ = |x − y|.

    Domain: x, y real. Subgradient at x = y: the minimum-norm element of [−1, 1], i.e. 0
    (torch's sign(0) = 0 agrees; other choices there are a convention, not a mismatch).
    """
    return Elementwise(np.abs(_diff(a)))


def l1_loss_vjp(a, p, g):
    return _pull_back(a, np.sign(_diff(a)), g)


# --- huber_loss -------------------------------------------------------------------------------


def huber_loss(a, p) -> Elementwise:
    """ℓ = ½ d² if |d| ≤ δ, else δ (|d| − ½ δ), with d = x − y and δ = ``delta`` > 0.

    Domain: x, y real. Continuously differentiable: ∂ℓ/∂d = clip(d, −δ, δ); only the second
    derivative jumps at |d| = δ, so no subgradient choice is needed.
    """
    d, delta = _diff(a), p["delta"]
    ad = np.abs(d)
    return Elementwise(np.where(ad <= delta, 0.5 * d * d, delta * (ad - 0.5 * delta)))


def huber_loss_vjp(a, p, g):
    return _pull_back(a, np.clip(_diff(a), -p["delta"], p["delta"]), g)


def _huber_value(a, p, loss):
    d, delta = _abs_diff(a), p["delta"]
    return np.where(d <= delta, 0.5 * d * d, delta * (d + 0.5 * delta))


def _huber_grads(a, p, c):
    # optax's 0.5·q² + δ·(|d| − q), q = min(|d|, δ): its gradient adds and removes δ·sign(d)
    delta = p["delta"]
    return _same_for_target(c * (np.minimum(_abs_diff(a), delta) + delta))


# --- smooth_l1_loss ---------------------------------------------------------------------------


def smooth_l1_loss(a, p) -> Elementwise:
    """ℓ = ½ d² / β if |d| < β, else |d| − ½ β, with d = x − y and β = ``beta`` ≥ 0.

    Domain: x, y real. β = 0 is exactly ℓ = |d| (torch documents it as equivalent to l1_loss). For β > 0,
    smooth_l1(β) = huber(δ=β) / β. Subgradient: for β > 0 the loss is C¹ (∂ℓ/∂d = clip(d/β, −1, 1));
    for β = 0 the kink at d = 0 takes the minimum-norm subgradient, 0.
    """
    d, beta = _diff(a), p["beta"]
    ad = np.abs(d)
    if beta == 0:
        return Elementwise(ad)
    return Elementwise(np.where(ad < beta, 0.5 * d * d / beta, ad - 0.5 * beta))


def smooth_l1_loss_vjp(a, p, g):
    d, beta = _diff(a), p["beta"]
    slope = np.sign(d) if beta == 0 else np.clip(d / beta, -1.0, 1.0)
    return _pull_back(a, slope, g)


def _smooth_l1_value(a, p, loss):
    d, beta = _abs_diff(a), p["beta"]
    if beta == 0:
        return d
    return np.where(d < beta, 0.5 * d * d / beta, d + 0.5 * beta)


def _smooth_l1_grads(a, p, c):
    # smooth_l1(β) computed as huber(δ = β)/β, as a framework without it does: terms up to 1
    beta = p["beta"]
    slope = 1.0 if beta == 0 else np.minimum(_abs_diff(a) / beta, 1.0) + 1.0
    return _same_for_target(c * slope)


# --- log_cosh ---------------------------------------------------------------------------------


def log_cosh(a, p) -> Elementwise:
    """ℓ = log(cosh(x − y)).

    Domain: x, y real. Evaluated as log1p(2 sinh²(d/2)) for |d| < 1, which keeps the small-|d|
    value (≈ d²/2) to full relative accuracy, and as |d| + softplus(−2|d|) − log 2 beyond, which
    does not overflow for large |d|. Smooth: ∂ℓ/∂d = tanh(d).
    """
    ad = np.abs(_diff(a))
    near = np.log1p(2.0 * np.sinh(0.5 * np.minimum(ad, 1.0)) ** 2)
    far = ad + softplus(-2.0 * ad) - np.log(2.0)
    return Elementwise(np.where(ad < 1.0, near, far))


def log_cosh_vjp(a, p, g):
    return _pull_back(a, np.tanh(_diff(a)), g)


def _log_cosh_value(a, p, loss):
    # Keras: d + softplus(−2d) − log 2 at the signed d (terms up to 3|d|); optax:
    # logaddexp(d, −d) − log 2. Both cancel to ~d²/2 at small d.
    d = _abs_diff(a)
    return 3.0 * d + softplus(-2.0 * d) + np.log(2.0)


def _log_cosh_grads(a, p, c):
    # 1 − 2σ(−2d) (Keras' autodiff) or σ(2d) − σ(−2d) (optax): terms of size ≤ 3, each an exp
    # of an argument of size 2|d| (relative error ~u·2|d|).
    return _same_for_target(3.0 * c * (1.0 + 2.0 * _abs_diff(a)))


# --- mean_squared_logarithmic_error -----------------------------------------------------------


def _log_ratio(a) -> np.ndarray:
    """D = log(1 + x) − log(1 + y), each log by log1p (accurate for x, y near 0)."""
    return np.log1p(a["input"]) - np.log1p(a["target"])


def mean_squared_logarithmic_error(a, p) -> Elementwise:
    """ℓ = (log(1 + x) − log(1 + y))², x the prediction, y the target.

    Domain: x, y > −1 (enforced: log(1 + ·) is undefined at and below −1), +inf allowed; the loss
    is meant for values ≥ 0, and is defined on all of (−1, ∞) without a clamp (Keras' clip of x
    and y to ε = 1e-7 is its convention). Smooth on its domain: ∂ℓ/∂x = 2D/(1 + x),
    ∂ℓ/∂y = −2D/(1 + y), D = log(1 + x) − log(1 + y); no subgradient to choose. x = y = +inf
    gives inf − inf = NaN.
    """
    return Elementwise(_log_ratio(a) ** 2)


def mean_squared_logarithmic_error_vjp(a, p, g):
    twice = 2.0 * g * _log_ratio(a)
    return {"input": twice / (1.0 + a["input"]), "target": -twice / (1.0 + a["target"])}


def _log1p_error(x) -> np.ndarray:
    """The absolute error, in units of u, of log(1 + x) as a framework evaluates it: the log of
    a rounded x + 1 (Keras' log(x + 1)) is off by up to u, the log's own rounding u·|log(1 + x)|."""
    return 1.0 + np.abs(np.log1p(x))


def _msle_value(a, p, loss):
    # D² of a D whose error is u·S: 2|D|·S, and D² itself
    s = _log1p_error(a["input"]) + _log1p_error(a["target"])
    return np.abs(loss) + 2.0 * np.abs(_log_ratio(a)) * s


def _msle_grads(a, p, c):
    # 2D/(1 + x): D carries u·S; the product, the rounded 1 + x and the quotient u·|D| each
    s = _log1p_error(a["input"]) + _log1p_error(a["target"])
    d = np.abs(_log_ratio(a))
    return {name: 2.0 * c * (s + 3.0 * d) / (1.0 + a[name]) for name in ("input", "target")}


# --- mean_absolute_percentage_error -------------------------------------------------------------


def mean_absolute_percentage_error(a, p) -> Elementwise:
    """ℓ = 100·|x − y| / |y|, the absolute error as a percentage of the target y (x the prediction).

    The factor 100 makes it a percentage, as the name says and Keras computes (scikit-learn's
    mean_absolute_percentage_error returns the fraction, ℓ/100). Domain: x real, y ≠ 0
    (enforced: the division is undefined at 0; Keras' divisor max(|y|, ε) is its convention);
    an infinite y gives inf/inf = NaN, value and gradients. ∂ℓ/∂x = 100·sign(x − y)/|y|,
    ∂ℓ/∂y = −100·sign(x − y)/|y| − 100·|x − y|·sign(y)/y², which is −100·sign(x − y)·x/(y·|y|)
    (evaluated so: the two terms cancel where x is near 0). Subgradient at x = y (the kink of
    |x − y|): the minimum-norm one, 0 for both (the second term of ∂ℓ/∂y is 0 there).
    """
    return Elementwise(100.0 * np.abs(_diff(a)) / np.abs(a["target"]))


def mean_absolute_percentage_error_vjp(a, p, g):
    x, y = a["input"], a["target"]
    sign = np.sign(_diff(a))
    dx = 100.0 * g * sign / np.abs(y)
    dy = -100.0 * g * sign * (x / y) / np.abs(y)
    # where y is infinite the loss is inf/inf = NaN, and so is its gradient (the closed forms
    # would give 0 there)
    undefined = np.isinf(y)
    return {"input": np.where(undefined, np.nan, dx), "target": np.where(undefined, np.nan, dy)}


def _mape_grads(a, p, c):
    # Keras' autodiff of |(y − x)/|y||: the quotient rule's two terms, 1/|y| and |d|/y², which
    # cancel where x is near 0
    y = np.abs(a["target"])
    dx = 100.0 * c / y
    return {"input": dx, "target": dx + 100.0 * c * _abs_diff(a) / (y * y)}


def _mape_intermediates(a, p, c):
    """y², the denominator of the target gradient's second term."""
    return [a["target"] * a["target"]]


# Regimes: each non-smooth point is a value of d = x − y, computed from terms of size |x| + |y|.


def _size(a, extra: float = 0.0) -> np.ndarray:
    return np.abs(a["input"]) + np.abs(a["target"]) + extra


def _kink_at_zero(a, p):
    """|d| at 0 (l1, and smooth_l1 with β = 0)."""
    return [(_diff(a), _size(a))]


def _kink_at_param(name: str):
    """|d| = the parameter, where the quadratic part turns linear (huber's δ, smooth_l1's β)."""

    def kinks(a, p):
        if p[name] == 0:
            return _kink_at_zero(a, p)
        return [(np.abs(_diff(a)) - p[name], _size(a, p[name]))]

    return kinks


# Shared by every regression loss: each element of the result is one pair (x, y), and a scalar
# input is the unbatched form of a batch (N).
_COMMON = dict(element_kind="elementwise", unbatched=("scalar", "(N)"))


LOSSES = (
    LossSpec(
        "mse_loss",
        "regression",
        "squared error (x − y)²",
        _ARRAYS,
        (P.reduction(),),
        _LAYOUTS,
        mse_loss,
        mse_loss_vjp,
        term_scale=TermScale(abs_loss, abs_vjp(mse_loss_vjp)),
        edges=_edges(),
        **_COMMON,
    ),
    LossSpec(
        "l2_loss",
        "regression",
        "half squared error ½(x − y)² (½x² without a target): optax l2_loss, tf.nn.l2_loss",
        (
            ArraySpec("input", REAL, differentiable=True, description="prediction"),
            ArraySpec(
                "target",
                REAL,
                differentiable=True,
                optional=True,
                description="ground truth (absent: 0, as optax's targets=None and tf.nn.l2_loss)",
            ),
        ),
        (P.reduction(),),
        _LAYOUTS,
        l2_loss,
        l2_loss_vjp,
        term_scale=TermScale(abs_loss, abs_vjp(l2_loss_vjp)),
        regimes=RegimeRules(intermediates=_l2_square),
        edges=(
            *(dataclasses.replace(e, when=has("target")) for e in _edges()),
            Edge("input 0 (no target)", lambda c: {"input": np.zeros(4)}, when=_no_target),
            Edge(
                f"inputs ±{BIG:g} (no target; the squares overflow float16)",
                lambda c: {"input": vec(BIG, -BIG, 0.5, -2.0)},
                when=_no_target,
            ),
            Edge(
                "inputs ±inf against finite targets",
                lambda c: {"input": vec(INF, -INF, 0.5, -2.0), "target": vec(0, 1, 0.5, -2.0)},
            ),
        ),
        **_COMMON,
    ),
    LossSpec(
        "l1_loss",
        "regression",
        "absolute error |x − y|",
        _ARRAYS,
        (P.reduction(),),
        _LAYOUTS,
        l1_loss,
        l1_loss_vjp,
        smooth_at=lambda a, p, h: _away_from(_diff(a), (0.0,), h),
        term_scale=TermScale(abs_loss, abs_vjp(l1_loss_vjp)),
        regimes=RegimeRules(kinks=_kink_at_zero),
        edges=_edges(),
        **_COMMON,
    ),
    LossSpec(
        "huber_loss",
        "regression",
        "quadratic within δ, linear beyond",
        _ARRAYS,
        (
            P.positive(
                "delta", 1.0, (1.0, 0.5), "where the quadratic part turns linear", kink=True
            ),
            P.reduction(),
        ),
        _LAYOUTS,
        huber_loss,
        huber_loss_vjp,
        smooth_at=lambda a, p, h: _away_from(np.abs(_diff(a)), (p["delta"],), h),
        term_scale=TermScale(_huber_value, _huber_grads),
        regimes=RegimeRules(kinks=_kink_at_param("delta")),
        edges=_edges(_at_param("delta")),
        **_COMMON,
    ),
    LossSpec(
        "smooth_l1_loss",
        "regression",
        "Huber divided by β; |x − y| at β = 0",
        _ARRAYS,
        (
            P.nonnegative(
                "beta", 1.0, (1.0, 0.0, 0.5), "where the quadratic part turns linear", kink=True
            ),
            P.reduction(),
        ),
        _LAYOUTS,
        smooth_l1_loss,
        smooth_l1_loss_vjp,
        smooth_at=lambda a, p, h: (
            _away_from(np.abs(_diff(a)), (p["beta"],), h) and _away_from(_diff(a), (0.0,), h)
        ),
        term_scale=TermScale(_smooth_l1_value, _smooth_l1_grads),
        regimes=RegimeRules(kinks=_kink_at_param("beta")),
        edges=_edges(_at_param("beta")),
        **_COMMON,
    ),
    LossSpec(
        "mean_squared_logarithmic_error",
        "regression",
        "squared error of log(1 + x) against log(1 + y) (Keras MeanSquaredLogarithmicError)",
        (
            ArraySpec("input", LOG1P_ARGUMENT, differentiable=True, description="prediction"),
            ArraySpec("target", LOG1P_ARGUMENT, differentiable=True, description="ground truth"),
        ),
        (P.reduction(),),
        _LAYOUTS,
        mean_squared_logarithmic_error,
        mean_squared_logarithmic_error_vjp,
        term_scale=TermScale(_msle_value, _msle_grads),
        edges=(
            Edge(
                "input = target",
                lambda c: {"input": vec(0.0, 0.5, 3.0, 8.0), "target": vec(0.0, 0.5, 3.0, 8.0)},
            ),
            Edge(
                "zeros against positive values (the domain's intended lower end)",
                lambda c: {"input": vec(0.0, 1.0, 0.0, 3.0), "target": vec(1.0, 0.0, 0.0, 0.0)},
            ),
            Edge(
                "values between −1 and 0",
                lambda c: {
                    "input": vec(-0.5, -0.75, 0.25, -0.25),
                    "target": vec(0.5, -0.5, -0.75, 0.0),
                },
            ),
            Edge(
                f"values {BIG:g} (large logs) and +inf",
                lambda c: {"input": vec(BIG, 0.0, INF, INF), "target": vec(0.0, BIG, 1.0, INF)},
            ),
        ),
        **_COMMON,
    ),
    LossSpec(
        "mean_absolute_percentage_error",
        "regression",
        "100·|x − y| / |y|, the error in percent of the target (Keras MeanAbsolutePercentageError)",
        (
            ArraySpec("input", REAL, differentiable=True, description="prediction"),
            ArraySpec("target", NONZERO, differentiable=True, description="ground truth (≠ 0)"),
        ),
        (P.reduction(),),
        _LAYOUTS,
        mean_absolute_percentage_error,
        mean_absolute_percentage_error_vjp,
        smooth_at=lambda a, p, h: _away_from(_diff(a), (0.0,), h),
        term_scale=TermScale(abs_loss, _mape_grads),
        regimes=RegimeRules(kinks=_kink_at_zero, intermediates=_mape_intermediates),
        edges=(
            Edge(
                "error 0 (input = target, the kink)",
                lambda c: {"input": ROW + 1.0, "target": ROW + 1.0},
            ),
            Edge(
                "input 0 (100 % of every target)",
                lambda c: {"input": vec(0.0, 0.0, 0.0, 0.0), "target": vec(0.5, -2.0, BIG, -0.25)},
            ),
            Edge(
                "targets ±2^-24 (divisors below float16's normal range)",
                lambda c: {
                    "input": vec(1.0, -1.0, 0.0, 2.0**-24),
                    "target": vec(2.0**-24, -(2.0**-24), 2.0**-24, -(2.0**-24)),
                },
            ),
            Edge(
                "targets ±2^-10 (small divisors)",
                lambda c: {
                    "input": vec(1.0, -1.0, 0.0, 2.0**-10),
                    "target": vec(2.0**-10, -(2.0**-10), 2.0**-10, -(2.0**-10)),
                },
            ),
            Edge(
                "inputs ±inf, targets ±inf",
                lambda c: {"input": vec(INF, -INF, 1.0, INF), "target": vec(1.0, 2.0, INF, -INF)},
            ),
        ),
        **_COMMON,
    ),
    LossSpec(
        "log_cosh",
        "regression",
        "log(cosh(x − y)) (no torch function; Keras LogCosh, optax log_cosh)",
        _ARRAYS,
        (P.reduction(),),
        _LAYOUTS,
        log_cosh,
        log_cosh_vjp,
        term_scale=TermScale(_log_cosh_value, _log_cosh_grads),
        edges=_edges(),
        **_COMMON,
    ),
)
