"""Embedding and ranking losses: distances, cosines and margins between vectors or scores.

±1 labels select a branch of the formula; they are data (enforced to be exactly −1 or 1) and are
never differentiated. At every hinge max(0, z) with z = 0 the minimum-norm subgradient, 0, is used.
"""

from __future__ import annotations

import numpy as np

from . import params as P
from ._math import pnorm, pnorm_grad, sigmoid, softplus
from .domains import GROUP_LABEL, REAL, SIGN_LABEL
from .edges import BIG, ROW, Config, Edge, is_, vec
from .layouts import same_shape
from .regimes import RegimeRules
from .spec import ArraySpec, Elementwise, Layout, LossSpec, Param
from .terms import NEAR_HINGE, TermScale

# Edge cases: four exact vectors of three features, and labels alternating between the classes.
_V = np.array([[0.5, -1.0, 2.0], [0.0, 0.25, -0.5], [1.0, 1.0, 1.0], [-2.0, 3.0, 0.5]])
_SIGNS = vec(1, -1, 1, -1)

# --- triplet_margin_loss ----------------------------------------------------------------------


def _distances(a, p):
    """Differences (with eps added, as torch.nn.functional.pairwise_distance documents) and norms."""
    eps, order = p["eps"], p["p"]
    pairs = {
        "ap": a["anchor"] - a["positive"] + eps,
        "an": a["anchor"] - a["negative"] + eps,
        "pn": a["positive"] - a["negative"] + eps,
    }
    return pairs, {k: pnorm(v, order) for k, v in pairs.items()}


def triplet_margin_loss(a, p) -> Elementwise:
    """ℓ = max(0, d(a, p) − d(a, n) + margin), d(u, v) = ‖u − v + ε‖_p over the last dimension.

    ε = ``eps`` is added to every component of the difference, which is how torch documents
    ``pairwise_distance`` (the function its triplet loss calls): d(a, a) = ε·D^(1/p), not 0;
    eps = 0 gives the plain norm. With ``swap`` the negative distance is min(d(a, n), d(p, n))
    (Balntas et al. 2016). Domain: real vectors (N, D) or (D); p ≥ 1. Subgradients, minimum-norm
    throughout: 0 at the hinge; 0 for ‖·‖ at a zero difference (eps = 0, u = v); at a swap tie
    d(a, n) = d(p, n) the minimum-norm point of the segment between the two branches' gradients.
    """
    _, d = _distances(a, p)
    neg = np.minimum(d["an"], d["pn"]) if p["swap"] else d["an"]
    return Elementwise(np.maximum(d["ap"] - neg + p["margin"], 0.0))


def triplet_margin_loss_vjp(a, p, g):
    diffs, d = _distances(a, p)
    grad = {k: pnorm_grad(diffs[k], d[k], p["p"]) for k in diffs}
    # The full gradient (anchor, positive, negative) of d_ap − d_neg for each choice of d_neg.
    unswapped = np.stack([grad["ap"] - grad["an"], -grad["ap"], grad["an"]])
    swapped = np.stack([grad["ap"], -grad["ap"] - grad["pn"], grad["pn"]])
    if p["swap"]:
        axes = (0, -1)
        delta = swapped - unswapped
        denom = np.sum(delta * delta, axis=axes)
        safe = np.where(denom > 0, denom, 1.0)
        # t minimises ‖unswapped + t·delta‖ on [0, 1]: the minimum-norm point between branches.
        t_tie = np.clip(-np.sum(unswapped * delta, axis=axes) / safe, 0.0, 1.0)
        t = np.where(d["pn"] < d["an"], 1.0, np.where(d["pn"] > d["an"], 0.0, t_tie))
        t = np.where(denom > 0, t, 0.0)[None, ..., None]
        full = unswapped + t * delta
    else:
        full = unswapped
    neg = np.minimum(d["an"], d["pn"]) if p["swap"] else d["an"]
    active = (d["ap"] - neg + p["margin"]) > 0
    scale = np.where(active, g, 0.0)[None, ..., None]
    full = scale * full
    return {"anchor": full[0], "positive": full[1], "negative": full[2]}


def _triplet_smooth(a, p, h):
    diffs, d = _distances(a, p)
    neg = np.minimum(d["an"], d["pn"]) if p["swap"] else d["an"]
    ok = np.abs(d["ap"] - neg + p["margin"]) > 8 * h
    ok &= np.all(np.abs(diffs["ap"]) > 8 * h, axis=-1) & np.all(
        np.abs(diffs["an"]) > 8 * h, axis=-1
    )
    if p["swap"]:
        ok &= np.abs(d["an"] - d["pn"]) > 8 * h
        ok &= np.all(np.abs(diffs["pn"]) > 8 * h, axis=-1)
    return bool(np.all(ok))


def _triplet_parts(a, p):
    diffs, d = _distances(a, p)
    neg = np.minimum(d["an"], d["pn"]) if p["swap"] else d["an"]
    z = d["ap"] - neg + p["margin"]
    size = d["ap"] + neg + abs(p["margin"])
    return diffs, d, size, z >= -NEAR_HINGE * size


def _triplet_value(a, p, loss):
    _, _, size, near = _triplet_parts(a, p)
    return np.where(near, size, 0.0)


def _triplet_grads(a, p, c):
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


def _triplet_kinks(a, p):
    """The hinge d(a, p) − d(a, n) + margin at 0; each p-norm at a zero difference (for p = 1
    at each zero component, |v| being non-smooth there); with swap, the tie d(a, n) = d(p, n)."""
    diffs, d = _distances(a, p)
    neg = np.minimum(d["an"], d["pn"]) if p["swap"] else d["an"]
    out = [(d["ap"] - neg + p["margin"], d["ap"] + neg + abs(p["margin"]))]
    ends = {
        "ap": ("anchor", "positive"),
        "an": ("anchor", "negative"),
        "pn": ("positive", "negative"),
    }
    used = ("ap", "an", "pn") if p["swap"] else ("ap", "an")
    for k in used:
        size = np.abs(a[ends[k][0]]) + np.abs(a[ends[k][1]]) + p["eps"]
        if p["p"] == 1:
            out.append((diffs[k], size))
        else:
            out.append((d[k], pnorm(size, 2.0)))
    if p["swap"]:
        out.append((d["an"] - d["pn"], d["an"] + d["pn"]))
    return out


