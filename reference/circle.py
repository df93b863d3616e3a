"""Circle loss (Sun et al. 2020, "Circle Loss: A Unified Perspective of Pair Similarity
Optimization", eq. 6 with the weights and margins of eq. 8 and 10), as keras.losses.Circle /
keras.losses.circle compute it from a batch of integer labels and embeddings.

Every item i is an anchor; every other item j is a positive of it (same label) or a negative
(different label), and the loss of item i compares the similarities s_ij = ⟨x_i, x_j⟩ of its
positives with those of its negatives. The similarity is the plain dot product: the embeddings are
meant to be L2-normalised rows (the intended domain, not enforced), and neither the paper's loss
nor Keras normalises them (keras/src/losses/losses.py:2701-2703 at 3.15.1 takes
1 − y_pred·y_predᵀ as the cosine distance, with no normalisation and so no ε).
"""

from __future__ import annotations

import numpy as np

from . import params as P
from ._math import sigmoid, softplus
from .domains import GROUP_LABEL, UNIT_EMBEDDING
from .edges import Edge
from .regimes import RegimeRules
from .spec import ArraySpec, Elementwise, Layout, LossSpec
from .terms import TermScale

# --- the formula -----------------------------------------------------------------------------------


def _identity(v):
    return v


def pairs(a, p, tie: float = 0.0, rounded=_identity):
    """Everything item i's loss is built from, for all pairs (i, j) at once.

    S = x·xᵀ; s̃ = min(S, 1), the similarity the clamped distance d = max(1 − S, 0) leaves;
    masks pos (same label, j ≠ i when remove_diagonal) and neg (different label); the weights
    α_p = [1 + m − s̃]₊, α_n = [s̃ + m]₊; the exponents z_p = −γ α_p (s̃ − (1 − m)),
    z_n = γ α_n (s̃ − m); and their derivatives with respect to S (0 where S ≥ 1, where the clamp
    holds, and a weight's derivative 0 where it is clamped at 0 or exactly 0).

    ``tie``: the derivative each clamp max(a, 0) takes at a = 0 (the reference: 0, the clamped
    side); ``rounded``: the rounding of the arithmetic that decides the clamps' sides, d = 1 − S
    and the weights' arguments (m + d, 1 + m − d) as a framework forms them in its dtype. Both are
    for a framework's model (adapters/known); the values are the float64 ones either way.
    """
    x = np.asarray(a["input"], dtype=np.float64)
    y = np.asarray(a["target"])
    gamma, m = float(p["gamma"]), float(p["margin"])
    with np.errstate(invalid="ignore", over="ignore"):
        s = x @ x.T
    same = y[:, None] == y[None, :]
    pos = same & ~np.eye(len(y), dtype=bool) if p["remove_diagonal"] else same
    neg = ~same
    st = np.minimum(s, 1.0)

    def step(arg):
        return np.where(arg > 0, 1.0, np.where(arg == 0, tie, 0.0))

    with np.errstate(invalid="ignore", over="ignore"):
        d = rounded(1.0 - rounded(s))
        open_ = step(d)  # the distance clamp's derivative: 1 below S = 1, 0 above it
        dr = np.maximum(d, 0.0)
        ap_arg, an_arg = 1.0 + m - st, st + m
        ap, an = np.maximum(ap_arg, 0.0), np.maximum(an_arg, 0.0)
        zp = -gamma * ap * (st - (1.0 - m))
        zn = gamma * an * (st - m)
        # d/ds̃ of α·(s̃ − Δ) = α'·(s̃ − Δ) + α, with α' = −1 (α_p), +1 (α_n) where α > 0
        ap_step = step(rounded(m + dr)) if rounded is not _identity else step(ap_arg)
        an_step = step(rounded(rounded(1.0 + m) - dr)) if rounded is not _identity else step(an_arg)
        dzp = -gamma * (ap_step * -(st - (1.0 - m)) + ap) * open_
        dzn = gamma * (an_step * (st - m) + an) * open_
    return x, s, st, pos, neg, zp, zn, dzp, dzn


