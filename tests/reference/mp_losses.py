"""Independent mpmath implementations of every loss in the catalogue, for checking the reference.

Written from the published definitions, not from ``reference/``:

- PyTorch ``torch.nn`` / ``torch.nn.functional`` docs for every loss torch has
  (https://docs.pytorch.org/docs/stable/nn.html#loss-functions): MSELoss, L1Loss, HuberLoss,
  SmoothL1Loss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss, MultiMarginLoss,
  MultiLabelSoftMarginLoss, KLDivLoss, PoissonNLLLoss, GaussianNLLLoss, TripletMarginLoss (with
  ``pairwise_distance``'s ‖x1 − x2 + eps‖_p), CosineEmbeddingLoss, MarginRankingLoss,
  HingeEmbeddingLoss, SoftMarginLoss;
- the RetinaNet paper (Lin et al. 2017, eq. 5) and torchvision.ops.sigmoid_focal_loss for the focal
  loss α_t (1 − p_t)^γ CE with p_t = p y + (1 − p)(1 − y);
- Keras ``LogCosh`` / optax ``log_cosh`` for log(cosh(x − y));
- Keras ``MeanSquaredLogarithmicError`` (square(log(y_true + 1) − log(y_pred + 1)), its docstring,
  without its clip) and ``MeanAbsolutePercentageError`` (100·|y_true − y_pred| / |y_true|).

Conventions the catalogue states (the reference follows the math, frameworks' clamps are theirs):
a term whose coefficient (a label, a target probability, a class or element weight) is 0 is
absent, so 0·log 0 = 0 and 0·∞ never arises; ``ignore_index=None`` ignores nothing; division of
a zero sum by a zero denominator is NaN (IEEE 0/0).

Every formula is evaluated at ``DPS`` decimal digits with identities that keep each term accurate
in *relative* terms however large the arguments (log1p(e^x) for softplus, σ(−x) for 1 − σ(x),
log Σ_k e^{x_k − x_c} for −log softmax_c, 2 sinh²(d/2) for cosh d − 1), so an exact value is
exact to about 40 digits even at logits of ±700 or probabilities of 1e-300.

Besides the value, each element carries a *scale*: the sum of the absolute values of the terms a
float64 evaluation of the documented formula must add (plus the rounding sensitivity of an
argument it must form, like x + eps inside a log). A float64 sum Σ t_k has an error of order
u·Σ|t_k| that no reordering removes, so agreement is measured relative to max(|exact|, scale):
where the terms cancel (a Poisson NLL at its minimum, a KL divergence of equal distributions) the
exact value may be 0 and a purely relative test would demand the impossible. Where the documented
formula is a single well-conditioned term (log cosh d, a softplus, −log p_c) the scale is the
value itself, so a float64 implementation that loses relative accuracy there (log(1 + tiny)
instead of log1p) is caught.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np

DPS = 40
ZERO = mpmath.mpf(0)
ONE = mpmath.mpf(1)


@dataclass
class Elementwise:
    """Per-element exact values and scales (numpy object arrays of mpf), and the denominators of
    the averaging reductions (a reduction missing here divides by the number of elements)."""

    values: np.ndarray
    scales: np.ndarray
    denominators: Mapping[str, Any] = field(default_factory=dict)
    # per-element factors a reduction applies before it sums (torch's CTC mean: 1/max(L_n, 1))
    factors: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Exact:
    """The reduced exact result: an mpf (or an object array for ``none``) and its scale."""

    value: Any
    scale: Any


# --- exact arithmetic helpers ----------------------------------------------------------------


def mpf(x) -> mpmath.mpf:
    """A float64 number as an mpf, exactly (±inf and NaN included); an mpf stays as it is (the
    derivative below moves one element off the float64 grid)."""
    return x if isinstance(x, mpmath.mpf) else mpmath.mpf(float(x))


def obj(shape) -> np.ndarray:
    return np.empty(shape, dtype=object)


def div(a, b):
    """a / b with IEEE semantics for b = 0 (0/0 = NaN, a/0 = ±inf); mpmath raises there."""
    if b == 0:
        if a == 0 or mpmath.isnan(a):
            return mpmath.nan
        return mpmath.inf if a > 0 else -mpmath.inf
    return a / b


def coef_times(coefficient, term: Callable[[], Any]):
    """coefficient · term(), where a zero coefficient makes the term absent (not 0·∞)."""
    if coefficient == 0:
        return ZERO
    return coefficient * term()


def softplus(x):
    """log(1 + e^x), accurate in relative terms for every x (log1p of an accurate e^x)."""
    return mpmath.log1p(mpmath.exp(x))


def sigmoid(x):
    """1 / (1 + e^{−x}); σ(−x) is used for 1 − σ(x), never a subtraction."""
    return 1 / (1 + mpmath.exp(-x))


def total(terms) -> Any:
    return mpmath.fsum(terms)


def magnitude(terms) -> Any:
    """Σ|t| over the finite terms (an infinite term makes the value infinite or NaN anyway)."""
    return mpmath.fsum(abs(t) for t in terms if mpmath.isfinite(t))


def items(shape):
    return list(np.ndindex(*shape))


def _from_terms(shape, terms_at: Callable[[tuple], list]) -> tuple[np.ndarray, np.ndarray]:
    values, scales = obj(shape), obj(shape)
    for i in items(shape):
        terms = terms_at(i)
        values[i] = total(terms)
        scales[i] = magnitude(terms)
    return values, scales


# --- regression: functions of d = x − y --------------------------------------------------------
#
# d = x − y is one correctly rounded subtraction in float64 (relative error ≤ u in d), and each
# function below is well-conditioned in d, so the scale is the value itself.


def _regression(f: Callable[[Any, Mapping], Any]):
    def loss(a, p) -> Elementwise:
        x, y = a["input"], a["target"]
        return Elementwise(*_from_terms(x.shape, lambda i: [f(mpf(x[i]) - mpf(y[i]), p)]))

    return loss


def _mse(d, p):
    return d * d


def _l1(d, p):
    return abs(d)


def _huber(d, p):
    delta = mpf(p["delta"])
    return d * d / 2 if abs(d) < delta else delta * (abs(d) - delta / 2)


def _smooth_l1(d, p):
    beta = mpf(p["beta"])
    if beta == 0:
        return abs(d)
    return d * d / (2 * beta) if abs(d) < beta else abs(d) - beta / 2


def l2_loss(a, p) -> Elementwise:
    """ℓ = ½(x − y)² (optax l2_loss), ½x² without a target (tf.nn.l2_loss before its sum)."""
    x = a["input"]
    y = a.get("target", np.zeros(x.shape))
    return Elementwise(*_from_terms(x.shape, lambda i: [(mpf(x[i]) - mpf(y[i])) ** 2 / 2]))


def _log_cosh(d, p):
    # log cosh d = log1p(cosh d − 1), and cosh d − 1 = 2 sinh²(d/2) without cancellation.
    return mpmath.log1p(2 * mpmath.sinh(d / 2) ** 2)


def mean_squared_logarithmic_error(a, p) -> Elementwise:
    """(log(1 + x) − log(1 + y))²; the scale adds 2|D| times the terms log(1 + x) and log(1 + y)
    that a float64 evaluation subtracts (each with an absolute error of u·|log(1 + ·)|)."""
    x, y = a["input"], a["target"]
    values, scales = obj(x.shape), obj(x.shape)
    for i in items(x.shape):
        first, second = mpmath.log1p(mpf(x[i])), mpmath.log1p(mpf(y[i]))
        d = first - second
        values[i] = d * d
        scales[i] = (
            values[i] + 2 * abs(d) * (abs(first) + abs(second)) if mpmath.isfinite(d) else values[i]
        )
    return Elementwise(values, scales)


def mean_absolute_percentage_error(a, p) -> Elementwise:
    """100·|x − y| / |y|: one chain of products and a quotient, so the scale is the value."""
    x, y = a["input"], a["target"]
    return Elementwise(
        *_from_terms(x.shape, lambda i: [100 * div(abs(mpf(x[i]) - mpf(y[i])), abs(mpf(y[i])))])
    )


# --- binary ------------------------------------------------------------------------------------


def _broadcast(a, name, shape, default=1.0):
    return np.broadcast_to(np.asarray(a[name]) if name in a else np.float64(default), shape)


def binary_cross_entropy(a, p) -> Elementwise:
    """ℓ = −w [y log x + (1 − y) log(1 − x)] (torch BCELoss)."""
    x, y = a["input"], a["target"]
    w = _broadcast(a, "weight", x.shape)

    def terms(i):
        xi, yi, wi = mpf(x[i]), mpf(y[i]), mpf(w[i])
        return [
            coef_times(wi * yi, lambda: -mpmath.log(xi)),
            coef_times(wi * (1 - yi), lambda: -mpmath.log1p(-xi)),
        ]

    return Elementwise(*_from_terms(x.shape, terms))


def binary_cross_entropy_with_logits(a, p) -> Elementwise:
    """ℓ = −w [q y log σ(x) + (1 − y) log(1 − σ(x))] (torch BCEWithLogitsLoss), with
    −log σ(x) = softplus(−x) and −log(1 − σ(x)) = softplus(x); q = pos_weight along the last dim."""
    x, y = a["input"], a["target"]
    w = _broadcast(a, "weight", x.shape)
    q = _broadcast(a, "pos_weight", x.shape)

    def terms(i):
        xi, yi, wi, qi = mpf(x[i]), mpf(y[i]), mpf(w[i]), mpf(q[i])
        return [
            coef_times(wi * qi * yi, lambda: softplus(-xi)),
            coef_times(wi * (1 - yi), lambda: softplus(xi)),
        ]

    return Elementwise(*_from_terms(x.shape, terms))


def sigmoid_focal_loss(a, p) -> Elementwise:
    """FL = α_t (1 − p_t)^γ CE(p, y), p = σ(x), p_t = p y + (1 − p)(1 − y) (RetinaNet eq. 5 with
    torchvision's soft-label form); α_t = α y + (1 − α)(1 − y), or 1 when alpha is None."""
    x, y = a["input"], a["target"]
    alpha, gamma = p["alpha"], mpf(p["gamma"])

    def terms(i):
        xi, yi = mpf(x[i]), mpf(y[i])
        one_minus_pt = sigmoid(xi) * (1 - yi) + sigmoid(-xi) * yi
        at = ONE if alpha is None else mpf(alpha) * yi + (1 - mpf(alpha)) * (1 - yi)
        factor = at * one_minus_pt**gamma
        # CE = −[y log p + (1 − y) log(1 − p)], one term per label side
        return [
            coef_times(factor * yi, lambda: softplus(-xi)),
            coef_times(factor * (1 - yi), lambda: softplus(xi)),
        ]

    return Elementwise(*_from_terms(x.shape, terms))


def _sign(y, p):
    """The label as a sign: y itself, or 2y − 1 for {0, 1} labels (labels='binary')."""
    return 2 * mpf(y) - 1 if p.get("labels", "sign") == "binary" else mpf(y)


def hinge_loss(a, p) -> Elementwise:
    """ℓ = max(0, 1 − s·x) (optax hinge_loss, Keras Hinge before its mean over the last axis)."""
    x, y = a["input"], a["target"]
    values, scales = obj(x.shape), obj(x.shape)
    for i in items(x.shape):
        xi = mpf(x[i])
        values[i] = max(1 - _sign(y[i], p) * xi, ZERO)
        scales[i] = 1 + abs(xi)
    return Elementwise(values, scales)


def squared_hinge(a, p) -> Elementwise:
    """ℓ = max(0, 1 − s·x)² (Keras SquaredHinge before its mean over the last axis)."""
    x, y = a["input"], a["target"]
    values, scales = obj(x.shape), obj(x.shape)
    for i in items(x.shape):
        xi = mpf(x[i])
        h = max(1 - _sign(y[i], p) * xi, ZERO)
        values[i] = h * h
        # 1 − s·x carries an absolute error of u(1 + |x|), which the square doubles relative to h
        scales[i] = h * (h + 2 * (1 + abs(xi)))
    return Elementwise(values, scales)


def perceptron_loss(a, p) -> Elementwise:
    """ℓ = max(0, −y·x) (optax perceptron_loss): one exact term."""
    x, y = a["input"], a["target"]
    return Elementwise(*_from_terms(x.shape, lambda i: [max(-mpf(y[i]) * mpf(x[i]), ZERO)]))


# --- classification: class dimension 1 of (N, C, d1, …), or 0 of (C) ---------------------------


def _class_last(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, 1 if x.ndim >= 2 else 0, -1)


def _neg_log_softmax(row: list, c: int):
    """−log softmax(row)_c = log Σ_k e^{x_k − x_c} = log1p(Σ_{k≠c} e^{x_k − x_c}).

    At x_c = −inf, p_c = 0 / Σ_k e^{x_k}: +inf loss, or 0/0 = NaN when every logit is −inf.
    """
    if row[c] == -mpmath.inf:
        return mpmath.nan if all(v == -mpmath.inf for v in row) else mpmath.inf
    others = [mpmath.exp(row[k] - row[c]) for k in range(len(row)) if k != c]
    return mpmath.log1p(mpmath.fsum(others))


def _difference_sensitivity(row: list, c: int):
    """Σ_k p_k |x_k − x_c|: how much −log p_c moves when the differences x_k − x_c, which a float64
    evaluation must form, are each perturbed by a relative u (∂(−log p_c)/∂(x_k − x_c) = p_k)."""
    m = max(row)
    weights = [mpmath.exp(v - m) for v in row]
    norm = mpmath.fsum(weights)
    return mpmath.fsum(
        div(w_k, norm) * abs(row[k] - row[c])
        for k, w_k in enumerate(weights)
        if k != c and mpmath.isfinite(row[k] - row[c])
    )


def cross_entropy(a, p) -> Elementwise:
    """ℓ_n = −Σ_c w_c q_c log softmax(x_n)_c (torch CrossEntropyLoss), q = (1 − ε) target + ε/C
    (one-hot target for class indices); ``mean`` divides by Σ_n w_{y_n} over non-ignored items
    for class indices, by the number of items for probability targets."""
    x = _class_last(a["input"])
    n_classes = x.shape[-1]
    eps = mpf(p["label_smoothing"])
    w = [mpf(v) for v in (a["weight"] if "weight" in a else np.ones(n_classes))]
    index = p["target_kind"] == "index"
    t = a["target"] if index else _class_last(a["target"])
    shape = x.shape[:-1]
    values, scales = obj(shape), obj(shape)
    denominator = ZERO
    for i in items(shape):
        if index and p.get("ignore_index") is not None and t[i] == p["ignore_index"]:
            values[i], scales[i] = ZERO, ZERO
            continue
        row = [mpf(v) for v in x[i]]
        if index:
            q = [(1 - eps) * (c == t[i]) + eps / n_classes for c in range(n_classes)]
            denominator += w[int(t[i])]
        else:
            q = [(1 - eps) * mpf(t[i][c]) + eps / n_classes for c in range(n_classes)]
        terms, extra = [], []
        for c in range(n_classes):
            terms.append(coef_times(w[c] * q[c], lambda c=c, row=row: _neg_log_softmax(row, c)))
            extra.append(
                coef_times(w[c] * q[c], lambda c=c, row=row: _difference_sensitivity(row, c))
            )
        values[i] = total(terms)
        scales[i] = magnitude(terms) + magnitude(extra)
    return Elementwise(values, scales, {"mean": denominator} if index else {})


def _softmax_complement(row: list, c: int):
    """1 − softmax(row)_c = Σ_{k≠c} e^{x_k − x_c} / (1 + Σ_{k≠c} e^{x_k − x_c}), never 1 minus a
    number near 1; 1 at x_c = −inf (NaN when every logit is −inf)."""
    if row[c] == -mpmath.inf:
        return mpmath.nan if all(v == -mpmath.inf for v in row) else ONE
    rest = mpmath.fsum(mpmath.exp(row[k] - row[c]) for k in range(len(row)) if k != c)
    if mpmath.isnan(rest):
        return mpmath.nan
    return ONE if rest == mpmath.inf else rest / (1 + rest)


def poly_loss_cross_entropy(a, p) -> Elementwise:
    """Poly-1 (Leng et al. 2022, eq. 3; optax poly_loss_cross_entropy): ℓ_n = −Σ_c t_c log p_c
    + ε Σ_c t_c (1 − p_c), p = softmax over the last axis; zero-target classes are absent."""
    x, t = a["input"], a["target"]
    eps = mpf(p["epsilon"])

    def terms_of(i):
        row = [mpf(v) for v in x[i]]
        terms, extra = [], []
        for c in range(len(row)):
            tc = mpf(t[i][c])
            terms.append(coef_times(tc, lambda c=c: _neg_log_softmax(row, c)))
            terms.append(coef_times(eps * tc, lambda c=c: _softmax_complement(row, c)))
            size = coef_times(tc, lambda c=c: _difference_sensitivity(row, c))
            extra += [size, abs(eps) * size]
        return terms, extra

    shape = x.shape[:-1]
    values, scales = obj(shape), obj(shape)
    for i in items(shape):
        terms, extra = terms_of(i)
        values[i], scales[i] = total(terms), magnitude(terms) + magnitude(extra)
    return Elementwise(values, scales)


def nll_loss(a, p) -> Elementwise:
    """ℓ_n = −w_{y_n} x_{n, y_n} (torch NLLLoss); ``mean`` divides by Σ_n w_{y_n} over kept n."""
    x = _class_last(a["input"])
    t = a["target"]
    w = [mpf(v) for v in (a["weight"] if "weight" in a else np.ones(x.shape[-1]))]
    shape = x.shape[:-1]
    values, scales = obj(shape), obj(shape)
    denominator = ZERO
    for i in items(shape):
        if p.get("ignore_index") is not None and t[i] == p["ignore_index"]:
            values[i], scales[i] = ZERO, ZERO
            continue
        c = int(t[i])
        denominator += w[c]
        values[i] = coef_times(w[c], lambda i=i, c=c: -mpf(x[i][c]))
        scales[i] = abs(values[i]) if mpmath.isfinite(values[i]) else ZERO
    return Elementwise(values, scales, {"mean": denominator})


def multi_margin_loss(a, p) -> Elementwise:
    """ℓ_n = Σ_{i≠y} w_y max(0, margin − x_y + x_i)^p / C (torch MultiMarginLoss).

    Scale: z_i = margin − x_y + x_i is a float64 sum of three numbers, so its error is of order
    u (|margin| + |x_y| + |x_i|), and z^p moves by p |z|^(p−1) times that — over every i ≠ y,
    active or not, since rounding can put z on either side of the hinge.
    """
    x = a["input"]
    rows = x if x.ndim == 2 else x[None]
    targets = np.atleast_1d(a["target"])
    n_classes = rows.shape[-1]
    w = [mpf(v) for v in (a["weight"] if "weight" in a else np.ones(n_classes))]
    margin, power = mpf(p["margin"]), p["p"]
    values, scales = obj(rows.shape[0]), obj(rows.shape[0])
    for n in range(rows.shape[0]):
        y = int(targets[n])
        xy = mpf(rows[n][y])
        acc, scale = [], []
        for i in range(n_classes):
            if i == y:
                continue
            xi = mpf(rows[n][i])
            z = margin - xy + xi
            acc.append(max(z, ZERO) ** power)
            scale.append(power * abs(z) ** (power - 1) * (abs(margin) + abs(xy) + abs(xi)))
        values[n] = w[y] * total(acc) / n_classes
        scales[n] = abs(w[y]) * (magnitude(acc) + magnitude(scale)) / n_classes
    if x.ndim == 1:
        values, scales = values.reshape(()), scales.reshape(())
    return Elementwise(values, scales)


def multilabel_margin_loss(a, p) -> Elementwise:
    """ℓ_n = Σ_{j listed} Σ_{i not listed} max(0, 1 − x_j + x_i) / C (torch MultiLabelMarginLoss):
    the listed labels are the target entries before the first −1, in order, duplicates included.

    Scale: each z = 1 − x_j + x_i is a float64 sum of three numbers (error of order
    u (1 + |x_j| + |x_i|)), over every pair, active or not, since rounding can put z on either
    side of the hinge.
    """
    x = a["input"]
    rows = x if x.ndim == 2 else x[None]
    targets = a["target"] if a["target"].ndim == 2 else a["target"][None]
    n_classes = rows.shape[-1]
    values, scales = obj(rows.shape[0]), obj(rows.shape[0])
    for n in range(rows.shape[0]):
        listed = []
        for t in targets[n]:
            if t < 0:
                break
            listed.append(int(t))
        others = [i for i in range(n_classes) if i not in listed]
        acc, scale = [], []
        for j in listed:
            for i in others:
                xj, xi = mpf(rows[n][j]), mpf(rows[n][i])
                acc.append(max(ONE - xj + xi, ZERO))
                scale.append(ONE + abs(xj) + abs(xi))
        values[n] = total(acc) / n_classes
        scales[n] = (magnitude(acc) + magnitude(scale)) / n_classes
    if x.ndim == 1:
        values, scales = values.reshape(()), scales.reshape(())
    return Elementwise(values, scales)


def multilabel_soft_margin_loss(a, p) -> Elementwise:
    """ℓ_n = −(1/C) Σ_c w_c [y_c log σ(x_c) + (1 − y_c) log σ(−x_c)] (torch
    MultiLabelSoftMarginLoss, with the class weight on each label's term)."""
    x, y = a["input"], a["target"]
    n_classes = x.shape[-1]
    w = _broadcast(a, "weight", x.shape)

    def terms(i):
        out = []
        for c in range(n_classes):
            xc, yc, wc = mpf(x[i][c]), mpf(y[i][c]), mpf(w[i][c])
            out.append(coef_times(wc * yc, lambda xc=xc: softplus(-xc)) / n_classes)
            out.append(coef_times(wc * (1 - yc), lambda xc=xc: softplus(xc)) / n_classes)
        return out

    return Elementwise(*_from_terms(x.shape[:-1], terms))


def _best_wrong_class(margin):
    """max(0, max_{j≠y}(m + x_j − x_y)), the Crammer-Singer hinge (optax multiclass_hinge_loss,
    m = 1, written there as max_j(x_j + 1 − [j = y]) − x_y; multiclass_perceptron_loss, m = 0,
    max_j x_j − x_y). Scale: the terms m, x_j, x_y of the best wrong class, and x_y twice where
    the target scores highest (max_j(x_j + m − m[j = y]) − x_y is 0 only by cancellation)."""

    def loss(a, p) -> Elementwise:
        x, y = a["input"], a["target"]
        m = mpf(margin)
        x2 = x.reshape(-1, x.shape[-1])
        labels = np.asarray(y).reshape(-1)
        values, scales = obj(len(labels)), obj(len(labels))
        for n, (row, label) in enumerate(zip(x2, labels, strict=True)):
            xy = mpf(row[label])
            best, size = ZERO, 2 * abs(xy) + abs(m)
            for j, xj in enumerate(row):
                if j != label:
                    z = m + mpf(xj) - xy
                    if mpmath.isnan(z):  # ±inf − (same ±inf): the definition has no value
                        best = mpmath.nan
                        break
                    if z >= best:
                        best, size = z, max(size, abs(m) + abs(mpf(xj)) + abs(xy))
            values[n], scales[n] = best, size
        return Elementwise(values.reshape(y.shape), scales.reshape(y.shape))

    return loss


def _times_or_zero(factor, x):
    """factor · x, with a zero factor giving 0 whatever x is (the reference's masking rule)."""
    return ZERO if factor == 0 else factor * x


def categorical_hinge(a, p) -> Elementwise:
    """max(0, 1 + max_j (1 − t_j) x_j − Σ_j t_j x_j) over the last axis, Keras' documented
    CategoricalHinge (neg = max((1 − y_true)·y_pred), pos = sum(y_true·y_pred)). Scale: 1, |neg|
    and the terms |t_j x_j| of pos, where the hinge is not far below 0."""
    x, t = a["input"], a["target"]
    x2, t2 = x.reshape(-1, x.shape[-1]), t.reshape(-1, t.shape[-1])
    values, scales = obj(len(x2)), obj(len(x2))
    for n, (row, labels) in enumerate(zip(x2, t2, strict=True)):
        xs, ts = [mpf(v) for v in row], [mpf(v) for v in labels]
        # a zero factor removes its term, as in the reference (0·∓inf is NaN in mpmath too)
        neg = max(_times_or_zero(ONE - tj, xj) for tj, xj in zip(ts, xs, strict=True))
        terms = [_times_or_zero(tj, xj) for tj, xj in zip(ts, xs, strict=True)]
        z = ONE + neg - mpmath.fsum(terms)
        values[n] = max(z, ZERO)
        scales[n] = ONE + abs(neg) + mpmath.fsum(abs(v) for v in terms)
    return Elementwise(values.reshape(x.shape[:-1]), scales.reshape(x.shape[:-1]))


def sparsemax_loss(a, p) -> Elementwise:
    """sparse_plus(s), s = x for label 0 and −x for label 1 (Blondel, Martins & Niculae 2020,
    sec. 4.4; jax.nn.sparse_plus: 0 for s ≤ −1, (s + 1)²/4 for −1 < s < 1, s for s ≥ 1). Scale:
    the value, plus (s + 1)'s rounding (terms 1 and |s|) times the slope (s + 1)/2."""
    x, y = a["input"], a["target"]
    values, scales = obj(x.shape), obj(x.shape)
    for i in items(x.shape):
        sv = -mpf(x[i]) if y[i] == 1 else mpf(x[i])
        if sv <= -1:
            values[i], scales[i] = ZERO, ZERO
        elif sv >= 1:
            values[i], scales[i] = sv, abs(sv)
        else:
            values[i] = (sv + 1) ** 2 / 4
            scales[i] = values[i] + (abs(sv) + 1) * (sv + 1) / 2
    return Elementwise(values, scales)


def multiclass_sparsemax_loss(a, p) -> Elementwise:
    """⟨p, z⟩ + ½(1 − ‖p‖²) − z_y per row, p = sparsemax(z) = max(z − τ, 0) (Martins & Astudillo
    2016, eq. 20 and Prop. 1), with τ taken as max_k (Σ_{i≤k} u_i − 1)/k over the scores sorted
    in decreasing order (the simplex projection's threshold; Condat 2016, sec. 2), not from the
    support count. −inf scores never enter; a +inf score leaves no projection (NaN). Scale: ½,
    each supported p_j (|z_j| + |z_y|), and τ's terms (1 + Σ_S |z_j|) times each |z_j − z_y| + 1
    (an error of p is multiplied by the gaps when Σ p = 1 is not used)."""
    x, y = a["input"], a["target"]
    values, scales = obj(y.shape), obj(y.shape)
    for n in range(x.shape[0]):
        row = [mpf(v) for v in x[n]]
        zy = row[int(y[n])]
        if any(v == mpmath.inf for v in row) or all(v == -mpmath.inf for v in row):
            values[n], scales[n] = mpmath.nan, mpmath.nan
            continue
        u = sorted((v for v in row if v != -mpmath.inf), reverse=True)
        tau = max((mpmath.fsum(u[: k + 1]) - 1) / (k + 1) for k in range(len(u)))
        prob = [max(v - tau, ZERO) if v != -mpmath.inf else ZERO for v in row]
        support = [j for j, pj in enumerate(prob) if pj > 0]
        if zy == -mpmath.inf:
            values[n], scales[n] = mpmath.inf, mpmath.inf
            continue
        size = 1 + mpmath.fsum(abs(row[j]) for j in support)
        values[n] = (
            mpmath.fsum(prob[j] * (row[j] - zy) for j in support)
            + (1 - mpmath.fsum(pj**2 for pj in prob)) / 2
        )
        scales[n] = mpmath.mpf(0.5) + mpmath.fsum(
            prob[j] * (abs(row[j]) + abs(zy)) + size * (abs(row[j] - zy) + 1) for j in support
        )
    return Elementwise(values, scales)


# --- distribution ------------------------------------------------------------------------------


def kl_div(a, p) -> Elementwise:
    """ℓ = t (log t − x) pointwise, or e^t (t − x) with log_target (torch KLDivLoss); ``batchmean``
    divides the sum by input.shape[0]."""
    x, t = a["input"], a["target"]

    def terms(i):
        xi, ti = mpf(x[i]), mpf(t[i])
        if p["log_target"]:
            # t − x is one correctly rounded subtraction: a single term
            return [coef_times(mpmath.exp(ti), lambda: ti - xi)]
        return [coef_times(ti, lambda: mpmath.log(ti)), coef_times(ti, lambda: -xi)]

    return Elementwise(*_from_terms(x.shape, terms), {"batchmean": mpf(x.shape[0])})


def generalized_kl_divergence(a, p) -> Elementwise:
    """ℓ_n = Σ_j [t_j (log t_j − x_j) + e^{x_j} − t_j] over the last axis: the Bregman divergence
    of u log u − u (Boyd & Vandenberghe, Convex Optimization, p. 90; optax
    generalized_kl_divergence); a zero target's t (log t − x) is absent."""
    x, t = a["input"], a["target"]

    def terms(i):
        out = []
        for xj, tj in zip(x[i], t[i], strict=True):
            xj, tj = mpf(xj), mpf(tj)
            out += [coef_times(tj, lambda tj=tj: mpmath.log(tj)), coef_times(tj, lambda xj=xj: -xj)]
            out += [mpmath.exp(xj), -tj]
        return out

    return Elementwise(*_from_terms(x.shape[:-1], terms))


def _argument_is_rounded(x, y) -> bool:
    """Whether the float64 sum x + y is inexact (then a function of it inherits a relative-u
    perturbation of its argument, which no float64 implementation avoids)."""
    return mpf(np.float64(x) + np.float64(y)) != mpf(x) + mpf(y)


def poisson_nll_loss(a, p) -> Elementwise:
    """ℓ = e^x − y x with log_input, else x − y log(x + eps) (torch PoissonNLLLoss); ``full`` adds
    Stirling's y log y − y + ½ log(2π y) where y > 1 (torch's documented term), or, with
    ``full_term='lgamma'``, the exact log(y!) = log Γ(y + 1)."""
    x, y = a["input"], a["target"]
    eps = p["eps"]

    def terms(i):
        xi, yi = mpf(x[i]), mpf(y[i])
        sensitivity = []
        if p["log_input"]:
            out = [mpmath.exp(xi), coef_times(yi, lambda: -xi)]
        else:
            out = [xi, coef_times(yi, lambda: -mpmath.log(xi + mpf(eps)))]
            if _argument_is_rounded(x[i], eps):
                sensitivity.append(yi)  # δ log(s) = δs / s = u
        if p["full"]:
            if p.get("full_term", "stirling") == "lgamma":
                out.append(mpmath.loggamma(yi + 1))
                if _argument_is_rounded(y[i], 1.0):
                    sensitivity.append((yi + 1) * mpmath.psi(0, yi + 1))
            elif yi > 1:
                out += [yi * mpmath.log(yi), -yi, mpmath.log(2 * mpmath.pi * yi) / 2]
        return out, sensitivity

    values, scales = obj(x.shape), obj(x.shape)
    for i in items(x.shape):
        out, sensitivity = terms(i)
        values[i] = total(out)
        scales[i] = magnitude(out) + magnitude(sensitivity)
    return Elementwise(values, scales)


def gaussian_nll_loss(a, p) -> Elementwise:
    """ℓ = ½ [log max(var, eps) + (x − y)² / max(var, eps)] (+ ½ log 2π with ``full``) (torch
    GaussianNLLLoss); a var with one fewer dimension than input gets a trailing one, then var is
    broadcast to the input's shape, which is the shape of ``none``."""
    x, y, var = a["input"], a["target"], a["var"]
    if var.ndim == x.ndim - 1:
        var = var[..., None]
    var = np.broadcast_to(var, x.shape)
    eps = mpf(p["eps"])

    def terms(i):
        v = max(mpf(var[i]), eps)
        d = mpf(x[i]) - mpf(y[i])
        out = [mpmath.log(v) / 2, d * d / (2 * v)]
        if p["full"]:
            out.append(mpmath.log(2 * mpmath.pi) / 2)
        return out

    return Elementwise(*_from_terms(x.shape, terms))


# --- embedding ---------------------------------------------------------------------------------


def _pnorm(components, order):
    order = mpf(order)
    return mpmath.fsum(abs(c) ** order for c in components) ** (1 / order)


def triplet_margin_loss(a, p) -> Elementwise:
    """ℓ = max(0, d(a, p) − d(a, n) + margin), d(u, v) = ‖u − v + eps‖_p over the last dimension
    (torch TripletMarginLoss / pairwise_distance); with swap, d(a, n) → min(d(a, n), d(p, n)).

    Scale: the distances and the margin are the summed terms; each component u_i − v_i + eps is two
    float64 additions, error ≤ u (2|u_i − v_i| + eps), and a p-norm passes that on with factor ≤ 1.
    """
    anc, pos, neg = a["anchor"], a["positive"], a["negative"]
    eps, order, margin = mpf(p["eps"]), p["p"], mpf(p["margin"])

    def dist(u, v):
        diffs = [mpf(s) - mpf(t) for s, t in zip(u, v, strict=True)]
        return (
            _pnorm([dd + eps for dd in diffs], order),
            _pnorm([2 * abs(dd) + eps for dd in diffs], order),
        )

    rows = [(anc, pos, neg)] if anc.ndim == 1 else list(zip(anc, pos, neg, strict=True))
    values, scales = obj(len(rows)), obj(len(rows))
    for n, (an, po, ne) in enumerate(rows):
        d_ap, s_ap = dist(an, po)
        d_neg, s_neg = dist(an, ne)
        if p["swap"]:
            d_pn, s_pn = dist(po, ne)
            if d_pn < d_neg:
                d_neg, s_neg = d_pn, s_pn
        values[n] = max(d_ap - d_neg + margin, ZERO)
        scales[n] = s_ap + s_neg + abs(margin)
    if anc.ndim == 1:
        values, scales = values.reshape(()), scales.reshape(())
    return Elementwise(values, scales)


def triplet_margin_with_distance_loss(a, p) -> Elementwise:
    """torch.nn.functional.triplet_margin_with_distance_loss with ``distance_function=None``
    (torch/nn/functional.py at v2.13.0, L5993-L6067): the distance is then
    ``pairwise_distance(x1, x2)`` at its defaults p = 2, eps = 1e-6, i.e. ‖u − v + 1e-6‖₂, and the
    loss max(0, d(a, p) − d(a, n) + margin) (d(a, n) → min(d(a, n), d(p, n)) with swap), which is
    TripletMarginLoss's formula above at those two values; scale as there.
    """
    return triplet_margin_loss(a, {**p, "p": 2.0, "eps": 1e-6})


def cosine_embedding_loss(a, p) -> Elementwise:
    """ℓ = 1 − cos(x1, x2) for y = 1, max(0, cos(x1, x2) − margin) for y = −1 (torch
    CosineEmbeddingLoss), cos = x1·x2 / (‖x1‖ ‖x2‖) exactly (a zero vector gives 0/0 = NaN).

    Scale: 1 (or the margin) and cos are the summed terms, and cos is itself a sum whose terms
    x1_i x2_i / (‖x1‖‖x2‖) add up, in absolute value, to at most 1.
    """
    x1, x2, y = a["input1"], a["input2"], np.asarray(a["target"])
    margin = mpf(p["margin"])
    rows = [(x1, x2)] if x1.ndim == 1 else list(zip(x1, x2, strict=True))
    flat_y = y.reshape(-1)
    values, scales = obj(len(rows)), obj(len(rows))
    for n, (u, v) in enumerate(rows):
        u = [mpf(s) for s in u]
        v = [mpf(s) for s in v]
        norms = mpmath.sqrt(mpmath.fsum(s * s for s in u)) * mpmath.sqrt(
            mpmath.fsum(s * s for s in v)
        )
        cos = div(mpmath.fsum(s * t for s, t in zip(u, v, strict=True)), norms)
        cos_terms = div(mpmath.fsum(abs(s * t) for s, t in zip(u, v, strict=True)), norms)
        if flat_y[n] == 1:
            values[n], scales[n] = 1 - cos, 1 + cos_terms
        else:
            values[n] = max(cos - margin, ZERO) if not mpmath.isnan(cos) else mpmath.nan
            scales[n] = cos_terms + abs(margin)
    if x1.ndim == 1:
        values, scales = values.reshape(()), scales.reshape(())
    return Elementwise(values, scales)


def _cosine_of_pair(sign: int, offset: int):
    """ℓ = offset + sign·cos(x1, x2), cos = x1·x2 / (max(‖x1‖, ε)·max(‖x2‖, ε)) over the last
    dimension (torch.nn.functional.cosine_similarity's documented formula, ε = eps; ε = 0 is
    the plain cosine, 0/0 = NaN at a zero vector); optax.losses.cosine_distance is 1 − cos.

    Scale: the offset and the terms x1_i x2_i / (m1 m2) of the dot product, plus |cos|."""

    def formula(a, p) -> Elementwise:
        x1, x2 = a["input1"], a["input2"]
        eps = mpf(p["eps"])
        rows = [(x1, x2)] if x1.ndim == 1 else list(zip(x1, x2, strict=True))
        values, scales = obj(len(rows)), obj(len(rows))
        for n, (u, v) in enumerate(rows):
            u, v = [mpf(s) for s in u], [mpf(s) for s in v]
            m1 = max(mpmath.sqrt(mpmath.fsum(s * s for s in u)), eps)
            m2 = max(mpmath.sqrt(mpmath.fsum(s * s for s in v)), eps)
            cos = div(mpmath.fsum(s * t for s, t in zip(u, v, strict=True)), m1 * m2)
            terms = div(mpmath.fsum(abs(s * t) for s, t in zip(u, v, strict=True)), m1 * m2)
            values[n] = offset + sign * cos
            scales[n] = offset + terms + abs(cos)
        if x1.ndim == 1:
            values, scales = values.reshape(()), scales.reshape(())
        return Elementwise(values, scales)

    return formula


def margin_ranking_loss(a, p) -> Elementwise:
    """ℓ = max(0, −y (x1 − x2) + margin) (torch MarginRankingLoss)."""
    x1, x2, y = a["input1"], a["input2"], a["target"]
    margin = mpf(p["margin"])

    def terms(i):
        d = mpf(x1[i]) - mpf(x2[i])
        z = -mpf(y[i]) * d + margin
        return max(z, ZERO), abs(d) + abs(margin)

    values, scales = obj(x1.shape), obj(x1.shape)
    for i in items(x1.shape):
        values[i], scales[i] = terms(i)
    return Elementwise(values, scales)


def hinge_embedding_loss(a, p) -> Elementwise:
    """ℓ = x for y = 1, max(0, margin − x) for y = −1 (torch HingeEmbeddingLoss)."""
    x, y = a["input"], a["target"]
    margin = mpf(p["margin"])
    values, scales = obj(x.shape), obj(x.shape)
    for i in items(x.shape):
        xi = mpf(x[i])
        if y[i] == 1:
            values[i], scales[i] = xi, abs(xi)
        else:
            values[i], scales[i] = max(margin - xi, ZERO), abs(margin) + abs(xi)
    return Elementwise(values, scales)


def soft_margin_loss(a, p) -> Elementwise:
    """ℓ = log(1 + e^{−y x}) (torch SoftMarginLoss)."""
    x, y = a["input"], a["target"]
    return Elementwise(*_from_terms(x.shape, lambda i: [softplus(-mpf(y[i]) * mpf(x[i]))]))


# --- sequence ----------------------------------------------------------------------------------


def _collapse(path, blank) -> tuple:
    """B(π): merge repeated symbols, then remove blanks (Graves et al. 2006, section 3.1)."""
    out, prev = [], None
    for k in path:
        if k != prev and k != blank:
            out.append(k)
        prev = k
    return tuple(out)


def ctc_loss(a, p) -> Elementwise:
    """ℓ_n = −log Σ_{π: B(π) = y_n} Π_t exp(x[t, n, π_t]) (torch CTCLoss, Graves et al. 2006), by
    brute force over every alignment π of length T_n over the symbols the item can emit (the
    blank and its labels; any other symbol makes B(π) ≠ y_n): an oracle independent of the
    forward-backward recursion. No alignment: +inf, 0 with ``zero_infinity``; ``mean`` divides
    each item by max(L_n, 1), then averages the items.

    Scale: every path's log-probability is a float64 sum of T_n log-probabilities, so a float64
    evaluation has an error of order u Σ_t max_k |x[t, n, k]| over the symbols it reads (plus a
    log of a sum in [1, 3] per step).
    """
    import itertools

    x = a["input"]
    blank = p["blank"]
    n_items = x.shape[1]
    values, scales = obj(n_items), obj(n_items)
    for n in range(n_items):
        t_n, l_n = int(a["input_lengths"][n]), int(a["target_lengths"][n])
        labels = tuple(int(v) for v in a["targets"][n][:l_n])
        symbols = sorted({blank, *labels})
        total_prob = []
        for path in itertools.product(symbols, repeat=t_n):
            if _collapse(path, blank) == labels:
                total_prob.append(
                    mpmath.exp(mpmath.fsum(mpf(x[t, n, k]) for t, k in enumerate(path)))
                )
        likelihood = mpmath.fsum(total_prob)
        value = -mpmath.log(likelihood) if likelihood > 0 else mpmath.inf
        if value == mpmath.inf and p["zero_infinity"]:
            value = ZERO
        values[n] = value
        scales[n] = (
            mpmath.fsum(
                max(abs(mpf(x[t, n, k])) for k in symbols if mpmath.isfinite(mpf(x[t, n, k])))
                if any(mpmath.isfinite(mpf(x[t, n, k])) for k in symbols)
                else ZERO
                for t in range(t_n)
            )
            + 2 * t_n
        )
    lengths = [ONE / max(int(v), 1) for v in a["target_lengths"]]
    return Elementwise(values, scales, factors={"mean": np.array(lengths, dtype=object)})


def categorical_focal_crossentropy(a, p) -> Elementwise:
    """−α Σ_c t_c (1 − p_c)^γ log p_c with p = softmax(x) over the last axis (Keras
    CategoricalFocalCrossentropy, from_logits=True, its docstring's FL = α (1 − p)^γ CE without
    its clip). With o_c = Σ_{k≠c} e^{x_k − x_c}: −log p_c = log1p(o_c) and 1 − p_c = o_c/(1 + o_c),
    both accurate however close p_c is to 1. Scale: the value (the terms are all ≥ 0)."""
    x, t = a["input"], a["target"]
    alpha, gamma = mpf(p["alpha"]), mpf(p["gamma"])
    x2, t2 = x.reshape(-1, x.shape[-1]), t.reshape(-1, t.shape[-1])
    values = obj(len(x2))
    for n, (row, trow) in enumerate(zip(x2, t2, strict=True)):
        xs = [mpf(v) for v in row]
        terms = []
        for c, xc in enumerate(xs):
            rest = xs[:c] + xs[c + 1 :]
            if xc == mpmath.inf or all(v == -mpmath.inf for v in xs):
                # e^x_c / Σ e^x_k is inf/inf (the catalogue's log-softmax: NaN), or 0/0
                m, nl = mpmath.nan, mpmath.nan
            elif xc == -mpmath.inf:
                m, nl = ONE, mpmath.inf
            else:
                o = mpmath.fsum(mpmath.exp(v - xc) for v in rest)
                m, nl = (ONE, mpmath.inf) if mpmath.isinf(o) else (o / (1 + o), mpmath.log1p(o))
            terms.append(coef_times(mpf(trow[c]), lambda m=m, nl=nl: m**gamma * nl))
        values[n] = coef_times(alpha, lambda terms=terms: mpmath.fsum(terms))
    values = values.reshape(x.shape[:-1])
    return Elementwise(values, np.vectorize(abs, otypes=[object])(values))


def categorical_generalized_cross_entropy(a, p) -> Elementwise:
    """(1 − p_y^q)/q with p_y the input at the target class (Zhang & Sabuncu 2018, eq. 6; Keras
    CategoricalGeneralizedCrossEntropy). p_y^q − 1 = expm1(q log p_y), accurate near p_y = 1.
    Scale: the value (a single term)."""
    x, y = a["input"], np.asarray(a["target"])
    q = mpf(p["q"])
    x2, labels = x.reshape(-1, x.shape[-1]), y.reshape(-1)
    values = obj(len(labels))
    for n, (row, label) in enumerate(zip(x2, labels, strict=True)):
        py = mpf(row[int(label)])
        values[n] = 1 / q if py == 0 else -mpmath.expm1(q * mpmath.log(py)) / q
    values = values.reshape(y.shape)
    return Elementwise(values, np.vectorize(abs, otypes=[object])(values))


def _overlap_rows(a, p):
    """(p, t) per item as mpf lists: p = input, or σ(input) for logits."""
    x, t = a["input"], a["target"]
    rows = []
    for xr, tr in zip(x, t, strict=True):
        pr = [sigmoid(mpf(v)) if p["logits"] else mpf(v) for v in xr]
        rows.append((pr, [mpf(v) for v in tr]))
    return rows


def dice_loss(a, p) -> Elementwise:
    """ℓ = 1 − (2 Σ p t + s) / (Σ p + Σ t + s) per row (Milletari et al. 2016, V-Net, eq. 1 with
    the additive smoothing s both sides; 0/0 = NaN). Scale: 1 plus the ratio's size."""
    s = mpf(p["smooth"])
    rows = _overlap_rows(a, p)
    values, scales = obj(len(rows)), obj(len(rows))
    for n, (pr, tr) in enumerate(rows):
        num = 2 * mpmath.fsum(u * v for u, v in zip(pr, tr, strict=True)) + s
        den = mpmath.fsum(pr) + mpmath.fsum(tr) + s
        q = div(num, den)
        values[n] = 1 - q
        scales[n] = 1 + (abs(q) if not mpmath.isnan(q) else ZERO)
    return Elementwise(values, scales)


def tversky_loss(a, p) -> Elementwise:
    """ℓ = 1 − (TP + s) / (TP + α FP + β FN + s) per row (Salehi et al. 2017, eq. 3:
    TP = Σ p₀g₀, FP = Σ p₀g₁ with g₁ = 1 − g₀, FN = Σ p₁g₀ with p₁ = 1 − p₀), FP and FN summed
    from their own non-negative terms. Scale: 1 plus the ratio's size."""
    alpha, beta, s = mpf(p["alpha"]), mpf(p["beta"]), mpf(p["smooth"])
    rows = _overlap_rows(a, p)
    values, scales = obj(len(rows)), obj(len(rows))
    for n, (pr, tr) in enumerate(rows):
        tp = mpmath.fsum(u * v for u, v in zip(pr, tr, strict=True))
        fp = mpmath.fsum(u * (1 - v) for u, v in zip(pr, tr, strict=True))
        fn = mpmath.fsum((1 - u) * v for u, v in zip(pr, tr, strict=True))
        q = div(tp + s, tp + alpha * fp + beta * fn + s)
        values[n] = 1 - q
        scales[n] = 1 + (abs(q) if not mpmath.isnan(q) else ZERO)
    return Elementwise(values, scales)


def circle_loss(a, p) -> Elementwise:
    """ℓ_i = log(1 + Σ_{j∈P_i} Σ_{k∈N_i} exp(γ α_n(s_ik)(s_ik − m) − γ α_p(s_ij)(s_ij − 1 + m)))
    (Sun et al. 2020, eq. 6 in its double-sum form, with O_p = 1 + m, O_n = −m, Δ_p = 1 − m,
    Δ_n = m), s the dot product clamped at 1, α = [·]₊; 0 for an item without a positive or a
    negative, which ``mean`` does not count. Scale: 1 plus the largest exponent's terms."""
    x, y = a["input"], a["target"]
    gamma, m = mpf(p["gamma"]), mpf(p["margin"])
    n = len(y)
    rows = [[mpf(v) for v in r] for r in x]
    s = [
        [
            min(mpmath.fsum(u * v for u, v in zip(rows[i], rows[j], strict=True)), 1)
            for j in range(n)
        ]
        for i in range(n)
    ]
    size = [
        [
            mpmath.fsum(abs(u * v) for u, v in zip(rows[i], rows[j], strict=True)) + 1
            for j in range(n)
        ]
        for i in range(n)
    ]
    values, scales = obj(n), obj(n)
    valid = 0
    for i in range(n):
        pos = [j for j in range(n) if y[j] == y[i] and (j != i or not p["remove_diagonal"])]
        neg = [k for k in range(n) if y[k] != y[i]]
        if not pos or not neg:
            values[i], scales[i] = ZERO, mpf(1)
            continue
        valid += 1
        zp = [-gamma * max(1 + m - s[i][j], 0) * (s[i][j] - (1 - m)) for j in pos]
        zn = [gamma * max(s[i][k] + m, 0) * (s[i][k] - m) for k in neg]
        total = mpmath.fsum(mpmath.exp(u + v) for u in zp for v in zn)
        values[i] = mpmath.log1p(total)
        terms = [abs(z) + gamma * (3 + abs(m)) * size[i][j] for z, j in zip(zp, pos, strict=True)]
        terms += [abs(z) + gamma * (3 + abs(m)) * size[i][k] for z, k in zip(zn, neg, strict=True)]
        scales[i] = 1 + abs(values[i]) + max(terms)
    return Elementwise(values, scales, {"mean": valid})


# The mpmath twin of each loss, found by the loss's registry name (formula() says what to add when
# one is missing).

# --- sampled ------------------------------------------------------------------------------------


def _sampled_logits(a, p, n):
    """Item n's logits, each with the size of its terms: x_n·W[c] + b[c] − log Q, written out
    term by term from the definition (tf.nn's candidate-sampling losses); a sampled class that is
    one of the item's true classes is left out (None) when remove_accidental_hits is set."""
    x, w, b = a["inputs"][n], a["weights"], a["biases"]
    true = [int(c) for c in a["labels"][n]]

    def logit(c, count):
        terms = [mpf(x[d]) * mpf(w[c][d]) for d in range(len(x))] + [mpf(b[c])]
        if p["subtract_log_q"]:
            terms.append(-mpmath.log(mpf(count)))
        return total(terms), magnitude(terms)

    out = [logit(c, a["true_expected_count"][n][e]) for e, c in enumerate(true)]
    for j, c in enumerate(a["sampled"]):
        hit = p["remove_accidental_hits"] and int(c) in true
        out.append(None if hit else logit(int(c), a["sampled_expected_count"][j]))
    return out


def _sampled_loss(per_item):
    def loss(a, p) -> Elementwise:
        n_items = a["inputs"].shape[0]
        values, scales = obj(n_items), obj(n_items)
        for n in range(n_items):
            logits = _sampled_logits(a, p, n)
            values[n], scales[n] = per_item(logits, a["labels"].shape[1])
        return Elementwise(values, scales)

    return loss


def _sampled_softmax(logits, n_true):
    """−(1/E) Σ_e log( e^{t_e} / Σ_m e^{z_m} ) over the logits that are present."""
    present = [z for z in logits if z is not None]
    row = [z for z, _ in present]  # the true logits first, never removed
    if any(mpmath.isnan(z) for z in row):  # 0·inf in a dot product: no logit, no loss
        return mpmath.nan, mpmath.nan
    # a +inf true logit: softmax is e^∞ / e^∞, no number (as cross_entropy's reference: NaN)
    terms = [
        mpmath.nan if row[e] == mpmath.inf else _neg_log_softmax(row, e) / n_true
        for e in range(n_true)
    ]
    scale = mpmath.fsum(s for _, s in logits[:n_true]) / n_true + max(s for _, s in present)
    return total(terms), scale + 1


def _nce(logits, n_true):
    """Σ_e [log(1 + e^{t_e}) − t_e/E] + Σ_j log(1 + e^{s_j}) over the logits that are present."""
    terms = []
    for m, z in enumerate(logits):
        if z is None:
            continue
        terms.append(softplus(z[0]))
        if m < n_true:
            terms.append(-z[0] / n_true)
    return total(terms), magnitude(terms) + mpmath.fsum(z[1] for z in logits if z is not None)


def ntxent(a, p) -> Elementwise:
    """NT-Xent (Chen et al. 2020, eq. 1; the pytorch-metric-learning NTXentLoss form): for each
    ordered positive pair (i, j), i ≠ j, y_i = y_j, ℓ_ij = −log(e^(s_ij) / (e^(s_ij) +
    Σ_{k: y_k ≠ y_i} e^(s_ik))), s = cos/τ with the exact cosine (0/0 = NaN at a zero vector);
    per anchor L_i = Σ_j ℓ_ij, averaged over the P positive pairs. Written as
    log(1 + Σ_k e^(s_ik − s_ij)). Scale: per pair, the value, 1, |s_ij|, the log-sum-exp's size
    and the similarities' own rounding 2/τ."""
    x, y, tau = a["embeddings"], a["labels"], mpf(p["temperature"])
    n = x.shape[0]
    rows = [[mpf(float(v)) for v in x[i]] for i in range(n)]
    norms = [mpmath.sqrt(mpmath.fsum(v * v for v in r)) for r in rows]

    def sim(i, j):
        if norms[i] == 0 or norms[j] == 0:
            return mpmath.nan
        return (
            mpmath.fsum(u * v for u, v in zip(rows[i], rows[j], strict=True))
            / (norms[i] * norms[j])
            / tau
        )

    s = [[sim(i, j) for j in range(n)] for i in range(n)]
    values, scales = obj((n,)), obj((n,))
    count = 0
    for i in range(n):
        negs = [s[i][k] for k in range(n) if y[k] != y[i]]
        lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in negs)) if negs else -mpmath.inf
        size = abs(lse) if negs else ZERO
        total, scale = [], []
        for j in range(n):
            if i == j or y[i] != y[j]:
                continue
            count += 1
            # a zero vector's 0/0 cosine is NaN in each term it enters, even without negatives
            term = mpmath.log1p(mpmath.fsum(mpmath.exp(v - s[i][j]) for v in negs))
            term = mpmath.nan if mpmath.isnan(s[i][j]) else term
            total.append(term)
            scale.append(term + 1 + abs(s[i][j]) + size + 2 / tau)
        values[i] = mpmath.fsum(total) if total else ZERO
        scales[i] = mpmath.fsum(scale) if scale else ZERO
    return Elementwise(values, scales, {"mean": count})