def _triplet_intermediates(a, p, c):
    """The differences with eps added (eps alone where two vectors coincide: below float16's
    normal range) and the sums of their p-th powers a distance takes the root of."""
    diffs, _ = _distances(a, p)
    used = ("ap", "an", "pn") if p["swap"] else ("ap", "an")
    out = []
    for k in used:
        out.append(diffs[k])
        out.append(np.sum(np.abs(diffs[k]) ** p["p"], axis=-1))
    return out


_TRIPLET_REGIMES = RegimeRules(kinks=_triplet_kinks, intermediates=_triplet_intermediates)


def _triplet_hinge(c: Config) -> dict[str, np.ndarray]:
    """d(a, p) = s and d(a, n) = s + margin along one axis, so the hinge is exactly 0 (eps = 0)."""
    scale = vec(1, 2, 0.5, 4)[:, None]
    unit = np.array([1.0, 0.0, 0.0])
    return {
        "anchor": np.zeros((4, 3)),
        "positive": scale * unit,
        "negative": (scale + c["margin"]) * unit,
    }


def _triplet_swap_tie(c: Config) -> dict[str, np.ndarray]:
    """anchor = n + v and positive = n − v: equidistant from the negative (eps = 0)."""
    return {"anchor": _V + 1.0, "positive": 1.0 - _V, "negative": np.ones((4, 3))}


# The edges that hold for any eps, shared with triplet_margin_with_distance_loss.
_TRIPLET_COINCIDENT = (
    Edge(
        "anchor equal to positive (zero difference)",
        lambda c: {"anchor": _V.copy(), "positive": _V.copy(), "negative": _V + 1.0},
    ),
    Edge(
        "anchor equal to negative",
        lambda c: {"anchor": _V.copy(), "positive": _V - 0.5, "negative": _V.copy()},
    ),
)
_TRIPLET_BIG = Edge(
    f"vectors ±{BIG:g}",
    lambda c: {"anchor": _V * BIG, "positive": -_V * BIG, "negative": np.zeros((4, 3))},
)

_TRIPLET_EDGES = (
    *_TRIPLET_COINCIDENT,
    Edge("hinge exactly at the margin", _triplet_hinge, when=is_(eps=0.0)),
    Edge(
        "anchor and positive equidistant from the negative (swap tie)",
        _triplet_swap_tie,
        when=is_(eps=0.0),
    ),
    _TRIPLET_BIG,
)


# --- triplet_margin_with_distance_loss ----------------------------------------------------------

# torch's distance when distance_function is None: pairwise_distance(x1, x2) with its defaults.
DEFAULT_DISTANCE = {"p": 2.0, "eps": 1e-6}


def _default_distance(f):
    """``f`` of triplet_margin_loss, evaluated with torch's default distance."""
    return lambda a, p, *rest: f(a, {**p, **DEFAULT_DISTANCE}, *rest)


def triplet_margin_with_distance_loss(a, p) -> Elementwise:
    """ℓ = max(0, d(a, p) − d(a, n) + margin), d(u, v) = ‖u − v + ε‖₂ over the last dimension,
    ε = 1e-6.

    The canonical loss is torch's with ``distance_function=None``, which then calls
    ``pairwise_distance(x1, x2)`` with its defaults p = 2, eps = 1e-6 (ε added to every component
    of the difference, so d(a, a) = 1e-6·√D): triplet_margin_loss at p = 2, eps = 1e-6, whose
    formula and gradient this is. A user-supplied distance function is not a canonical parameter.
    With ``swap`` the negative distance is min(d(a, n), d(p, n)). Domain: real vectors (N, D) or
    (D); margin > 0 (torch raises for margin ≤ 0 although its docs say "nonnegative", and the
    reference follows the code). Subgradients as in triplet_margin_loss, minimum-norm: 0 at the
    hinge, the minimum-norm point between the two branches at a swap tie d(a, n) = d(p, n).

    Sources: https://github.com/pytorch/pytorch/blob/v2.13.0/torch/nn/functional.py#L5993-L6067,
    https://docs.pytorch.org/docs/stable/generated/torch.nn.TripletMarginWithDistanceLoss.html
    """
    return _default_distance(triplet_margin_loss)(a, p)


def _triplet_default_hinge(c: Config) -> dict[str, np.ndarray]:
    """One feature: a − p = x and a − n = x + margin with x and x + margin in [2, 4), where every
    dtype rounds x + ε and x + margin + ε by the same amount, so d(a, n) − d(a, p) is exactly the
    margin and the hinge exactly 0 in each (float16 and bfloat16 lose ε altogether)."""
    assert 0 < c["margin"] <= 1, "x + margin must stay in [2, 4): add vectors for this margin"
    x = vec(2, 2.25, 2.5, 2.75)[:, None]
    return {"anchor": np.zeros((4, 1)), "positive": -x, "negative": -(x + c["margin"])}


_TRIPLET_DEFAULT_EDGES = (
    *_TRIPLET_COINCIDENT,
    Edge(
        "d(a, n) - d(a, p) exactly the margin, eps included (hinge kink)",
        _triplet_default_hinge,
        # with swap the nearer negative distance is d(p, n) = margin + eps: no kink there
        when=is_(swap=False),
    ),
    _TRIPLET_BIG,
)


# --- cosine_embedding_loss --------------------------------------------------------------------


def _cosine(a):
    x1, x2 = a["input1"], a["input2"]
    n1, n2 = pnorm(x1, 2.0), pnorm(x2, 2.0)
    # normalise first: x1·x2 and ‖x1‖‖x2‖ underflow (or overflow) for tiny (huge) vectors
    return np.sum((x1 / n1[..., None]) * (x2 / n2[..., None]), axis=-1), n1, n2


