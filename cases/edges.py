"""Hand-picked edge cases, run for every item whatever the profile.

Each row of :data:`EDGES` names a loss, what the case covers (its label is ``edge:<what>``), when
it applies (a predicate of the configuration) and the arrays. The values sit exactly on the point
named — errors at a kink (0, ±delta, ±beta, the margin), probabilities 0 and 1, ``-inf`` logits,
zero vectors, equal vectors, zero and tiny variances, counts 0 at rate 0, every target ignored —
and are exactly representable in every tested dtype (small dyadic numbers and 8192 = 2¹³, which
bfloat16's 8-bit significand holds). A row whose point cannot be exact in some dtype says why in
``inexact``; ``Case.meta["exact"]`` tells, per case, whether its arrays survive rounding to the
dtype unchanged.

Arrays use the canonical shapes of :func:`cases.strategies.canonical_layout` where they can
(N = 4 items, C = 3 classes, D = 3 features), so a compiled mode compiles once per item. Optional
arrays the configuration asks for (``weight``, ``pos_weight``) and the cotangent of reduction
``none`` are filled in with the exact pattern 1, ½, 2, ¼, … unless the row gives them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import reference as R
from reference import shapes
from reference.spec import LossSpec

from .sampling import output_shape

INF = math.inf
BIG = 8192.0  # 2**13: exact in every dtype, e^BIG overflows all of them, BIG² overflows float16
PATTERN = (1.0, 0.5, 2.0, 0.25)  # exact fill for weights; its signed form fills cotangents
COTANGENT_PATTERN = (1.0, -0.5, 2.0, -0.25)
ROW = np.array([0.25, -1.5, 3.0, 0.0])  # an ordinary, exact batch of 4 values

Arrays = dict[str, np.ndarray]
Config = Mapping[str, Any]


def _a(*values) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def _always(config: Config) -> bool:
    return True


def _has(name: str) -> Callable[[Config], bool]:
    """The configuration has this optional array, or this parameter is non-zero."""
    return lambda config: bool(config.get(name))


def _is(**wanted) -> Callable[[Config], bool]:
    return lambda config: all(config.get(k) == v for k, v in wanted.items())


@dataclass(frozen=True)
class Edge:
    """One hand-picked case: ``arrays(config)`` builds the arrays for a configuration."""

    loss: str
    what: str
    arrays: Callable[[Config], Arrays]
    when: Callable[[Config], bool] = field(default=_always)
    inexact: str = ""  # why the named point is not exactly representable in some dtype


def _tile(pattern, shape) -> np.ndarray:
    n = math.prod(shape)
    return np.resize(np.asarray(pattern, dtype=np.float64), n).reshape(shape)


# --- regression ----------------------------------------------------------------------------------

REGRESSION = ("mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "log_cosh")


def _error(offsets) -> Callable[[Config], Arrays]:
    return lambda c: {"input": ROW + np.asarray(offsets(c), dtype=np.float64), "target": ROW}


def _regression_edges() -> list[Edge]:
    rows = []
    for loss in REGRESSION:
        rows += [
            Edge(loss, "error 0 (input = target)", _error(lambda c: [0.0] * 4)),
            Edge(
                loss,
                f"errors ±{BIG:g} (overflow of squares and exponentials)",
                lambda c: {"input": _a(BIG, -BIG, 0, BIG), "target": _a(0, 0, BIG, -BIG)},
            ),
            Edge(
                loss,
                "errors ±2^-6 (small, beside the kink of |d| at 0)",
                _error(lambda c: [2.0**-6, -(2.0**-6), 2.0**-6, 0.0]),
            ),
        ]
    for loss, param in (("huber_loss", "delta"), ("smooth_l1_loss", "beta")):
        rows.append(
            Edge(
                loss,
                f"errors exactly ±{param} (where quadratic turns linear)",
                _error(lambda c, p=param: [c[p], -c[p], c[p], -c[p]]),
                when=_has(param),
            )
        )
    return rows


# --- binary --------------------------------------------------------------------------------------


def _binary_edges() -> list[Edge]:
    bce, logits, focal = (
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        "sigmoid_focal_loss",
    )
    rows = [
        Edge(
            bce,
            "input probabilities exactly 0 and 1, labels agreeing",
            lambda c: {"input": _a(0, 1, 0, 1), "target": _a(0, 1, 0, 1)},
        ),
        Edge(
            bce,
            "input probabilities exactly 0 and 1, labels opposite (infinite loss)",
            lambda c: {"input": _a(0, 1, 0.5, 0.5), "target": _a(1, 0, 0, 1)},
        ),
        Edge(
            bce,
            "input 2^-16 where the label is 1 (confident and wrong: ∂ℓ/∂x = -65536)",
            lambda c: {"input": _a(2.0**-16, 0.25, 0.5, 0.75), "target": _a(1, 0, 1, 0)},
        ),
        Edge(
            bce,
            "target probabilities 0, 1 and ½",
            lambda c: {"input": _a(0.25, 0.75, 0.5, 0.125), "target": _a(0, 1, 0.5, 1)},
        ),
        Edge(
            bce,
            "every weight 0",
            lambda c: {
                "input": _a(0.25, 0.75, 0.5, 0.125),
                "target": _a(0, 1, 0.5, 1),
                "weight": np.zeros(4),
            },
            when=_has("weight"),
        ),
    ]
    for loss in (logits, focal):
        rows += [
            Edge(
                loss,
                f"input logits ±{BIG:g} (saturated sigmoid)",
                lambda c: {"input": _a(BIG, -BIG, BIG, -BIG), "target": _a(1, 0, 0, 1)},
            ),
            Edge(
                loss,
                "input logits ±inf",
                lambda c: {"input": _a(INF, -INF, INF, -INF), "target": _a(1, 0, 0, 1)},
            ),
            Edge(
                loss,
                "input logits 0, target 0, 1, ½ and ¼",
                lambda c: {"input": np.zeros(4), "target": _a(0, 1, 0.5, 0.25)},
            ),
        ]
    rows += [
        Edge(
            logits,
            "every weight 0",
            lambda c: {
                "input": _a(BIG, -BIG, 0.5, -0.5),
                "target": _a(0, 1, 1, 0),
                "weight": np.zeros(4),
            },
            when=_has("weight"),
        ),
        Edge(
            logits,
            "pos_weight 0 (positive terms vanish)",
            lambda c: {
                "input": _a(-BIG, 0.5, -0.5, 0),
                "target": _a(1, 1, 0.5, 1),
                "pos_weight": _a(0),
            },
            when=_has("pos_weight"),
        ),
    ]
    return rows


# --- classification ------------------------------------------------------------------------------

_LOGITS = np.array([[0.5, -1.0, 2.0], [0.0, 0.25, -0.5], [1.0, 1.0, 1.0], [-2.0, 3.0, 0.5]])
_INDEX = np.array([2, 0, 1, 1])


def _with_column(value: float, at_target: bool) -> np.ndarray:
    """_LOGITS with ``value`` at each row's target class, or at the class after it."""
    x = _LOGITS.copy()
    cols = _INDEX if at_target else (_INDEX + 1) % 3
    x[np.arange(4), cols] = value
    return x


