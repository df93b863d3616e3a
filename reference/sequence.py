"""Sequence losses: connectionist temporal classification (CTC).

Shapes follow ``torch.nn.functional.ctc_loss``: log-probabilities (T, N, K) time-major — T time
steps, N items, K symbols of which one, ``blank``, is the blank —, padded targets (N, S), and one
input length (≤ T) and one target length (≤ S) per item. Item n reads only
``input[:T_n, n]`` and ``targets[n, :L_n]``; the rest is padding.
"""

from __future__ import annotations

import numpy as np

from . import params as P
from .domains import CTC_LABEL, INPUT_LENGTH, LOG_PROBABILITY, TARGET_LENGTH
from .edges import INF, Edge
from .spec import ArraySpec, Elementwise, Layout, LossSpec, Param
from .terms import TermScale

NEG = -np.inf


def _extended(labels: np.ndarray, blank: int) -> np.ndarray:
    """l' = (blank, l_1, blank, l_2, …, l_L, blank): 2L + 1 states."""
    out = np.full(2 * len(labels) + 1, blank, dtype=np.int64)
    out[1::2] = labels
    return out


def _skips(ext: np.ndarray) -> np.ndarray:
    """Whether state s may be reached from s − 2: a label state whose label differs from the
    previous label (a blank between two equal labels cannot be skipped)."""
    ok = np.zeros(len(ext), bool)
    ok[2:] = ext[2:] != ext[:-2]
    ok[::2] = False
    return ok


def _lse3(a, b, c):
    return np.logaddexp(np.logaddexp(a, b), c)


def _shift(v: np.ndarray, k: int, fill=NEG) -> np.ndarray:
    """v moved k places right (k > 0) or left (k < 0), filled with ``fill``."""
    out = np.full_like(v, fill)
    if k > 0:
        out[k:] = v[:-k]
    elif k < 0:
        out[:k] = v[-k:]
    else:
        out[:] = v
    return out


def _item(lp: np.ndarray, labels: np.ndarray, blank: int):
    """−log p(labels | lp) for one item, lp of shape (T_n, K), by the forward recursion in log
    space (Graves et al. 2006, eqs. 6-8), with the log forward variables α (emission at t
    included) and the log backward variables b (emission at t excluded, so that α_t + b_t is the
    log of the paths through state s at t without dividing by a probability that may be 0)."""
    t_n = lp.shape[0]
    if t_n == 0:
        return (0.0 if len(labels) == 0 else np.inf), None, None, None
    ext = _extended(labels, blank)
    skip = _skips(ext)
    n_states = len(ext)
    emit = lp[:, ext]  # (T_n, 2L + 1)
    alpha = np.full((t_n, n_states), NEG)
    alpha[0, 0] = emit[0, 0]
    if n_states > 1:
        alpha[0, 1] = emit[0, 1]
    for t in range(1, t_n):
        prev = alpha[t - 1]
        two = np.where(skip, _shift(prev, 2), NEG)
        alpha[t] = _lse3(prev, _shift(prev, 1), two) + emit[t]
    ends = alpha[-1, -2:] if n_states > 1 else alpha[-1, -1:]
    nll = 0.0 - np.logaddexp.reduce(ends)  # 0 − 0 = +0 for a certain alignment
    back = np.full((t_n, n_states), NEG)
    back[-1, -1] = 0.0
    if n_states > 1:
        back[-1, -2] = 0.0
    for t in range(t_n - 2, -1, -1):
        nxt = back[t + 1] + emit[t + 1]
        two = _shift(np.where(skip, nxt, NEG), -2)
        back[t] = _lse3(nxt, _shift(nxt, -1), two)
    return nll, alpha, back, ext


def _items(a, p):
    x, targets = a["input"], a["targets"]
    t_lens, l_lens = a["input_lengths"], a["target_lengths"]
    for n in range(x.shape[1]):
        t_n, l_n = int(t_lens[n]), int(l_lens[n])
        yield n, t_n, x[:t_n, n, :], targets[n, :l_n]


