"""torch's known divergences in the classification family: cross_entropy, nll_loss,
multi_margin_loss and multilabel_soft_margin_loss.
"""

from __future__ import annotations

import numpy as np

import reference as R
from adapters.base import Accepts, Divergence, Example
from reference import Case
from reference.contract import Prediction, predict, predict_nonfinite

from ._common import (
    DOCS,
    FUNCTIONAL_MULTILABEL,
    ISSUE,
    LOG_THIRD,
    MULTI_MARGIN_CPP,
    VALUE_GRAD,
    inf,
    nan,
    params_of,
    target_unchecked,
    unchecked,
    weight_unchecked,
)
from ._shapes import (
    BROADCASTS,
    CLASS_INDEX,
    all_broadcast_with_weight,
    broadcasting,
    class_index_shapes,
    multi_margin_shapes,
)


def _class_last(x: np.ndarray) -> np.ndarray:
    """(N, C, d1, …) → (N, d1, …, C); an unbatched (C) stays as it is."""
    return np.moveaxis(x, 1, -1) if x.ndim >= 2 else x


def _kept_targets(case: Case) -> tuple[np.ndarray, np.ndarray]:
    """Index targets and the mask of items not equal to ignore_index."""
    target = case.arrays["target"]
    ignore = params_of(case)["ignore_index"]
    kept = np.ones(target.shape, bool) if ignore is None else target != ignore
    return target, kept


def _total_weight(case: Case) -> float:
    """Σ w_{y_n} over kept items: the denominator of torch's weighted mean."""
    arrays = case.rounded()
    n_classes = _class_last(arrays["input"]).shape[-1]
    w = arrays.get("weight", np.ones(n_classes))
    target, kept = _kept_targets(case)
    return float(np.sum(w[np.where(kept, target, 0)] * kept))


def _items_with_neginf_logit_without_mass(case: Case) -> np.ndarray:
    """Per item: a logit is −inf where torch multiplies its log-probability by a zero
    weight·target mass."""
    a, p = case.rounded(), params_of(case)
    x = _class_last(a["input"])
    n_classes = x.shape[-1]
    w = a.get("weight", np.ones(n_classes))
    eps = p["label_smoothing"]
    if p["target_kind"] == "probability":
        mass = w * ((1.0 - eps) * _class_last(a["target"]) + eps / n_classes)
        return np.any(np.isneginf(x) & (mass == 0), axis=-1)
    target, kept = _kept_targets(case)
    safe = np.where(kept, target, 0)
    x_y = np.take_along_axis(x, safe[..., None], axis=-1)[..., 0]
    nll_nan = kept & np.isneginf(x_y) & (w[safe] == 0)
    if eps == 0:
        return nll_nan
    smooth_nan = kept[..., None] & np.isneginf(x) & (w == 0)
    return nll_nan | np.any(smooth_nan, axis=-1)


def ce_neginf_logit_without_mass(case: Case) -> bool:
    """A logit is −inf where torch multiplies its log-probability by a zero weight·target mass."""
    return bool(np.any(_items_with_neginf_logit_without_mass(case)))


def prob_target_neginf_at_zero_weight(case: Case) -> bool:
    """A −inf logit at a class whose weight is 0 (probability targets: the target gradient
    −(1 − ε)·w_c·log p_c multiplies them without dropping the zero weight)."""
    a = case.rounded()
    x = _class_last(a["input"])
    w = a.get("weight", np.ones(x.shape[-1]))
    return bool(np.any(np.isneginf(x) & (w == 0)))


def _items_with_inf_at_zero_weight(case: Case) -> np.ndarray:
    a = case.rounded()
    x = _class_last(a["input"])
    w = a.get("weight", np.ones(x.shape[-1]))
    target, kept = _kept_targets(case)
    safe = np.where(kept, target, 0)
    x_y = np.take_along_axis(x, safe[..., None], axis=-1)[..., 0]
    return kept & np.isinf(x_y) & (w[safe] == 0)


def nll_inf_at_zero_weight(case: Case) -> bool:
    """A kept item's target-class input is ±inf and its class weight 0: torch computes −0·inf."""
    return bool(np.any(_items_with_inf_at_zero_weight(case)))


