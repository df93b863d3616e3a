"""Binary (per-element, two-class) losses on probabilities, logits or scores.

Conventions shared here: a term selected by a label is *absent* when its label weight is 0, so
y·log p with y = 0 is 0 even at p = 0 (not 0·(−inf)); so is an element whose ``weight`` is 0, as
a zero class weight is in cross_entropy and nll_loss. No clamps: −log 0 is +inf, and the
frameworks' clamps (torch's log ≥ −100, Keras' clip to [ε, 1 − ε]) are recorded as their
conventions.
The margin losses on scores (hinge, squared hinge, perceptron) read their labels as signs s = ±1;
at a hinge max(0, z) with z = 0 they take the minimum-norm subgradient, 0.
``mean`` divides by the number of elements, with or without ``weight`` (torch's documented rule).
"""

from __future__ import annotations

import numpy as np

from . import params as P
from ._math import sigmoid, softplus, times_or_zero
from .domains import BINARY_LABEL, LOGIT, PROBABILITY, REAL, SIGN_LABEL, WEIGHT
from .edges import BIG, INF, Config, Edge, has, vec
from .layouts import same_shape
from .regimes import RegimeRules
from .spec import ArraySpec, ByParam, Elementwise, Layout, LossSpec, Param
from .terms import NEAR_HINGE, TermScale, abs_loss, abs_vjp


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


# --- hinge_loss, squared_hinge, perceptron_loss -----------------------------------------------


def _signs(a, p) -> np.ndarray:
    """The label as a sign s = ±1: the target itself (labels='sign'), or 2y − 1 for a {0, 1}
    label (labels='binary', as Keras' Hinge converts a tensor of 0s and 1s)."""
    y = a["target"]
    return 2.0 * y - 1.0 if p.get("labels", "sign") == "binary" else y


def _hinge_arg(a, p) -> np.ndarray:
    """z = 1 − s·x, the argument of the hinge."""
    return 1.0 - _signs(a, p) * a["input"]


def hinge_loss(a, p) -> Elementwise:
    """ℓ = max(0, 1 − s·x), the binary (SVM) hinge loss with margin 1.

    s = y ∈ {−1, 1} (``labels='sign'``, optax.losses.hinge_loss), or s = 2y − 1 for y ∈ {0, 1}
    (``labels='binary'``, how Keras' Hinge reads a tensor of 0s and 1s). Domain: x real scores
    (±inf allowed), labels enforced. ∂ℓ/∂x = −s where 1 − s·x > 0, 0 where it is < 0; at the
    hinge 1 − s·x = 0 the minimum-norm subgradient, 0.
    """
    return Elementwise(np.maximum(_hinge_arg(a, p), 0.0))


def hinge_loss_vjp(a, p, g):
    z = _hinge_arg(a, p)
    return {"input": g * np.where(z > 0, -_signs(a, p), 0.0)}


def squared_hinge(a, p) -> Elementwise:
    """ℓ = max(0, 1 − s·x)², the squared hinge loss (Keras SquaredHinge).

    s as in hinge_loss (±1 labels, or 2y − 1 for {0, 1} labels). Domain: x real scores, labels
    enforced. Continuously differentiable: ∂ℓ/∂x = −2s·max(0, 1 − s·x), 0 at the hinge from
    both sides (no subgradient to choose).
    """
    return Elementwise(np.maximum(_hinge_arg(a, p), 0.0) ** 2)


def squared_hinge_vjp(a, p, g):
    h = np.maximum(_hinge_arg(a, p), 0.0)
    return {"input": g * np.where(h > 0, -2.0 * _signs(a, p) * h, 0.0)}


def perceptron_loss(a, p) -> Elementwise:
    """ℓ = max(0, −y·x), the perceptron criterion (optax.losses.perceptron_loss).

    Domain: x real scores (±inf allowed), y ∈ {−1, 1} (enforced). ∂ℓ/∂x = −y where y·x < 0, 0
    where y·x > 0; at x = 0 (the hinge) the minimum-norm subgradient, 0.
    """
    return Elementwise(np.maximum(-a["target"] * a["input"], 0.0))


def perceptron_loss_vjp(a, p, g):
    y = a["target"]
    return {"input": g * np.where(-y * a["input"] > 0, -y, 0.0)}


def _hinge_near(a, p):
    """The size of the terms 1 and s·x, and where the hinge may be evaluated on its active side
    by correct arithmetic (z within NEAR_HINGE of those terms of 0, or above)."""
    size = 1.0 + np.abs(a["input"])
    return size, _hinge_arg(a, p) >= -NEAR_HINGE * size


def _hinge_value(a, p, loss):
    size, near = _hinge_near(a, p)
    return np.where(near, size, 0.0)


def _hinge_grads(a, p, c):
    _, near = _hinge_near(a, p)
    return {"input": np.where(near, c, 0.0)}


def _squared_hinge_value(a, p, loss):
    # h² of an h with absolute error u·size: 2·h·size, and h² itself
    size, near = _hinge_near(a, p)
    h = np.maximum(_hinge_arg(a, p), 0.0)
    return np.where(near, h * (h + 2.0 * size), 0.0)