def cosine_embedding_loss(a, p) -> Elementwise:
    """ℓ = 1 − cos(x1, x2) if y = 1, max(0, cos(x1, x2) − margin) if y = −1.

    cos = x1·x2 / (‖x1‖ ‖x2‖) over the last dimension, exactly: a zero vector makes it 0/0 = NaN
    (torch adds 1e-12 to the squared norms, which is its convention). Domain: real vectors (N, D)
    or (D), y ∈ {−1, 1} (enforced), margin in [−1, 1]. ∂cos/∂x1 = x2/(‖x1‖‖x2‖) − cos·x1/‖x1‖²;
    the hinge at cos = margin takes the minimum-norm subgradient 0.
    """
    cos, _, _ = _cosine(a)
    y = a["target"]
    return Elementwise(np.where(y == 1, 1.0 - cos, np.maximum(cos - p["margin"], 0.0)))


def cosine_embedding_loss_vjp(a, p, g):
    x1, x2, y = a["input1"], a["input2"], a["target"]
    cos, n1, n2 = _cosine(a)
    dcos = np.where(y == 1, -1.0, np.where(cos - p["margin"] > 0, 1.0, 0.0)) * g
    c, n1, n2, dcos = cos[..., None], n1[..., None], n2[..., None], dcos[..., None]
    u1, u2 = x1 / n1, x2 / n2
    return {
        "input1": dcos * (u2 - c * u1) / n1,
        "input2": dcos * (u1 - c * u2) / n2,
    }


def _cosine_parts(a, p):
    x1, x2 = a["input1"], a["input2"]
    cos, n1, n2 = _cosine(a)
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


def _cosine_at_margin(c: Config) -> dict[str, np.ndarray]:
    """cos = 0 (orthogonal) or ½ ((1,0,0,0)·(1,1,1,1) / (1·2)), exactly, with y = −1."""
    if c["margin"] == 0.0:
        x1, x2 = np.eye(3)[[0, 1, 2, 0]], np.eye(3)[[1, 2, 0, 2]]
    else:
        assert c["margin"] == 0.5, "add the exact vectors for this margin"
        x1, x2 = np.tile(vec(1, 0, 0, 0), (4, 1)), np.ones((4, 4))
    return {"input1": x1, "input2": x2, "target": -np.ones(4)}


def _cosine_kinks(a, p):
    """The hinge cos − margin at 0 for −1 labels (cos is computed to about u)."""
    cos, _, _ = _cosine(a)
    z = np.where(a["target"] == -1, cos - p["margin"], np.inf)
    return [(z, 1.0 + abs(p["margin"]))]


def _zero_vector(a, p) -> bool:
    """A zero vector: its cosine is 0/0."""
    return any(bool(np.any(np.all(a[n] == 0, axis=-1))) for n in ("input1", "input2"))


def _cosine_intermediates(a, p, c):
    """x1·x2 over √(‖x1‖²·‖x2‖²), as the frameworks form it: the squared norms, their product
    and the dot product."""
    x1, x2 = a["input1"], a["input2"]
    s1, s2 = np.sum(x1 * x1, axis=-1), np.sum(x2 * x2, axis=-1)
    return [s1, s2, s1 * s2, np.sum(np.abs(x1 * x2), axis=-1)]


_COSINE_EDGES = (
    Edge(
        "zero vector (0/0 cosine)",
        lambda c: {
            "input1": np.vstack([np.zeros(3), _V[1:]]),
            "input2": _V.copy(),
            "target": _SIGNS,
        },
    ),
    Edge(
        "identical vectors (cosine 1)",
        lambda c: {"input1": _V.copy(), "input2": _V.copy(), "target": _SIGNS},
    ),
    Edge(
        "opposite vectors (cosine -1)",
        lambda c: {"input1": _V.copy(), "input2": -_V, "target": _SIGNS},
    ),
    Edge("cosine exactly at the margin for -1 labels (hinge kink)", _cosine_at_margin),
)


# --- cosine_similarity, cosine_distance ------------------------------------------------------


def _clamped_cosine(a, p):
    """v1 = x1/m1, v2 = x2/m2 with m = max(‖x‖, eps) (norms scaled against overflow), cos = v1·v2,
    the norms n and the clamped norms m (last axis)."""
    x1, x2, eps = a["input1"], a["input2"], p["eps"]
    n1, n2 = pnorm(x1, 2.0), pnorm(x2, 2.0)
    m1, m2 = np.maximum(n1, eps), np.maximum(n2, eps)
    v1, v2 = x1 / m1[..., None], x2 / m2[..., None]
    return np.sum(v1 * v2, axis=-1), v1, v2, n1, n2, m1, m2


def _cosine_pair(sign: float, offset: float):
    """ℓ = offset + sign·cos: cosine_similarity (0, +1) and cosine_distance (1, −1)."""

    def loss(a, p) -> Elementwise:
        cos = _clamped_cosine(a, p)[0]
        return Elementwise(offset + sign * cos)

    def vjp(a, p, g):
        cos, v1, v2, n1, n2, m1, m2 = _clamped_cosine(a, p)
        eps = p["eps"]
        c = cos[..., None]
        # a clamped norm is the constant eps: its derivative drops (at ‖x‖ = eps the norm's own)
        on1 = (n1 >= eps)[..., None] if eps else True
        on2 = (n2 >= eps)[..., None] if eps else True
        s = sign * g[..., None]
        return {
            "input1": s * (v2 - np.where(on1, c * v1, 0.0)) / m1[..., None],
            "input2": s * (v1 - np.where(on2, c * v2, 0.0)) / m2[..., None],
        }

    return loss, vjp


