"""Known divergences between torch (2.13.0+cpu, eager) and the reference, each reproduced and cited.

Every entry was reproduced on torch 2.13.0+cpu before it was registered (``tests/adapters/
test_torch.py`` rebuilds a concrete case per entry and checks that its predicate holds *and* that
torch differs from the reference there). Predicates are deliberately narrow: they name the inputs
where the difference occurs, not the loss as a whole, so a registry entry never hides an
unrelated mismatch and turns *stale* as soon as an upgrade changes the behaviour.

Kinds: ``convention`` for behaviour torch documents (docs page, or a maintainer's decision in an
issue); ``known-bug`` for behaviour that is undocumented and gives a different number than the
mathematical definition (0·inf = NaN where the term is absent, a gradient that is not the gradient
of the value, an error for a valid input).

Predicates read the arrays as torch saw them (``case.rounded()``). Where torch's result depends on
its own arithmetic in the dtype (an overflow, an epsilon that vanishes, a tie or kink that exists
only after rounding), the predicate repeats the few operations concerned with each result rounded
to the dtype (``reference.round_to``); that only locates inputs, it never produces a loss value.
Value and gradient predicates are false on inputs the reference rejects (``_valid_only``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

import reference as R
from reference import Case

from .base import Divergence
from .predicates import kl_incoming_gradient

# --- citations (each one read with the search tool) ---------------------------------------------

_STABLE = "https://pytorch.org/docs/stable/"
_DOCS_ORG = "https://docs.pytorch.org/docs/stable/generated/"
# torch/nn/modules/loss.py docstrings (the source of the docs pages), for classes whose rendered
# page the search tool does not hold: NLLLoss (ignore_index=-100), Hinge/SoftMargin (labels ±1).
LOSS_PY = (
    "https://github.com/pytorch/pytorch/blob/60ceafb3839ed350e1cf028c6888a28fdad246dd/"
    "torch/nn/modules/loss.py"
)
DOCS = {
    "BCELoss": _STABLE + "generated/torch.nn.BCELoss.html",
    "BCEWithLogitsLoss": _STABLE + "generated/torch.nn.BCEWithLogitsLoss.html",
    "CrossEntropyLoss": _STABLE + "generated/torch.nn.CrossEntropyLoss.html",
    "cross_entropy": _STABLE + "generated/torch.nn.functional.cross_entropy.html",
    "KLDivLoss": _STABLE + "generated/torch.nn.KLDivLoss.html",
    "GaussianNLLLoss": _STABLE + "generated/torch.nn.GaussianNLLLoss.html",
    "CosineEmbeddingLoss": _DOCS_ORG + "torch.nn.CosineEmbeddingLoss.html",
    "MarginRankingLoss": _DOCS_ORG + "torch.nn.modules.loss.MarginRankingLoss.html",
    "MultiLabelSoftMarginLoss": _DOCS_ORG + "torch.nn.modules.loss.MultiLabelSoftMarginLoss.html",
    "MultiMarginLoss": _STABLE + "generated/torch.nn.MultiMarginLoss.html",
    "NLLLoss": LOSS_PY,
    "nll_loss": LOSS_PY,
    "HingeEmbeddingLoss": LOSS_PY,
    "SoftMarginLoss": LOSS_PY,
}
BROADCASTING_DOCS = "https://pytorch.org/docs/stable/notes/broadcasting.html"
# aten/src/ATen/native/Loss.cpp: binary_cross_entropy (log clamp -100, backward EPSILON 1e-12),
# cosine_embedding_loss (EPSILON added to squared norms), margin losses via clamp_min, poisson.
LOSS_CPP = (
    "https://github.com/pytorch/pytorch/blob/008af87c5f0d6652418bf0d884e63a3a06682e1d/"
    "aten/src/ATen/native/Loss.cpp"
)
# Same file at an older commit that still shows soft_margin_loss forward as exp().add_(1).log_()
# next to its backward -target*z/(1+z).
LOSS_CPP_SOFT_MARGIN = (
    "https://github.com/pytorch/pytorch/blob/c4f167bd84d185b5c86727c574f239427c2c7b5d/"
    "aten/src/ATen/native/Loss.cpp"
)
MULTI_MARGIN_CPP = (
    "https://github.com/pytorch/pytorch/blob/9e27943f9bcf06c174d3a45ff95e678eb965c65c/"
    "aten/src/ATen/native/LossMultiMargin.cpp"
)
ISSUE = "https://github.com/pytorch/pytorch/issues/{}"
# torch/csrc/autograd/FunctionsManual.cpp: binary_cross_entropy_target_backward is
# −logit(input)·grad·weight, the weight applied last.
FUNCTIONS_MANUAL = (
    "https://github.com/pytorch/pytorch/blob/002ca6715ba1ab4d2369262b487eeb30bf249911/"
    "torch/csrc/autograd/FunctionsManual.cpp"
)

# torch/nn/functional.py at v2.13.0 (the installed 2.13.0+cpu): multilabel_soft_margin_loss forms
# −(y·logsigmoid(x) + (1 − y)·logsigmoid(−x))·weight, sums over the labels, then divides by C;
# gaussian_nll_loss forms 0.5 * (log(var) + (input − target)**2 / var).
FUNCTIONAL_MULTILABEL = (
    "https://github.com/pytorch/pytorch/blob/v2.13.0/torch/nn/functional.py#L4541-L4548"
)
FUNCTIONAL_GAUSSIAN = (
    "https://github.com/pytorch/pytorch/blob/v2.13.0/torch/nn/functional.py#L3383-L3385"
)

# --- small helpers -------------------------------------------------------------------------------


def _params(case: Case) -> dict[str, Any]:
    return {**R.get(case.loss).defaults(), **case.params}


def _class_last(x: np.ndarray) -> np.ndarray:
    """(N, C, d1, …) → (N, d1, …, C); an unbatched (C) stays as it is."""
    return np.moveaxis(x, 1, -1) if x.ndim >= 2 else x


def _kept_targets(case: Case) -> tuple[np.ndarray, np.ndarray]:
    """Index targets and the mask of items not equal to ignore_index."""
    target = case.arrays["target"]
    ignore = _params(case)["ignore_index"]
    kept = np.ones(target.shape, bool) if ignore is None else target != ignore
    return target, kept


def _weighted(arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    """Elements whose binary-loss weight is nonzero (a zero weight removes the element in both)."""
    w = arrays.get("weight", 1.0)
    return np.broadcast_to(w != 0, arrays["input"].shape)


def _total_weight(case: Case) -> float:
    """Σ w_{y_n} over kept items: the denominator of torch's weighted mean."""
    arrays = case.rounded()
    n_classes = _class_last(arrays["input"]).shape[-1]
    w = arrays.get("weight", np.ones(n_classes))
    target, kept = _kept_targets(case)
    return float(np.sum(w[np.where(kept, target, 0)] * kept))


# --- predicates: values and gradients on valid inputs -------------------------------------------
#
# A value or gradient divergence exists only where the reference returns a value, so these
# predicates are wrapped in ``_valid_only``: on an input the reference rejects (a generated
# invalid case) they are false instead of tripping over its shapes.


def _valid_only(pred: Callable[[Case], bool]) -> Callable[[Case], bool]:
    def guarded(case: Case) -> bool:
        if case.rejection() is not None:  # the reference's verdict, checked once per case
            return False
        with np.errstate(all="ignore"):  # infinities are the point of several predicates
            return pred(case)

    guarded.__name__ = pred.__name__
    guarded.__doc__ = pred.__doc__
    return guarded


@_valid_only
def bce_log_clamped(case: Case) -> bool:
    """Some term selected by the label has log(p) < -100, where torch clamps the log."""
    a = case.rounded()
    x, y = a["input"], a["target"]
    with np.errstate(divide="ignore"):
        low = (np.log(x) < -100) & (y != 0)
        high = (np.log1p(-x) < -100) & (y != 1)
    return bool(np.any((low | high) & _weighted(a)))


@_valid_only
def bce_grad_clamped(case: Case) -> bool:
    """x(1 − x) < 1e-12, where torch's backward divides by 1e-12 instead (equal only at x = y)."""
    a = case.rounded()
    x, y = a["input"], a["target"]
    clamped = x * (1.0 - x) < 1e-12
    exact_anyway = (x > 0) & (x < 1) & (x == y)
    return bool(np.any(clamped & ~exact_anyway & _weighted(a)))


def _bce_unweighted_input_grad(case: Case) -> np.ndarray:
    """g·(x − y)/max((1 − x)·x, 1e-12) with each operation rounded to the dtype, as torch's
    backward kernel forms it before the weight and the 1/N of ``mean`` (float16 holds no 1e-12:
    its max is with 0). g is the incoming gradient: the cotangent for ``none``, else 1."""
    a, dt = case.rounded(), case.dtype
    x, y = a["input"], a["target"]
    g = np.abs(case.rounded_cotangent()) if _params(case)["reduction"] == "none" else 1.0
    denominator = np.maximum(R.round_to((1.0 - x) * x, dt), R.round_to(np.float64(1e-12), dt))
    return R.round_to(R.round_to(g * (x - y), dt) / denominator, dt)


@_valid_only
def bce_zero_weight_at_nonfinite_grad(case: Case) -> bool:
    """A zero-weight element whose unweighted gradient is ±inf or NaN in the dtype: the target's
    −logit(x) at input 0 or 1, or the input's (x − y)/max(x(1 − x), 1e-12) (see
    :func:`_bce_unweighted_input_grad`)."""
    a = case.rounded()
    x = a["input"]
    w = np.broadcast_to(a.get("weight", 1.0), x.shape)
    nonfinite = (x == 0) | (x == 1) | ~np.isfinite(_bce_unweighted_input_grad(case))
    return bool(np.any((w == 0) & nonfinite))