def any_posinf_logit(case: Case) -> bool:
    return bool(np.any(np.isposinf(case.rounded()["input"])))


def zero_total_weight_nll(case: Case) -> bool:
    """Σ w_y == 0 and some input entry is not a kept target (there torch's gradient is 0, not NaN)."""
    _, kept = _kept_targets(case)
    n_classes = _class_last(case.arrays["input"]).shape[-1]
    return _total_weight(case) == 0 and (n_classes > 1 or not bool(np.all(kept)))


def zero_total_weight_with_ignored(case: Case) -> bool:
    _, kept = _kept_targets(case)
    return _total_weight(case) == 0 and not bool(np.all(kept))


def zero_total_weight_smoothed(case: Case) -> bool:
    """Smoothing mass is positive while Σ w_y is 0: the reference's s/0 = inf, torch's 0/0 + s/0."""
    a, p = case.rounded(), params_of(case)
    _, kept = _kept_targets(case)
    n_classes = _class_last(a["input"]).shape[-1]
    w = a.get("weight", np.ones(n_classes))
    return (
        p["label_smoothing"] > 0
        and _total_weight(case) == 0
        and bool(np.any(kept))
        and bool(np.any(w != 0))
    )


def _multilabel_infinite_labels(case: Case) -> np.ndarray:
    a = case.rounded()
    x, y = a["input"], a["target"]
    return (np.isneginf(x) & (y == 0)) | (np.isposinf(x) & (y == 1))


def multilabel_infinite(case: Case) -> bool:
    """x = −inf with target 0, or x = +inf with target 1: torch evaluates 0·log σ(∓inf)."""
    return bool(np.any(_multilabel_infinite_labels(case)))


def multilabel_grad_scale_underflows(case: Case) -> bool:
    """The backward scales each label by (g/C)·w_c in the dtype (the division's, then the
    weight's backward) before multiplying by log σ(±x): where that product falls into the
    dtype's subnormal range, the target gradient ≈ −(g/C)·w_c·x carries its rounding error
    magnified by |x|; true where that error is at least 16 steps of the subnormal grid."""
    a, p, dt = case.rounded(), params_of(case), case.dtype
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


def target_is_torch_default_ignore(case: Case) -> bool:
    return bool(np.any(case.arrays["target"] == -100))


# --- models: what torch returns where an entry applies --------------------------------------


def _to_input_layout(case: Case, per_class: np.ndarray) -> np.ndarray:
    """A class-last array (N, d1, …, C) back in the input's layout (N, C, d1, …)."""
    return np.moveaxis(per_class, -1, 1) if case.arrays["input"].ndim >= 2 else per_class


def _whole_items(case: Case, items: np.ndarray) -> np.ndarray:
    """An item mask (the unreduced loss's shape) spread over each item's classes, input layout."""
    n_classes = _class_last(case.arrays["input"]).shape[-1]
    return _to_input_layout(case, np.repeat(np.asarray(items)[..., None], n_classes, axis=-1))


def ce_posinf_model(case: Case) -> Prediction:
    """log_softmax of an item holding +inf is NaN at every class: the item's loss is NaN where it
    counts (a kept item), and its whole input gradient (and target gradient) is NaN, kept or
    not (log_softmax's backward forms g − e^out·Σg, NaN even for g = 0)."""
    x = _class_last(case.rounded()["input"])
    items = np.any(np.isposinf(x), axis=-1)
    if params_of(case)["target_kind"] == "index":
        _, kept = _kept_targets(case)
    else:
        kept = np.ones(items.shape, bool)
    rows = _whole_items(case, items)
    grads = {"input": rows}
    if params_of(case)["target_kind"] == "probability":
        grads["target"] = rows
    return predict_nonfinite(case, value=items & kept, grads=grads)


def ce_neginf_zero_mass_model(case: Case) -> Prediction:
    return predict_nonfinite(case, value=_items_with_neginf_logit_without_mass(case))


def ce_prob_target_grad_zero_weight_model(case: Case) -> Prediction:
    a = case.rounded()
    x = _class_last(a["input"])
    w = a.get("weight", np.ones(x.shape[-1]))
    nan_at = _to_input_layout(case, np.isneginf(x) & (w == 0))
    return predict_nonfinite(case, grads={"target": nan_at})