def ctc_loss(a, p) -> Elementwise:
    """ℓ_n = −log Σ_{π ∈ B⁻¹(y_n)} Π_{t < T_n} exp(x[t, n, π_t]), the CTC loss (Graves et al. 2006).

    Domain: x log-probabilities (T, N, K) (not enforced, and not renormalised: the formula is
    taken of the values given); y_n = targets[n, :L_n], labels in [0, K) other than ``blank``; T_n =
    input_lengths[n] ≤ T, L_n = target_lengths[n] ≤ S (all enforced). B collapses an alignment π of
    length T_n by merging repeats, then removing blanks. No alignment (T_n too short for y_n and
    its repeats, or every alignment through a −inf log-probability): ℓ_n = +inf, or 0 with
    ``zero_infinity``. T_n = 0: ℓ_n = 0 for an empty target, +inf otherwise. ``mean`` is torch's:
    (1/N) Σ_n ℓ_n / max(L_n, 1).
    Smooth wherever finite: ∂ℓ_n/∂x[t, n, k] = −γ_n(t, k), the posterior probability that the
    alignment emits k at t (Σ_k γ = 1 for t < T_n), 0 for t ≥ T_n and at a −inf log-probability
    (its path has probability 0). At ℓ_n = +inf the gradient of item n is NaN for t < T_n (+inf
    in every neighbourhood: no derivative), or 0 with ``zero_infinity``.
    """
    n_items = a["input"].shape[1]
    loss = np.zeros(n_items)
    for n, _, lp, labels in _items(a, p):
        loss[n] = _item(lp, labels, p["blank"])[0]
    if p["zero_infinity"]:
        loss = np.where(loss == np.inf, 0.0, loss)
    lengths = np.maximum(a["target_lengths"], 1).astype(np.float64)
    return Elementwise(loss, factors={"mean": 1.0 / lengths})


def ctc_loss_vjp(a, p, g):
    x = a["input"]
    dx = np.zeros_like(x)
    for n, t_n, lp, labels in _items(a, p):
        nll, alpha, back, ext = _item(lp, labels, p["blank"])
        if t_n == 0:
            continue
        if not np.isfinite(nll):
            dx[:t_n, n, :] = 0.0 if (p["zero_infinity"] and nll == np.inf) else np.nan
            continue
        # γ_t(s) = exp(α_t(s) + b_t(s) + nll), summed over the states s emitting each symbol
        occupancy = np.exp(alpha + back + nll)
        gamma = np.zeros((t_n, x.shape[2]))
        for s, k in enumerate(ext):
            gamma[:, k] += occupancy[:, s]
        dx[:t_n, n, :] = -g[n] * gamma
    return {"input": dx}


def _used(a, p, n, t_n, labels) -> np.ndarray:
    """The symbols item n's alignments can emit: the blank and its labels."""
    return np.unique(np.concatenate([[p["blank"]], labels])).astype(np.int64)


def _ctc_value(a, p, loss):
    # every path's log-probability is a sum of T_n log-probabilities, and each logaddexp of the
    # recursion adds a log of a sum in [1, 3]: terms of size max|x| + 2 per time step
    out = np.zeros(a["input"].shape[1])
    for n, t_n, lp, labels in _items(a, p):
        if t_n == 0:
            continue
        used = lp[:, _used(a, p, n, t_n, labels)]
        finite = np.where(np.isfinite(used), np.abs(used), 0.0)
        out[n] = np.sum(np.max(finite, axis=1) + 2.0)
    return out


def _ctc_grads(a, p, c):
    # γ in [0, 1] is exp of α + b + nll, whose absolute error is that of the value's terms
    value = _ctc_value(a, p, None)
    dx = np.zeros_like(a["input"])
    for n, t_n, _, _ in _items(a, p):
        dx[:t_n, n, :] = c[n] * (1.0 + value[n])
    return {"input": dx}


# --- edge cases: T = 5, N = 4, K = 3 (blank 0 or 1), S = 2 ----------------------------------------

_T, _N, _K, _S = 5, 4, 3, 2
_LOGS = (
    "log ¼ and log ½ are not representable in float32 and narrower (rounded: no longer normalised)"
)


def _uniform() -> np.ndarray:
    """log(1/4), log(1/4), log(1/2) at every step: exact, and normalised."""
    row = np.log(np.array([0.25, 0.25, 0.5]))
    return np.broadcast_to(row, (_T, _N, _K)).copy()


def _labels(c, *rows) -> np.ndarray:
    """Label rows written for blank = 0 (labels 1 and 2), moved off the blank when blank = 1."""
    out = np.array(rows, dtype=np.int64)
    return np.where(out == c.get("blank", 0), 0, out) if c.get("blank", 0) else out


def _lengths(*values) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def _first_label(c) -> int:
    """The first symbol that is not the blank (1 for blank 0, 0 for blank 1)."""
    return 0 if c.get("blank", 0) else 1