def _one_hot(index: np.ndarray, n_classes: int = 3) -> np.ndarray:
    return (index[:, None] == np.arange(n_classes)).astype(np.float64)


def _class_target(c: Config) -> np.ndarray:
    return _one_hot(_INDEX) if c.get("target_kind") == "probability" else _INDEX.copy()


def _ignore_all(c: Config) -> np.ndarray:
    return np.full(4, c["ignore_index"], dtype=np.int64)


def _neginf_at_zero_weight_target(c: Config) -> Arrays:
    """-inf at row 1's target class (class 0), whose class weight is 0: a zero weight removes the
    term (as the reference defines it for every weighted loss), so the loss stays finite."""
    x = _LOGITS.copy()
    x[1, _INDEX[1]] = -INF
    return {"input": x, "target": _class_target(c), "weight": _a(0, 0.5, 2)}


_SOFT = np.array([[0.5, 0.5, 0.0], [0.0, 0.25, 0.75], [1.0, 0.0, 0.0], [0.25, 0.25, 0.5]])
_BIG_LOGITS = np.array([[BIG, -BIG, 0], [-BIG, BIG, 0], [BIG, BIG, -BIG], [0, -BIG, BIG]])


def _classification_edges() -> list[Edge]:
    ce, nll, mm, ml = (
        "cross_entropy",
        "nll_loss",
        "multi_margin_loss",
        "multilabel_soft_margin_loss",
    )
    probability = _is(target_kind="probability")

    def ignoring(c: Config) -> bool:
        return c.get("ignore_index") is not None

    return [
        Edge(
            ce,
            "-inf logit at a non-target class",
            lambda c: {"input": _with_column(-INF, False), "target": _class_target(c)},
        ),
        Edge(
            ce,
            "-inf logit at the target class (infinite loss)",
            lambda c: {"input": _with_column(-INF, True), "target": _class_target(c)},
        ),
        Edge(
            ce,
            "+inf logit at a non-target class (infinite loss)",
            lambda c: {"input": _with_column(INF, False), "target": _class_target(c)},
        ),
        Edge(
            ce,
            "-inf logit at a zero-weight target class (absent term)",
            _neginf_at_zero_weight_target,
            when=_has("weight"),
        ),
        Edge(
            ce,
            "all logits equal",
            lambda c: {"input": np.zeros((4, 3)), "target": _class_target(c)},
        ),
        Edge(
            ce,
            f"logits ±{BIG:g}",
            lambda c: {"input": _BIG_LOGITS.copy(), "target": _class_target(c)},
        ),
        Edge(
            ce,
            "every target ignored",
            lambda c: {"input": _LOGITS.copy(), "target": _ignore_all(c)},
            when=ignoring,
        ),
        Edge(
            ce,
            "every target ignored, K-dimensional input (N, C, d1, d2)",
            lambda c: {
                "input": np.zeros((1, 3, 2, 2)),
                "target": np.full((1, 2, 2), c["ignore_index"], dtype=np.int64),
            },
            when=ignoring,
        ),
        Edge(
            ce,
            "every class weight 0",
            lambda c: {"input": _LOGITS.copy(), "target": _class_target(c), "weight": np.zeros(3)},
            when=_has("weight"),
        ),
        Edge(
            ce,
            "probability target rows all 0",
            lambda c: {"input": _LOGITS.copy(), "target": np.zeros((4, 3))},
            when=probability,
        ),
        Edge(
            ce,
            "probability targets 0, ¼, ½, 1 with -inf logits where the target is 0",
            lambda c: {"input": np.where(_SOFT == 0, -INF, _LOGITS), "target": _SOFT.copy()},
            when=probability,
        ),
        Edge(
            nll,
            "-inf log-probability at a non-target class",
            lambda c: {"input": _with_column(-INF, False), "target": _INDEX.copy()},
        ),
        Edge(
            nll,
            "-inf log-probability at the target class (infinite loss)",
            lambda c: {"input": _with_column(-INF, True), "target": _INDEX.copy()},
        ),
        Edge(
            nll,
            "-inf log-probability at a zero-weight target class (absent term)",
            lambda c: {**_neginf_at_zero_weight_target(c), "target": _INDEX.copy()},
            when=_has("weight"),
        ),
        Edge(
            nll,
            "log-probability 0 (probability 1) at the target class",
            lambda c: {"input": _with_column(0.0, True), "target": _INDEX.copy()},
        ),
        Edge(
            nll,
            "every target ignored",
            lambda c: {"input": _LOGITS.copy(), "target": _ignore_all(c)},
            when=ignoring,
        ),
        Edge(
            nll,
            "every class weight 0",
            lambda c: {"input": _LOGITS.copy(), "target": _INDEX.copy(), "weight": np.zeros(3)},
            when=_has("weight"),
        ),
        Edge(
            mm,
            "target score exactly margin above another class (hinge kink)",
            lambda c: {"input": _margin_rows(c["margin"]), "target": _INDEX.copy()},
        ),
        Edge(
            mm, "all scores equal", lambda c: {"input": np.zeros((4, 3)), "target": _INDEX.copy()}
        ),
        Edge(
            mm, f"scores ±{BIG:g}", lambda c: {"input": _BIG_LOGITS.copy(), "target": _INDEX.copy()}
        ),
        Edge(
            mm,
            "every class weight 0",
            lambda c: {"input": _LOGITS.copy(), "target": _INDEX.copy(), "weight": np.zeros(3)},
            when=_has("weight"),
        ),
        Edge(
            ml,
            f"logits ±{BIG:g} and ±inf",
            lambda c: {
                "input": np.array([[BIG, -BIG, 0], [-BIG, BIG, 0], [INF, -INF, 0], [-INF, INF, 0]]),
                "target": np.array([[1, 0, 1], [1, 0, 0], [1, 0, 1], [0, 1, 0]], dtype=np.float64),
            },
        ),
        Edge(
            ml,
            "logits 0, targets 0, 1 and ½",
            lambda c: {
                "input": np.zeros((4, 3)),
                "target": np.resize(_a(0, 1, 0.5), 12).reshape(4, 3),
            },
        ),
        Edge(
            ml,
            "every class weight 0",
            lambda c: {"input": _LOGITS.copy(), "target": _one_hot(_INDEX), "weight": np.zeros(3)},
            when=_has("weight"),
        ),
    ]