@_valid_only
def bce_unweighted_grad_overflows(case: Case) -> bool:
    """A nonzero-weight element with x(1 − x) ≥ 1e-12 (else bce-grad-epsilon) whose unweighted
    input gradient overflows the dtype (float16: x below about 1.5e-5)."""
    a = case.rounded()
    x = a["input"]
    w = np.broadcast_to(a.get("weight", 1.0), x.shape)
    unclamped = x * (1.0 - x) >= 1e-12
    return bool(np.any((w != 0) & unclamped & np.isinf(_bce_unweighted_input_grad(case))))


@_valid_only
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


@_valid_only
def cosine_norms_overflow(case: Case) -> bool:
    """‖x1‖², ‖x2‖² or their product exceeds the dtype's range (float16: ‖x1‖·‖x2‖ > 256)."""
    a = case.rounded()
    s1 = np.sum(a["input1"] ** 2, axis=-1) + 1e-12
    s2 = np.sum(a["input2"] ** 2, axis=-1) + 1e-12
    limit = R.FORMATS[case.dtype].max_value
    return bool(np.any((s1 > limit) | (s2 > limit) | (s1 * s2 > limit)))


@_valid_only
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
    g = np.broadcast_to(_elementwise_cotangent(case, product.size), product.shape)
    backward = g * np.abs(cos) / (2.0 * np.minimum(product, np.minimum(s1, s2)))
    return bool(np.any((product < fmt.tiny) | (backward > fmt.max_value)))


@_valid_only
def var_at_or_below_eps(case: Case) -> bool:
    return bool(np.any(case.rounded()["var"] <= _params(case)["eps"]))


def _eps_in_dtype(case: Case) -> tuple[float, float]:
    """eps as the reference uses it, and as torch clamps with it (rounded to the dtype)."""
    eps = float(_params(case)["eps"])
    return eps, float(R.round_to(np.float64(eps), case.dtype))


@_valid_only
def var_clamped_to_rounded_eps(case: Case) -> bool:
    """The clamp is active and eps rounded to the dtype is off by more than two unit roundoffs."""
    eps, eps_dt = _eps_in_dtype(case)
    shifted = abs(eps_dt - eps) / eps > R.FORMATS[case.dtype].eps
    return shifted and bool(np.any(case.rounded()["var"] < max(eps, eps_dt)))


def _elementwise_cotangent(case: Case, count: int) -> np.ndarray | float:
    """|cotangent| reaching each element of the unreduced loss: the case's cotangent for none,
    1/count for mean (count = the elements the mean divides by), 1 for sum."""
    reduction = _params(case)["reduction"]
    if reduction == "none":
        return np.abs(case.rounded_cotangent())
    return 1.0 / count if reduction == "mean" else 1.0


def _reduce(case: Case, per_element: np.ndarray) -> np.ndarray:
    """The case's reduction of exact per-element losses, rounded to the dtype."""
    reduction = _params(case)["reduction"]
    if reduction != "none":
        per_element = np.mean(per_element) if reduction == "mean" else np.sum(per_element)
    return R.round_to(per_element, case.dtype)


@_valid_only
def gaussian_square_overflows(case: Case) -> bool:
    """(input − target)², computed in the dtype before the division by var, is beyond the dtype's
    range (float16: |input − target| ≥ 256) while input and target are finite."""
    a, dt = case.rounded(), case.dtype
    d = R.round_to(a["input"] - a["target"], dt)
    square = R.round_to(d * d, dt)
    finite = np.isfinite(a["input"]) & np.isfinite(a["target"])
    return bool(np.any(finite & np.isinf(square)))


@_valid_only
def gaussian_backward_overflows(case: Case) -> bool:
    """The backward of d²/v scales the incoming gradient by 1/v in the dtype: g·½/v beyond the
    dtype's range (float16, v ≲ 7.6e-6 for g = 1) gives ±inf or NaN gradients where the
    reference's are finite."""
    a = case.rounded()
    _, eps_dt = _eps_in_dtype(case)
    var = a["var"][..., None] if a["var"].ndim == a["input"].ndim - 1 else a["var"]
    v = np.broadcast_to(np.maximum(var, eps_dt), a["input"].shape)
    g = _elementwise_cotangent(case, a["input"].size)
    return bool(np.any(g * 0.5 / v > R.FORMATS[case.dtype].max_value))


def _gaussian_quotients(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x − y)², (x − y)²/v and ((x − y)²/v)/v with v = max(var, eps) (eps rounded to the dtype,
    as torch clamps), each operation rounded to the dtype, as torch's forward and the division's
    backward (−grad·((self/other)/other)) form them; and v broadcast to the input's shape."""
    a, dt = case.rounded(), case.dtype
    _, eps_dt = _eps_in_dtype(case)
    var = a["var"][..., None] if a["var"].ndim == a["input"].ndim - 1 else a["var"]
    v = np.broadcast_to(np.maximum(var, eps_dt), a["input"].shape)
    d = R.round_to(a["input"] - a["target"], dt)
    square = R.round_to(d * d, dt)
    quotient = R.round_to(square / v, dt)
    return square, quotient, R.round_to(quotient / v, dt), v


@_valid_only
def gaussian_quotient_overflows(case: Case) -> bool:
    """(x − y)² is finite in the dtype but (x − y)²/max(var, eps), formed before the ½, is not,
    while the exact loss (after the case's reduction) is representable (float16: ½d²/v between
    32752 and 65504)."""
    square, quotient, _, v = _gaussian_quotients(case)
    a = case.rounded()
    exact = 0.5 * (np.log(v) + (a["input"] - a["target"]) ** 2 / v)
    if _params(case)["full"]:
        exact = exact + 0.5 * math.log(2.0 * math.pi)
    exact = np.broadcast_to(_reduce(case, exact), square.shape)
    return bool(np.any(np.isfinite(square) & ~np.isfinite(quotient) & np.isfinite(exact)))


@_valid_only
def gaussian_var_grad_quotient_overflows(case: Case) -> bool:
    """The division's part of the var gradient, −(g·½)·((x − y)²/v)/v, formed in the dtype and
    summed (float accumulation, rounded once) over the dimensions var is broadcast along before
    the log's part (g·½)/v is added, is ±inf or NaN (0·inf at g = 0) while the exact var
    gradient is representable (elements whose (x − y)² overflows: gaussian-square-overflow)."""
    a, p, dt = case.rounded(), _params(case), case.dtype
    square, _, factor, v = _gaussian_quotients(case)
    x = a["input"]
    if p["reduction"] == "none":
        g = np.broadcast_to(case.rounded_cotangent(), x.shape)
    else:  # mean's backward forms 1/N in the dtype
        g = np.full(
            x.shape, R.round_to(np.float64(1.0 / x.size), dt) if p["reduction"] == "mean" else 1.0
        )
    part = np.where(np.isfinite(square), R.round_to(-R.round_to(0.5 * g, dt) * factor, dt), 0.0)
    var = a["var"][..., None] if a["var"].ndim == x.ndim - 1 else a["var"]
    axes = tuple(i for i, n in enumerate(var.shape) if n == 1 and x.shape[i] != 1)
    d = x - a["target"]
    exact = g * np.where(var > p["eps"], 0.5 * (1.0 / v - d * d / (v * v)), 0.0)
    summed = R.round_to(np.sum(part, axis=axes), dt)
    exact = R.round_to(np.sum(exact, axis=axes), dt)
    return bool(np.any(~np.isfinite(summed) & np.isfinite(exact)))


@_valid_only
def ce_neginf_logit_without_mass(case: Case) -> bool:
    """A logit is −inf where torch multiplies its log-probability by a zero weight·target mass."""
    a, p = case.rounded(), _params(case)
    x = _class_last(a["input"])
    n_classes = x.shape[-1]
    w = a.get("weight", np.ones(n_classes))
    eps = p["label_smoothing"]
    if p["target_kind"] == "probability":
        mass = w * ((1.0 - eps) * _class_last(a["target"]) + eps / n_classes)
        return bool(np.any(np.isneginf(x) & (mass == 0)))
    target, kept = _kept_targets(case)
    safe = np.where(kept, target, 0)
    x_y = np.take_along_axis(x, safe[..., None], axis=-1)[..., 0]
    nll_nan = kept & np.isneginf(x_y) & (w[safe] == 0)
    if eps == 0:
        return bool(np.any(nll_nan))
    smooth_nan = kept[..., None] & np.isneginf(x) & (w == 0)
    return bool(np.any(nll_nan) or np.any(smooth_nan))


@_valid_only
def prob_target_neginf_at_zero_weight(case: Case) -> bool:
    """A −inf logit at a class whose weight is 0 (probability targets: the target gradient
    −(1 − ε)·w_c·log p_c multiplies them without dropping the zero weight)."""
    a = case.rounded()
    x = _class_last(a["input"])
    w = a.get("weight", np.ones(x.shape[-1]))
    return bool(np.any(np.isneginf(x) & (w == 0)))


@_valid_only
def nll_inf_at_zero_weight(case: Case) -> bool:
    """A kept item's target-class input is ±inf and its class weight 0: torch computes −0·inf."""
    a = case.rounded()
    x = _class_last(a["input"])
    w = a.get("weight", np.ones(x.shape[-1]))
    target, kept = _kept_targets(case)
    safe = np.where(kept, target, 0)
    x_y = np.take_along_axis(x, safe[..., None], axis=-1)[..., 0]
    return bool(np.any(kept & np.isinf(x_y) & (w[safe] == 0)))