def _squared_hinge_grads(a, p, c):
    size, near = _hinge_near(a, p)
    h = np.maximum(_hinge_arg(a, p), 0.0)
    return {"input": np.where(near, 2.0 * c * (h + size), 0.0)}


def _hinge_kinks(a, p):
    """The hinge 1 − s·x at 0, from the terms 1 and s·x."""
    return [(_hinge_arg(a, p), 1.0 + np.abs(a["input"]))]


def _perceptron_kinks(a, p):
    """The hinge −y·x at 0, i.e. x = 0 (−y·x is exact, so only x = 0 itself is on it)."""
    return [(a["input"], np.abs(a["input"]))]


def _as_labels(c: Config, signs: np.ndarray) -> np.ndarray:
    """±1 signs as the configuration's labels: themselves, or (s + 1)/2 for labels='binary'."""
    return (signs + 1.0) / 2.0 if c.get("labels", "sign") == "binary" else signs.copy()


_ALTERNATING = vec(1, -1, 1, -1)


def _score_edges(at_hinge: str, hinge_input: float) -> tuple[Edge, ...]:
    """Scores on the hinge (s·x = ``hinge_input`` for every label), zero where that is not the
    hinge, and ±BIG and ±inf on both sides of it."""
    edges = [
        Edge(
            at_hinge,
            lambda c: {
                "input": hinge_input * _ALTERNATING,
                "target": _as_labels(c, _ALTERNATING),
            },
        )
    ]
    if hinge_input != 0:
        edges.append(
            Edge("input 0", lambda c: {"input": np.zeros(4), "target": _as_labels(c, _ALTERNATING)})
        )
    for what, x in ((f"inputs ±{BIG:g}", BIG), ("inputs ±inf", INF)):
        edges.append(
            Edge(
                f"{what}, on both sides of the hinge",
                lambda c, x=x: {
                    "input": vec(x, -x, x, -x),
                    "target": _as_labels(c, vec(1, 1, -1, -1)),
                },
            )
        )
    return tuple(edges)


_HINGE_EDGES = _score_edges("s·x exactly 1 (hinge kink)", 1.0)
_PERCEPTRON_EDGES = _score_edges("input 0 (hinge kink)", 0.0)


# --- sparsemax_loss ---------------------------------------------------------------------------
#
# optax.losses.sparsemax_loss (Blondel, Martins & Niculae 2020, "Learning with Fenchel-Young
# losses", sec. 4.4): the binary Fenchel-Young loss of sparsemax, sparse_plus(±x). Piecewise
# quadratic and C¹: its gradient, a clipped line, is continuous, so no subgradient is chosen; the
# second derivative jumps at s = ±1 (declared as kinks: a framework's branch there is its own).


def _sparse_arg(a) -> np.ndarray:
    """s = x for label 0, −x for label 1 (the score of the wrong side)."""
    return np.where(a["target"] == 1.0, -a["input"], a["input"])


def sparsemax_loss(a, p) -> Elementwise:
    """ℓ = sparse_plus(s), s = x (y = 0) or −x (y = 1): 0 for s ≤ −1, (s + 1)²/4 for −1 < s < 1,
    s for s ≥ 1.

    The binary sparsemax (Fenchel-Young) loss: 0 exactly where sparse_sigmoid(x) =
    clip((x + 1)/2, 0, 1) equals the label, and the two-class multiclass sparsemax loss of the
    scores (0, x). Domain: x real scores (±inf allowed), y ∈ {0, 1} (enforced). Continuously
    differentiable: ∂ℓ/∂x = ±clip((s + 1)/2, 0, 1) (sign of s in x), with no kink of the first
    derivative to choose a subgradient at; the second derivative jumps at s = ±1.
    """
    s = _sparse_arg(a)
    quadratic = (np.clip(s, -1.0, 1.0) + 1.0) ** 2 / 4.0
    return Elementwise(np.where(s >= 1.0, s, np.where(s <= -1.0, 0.0, quadratic)))


def sparsemax_loss_vjp(a, p, g):
    s = _sparse_arg(a)
    sign = np.where(a["target"] == 1.0, -1.0, 1.0)
    return {"input": g * sign * np.clip((s + 1.0) / 2.0, 0.0, 1.0)}


def _sparse_near(a):
    """The size 1 + |x| of the terms of s + 1, and where correct arithmetic may leave the zero
    branch (s within NEAR_HINGE of that size of −1, or above)."""
    size = 1.0 + np.abs(a["input"])
    return size, _sparse_arg(a) + 1.0 >= -NEAR_HINGE * size


def _sparsemax_value(a, p, loss):
    size, near = _sparse_near(a)
    # (s + 1)² / 4 of an s + 1 with absolute error u·size: (s + 1)·size/2, and the value itself
    return np.where(near, np.abs(loss) + size * (np.abs(_sparse_arg(a)) + 1.0), 0.0)