def _margin_rows(margin: float) -> np.ndarray:
    """Rows where x_y − x_i = margin for one other class i (and the third far below)."""
    x = np.full((4, 3), -4.0)
    rows = np.arange(4)
    x[rows, _INDEX] = 1.0
    x[rows, (_INDEX + 1) % 3] = 1.0 - margin
    return x


# --- distribution --------------------------------------------------------------------------------


def _kl_target(t: np.ndarray, c: Config) -> np.ndarray:
    """Probabilities, or their logs with ``log_target`` (log 0 = -inf, log 1 = 0: both exact)."""
    if not c.get("log_target"):
        return t
    with np.errstate(divide="ignore"):
        return np.log(t)


def _distribution_edges() -> list[Edge]:
    kl, poisson, gauss = "kl_div", "poisson_nll_loss", "gaussian_nll_loss"
    log_input, rate = _is(log_input=True), _is(log_input=False)
    return [
        Edge(
            kl,
            "target probabilities exactly 0 and 1",
            lambda c: {"input": _a(-1.0, -2.0, -0.5, 0.0), "target": _kl_target(_a(0, 1, 0, 1), c)},
        ),
        Edge(
            kl,
            "input -inf where the target is 0 (absent term)",
            lambda c: {"input": _a(-INF, -1.0, -INF, 0.0), "target": _kl_target(_a(0, 1, 0, 1), c)},
        ),
        Edge(
            kl,
            "input -inf where the target is 1 (infinite loss)",
            lambda c: {"input": _a(-INF, -1.0, 0.0, -0.5), "target": _kl_target(_a(1, 1, 0, 1), c)},
        ),
        Edge(
            poisson,
            "count 0 at rate 0",
            lambda c: {"input": _a(0, 0, 1, 2), "target": _a(0, 0, 0, 1)},
            when=rate,
        ),
        Edge(
            poisson,
            "count 0 at log-rate -inf (rate 0)",
            lambda c: {"input": _a(-INF, -INF, 0, 1), "target": _a(0, 0, 0, 1)},
            when=log_input,
        ),
        Edge(
            poisson,
            "positive count at rate 0 (log(0 + eps))",
            lambda c: {"input": _a(0, 0, 0.5, 0), "target": _a(1, 3, 0, 2)},
            when=rate,
        ),
        Edge(
            poisson,
            "counts 0, 1, 2, 3 around the Stirling threshold y > 1",
            lambda c: {"input": _a(0.5, 0.5, 0.5, 0.5), "target": _a(0, 1, 2, 3)},
        ),
        Edge(
            poisson,
            f"log-rates ±{BIG:g}/64 (e^x overflows float16 and bfloat16 at 128)",
            lambda c: {"input": _a(128, -128, 16, -16), "target": _a(0, 1, 2, 3)},
            when=log_input,
        ),
        Edge(
            gauss,
            "variance 0 (clamped to eps)",
            lambda c: {"input": ROW.copy(), "target": ROW + 0.5, "var": np.zeros(4)},
        ),
        Edge(
            gauss,
            "tiny variance 2^-22 below eps",
            lambda c: {"input": ROW.copy(), "target": ROW - 0.25, "var": np.full(4, 2.0**-22)},
        ),
        Edge(
            gauss,
            "variance exactly eps (the clamp's kink)",
            lambda c: {"input": ROW.copy(), "target": ROW + 1.0, "var": np.full(4, c["eps"])},
            inexact="eps = 1e-6 has no exact float32/float16/bfloat16 value: the rounded variance "
            "lies beside the clamp in the reference, while a framework clamping with eps cast to "
            "the dtype sits on it",
        ),
        Edge(
            gauss,
            "error 0 (input = target)",
            lambda c: {"input": ROW.copy(), "target": ROW.copy(), "var": _a(1, 0.5, 2, 0.25)},
        ),
    ]