LOSSES: dict[str, Callable[[Mapping[str, np.ndarray], Mapping[str, Any]], Elementwise]] = {
    "mse_loss": _regression(_mse),
    "l1_loss": _regression(_l1),
    "huber_loss": _regression(_huber),
    "smooth_l1_loss": _regression(_smooth_l1),
    "log_cosh": _regression(_log_cosh),
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
    "mean_absolute_percentage_error": mean_absolute_percentage_error,
    "binary_cross_entropy": binary_cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "sigmoid_focal_loss": sigmoid_focal_loss,
    "cross_entropy": cross_entropy,
    "nll_loss": nll_loss,
    "multi_margin_loss": multi_margin_loss,
    "multilabel_soft_margin_loss": multilabel_soft_margin_loss,
    "multilabel_margin_loss": multilabel_margin_loss,
    "kl_div": kl_div,
    "poisson_nll_loss": poisson_nll_loss,
    "gaussian_nll_loss": gaussian_nll_loss,
    "triplet_margin_loss": triplet_margin_loss,
    "triplet_margin_with_distance_loss": triplet_margin_with_distance_loss,
    "cosine_embedding_loss": cosine_embedding_loss,
    "cosine_similarity": _cosine_of_pair(1, 0),
    "cosine_distance": _cosine_of_pair(-1, 1),
    "margin_ranking_loss": margin_ranking_loss,
    "hinge_embedding_loss": hinge_embedding_loss,
    "soft_margin_loss": soft_margin_loss,
    "ctc_loss": ctc_loss,
    "l2_loss": l2_loss,
    "hinge_loss": hinge_loss,
    "squared_hinge": squared_hinge,
    "perceptron_loss": perceptron_loss,
    "multiclass_hinge_loss": _best_wrong_class(1.0),
    "multiclass_perceptron_loss": _best_wrong_class(0.0),
    "negative_cosine_similarity": _cosine_of_pair(-1, 0),
    "categorical_hinge": categorical_hinge,
    "poly_loss_cross_entropy": poly_loss_cross_entropy,
    "generalized_kl_divergence": generalized_kl_divergence,
    "sparsemax_loss": sparsemax_loss,
    "sampled_softmax_loss": _sampled_loss(_sampled_softmax),
    "nce_loss": _sampled_loss(_nce),
    "categorical_focal_crossentropy": categorical_focal_crossentropy,
    "categorical_generalized_cross_entropy": categorical_generalized_cross_entropy,
    "dice_loss": dice_loss,
    "tversky_loss": tversky_loss,
    "multiclass_sparsemax_loss": multiclass_sparsemax_loss,
    "ntxent": ntxent,
    "circle_loss": circle_loss,
}