cosine_similarity, cosine_similarity_vjp = _cosine_pair(1.0, 0.0)
cosine_similarity.__doc__ = """ℓ = cos(x1, x2) = x1·x2 / (max(‖x1‖, eps) · max(‖x2‖, eps)).

Over the last dimension of (N, D) or (D) real vectors: each Euclidean norm is clamped below at
``eps`` (torch.nn.functional.cosine_similarity's definition; optax clips the squared norm at its
epsilon, the same for epsilon = eps²); eps = 0 is the exact cosine, where a zero vector gives
0/0 = NaN. Domain: real vectors, eps ≥ 0. Smooth away from ‖x‖ = eps:
∂ℓ/∂x1 = (v2 − cos·v1)/m1 with v = x/m, m = max(‖x‖, eps); where ‖x1‖ < eps the clamped norm
is the constant eps and the cos·v1 term drops; at ‖x1‖ = eps the norm's branch is taken.
"""
cosine_distance, cosine_distance_vjp = _cosine_pair(-1.0, 1.0)
cosine_distance.__doc__ = """ℓ = 1 − cos(x1, x2), the cosine distance (optax.losses.cosine_distance).

cos is cosine_similarity's, norms clamped below at ``eps`` (eps = 0: exact, a zero vector gives
NaN). Domain: real vectors (N, D) or (D), eps ≥ 0. Smooth away from ‖x‖ = eps: ∂ℓ/∂x1 = −(v2 − cos·v1)/m1 with v = x/m,
m = max(‖x‖, eps), the cos·v1 term dropped where ‖x1‖ < eps (the norm's branch at ‖x1‖ = eps).
"""

negative_cosine_similarity, negative_cosine_similarity_vjp = _cosine_pair(-1.0, 0.0)
negative_cosine_similarity.__doc__ = """ℓ = −cos(x1, x2) = −x1·x2 / (max(‖x1‖, eps) · max(‖x2‖, eps)).

The negated cosine, a loss that falls as the vectors align (keras.losses.CosineSimilarity and
keras.losses.cosine_similarity: −Σ normalize(y_true)·normalize(y_pred) along the feature axis,
normalize(x) = x · min(1/√Σx², 1/ε) = x / max(‖x‖, ε), ε = keras.config.epsilon() = 1e-7, the
default here). Its own loss rather than a sign on cosine_similarity: the sign is the loss's
definition, not a parameter any API takes, and cosine_similarity's configurations (and their
recorded verdicts) stay as they are. cos is cosine_similarity's, norms clamped below at ``eps``
(eps = 0: exact, a zero vector gives NaN). Domain: real vectors (N, D) or (D), eps ≥ 0. Smooth
away from ‖x‖ = eps: ∂ℓ/∂x1 = −(v2 − cos·v1)/m1 with v = x/m, m = max(‖x‖, eps), the cos·v1
term dropped where ‖x1‖ < eps (the norm's branch at ‖x1‖ = eps).
"""


def _clamped_parts(a, p):
    cos, v1, v2, _, _, m1, m2 = _clamped_cosine(a, p)
    # the products v1_i v2_i the dot product adds (Σ ≤ 1 by Cauchy-Schwarz), and the result
    dot = np.sum(np.abs(v1 * v2), axis=-1) + np.abs(cos)
    return v1, v2, m1, m2, dot


def _cosine_pair_value(offset: float):
    def value(a, p, loss):
        return offset + _clamped_parts(a, p)[4]

    return value


def _cosine_pair_grads(a, p, c):
    v1, v2, m1, m2, dot = _clamped_parts(a, p)
    cc, dot = np.asarray(c)[..., None], dot[..., None]
    return {
        "input1": cc * (np.abs(v2) + dot * np.abs(v1)) / m1[..., None],
        "input2": cc * (np.abs(v1) + dot * np.abs(v2)) / m2[..., None],
    }


def _clamp_kinks(a, p):
    """Where a norm meets eps, the clamp max(‖x‖, eps) turns (eps > 0; at eps = 0 only a zero
    vector, a boundary)."""
    if not p["eps"]:
        return []
    return [
        (pnorm(a[name], 2.0) - p["eps"], np.maximum(pnorm(a[name], 2.0), p["eps"]))
        for name in ("input1", "input2")
    ]


def _zero_vectors(a, p) -> bool:
    return any(bool(np.any(np.all(a[n] == 0, axis=-1))) for n in ("input1", "input2"))


def _squared_norms(a, p, c):
    """Σx² of each vector, which optax and Keras form before the square root."""
    return [np.sum(a[n] * a[n], axis=-1) for n in ("input1", "input2")]


_COSINE_PAIR_REGIMES = RegimeRules(
    kinks=_clamp_kinks, boundary=_zero_vectors, intermediates=_squared_norms
)


def _pair(x1, x2) -> dict[str, np.ndarray]:
    return {"input1": np.asarray(x1, dtype=np.float64), "input2": np.asarray(x2, dtype=np.float64)}


_COSINE_PAIR_EDGES = (
    Edge(
        "zero vector (0/0 cosine at eps = 0)", lambda c: _pair(np.vstack([np.zeros(3), _V[1:]]), _V)
    ),
    Edge("identical vectors (cosine 1)", lambda c: _pair(_V, _V)),
    Edge("opposite vectors (cosine -1)", lambda c: _pair(_V, -_V)),
    Edge(
        "orthogonal vectors (cosine 0)",
        lambda c: _pair(np.eye(3)[[0, 1, 2, 0]], np.eye(3)[[1, 2, 0, 2]]),
    ),
    Edge(
        "a norm below eps (2⁻³⁰ < 1e-8: the clamp at eps > 0)",
        lambda c: _pair(np.vstack([2.0**-30 * _V[0], _V[1:]]), _V[::-1]),
        inexact="2⁻³⁰·(½, −1, 2) is below float16's subnormals: it rounds to a zero vector",
    ),
    Edge(f"components ±{BIG:g} (squares beyond float16)", lambda c: _pair(BIG * np.sign(_V), _V)),
)


# --- margin_ranking_loss ----------------------------------------------------------------------