# --- embedding -----------------------------------------------------------------------------------

_V = np.array([[0.5, -1.0, 2.0], [0.0, 0.25, -0.5], [1.0, 1.0, 1.0], [-2.0, 3.0, 0.5]])
_SIGNS = _a(1, -1, 1, -1)


def _triplet_hinge(c: Config) -> Arrays:
    """d(a, p) = s and d(a, n) = s + margin along one axis, so the hinge is exactly 0 (eps = 0)."""
    scale = _a(1, 2, 0.5, 4)[:, None]
    unit = np.array([1.0, 0.0, 0.0])
    return {
        "anchor": np.zeros((4, 3)),
        "positive": scale * unit,
        "negative": (scale + c["margin"]) * unit,
    }


def _triplet_swap_tie(c: Config) -> Arrays:
    """anchor = n + v and positive = n − v: equidistant from the negative (eps = 0)."""
    return {"anchor": _V + 1.0, "positive": 1.0 - _V, "negative": np.ones((4, 3))}


def _cosine_at_margin(c: Config) -> Arrays:
    """cos = 0 (orthogonal) or ½ ((1,0,0,0)·(1,1,1,1) / (1·2)), exactly, with y = −1."""
    if c["margin"] == 0.0:
        x1, x2 = np.eye(3)[[0, 1, 2, 0]], np.eye(3)[[1, 2, 0, 2]]
    else:
        assert c["margin"] == 0.5, "add the exact vectors for this margin"
        x1, x2 = np.tile(_a(1, 0, 0, 0), (4, 1)), np.ones((4, 4))
    return {"input1": x1, "input2": x2, "target": -np.ones(4)}