def nll_inf_zero_weight_model(case: Case) -> Prediction:
    return predict_nonfinite(case, value=_items_with_inf_at_zero_weight(case))


def _kept_target_entries(case: Case) -> np.ndarray:
    """The input entries (input layout) that are a kept item's target class."""
    x = _class_last(case.arrays["input"])
    target, kept = _kept_targets(case)
    onehot = np.arange(x.shape[-1]) == np.where(kept, target, -1)[..., None]
    return _to_input_layout(case, onehot)


def nll_zero_total_weight_grad_model(case: Case) -> Prediction:
    """The mean's backward divides each kept target entry's −w_y by Σ w_y = 0 (NaN there) and
    leaves every other entry 0."""
    found = predict(case)
    grad = np.where(_kept_target_entries(case), np.nan, 0.0)
    return Prediction(found.value, {**found.grads, "input": grad})


def ce_ignored_items_zero_grad_model(case: Case) -> Prediction:
    """Ignored items' gradients are exactly 0; the kept items' are the reference's (NaN: the
    gradient of a 0/0 mean)."""
    _, kept = _kept_targets(case)
    found = predict(case)
    grad = np.where(_whole_items(case, ~kept), 0.0, found.grads["input"])
    return Prediction(found.value, {**found.grads, "input": grad})


def multilabel_infinite_model(case: Case) -> Prediction:
    return predict_nonfinite(case, value=np.any(_multilabel_infinite_labels(case), axis=-1))