def _lse(z, mask):
    """log Σ_{mask} e^z per row, −inf for an empty row, and the softmax weights (0 off the mask
    and on an empty row)."""
    zm = np.where(mask, z, -np.inf)
    top = np.max(zm, axis=1, keepdims=True)
    safe = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        e = np.where(mask, np.exp(zm - safe), 0.0)
        total = np.sum(e, axis=1, keepdims=True)
        lse = np.where(total > 0, safe + np.log(np.where(total > 0, total, 1.0)), -np.inf)
        w = np.where(total > 0, e / np.where(total > 0, total, 1.0), 0.0)
    return lse[:, 0], w


def valid_items(a, p) -> np.ndarray:
    """The items with at least one positive and one negative: those ``mean`` counts."""
    _, _, _, pos, neg, *_ = pairs(a, p)
    return pos.any(axis=1) & neg.any(axis=1)


def circle_loss(a, p) -> Elementwise:
    """ℓ_i = softplus(log Σ_{j∈P_i} e^{z_p(s_ij)} + log Σ_{j∈N_i} e^{z_n(s_ij)})
         = log(1 + Σ_{j∈P_i} Σ_{k∈N_i} exp(γ α_n(s_ik)(s_ik − m) − γ α_p(s_ij)(s_ij − (1 − m)))),

    Circle loss (Sun et al. 2020, eq. 6, with O_p = 1 + m, O_n = −m, Δ_p = 1 − m, Δ_n = m, eq.
    8/10), per item i of a batch of N embeddings x (N, D) with integer labels y (N,):
    s_ij = ⟨x_i, x_j⟩ clamped to s̃ = min(s, 1) (Keras takes the cosine distance max(1 − s, 0),
    keras/src/losses/losses.py:2701-2705 at 3.15.1), α_p = [1 + m − s̃]₊, α_n = [s̃ + m]₊;
    P_i = {j: y_j = y_i} minus i itself when ``remove_diagonal``, N_i = {j: y_j ≠ y_i}. Keras'
    y_true is the labels (``target``), y_pred the embeddings (``input``).

    Domain: any integer labels (only equality is read), any real embeddings; the loss is meant for
    unit rows, which nothing normalises (no ε anywhere). An item with no positive or no negative
    has an empty sum: ℓ_i = softplus(−∞) = 0 and gradient 0, and it is not counted by ``mean``,
    which divides by the number of items with at least one of each (Keras marks exactly those
    items, the ones whose loss is > 0, as its mask: losses.py:2741 and loss.py:197-216 divide by
    the mask's count); with no such item ``mean`` is 0/0 = NaN.

    Gradient: the derivative of the value, the weights α included (Keras differentiates through
    them: losses.py:2718-2723 has no stop_gradient; the paper's training treats α as a constant,
    which is not the derivative of this value). Non-smooth points and the choice here: the
    clamps [·]₊ of α_p and α_n have derivative 0 at 0, and the distance clamp derivative 0 at
    s = 1 (the clamped side, as a ReLU at 0). For a positive pair nothing turns at s = 1 (the
    term −γ(1 + m − s)(s − 1 + m) is stationary there); for a negative pair it does
    (γ(s² − m²) has slope 2γ). The diagonal s_ii = ‖x_i‖² is 1 for a unit row: a positive when
    ``remove_diagonal`` is False, harmless there for that reason.
    """
    _, _, _, pos, neg, zp, zn, _, _ = pairs(a, p)
    lp, _ = _lse(zp, pos)
    ln, _ = _lse(zn, neg)
    with np.errstate(invalid="ignore"):
        loss = softplus(lp + ln)
    valid = pos.any(axis=1) & neg.any(axis=1)
    return Elementwise(np.where(valid, loss, 0.0), denominators={"mean": int(np.sum(valid))})


def circle_loss_vjp(a, p, g, tie: float = 0.0, rounded=_identity):
    """∂ℓ_i/∂s_ij = σ(L_i)·(w^p_ij z_p'(s_ij) + w^n_ij z_n'(s_ij)) with w the softmax weights of
    the two log-sum-exps; s_ij = ⟨x_i, x_j⟩ pulls back to x_i (by x_j) and to x_j (by x_i).
    ``tie`` and ``rounded``: the clamps' derivative at a tie and the rounding that decides their
    sides (:func:`pairs`; the reference: 0 and none)."""
    x, _, _, pos, neg, zp, zn, dzp, dzn = pairs(a, p, tie, rounded)
    lp, wp = _lse(zp, pos)
    ln, wn = _lse(zn, neg)
    valid = pos.any(axis=1) & neg.any(axis=1)
    with np.errstate(invalid="ignore"):
        sig = np.where(valid, sigmoid(lp + ln), 0.0)
    c = np.asarray(g, dtype=np.float64) * sig
    with np.errstate(invalid="ignore", over="ignore"):
        gs = c[:, None] * (np.where(pos, wp * dzp, 0.0) + np.where(neg, wn * dzn, 0.0))
        return {"input": (gs + gs.T) @ x}