def formula(name: str) -> Callable[[Mapping[str, np.ndarray], Mapping[str, Any]], Elementwise]:
    """The mpmath formula of the loss ``name``, or a LookupError saying where to write it."""
    try:
        return LOSSES[name]
    except KeyError:
        raise LookupError(
            f"{name} has no mpmath twin: write its formula from the published definition in "
            "tests/reference/mp_losses.py and add it to LOSSES there"
        ) from None


def reduce(el: Elementwise, reduction: str) -> Exact:
    """``none``: the elementwise arrays; ``sum``: Σ; ``mean``/``batchmean``: Σ / denominator."""
    if reduction == "none":
        return Exact(el.values, el.scales)
    flat_v, flat_s = list(el.values.reshape(-1)), list(el.scales.reshape(-1))
    if reduction in el.factors:
        f = list(np.asarray(el.factors[reduction], dtype=object).reshape(-1))
        flat_v = [v * k for v, k in zip(flat_v, f, strict=True)]
        flat_s = [v * k for v, k in zip(flat_s, f, strict=True)]
    value, scale = mpmath.fsum(flat_v), mpmath.fsum(flat_s)
    if reduction == "sum":
        return Exact(value, scale)
    denominator = el.denominators.get(reduction, mpf(el.values.size))
    return Exact(div(value, denominator), abs(div(scale, denominator)))