# The OpInfo of multilabel_margin_loss at v2.13.0: dtypes=floating_types() (CPU),
# dtypesIfCUDA=floating_types_and(torch.bfloat16, torch.float16).
MULTILABEL_MARGIN_OPINFO = (
    "https://github.com/pytorch/pytorch/blob/v2.13.0/torch/testing/_internal/"
    "common_methods_invocations.py#L17483-L17497"
)
ROWS_OF_THIRDS = [[LOG_THIRD] * 3] * 2  # a batch of 2 over 3 equally likely classes
DIVERGENCES: list[Divergence] = [
    Divergence(
        id="multilabel_soft_margin_loss/infinite-logit",
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
        model=multilabel_infinite_model,
        model_text="the reference's value with NaN at each row holding a logit −inf with target 0 or +inf with target 1",
        example=Example(
            {"reduction": "none"}, {"input": [[-inf, 0.5]], "target": [[0.0, 1.0]]}, cotangent=[1.0]
        ),
    ),
    Divergence(
        id="multilabel_soft_margin_loss/grad-scale-subnormal",
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
        example=Example(
            {"reduction": "none"},
            {"input": [[256.0, 256.0]], "target": [[0.0, 0.0]], "weight": [1.0, 2.0**-23]},
            dtype="float16",
            cotangent=[0.5],
        ),
    ),
    Divergence(
        id="cross_entropy/posinf-logit-nan",
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
        affects=VALUE_GRAD,
        model=ce_posinf_model,
        model_text="NaN for each kept item holding a +inf logit, and NaN gradients over every class of each such item",
        example=Example(
            {"reduction": "none"}, {"input": [[inf, 0.0, 1.0]], "target": [1]}, cotangent=[1.0]
        ),
    ),
    Divergence(
        id="cross_entropy/neginf-logit-zero-mass",
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
        model=ce_neginf_zero_mass_model,
        model_text="the reference's value with NaN at each item where a −inf logit meets a zero weight·target mass",
        example=Example(
            {"reduction": "none", "target_kind": "probability"},
            {"input": [[-inf, 0.0, 1.0]], "target": [[0.0, 0.5, 0.5]]},
            cotangent=[1.0],
        ),
    ),
    Divergence(
        id="cross_entropy/prob-target-grad-zero-weight",
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
        model=ce_prob_target_grad_zero_weight_model,
        model_text="the reference's target gradient with NaN at each −inf logit of a class of weight 0",
        example=Example(
            {"reduction": "none", "target_kind": "probability"},
            {
                "input": [[-inf, 0.0, 1.0], [0.5, 0.0, 1.0]],
                "target": [[0.5, 0.25, 0.25], [0.0, 0.5, 0.5]],
                "weight": [0.0, 1.0, 1.0],
            },
            cotangent=[1.0, 1.0],
        ),
    ),
    Divergence(
        id="nll_loss/inf-input-zero-weight",
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
        model=nll_inf_zero_weight_model,
        model_text="the reference's value with NaN at each kept item whose target-class input is ±inf at weight 0",
        example=Example(
            {"reduction": "sum"},
            {
                "input": [[-inf, 0.0, 1.0], [LOG_THIRD] * 3],
                "target": [0, 1],
                "weight": [0.0, 1.0, 1.0],
            },
        ),
    ),
    Divergence(
        id="nll_loss/zero-total-weight-grad",
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
        model=nll_zero_total_weight_grad_model,
        model_text="an input gradient of 0, NaN at the kept items' target entries",
        example=Example(
            {"reduction": "mean", "ignore_index": -100},
            {"input": ROWS_OF_THIRDS, "target": [-100, -100]},
        ),
    ),
    Divergence(
        id="cross_entropy/zero-total-weight-ignored-grad",
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
        model=ce_ignored_items_zero_grad_model,
        model_text="the reference's input gradient (NaN) with the ignored items' rows 0",
        example=Example(
            {"reduction": "mean", "ignore_index": -100},
            {"input": ROWS_OF_THIRDS, "target": [-100, -100]},
        ),
    ),
    Divergence(
        id="cross_entropy/smoothing-zero-total-weight",
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
        affects=VALUE_GRAD,
        example=Example(
            {"reduction": "mean", "label_smoothing": 0.1},
            {
                "input": [[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]],
                "target": [1, 1],
                "weight": [1.0, 0.0, 1.0],
            },
        ),
    ),
    Divergence(
        id="multi_margin_loss/no-half-cpu",
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
        example=Example(
            {"reduction": "none"},
            {"input": ROWS_OF_THIRDS, "target": [0, 2]},
            dtype="float16",
            cotangent=[1.0, 1.0],
        ),
    ),
    Divergence(
        id="multilabel_margin_loss/no-half-cpu",
        kind="known-bug",
        loss="multilabel_margin_loss",
        description=(
            "the CPU forward and backward kernels are dispatched for float32/float64 only "
            "(AT_DISPATCH_FLOATING_TYPES in aten/src/ATen/native/LossMultiLabelMargin.cpp; the "
            "OpInfo declares dtypes=floating_types() on CPU, half and bfloat16 on CUDA only): "
            "float16 and bfloat16 raise NotImplementedError "
            "'\"multilabel_margin_loss_forward_out_frame\" not implemented for 'Half'' ('BFloat16')"
        ),
        citation=MULTILABEL_MARGIN_OPINFO,
        dtypes=("float16", "bfloat16"),
        devices=("cpu",),
        affects=("error",),
        example=Example(
            {"reduction": "sum"},
            {"input": ROWS_OF_THIRDS, "target": [[0, -1, 0], [2, 1, -1]]},
            dtype="bfloat16",
        ),
    ),
]

# Inputs the reference rejects and torch computes anyway, keyed by (loss, argument).
DEFAULT_IGNORE_INDEX = (
    "canonical ignore_index None is torch's default ignore_index=-100, so a target "
    "of −100 (invalid: outside [0, C)) is silently ignored instead of rejected"
)