# --- term scales, regimes --------------------------------------------------------------------------


def _errors(a, p):
    """Per pair: A = Σ_k |x_ik x_jk| + 1, the size of the terms of s and of 1 − s, and the size
    of the terms each exponent z is formed from, γ(α + |s̃ − Δ| + 1)·A."""
    x, _, st, pos, neg, zp, zn, dzp, dzn = pairs(a, p)
    gamma, m = float(p["gamma"]), abs(float(p["margin"]))
    with np.errstate(invalid="ignore", over="ignore"):
        size = np.abs(x) @ np.abs(x).T + 1.0
        ap, an = np.maximum(1.0 + p["margin"] - st, 0.0), np.maximum(st + p["margin"], 0.0)
        ep = gamma * (ap + np.abs(st) + 1.0 + m) * size
        en = gamma * (an + np.abs(st) + m) * size
    return x, pos, neg, zp, zn, dzp, dzn, size, ep, en


def _value_scale(a, p, loss):
    _, pos, neg, zp, zn, _, _, _, ep, en = _errors(a, p)
    lp, wp = _lse(zp, pos)
    ln, wn = _lse(zn, neg)
    valid = pos.any(axis=1) & neg.any(axis=1)
    with np.errstate(invalid="ignore", over="ignore"):
        sig = sigmoid(lp + ln)
        spread = np.sum(np.where(pos, wp * ep, 0.0), 1) + np.sum(np.where(neg, wn * en, 0.0), 1)
        # an item without a positive or a negative is softplus(−∞) = 0 exactly: no terms
        terms = np.where(valid, sig * (spread + np.abs(lp) + np.abs(ln) + 1.0), 0.0)
        return np.abs(loss) + terms


def _grad_scale(a, p, c):
    x, pos, neg, zp, zn, dzp, dzn, size, ep, en = _errors(a, p)
    gamma = float(p["gamma"])
    lp, wp = _lse(zp, pos)
    ln, wn = _lse(zn, neg)
    with np.errstate(invalid="ignore", over="ignore"):
        sig = sigmoid(lp + ln)
        # an exponent's error is a relative error of its softmax weight and of σ(L)
        rel_p = 1.0 + ep + np.sum(np.where(pos, wp * ep, 0.0), 1, keepdims=True)
        rel_n = 1.0 + en + np.sum(np.where(neg, wn * en, 0.0), 1, keepdims=True)
        spread = rel_p.max(initial=1.0) + rel_n.max(initial=1.0)
        per = np.where(pos, wp * (np.abs(dzp) * (rel_p + spread) + 2 * gamma * size), 0.0)
        per = per + np.where(neg, wn * (np.abs(dzn) * (rel_n + spread) + 2 * gamma * size), 0.0)
        gs = (np.abs(np.asarray(c, dtype=np.float64)) * sig)[:, None] * per
        return {"input": (gs + gs.T) @ np.abs(x)}


def _kinks(a, p):
    """α_n's clamp at s̃ = −m and the distance clamp at s = 1 on negative pairs, α_p's clamp at
    s̃ = 1 + m on positive pairs (reachable only for m < 0); a pair outside its mask is never
    read, so it is put far from its kink."""
    x, s, st, pos, neg, *_ = pairs(a, p)
    m = float(p["margin"])
    with np.errstate(invalid="ignore", over="ignore"):
        size = np.abs(x) @ np.abs(x).T + 1.0 + abs(m)
    far = np.where(np.isfinite(size), size, 1.0)
    yield np.where(neg, st + m, far), size
    yield np.where(neg, 1.0 - s, far), size
    yield np.where(pos, 1.0 + m - st, far), size


def _no_valid_item(a, p) -> bool:
    """No item has both a positive and a negative: ``mean`` divides by zero."""
    return not bool(np.any(valid_items(a, p)))