def margin_ranking_loss(a, p) -> Elementwise:
    """ℓ = max(0, −y (x1 − x2) + margin).

    Domain: real scores x1, x2 of shape (N) or (), y ∈ {−1, 1} (enforced). Subgradient at the
    hinge: 0. Elsewhere ∂ℓ/∂x1 = −y = −∂ℓ/∂x2 where the hinge is active.
    """
    z = -a["target"] * (a["input1"] - a["input2"]) + p["margin"]
    return Elementwise(np.maximum(z, 0.0))


def margin_ranking_loss_vjp(a, p, g):
    y = a["target"]
    z = -y * (a["input1"] - a["input2"]) + p["margin"]
    slope = np.where(z > 0, -y, 0.0) * g
    return {"input1": slope, "input2": -slope}


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


def _ranking_kinks(a, p):
    z = -a["target"] * (a["input1"] - a["input2"]) + p["margin"]
    return [(z, np.abs(a["input1"]) + np.abs(a["input2"]) + abs(p["margin"]))]


_RANKING_EDGES = (
    Edge(
        "score difference exactly ±margin (hinge kink)",
        lambda c: {
            "input1": ROW + c["margin"] * _SIGNS,
            "input2": ROW.copy(),
            "target": _SIGNS,
        },
    ),
    Edge(
        "equal scores",
        lambda c: {"input1": ROW.copy(), "input2": ROW.copy(), "target": _SIGNS},
    ),
    Edge(
        f"scores ±{BIG:g}",
        lambda c: {"input1": BIG * _SIGNS, "input2": -BIG * _SIGNS, "target": vec(1, 1, -1, -1)},
    ),
)


# --- hinge_embedding_loss ---------------------------------------------------------------------


def hinge_embedding_loss(a, p) -> Elementwise:
    """ℓ = x if y = 1, max(0, margin − x) if y = −1.

    Domain: x real (usually a distance), y ∈ {−1, 1} (enforced). Subgradient at x = margin for
    y = −1: 0. ∂ℓ/∂x = 1 for y = 1, −1 for y = −1 while margin − x > 0.
    """
    x, y = a["input"], a["target"]
    return Elementwise(np.where(y == 1, x, np.maximum(p["margin"] - x, 0.0)))


def hinge_embedding_loss_vjp(a, p, g):
    x, y = a["input"], a["target"]
    slope = np.where(y == 1, 1.0, np.where(p["margin"] - x > 0, -1.0, 0.0))
    return {"input": g * slope}


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


def _hinge_kinks(a, p):
    x = a["input"]
    return [(np.where(a["target"] == -1, p["margin"] - x, np.inf), np.abs(x) + abs(p["margin"]))]


_HINGE_EDGES = (
    Edge(
        "input exactly at the margin for -1 labels (hinge kink)",
        lambda c: {"input": np.full(4, c["margin"]), "target": vec(-1, -1, 1, -1)},
    ),
    Edge(
        f"inputs 0 and ±{BIG:g}",
        lambda c: {"input": vec(0, 0, BIG, -BIG), "target": _SIGNS},
    ),
)


# --- soft_margin_loss -------------------------------------------------------------------------


def soft_margin_loss(a, p) -> Elementwise:
    """ℓ = log(1 + e^{−y x}) = softplus(−y x).

    Domain: x real, y ∈ {−1, 1} (enforced). Smooth: ∂ℓ/∂x = −y σ(−y x).
    """
    return Elementwise(softplus(-a["target"] * a["input"]))


def soft_margin_loss_vjp(a, p, g):
    y = a["target"]
    return {"input": -g * y * sigmoid(-y * a["input"])}


def _soft_margin_value(a, p, loss):
    # softplus(z) evaluated as log1p(e^z) or as a log-sum-exp: the latter's log of a sum in [1, 2]
    # has an absolute error of u.
    return softplus(-a["target"] * a["input"]) + 1.0


def _soft_margin_grads(a, p, c):
    return {"input": c * sigmoid(-a["target"] * a["input"]) * (np.abs(a["input"]) + 1.0)}


def _soft_margin_exp(a, p, c):
    """e^(−y·x): log(1 + e^(−y·x)) as written forms it."""
    return [np.exp(-a["target"] * a["input"])]


_SOFT_MARGIN_EDGES = (
    Edge(
        f"margins ±{BIG:g} (e^-yx overflows)",
        lambda c: {"input": vec(BIG, -BIG, BIG, -BIG), "target": vec(1, 1, -1, -1)},
    ),
    Edge("input 0", lambda c: {"input": np.zeros(4), "target": _SIGNS}),
)


# --- declarations -----------------------------------------------------------------------------

_LABEL = ArraySpec("target", SIGN_LABEL, differentiable=False, description="label −1 or 1")


def _vectors(*names):
    return tuple(ArraySpec(n, REAL, differentiable=True, description="vector") for n in names)


def _hinge_off(z_of):
    return lambda a, p, h: bool(np.all(np.abs(z_of(a, p)) > 4 * h))


def _cosine_pair_spec(name, summary, formula, vjp, offset, eps=1e-8) -> LossSpec:
    """The spec of offset + sign·cos, norms clamped below at ``eps`` (its default)."""
    return LossSpec(
        name,
        "embedding",
        summary,
        _vectors("input1", "input2"),
        (
            P.nonnegative(
                "eps",
                eps,
                (eps, 0.0),
                "lower bound of each vector's norm (0: the exact cosine)",
            ),
            P.reduction(),
        ),
        (
            Layout("(N, D)", {"input1": ("N", "D"), "input2": ("N", "D")}),
            Layout("(D)", {"input1": ("D",), "input2": ("D",)}),
        ),
        formula,
        vjp,
        smooth_at=lambda a, p, h: bool(
            not p["eps"]
            or all(
                np.all(np.abs(pnorm(a[n], 2.0) - p["eps"]) > 4 * h) for n in ("input1", "input2")
            )
        ),
        term_scale=TermScale(_cosine_pair_value(offset), _cosine_pair_grads),
        regimes=_COSINE_PAIR_REGIMES,
        edges=_COSINE_PAIR_EDGES,
        element_kind="per_vector",
        unbatched=("(D)", "(N, D)"),
    )


