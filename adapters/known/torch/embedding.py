"""torch's known divergences in the embedding family: triplet_margin_loss,
triplet_margin_with_distance_loss, cosine_embedding_loss, margin_ranking_loss,
hinge_embedding_loss and soft_margin_loss.
"""

from __future__ import annotations

import math

import numpy as np

import reference as R
from adapters.base import Accepts, Divergence, Example
from reference import Case
from reference.contract import Prediction, predict
from reference.terms import TermScale

from ._common import (
    EPSILON,
    ISSUE,
    LOSS_CPP,
    VALUE_GRAD,
    elementwise_cotangent,
    label_unchecked,
    params_of,
    unchecked,
)
from ._shapes import (
    BROADCASTS,
    SAME_RANK,
    all_broadcast,
    broadcast_to_input,
    broadcasting,
    cosine_shapes,
    same_rank_and_broadcast,
)


def cosine_epsilon_visible(case: Case) -> bool:
    """Adding 1e-12 to a squared norm moves cos by more than 2 ulps of the dtype (or a norm is 0).

    First order: torch's cos is the exact cos times 1 − ½·1e-12·(1/‖x1‖² + 1/‖x2‖²).
    """
    a = case.rounded()
    s1 = np.sum(a["input1"] ** 2, axis=-1)
    s2 = np.sum(a["input2"] ** 2, axis=-1)
    with np.errstate(divide="ignore"):
        shift = 0.5e-12 * (1.0 / s1 + 1.0 / s2)
    return bool(np.any(shift > 2 * R.FORMATS[case.dtype].eps))


def _with_epsilon_components(a, root: float) -> dict[str, np.ndarray]:
    """input1 and input2 with two components appended, [x1, r, 0] and [x2, 0, r]: their squared
    norms are ‖x1‖² + r², ‖x2‖² + r² and their dot product x1·x2, so the reference's own cosine
    of them is torch's cos with r² added to each squared norm."""
    x1, x2 = a["input1"], a["input2"]

    def column(x, value):
        return np.full((*x.shape[:-1], 1), value)

    return {
        **a,
        "input1": np.concatenate([x1, column(x1, root), column(x1, 0.0)], axis=-1),
        "input2": np.concatenate([x2, column(x2, 0.0), column(x2, root)], axis=-1),
    }


def _original_components(grads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: g[..., :-2] for name, g in grads.items()}


def cosine_with_epsilon(case: Case) -> Prediction:
    """The reference's cosine_embedding_loss, value, gradients and term scales, on the vectors
    extended by √EPSILON (:func:`_with_epsilon_components`), EPSILON as the dtype holds it
    (float16 rounds it to 0): torch's cos = x1·x2 / √((‖x1‖² + ε)(‖x2‖² + ε))."""
    spec = R.get("cosine_embedding_loss")
    epsilon = float(R.round_to(np.float64(EPSILON), case.dtype))
    root = math.sqrt(epsilon)
    ts = spec.term_scale

    def extended(a):
        return _with_epsilon_components(a, root)

    return predict(
        case,
        elementwise=lambda a, p: spec.elementwise(extended(a), p),
        elementwise_vjp=lambda a, p, g: _original_components(
            spec.elementwise_vjp(extended(a), p, g)
        ),
        term_scale=TermScale(
            lambda a, p, loss: ts.value(extended(a), p, loss),
            lambda a, p, c: _original_components(ts.grads(extended(a), p, c)),
        ),
    )


def cosine_norms_overflow(case: Case) -> bool:
    """‖x1‖², ‖x2‖² or their product exceeds the dtype's range (float16: ‖x1‖·‖x2‖ > 256)."""
    a = case.rounded()
    s1 = np.sum(a["input1"] ** 2, axis=-1) + 1e-12
    s2 = np.sum(a["input2"] ** 2, axis=-1) + 1e-12
    limit = R.FORMATS[case.dtype].max_value
    return bool(np.any((s1 > limit) | (s2 > limit) | (s1 * s2 > limit)))