@_valid_only
def any_posinf_logit(case: Case) -> bool:
    return bool(np.any(np.isposinf(case.rounded()["input"])))


@_valid_only
def zero_total_weight_nll(case: Case) -> bool:
    """Σ w_y == 0 and some input entry is not a kept target (there torch's gradient is 0, not NaN)."""
    _, kept = _kept_targets(case)
    n_classes = _class_last(case.arrays["input"]).shape[-1]
    return _total_weight(case) == 0 and (n_classes > 1 or not bool(np.all(kept)))


@_valid_only
def zero_total_weight_with_ignored(case: Case) -> bool:
    _, kept = _kept_targets(case)
    return _total_weight(case) == 0 and not bool(np.all(kept))


@_valid_only
def zero_total_weight_smoothed(case: Case) -> bool:
    """Smoothing mass is positive while Σ w_y is 0: the reference's s/0 = inf, torch's 0/0 + s/0."""
    a, p = case.rounded(), _params(case)
    _, kept = _kept_targets(case)
    n_classes = _class_last(a["input"]).shape[-1]
    w = a.get("weight", np.ones(n_classes))
    return (
        p["label_smoothing"] > 0
        and _total_weight(case) == 0
        and bool(np.any(kept))
        and bool(np.any(w != 0))
    )


@_valid_only
def smoothing_sum_overflows(case: Case) -> bool:
    """Σ over kept items of Σ_c w_c·(−log p_c) exceeds the dtype's range (torch sums it in the
    dtype before dividing by the item count or weight)."""
    a, p = case.rounded(), _params(case)
    if p["label_smoothing"] == 0 or p["reduction"] == "none":
        return False
    x = _class_last(a["input"])
    w = a.get("weight", np.ones(x.shape[-1]))
    shifted = x - np.max(x, axis=-1, keepdims=True)
    logp = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
    _, kept = _kept_targets(case)
    total = np.sum(-logp * w * kept[..., None])
    return bool(total > R.FORMATS[case.dtype].max_value)


@_valid_only
def prob_target_grad_overflows(case: Case) -> bool:
    """The target gradient is built as log p·(g·w) in the dtype before the (1 − ε) factor: a
    product beyond the dtype's range is ±inf where the final gradient, (1 − ε)·log p·g·w, is
    representable (a finite log p; with ε = 0, or at a −inf logit, both are infinite)."""
    a, dt = case.rounded(), case.dtype
    x = _class_last(a["input"])
    w = a.get("weight", np.ones(x.shape[-1]))
    shifted = x - np.max(x, axis=-1, keepdims=True)
    logp = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
    g = _elementwise_cotangent(case, logp[..., 0].size)  # one loss per item (class-last view)
    g = np.asarray(g)[..., None] if np.ndim(g) else g
    product = logp * w * g
    final = R.round_to((1.0 - _params(case)["label_smoothing"]) * product, dt)
    overflows = np.isinf(R.round_to(product, dt)) & np.isfinite(final)
    return bool(np.any(np.isfinite(logp) & overflows))


@_valid_only
def kl_zero_target(case: Case) -> bool:
    """t = 0 (with x ≠ −inf, where the reference's log 0 + 1 − x is NaN as well)."""
    a = case.rounded()
    return bool(np.any((a["target"] == 0) & ~np.isneginf(a["input"])))


@_valid_only
def kl_target_grad_product_underflows(case: Case) -> bool:
    """A positive target t whose g·t (xlogy's backward forms g·t, then divides by t) rounds in
    the dtype's subnormal range with more than a unit roundoff of relative error."""
    t = case.rounded()["target"]
    gt = kl_incoming_gradient(case) * t  # exact in float64: two numbers of the dtype
    lost = np.abs(R.round_to(gt, case.dtype) - gt) > 0.5 * R.FORMATS[case.dtype].eps * np.abs(gt)
    return bool(np.any((t > 0) & np.isfinite(t) & lost))


@_valid_only
def kl_batchmean_sum_overflows(case: Case) -> bool:
    """batchmean: the sum of the pointwise terms (each rounded to the dtype) is beyond the dtype's
    range while the sum divided by the batch size is not."""
    if _params(case)["reduction"] != "batchmean":
        return False
    x = case.rounded()["input"]
    pointwise = {**case.params, "reduction": "none"}  # the reference's terms, exact in float64
    terms = R.round_to(R.evaluate(case.loss, case.rounded(), pointwise), case.dtype)
    if not np.all(np.isfinite(terms)):
        return False
    total, top = float(np.sum(terms)), R.FORMATS[case.dtype].max_value
    batch = x.shape[0] if x.ndim else 1
    return abs(total) > top and abs(total / batch) <= top


@_valid_only
def kl_neginf_log_target(case: Case) -> bool:
    return bool(np.any(np.isneginf(case.rounded()["target"])))


@_valid_only
def kl_zero_target_infinite_input(case: Case) -> bool:
    a = case.rounded()
    return bool(np.any((a["target"] == 0) & np.isinf(a["input"])))


def _poisson_log_term(case: Case) -> np.ndarray:
    """x (log_input) or log(x + eps) with x + eps rounded to the dtype, as torch computes it
    (float16 rounds eps = 1e-8 to 0, so log(0 + eps) is −inf there)."""
    a, p = case.rounded(), _params(case)
    if p["log_input"]:
        return a["input"]
    return np.log(R.round_to(a["input"] + p["eps"], case.dtype))


@_valid_only
def poisson_zero_count_infinite_term(case: Case) -> bool:
    """A zero count multiplies an infinite or NaN term: x (log_input) or log(x + eps)."""
    y = case.rounded()["target"]
    return bool(np.any((y == 0) & ~np.isfinite(_poisson_log_term(case))))


@_valid_only
def poisson_exp_overflows(case: Case) -> bool:
    """log_input with a finite x whose e^x exceeds the dtype's range (float16: x > 11.09)."""
    a, p = case.rounded(), _params(case)
    x = a["input"]
    limit = math.log(R.FORMATS[case.dtype].max_value)
    return p["log_input"] and bool(np.any(np.isfinite(x) & (x > limit)))


@_valid_only
def poisson_eps_lost_in_dtype(case: Case) -> bool:
    """A positive count at a rate whose x + eps is 0 in the dtype but not in float64."""
    a, p = case.rounded(), _params(case)
    if p["log_input"]:
        return False
    exact = a["input"] + p["eps"]
    lost = (exact > 0) & (R.round_to(exact, case.dtype) <= 0)
    return bool(np.any(lost & (a["target"] > 0)))


@_valid_only
def bce_logits_infinite(case: Case) -> bool:
    """x = −inf (any target), or x = +inf with target 1: torch's formula meets 0·inf or inf − inf."""
    a = case.rounded()
    x, y = a["input"], a["target"]
    return bool(np.any(np.isneginf(x) | (np.isposinf(x) & (y == 1))))


@_valid_only
def multilabel_infinite(case: Case) -> bool:
    """x = −inf with target 0, or x = +inf with target 1: torch evaluates 0·log σ(∓inf)."""
    a = case.rounded()
    x, y = a["input"], a["target"]
    return bool(np.any((np.isneginf(x) & (y == 0)) | (np.isposinf(x) & (y == 1))))


def _logsigmoid(z: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -z)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(_logsigmoid(z))


def _bce_logits_terms(case: Case) -> dict[str, np.ndarray]:
    """binary_cross_entropy_with_logits element by element as torch forms it, each operation
    rounded to the dtype (Loss.cpp forward, FunctionsManual.cpp backward): the unweighted loss
    (1 − y)·x − log σ(x)·(1 + (q − 1)·y), and the input and target gradients
    σ(x)·(q·y + 1 − y) − q·y and log σ(−x) − q·log σ(x) (without pos_weight σ(x) − y and −x)
    times the incoming gradient g, before the weight w and, for ``mean``, 1/N. Also w, g, the
    divisor N and the exact (float64) value and gradients, rounded to the dtype."""
    a, dt, p = case.rounded(), case.dtype, _params(case)

    def rnd(v):
        return R.round_to(v, dt)

    x, y = a["input"], a["target"]
    w = np.broadcast_to(a.get("weight", 1.0), x.shape)
    q = np.broadcast_to(a.get("pos_weight", 1.0), x.shape)
    g = np.broadcast_to(case.rounded_cotangent() if p["reduction"] == "none" else 1.0, x.shape)
    n = x.size if p["reduction"] == "mean" else 1
    ls = rnd(_logsigmoid(x))
    if "pos_weight" in a:
        term = rnd(ls * rnd(rnd(rnd(q - 1.0) * y) + 1.0))
        qy = rnd(q * y)
        grad_input = rnd(rnd(rnd(rnd(qy + 1.0) - y) * rnd(_sigmoid(x))) - qy)
        grad_target = rnd(rnd(_logsigmoid(-x)) - rnd(ls * q))
    else:
        term, grad_input, grad_target = ls, rnd(rnd(_sigmoid(x)) - y), rnd(-x)
    scale = g * w / n
    exact_loss = w * ((1.0 - y) * x - (1.0 + (q - 1.0) * y) * _logsigmoid(x))
    return {
        "x": x,
        "w": w,
        "g": g,
        "n": np.float64(n),
        "loss": rnd(rnd(rnd(1.0 - y) * x) - term),
        "input": rnd(grad_input * g),
        "target": rnd(grad_target * g),
        "exact:value": np.broadcast_to(_reduce(case, exact_loss), x.shape),
        "exact:input": rnd((_sigmoid(x) * (q * y + 1.0 - y) - q * y) * scale),
        "exact:target": rnd((_logsigmoid(-x) - q * _logsigmoid(x)) * scale),
    }


