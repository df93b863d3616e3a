"""Multi-class losses over a class dimension: dim 1 of (N, C, d1, …), or dim 0 of an unbatched (C).

The formulas work on a class-last view of the input; ``_class_last``/``_class_back`` move the
class axis there and back, so (C), (N, C) and (N, C, d1, …, dk) share one code path.
"""

from __future__ import annotations

import numpy as np

from . import categorical as _categorical
from . import params as P
from ._math import log_softmax, sigmoid, softmax_complement, softplus, times_or_zero
from .domains import (
    CLASS_INDEX,
    LOG_PROBABILITY,
    LOGIT,
    MULTILABEL_TARGET,
    PROBABILITY,
    REAL,
    WEIGHT,
)
from .edges import BIG, INF, Config, Edge, has, is_, vec
from .layouts import class_layouts
from .regimes import RegimeRules
from .spec import ArraySpec, ByParam, Elementwise, Layout, LossSpec, Param
from .terms import NEAR_HINGE, TermScale, abs_loss, abs_vjp


def _class_axis(ndim: int) -> int:
    return 1 if ndim >= 2 else 0


def _class_last(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, _class_axis(x.ndim), -1)


def _class_back(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, -1, _class_axis(x.ndim))


def _class_weights(a, n_classes: int) -> np.ndarray:
    return a["weight"] if "weight" in a else np.ones(n_classes)


def _kept(target: np.ndarray, ignore_index) -> np.ndarray:
    """True for items that count: every item unless its target equals ignore_index."""
    return np.ones(target.shape, bool) if ignore_index is None else target != ignore_index


def _one_hot(target: np.ndarray, kept: np.ndarray, n_classes: int) -> np.ndarray:
    """One-hot rows for kept items, zero rows for ignored ones (class-last)."""
    safe = np.where(kept, target, 0)
    return (safe[..., None] == np.arange(n_classes)) & kept[..., None]