def _smooth_at(a, p, h) -> bool:
    """Away from every kink by more than a step h of the inputs moves s (h·(Σ|x_i| + Σ|x_j|)),
    and not a mean over no item (0/0)."""
    if p["reduction"] == "mean" and _no_valid_item(a, p):
        return False
    x = np.abs(np.asarray(a["input"], dtype=np.float64))
    rows = np.sum(x, axis=1)
    reach = 4.0 * h * (rows[:, None] + rows[None, :]) + 1e-12
    return all(bool(np.all(np.abs(z) > reach)) for z, _ in _kinks(a, p))


def _intermediates(a, p, c):
    _, s, _, pos, neg, zp, zn, *_ = pairs(a, p)
    return [np.where(pos | neg, s, 0.0), np.where(pos, zp, 0.0), np.where(neg, zn, 0.0)]


# --- edge cases ------------------------------------------------------------------------------------

# Rows with exact products, in the compiled ci shape (4, 3): unit rows ±(1, 0, 0), (0, 1, 0) and
# (½, ½, ½) (norm² ¾), so that s takes 0, ±½ and −1 between different rows.
_E = np.array(
    [
        [1.0, 0.0, 0.0],
        [0.5, 0.5, 0.5],
        [0.0, 1.0, 0.0],
        [-1.0, 0.0, 0.0],
    ]
)


def _labels(*values):
    return np.array(values, dtype=np.int64)


EDGES = (
    Edge(
        "two groups of rows (s = 0, ±½, −1)",
        lambda c: {"input": _E.copy(), "target": _labels(0, 0, 1, 1)},
    ),
    Edge(
        "items without a positive beside items with both",
        lambda c: {"input": _E.copy(), "target": _labels(0, 0, 1, 2)},
    ),
    Edge(
        "every label distinct: no item has a positive (mean 0/0)",
        lambda c: {"input": _E.copy(), "target": _labels(0, 1, 2, 3)},
    ),
    Edge(
        "one label for all: no item has a negative (mean 0/0)",
        lambda c: {"input": _E.copy(), "target": _labels(7, 7, 7, 7)},
    ),
    Edge(
        "rows of norm 2 and ½ (not normalised: s beyond 1 clamped)",
        lambda c: {
            "input": _E * np.array([[2.0], [0.5], [2.0], [0.5]]),
            "target": _labels(0, 1, 0, 1),
        },
    ),
    Edge(
        "negative pairs at s = 1 exactly (the distance clamp's kink)",
        lambda c: {
            "input": np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]),
            "target": _labels(0, 1, 0, 1),
        },
    ),
    Edge(
        "negative and large labels (only equality is read)",
        lambda c: {"input": _E.copy(), "target": _labels(-3, -3, 40, 40)},
    ),
)


# --- the registry ----------------------------------------------------------------------------------

LOSSES = (
    LossSpec(
        "circle_loss",
        "circle",
        "Circle loss softplus(lse_P −γα_p(s − 1 + m) + lse_N γα_n(s − m)) per item (Keras Circle)",
        (
            ArraySpec(
                "input",
                UNIT_EMBEDDING,
                differentiable=True,
                description="embeddings, one row per item (meant to be unit rows)",
            ),
            ArraySpec(
                "target",
                GROUP_LABEL,
                differentiable=False,
                description="integer label of each item",
            ),
        ),
        (
            P.positive("gamma", 80.0, (80.0, 2.0), "scale of the similarities"),
            P.real("margin", 0.4, (0.4, 0.25), "relaxation margin m (O_p = 1 + m, Δ_p = 1 − m)"),
            P.flag("remove_diagonal", True, "an item is not its own positive"),
            P.reduction(),
        ),
        (Layout("(N, C)", {"input": ("N", "C"), "target": ("N",)}),),
        circle_loss,
        circle_loss_vjp,
        smooth_at=_smooth_at,
        term_scale=TermScale(_value_scale, _grad_scale),
        regimes=RegimeRules(
            kinks=_kinks,
            boundary=_no_valid_item,
            intermediates=_intermediates,
            labels=("target",),
        ),
        edges=EDGES,
        element_kind="batch",
        min_sizes={"N": 3},
    ),
)