ACCEPTS: list[Accepts] = [
    Accepts(
        id="cross_entropy/default-ignore-index",
        loss="cross_entropy",
        argument="target",
        where={"ignore_index": None, "target_kind": "index"},
        description=DEFAULT_IGNORE_INDEX,
        citation=DOCS["cross_entropy"],
        accepts=target_is_torch_default_ignore,
        accepts_text="some target == −100",
        example=Example({"reduction": "none"}, {"input": ROWS_OF_THIRDS, "target": [0, -100]}),
    ),
    Accepts(
        id="nll_loss/default-ignore-index",
        loss="nll_loss",
        argument="target",
        where={"ignore_index": None},
        description=DEFAULT_IGNORE_INDEX,
        citation=DOCS["nll_loss"],
        accepts=target_is_torch_default_ignore,
        accepts_text="some target == −100",
        example=Example({"reduction": "mean"}, {"input": ROWS_OF_THIRDS, "target": [0, -100]}),
    ),
    unchecked(
        id="cross_entropy/target-unchecked",
        loss="cross_entropy",
        argument="target",
        text=target_unchecked,
        page="CrossEntropyLoss",
        where={"target_kind": "probability"},
        example=Example(
            {"reduction": "none", "target_kind": "probability"},
            {"input": ROWS_OF_THIRDS, "target": [[1.25, -0.25, 0.0], [0.25, 0.25, 0.5]]},
        ),
    ),
    unchecked(
        id="multilabel_soft_margin_loss/target-unchecked",
        loss="multilabel_soft_margin_loss",
        argument="target",
        text=target_unchecked,
        page="MultiLabelSoftMarginLoss",
        example=Example(
            {"reduction": "none"},
            {"input": ROWS_OF_THIRDS, "target": [[2.0, 0.0, 1.0], [0.0, 1.0, 0.0]]},
        ),
    ),
    unchecked(
        id="cross_entropy/weight-unchecked",
        loss="cross_entropy",
        argument="weight",
        text=weight_unchecked,
        page="CrossEntropyLoss",
        example=Example(
            {"reduction": "none"},
            {"input": ROWS_OF_THIRDS, "target": [0, 2], "weight": [inf, 1.0, 1.0]},
        ),
    ),
    unchecked(
        id="nll_loss/weight-unchecked",
        loss="nll_loss",
        argument="weight",
        text=weight_unchecked,
        page="NLLLoss",
        example=Example(
            {"reduction": "sum"},
            {"input": ROWS_OF_THIRDS, "target": [0, 2], "weight": [nan, 1.0, 1.0]},
        ),
    ),
    unchecked(
        id="multi_margin_loss/weight-unchecked",
        loss="multi_margin_loss",
        argument="weight",
        text=weight_unchecked,
        page="MultiMarginLoss",
        example=Example(
            {"reduction": "none"},
            {"input": ROWS_OF_THIRDS, "target": [0, 2], "weight": [inf, 1.0, 1.0]},
        ),
    ),
    unchecked(
        id="multilabel_soft_margin_loss/weight-unchecked",
        loss="multilabel_soft_margin_loss",
        argument="weight",
        text=weight_unchecked,
        page="MultiLabelSoftMarginLoss",
        example=Example(
            {"reduction": "none"},
            {
                "input": ROWS_OF_THIRDS,
                "target": [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]],
                "weight": [nan, 1.0, 1.0],
            },
        ),
    ),
    broadcasting(
        id="multilabel_soft_margin_loss/broadcasts-shapes",
        loss="multilabel_soft_margin_loss",
        what=BROADCASTS + ", weight included",
        accepts=all_broadcast_with_weight,
        example=Example(
            {"reduction": "none"}, {"input": ROWS_OF_THIRDS, "target": [[0.0, 1.0, 0.0]]}
        ),
    ),
    broadcasting(
        id="cross_entropy/broadcasts-shapes",
        loss="cross_entropy",
        what=CLASS_INDEX,
        accepts=class_index_shapes,
        example=Example({"reduction": "none"}, {"input": [0.1, 0.25, 0.5], "target": [1]}),
    ),
    broadcasting(
        id="nll_loss/broadcasts-shapes",
        loss="nll_loss",
        what=CLASS_INDEX,
        accepts=class_index_shapes,
        example=Example(
            {"reduction": "none"},
            {
                "input": [[[0.0, 0.0]] * 4] * 3,
                "target": [[0, 0]] * 3,
                "weight": [[1.0, 1.0, 1.0, 1.0]],
            },
        ),
    ),
    broadcasting(
        id="multi_margin_loss/broadcasts-shapes",
        loss="multi_margin_loss",
        what="treats an input of rank ≤ 1 as one frame and checks only target.numel() == frames",
        accepts=multi_margin_shapes,
        example=Example({"reduction": "none"}, {"input": [[1.0, 1.0, 1.0, 1.0]], "target": 2}),
    ),
]