def _embedding_edges() -> list[Edge]:
    tri, cos, rank = "triplet_margin_loss", "cosine_embedding_loss", "margin_ranking_loss"
    hinge, soft = "hinge_embedding_loss", "soft_margin_loss"
    no_eps = _is(eps=0.0)
    return [
        Edge(
            tri,
            "anchor equal to positive (zero difference)",
            lambda c: {"anchor": _V.copy(), "positive": _V.copy(), "negative": _V + 1.0},
        ),
        Edge(
            tri,
            "anchor equal to negative",
            lambda c: {"anchor": _V.copy(), "positive": _V - 0.5, "negative": _V.copy()},
        ),
        Edge(tri, "hinge exactly at the margin", _triplet_hinge, when=no_eps),
        Edge(
            tri,
            "anchor and positive equidistant from the negative (swap tie)",
            _triplet_swap_tie,
            when=no_eps,
        ),
        Edge(
            tri,
            f"vectors ±{BIG:g}",
            lambda c: {"anchor": _V * BIG, "positive": -_V * BIG, "negative": np.zeros((4, 3))},
        ),
        Edge(
            cos,
            "zero vector (0/0 cosine)",
            lambda c: {
                "input1": np.vstack([np.zeros(3), _V[1:]]),
                "input2": _V.copy(),
                "target": _SIGNS,
            },
        ),
        Edge(
            cos,
            "identical vectors (cosine 1)",
            lambda c: {"input1": _V.copy(), "input2": _V.copy(), "target": _SIGNS},
        ),
        Edge(
            cos,
            "opposite vectors (cosine -1)",
            lambda c: {"input1": _V.copy(), "input2": -_V, "target": _SIGNS},
        ),
        Edge(cos, "cosine exactly at the margin for -1 labels (hinge kink)", _cosine_at_margin),
        Edge(
            rank,
            "score difference exactly ±margin (hinge kink)",
            lambda c: {
                "input1": ROW + c["margin"] * _SIGNS,
                "input2": ROW.copy(),
                "target": _SIGNS,
            },
        ),
        Edge(
            rank,
            "equal scores",
            lambda c: {"input1": ROW.copy(), "input2": ROW.copy(), "target": _SIGNS},
        ),
        Edge(
            rank,
            f"scores ±{BIG:g}",
            lambda c: {"input1": BIG * _SIGNS, "input2": -BIG * _SIGNS, "target": _a(1, 1, -1, -1)},
        ),
        Edge(
            hinge,
            "input exactly at the margin for -1 labels (hinge kink)",
            lambda c: {"input": np.full(4, c["margin"]), "target": _a(-1, -1, 1, -1)},
        ),
        Edge(
            hinge,
            f"inputs 0 and ±{BIG:g}",
            lambda c: {"input": _a(0, 0, BIG, -BIG), "target": _SIGNS},
        ),
        Edge(
            soft,
            f"margins ±{BIG:g} (e^-yx overflows)",
            lambda c: {"input": _a(BIG, -BIG, BIG, -BIG), "target": _a(1, 1, -1, -1)},
        ),
        Edge(soft, "input 0", lambda c: {"input": np.zeros(4), "target": _SIGNS}),
    ]