def _sparsemax_grads(a, p, c):
    size, near = _sparse_near(a)
    return {"input": np.where(near, c * size, 0.0)}


def _sparsemax_kinks(a, p):
    """The branch points s = −1 and s = 1, from the terms 1 and x."""
    s, size = _sparse_arg(a), 1.0 + np.abs(a["input"])
    return [(s + 1.0, size), (s - 1.0, size)]


_SPARSE_LABELS = vec(0, 1, 0, 1)
_SPARSEMAX_EDGES = (
    Edge(
        "s = −1 (the zero branch meets the quadratic)",
        lambda c: {"input": vec(-1, 1, -1, 1), "target": _SPARSE_LABELS.copy()},
    ),
    Edge(
        "s = 1 (the quadratic meets the linear branch)",
        lambda c: {"input": vec(1, -1, 1, -1), "target": _SPARSE_LABELS.copy()},
    ),
    Edge("input 0 (ℓ = ¼)", lambda c: {"input": np.zeros(4), "target": _SPARSE_LABELS.copy()}),
    Edge(
        f"inputs ±{BIG:g}, on both sides",
        lambda c: {"input": vec(BIG, -BIG, -BIG, BIG), "target": _SPARSE_LABELS.copy()},
    ),
    Edge(
        "inputs ±inf, on both sides",
        lambda c: {"input": vec(INF, -INF, -INF, INF), "target": _SPARSE_LABELS.copy()},
    ),
)


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

_SCORE = ArraySpec("input", REAL, differentiable=True, description="score")
_HINGE_LABEL = ArraySpec(
    "target",
    ByParam("labels", {"sign": SIGN_LABEL, "binary": BINARY_LABEL}),
    differentiable=False,
    description="label −1 or 1 (labels='sign'), or 0 or 1 read as 2y − 1 (labels='binary')",
)
_LABELS = Param(
    "labels",
    "sign",
    "be 'sign' or 'binary'",
    lambda v: v in ("sign", "binary"),
    grid=("sign", "binary"),
    description="labels in {−1, 1}, or in {0, 1} read as 2y − 1 (Keras converts 0/1 tensors)",
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
    LossSpec(
        "hinge_loss",
        "binary",
        "binary hinge loss max(0, 1 − s·x) with labels ±1 (or 0/1 read as 2y − 1)",
        (_SCORE, _HINGE_LABEL),
        (_LABELS, P.reduction()),
        same_shape("input", "target"),
        hinge_loss,
        hinge_loss_vjp,
        smooth_at=lambda a, p, h: bool(np.all(np.abs(_hinge_arg(a, p)) > 4 * h)),
        term_scale=TermScale(_hinge_value, _hinge_grads),
        regimes=RegimeRules(kinks=_hinge_kinks),
        edges=_HINGE_EDGES,
        element_kind="elementwise",
        unbatched=("scalar", "(N)"),
    ),
    LossSpec(
        "squared_hinge",
        "binary",
        "squared hinge loss max(0, 1 − s·x)² with labels ±1 (or 0/1 read as 2y − 1)",
        (_SCORE, _HINGE_LABEL),
        (_LABELS, P.reduction()),
        same_shape("input", "target"),
        squared_hinge,
        squared_hinge_vjp,
        term_scale=TermScale(_squared_hinge_value, _squared_hinge_grads),
        edges=_HINGE_EDGES,
        element_kind="elementwise",
        unbatched=("scalar", "(N)"),
    ),
    LossSpec(
        "perceptron_loss",
        "binary",
        "perceptron criterion max(0, −y·x) with labels ±1",
        (
            _SCORE,
            ArraySpec("target", SIGN_LABEL, differentiable=False, description="label −1 or 1"),
        ),
        (P.reduction(),),
        same_shape("input", "target"),
        perceptron_loss,
        perceptron_loss_vjp,
        smooth_at=lambda a, p, h: bool(np.all(np.abs(a["input"]) > 4 * h)),
        term_scale=TermScale(abs_loss, abs_vjp(perceptron_loss_vjp)),
        regimes=RegimeRules(kinks=_perceptron_kinks),
        edges=_PERCEPTRON_EDGES,
        element_kind="elementwise",
        unbatched=("scalar", "(N)"),
    ),
    LossSpec(
        "sparsemax_loss",
        "binary",
        "binary sparsemax loss sparse_plus(±x) with labels 0/1 (Fenchel-Young, C¹)",
        (
            _SCORE,
            ArraySpec("target", BINARY_LABEL, differentiable=False, description="label 0 or 1"),
        ),
        (P.reduction(),),
        same_shape("input", "target"),
        sparsemax_loss,
        sparsemax_loss_vjp,
        smooth_at=lambda a, p, h: bool(np.all(np.abs(np.abs(_sparse_arg(a)) - 1.0) > 4 * h)),
        term_scale=TermScale(_sparsemax_value, _sparsemax_grads),
        regimes=RegimeRules(kinks=_sparsemax_kinks),
        edges=_SPARSEMAX_EDGES,
        element_kind="elementwise",
        unbatched=("scalar", "(N)"),
    ),
)