def _impossible_at_step_2(c) -> np.ndarray:
    x = _uniform()
    x[2, :, _first_label(c)] = -INF
    return x


def _one_alignment(c) -> np.ndarray:
    """Probability 1 on the alignment (label, blank, other label, blank, blank), 0 elsewhere."""
    blank, first = c.get("blank", 0), _first_label(c)
    path = np.array([first, blank, 2, blank, blank])
    x = np.where(np.arange(_K) == path[:, None, None], 0.0, -INF)
    return np.broadcast_to(x, (_T, _N, _K)).astype(np.float64).copy()


def _case(c, x, targets, t_lens, l_lens):
    return {"input": x, "targets": targets, "input_lengths": t_lens, "target_lengths": l_lens}


_CTC_EDGES = (
    Edge(
        "full lengths, repeated label, empty target",
        lambda c: _case(
            c,
            _uniform(),
            _labels(c, [1, 2], [2, 2], [1, 1], [2, 1]),
            _lengths(5, 5, 3, 5),
            _lengths(2, 2, 0, 1),
        ),
        inexact=_LOGS,
    ),
    Edge(
        "input too short for the target (no alignment: +inf, 0 with zero_infinity)",
        lambda c: _case(
            c,
            _uniform(),
            _labels(c, [1, 1], [1, 2], [2, 1], [1, 2]),
            _lengths(2, 1, 5, 5),
            _lengths(2, 2, 2, 1),
        ),
        inexact=_LOGS,
    ),
    Edge(
        "input length 0 (0 for an empty target, +inf otherwise)",
        lambda c: _case(
            c,
            _uniform(),
            _labels(c, [1, 2], [1, 2], [2, 1], [1, 1]),
            _lengths(0, 0, 5, 4),
            _lengths(0, 1, 2, 2),
        ),
        inexact=_LOGS,
    ),
    Edge(
        "-inf log-probability of a label at one step (some alignments impossible)",
        lambda c: _case(
            c,
            _impossible_at_step_2(c),
            _labels(c, [1, 2], [2, 1], [1, 1], [2, 2]),
            _lengths(5, 5, 5, 5),
            _lengths(2, 2, 1, 2),
        ),
        inexact=_LOGS,
    ),
    Edge(
        "log-probabilities 0 and -inf: one alignment of probability 1",
        lambda c: _case(
            c,
            _one_alignment(c),
            _labels(c, [1, 2], [1, 2], [1, 2], [1, 2]),
            _lengths(5, 5, 5, 5),
            _lengths(2, 2, 2, 2),
        ),
    ),
)


def _every_item_aligns(a, p, h) -> bool:
    """Smooth where every item has an alignment of non-zero probability (a finite loss)."""
    return all(np.isfinite(_item(lp, labels, p["blank"])[0]) for _, _, lp, labels in _items(a, p))


def _blank_in_range(a, p, bound):
    if p["blank"] >= bound["K"]:
        return ("blank", f"must be < K = {bound['K']} (a class of the input)", p["blank"])
    return None


LOSSES = (
    LossSpec(
        "ctc_loss",
        "sequence",
        "connectionist temporal classification: −log Σ over alignments of the target",
        (
            ArraySpec(
                "input",
                LOG_PROBABILITY,
                differentiable=True,
                description="log-probabilities (T, N, K), time-major",
            ),
            ArraySpec("targets", CTC_LABEL, differentiable=False, description="padded labels"),
            ArraySpec("input_lengths", INPUT_LENGTH, differentiable=False),
            ArraySpec("target_lengths", TARGET_LENGTH, differentiable=False),
        ),
        (
            Param(
                "blank",
                0,
                "be an integer ≥ 0 (the blank's class index)",
                lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
                grid=(0, 1),
                description="class index of the blank symbol",
            ),
            P.reduction(),
            P.flag(
                "zero_infinity", False, "an infinite loss (no alignment) and its gradient are 0"
            ),
        ),
        (
            Layout(
                "(T, N, K)",
                {
                    "input": ("T", "N", "K"),
                    "targets": ("N", "S"),
                    "input_lengths": ("N",),
                    "target_lengths": ("N",),
                },
            ),
        ),
        ctc_loss,
        ctc_loss_vjp,
        smooth_at=_every_item_aligns,
        extra_check=_blank_in_range,
        term_scale=TermScale(_ctc_value, _ctc_grads),
        edges=_CTC_EDGES,
        element_kind="per_vector",
    ),
)