LOSSES = (
    LossSpec(
        "triplet_margin_loss",
        "embedding",
        "max(0, d(a, p) − d(a, n) + margin) with p-norm distances",
        _vectors("anchor", "positive", "negative"),
        (
            P.real("margin", 1.0, (1.0, 0.5), "required gap between the two distances", kink=True),
            Param(
                "p",
                2.0,
                "be a real number ≥ 1",
                lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 1,
                grid=(2.0, 1.0),
                description="order of the norm",
            ),
            P.nonnegative("eps", 1e-6, (1e-6, 0.0), "added to each component of the difference"),
            P.flag("swap", False, "use min(d(a, n), d(p, n)) as the negative distance"),
            P.reduction(),
        ),
        (
            Layout("(N, D)", {n: ("N", "D") for n in ("anchor", "positive", "negative")}),
            Layout("(D)", {n: ("D",) for n in ("anchor", "positive", "negative")}),
        ),
        triplet_margin_loss,
        triplet_margin_loss_vjp,
        smooth_at=_triplet_smooth,
        term_scale=TermScale(_triplet_value, _triplet_grads, _triplet_grad_floor),
        regimes=_TRIPLET_REGIMES,
        edges=_TRIPLET_EDGES,
        element_kind="per_vector",
        unbatched=("(D)", "(N, D)"),
    ),
    LossSpec(
        "triplet_margin_with_distance_loss",
        "embedding",
        "max(0, d(a, p) − d(a, n) + margin) with torch's default distance ‖u − v + 1e-6‖₂",
        _vectors("anchor", "positive", "negative"),
        (
            P.positive(
                "margin", 1.0, (1.0, 0.5), "required gap between the two distances", kink=True
            ),
            P.flag("swap", False, "use min(d(a, n), d(p, n)) as the negative distance"),
            P.reduction(),
        ),
        (
            Layout("(N, D)", {n: ("N", "D") for n in ("anchor", "positive", "negative")}),
            Layout("(D)", {n: ("D",) for n in ("anchor", "positive", "negative")}),
        ),
        triplet_margin_with_distance_loss,
        _default_distance(triplet_margin_loss_vjp),
        smooth_at=_default_distance(_triplet_smooth),
        term_scale=TermScale(
            _default_distance(_triplet_value),
            _default_distance(_triplet_grads),
            _default_distance(_triplet_grad_floor),
        ),
        regimes=RegimeRules(
            kinks=_default_distance(_triplet_kinks),
            intermediates=_default_distance(_triplet_intermediates),
        ),
        edges=_TRIPLET_DEFAULT_EDGES,
        element_kind="per_vector",
        unbatched=("(D)", "(N, D)"),
    ),
    LossSpec(
        "cosine_embedding_loss",
        "embedding",
        "1 − cos for similar pairs, max(0, cos − margin) for dissimilar ones",
        (*_vectors("input1", "input2"), _LABEL),
        (
            P.interval(
                "margin",
                0.0,
                -1.0,
                1.0,
                (0.0, 0.5),
                "cosine below which −1 pairs cost 0",
                kink=True,
            ),
            P.reduction(),
        ),
        (
            Layout("(N, D)", {"input1": ("N", "D"), "input2": ("N", "D"), "target": ("N",)}),
            Layout("(D)", {"input1": ("D",), "input2": ("D",), "target": ()}),
        ),
        cosine_embedding_loss,
        cosine_embedding_loss_vjp,
        smooth_at=lambda a, p, h: bool(
            np.all((a["target"] == 1) | (np.abs(_cosine(a)[0] - p["margin"]) > 4 * h))
        ),
        term_scale=TermScale(_cosine_value, _cosine_grads),
        regimes=RegimeRules(
            kinks=_cosine_kinks, boundary=_zero_vector, intermediates=_cosine_intermediates
        ),
        edges=_COSINE_EDGES,
        element_kind="per_vector",
        unbatched=("(D)", "(N, D)"),
    ),
    *(
        _cosine_pair_spec(*row)
        for row in (
            (
                "cosine_similarity",
                "cos(x1, x2) = x1·x2 / (max(‖x1‖, eps)·max(‖x2‖, eps))",
                cosine_similarity,
                cosine_similarity_vjp,
                0.0,
            ),
            (
                "cosine_distance",
                "1 − cos(x1, x2), norms clamped below at eps",
                cosine_distance,
                cosine_distance_vjp,
                1.0,
            ),
        )
    ),
    LossSpec(
        "margin_ranking_loss",
        "embedding",
        "max(0, −y (x1 − x2) + margin)",
        (*_vectors("input1", "input2"), _LABEL),
        (
            P.real("margin", 0.0, (0.0, 0.5), "required gap between the two scores", kink=True),
            P.reduction(),
        ),
        (
            Layout("scalar", {"input1": (), "input2": (), "target": ()}),
            Layout("(N)", {"input1": ("N",), "input2": ("N",), "target": ("N",)}),
        ),
        margin_ranking_loss,
        margin_ranking_loss_vjp,
        smooth_at=_hinge_off(lambda a, p: -a["target"] * (a["input1"] - a["input2"]) + p["margin"]),
        term_scale=TermScale(_ranking_value, _ranking_grads),
        regimes=RegimeRules(kinks=_ranking_kinks),
        edges=_RANKING_EDGES,
        element_kind="elementwise",
        unbatched=("scalar", "(N)"),
    ),
    LossSpec(
        "hinge_embedding_loss",
        "embedding",
        "x for y = 1, max(0, margin − x) for y = −1",
        (ArraySpec("input", REAL, differentiable=True, description="distance or score"), _LABEL),
        (
            P.real("margin", 1.0, (1.0, 0.5), "distance beyond which −1 pairs cost 0", kink=True),
            P.reduction(),
        ),
        same_shape("input", "target"),
        hinge_embedding_loss,
        hinge_embedding_loss_vjp,
        smooth_at=_hinge_off(lambda a, p: p["margin"] - a["input"]),
        term_scale=TermScale(_hinge_value, _hinge_grads),
        regimes=RegimeRules(kinks=_hinge_kinks),
        edges=_HINGE_EDGES,
        element_kind="elementwise",
        unbatched=("scalar", "(N)"),
    ),
    LossSpec(
        "soft_margin_loss",
        "embedding",
        "two-class logistic loss log(1 + e^{−y x}) with ±1 labels",
        (ArraySpec("input", REAL, differentiable=True, description="score"), _LABEL),
        (P.reduction(),),
        same_shape("input", "target"),
        soft_margin_loss,
        soft_margin_loss_vjp,
        term_scale=TermScale(_soft_margin_value, _soft_margin_grads),
        regimes=RegimeRules(intermediates=_soft_margin_exp),
        edges=_SOFT_MARGIN_EDGES,
        element_kind="elementwise",
        unbatched=("scalar", "(N)"),
    ),
    _cosine_pair_spec(
        "negative_cosine_similarity",
        "−cos(x1, x2), norms clamped below at eps (Keras' CosineSimilarity)",
        negative_cosine_similarity,
        negative_cosine_similarity_vjp,
        0.0,
        eps=1e-7,
    ),
)


