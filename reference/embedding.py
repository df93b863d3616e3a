"""Embedding and ranking losses: distances, cosines and margins between vectors or scores.

±1 labels select a branch of the formula; they are data (enforced to be exactly −1 or 1) and are
never differentiated. At every hinge max(0, z) with z = 0 the minimum-norm subgradient, 0, is used.
"""

from __future__ import annotations

import numpy as np

from . import params as P
from ._math import pnorm, pnorm_grad, sigmoid, softplus
from .domains import REAL, SIGN_LABEL
from .layouts import same_shape
from .spec import ArraySpec, Elementwise, Layout, LossSpec, Param

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


# --- soft_margin_loss -------------------------------------------------------------------------


def soft_margin_loss(a, p) -> Elementwise:
    """ℓ = log(1 + e^{−y x}) = softplus(−y x).

    Domain: x real, y ∈ {−1, 1} (enforced). Smooth: ∂ℓ/∂x = −y σ(−y x).
    """
    return Elementwise(softplus(-a["target"] * a["input"]))


def soft_margin_loss_vjp(a, p, g):
    y = a["target"]
    return {"input": -g * y * sigmoid(-y * a["input"])}


# --- declarations -----------------------------------------------------------------------------

_LABEL = ArraySpec("target", SIGN_LABEL, differentiable=False, description="label −1 or 1")


def _vectors(*names):
    return tuple(ArraySpec(n, REAL, differentiable=True, description="vector") for n in names)


def _hinge_off(z_of):
    return lambda a, p, h: bool(np.all(np.abs(z_of(a, p)) > 4 * h))


LOSSES = (
    LossSpec(
        "triplet_margin_loss",
        "embedding",
        "max(0, d(a, p) − d(a, n) + margin) with p-norm distances",
        _vectors("anchor", "positive", "negative"),
        (
            P.real("margin", 1.0, (1.0, 0.5), "required gap between the two distances"),
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
        torch_name="triplet_margin_loss",
    ),
    LossSpec(
        "cosine_embedding_loss",
        "embedding",
        "1 − cos for similar pairs, max(0, cos − margin) for dissimilar ones",
        (*_vectors("input1", "input2"), _LABEL),
        (
            P.interval("margin", 0.0, -1.0, 1.0, (0.0, 0.5), "cosine below which −1 pairs cost 0"),
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
        torch_name="cosine_embedding_loss",
    ),
    LossSpec(
        "margin_ranking_loss",
        "embedding",
        "max(0, −y (x1 − x2) + margin)",
        (*_vectors("input1", "input2"), _LABEL),
        (P.real("margin", 0.0, (0.0, 0.5), "required gap between the two scores"), P.reduction()),
        (
            Layout("scalar", {"input1": (), "input2": (), "target": ()}),
            Layout("(N)", {"input1": ("N",), "input2": ("N",), "target": ("N",)}),
        ),
        margin_ranking_loss,
        margin_ranking_loss_vjp,
        smooth_at=_hinge_off(lambda a, p: -a["target"] * (a["input1"] - a["input2"]) + p["margin"]),
        torch_name="margin_ranking_loss",
    ),
    LossSpec(
        "hinge_embedding_loss",
        "embedding",
        "x for y = 1, max(0, margin − x) for y = −1",
        (ArraySpec("input", REAL, differentiable=True, description="distance or score"), _LABEL),
        (P.real("margin", 1.0, (1.0, 0.5), "distance beyond which −1 pairs cost 0"), P.reduction()),
        same_shape("input", "target"),
        hinge_embedding_loss,
        hinge_embedding_loss_vjp,
        smooth_at=_hinge_off(lambda a, p: p["margin"] - a["input"]),
        torch_name="hinge_embedding_loss",
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
        torch_name="soft_margin_loss",
    ),
)