@_valid_only
def bce_logits_zero_factor_at_nonfinite_term(case: Case) -> bool:
    """A finite logit whose unweighted loss or gradient term (:func:`_bce_logits_terms`) is not
    finite in the dtype at an element whose weight is 0, or (gradients) whose incoming gradient
    is 0: torch's 0·inf is NaN where the reference's zero factor gives 0."""
    t = _bce_logits_terms(case)
    w, g = t["w"], t["g"]
    grads = ~np.isfinite(t["input"]) | ~np.isfinite(t["target"])  # NaN already where g = 0
    hit = ((w == 0) & ~np.isfinite(t["loss"])) | ((w * g == 0) & grads)
    return bool(np.any(np.isfinite(t["x"]) & hit))


@_valid_only
def bce_logits_overflow_before_scaling(case: Case) -> bool:
    """A finite logit at an element with nonzero weight and incoming gradient whose loss·w
    (before the mean or sum) or gradient term·w/N (:func:`_bce_logits_terms`, each step
    rounded to the dtype) overflows while the exact value or gradient is representable."""
    t = _bce_logits_terms(case)
    w, n = t["w"], t["n"]
    live = np.isfinite(t["x"]) & (w * t["g"] != 0)
    rnd = lambda v: R.round_to(v, case.dtype)  # noqa: E731
    over = live & ~np.isfinite(rnd(t["loss"] * w)) & np.isfinite(t["exact:value"])
    for name in ("input", "target"):
        final = rnd(rnd(t[name] * w) / n)
        over |= live & ~np.isfinite(final) & np.isfinite(t[f"exact:{name}"])
    return bool(np.any(over))


def _multilabel_rows(case: Case) -> tuple[np.ndarray, np.ndarray]:
    """Each row's loss as torch's functional forms it, every operation rounded to the dtype:
    −(y·log σ(x) + (1 − y)·log σ(−x)) per label, times its class weight, summed over the
    labels (accumulated in float, rounded once) and only then divided by C; and the exact
    (float64) result of the case's reduction, rounded to the dtype."""
    a, dt = case.rounded(), case.dtype

    def rnd(v):
        return R.round_to(v, dt)

    x, y = a["input"], a["target"]
    w = np.broadcast_to(a.get("weight", 1.0), x.shape)
    n_classes = x.shape[-1]
    per_label = rnd(-rnd(rnd(y * rnd(_logsigmoid(x))) + rnd(rnd(1.0 - y) * rnd(_logsigmoid(-x)))))
    rows = rnd(rnd(np.sum(rnd(per_label * w), axis=-1)) / n_classes)
    exact = -w * (y * _logsigmoid(x) + (1.0 - y) * _logsigmoid(-x))
    return rows, np.broadcast_to(_reduce(case, np.sum(exact, axis=-1) / n_classes), rows.shape)


@_valid_only
def multilabel_row_sum_overflows(case: Case) -> bool:
    """A row of finite logits whose weighted per-label losses, or their sum over the labels,
    overflow the dtype before the division by C (:func:`_multilabel_rows`) while the exact
    loss (after the case's reduction) is representable."""
    rows, exact = _multilabel_rows(case)
    finite_row = np.all(np.isfinite(case.rounded()["input"]), axis=-1)
    return bool(np.any(finite_row & ~np.isfinite(rows) & np.isfinite(exact)))


@_valid_only
def multilabel_grad_scale_underflows(case: Case) -> bool:
    """The backward scales each label by (g/C)·w_c in the dtype (the division's, then the
    weight's backward) before multiplying by log σ(±x): where that product falls into the
    dtype's subnormal range, the target gradient ≈ −(g/C)·w_c·x carries its rounding error
    magnified by |x|; true where that error is at least 16 steps of the subnormal grid."""
    a, p, dt = case.rounded(), _params(case), case.dtype
    x = a["input"]
    w = np.broadcast_to(a.get("weight", 1.0), x.shape)
    rows = x.shape[:-1]
    if p["reduction"] == "none":
        g = case.rounded_cotangent()
    else:  # mean's backward forms 1/N in the dtype first
        n = max(int(np.prod(rows)), 1)
        g = R.round_to(np.full(rows, 1.0 / n), dt) if p["reduction"] == "mean" else np.ones(rows)
    g = np.asarray(g)[..., None]
    exact = g * w / x.shape[-1]
    rounded = R.round_to(R.round_to(g / x.shape[-1], dt) * w, dt)
    fmt = R.FORMATS[dt]
    subnormal = (exact != 0) & (np.abs(exact) < fmt.tiny)
    # the target gradient's error, |Δ|·|x|, at least 16 steps of the subnormal grid
    visible = np.abs(rounded - exact) * np.abs(x) >= 16 * fmt.smallest_subnormal
    return bool(np.any(subnormal & visible & np.isfinite(x)))


@_valid_only
def soft_margin_exp_overflows(case: Case) -> bool:
    """exp(−y·x) overflows in the dtype, where torch computes log(1 + exp(−y·x)) literally."""
    a = case.rounded()
    limit = math.log(R.FORMATS[case.dtype].max_value)
    return bool(np.any(-a["target"] * a["input"] > limit))


@_valid_only
def hinge_embedding_at_kink(case: Case) -> bool:
    a, p = case.rounded(), _params(case)
    return bool(np.any((a["target"] == -1) & (a["input"] == p["margin"])))


@_valid_only
def margin_ranking_at_kink(case: Case) -> bool:
    """−y·(x1 − x2) + margin == 0, each operation rounded to the dtype as torch computes it."""
    a, p = case.rounded(), _params(case)
    diff = R.round_to(a["input1"] - a["input2"], case.dtype)
    z = R.round_to(-a["target"] * diff + p["margin"], case.dtype)
    return bool(np.any(z == 0))