# --- ntxent (issue 13: optax.losses.ntxent) ---------------------------------------------------


def _ntxent_parts(a, p, sq_eps: float = 0.0):
    """Unit vectors, norms, S = cos/τ, the positive and negative masks, λ_i = log Σ_{k∈neg(i)}
    e^(S_ik) (−inf without a negative) and the softmax weights w_ik = e^(S_ik − λ_i) over the
    negatives. ``sq_eps`` > 0 floors each squared norm, ‖x‖ = √max(Σx², sq_eps): not the
    canonical loss (which has the exact norm), but optax's clamp, for the registry's model."""
    x = np.asarray(a["embeddings"], dtype=np.float64)
    y = np.asarray(a["labels"])
    if sq_eps:
        norm = np.sqrt(np.maximum(np.sum(x * x, axis=-1), sq_eps))
    else:
        norm = pnorm(x, 2.0)  # scaled: no square leaves float64's range
    with np.errstate(divide="ignore", invalid="ignore"):
        u = x / norm[:, None]
    s = (u @ u.T) / p["temperature"]
    same = y[:, None] == y[None, :]
    pos = same & ~np.eye(len(y), dtype=bool)
    neg = ~same
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        m = np.max(np.where(neg, s, -np.inf), axis=1, initial=-np.inf)
        shift = np.where(np.isfinite(m), m, 0.0)
        e = np.where(neg, np.exp(s - shift[:, None]), 0.0)
        lam = shift + np.log(np.sum(e, axis=1))
        w = np.where(neg, np.exp(s - lam[:, None]), 0.0)
    return x, u, norm, s, pos, neg, lam, w


def _ntxent(a, p, sq_eps: float = 0.0) -> Elementwise:
    _, _, _, s, pos, _, lam, _ = _ntxent_parts(a, p, sq_eps)
    with np.errstate(invalid="ignore"):
        # ℓ_ij = −log(e^S_ij / (e^S_ij + e^λ_i)) = softplus(λ_i − S_ij): exact for small ℓ, and 0
        # (softplus(−inf)) for an anchor without a negative
        terms = np.where(pos, softplus(lam[:, None] - s), 0.0)
    return Elementwise(np.sum(terms, axis=1), {"mean": float(np.sum(pos))})