def exact(name: str, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any]) -> Exact:
    """The loss ``name`` reduced as ``params['reduction']`` says, at ``DPS`` digits.

    ``params`` must be complete (every parameter of the configuration, reduction included).
    """
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    with mpmath.workdps(DPS):
        return reduce(formula(name)(arrays, params), params["reduction"])


def derivative(name: str, arrays, params, arg: str, index: tuple) -> Any:
    """∂/∂arrays[arg][index] of the loss reduced with ``sum``, by mpmath's numerical
    differentiation of the exact elementwise values (at 2·DPS digits, with a step relative to the
    element, so the step error is far below DPS digits), one output element at a time so that a
    term of 1e-300 in one element is not lost beside one of 1 in another (within one element
    it would be: keep such terms in separate elements)."""
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    params = {**params, "reduction": "none"}
    base = arrays[arg].astype(object)
    loss = formula(name)
    cache: dict = {}

    def at(t):
        if t not in cache:
            moved = base.copy()
            moved[index] = t
            cache[t] = loss({**arrays, arg: moved}, params).values
        return cache[t]

    with mpmath.workdps(DPS):
        x0 = mpf(arrays[arg][index])
        outputs = items(np.shape(loss(arrays, params).values))
        # central difference, step 2^-150 of |x0| (or absolute at 0): its O(h²) error is 2^-300
        h = (abs(x0) if x0 != 0 else ONE) * mpmath.mpf(2) ** -150
        with mpmath.workdps(4 * DPS):
            parts = [mpmath.diff(lambda t, i=i: at(t)[i], x0, h=h) for i in outputs]
            return +mpmath.fsum(parts)