def _triplet_distances(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """d(a, p), d(a, n), d(p, n) as torch's pairwise_distance computes them: ‖u − v + eps‖_p with
    the difference, the eps addition and the norm each rounded to the dtype (so ties and kinks are
    the ones torch sees: with large entries eps vanishes in float32, and two distances can tie
    there but not in float64)."""
    a, p, dt = case.rounded(), _params(case), case.dtype

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
    return R.round_to(R.round_to(_params(case)["margin"] + d_ap, dt) - d_neg, dt)


@_valid_only
def triplet_at_kink(case: Case) -> bool:
    p = _params(case)
    _, d_an, d_pn = _triplet_distances(case)
    d_neg = np.minimum(d_an, d_pn) if p["swap"] else d_an
    return bool(np.any(_triplet_hinge_argument(case, d_neg) == 0))


@_valid_only
def triplet_distance_overflows(case: Case) -> bool:
    """A distance the loss uses exceeds the dtype's range (the loss itself may not)."""
    d_ap, d_an, d_pn = _triplet_distances(case)  # rounded to the dtype: inf once beyond range
    used = [d_ap, d_an, d_pn] if _params(case)["swap"] else [d_ap, d_an]
    return bool(
        any(np.any(np.isinf(d)) for d in used) and np.all(np.isfinite(case.rounded()["anchor"]))
    )


@_valid_only
def triplet_swap_tie(case: Case) -> bool:
    """An active triplet whose two negative distances tie (e.g. anchor == positive)."""
    _, d_an, d_pn = _triplet_distances(case)
    return bool(np.any((d_an == d_pn) & (_triplet_hinge_argument(case, d_an) > 0)))


@_valid_only
def cosine_at_kink(case: Case) -> bool:
    """A −1 pair whose cosine, computed as torch does (1e-12 added to each squared norm, every
    operation rounded to the dtype), equals the margin."""
    a, p, dt = case.rounded(), _params(case), case.dtype

    def rnd(x):
        return R.round_to(x, dt)

    x1, x2 = a["input1"], a["input2"]
    s1 = rnd(rnd(np.sum(rnd(x1 * x1), -1)) + 1e-12)
    s2 = rnd(rnd(np.sum(rnd(x2 * x2), -1)) + 1e-12)
    cos = rnd(rnd(np.sum(rnd(x1 * x2), -1)) / rnd(np.sqrt(rnd(s1 * s2))))
    return bool(np.any((a["target"] == -1) & (cos == p["margin"])))


# --- predicates: invalid inputs torch accepts ----------------------------------------------------


def _outside_unit_interval(name: str) -> Callable[[Case], bool]:
    def pred(case: Case) -> bool:
        x = case.rounded()[name]
        return bool(np.any((x < 0) | (x > 1)))

    return pred


def _nonfinite_weight(case: Case) -> bool:
    return any(
        name in case.arrays and not np.all(np.isfinite(case.arrays[name]))
        for name in ("weight", "pos_weight")
    )


def not_sign_label(case: Case) -> bool:
    y = case.rounded()["target"]
    return bool(np.any((y != 1) & (y != -1)))


def target_is_torch_default_ignore(case: Case) -> bool:
    return bool(np.any(case.arrays["target"] == -100))


def _reference_rejects_shapes(case: Case) -> bool:
    rejection = case.rejection()
    return rejection is not None and rejection.argument == "shapes"


def _broadcast(*shapes: tuple[int, ...]) -> tuple[int, ...] | None:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


def _float_shapes(case: Case, optional: bool = False) -> list[tuple[int, ...]]:
    spec, p = R.get(case.loss), _params(case)
    return [
        case.arrays[a.name].shape
        for a in spec.arrays
        if a.name in case.arrays and (optional or not a.optional) and not a.domain_for(p).integer
    ]


def _all_broadcast(case: Case) -> bool:
    return _broadcast(*_float_shapes(case)) is not None


def _all_broadcast_with_weight(case: Case) -> bool:
    return _broadcast(*_float_shapes(case, optional=True)) is not None


def _broadcast_to_input(case: Case) -> bool:
    return _broadcast(*_float_shapes(case)) == case.arrays["input"].shape


def _same_rank_and_broadcast(case: Case) -> bool:
    shapes = _float_shapes(case)
    return len({len(s) for s in shapes}) == 1 and _broadcast(*shapes) is not None


def _target_like_input_weights_broadcast(case: Case) -> bool:
    """bce losses: target must have the input's shape; weight/pos_weight broadcast to it."""
    x = case.arrays["input"].shape
    weights = [case.arrays[n].shape for n in ("weight", "pos_weight") if n in case.arrays]
    return case.arrays["target"].shape == x and _broadcast(x, *weights) == x


def _cosine_shapes(case: Case) -> bool:
    """torch checks only ranks: 1-D target with 2-D inputs or 0-D with 1-D, then broadcasts."""
    x1, x2, y = (case.arrays[n].shape for n in ("input1", "input2", "target"))
    ranks_ok = len(x1) == len(x2) == len(y) + 1 and len(y) in (0, 1)
    rows = _broadcast(x1, x2)
    return ranks_ok and rows is not None and _broadcast(rows[:-1], y) is not None


def _gaussian_shapes(case: Case) -> bool:
    """torch 2.13's var rule: the input's shape, that shape less its last dimension, or the same
    rank with mismatched dimensions summing to 1 (one dimension of size 1); target unchecked."""
    x, y, v = (case.arrays[n].shape for n in ("input", "target", "var"))
    if v != x:
        if v == x[:-1]:
            v = (*v, 1)
        elif not (len(v) == len(x) and sum(b for a, b in zip(x, v, strict=True) if a != b) == 1):
            return False
    return _broadcast(x, y, v) is not None


def _validates_after(case: Case, normalize: Callable[[dict], dict]) -> bool:
    """torch accepts what the reference accepts once torch's own reshaping is applied."""
    arrays = normalize(dict(case.arrays))
    if all(arrays[k].shape == v.shape for k, v in case.arrays.items()):
        return False
    try:
        R.validate(case.loss, arrays, case.params)
    except R.InvalidInput:
        return False
    return True


def _flat_class_weight(arrays: dict) -> dict:
    """K-dimensional index targets go through nll_loss2d, which checks only weight.numel() == C."""
    x = arrays["input"]
    if x.ndim >= 3 and "weight" in arrays and arrays["weight"].size == x.shape[1]:
        arrays["weight"] = arrays["weight"].reshape(-1)
    return arrays


def _unbatched_target_of_one(arrays: dict) -> dict:
    """cross_entropy/nll_loss: an unbatched (C) input also takes a target of shape (1,)."""
    arrays = _flat_class_weight(arrays)
    if arrays["input"].ndim == 1 and arrays["target"].shape == (1,):
        arrays["target"] = arrays["target"].reshape(())
    return arrays


def _multi_margin_frames(arrays: dict) -> dict:
    """multi_margin_loss: ≤1-D input is one frame (0-D: C = 1); target needs numel == frames."""
    x, t = arrays["input"], arrays["target"]
    if x.ndim == 0:
        arrays["input"] = x.reshape(1)
    if x.ndim <= 1 and t.shape == (1,):
        arrays["target"] = t.reshape(())
    if x.ndim == 2 and x.shape[0] == 1 and t.ndim == 0:
        arrays["target"] = t.reshape(1)
    return arrays


def _smoothing_weight_column(arrays: dict) -> dict:
    """The label-smoothing path broadcasts the weight against (N, C, d1, …): a (C, 1) column passes."""
    x = arrays["input"]
    if x.ndim >= 3 and "weight" in arrays and arrays["weight"].shape == (x.shape[1], 1):
        arrays["weight"] = arrays["weight"].reshape(-1)
    return arrays


def _class_index_shapes(case: Case) -> bool:
    p = _params(case)
    if p.get("target_kind", "index") == "probability":
        return False  # probability targets need the input's shape and a 1-D weight
    if p.get("label_smoothing", 0.0) > 0:
        # the smoothed mean gathers weights by target and checks shapes strictly
        return p["reduction"] != "mean" and _validates_after(case, _smoothing_weight_column)
    return _validates_after(case, _unbatched_target_of_one)


# torch's acceptance rule for a shape combination the reference rejects, per loss, with what it
# does in words (measured on 2.13.0 by perturbing every argument of every layout of every
# configuration: size 1, dropped/added leading and trailing dimensions, N ± 1; 9951 cases agree).
_BROADCASTS = "broadcasts the arguments against each other"
_WEIGHTS = "requires target.shape == input.shape but broadcasts weight/pos_weight to it"
_CLASS_INDEX = (
    "also takes a (1,) target with an unbatched (C) input and, for (N, C, d1, …) inputs, a class "
    "weight of any shape holding C numbers"
)

SHAPE_RULES: Mapping[str, tuple[Callable[[Case], bool], str]] = {
    "mse_loss": (_all_broadcast, _BROADCASTS + " with a UserWarning"),
    "l1_loss": (_all_broadcast, _BROADCASTS + " with a UserWarning"),
    "huber_loss": (_all_broadcast, _BROADCASTS + " with a UserWarning"),
    "smooth_l1_loss": (_all_broadcast, _BROADCASTS + " with a UserWarning"),
    "kl_div": (_all_broadcast, _BROADCASTS),
    "poisson_nll_loss": (_all_broadcast, _BROADCASTS),
    "hinge_embedding_loss": (_all_broadcast, _BROADCASTS),
    "multilabel_soft_margin_loss": (_all_broadcast_with_weight, _BROADCASTS + ", weight included"),
    "soft_margin_loss": (
        _broadcast_to_input,
        _BROADCASTS + " when the result has the input's shape",
    ),
    "margin_ranking_loss": (_same_rank_and_broadcast, "checks equal ranks only, then broadcasts"),
    "triplet_margin_loss": (_same_rank_and_broadcast, "checks equal ranks only, then broadcasts"),
    "cosine_embedding_loss": (_cosine_shapes, "checks ranks only, then broadcasts"),
    "gaussian_nll_loss": (
        _gaussian_shapes,
        "takes a var with any one dimension of size 1 (documented) and broadcasts the target",
    ),
    "binary_cross_entropy": (_target_like_input_weights_broadcast, _WEIGHTS),
    "binary_cross_entropy_with_logits": (_target_like_input_weights_broadcast, _WEIGHTS),
    "cross_entropy": (_class_index_shapes, _CLASS_INDEX),
    "nll_loss": (_class_index_shapes, _CLASS_INDEX),
    "multi_margin_loss": (
        lambda case: _validates_after(case, _multi_margin_frames),
        "treats an input of rank ≤ 1 as one frame and checks only target.numel() == frames",
    ),
}


def torch_accepts_rejected_shapes(case: Case) -> bool:
    rule = SHAPE_RULES.get(case.loss)
    return rule is not None and _reference_rejects_shapes(case) and rule[0](case)


# --- the registry --------------------------------------------------------------------------------

_VALUE_GRAD = ("value", "grad")

DIVERGENCES: list[Divergence] = [
    # binary_cross_entropy
    Divergence(
        id="bce-log-clamp-100",
        kind="convention",
        loss="binary_cross_entropy",
        description=(
            "clamps each log at −100 (documented), so a probability of exactly 0 (or below e^−100) "
            "on the side the label selects costs 100·w per element instead of +inf"
        ),
        citation=DOCS["BCELoss"],
        inputs=bce_log_clamped,
        inputs_text="some nonzero-weight element with log(input) < −100 and target ≠ 0, or "
        "log(1 − input) < −100 and target ≠ 1",
        affects=("value",),
    ),
    Divergence(
        id="bce-grad-epsilon",
        kind="known-bug",
        loss="binary_cross_entropy",
        description=(
            "the backward divides (input − target) by max(input·(1 − input), 1e-12): within 1e-12 "
            "of 0 or 1 the input gradient is not the derivative of the value (x = 1e-13, y = 1: "
            "−1e12 instead of −1e13; x = 0, y = 0: 0 instead of 1; x = 0, y = 1: −1e12, not −inf)"
        ),
        citation=LOSS_CPP,
        inputs=bce_grad_clamped,
        inputs_text="some nonzero-weight element with input·(1 − input) < 1e-12 (other than "
        "input == target)",
        affects=("grad",),
    ),
    Divergence(
        id="bce-zero-weight-nonfinite-grad",
        kind="known-bug",
        loss="binary_cross_entropy",
        description=(
            "multiplies each element's gradient by its weight only after forming it, so a zero "
            "weight does not remove a non-finite term: at input 0 or 1 the target gradient "
            "−logit(x)·g·w is 0·(±inf) = NaN in every dtype, and in float16, where the backward's "
            "1e-12 rounds to 0, so is the input gradient (x − y)/max(x(1 − x), 0)·w; the "
            "reference's zero weight removes the element (x = 0, y = 0, w = 0: target gradient "
            "NaN, reference 0); so is the input gradient wherever (x − y)/(x(1 − x)) overflows "
            "the dtype (float16, x = 1.0e-5, y = 1, w = 0: NaN, reference 0)"
        ),
        citation=FUNCTIONS_MANUAL,
        inputs=bce_zero_weight_at_nonfinite_grad,
        inputs_text="some element with weight 0 and input exactly 0 or 1, or whose unweighted "
        "input gradient (x − y)/max(x(1 − x), 1e-12) is not finite in the dtype",
        affects=("grad",),
    ),
    Divergence(
        id="bce-backward-overflow",
        kind="known-bug",
        loss="binary_cross_entropy",
        description=(
            "forms the input gradient (x − y)/max(x(1 − x), 1e-12) in the input dtype before "
            "multiplying by the weight and dividing by the element count (mean): in float16 it "
            "overflows for inputs below about 1.5e-5, although the weighted gradient is "
            "representable (x = 2^-16, y = 1, mean of 8: −inf, reference −8192)"
        ),
        citation=LOSS_CPP,
        inputs=bce_unweighted_grad_overflows,
        inputs_text="some nonzero-weight element with input·(1 − input) ≥ 1e-12 whose "
        "(x − y)/(x(1 − x)) overflows the dtype",
        affects=("grad",),
    ),
    # binary_cross_entropy_with_logits / multilabel_soft_margin_loss
    Divergence(
        id="bce-logits-infinite-logit",
        kind="known-bug",
        loss="binary_cross_entropy_with_logits",
        description=(
            "evaluates (1 − t)·x − log σ(x)·(1 + (q − 1)t) literally: a −inf logit gives "
            "−inf + inf = NaN whatever the target (reference: 0 for t = 0, +inf otherwise), and "
            "+inf with t = 1 gives 0·inf = NaN (reference: 0); gradients agree"
        ),
        citation=LOSS_CPP,
        inputs=bce_logits_infinite,
        inputs_text="some logit −inf, or +inf with target 1",
        affects=("value",),
    ),
    Divergence(
        id="bce-logits-zero-factor-nonfinite-term",
        kind="known-bug",
        loss="binary_cross_entropy_with_logits",
        description=(
            "forms each element's loss (1 − y)·x − (1 + (q − 1)·y)·log σ(x) and its gradients, "
            "log σ(−x) − q·log σ(x) for the target and σ(x)·(q·y + 1 − y) − q·y for the input, "
            "in the input dtype and multiplies by the weight (and the incoming gradient) only "
            "afterwards, so a zero weight or zero incoming gradient does not remove a term that "
            "overflowed: 0·inf = NaN where the reference's zero factor gives 0 (float16, x = "
            "−4096, y = 0, w = 0, q = 16: target gradient −x + (q − 1)·softplus(−x) = 65536 → "
            "inf, times 0: NaN, reference 0; x = −4096, y = 1, w = 0, q = 16: loss 65536 → inf, "
            "the mean NaN, reference 0)"
        ),
        citation=FUNCTIONS_MANUAL,
        inputs=bce_logits_zero_factor_at_nonfinite_term,
        inputs_text="some finite logit whose unweighted loss or gradient term overflows the dtype "
        "at an element of weight 0 (or, for gradients, incoming gradient 0)",
        affects=_VALUE_GRAD,
    ),
    Divergence(
        id="bce-logits-overflow-before-scaling",
        kind="known-bug",
        loss="binary_cross_entropy_with_logits",
        description=(
            "forms each element's loss·w, and its gradient term·g·w, in the input dtype before "
            "the mean (or sum) and the backward's division by the element count: in float16 "
            "these overflow where the value or gradient itself is representable (x = 0, y = 1, "
            "w = q = 512, mean of 4: loss·w = 512²·log 2 = 181704 → inf, mean inf, reference "
            "45427; input gradient (σ(x)(qy + 1 − y) − qy)·w = −131072 → −inf, reference −32768)"
        ),
        citation=FUNCTIONS_MANUAL,
        inputs=bce_logits_overflow_before_scaling,
        inputs_text="some finite logit of nonzero weight and incoming gradient whose loss·w or "
        "gradient term·w/N, each step rounded to the dtype, overflows while the exact value or "
        "gradient is representable",
        affects=_VALUE_GRAD,
    ),
    Divergence(
        id="multilabel-infinite-logit",
        kind="known-bug",
        loss="multilabel_soft_margin_loss",
        description=(
            "computes −(y·log σ(x) + (1 − y)·log σ(−x)) literally, so a −inf logit with label 0 (or "
            "+inf with label 1) gives 0·(−inf) = NaN instead of 0 for that absent term"
        ),
        citation=DOCS["MultiLabelSoftMarginLoss"],
        inputs=multilabel_infinite,
        inputs_text="some logit −inf with target 0, or +inf with target 1",
        affects=("value",),
    ),
    Divergence(
        id="multilabel-sum-before-mean-overflow",
        kind="known-bug",
        loss="multilabel_soft_margin_loss",
        description=(
            "multiplies each label's loss by its weight and sums over the C labels in the input "
            "dtype before dividing by C: in float16 a weighted label loss or the sum overflows "
            "where the per-sample mean is representable (x = [2048, 0, 0, 0], y = 0, "
            "w = [64, 1, 1, 1]: w·softplus(x) = 131072 → inf, row loss inf, reference 32768.5)"
        ),
        citation=FUNCTIONAL_MULTILABEL,
        inputs=multilabel_row_sum_overflows,
        inputs_text="some row of finite logits whose weighted label losses or their sum, "
        "rounded to the dtype, overflow while the exact loss is representable",
        affects=("value",),
    ),
    Divergence(
        id="multilabel-grad-scale-subnormal",
        kind="known-bug",
        loss="multilabel_soft_margin_loss",
        description=(
            "the backward of sum(·)/C then ·w forms (g/C)·w in the input dtype before multiplying "
            "by log σ(±x): where that product falls into float16's subnormal range it loses its "
            "digits, and the target gradient ≈ −(g/C)·w·x carries the error magnified by |x| "
            "(x = 256, y = 0, w = 2^-23, cotangent ½, C = 2: (g/C)·w = 2^-25 rounds to 0, target "
            "gradient −0, reference −2^-17 = −7.63e-6; w = 2^-23, g = 0.6816, x = −256: 1.526e-5, "
            "reference 1.040e-5)"
        ),
        citation=FUNCTIONAL_MULTILABEL,
        inputs=multilabel_grad_scale_underflows,
        inputs_text="float16: some finite logit x whose (incoming gradient / C)·weight is "
        "subnormal and rounds with an error that, times |x|, is at least 16 subnormal steps",
        dtypes=("float16",),
        affects=("grad",),
    ),
    # cross_entropy / nll_loss
    Divergence(
        id="ce-posinf-logit-nan",
        kind="convention",
        loss="cross_entropy",
        description=(
            "log_softmax of a row holding +inf is NaN for every class (inf − inf), so the loss is "
            "NaN where the limit is +inf (target class finite) and every gradient entry of the row "
            "is NaN; maintainers: the one-hot limit holds 'in the limit sense only'"
        ),
        citation=ISSUE.format(6864),
        inputs=any_posinf_logit,
        inputs_text="some logit +inf",
        affects=_VALUE_GRAD,
    ),
    Divergence(
        id="ce-neginf-logit-zero-mass",
        kind="known-bug",
        loss="cross_entropy",
        description=(
            "multiplies log-probabilities by weight·target without dropping zero terms, so a −inf "
            "logit whose class has zero target probability or zero weight gives 0·(−inf) = NaN "
            "instead of contributing 0 (e.g. logits [−inf, 0, 1], probabilities [0, .5, .5]: NaN, "
            "reference 0.8133)"
        ),
        citation=DOCS["CrossEntropyLoss"],
        inputs=ce_neginf_logit_without_mass,
        inputs_text="some logit −inf in a kept item where weight·(smoothed) target mass is 0 and "
        "torch multiplies it",
        affects=("value",),
    ),
    Divergence(
        id="ce-prob-target-grad-zero-weight",
        kind="known-bug",
        loss="cross_entropy",
        where={"target_kind": "probability"},
        description=(
            "forms the target gradient −(1 − ε)·w_c·log p_c without dropping a zero weight, so a "
            "−inf logit at a class of weight 0 gives 0·(−inf) = NaN where the reference's zero "
            "weight gives 0 (logits [−inf, 0, 1], weight [0, 1, 1]: NaN, reference 0)"
        ),
        citation=DOCS["CrossEntropyLoss"],
        inputs=prob_target_neginf_at_zero_weight,
        inputs_text="some logit −inf at a class whose weight is 0",
        affects=("grad",),
    ),
    Divergence(
        id="nll-inf-input-zero-weight",
        kind="known-bug",
        loss="nll_loss",
        description=(
            "computes −w_y·x_y without dropping zero weights, so an infinite input at a target "
            "class whose weight is 0 gives 0·inf = NaN instead of 0"
        ),
        citation=DOCS["NLLLoss"],
        inputs=nll_inf_at_zero_weight,
        inputs_text="some kept item whose target-class input is ±inf and whose class weight is 0",
        affects=("value",),
    ),
    Divergence(
        id="nll-zero-total-weight-grad",
        kind="convention",
        loss="nll_loss",
        where={"reduction": "mean"},
        description=(
            "when Σ w_y over kept items is 0 (every target ignored, or all their weights 0) the "
            "mean is 0/0 = NaN by design, but the gradient is 0 at every entry that is not a kept "
            "target (NaN only at kept target entries), where the reference gives NaN throughout"
        ),
        citation=ISSUE.format(70348),
        inputs=zero_total_weight_nll,
        inputs_text="reduction mean and Σ w_y over kept items == 0",
        affects=("grad",),
    ),
    Divergence(
        id="ce-zero-total-weight-ignored-grad",
        kind="convention",
        loss="cross_entropy",
        where={"target_kind": "index", "reduction": "mean"},
        description=(
            "when Σ w_y over kept items is 0 the mean is NaN by design, but ignored items get a "
            "gradient of exactly 0 while the reference's gradient of the NaN mean is NaN"
        ),
        citation=ISSUE.format(70348),
        inputs=zero_total_weight_with_ignored,
        inputs_text="reduction mean, Σ w_y over kept items == 0 and some item ignored",
        affects=("grad",),
    ),
    Divergence(
        id="ce-smoothing-zero-total-weight",
        kind="known-bug",
        loss="cross_entropy",
        where={"target_kind": "index", "reduction": "mean"},
        description=(
            "with label smoothing torch divides the NLL part and the smoothing part separately by "
            "Σ w_y; when that is 0 the NLL part is 0/0 = NaN, so the loss and gradient are NaN "
            "where the reference's single quotient is +inf (gradient ±inf)"
        ),
        citation=DOCS["CrossEntropyLoss"],
        inputs=zero_total_weight_smoothed,
        inputs_text="Σ w_y over kept items == 0 with a kept item and some nonzero class weight",
        affects=_VALUE_GRAD,
    ),
    Divergence(
        id="ce-smoothing-sum-overflow",
        kind="known-bug",
        loss="cross_entropy",
        where={"target_kind": "index"},
        description=(
            "with label smoothing the smoothing term Σ w·(−log p) is summed over all items in the "
            "input dtype before it is scaled by ε/C (and, for mean, divided); in float16 that sum "
            "overflows to inf although the loss is representable (logits ±8192, 4 items, mean: "
            "inf, reference 9967.1)"
        ),
        citation=DOCS["CrossEntropyLoss"],
        inputs=smoothing_sum_overflows,
        inputs_text="label smoothing, reduction mean or sum, and Σ over kept items of "
        "Σ_c w_c(−log p_c) above the dtype's largest number",
        affects=("value",),
    ),
    Divergence(
        id="ce-prob-target-grad-overflow",
        kind="known-bug",
        loss="cross_entropy",
        where={"target_kind": "probability"},
        description=(
            "the target gradient is formed as log p·(g·w) in the input dtype and only then scaled "
            "by (1 − ε); in float16 the product overflows to ±inf where the gradient itself is "
            "representable (logits ±8192, w = 4, ε = 0.1: inf, reference 58982)"
        ),
        citation=DOCS["CrossEntropyLoss"],
        inputs=prob_target_grad_overflows,
        inputs_text="some finite log p_c whose log p_c · w_c · incoming gradient overflows the "
        "dtype while (1 − ε) times it does not",
        affects=("grad",),
    ),
    # multi_margin_loss
    Divergence(
        id="multi-margin-no-half-cpu",
        kind="known-bug",
        loss="multi_margin_loss",
        description=(
            "the CPU kernel is dispatched for float32/float64 only: float16 and bfloat16 raise "
            "NotImplementedError '\"multi_margin_loss_cpu_kernel\" not implemented for 'Half'' "
            "('BFloat16')"
        ),
        citation=MULTI_MARGIN_CPP,
        dtypes=("float16", "bfloat16"),
        devices=("cpu",),
        affects=("error",),
    ),
    # kl_div
    Divergence(
        id="kl-div-target-zero-grad",
        kind="known-bug",
        loss="kl_div",
        where={"log_target": False},
        description=(
            "computes xlogy(t, t) − t·x; the derivative of xlogy(t, t) at t = 0 is 0/0, so the "
            "target gradient is NaN where the reference gives −inf (log 0 + 1 − x)"
        ),
        citation=ISSUE.format(89558),
        inputs=kl_zero_target,
        inputs_text="some target == 0 whose input is not −inf",
        affects=("grad",),
    ),
    Divergence(
        id="kl-div-target-grad-underflow",
        kind="known-bug",
        loss="kl_div",
        where={"log_target": False},
        description=(
            "computes xlogy(t, t) − t·x, and xlogy's backward forms the +1 of log t + 1 − x as "
            "(g·t)/t in the input dtype: where g·t falls into the subnormal range it loses its "
            "digits (to 0 at the smallest ones), so the target gradient misses part or all of g "
            "(float32, t = 2^-149, x = 0, cotangent ½: −51.639, reference −51.139)"
        ),
        citation=ISSUE.format(89558),
        inputs=kl_target_grad_product_underflows,
        inputs_text="some positive target whose product with the incoming gradient rounds in the "
        "dtype's subnormal range with more than a unit roundoff of relative error",
        affects=("grad",),
    ),
    Divergence(
        id="kl-div-batchmean-sum-overflow",
        kind="known-bug",
        loss="kl_div",
        where={"reduction": "batchmean"},
        description=(
            "computes batchmean as torch.kl_div(..., reduction='sum') / input.size(0) in the "
            "input dtype: where the sum overflows (float16: beyond 65504) the result is inf "
            "although the batch mean is representable (float16, four items of terms summing to "
            "65552: inf, reference 16388)"
        ),
        # kl_div: batchmean takes reduction_enum 'sum', then reduced / input.size()[0]
        citation="https://github.com/pytorch/pytorch/blob/v2.13.0/torch/nn/functional.py#L3458-L3467",
        inputs=kl_batchmean_sum_overflows,
        inputs_text="finite pointwise terms whose sum overflows the dtype while sum / batch size "
        "does not",
        affects=_VALUE_GRAD,
    ),
    Divergence(
        id="kl-div-zero-target-infinite-input",
        kind="known-bug",
        loss="kl_div",
        where={"log_target": False},
        description=(
            "the −t·x term is not dropped at t = 0, so an infinite input there gives 0·inf = NaN "
            "instead of 0"
        ),
        citation=ISSUE.format(89558),
        inputs=kl_zero_target_infinite_input,
        inputs_text="some target == 0 whose input is ±inf",
        affects=("value",),
    ),
    Divergence(
        id="kl-div-log-target-neginf",
        kind="known-bug",
        loss="kl_div",
        where={"log_target": True},
        description=(
            "computes exp(t)·(t − x) literally (the documented formula), so a log-target of −inf "
            "(probability 0) gives 0·(−inf) = NaN for the value and the target gradient instead "
            "of 0"
        ),
        citation=DOCS["KLDivLoss"],
        inputs=kl_neginf_log_target,
        inputs_text="some target == −inf",
        affects=_VALUE_GRAD,
    ),
    # poisson_nll_loss
    Divergence(
        id="poisson-zero-count-infinite-term",
        kind="known-bug",
        loss="poisson_nll_loss",
        description=(
            "computes exp(x) − y·x (or x − y·log(x + eps)) literally, so a zero count times an "
            "infinite term is 0·inf = NaN instead of dropping the term (x = −inf, y = 0: NaN, "
            "reference 0)"
        ),
        citation=LOSS_CPP,
        inputs=poisson_zero_count_infinite_term,
        inputs_text="some target == 0 where x (log_input) or log(x + eps) is not finite",
        affects=_VALUE_GRAD,
    ),
    Divergence(
        id="poisson-exp-overflow",
        kind="known-bug",
        loss="poisson_nll_loss",
        where={"log_input": True},
        description=(
            "evaluates e^x in the input dtype for the value and for the gradient g·(e^x − y): "
            "once e^x overflows (float16: x > 11.09) the element is inf and the gradient ±inf "
            "even where the mean, or a gradient scaled by a small cotangent, is representable "
            "(x = 12, count 3, cotangent 1/256: −inf, reference −635.8)"
        ),
        citation=LOSS_CPP,
        inputs=poisson_exp_overflows,
        inputs_text="log_input and some finite x above log(largest number of the dtype)",
        affects=_VALUE_GRAD,
    ),
    Divergence(
        id="poisson-eps-lost-in-dtype",
        kind="known-bug",
        loss="poisson_nll_loss",
        where={"log_input": False},
        description=(
            "adds eps to the rate in the input dtype; float16 rounds 1e-8 to 0, so a positive count "
            "at rate 0 gives x − y·log(0) = +inf where the reference's log(1e-8) is finite "
            "(count 3: inf, reference 55.3)"
        ),
        citation=LOSS_CPP,
        inputs=poisson_eps_lost_in_dtype,
        inputs_text="some positive count whose rate + eps is 0 in the dtype",
        affects=_VALUE_GRAD,
    ),
    # gaussian_nll_loss
    Divergence(
        id="gaussian-var-clamp-grad",
        kind="convention",
        loss="gaussian_nll_loss",
        description=(
            "clamps var to eps without autograd ('the clamping of var is ignored with respect to "
            "autograd'), so where var ≤ eps the var gradient is ½(1/eps − d²/eps²) (e.g. 5e5 at "
            "var = 0, d = 0) where the reference gives 0 (the clamped loss is flat in var)"
        ),
        citation=DOCS["GaussianNLLLoss"],
        inputs=var_at_or_below_eps,
        inputs_text="some var ≤ eps",
        affects=("grad",),
    ),
    Divergence(
        id="gaussian-eps-rounded",
        kind="known-bug",
        loss="gaussian_nll_loss",
        description=(
            "clamps var with eps rounded to the input dtype: float16 cannot hold 1e-6 and clamps "
            "to 1.0133e-6, so clamped elements are 1.3% off in d²/var (var = 2^-22: 30848, "
            "reference 31243)"
        ),
        citation=DOCS["GaussianNLLLoss"],
        inputs=var_clamped_to_rounded_eps,
        inputs_text="some var below eps where eps rounded to the dtype is more than two unit "
        "roundoffs away from eps",
        affects=_VALUE_GRAD,
    ),
    Divergence(
        id="gaussian-square-overflow",
        kind="known-bug",
        loss="gaussian_nll_loss",
        description=(
            "evaluates the documented (input − target)²/max(var, eps) with the square formed "
            "first in the input dtype: once it overflows (float16: |input − target| ≥ 256) the "
            "element is inf and the var gradient −inf or NaN although d²/(2·var) is representable "
            "(input 256, target 0, var 1: inf, reference 32768)"
        ),
        citation=DOCS["GaussianNLLLoss"],
        inputs=gaussian_square_overflows,
        inputs_text="some finite input and target whose difference squared overflows the dtype",
        affects=_VALUE_GRAD,
    ),
    Divergence(
        id="gaussian-backward-overflow",
        kind="known-bug",
        loss="gaussian_nll_loss",
        description=(
            "backpropagates through d²/v by multiplying the incoming gradient by 1/v in the input "
            "dtype: in float16 with v near eps that product overflows, so input/target gradients "
            "are ±inf (NaN where input == target) and the var gradient NaN, although the exact "
            "gradients (d/v = 15420 at d = 1/64, v = eps) are representable"
        ),
        citation=DOCS["GaussianNLLLoss"],
        inputs=gaussian_backward_overflows,
        inputs_text="some element with |incoming gradient|·½/max(var, eps) above the dtype's "
        "largest number",
        affects=("grad",),
    ),
    Divergence(
        id="gaussian-quotient-overflow",
        kind="known-bug",
        loss="gaussian_nll_loss",
        description=(
            "forms (input − target)²/max(var, eps) in the input dtype before the ½: in float16 "
            "the quotient overflows where ½·d²/v is representable (input 10, target 0, "
            "var 2^-10: d²/v = 102400 → inf, loss inf, reference 51197)"
        ),
        citation=FUNCTIONAL_GAUSSIAN,
        inputs=gaussian_quotient_overflows,
        inputs_text="some element whose (input − target)² is finite in the dtype and whose "
        "quotient by max(var, eps) is not, while the exact loss is representable",
        affects=("value",),
    ),
    Divergence(
        id="gaussian-var-grad-quotient-overflow",
        kind="known-bug",
        loss="gaussian_nll_loss",
        description=(
            "the division's backward gives var −(g·½)·((d²/v)/v), with (d²/v)/v formed in the "
            "input dtype and summed over the dimensions var is broadcast along before the log's "
            "part (g·½)/v is added: in float16 it overflows where the var gradient is "
            "representable, and is 0·inf = NaN at a zero incoming gradient (input −15.25, target "
            "2.633, var 0.0625: (d²/v)/v = 81792 → inf, var gradient −inf, reference −40926; "
            "with cotangent 0 NaN, reference 0; input 0, target 9.984, var 0.0625 broadcast over "
            "a row of 3: division part summed 65520 → inf, reference 65479)"
        ),
        citation=FUNCTIONAL_GAUSSIAN,
        inputs=gaussian_var_grad_quotient_overflows,
        inputs_text="some var element whose division part of the gradient, −(g·½)·((d²/v)/v) "
        "summed over its broadcast dimensions in the dtype, is not finite while the exact var "
        "gradient is representable",
        affects=("grad",),
    ),
    # embedding losses
    Divergence(
        id="cosine-epsilon",
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
        affects=_VALUE_GRAD,
    ),
    Divergence(
        id="cosine-norm-overflow",
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
        affects=_VALUE_GRAD,
    ),
    Divergence(
        id="cosine-norm-underflow",
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
        affects=_VALUE_GRAD,
    ),
    Divergence(
        id="cosine-hinge-subgradient",
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
    ),
    Divergence(
        id="hinge-embedding-subgradient",
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
    ),
    Divergence(
        id="margin-ranking-subgradient",
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
    ),
    Divergence(
        id="triplet-subgradient",
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
    ),
    Divergence(
        id="triplet-distance-overflow",
        kind="known-bug",
        loss="triplet_margin_loss",
        description=(
            "computes each pairwise distance in the input dtype, so a distance beyond the dtype's "
            "range is inf and the loss inf or NaN even where d(a, p) − d(a, n) + margin is "
            "representable (float16, p = 1, entries ±8192)"
        ),
        citation=LOSS_CPP,
        inputs=triplet_distance_overflows,
        inputs_text="some distance d(a, p), d(a, n) (or d(p, n) with swap) above the dtype's "
        "largest number",
        affects=_VALUE_GRAD,
    ),
    Divergence(
        id="triplet-swap-tie-subgradient",
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
        inputs_text="swap, an active triplet with d(a, n) == d(p, n)",
        affects=("grad",),
    ),
    Divergence(
        id="soft-margin-exp-overflow",
        kind="known-bug",
        loss="soft_margin_loss",
        description=(
            "computes log(1 + exp(−y·x)) and −y·z/(1 + z) with z = exp(−y·x) literally: once z "
            "overflows the dtype (−y·x > 709.8 in float64, 88.7 in float32/bfloat16, 11.09 in "
            "float16) the loss is +inf instead of ≈ −y·x and the gradient NaN instead of ≈ −y"
        ),
        citation=LOSS_CPP_SOFT_MARGIN,
        inputs=soft_margin_exp_overflows,
        inputs_text="some element with −y·x > log(largest finite number of the dtype)",
        affects=_VALUE_GRAD,
    ),
    # --- invalid inputs torch accepts (the reference raises InvalidInput) ---
    *(
        Divergence(
            id=f"{loss.replace('_', '-')}-default-ignore-index",
            kind="convention",
            loss=loss,
            where={"ignore_index": None, **extra},
            description=(
                "canonical ignore_index None is torch's default ignore_index=-100, so a target "
                "of −100 (invalid: outside [0, C)) is silently ignored instead of rejected"
            ),
            citation=DOCS[loss],
            inputs=target_is_torch_default_ignore,
            inputs_text="some target == −100",
            affects=("error",),
        )
        for loss, extra in (("cross_entropy", {"target_kind": "index"}), ("nll_loss", {}))
    ),
    *(
        Divergence(
            id=f"{loss.replace('_', '-')}-target-unchecked",
            kind="convention",
            loss=loss,
            where=where,
            description=(
                f"{page} documents targets in [0, 1] but does not check them: other values "
                "give a number (possibly NaN), not an error"
            ),
            citation=DOCS[page],
            inputs=_outside_unit_interval("target"),
            inputs_text="some target outside [0, 1]",
            affects=("error",),
        )
        for loss, page, where in (
            ("cross_entropy", "CrossEntropyLoss", {"target_kind": "probability"}),
            ("binary_cross_entropy_with_logits", "BCEWithLogitsLoss", {}),
            ("multilabel_soft_margin_loss", "MultiLabelSoftMarginLoss", {}),
            ("kl_div", "KLDivLoss", {"log_target": False}),
        )
    ),
    *(
        Divergence(
            id=f"{loss.replace('_', '-')}-label-unchecked",
            kind="convention",
            loss=loss,
            description=(
                f"{page} documents labels 1 or −1 but does not check them: any other value selects "
                "a branch (or none) and gives a number, not an error"
            ),
            citation=DOCS[page],
            inputs=not_sign_label,
            inputs_text="some target not in {−1, 1}",
            affects=("error",),
        )
        for loss, page in (
            ("cosine_embedding_loss", "CosineEmbeddingLoss"),
            ("margin_ranking_loss", "MarginRankingLoss"),
            ("hinge_embedding_loss", "HingeEmbeddingLoss"),
            ("soft_margin_loss", "SoftMarginLoss"),
        )
    ),
    *(
        Divergence(
            id=f"{loss.replace('_', '-')}-weight-unchecked",
            kind="convention",
            loss=loss,
            description=(
                f"{page} documents a rescaling weight but does not check its values: a NaN or "
                "infinite weight gives a number (NaN or inf), not an error"
            ),
            citation=DOCS[page],
            inputs=_nonfinite_weight,
            inputs_text="some weight or pos_weight is NaN or ±inf",
            affects=("error",),
        )
        for loss, page in (
            ("binary_cross_entropy", "BCELoss"),
            ("binary_cross_entropy_with_logits", "BCEWithLogitsLoss"),
            ("cross_entropy", "CrossEntropyLoss"),
            ("nll_loss", "NLLLoss"),
            ("multi_margin_loss", "MultiMarginLoss"),
            ("multilabel_soft_margin_loss", "MultiLabelSoftMarginLoss"),
        )
    ),
    *(
        Divergence(
            id=f"{loss.replace('_', '-')}-broadcasts-shapes",
            kind="convention",
            loss=loss,
            description=(
                f"{what}: shapes outside the documented ones (which the reference enforces) give "
                "a number instead of an error"
            ),
            citation=DOCS["GaussianNLLLoss"] if loss == "gaussian_nll_loss" else BROADCASTING_DOCS,
            inputs=torch_accepts_rejected_shapes,
            inputs_text="shapes that fit no layout of the loss but pass torch's own shape checks",
            affects=("error",),
        )
        for loss, (_, what) in SHAPE_RULES.items()
    ),
]