EDGES: tuple[Edge, ...] = (
    *_regression_edges(),
    *_binary_edges(),
    *_classification_edges(),
    *_distribution_edges(),
    *_embedding_edges(),
)


# --- building cases ------------------------------------------------------------------------------


def _complete(spec: LossSpec, arrays: Arrays, params: Mapping[str, Any], present) -> Arrays:
    """Add the optional arrays the configuration asks for, shaped by the layout the given ones fit."""
    missing = [name for name in spec.optional_arrays if name in present and name not in arrays]
    if not missing:
        return arrays
    full = {**spec.defaults(), **params}
    for layout in shapes.layouts_for(spec.layouts, full):
        if not set(missing) <= set(layout.shapes):
            continue
        bound: dict[str, int] = {}
        if all(
            shapes.bind(layout.shapes[k], v.shape, bound)
            for k, v in arrays.items()
            if k in layout.shapes
        ) and set(arrays) <= set(layout.shapes):
            extra = shapes.concrete(layout, bound, missing)
            return {**arrays, **{k: _tile(PATTERN, s) for k, s in extra.items()}}
    raise ValueError(f"{spec.name}: no layout holds {sorted(arrays)} and {missing}")


def _exact(arrays: Arrays, dtype: str) -> bool:
    return all(
        np.array_equal(R.round_to(v, dtype), v, equal_nan=True)
        for v in arrays.values()
        if not np.issubdtype(v.dtype, np.integer)
    )


def edge_cases(spec: LossSpec, config: Mapping[str, Any], dtype: str) -> list[R.Case]:
    """The hand-picked cases for one configuration, labelled ``edge:<what>``.

    ``dtype`` is set on the cases; device and mode are left at their defaults. ``meta["exact"]``
    is False where rounding to ``dtype`` moves a value (then ``meta["inexact"]`` says why).
    """
    params, present = R.split(spec, config)
    out = []
    for edge in EDGES:
        if edge.loss != spec.name or not edge.when(config):
            continue
        arrays = {k: np.asarray(v) for k, v in edge.arrays(config).items()}
        arrays = _complete(spec, arrays, params, present)
        arrays = {k: v for k, v in arrays.items() if k in present or not spec.array(k).optional}
        cotangent = None
        if params["reduction"] == "none":
            cotangent = _tile(COTANGENT_PATTERN, output_shape(spec, arrays, params))
        meta: dict[str, Any] = {"exact": _exact(arrays, dtype)}
        if not meta["exact"]:
            meta["inexact"] = edge.inexact or "a value is not representable in this dtype"
        out.append(
            R.Case(
                spec.name,
                params,
                arrays,
                dtype,
                cotangent=cotangent,
                label=f"edge:{edge.what}",
                meta=meta,
            )
        )
    return out