def cosine_norms_underflow(case: Case) -> bool:
    """‖x1‖²·‖x2‖², computed as torch does (1e-12 added in the dtype, where float16 rounds it to
    0), lies below the dtype's smallest normal number, or a step of the backward through it
    overflows: g·|cos|/(2·‖x1‖²‖x2‖²) for the square root, that times ‖x1‖² (= g·|cos|/(2‖x2‖²))
    for ‖x2‖², and likewise for ‖x1‖²."""
    a, dt = case.rounded(), case.dtype
    fmt = R.FORMATS[dt]

    def squared_norm(x):
        return R.round_to(R.round_to(np.sum(x * x, axis=-1), dt) + 1e-12, dt)

    s1, s2 = squared_norm(a["input1"]), squared_norm(a["input2"])
    product = R.round_to(s1 * s2, dt)
    cos = np.sum(a["input1"] * a["input2"], axis=-1) / np.sqrt(product)
    g = np.broadcast_to(elementwise_cotangent(case, product.size), product.shape)
    backward = g * np.abs(cos) / (2.0 * np.minimum(product, np.minimum(s1, s2)))
    return bool(np.any((product < fmt.tiny) | (backward > fmt.max_value)))


def cosine_at_kink(case: Case) -> bool:
    """A −1 pair whose cosine, computed as torch does (1e-12 added to each squared norm, every
    operation rounded to the dtype), equals the margin."""
    a, p, dt = case.rounded(), params_of(case), case.dtype

    def rnd(x):
        return R.round_to(x, dt)

    x1, x2 = a["input1"], a["input2"]
    s1 = rnd(rnd(np.sum(rnd(x1 * x1), -1)) + 1e-12)
    s2 = rnd(rnd(np.sum(rnd(x2 * x2), -1)) + 1e-12)
    cos = rnd(rnd(np.sum(rnd(x1 * x2), -1)) / rnd(np.sqrt(rnd(s1 * s2))))
    return bool(np.any((a["target"] == -1) & (cos == p["margin"])))


def hinge_embedding_at_kink(case: Case) -> bool:
    a, p = case.rounded(), params_of(case)
    return bool(np.any((a["target"] == -1) & (a["input"] == p["margin"])))


def margin_ranking_at_kink(case: Case) -> bool:
    """−y·(x1 − x2) + margin == 0, each operation rounded to the dtype as torch computes it."""
    a, p = case.rounded(), params_of(case)
    diff = R.round_to(a["input1"] - a["input2"], case.dtype)
    z = R.round_to(-a["target"] * diff + p["margin"], case.dtype)
    return bool(np.any(z == 0))


# torch/nn/functional.py at v2.13.0, triplet_margin_with_distance_loss (L5993-L6067): it rejects
# margin <= 0 (L6031-6032), checks equal ranks (L6035-6043), calls torch.pairwise_distance at its
# defaults when distance_function is None (L6046-6050), takes torch.minimum of the two negative
# distances with swap (L6056-6058) and clamp_min(margin + d(a, p) - d(a, n), 0) (L6059):
# triplet_margin_loss's computation at p = 2, eps = 1e-6, so the same predicates locate the same
# behaviours. Each entry links the lines it is about.
FUNCTIONAL_TRIPLET_DISTANCE = (
    "https://github.com/pytorch/pytorch/blob/v2.13.0/torch/nn/functional.py#L{}"
)
PAIRWISE_DEFAULTS = {"p": 2.0, "eps": 1e-6}


def _triplet_params(case: Case) -> dict:
    """The case's parameters with the distance's: triplet_margin_loss names p and eps,
    triplet_margin_with_distance_loss uses pairwise_distance's defaults."""
    return {**PAIRWISE_DEFAULTS, **params_of(case)}