def _ntxent_vjp(a, p, g, sq_eps: float = 0.0):
    x, u, norm, s, pos, neg, lam, w = _ntxent_parts(a, p, sq_eps)
    g = np.asarray(g, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        # ∂ℓ_ij/∂S_ij = −σ(λ_i − S_ij) = −∂ℓ_ij/∂λ_i; ∂λ_i/∂S_ik = w_ik
        sig = np.where(pos, sigmoid(lam[:, None] - s), 0.0)
        dlam = g * np.sum(sig, axis=1)
        ds = np.where(pos, -g[:, None] * sig, 0.0) + np.where(neg, dlam[:, None] * w, 0.0)
        c = ds / p["temperature"]
        du = (c + c.T) @ u
        clamped = (np.sum(x * x, axis=-1) < sq_eps)[:, None]
        radial = np.where(clamped, 0.0, np.sum(du * u, axis=-1, keepdims=True) * u)
        # + 0·g_i: item i's zero partials times its cotangent, so that the mean's infinite
        # cotangent at P = 0 (0/0) gives NaN, as the chain rule gives every mean over no element
        dx = (du - radial) / norm[:, None] + 0.0 * g[:, None]
    return {"embeddings": dx}


def ntxent(a, p) -> Elementwise:
    """NT-Xent (Chen et al. 2020, SimCLR; in the form of optax.losses.ntxent and
    pytorch-metric-learning's NTXentLoss). Embeddings x (N, D), integer group labels y (N),
    temperature τ > 0. S_ij = cos(x_i, x_j)/τ with the exact cosine x_i·x_j/(‖x_i‖‖x_j‖). For each
    ordered positive pair (i, j), i ≠ j, y_i = y_j, against the anchor's negatives
    neg(i) = {k: y_k ≠ y_i} (the anchor itself and its other positives are left out),

        ℓ_ij = −log(e^S_ij / (e^S_ij + Σ_{k∈neg(i)} e^S_ik)) = softplus(λ_i − S_ij),
        λ_i = log Σ_{k∈neg(i)} e^S_ik.

    ``none`` is per anchor, L_i = Σ_{j: (i, j) positive} ℓ_ij (N,); ``mean`` (optax's only form)
    divides Σ_i L_i by the number P of ordered positive pairs, ``sum`` is Σ_i L_i.

    Domain: real embeddings, none of them 0; τ > 0; any integer labels. An anchor without a
    negative (every label equal) has ℓ_ij = 0 exactly; an item without a positive adds no term
    (L_i = 0) but is still a negative of the others. P = 0 (every label distinct) makes ``mean``
    0/0: NaN, and its gradient NaN (an infinite cotangent times zero partials), as the reference's
    every mean over no element; optax gives NaN with a gradient of 0 (a registry entry). A zero
    embedding is outside the domain: its cosine is 0/0, NaN in every term it enters; optax's
    clamp of each squared norm at finfo(dtype).eps makes its cosines 0 there, and rescales any
    embedding with Σx² < eps (a registry entry with that model, ``_ntxent(..., sq_eps)``).
    Smooth everywhere on the domain: no subgradient is chosen.
    """
    return _ntxent(a, p)


def ntxent_vjp(a, p, g):
    return _ntxent_vjp(a, p, g)


def _ntxent_value(a, p, loss, sq_eps: float = 0.0):
    """T of L_i: per positive pair, the terms of −(S_ij − m) + log(Σ e^(S − m)) as optax adds them
    (the value, |λ_i| and |S_ij| against the shift m), the log's 1, and each similarity's own
    rounding (a dot product of unit vectors, size 1, divided by τ) twice."""
    _, _, _, s, pos, _, lam, _ = _ntxent_parts(a, p, sq_eps)
    with np.errstate(invalid="ignore"):
        lam = np.where(np.isfinite(lam), np.abs(lam), 0.0)
        size = softplus(lam[:, None] - s) + lam[:, None] + np.abs(s) + 1.0 + 2.0 / p["temperature"]
        return np.sum(np.where(pos, size, 0.0), axis=1)


def _ntxent_grads(a, p, c, sq_eps: float = 0.0):
    """G: each ∂/∂S_ij is at most |c_i| times a probability, for a positive, or n_i (the anchor's
    positives) times its softmax weight, for a negative; each carries a similarity's rounding
    (n_i/τ, σ' ≤ ¼ times S's error of 1/τ). Pulled back through the unit vectors (|u| ≤ 1, the
    radial projection as much again) and 1/(τ‖x_i‖)."""
    _, _, norm, _, pos, neg, _, w = _ntxent_parts(a, p, sq_eps)
    cabs = np.abs(np.broadcast_to(np.asarray(c, dtype=np.float64), norm.shape))[:, None]
    n_pos = np.sum(pos, axis=1)[:, None]
    used = pos | neg
    each = cabs * (pos + n_pos * np.where(neg, w, 0.0) + used * n_pos / p["temperature"])
    row = np.sum(each + each.T, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        size = 2.0 * row / (p["temperature"] * norm)
    return {"embeddings": np.broadcast_to(size[:, None], (*norm.shape, a["embeddings"].shape[-1]))}


def _ntxent_smooth(a, p, h) -> bool:
    """Away from a zero embedding (the cosine's 0/0), and, for ``mean``, P > 0 (0/0 at P = 0)."""
    y = np.asarray(a["labels"])
    has_pair = bool(np.sum(y[:, None] == y[None, :]) > len(y))
    return bool(np.all(pnorm(a["embeddings"], 2.0) > 8 * h)) and (
        p.get("reduction") != "mean" or has_pair
    )


def _ntxent_zero_embeddings(a, p) -> bool:
    return bool(np.any(np.all(np.asarray(a["embeddings"]) == 0, axis=-1)))


def _ntxent_squares(a, p, c):
    """Σx² of each embedding, which optax forms before the square root."""
    return [np.sum(a["embeddings"] * a["embeddings"], axis=-1)]


def _nt(x, labels) -> dict[str, np.ndarray]:
    return {
        "embeddings": np.asarray(x, dtype=np.float64),
        "labels": np.asarray(labels, dtype=np.int64),
    }


_NTXENT_EDGES = (
    Edge("every label distinct (P = 0: mean 0/0)", lambda c: _nt(_V, [0, 1, 2, 3])),
    Edge("every label equal (no negative: every term 0)", lambda c: _nt(_V, [5, 5, 5, 5])),
    Edge("an item without a positive", lambda c: _nt(_V, [0, 0, 1, 2])),
    Edge("positive pairs identical", lambda c: _nt(np.vstack([_V[:2], _V[:2]]), [0, 1, 0, 1])),
    Edge("positive pairs opposite", lambda c: _nt(np.vstack([_V[:2], -_V[:2]]), [0, 1, 0, 1])),
    Edge(
        "a zero embedding (0/0 cosine)",
        lambda c: _nt(np.vstack([np.zeros(3), _V[1:]]), [0, 0, 1, 1]),
    ),
    Edge(
        f"components ±{BIG:g} (squares beyond float16)",
        lambda c: _nt(BIG * np.sign(_V), [0, 0, 1, 1]),
    ),
)

LOSSES = (
    *LOSSES,
    LossSpec(
        "ntxent",
        "embedding",
        "NT-Xent: −log softmax of cos/τ of each positive pair against the anchor's negatives",
        (
            ArraySpec("embeddings", REAL, differentiable=True, description="embedding"),
            ArraySpec("labels", GROUP_LABEL, differentiable=False, description="group label"),
        ),
        (
            P.positive("temperature", 0.07, (0.07, 0.5), "divides each cosine similarity"),
            P.reduction(),
        ),
        (Layout("(N, D)", {"embeddings": ("N", "D"), "labels": ("N",)}),),
        ntxent,
        ntxent_vjp,
        smooth_at=_ntxent_smooth,
        term_scale=TermScale(_ntxent_value, _ntxent_grads),
        regimes=RegimeRules(boundary=_ntxent_zero_embeddings, intermediates=_ntxent_squares),
        edges=_NTXENT_EDGES,
        element_kind="batch",
    ),
)