def _picked(x_last: np.ndarray, target: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """x[..., target] per item (class-last), 0 for ignored items."""
    safe = np.where(kept, target, 0)
    return np.where(kept, np.take_along_axis(x_last, safe[..., None], axis=-1)[..., 0], 0.0)


# Edge cases: four items of three classes, with exact logits and targets.

_LOGITS = np.array([[0.5, -1.0, 2.0], [0.0, 0.25, -0.5], [1.0, 1.0, 1.0], [-2.0, 3.0, 0.5]])
_INDEX = np.array([2, 0, 1, 1])
_SOFT = np.array([[0.5, 0.5, 0.0], [0.0, 0.25, 0.75], [1.0, 0.0, 0.0], [0.25, 0.25, 0.5]])
_BIG_LOGITS = np.array([[BIG, -BIG, 0], [-BIG, BIG, 0], [BIG, BIG, -BIG], [0, -BIG, BIG]])


def _with_column(value: float, at_target: bool) -> np.ndarray:
    """_LOGITS with ``value`` at each row's target class, or at the class after it."""
    x = _LOGITS.copy()
    cols = _INDEX if at_target else (_INDEX + 1) % 3
    x[np.arange(4), cols] = value
    return x


def _index_one_hot(index: np.ndarray, n_classes: int = 3) -> np.ndarray:
    return (index[:, None] == np.arange(n_classes)).astype(np.float64)


def _class_target(c: Config) -> np.ndarray:
    return _index_one_hot(_INDEX) if c.get("target_kind") == "probability" else _INDEX.copy()


def _ignore_all(c: Config) -> np.ndarray:
    return np.full(4, c["ignore_index"], dtype=np.int64)


def _ignoring(c: Config) -> bool:
    return c.get("ignore_index") is not None


def _single_class_fits(c: Config) -> bool:
    """Index targets without class weights (a weight vector has the canonical C = 3)."""
    return c.get("target_kind", "index") == "index" and not c.get("weight")


def _neginf_at_zero_weight_target(c: Config) -> dict[str, np.ndarray]:
    """-inf at row 1's target class (class 0), whose class weight is 0: a zero weight removes the
    term (as the reference defines it for every weighted loss), so the loss stays finite."""
    x = _LOGITS.copy()
    x[1, _INDEX[1]] = -INF
    return {"input": x, "target": _class_target(c), "weight": vec(0, 0.5, 2)}


def _margin_rows(margin: float) -> np.ndarray:
    """Rows where x_y − x_i = margin for one other class i (and the third far below)."""
    x = np.full((4, 3), -4.0)
    rows = np.arange(4)
    x[rows, _INDEX] = 1.0
    x[rows, (_INDEX + 1) % 3] = 1.0 - margin
    return x


# --- cross_entropy ----------------------------------------------------------------------------


def _smoothed_target(a, p) -> tuple[np.ndarray, np.ndarray]:
    """The target distribution q (class-last) after label smoothing, and the kept-item mask."""
    x = _class_last(a["input"])
    n_classes = x.shape[-1]
    eps = p["label_smoothing"]
    if p["target_kind"] == "index":
        kept = _kept(a["target"], p["ignore_index"])
        q = _one_hot(a["target"], kept, n_classes).astype(np.float64)
        q = np.where(kept[..., None], (1.0 - eps) * q + eps / n_classes, 0.0)
    else:
        kept = np.ones(x.shape[:-1], bool)
        q = (1.0 - eps) * _class_last(a["target"]) + eps / n_classes
    return q, kept


def cross_entropy(a, p) -> Elementwise:
    """ℓ_n = −Σ_c w_c q_{n,c} log softmax(x_n)_c, where q is the target after label smoothing.

    Index targets: q = (1 − ε)·onehot(y_n) + ε/C, and an item whose target equals ``ignore_index``
    has ℓ_n = 0 and no weight; ``mean`` divides by Σ_n w_{y_n} over kept items (torch: "the
    weighted mean", also for the smoothing term). Probability targets: q = (1 − ε) t_n + ε/C,
    and ``mean`` divides by the number of items N·d1·…·dk, whatever the weights (torch's
    documented rule). A class with q_c = 0 contributes 0 even if its logit is −inf (0·log 0 = 0).
    Domain: x real logits (±inf allowed), y a class index in [0, C) or ignore_index, t
    probabilities in [0, 1]; ε = ``label_smoothing`` in [0, 1]. Smooth in x:
    ∂ℓ_n/∂x_c = softmax(x_n)_c Σ_k w_k q_k − w_c q_c; in t: ∂ℓ_n/∂t_c = −(1 − ε) w_c log p_c.
    """
    x = _class_last(a["input"])
    q, kept = _smoothed_target(a, p)
    w = _class_weights(a, x.shape[-1])
    # w and q are tested for 0 one by one: their product can underflow to 0 where neither is 0
    loss = -np.sum(times_or_zero(w, times_or_zero(q, log_softmax(x))), axis=-1)
    if p["target_kind"] == "index":
        picked_weight = _picked(np.broadcast_to(w, x.shape), a["target"], kept)
        return Elementwise(loss, {"mean": float(np.sum(picked_weight))})
    return Elementwise(loss)


def cross_entropy_vjp(a, p, g):
    x = _class_last(a["input"])
    q, _ = _smoothed_target(a, p)
    w = _class_weights(a, x.shape[-1])
    logp = log_softmax(x)
    wq = w * q
    # softmax·Σwq − wq, regrouped as p_c Σ_{k≠c} w_k q_k − w_c q_c (1 − p_c) so that the target
    # class of a confident prediction does not get its gradient as p − 1 with p ≈ 1
    others = np.sum(wq, axis=-1, keepdims=True) - wq
    dx = np.exp(logp) * others - wq * softmax_complement(x)
    out = {"input": _class_back(g[..., None] * dx)}
    if p["target_kind"] == "probability":
        dt = -(1.0 - p["label_smoothing"]) * times_or_zero(w, logp)
        out["target"] = _class_back(g[..., None] * dt)
    return out


def _softmax_parts(a, p):
    """Class-last logits shifted by their row maximum, |z|, L = log Σ e^z, and the smoothed target."""
    x = _class_last(a["input"])
    m = np.max(x, axis=-1, keepdims=True)
    z = x - np.where(np.isfinite(m), m, 0.0)
    lse = np.log(np.sum(np.exp(z), axis=-1, keepdims=True))
    q, _ = _smoothed_target(a, p)
    w = np.abs(_class_weights(a, x.shape[-1]))
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
    out = {"input": _class_back(dx)}
    if p["target_kind"] == "probability":
        dt = cc * (1.0 - p["label_smoothing"]) * w * (np.abs(z) + lse + 1.0)
        out["target"] = _class_back(dt)
    return out


_CROSS_ENTROPY_EDGES = (
    Edge(
        "-inf logit at a non-target class",
        lambda c: {"input": _with_column(-INF, False), "target": _class_target(c)},
    ),
    Edge(
        "-inf logit at the target class (infinite loss)",
        lambda c: {"input": _with_column(-INF, True), "target": _class_target(c)},
    ),
    Edge(
        "+inf logit at a non-target class (infinite loss)",
        lambda c: {"input": _with_column(INF, False), "target": _class_target(c)},
    ),
    Edge(
        "-inf logit at a zero-weight target class (absent term)",
        _neginf_at_zero_weight_target,
        when=has("weight"),
    ),
    Edge(
        "all logits equal",
        lambda c: {"input": np.zeros((4, 3)), "target": _class_target(c)},
    ),
    Edge(
        f"logits ±{BIG:g}",
        lambda c: {"input": _BIG_LOGITS.copy(), "target": _class_target(c)},
    ),
    Edge(
        "every target ignored",
        lambda c: {"input": _LOGITS.copy(), "target": _ignore_all(c)},
        when=_ignoring,
    ),
    Edge(
        "every target ignored, K-dimensional input (N, C, d1, d2)",
        lambda c: {
            "input": np.zeros((1, 3, 2, 2)),
            "target": np.full((1, 2, 2), c["ignore_index"], dtype=np.int64),
        },
        when=_ignoring,
    ),
    # C = 1 has a loss of 0 everywhere (log softmax of one class is 0): an edge of shape, not of
    # value, that rank heuristics trip over; drawn shapes reach it only in eager modes that draw
    # freely, so it is written here for the compiled and shape-specialised modes too.
    Edge(
        "a single class (C = 1), input (N, 1, d1)",
        lambda c: {
            "input": np.array([[[0.5, -2.0, 3.0]], [[0.0, 1.0, -1.0]]]),
            "target": np.zeros((2, 3), dtype=np.int64),
        },
        when=_single_class_fits,
    ),
    Edge(
        "a single class (C = 1), unbatched input (1,)",
        lambda c: {"input": np.array([0.5]), "target": np.array(0, dtype=np.int64)},
        when=_single_class_fits,
    ),
    Edge(
        "every class weight 0",
        lambda c: {"input": _LOGITS.copy(), "target": _class_target(c), "weight": np.zeros(3)},
        when=has("weight"),
    ),
    Edge(
        "probability target rows all 0",
        lambda c: {"input": _LOGITS.copy(), "target": np.zeros((4, 3))},
        when=is_(target_kind="probability"),
    ),
    Edge(
        "probability targets 0, ¼, ½, 1 with -inf logits where the target is 0",
        lambda c: {"input": np.where(_SOFT == 0, -INF, _LOGITS), "target": _SOFT.copy()},
        when=is_(target_kind="probability"),
    ),
)


def _every_item_ignored(a, p) -> bool:
    """An index target whose every item equals ignore_index: nothing counts (any reduction)."""
    if p.get("target_kind", "index") != "index" or p.get("ignore_index") is None:
        return False
    return bool(np.all(a["target"] == p["ignore_index"]))


def _cross_entropy_intermediates(a, p, c):
    """What the smoothing term and the target gradient form before their last factor: the
    smoothing sum Σ_n Σ_c w_c·|log p_c| (scaled by ε/C only after the sum) and log p_c·w_c·c
    (scaled by 1 − ε afterwards)."""
    x = _class_last(a["input"])
    w = np.abs(_class_weights(a, x.shape[-1]))
    logp = np.abs(log_softmax(x))
    out = []
    if p["label_smoothing"]:
        out.append(np.sum(times_or_zero(w, logp)))
    if p["target_kind"] == "probability":
        out.append(times_or_zero(w, logp) * np.asarray(c)[..., None])
    return out


# One-hot and soft probability targets weigh the classes: 0 and 1 are ordinary targets.
_CROSS_ENTROPY_REGIMES = RegimeRules(
    boundary=_every_item_ignored, intermediates=_cross_entropy_intermediates, labels=("target",)
)


# --- nll_loss ---------------------------------------------------------------------------------


def nll_loss(a, p) -> Elementwise:
    """ℓ_n = −w_{y_n} x_{n, y_n}; items whose target equals ``ignore_index`` give 0.

    ``mean`` divides by Σ_n w_{y_n} over kept items. Domain: x any real (meant as
    log-probabilities, not enforced), y a class index in [0, C) or ignore_index. Linear in x:
    ∂ℓ_n/∂x_{n,c} = −w_c [c = y_n].
    """
    x = _class_last(a["input"])
    kept = _kept(a["target"], p["ignore_index"])
    w = np.broadcast_to(_class_weights(a, x.shape[-1]), x.shape)
    picked_weight = _picked(w, a["target"], kept)
    loss = -times_or_zero(picked_weight, _picked(x, a["target"], kept))
    return Elementwise(loss, {"mean": float(np.sum(picked_weight))})


def nll_loss_vjp(a, p, g):
    x = _class_last(a["input"])
    kept = _kept(a["target"], p["ignore_index"])
    w = _class_weights(a, x.shape[-1])
    onehot = _one_hot(a["target"], kept, x.shape[-1])
    return {"input": _class_back(-(g[..., None] * w) * onehot)}


_NLL_EDGES = (
    Edge(
        "-inf log-probability at a non-target class",
        lambda c: {"input": _with_column(-INF, False), "target": _INDEX.copy()},
    ),
    Edge(
        "-inf log-probability at the target class (infinite loss)",
        lambda c: {"input": _with_column(-INF, True), "target": _INDEX.copy()},
    ),
    Edge(
        "-inf log-probability at a zero-weight target class (absent term)",
        lambda c: {**_neginf_at_zero_weight_target(c), "target": _INDEX.copy()},
        when=has("weight"),
    ),
    Edge(
        "log-probability 0 (probability 1) at the target class",
        lambda c: {"input": _with_column(0.0, True), "target": _INDEX.copy()},
    ),
    Edge(
        "every target ignored",
        lambda c: {"input": _LOGITS.copy(), "target": _ignore_all(c)},
        when=_ignoring,
    ),
    Edge(
        "every class weight 0",
        lambda c: {"input": _LOGITS.copy(), "target": _INDEX.copy(), "weight": np.zeros(3)},
        when=has("weight"),
    ),
)


# --- multi_margin_loss ------------------------------------------------------------------------


def _margins(a, p):
    """z_{n,i} = margin − x_{n,y} + x_{n,i} for i ≠ y (class-last), with a mask of i ≠ y."""
    x = _class_last(a["input"])
    others = ~_one_hot(a["target"], np.ones(a["target"].shape, bool), x.shape[-1])
    x_y = np.take_along_axis(x, a["target"][..., None], axis=-1)
    return p["margin"] - x_y + x, others


def multi_margin_loss(a, p) -> Elementwise:
    """ℓ_n = Σ_{i≠y} w_y max(0, margin − x_y + x_i)^p / C (torch's documented formula).

    Domain: x real scores, y a class index in [0, C), p ∈ {1, 2}, w one weight per class.
    Subgradient at a hinge (margin − x_y + x_i = 0): the minimum-norm choice, 0.
    """
    z, others = _margins(a, p)
    n_classes = z.shape[-1]
    w_y = _class_weights(a, n_classes)[a["target"]]
    hinge = np.where(others, np.maximum(z, 0.0), 0.0) ** p["p"]
    return Elementwise(w_y * np.sum(hinge, axis=-1) / n_classes)


def multi_margin_loss_vjp(a, p, g):
    z, others = _margins(a, p)
    n_classes = z.shape[-1]
    w_y = _class_weights(a, n_classes)[a["target"]]
    active = others & (z > 0)
    slope = np.where(active, 1.0 if p["p"] == 1 else 2.0 * z, 0.0)
    scale = (g * w_y / n_classes)[..., None]
    dx = scale * slope
    onehot = ~others
    # the target column gets minus the sum of the others; written with where so that an infinite
    # score elsewhere does not turn 0·inf into NaN in the untouched columns
    dx = np.where(onehot, -np.sum(dx, axis=-1, keepdims=True), dx)
    return {"input": _class_back(dx)}


def _off_hinge(a, p, h):
    z, others = _margins(a, p)
    return bool(np.all(~others | (np.abs(z) > 4 * h)))


def _multi_margin_parts(a, p):
    z, others = _margins(a, p)
    x = _class_last(a["input"])
    x_y = np.take_along_axis(x, a["target"][..., None], axis=-1)
    size = abs(p["margin"]) + np.abs(x_y) + np.abs(x)  # margin − x_y + x_i: three terms
    near = others & (z >= -NEAR_HINGE * size)
    w_y = np.abs(_class_weights(a, z.shape[-1]))[a["target"]]
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
    onehot = _one_hot(a["target"], np.ones(a["target"].shape, bool), hinge.shape[-1])
    dx = np.where(onehot, np.sum(others, axis=-1, keepdims=True), others)
    return {"input": _class_back(dx)}


_MULTI_MARGIN_EDGES = (
    Edge(
        "target score exactly margin above another class (hinge kink)",
        lambda c: {"input": _margin_rows(c["margin"]), "target": _INDEX.copy()},
    ),
    Edge("all scores equal", lambda c: {"input": np.zeros((4, 3)), "target": _INDEX.copy()}),
    Edge(f"scores ±{BIG:g}", lambda c: {"input": _BIG_LOGITS.copy(), "target": _INDEX.copy()}),
    Edge(
        "every class weight 0",
        lambda c: {"input": _LOGITS.copy(), "target": _INDEX.copy(), "weight": np.zeros(3)},
        when=has("weight"),
    ),
)


def _multi_margin_kinks(a, p):
    """Each hinge margin − x_y + x_i (i ≠ y) at 0, from terms of size |margin| + |x_y| + |x_i|."""
    z, others = _margins(a, p)
    _, size, _, _ = _multi_margin_parts(a, p)
    return [(np.where(others, z, np.inf), size)]


# --- multiclass_hinge_loss, multiclass_perceptron_loss -----------------------------------------
#
# The Crammer-Singer family: one hinge on the best wrong class, max(0, max_{j≠y}(m + x_j − x_y)),
# with margin m = 1 (multiclass hinge) or 0 (multiclass perceptron). Not torch's multi_margin_loss,
# which sums a hinge per wrong class and divides by C, nor Keras' CategoricalHinge, which takes
# one-hot targets and computes max(0, 1 + max_j (1 − t_j)·x_j − Σ t_j x_j).


def _best_wrong(a, margin: float):
    """Per item (class last): the other classes' hinge arguments z_j = margin + x_j − x_y (−inf at
    j = y), their maximum top (−inf for a single class) and the mask of j ≠ y."""
    x = a["input"]
    others = ~_one_hot(a["target"], np.ones(a["target"].shape, bool), x.shape[-1])
    x_y = np.take_along_axis(x, a["target"][..., None], axis=-1)
    z = np.where(others, margin + x - x_y, -np.inf)
    return z, np.max(z, axis=-1), others


def _crammer_singer(margin: float):
    def loss(a, p) -> Elementwise:
        _, top, _ = _best_wrong(a, margin)
        return Elementwise(np.maximum(top, 0.0))

    return loss


def _crammer_singer_vjp(margin: float):
    def vjp(a, p, g):
        z, top, _ = _best_wrong(a, margin)
        # where the hinge is active the minimum-norm subgradient spreads the gradient evenly over
        # the wrong classes tied at the top (conv{e_j} − e_y is smallest at the centroid); at
        # top = 0 the target itself is among the maxima of max_j(x_j + m − m·[j = y]), and the
        # subdifferential holds 0, which is taken
        active = top > 0
        tied = (z == top[..., None]) & active[..., None]
        share = tied / np.maximum(np.sum(tied, axis=-1, keepdims=True), 1)
        onehot = _one_hot(a["target"], np.ones(a["target"].shape, bool), z.shape[-1])
        dx = share - np.where(onehot & active[..., None], 1.0, 0.0)
        return {"input": np.asarray(g)[..., None] * dx}

    return vjp


def multiclass_hinge_loss(a, p) -> Elementwise:
    """ℓ_n = max_j (x_j + 1 − [j = y]) − x_y = max(0, max_{j≠y} (1 + x_j − x_y)), the
    Crammer-Singer multiclass hinge (optax.losses.multiclass_hinge_loss).

    One hinge on the best-scoring wrong class, margin 1, no division by C: not torch's
    multi_margin_loss (Σ_{j≠y} max(0, 1 − x_y + x_j)/C) nor Keras' CategoricalHinge (one-hot
    targets). Domain: x real scores (C) or (N, C), the class axis last; y a class index in [0, C)
    (enforced). ∂ℓ/∂x = e_j − e_y for the one best wrong class j while the hinge is active, 0
    while it is not. Subgradients, minimum-norm: the mean of e_j over wrong classes tied at the
    top, minus e_y; 0 at the hinge (x_y exactly 1 above the best wrong class).
    """
    return _crammer_singer(1.0)(a, p)


def multiclass_perceptron_loss(a, p) -> Elementwise:
    """ℓ_n = max_j x_j − x_y = max(0, max_{j≠y} (x_j − x_y)), the multiclass perceptron
    (Collins 2002; optax.losses.multiclass_perceptron_loss).

    Domain: x real scores (C) or (N, C), the class axis last; y a class index in [0, C)
    (enforced). ∂ℓ/∂x = e_j − e_y for the one top-scoring class j ≠ y, 0 when y scores highest
    alone. Subgradients, minimum-norm: the mean of e_j over wrong classes tied at the top, minus
    e_y; 0 when y ties for the top (the hinge).
    """
    return _crammer_singer(0.0)(a, p)


def _crammer_singer_sizes(a, margin: float):
    """Each wrong class's hinge argument, the size of its terms |m| + |x_j| + |x_y|, and the
    wrong classes that correct arithmetic may find at the top with an active or tied hinge."""
    z, top, others = _best_wrong(a, margin)
    x = a["input"]
    x_y = np.take_along_axis(x, a["target"][..., None], axis=-1)
    size = abs(margin) + np.abs(x) + np.abs(x_y)
    near = others & (z >= -NEAR_HINGE * size) & (z >= top[..., None] - NEAR_HINGE * size)
    return z, size, near


def _crammer_singer_smooth(a, margin: float, h: float) -> bool:
    """Away from the hinge and from ties between the best two wrong classes by more than 4h."""
    z, top, others = _best_wrong(a, margin)
    if not np.all(np.abs(np.where(np.any(others, axis=-1), top, np.inf)) > 4 * h):
        return False
    rivals = others & (z > top[..., None] - 4 * h)
    return bool(np.all((top < 0) | (np.sum(rivals, axis=-1) <= 1)))


def _crammer_singer_value(margin: float):
    def value(a, p, loss):
        _, size, near = _crammer_singer_sizes(a, margin)
        per_item = np.max(np.where(near, size, 0.0), axis=-1, initial=0.0)
        if margin == 0:
            return per_item
        # optax forms x_j + 1 − [j = y] for every class, the target's own (x_y + 1) − 1 too:
        # a rounding of the size of 1 + |x_y| even where y scores highest and ℓ = 0
        x_y = np.abs(np.take_along_axis(a["input"], a["target"][..., None], axis=-1))[..., 0]
        return np.maximum(per_item, 2.0 * x_y + abs(margin))

    return value


def _crammer_singer_grads(margin: float):
    def grads(a, p, c):
        _, _, near = _crammer_singer_sizes(a, margin)
        any_near = np.any(near, axis=-1, keepdims=True)
        onehot = _one_hot(a["target"], np.ones(a["target"].shape, bool), near.shape[-1])
        on = near | (onehot & any_near)
        return {"input": np.where(on, np.asarray(c)[..., None], 0.0)}

    return grads


def _crammer_singer_kinks(margin: float):
    def kinks(a, p):
        """The hinge at the best wrong class (top = 0), and, where it is active or tied, a tie
        between the best two wrong classes (the gradient moves from one to their mean)."""
        z, size, _ = _crammer_singer_sizes(a, margin)
        _, top, others = _best_wrong(a, margin)
        best = np.argmax(z, axis=-1)[..., None]
        top_size = np.take_along_axis(size, best, axis=-1)[..., 0]
        out = [(np.where(np.any(others, axis=-1), top, np.inf), top_size)]
        if z.shape[-1] > 2:
            rest = z.copy()
            np.put_along_axis(rest, best, -np.inf, axis=-1)
            second = np.argmax(rest, axis=-1)[..., None]
            x = a["input"]
            gap = top - np.take_along_axis(rest, second, axis=-1)[..., 0]
            pair = np.abs(np.take_along_axis(x, best, axis=-1)) + np.abs(
                np.take_along_axis(x, second, axis=-1)
            )
            counted = (top >= -NEAR_HINGE * top_size) & np.isfinite(gap)
            out.append((np.where(counted, gap, np.inf), pair[..., 0] + abs(margin)))
        return out

    return kinks


def _crammer_singer_rows(margin: float) -> np.ndarray:
    """x_y exactly ``margin`` above the best wrong class (the hinge), and, in two rows, two wrong
    classes tied at the top."""
    x = np.array([[0.0, -2.0, 0.0], [0.0, 0.0, -2.0], [-0.5, 0.5, 0.5], [0.25, -1.0, 0.25]])
    rows = np.arange(4)
    x[rows, _INDEX] = x[rows, (_INDEX + 1) % 3] + margin
    x[2] = [0.5, 0.5, -1.5]  # target 1: class 0 ties with it at the top (the hinge for m = 0)
    x[2, 1] += margin
    return x


def _crammer_singer_edges(margin: float) -> tuple[Edge, ...]:
    return (
        Edge(
            f"target score exactly {margin:g} above the best wrong class (hinge kink)",
            lambda c: {"input": _crammer_singer_rows(margin), "target": _INDEX.copy()},
        ),
        Edge(
            "two wrong classes tied at the top, above the target",
            lambda c: {
                "input": np.array(
                    [[1.0, 1.0, -2.0], [-1.0, 2.0, 2.0], [3.0, -4.0, 3.0], [0.5, -1.0, 0.5]]
                ),
                "target": np.array([2, 0, 1, 1]),
            },
        ),
        Edge("all scores equal", lambda c: {"input": np.zeros((4, 3)), "target": _INDEX.copy()}),
        Edge(f"scores ±{BIG:g}", lambda c: {"input": _BIG_LOGITS.copy(), "target": _INDEX.copy()}),
    )


# --- multilabel_margin_loss -------------------------------------------------------------------


def _label_pairs(a):
    """Per item (class-last): z_{j,i} = 1 − (x_j − x_i) for every pair of classes, and how many
    times the pair (label j, non-label i) counts — the number of times j is listed before the
    item's first −1 (a label listed twice counts twice, as the documented sum over the listed
    targets says), 0 where j is not listed or i is."""
    x = _class_last(a["input"])
    target = a["target"]
    n_classes = x.shape[-1]
    listed = np.cumprod(target >= 0, axis=-1).astype(bool)  # the prefix before the first −1
    safe = np.where(listed, target, 0)
    onehot = (safe[..., None] == np.arange(n_classes)) & listed[..., None]
    counts = onehot.sum(axis=-2).astype(np.float64)  # how often class j is listed
    pairs = counts[..., :, None] * (counts == 0)[..., None, :]
    z = 1.0 - (x[..., :, None] - x[..., None, :])
    return z, pairs


def multilabel_margin_loss(a, p) -> Elementwise:
    """ℓ_n = Σ_{j ∈ Y_n} Σ_{i ∉ Y_n} max(0, 1 − (x_{n,j} − x_{n,i})) / C (torch's documented
    MultiLabelMarginLoss).

    Y_n is the list of labels of item n: its target entries before the first −1 (entries after it
    are read by no one; a label listed twice counts twice). Domain: x real scores of shape (C) or
    (N, C); y of the same shape, each entry a class index in [0, C) or −1 (enforced everywhere,
    as torch checks the whole row). An item without labels, or whose labels are every class, has
    ℓ_n = 0. Subgradient at a hinge (x_j − x_i = 1): the minimum-norm choice, 0; elsewhere
    ∂ℓ_n/∂x_j = −(1/C)·#{i ∉ Y_n active} per listing of j, ∂ℓ_n/∂x_i = (1/C)·#{listed j active}.
    """
    z, pairs = _label_pairs(a)
    n_classes = z.shape[-1]
    hinge = times_or_zero(pairs, np.where(pairs > 0, np.maximum(z, 0.0), 0.0))
    return Elementwise(np.sum(hinge, axis=(-2, -1)) / n_classes)


def multilabel_margin_loss_vjp(a, p, g):
    z, pairs = _label_pairs(a)
    n_classes = z.shape[-1]
    active = np.where((pairs > 0) & (z > 0), pairs, 0.0)
    dx = (np.sum(active, axis=-2) - np.sum(active, axis=-1)) / n_classes
    return {"input": _class_back(np.asarray(g)[..., None] * dx)}


def _multilabel_off_hinge(a, p, h):
    z, pairs = _label_pairs(a)
    return bool(np.all((pairs == 0) | (np.abs(z) > 4 * h)))


def _multilabel_margin_parts(a):
    """The pairs near or past their hinge, each with the size of its three terms 1, x_j, x_i."""
    z, pairs = _label_pairs(a)
    x = _class_last(a["input"])
    size = 1.0 + np.abs(x)[..., :, None] + np.abs(x)[..., None, :]
    near = (pairs > 0) & (z >= -NEAR_HINGE * size)
    return z, pairs, size, near


def _multilabel_margin_value(a, p, loss):
    z, pairs, size, near = _multilabel_margin_parts(a)
    per_pair = np.where(near, pairs * (np.maximum(z, 0.0) + size), 0.0)
    return np.sum(per_pair, axis=(-2, -1)) / z.shape[-1]


def _multilabel_margin_grads(a, p, c):
    z, pairs, _, near = _multilabel_margin_parts(a)
    per_pair = np.where(near, pairs, 0.0) * (np.asarray(c)[..., None, None] / z.shape[-1])
    dx = np.sum(per_pair, axis=-2) + np.sum(per_pair, axis=-1)
    return {"input": _class_back(dx)}


# Four items of three classes: labels cut by −1, none, all, a duplicate.
_LABELS = np.array([[2, -1, 0], [0, 1, -1], [-1, 2, 2], [1, 1, -1]])


def _label_rows_at_hinge() -> np.ndarray:
    """Rows whose first label scores exactly 1 above one non-label (and far above the other)."""
    x = np.full((4, 3), -4.0)
    x[:, 0] = 1.0
    x[:, 1] = 0.0
    return x


_MULTILABEL_MARGIN_EDGES = (
    Edge(
        "labels cut by −1, none, every class, a duplicate",
        lambda c: {"input": _LOGITS.copy(), "target": _LABELS.copy()},
    ),
    Edge(
        "label score exactly 1 above a non-label (hinge kink)",
        lambda c: {"input": _label_rows_at_hinge(), "target": np.tile([0, -1, 2], (4, 1))},
    ),
    Edge(
        "all scores equal",
        lambda c: {"input": np.zeros((4, 3)), "target": _LABELS.copy()},
    ),
    Edge(f"scores ±{BIG:g}", lambda c: {"input": _BIG_LOGITS.copy(), "target": _LABELS.copy()}),
    Edge(
        "scores ±inf",
        lambda c: {
            "input": np.array([[INF, 0, 0], [0, -INF, 0], [0.5, -1.0, 2.0], [1, 1, 1]]),
            "target": np.array([[0, -1, 0], [0, -1, 0], [2, -1, 0], [1, -1, 0]]),
        },
    ),
)


def _multilabel_margin_kinks(a, p):
    """Each counted pair's hinge 1 − (x_j − x_i) at 0, from terms of size 1 + |x_j| + |x_i|."""
    z, pairs, size, _ = _multilabel_margin_parts(a)
    return [(np.where(pairs > 0, z, np.inf), size)]


# --- multilabel_soft_margin_loss --------------------------------------------------------------


def multilabel_soft_margin_loss(a, p) -> Elementwise:
    """ℓ_n = (1/C) Σ_c w_c [y_c softplus(−x_c) + (1 − y_c) softplus(x_c)].

    That is −(1/C) Σ_c w_c [y_c log σ(x_c) + (1 − y_c) log σ(−x_c)]: one binary logistic loss per
    label, averaged over the C labels. Domain: x real logits (N, C), y labels in [0, 1] (enforced;
    torch documents {0, 1}), w one weight per class or one per element (N, C). Smooth:
    ∂ℓ/∂x_c = w_c (σ(x_c) − y_c)/C, ∂ℓ/∂y_c = −w_c x_c / C.
    """
    x, y = a["input"], a["target"]
    w = _class_weights(a, x.shape[-1])
    per_label = times_or_zero(y, softplus(-x)) + times_or_zero(1.0 - y, softplus(x))
    return Elementwise(np.sum(times_or_zero(w, per_label), axis=-1) / x.shape[-1])


def multilabel_soft_margin_loss_vjp(a, p, g):
    x, y = a["input"], a["target"]
    n_classes = x.shape[-1]
    w = _class_weights(a, n_classes)
    scale = g[..., None] * w / n_classes
    dy = times_or_zero(w, softplus(-x) - softplus(x)) * g[..., None] / n_classes
    # σ(x) − y as (1 − y) σ(x) − y σ(−x): no 1 − σ(x) at a confident logit
    dx = scale * ((1.0 - y) * sigmoid(x) - y * sigmoid(-x))
    return {"input": dx, "target": dy}


def _multilabel_label_sum(a, p, c):
    """The sum over the labels before the division by C: C·ℓ_n."""
    return [multilabel_soft_margin_loss(a, p).loss * a["input"].shape[-1]]


def _multilabel_weight(a):
    x = a["input"]
    return np.abs(_class_weights(a, x.shape[-1])) * 2.0 / x.shape[-1]


def _multilabel_value(a, p, loss):
    return np.sum(_multilabel_weight(a) * (np.abs(a["input"]) + 1.0), axis=-1)


def _multilabel_grads(a, p, c):
    scale = c[..., None] * _multilabel_weight(a) * (np.abs(a["input"]) + 1.0)
    return {"input": scale, "target": scale}


_MULTILABEL_EDGES = (
    Edge(
        f"logits ±{BIG:g} and ±inf",
        lambda c: {
            "input": np.array([[BIG, -BIG, 0], [-BIG, BIG, 0], [INF, -INF, 0], [-INF, INF, 0]]),
            "target": np.array([[1, 0, 1], [1, 0, 0], [1, 0, 1], [0, 1, 0]], dtype=np.float64),
        },
    ),
    Edge(
        "logits 0, targets 0, 1 and ½",
        lambda c: {
            "input": np.zeros((4, 3)),
            "target": np.resize(vec(0, 1, 0.5), 12).reshape(4, 3),
        },
    ),
    Edge(
        "every class weight 0",
        lambda c: {
            "input": _LOGITS.copy(),
            "target": _index_one_hot(_INDEX),
            "weight": np.zeros(3),
        },
        when=has("weight"),
    ),
)


# --- categorical_hinge --------------------------------------------------------------------------
#
# Keras' CategoricalHinge on a target vector t over the last axis: pos = Σ t_j x_j, neg =
# max_j (1 − t_j)·x_j, ℓ = max(0, 1 + neg − pos). With a one-hot t it is not the Crammer-Singer
# hinge: the target's own entry enters the max as (1 − 1)·x_y = 0, so neg = max(0, max_{j≠y} x_j)
# and a sample whose wrong scores are all negative still pays 1 − x_y.


def _categorical_hinge_parts(a):
    """w_j = (1 − t_j)·x_j, neg = max_j w_j, pos = Σ t_j x_j and z = 1 + neg − pos (last axis)."""
    x, t = a["input"], a["target"]
    # a zero factor removes the term (0·±inf = 0), as for every weight in the reference: a label
    # of 1 masks its score out of the max, a label of 0 out of the sum
    w = times_or_zero(1.0 - t, x)
    neg = np.max(w, axis=-1)
    pos = np.sum(times_or_zero(t, x), axis=-1)
    return w, neg, pos, 1.0 + neg - pos


def categorical_hinge(a, p) -> Elementwise:
    """ℓ = max(0, 1 + max_j (1 − t_j)·x_j − Σ_j t_j x_j) over the last (class) axis.

    keras.losses.CategoricalHinge / categorical_hinge (losses.py:1717-1760 at Keras 3.15.1),
    with t a target vector of labels in [0, 1] (one-hot, or soft: Keras takes any y_true). Not
    the Crammer-Singer multiclass_hinge_loss even for one-hot t: the target's entry (1 − 1)·x_y =
    0 is in the max, so neg = max(0, max_{j≠y} x_j). Domain: x real (C) or (N, C), t in [0, 1]
    of the same shape (enforced), not differentiated (labels). ∂ℓ/∂x_k = (1 − t_k)·s_k − t_k
    while the hinge is active, s the subgradient of the max: where several w_j tie at the top,
    s shares 1 evenly among them (what reduce-max's autodiff returns in jax, TensorFlow and
    torch). At the hinge (z = 0) the subgradient 0 is taken.
    """
    return Elementwise(np.maximum(_categorical_hinge_parts(a)[3], 0.0))


def categorical_hinge_vjp(a, p, g):
    w, neg, _, z = _categorical_hinge_parts(a)
    t = a["target"]
    tied = w == neg[..., None]
    share = tied / np.maximum(np.sum(tied, axis=-1, keepdims=True), 1)
    active = (z > 0)[..., None]
    return {"input": np.where(active, np.asarray(g)[..., None] * ((1.0 - t) * share - t), 0.0)}


def _categorical_hinge_sizes(a):
    """The size of z's terms, 1 + |neg| + Σ|t_j x_j|, and whether correct arithmetic may find
    the hinge active or at its kink."""
    _, neg, _, z = _categorical_hinge_parts(a)
    size = 1.0 + np.abs(neg) + np.sum(np.abs(a["target"] * a["input"]), axis=-1)
    return size, z >= -NEAR_HINGE * size


def _categorical_hinge_value(a, p, loss):
    size, near = _categorical_hinge_sizes(a)
    return np.where(near, size, 0.0)


def _categorical_hinge_grads(a, p, c):
    _, near = _categorical_hinge_sizes(a)
    t = a["target"]
    scale = np.abs(1.0 - t) + np.abs(t)
    return {"input": np.where(near[..., None], np.abs(np.asarray(c))[..., None] * scale, 0.0)}


def _categorical_hinge_kinks(a, p):
    """The hinge z = 0, and, where it is active or at its kink, a tie between the two largest
    w_j (the max's gradient moves from one class to their mean)."""
    w, _, _, z = _categorical_hinge_parts(a)
    size, near = _categorical_hinge_sizes(a)
    out = [(z, size)]
    if w.shape[-1] > 1:
        ordered = np.sort(w, axis=-1)
        gap = ordered[..., -1] - ordered[..., -2]
        pair = np.abs(ordered[..., -1]) + np.abs(ordered[..., -2])
        out.append((np.where(near, gap, np.inf), pair))
    return out


def _categorical_hinge_smooth(a, p, h) -> bool:
    """Away from the hinge, and from a tie at the top of w where the hinge is active, by 4h."""
    return all(bool(np.all(np.abs(z) > 4 * h)) for z, _ in _categorical_hinge_kinks(a, p))


_ONE_HOT = np.eye(3)[_INDEX]

_CATEGORICAL_HINGE_EDGES = (
    Edge(
        "one-hot target, every wrong score negative (the masked 0 is the max)",
        lambda c: {
            "input": np.array(
                [[-1.0, -2.0, 0.5], [0.25, -0.5, -3.0], [-4.0, 2.0, -0.5], [-1.0, 3.0, -0.25]]
            ),
            "target": _ONE_HOT.copy(),
        },
    ),
    Edge(
        "target score exactly 1 above the best wrong score (hinge kink)",
        lambda c: {
            "input": np.array(
                [[0.5, -1.0, 1.5], [2.0, 1.0, -1.0], [-0.5, 1.75, 0.75], [0.0, 1.0, -2.0]]
            ),
            "target": _ONE_HOT.copy(),
        },
    ),
    Edge(
        "two wrong scores tied at the top",
        lambda c: {
            "input": np.array(
                [[1.0, 1.0, -2.0], [-1.0, 2.0, 2.0], [3.0, -4.0, 3.0], [0.5, -1.0, 0.5]]
            ),
            "target": np.eye(3)[[2, 0, 1, 1]],
        },
    ),
    Edge(
        "soft labels (Keras takes any y_true)",
        lambda c: {
            "input": np.array(
                [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [-1.0, 1.0, 0.0], [2.0, -2.0, 1.0]]
            ),
            "target": np.array(
                [[0.25, 0.25, 0.5], [0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.75, 0.0, 0.25]]
            ),
        },
    ),
    Edge(f"scores ±{BIG:g}", lambda c: {"input": _BIG_LOGITS.copy(), "target": _ONE_HOT.copy()}),
)


# --- poly_loss_cross_entropy ------------------------------------------------------------------
#
# optax.losses.poly_loss_cross_entropy (Leng et al. 2022, Poly-1): softmax cross-entropy plus ε
# times Σ_c t_c (1 − p_c), the first term of the cross-entropy's Taylor series in (1 − p_t) with
# its coefficient moved from 1 to 1 + ε. The classes are the last axis (optax's axis=-1).


def poly_loss_cross_entropy(a, p) -> Elementwise:
    """ℓ_n = −Σ_c t_c log p_c + ε Σ_c t_c (1 − p_c), p = softmax(x_n) over the last axis.

    Poly-1 (Leng et al. 2022, "PolyLoss", eq. 3; optax.losses.poly_loss_cross_entropy, ε =
    ``epsilon``, default 2.0): with ε = 0 it is the softmax cross-entropy of probability targets.
    A class with t_c = 0 contributes 0 to both sums even if its logit is −inf (0·log 0 = 0).
    Domain: x real logits (±inf allowed), t probabilities in [0, 1] (enforced; rows need not sum
    to 1, the formula is linear in t), classes on the last axis of (C) or (N, C). A +inf logit
    gives NaN (softmax is e^∞/e^∞ there), as cross_entropy does. Smooth:
    ∂ℓ/∂x_c = p_c Σ_k t_k − t_c + ε p_c (Σ_k t_k p_k − t_c); ∂ℓ/∂t_c = −log p_c + ε (1 − p_c).
    """
    x, t = a["input"], a["target"]
    ce = -np.sum(times_or_zero(t, log_softmax(x)), axis=-1)
    poly = np.sum(times_or_zero(t, softmax_complement(x)), axis=-1)
    return Elementwise(ce + p["epsilon"] * poly)


def poly_loss_cross_entropy_vjp(a, p, g):
    x, t = a["input"], a["target"]
    logp = log_softmax(x)
    prob, comp = np.exp(logp), softmax_complement(x)
    # p_c Σ_{k≠c} t_k − t_c (1 − p_c), and Σ_k t_k p_k − t_c = Σ_{k≠c} t_k p_k − t_c (1 − p_c):
    # the target class of a confident prediction never forms p − 1 with p ≈ 1
    others = np.sum(t, axis=-1, keepdims=True) - t
    tp = times_or_zero(t, prob)
    others_p = np.sum(tp, axis=-1, keepdims=True) - tp
    dx = prob * others - t * comp + p["epsilon"] * prob * (others_p - t * comp)
    dt = -logp + p["epsilon"] * comp
    g = np.asarray(g)[..., None]
    return {"input": g * dx, "target": g * dt}


def _poly_parts(a):
    """Logits shifted by their maximum |z|, L = log Σ e^z, the softmax and its rounding size."""
    x = a["input"]
    m = np.max(x, axis=-1, keepdims=True)
    z = x - np.where(np.isfinite(m), m, 0.0)
    lse = np.log(np.sum(np.exp(z), axis=-1, keepdims=True))
    prob = np.exp(z - lse)
    return np.abs(z), lse, prob, prob * (1.0 + np.abs(z) + lse)


def _poly_value(a, p, loss):
    z, lse, _, prob_size = _poly_parts(a)
    t = np.abs(a["target"])
    eps = abs(p["epsilon"])
    # log p = z − L as in cross_entropy; 1 − p: an absolute rounding of 1 plus p's own error
    terms = times_or_zero(t, z + lse + 1.0) + eps * times_or_zero(t, 1.0 + prob_size)
    return np.sum(terms, axis=-1)


def _poly_grads(a, p, c):
    z, lse, prob, prob_size = _poly_parts(a)
    t = np.abs(a["target"])
    eps = abs(p["epsilon"])
    total = np.sum(t, axis=-1, keepdims=True)
    cc = np.asarray(c)[..., None]
    dx = prob_size * total + t + eps * (prob_size * (total + t) + t * prob)
    dt = z + lse + 1.0 + eps * (1.0 + prob_size)
    return {"input": cc * dx, "target": cc * dt}


def _poly_intermediates(a, p, c):
    """The target gradient's −log p_c before the cotangent (+inf at a −inf logit)."""
    return [np.abs(log_softmax(a["input"])) * np.asarray(c)[..., None]]


_POLY_EDGES = (
    Edge(
        "-inf logit at a class of target 0",
        lambda c: {"input": np.where(_SOFT == 0, -INF, _LOGITS), "target": _SOFT.copy()},
    ),
    Edge(
        "-inf logit at a class of positive target (infinite loss)",
        lambda c: {"input": _with_column(-INF, True), "target": _index_one_hot(_INDEX)},
    ),
    Edge(
        "+inf logit at a class of target 0 (infinite loss)",
        lambda c: {"input": _with_column(INF, False), "target": _index_one_hot(_INDEX)},
    ),
    Edge("all logits equal", lambda c: {"input": np.zeros((4, 3)), "target": _SOFT.copy()}),
    Edge(f"logits ±{BIG:g}", lambda c: {"input": _BIG_LOGITS.copy(), "target": _SOFT.copy()}),
    Edge("target rows all 0", lambda c: {"input": _LOGITS.copy(), "target": np.zeros((4, 3))}),
    Edge(
        "one-hot targets (the paper's use)",
        lambda c: {"input": _LOGITS.copy(), "target": _index_one_hot(_INDEX)},
    ),
)


# --- multiclass_sparsemax_loss ----------------------------------------------------------------
#
# optax.losses.multiclass_sparsemax_loss (Martins & Astudillo 2016; Blondel, Martins & Niculae
# 2020, "Learning with Fenchel-Young losses"): the Fenchel-Young loss of sparsemax, one item per
# row of an (N, C) input (optax vmaps over axis 0). C¹: the gradient p − e_y is continuous, and
# the second derivative jumps where a class enters or leaves the support (declared as kinks).


def _sparsemax(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """p = sparsemax(z) over the last axis (the Euclidean projection onto the simplex), its
    threshold τ (p = max(z − τ, 0)) and the rows where it has no value (a +inf score, or every
    score −inf). A −inf score is never in the support."""
    u = -np.sort(-z, axis=-1)
    with np.errstate(invalid="ignore"):
        cssv = np.cumsum(u, axis=-1)
        k = np.arange(1, z.shape[-1] + 1)
        count = np.sum(1.0 + k * u > cssv, axis=-1, keepdims=True)
    undefined = np.any(z == np.inf, axis=-1) | (count[..., 0] == 0)
    count = np.maximum(count, 1)
    tau = (np.take_along_axis(cssv, count - 1, axis=-1) - 1.0) / count
    tau = np.where(undefined[..., None], 0.0, tau)
    # p_j = z_j − τ = (1 + Σ_{i∈S} (z_j − z_i))/k on the support S (the k largest scores; ties
    # enter together): differences of supported scores, within 1 of each other, are exact where
    # z_j − τ is not (one class: p = 1 exactly, not z − (z − 1))
    kth = np.take_along_axis(u, count - 1, axis=-1)
    support = (z >= kth) & np.isfinite(z) & ~undefined[..., None]
    zs = np.where(support, z, 0.0)
    gaps = np.where(support[..., None, :], zs[..., :, None] - zs[..., None, :], 0.0)
    prob = np.where(support, (1.0 + np.sum(gaps, axis=-1)) / count, 0.0)
    return np.where(undefined[..., None], np.nan, prob), tau, undefined


def multiclass_sparsemax_loss(a, p) -> Elementwise:
    """ℓ_n = ⟨p, z⟩ + ½(1 − ‖p‖²) − z_y = Σ_j p_j (z_j − z_y) + ½(1 − ‖p‖²), p = sparsemax(z).

    The sparsemax (Fenchel-Young) loss of the row z = x_n (Martins & Astudillo 2016, eq. 20;
    optax.losses.multiclass_sparsemax_loss): sparsemax(z) = argmin_{p ∈ Δ} ‖p − z‖² = max(z − τ,
    0), Σ p = 1. ℓ ≥ 0, 0 exactly where p = e_y. Domain: x real scores (N, C), the class axis
    last; y a class index in [0, C) (enforced). A −inf score has p_j = 0 and its term is absent
    (ℓ = +inf if it is the target's); a +inf score, or a row of −inf only, has no projection:
    NaN. Continuously differentiable, ∂ℓ/∂x = p − e_y, so no subgradient is chosen; the second
    derivative jumps where some z_j = τ.
    """
    z, y = a["input"], a["target"]
    prob, _, undefined = _sparsemax(z)
    z_y = np.take_along_axis(z, y[..., None], axis=-1)
    with np.errstate(invalid="ignore"):
        linear = np.sum(times_or_zero(prob, z - z_y), axis=-1)
    value = linear + 0.5 * (1.0 - np.sum(prob * prob, axis=-1))
    return Elementwise(np.where(undefined, np.nan, value))


def multiclass_sparsemax_loss_vjp(a, p, g):
    z, y = a["input"], a["target"]
    prob, _, _ = _sparsemax(z)
    onehot = _one_hot(y, np.ones(y.shape, bool), z.shape[-1])
    return {"input": np.asarray(g)[..., None] * (prob - onehot)}


def _sparsemax_near(a):
    """p, τ, the classes correct arithmetic may put in the support (z_j − τ within NEAR_HINGE of
    its terms' size of 0, or above), and per row the size 1 + Σ_near |z_j| of the terms τ is
    formed from (the cumulative sum): the absolute error of each p_j, in units of u."""
    z = a["input"]
    prob, tau, _ = _sparsemax(z)
    finite_z = np.where(np.isfinite(z), z, 0.0)
    with np.errstate(invalid="ignore"):
        near = (z - tau >= -NEAR_HINGE * (1.0 + np.abs(finite_z) + np.abs(tau))) & np.isfinite(z)
    size = 1.0 + np.sum(np.where(near, np.abs(finite_z), 0.0), axis=-1, keepdims=True)
    return prob, tau, near, size


def _multiclass_sparsemax_value(a, p, loss):
    prob, _, near, size = _sparsemax_near(a)
    z = a["input"]
    z_y = np.take_along_axis(z, a["target"][..., None], axis=-1)
    # each p_j (z_j − z_y): z_j − z_y rounded (|z_j| + |z_y|) times p_j, and p_j's own error
    # (size) times |z_j − z_y|: the shifted form does not use Σ p = 1, so an error of the
    # projection reaches the value multiplied by the score gaps; ½ and ‖p‖² (each p_j ≤ 1)
    with np.errstate(invalid="ignore"):
        gap = np.abs(z) + np.abs(z_y)
        terms = np.where(near, np.nan_to_num(prob) * gap + size * (gap + 1.0), 0.0)
    return np.abs(loss) + 0.5 + np.sum(terms, axis=-1)


def _multiclass_sparsemax_grads(a, p, c):
    _, _, near, size = _sparsemax_near(a)
    z = a["input"]
    y = a["target"]
    z_y = np.abs(np.take_along_axis(np.where(np.isfinite(z), z, 0.0), y[..., None], axis=-1))
    onehot = _one_hot(y, np.ones(y.shape, bool), z.shape[-1])
    # p_j − [j = y] from p_j (error size), and through the projection's Jacobian the gaps
    # z_j − z_y − p_j, equal over the support up to their rounding (|z_j| + |z_y|)
    on = near | (onehot & np.any(near, axis=-1, keepdims=True))
    return {"input": np.where(on, np.asarray(c)[..., None] * (size + z_y), 0.0)}


def _multiclass_sparsemax_kinks(a, p):
    """The class nearest the support's edge (z_j = τ), from the terms z_j and τ."""
    z = a["input"]
    _, tau, _ = _sparsemax(z)
    with np.errstate(invalid="ignore"):
        d = np.where(np.isfinite(z), z - tau, np.inf)
    nearest = np.argmin(np.abs(d), axis=-1)[..., None]
    d_near = np.take_along_axis(d, nearest, axis=-1)[..., 0]
    z_near = np.take_along_axis(np.where(np.isfinite(z), z, 0.0), nearest, axis=-1)[..., 0]
    return [(d_near, 1.0 + np.abs(z_near) + np.abs(tau[..., 0]))]


def _multiclass_sparsemax_smooth(a, p, h) -> bool:
    """No class within 4h of the support's edge (where the Hessian jumps)."""
    _, tau, _ = _sparsemax(a["input"])
    return bool(np.all(np.abs(a["input"] - tau) > 4 * h))


_SPARSEMAX_EDGE_ROWS = np.array(
    # a class exactly at τ: [1, 0, −1] (τ = 0, p = e_0), [0.25, 1, 0.5] (τ = 0.25, p = (0, ¾, ¼)),
    # [0, −1, 1] (τ = 0), [1, 0.5, 0.25] (τ = 0.25, p = (¾, ¼, 0))
    [[1.0, 0.0, -1.0], [0.25, 1.0, 0.5], [0.0, -1.0, 1.0], [1.0, 0.5, 0.25]]
)
_MULTICLASS_SPARSEMAX_EDGES = (
    Edge(
        "a class exactly at the support's edge (z_j = τ)",
        lambda c: {"input": _SPARSEMAX_EDGE_ROWS.copy(), "target": _INDEX.copy()},
    ),
    Edge(
        "all scores equal (p uniform, ℓ = ⅓)",
        lambda c: {"input": np.zeros((4, 3)), "target": _INDEX.copy()},
    ),
    Edge(
        "one-hot projections, the target's and others' (ℓ = 0 and ℓ = gap)",
        lambda c: {
            "input": np.array(
                [[0.0, 0.0, 3.0], [5.0, 1.0, -1.0], [2.0, -2.0, 0.0], [0.5, 2.5, 0.0]]
            ),
            "target": _INDEX.copy(),
        },
    ),
    Edge(f"scores ±{BIG:g}", lambda c: {"input": _BIG_LOGITS.copy(), "target": _INDEX.copy()}),
)


# --- declarations -----------------------------------------------------------------------------

_CLASS_WEIGHT = ArraySpec(
    "weight",
    WEIGHT,
    differentiable=False,
    optional=True,
    description="one rescaling weight per class (a constant, not differentiated)",
)
_INDEX_TARGET = ArraySpec("target", CLASS_INDEX, differentiable=False, description="class index")

LOSSES = (
    LossSpec(
        "cross_entropy",
        "classification",
        "softmax cross-entropy with class-index or class-probability targets",
        (
            ArraySpec("input", LOGIT, differentiable=True, description="unnormalised logits"),
            ArraySpec(
                "target",
                ByParam("target_kind", {"index": CLASS_INDEX, "probability": PROBABILITY}),
                differentiable=True,  # for probability targets; an index is never differentiated
                description="class index, or class probabilities with the input's shape",
            ),
            _CLASS_WEIGHT,
        ),
        (
            Param(
                "target_kind",
                "index",
                "be 'index' or 'probability'",
                lambda v: v in ("index", "probability"),
                grid=("index", "probability"),
                description="class-index targets or class-probability targets",
            ),
            P.ignore_index(applies_when={"target_kind": "index"}),
            P.interval(
                "label_smoothing",
                0.0,
                0.0,
                1.0,
                (0.0, 0.1),
                "mass ε moved from the target to a uniform distribution over classes",
            ),
            P.reduction(),
        ),
        class_layouts(index_target=True, prob_target=True),
        cross_entropy,
        cross_entropy_vjp,
        term_scale=TermScale(_cross_entropy_value, _cross_entropy_grads),
        regimes=_CROSS_ENTROPY_REGIMES,
        edges=_CROSS_ENTROPY_EDGES,
        element_kind="per_class_slice",
        unbatched=("(C)", "(N, C)"),
    ),
    LossSpec(
        "nll_loss",
        "classification",
        "negative log-likelihood of log-probabilities at class-index targets",
        (
            ArraySpec(
                "input",
                LOG_PROBABILITY,
                differentiable=True,
                description="log-probabilities (any real is accepted)",
            ),
            _INDEX_TARGET,
            _CLASS_WEIGHT,
        ),
        (P.ignore_index(), P.reduction()),
        class_layouts(index_target=True),
        nll_loss,
        nll_loss_vjp,
        term_scale=TermScale(abs_loss, abs_vjp(nll_loss_vjp)),
        regimes=RegimeRules(boundary=_every_item_ignored),
        edges=_NLL_EDGES,
        element_kind="per_class_slice",
        unbatched=("(C)", "(N, C)"),
    ),
    LossSpec(
        "multi_margin_loss",
        "classification",
        "multi-class hinge loss Σ_{i≠y} w_y max(0, margin − x_y + x_i)^p / C",
        (
            ArraySpec("input", REAL, differentiable=True, description="class scores"),
            _INDEX_TARGET,
            _CLASS_WEIGHT,
        ),
        (
            Param(
                "p",
                1,
                "be 1 or 2",
                lambda v: v in (1, 2) and not isinstance(v, bool),
                grid=(1, 2),
                description="exponent of the hinge",
            ),
            P.real(
                "margin",
                1.0,
                (1.0, 0.5),
                "required gap between the target score and others",
                kink=True,
            ),
            P.reduction(),
        ),
        (
            Layout("(C)", {"input": ("C",), "target": (), "weight": ("C",)}),
            Layout("(N, C)", {"input": ("N", "C"), "target": ("N",), "weight": ("C",)}),
        ),
        multi_margin_loss,
        multi_margin_loss_vjp,
        smooth_at=_off_hinge,
        term_scale=TermScale(_multi_margin_value, _multi_margin_grads),
        regimes=RegimeRules(kinks=_multi_margin_kinks),
        edges=_MULTI_MARGIN_EDGES,
        element_kind="per_vector",
        unbatched=("(C)", "(N, C)"),
    ),
    LossSpec(
        "multilabel_soft_margin_loss",
        "classification",
        "one logistic loss per label, averaged over labels",
        (
            ArraySpec("input", LOGIT, differentiable=True, description="logits"),
            ArraySpec("target", PROBABILITY, differentiable=True, description="labels in [0, 1]"),
            _CLASS_WEIGHT,
        ),
        (P.reduction(),),
        (
            Layout("(N, C)", {"input": ("N", "C"), "target": ("N", "C"), "weight": ("C",)}),
            # torch multiplies the per-label terms by weight before summing: any weight that
            # broadcasts to (N, C) is taken, a per-element mask included
            Layout(
                "(N, C) elementwise weight",
                {"input": ("N", "C"), "target": ("N", "C"), "weight": ("N", "C")},
            ),
        ),
        multilabel_soft_margin_loss,
        multilabel_soft_margin_loss_vjp,
        term_scale=TermScale(_multilabel_value, _multilabel_grads),
        regimes=RegimeRules(intermediates=_multilabel_label_sum, labels=("target",)),
        edges=_MULTILABEL_EDGES,
        element_kind="per_vector",
    ),
    LossSpec(
        "multilabel_margin_loss",
        "classification",
        "Σ over label j, non-label i of max(0, 1 − (x_j − x_i)) / C; labels end at the first −1",
        (
            ArraySpec("input", REAL, differentiable=True, description="class scores"),
            ArraySpec(
                "target",
                MULTILABEL_TARGET,
                differentiable=False,
                description="the item's labels, then −1 (the input's shape)",
            ),
        ),
        (P.reduction(),),
        (
            Layout("(C)", {"input": ("C",), "target": ("C",)}),
            Layout("(N, C)", {"input": ("N", "C"), "target": ("N", "C")}),
        ),
        multilabel_margin_loss,
        multilabel_margin_loss_vjp,
        smooth_at=_multilabel_off_hinge,
        term_scale=TermScale(_multilabel_margin_value, _multilabel_margin_grads),
        regimes=RegimeRules(kinks=_multilabel_margin_kinks),
        edges=_MULTILABEL_MARGIN_EDGES,
        element_kind="per_vector",
        unbatched=("(C)", "(N, C)"),
    ),
    *(
        LossSpec(
            name,
            "classification",
            summary,
            (
                ArraySpec("input", REAL, differentiable=True, description="class scores"),
                _INDEX_TARGET,
            ),
            (P.reduction(),),
            (
                Layout("(C)", {"input": ("C",), "target": ()}),
                Layout("(N, C)", {"input": ("N", "C"), "target": ("N",)}),
            ),
            formula,
            _crammer_singer_vjp(margin),
            smooth_at=lambda a, p, h, margin=margin: _crammer_singer_smooth(a, margin, h),
            term_scale=TermScale(_crammer_singer_value(margin), _crammer_singer_grads(margin)),
            regimes=RegimeRules(kinks=_crammer_singer_kinks(margin)),
            edges=_crammer_singer_edges(margin),
            element_kind="per_vector",
            unbatched=("(C)", "(N, C)"),
        )
        for name, summary, formula, margin in (
            (
                "multiclass_hinge_loss",
                "Crammer-Singer hinge max(0, max_{j≠y}(1 + x_j − x_y)) on the best wrong class",
                multiclass_hinge_loss,
                1.0,
            ),
            (
                "multiclass_perceptron_loss",
                "multiclass perceptron max_j x_j − x_y",
                multiclass_perceptron_loss,
                0.0,
            ),
        )
    ),
    LossSpec(
        "categorical_hinge",
        "classification",
        "max(0, 1 + max_j (1 − t_j)·x_j − Σ t_j x_j) (Keras' CategoricalHinge)",
        (
            ArraySpec("input", REAL, differentiable=True, description="class scores"),
            ArraySpec("target", PROBABILITY, differentiable=False, description="labels in [0, 1]"),
        ),
        (P.reduction(),),
        (
            Layout("(N, C)", {"input": ("N", "C"), "target": ("N", "C")}),
            Layout("(C)", {"input": ("C",), "target": ("C",)}),
        ),
        categorical_hinge,
        categorical_hinge_vjp,
        smooth_at=_categorical_hinge_smooth,
        term_scale=TermScale(_categorical_hinge_value, _categorical_hinge_grads),
        regimes=RegimeRules(kinks=_categorical_hinge_kinks, labels=("target",)),
        edges=_CATEGORICAL_HINGE_EDGES,
        element_kind="per_vector",
        unbatched=("(C)", "(N, C)"),
    ),
    LossSpec(
        "poly_loss_cross_entropy",
        "classification",
        "Poly-1 loss: softmax cross-entropy + ε Σ_c t_c (1 − softmax_c), classes last",
        (
            ArraySpec("input", LOGIT, differentiable=True, description="unnormalised logits"),
            ArraySpec(
                "target",
                PROBABILITY,
                differentiable=True,
                description="class probabilities with the input's shape",
            ),
        ),
        (
            P.real(
                "epsilon",
                2.0,
                (2.0, -1.0),
                "coefficient added to the first polynomial term (1 − p_t); 0 is cross-entropy",
            ),
            P.reduction(),
        ),
        (
            Layout("(C)", {"input": ("C",), "target": ("C",)}),
            Layout("(N, C)", {"input": ("N", "C"), "target": ("N", "C")}),
        ),
        poly_loss_cross_entropy,
        poly_loss_cross_entropy_vjp,
        term_scale=TermScale(_poly_value, _poly_grads),
        regimes=RegimeRules(intermediates=_poly_intermediates, labels=("target",)),
        edges=_POLY_EDGES,
        element_kind="per_vector",
        unbatched=("(C)", "(N, C)"),
    ),
    LossSpec(
        "multiclass_sparsemax_loss",
        "classification",
        "sparsemax (Fenchel-Young) loss ⟨p, z⟩ + ½(1 − ‖p‖²) − z_y, p = sparsemax(z), (N, C)",
        (
            ArraySpec("input", REAL, differentiable=True, description="class scores"),
            _INDEX_TARGET,
        ),
        (P.reduction(),),
        (Layout("(N, C)", {"input": ("N", "C"), "target": ("N",)}),),
        multiclass_sparsemax_loss,
        multiclass_sparsemax_loss_vjp,
        smooth_at=_multiclass_sparsemax_smooth,
        term_scale=TermScale(_multiclass_sparsemax_value, _multiclass_sparsemax_grads),
        regimes=RegimeRules(kinks=_multiclass_sparsemax_kinks),
        edges=_MULTICLASS_SPARSEMAX_EDGES,
        element_kind="per_vector",
    ),
    # the softmax focal loss and the generalized cross-entropy (Keras), in their own module
    *_categorical.LOSSES,
)