def _triplet_distances(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """d(a, p), d(a, n), d(p, n) as torch's pairwise_distance computes them: ‖u − v + eps‖_p with
    the difference, the eps addition and the norm each rounded to the dtype (so ties and kinks are
    the ones torch sees: with large entries eps vanishes in float32, and two distances can tie
    there but not in float64)."""
    a, p, dt = case.rounded(), _triplet_params(case), case.dtype

    def rnd(x):
        return R.round_to(x, dt)

    def dist(u, v):  # the norm kernel accumulates in float and rounds its result once
        diff = rnd(rnd(a[u] - a[v]) + p["eps"])
        return rnd(np.sum(np.abs(diff) ** p["p"], axis=-1) ** (1.0 / p["p"]))

    return dist("anchor", "positive"), dist("anchor", "negative"), dist("positive", "negative")


def _triplet_hinge_argument(case: Case, d_neg: np.ndarray) -> np.ndarray:
    """margin + d(a, p) − d_neg as torch evaluates it: (margin + d(a, p)) rounded to the dtype,
    then the difference rounded (float16 distances near 1000 have a spacing of 1, so adding a
    margin of ½ can round up to the next distance and put the triplet exactly on the kink)."""
    d_ap = _triplet_distances(case)[0]
    dt = case.dtype
    return R.round_to(R.round_to(params_of(case)["margin"] + d_ap, dt) - d_neg, dt)


def triplet_at_kink(case: Case) -> bool:
    p = params_of(case)
    _, d_an, d_pn = _triplet_distances(case)
    d_neg = np.minimum(d_an, d_pn) if p["swap"] else d_an
    return bool(np.any(_triplet_hinge_argument(case, d_neg) == 0))


def triplet_swap_tie(case: Case) -> bool:
    """An active triplet whose two negative distances tie (e.g. anchor == positive)."""
    _, d_an, d_pn = _triplet_distances(case)
    return bool(np.any((d_an == d_pn) & (_triplet_hinge_argument(case, d_an) > 0)))


# Shared by triplet_margin_loss and triplet_margin_with_distance_loss (the same torch arithmetic:
# pairwise_distance, then torch.min / torch.minimum for swap).
SWAP_TIE = Example(
    {"reduction": "none", "swap": True, "margin": 0.5},
    {"anchor": [[1.0, 2.0]], "positive": [[1.0, 2.0]], "negative": [[1.25, 2.0]]},
    cotangent=[1.0],
)
SWAP_TIE_TEXT = "swap, an active triplet with d(a, n) == d(p, n)"

DIVERGENCES: list[Divergence] = [
    Divergence(
        id="cosine_embedding_loss/epsilon",
        kind="convention",
        loss="cosine_embedding_loss",
        description=(
            "adds EPSILON = 1e-12 to both squared norms before the square root, so a zero vector "
            "gives cos = 0 (loss 1 for y = 1, finite gradients) instead of NaN, and every cosine is "
            "scaled by ≈ 1 − ½·1e-12·(1/‖x1‖² + 1/‖x2‖²), visible in float64 for ordinary norms"
        ),
        citation=LOSS_CPP,
        inputs=cosine_epsilon_visible,
        inputs_text="some row where ½·1e-12·(1/‖x1‖² + 1/‖x2‖²) exceeds 2 ulps of the dtype "
        "(includes zero vectors)",
        affects=VALUE_GRAD,
        model=cosine_with_epsilon,
        model_text="the reference's loss and gradients with EPSILON (as the dtype holds it) added "
        "to both squared norms",
        example=Example(
            {"reduction": "none"},
            {
                "input1": [[0.0, 0.0], [1.0, 2.0]],
                "input2": [[1.0, 2.0], [3.0, 1.0]],
                "target": [1.0, 1.0],
            },
            cotangent=[1.0, 1.0],
        ),
    ),
    Divergence(
        id="cosine_embedding_loss/norm-overflow",
        kind="known-bug",
        loss="cosine_embedding_loss",
        description=(
            "computes sqrt(‖x1‖²·‖x2‖²) in the input dtype: once the product of squared norms "
            "overflows (float16: ‖x1‖·‖x2‖ > 256, e.g. x1 = [200, 200]) cos becomes 0 (loss 1) or "
            "NaN and the gradients 0 or NaN, although cos itself is a modest number"
        ),
        citation=LOSS_CPP,
        inputs=cosine_norms_overflow,
        inputs_text="some row with ‖x1‖², ‖x2‖² or ‖x1‖²·‖x2‖² above the dtype's largest number",
        affects=VALUE_GRAD,
        example=Example(
            {"reduction": "none"},
            {"input1": [[256.0, 256.0]], "input2": [[1.0, 2.0]], "target": [1.0]},
            dtype="float16",
            cotangent=[1.0],
        ),
    ),
    Divergence(
        id="cosine_embedding_loss/norm-underflow",
        kind="known-bug",
        loss="cosine_embedding_loss",
        description=(
            "computes sqrt(‖x1‖²·‖x2‖²) in the input dtype, and float16 rounds its EPSILON = "
            "1e-12 to 0: once ‖x1‖·‖x2‖ < 2^-7 the product of squared norms is subnormal or 0, so "
            "cos loses its digits or becomes ±inf/NaN, and the backward through it, "
            "g·cos/(2·‖x1‖²‖x2‖²) and that times a squared norm (g·cos/(2‖x2‖²)), overflows even "
            "where the product is normal (x1 = x2 = [2^-6], y = 1: gradients inf, reference 0; "
            "x1 = [8], x2 = [2^-10], y = −1, mean of 7: gradient of x2 −inf, reference 0)"
        ),
        citation=LOSS_CPP,
        inputs=cosine_norms_underflow,
        inputs_text="some row whose ‖x1‖²·‖x2‖² (as torch computes it) is below the dtype's "
        "smallest normal number, or whose g·|cos|/(2·min(‖x1‖²‖x2‖², ‖x1‖², ‖x2‖²)) exceeds its "
        "largest",
        affects=VALUE_GRAD,
        example=Example(
            {"reduction": "none"},
            {
                "input1": [[2.0**-6, 0.0], [1.0, 2.0]],
                "input2": [[2.0**-6, 0.0], [2.0, 1.0]],
                "target": [1.0, 1.0],
            },
            dtype="float16",
            cotangent=[1.0, 1.0],
        ),
    ),
    Divergence(
        id="cosine_embedding_loss/hinge-subgradient",
        kind="known-bug",
        loss="cosine_embedding_loss",
        description=(
            "max(0, cos − margin) is clamp_min, whose backward passes the gradient at the kink "
            "(subgradient 1) where the reference takes the minimum-norm 0"
        ),
        citation=ISSUE.format(184572),
        inputs=cosine_at_kink,
        inputs_text="a −1 pair whose cosine equals the margin",
        affects=("grad",),
        example=Example(
            {"reduction": "none"},
            {"input1": [[1.0, 0.0]], "input2": [[0.0, 1.0]], "target": [-1.0]},
            dtype="float32",
            cotangent=[1.0],
        ),
    ),
    Divergence(
        id="hinge_embedding_loss/subgradient",
        kind="known-bug",
        loss="hinge_embedding_loss",
        description=(
            "max(0, margin − x) is clamp_min, whose backward passes the gradient at the kink: at "
            "x == margin with y = −1 the gradient is −1, the reference's minimum-norm choice is 0"
        ),
        citation=ISSUE.format(184572),
        inputs=hinge_embedding_at_kink,
        inputs_text="some y = −1 element with input == margin",
        affects=("grad",),
        example=Example(
            {"reduction": "none"},
            {"input": [1.0, 0.5], "target": [-1.0, -1.0]},
            cotangent=[1.0, 1.0],
        ),
    ),
    Divergence(
        id="margin_ranking_loss/subgradient",
        kind="known-bug",
        loss="margin_ranking_loss",
        description=(
            "max(0, −y(x1 − x2) + margin) is clamp_min, whose backward passes the gradient at the "
            "kink: with x1 == x2 and margin 0 the gradients are ∓y, the reference's are 0"
        ),
        citation=ISSUE.format(184572),
        inputs=margin_ranking_at_kink,
        inputs_text="some element with −y(x1 − x2) + margin == 0",
        affects=("grad",),
        example=Example(
            {"reduction": "none"},
            {"input1": [1.0, 0.5], "input2": [1.0, 0.0], "target": [-1.0, 1.0]},
            cotangent=[1.0, 1.0],
        ),
    ),
    Divergence(
        id="triplet_margin_loss/subgradient",
        kind="known-bug",
        loss="triplet_margin_loss",
        description=(
            "max(0, d(a, p) − d(a, n) + margin) is clamp_min, whose backward passes the gradient "
            "at the kink, where the reference takes the minimum-norm 0"
        ),
        citation=ISSUE.format(184572),
        inputs=triplet_at_kink,
        inputs_text="some triplet with d(a, p) − d(a, n) + margin == 0",
        affects=("grad",),
        example=Example(
            {"reduction": "none", "eps": 0.0},
            {"anchor": [[0.0, 0.0]], "positive": [[1.0, 0.0]], "negative": [[2.0, 0.0]]},
            cotangent=[1.0],
        ),
    ),
    Divergence(
        id="triplet_margin_loss/swap-tie-subgradient",
        kind="convention",
        loss="triplet_margin_loss",
        where={"swap": True},
        description=(
            "the swapped negative distance is torch.min(d(a, n), d(p, n)), whose backward splits "
            "the gradient evenly between equal arguments; at a tie (anchor == positive makes one) "
            "the gradient is the midpoint of the two branches, where the reference takes the "
            "minimum-norm point between them"
        ),
        citation=ISSUE.format(56734),
        inputs=triplet_swap_tie,
        inputs_text=SWAP_TIE_TEXT,
        affects=("grad",),
        example=SWAP_TIE,
    ),
    Divergence(
        id="triplet_margin_with_distance_loss/subgradient",
        kind="known-bug",
        loss="triplet_margin_with_distance_loss",
        description=(
            "torch.clamp_min(margin + d(a, p) − d(a, n), 0) passes the gradient at the kink "
            "(subgradient 1), where the reference takes the minimum-norm 0; as "
            "triplet_margin_loss/subgradient (clamp_min's backward: pytorch issue 184572)"
        ),
        citation=FUNCTIONAL_TRIPLET_DISTANCE.format("6059"),
        inputs=triplet_at_kink,
        inputs_text="some triplet with d(a, p) − d(a, n) + margin == 0",
        affects=("grad",),
        # one feature, a − p = 2 and a − n = 3: 2 + 1e-6 and 3 + 1e-6 round alike, so the
        # hinge is exactly 0 even with pairwise_distance's eps
        example=Example(
            {"reduction": "none"},
            {"anchor": [[0.0]], "positive": [[-2.0]], "negative": [[-3.0]]},
            cotangent=[1.0],
        ),
    ),
    Divergence(
        id="triplet_margin_with_distance_loss/swap-tie-subgradient",
        kind="convention",
        loss="triplet_margin_with_distance_loss",
        where={"swap": True},
        description=(
            "the swapped negative distance is torch.minimum(d(a, n), d(p, n)), whose backward "
            "splits the gradient evenly between equal arguments; at a tie (anchor == positive "
            "makes one) the gradient is the midpoint of the two branches, where the reference "
            "takes the minimum-norm point between them; as triplet_margin_loss/swap-tie-subgradient "
            "(minimum's backward: pytorch issue 56734)"
        ),
        citation=FUNCTIONAL_TRIPLET_DISTANCE.format("6056-L6058"),
        inputs=triplet_swap_tie,
        inputs_text=SWAP_TIE_TEXT,
        affects=("grad",),
        example=SWAP_TIE,
    ),
]

# Inputs the reference rejects and torch computes anyway, keyed by (loss, argument).
ACCEPTS: list[Accepts] = [
    unchecked(
        id="cosine_embedding_loss/label-unchecked",
        loss="cosine_embedding_loss",
        argument="target",
        text=label_unchecked,
        page="CosineEmbeddingLoss",
        example=Example(
            {"reduction": "none"},
            {"input1": [[0.5, 0.25]], "input2": [[1.25, -0.5]], "target": [0.0]},
        ),
    ),
    unchecked(
        id="margin_ranking_loss/label-unchecked",
        loss="margin_ranking_loss",
        argument="target",
        text=label_unchecked,
        page="MarginRankingLoss",
        example=Example(
            {"reduction": "none"},
            {"input1": [0.5, 0.25], "input2": [1.25, -0.5], "target": [2.0, 1.0]},
        ),
    ),
    unchecked(
        id="hinge_embedding_loss/label-unchecked",
        loss="hinge_embedding_loss",
        argument="target",
        text=label_unchecked,
        page="HingeEmbeddingLoss",
        example=Example({"reduction": "none"}, {"input": [0.5, 0.25], "target": [0.0, 1.0]}),
    ),
    unchecked(
        id="soft_margin_loss/label-unchecked",
        loss="soft_margin_loss",
        argument="target",
        text=label_unchecked,
        page="SoftMarginLoss",
        example=Example({"reduction": "sum"}, {"input": [0.5, 0.25], "target": [2.0, 1.0]}),
    ),
    broadcasting(
        id="hinge_embedding_loss/broadcasts-shapes",
        loss="hinge_embedding_loss",
        what=BROADCASTS,
        accepts=all_broadcast,
        example=Example(
            {"reduction": "none"}, {"input": [[1.0, 1.0]] * 3, "target": [[-1.0, -1.0]]}
        ),
    ),
    broadcasting(
        id="soft_margin_loss/broadcasts-shapes",
        loss="soft_margin_loss",
        what=BROADCASTS + " when the result has the input's shape",
        accepts=broadcast_to_input,
        example=Example(
            {"reduction": "sum"}, {"input": [[1.0, 1.0]] * 3, "target": [[-1.0, -1.0]]}
        ),
    ),
    broadcasting(
        id="margin_ranking_loss/broadcasts-shapes",
        loss="margin_ranking_loss",
        what=SAME_RANK,
        accepts=same_rank_and_broadcast,
        example=Example(
            {"reduction": "none"},
            {"input1": [1.0, 2.0, 3.0], "input2": [2.0], "target": [1.0, -1.0, 1.0]},
        ),
    ),
    broadcasting(
        id="triplet_margin_loss/broadcasts-shapes",
        loss="triplet_margin_loss",
        what=SAME_RANK,
        accepts=same_rank_and_broadcast,
        example=Example(
            {"reduction": "none"},
            {"anchor": [[1.0, 1.0]] * 3, "positive": [[0.0, 0.0]], "negative": [[2.0, 2.0]] * 3},
        ),
    ),
    broadcasting(
        id="triplet_margin_with_distance_loss/broadcasts-shapes",
        loss="triplet_margin_with_distance_loss",
        what=SAME_RANK,
        accepts=same_rank_and_broadcast,
        citation=FUNCTIONAL_TRIPLET_DISTANCE.format("6034-L6050"),
        example=Example(
            {"reduction": "none"},
            {"anchor": [[1.0, 1.0]] * 3, "positive": [[0.0, 0.0]], "negative": [[2.0, 2.0]] * 3},
        ),
    ),
    broadcasting(
        id="cosine_embedding_loss/broadcasts-shapes",
        loss="cosine_embedding_loss",
        what="checks ranks only, then broadcasts",
        accepts=cosine_shapes,
        example=Example(
            {"reduction": "none"},
            {"input1": [[1.0, 1.0]] * 3, "input2": [[1.0, -1.0]], "target": [1.0, -1.0, 1.0]},
        ),
    ),
]
