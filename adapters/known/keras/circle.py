"""Keras' known divergences for circle_loss.

``keras.losses.Circle`` / ``circle`` (keras/src/losses/losses.py:1443-1530 and 2658-2741 at
3.15.1) compute the reference's formula (Sun et al. 2020, eq. 6, with the distance clamp
max(1 − y_pred·y_predᵀ, 0)). What differs: the function marks the items whose loss is > 0 as its
Keras mask (losses.py:2741) and ``sum_over_batch_size`` divides by the number of marked items with
``ops.divide_no_nan`` (loss.py:197-216), so a batch where no item has both a positive and a
negative gives 0 where the reference's mean over no item is 0/0; and its three clamps are
``ops.maximum(·, 0)``, whose derivative at a tie is the backend's (½ on jax and torch, 1 on
TensorFlow) where the reference takes the clamped side's 0. The models are the reference's own
formula (:mod:`reference.circle`) with those changes.
"""

from __future__ import annotations

import numpy as np

import reference as R
from reference import Case
from reference.circle import circle_loss, circle_loss_vjp, pairs, valid_items
from reference.contract import Prediction, predict
from reference.spec import Elementwise

from ...base import Accepts, Divergence, Example
from ._common import (
    FLOAT32_MODEL_TEXT,
    KERAS_BIT64_TO_BIT32,
    KERAS_LOSS_BASE,
    KERAS_LOSSES,
    KERAS_SRC,
    KERAS_TORCH_DIVIDE_NO_NAN,
    TORCH_MEAN_DIVIDES_TEXT,
    computed_in_float32,
    float32_term_scale,
    torch_mean_divides,
)
from .binary import KERAS_TORCH_MAXIMUM

CIRCLE_SOURCE = f"{KERAS_LOSSES}#L2658-L2741 (keras.losses.circle at 3.15.1)"
MASK_SOURCE = (
    f"{KERAS_LOSSES}#L2740-L2741 (set_keras_mask(circle_loss, circle_loss > 0)); "
    f"{KERAS_LOSS_BASE}#L197-L216 (apply_mask: weight total/valid with divide_no_nan)"
)
MAXIMUM_GRADIENT = {
    "jax": "https://github.com/jax-ml/jax/blob/main/jax/_src/lax/lax.py (max_p's JVP: "
    "_balanced_eq, ½ to each argument at a tie)",
    "torch": "https://github.com/pytorch/pytorch/blob/main/tools/autograd/derivatives.yaml "
    "(maximum: grad / 2 where self == other)",
    "tensorflow": "https://github.com/tensorflow/tensorflow/blob/master/tensorflow/python/ops/"
    "math_grad.py (_MaximumMinimumGrad: x >= y sends the gradient to x)",
}


def _params(case: Case) -> dict:
    return {**R.get(case.loss).defaults(), **case.params}


def _keras_mask(case: Case) -> np.ndarray:
    """The items Keras counts: loss > 0 once rounded to the case dtype."""
    loss = circle_loss(case.rounded(), _params(case)).loss
    return R.round_to(loss, case.dtype) > 0


def mean_count_differs(case: Case) -> bool:
    """Keras' count of items (loss > 0 in the dtype) is not the reference's (items with a
    positive and a negative), or is 0."""
    mask = _keras_mask(case)
    return not mask.any() or int(mask.sum()) != int(
        valid_items(case.rounded(), _params(case)).sum()
    )


def keras_masked_mean(case: Case, in_float32: bool = False) -> Prediction:
    """The reference's items, the ones whose loss is 0 in the dtype weighted 0, the sum divided
    by the number of the others (by 1 when there is none: 0/1 = 0, as divide_no_nan's 0);
    ``in_float32``: held to float32's error bound on the reference's terms (the torch backend's
    float64 mean)."""
    mask = _keras_mask(case)

    def elementwise(a, p):
        el = circle_loss(a, p)
        return Elementwise(
            el.loss,
            denominators={"mean": max(int(mask.sum()), 1)},
            factors={"mean": mask.astype(np.float64)},
        )

    return predict(
        case,
        elementwise=elementwise,
        term_scale=float32_term_scale(R.get(case.loss).term_scale) if in_float32 else None,
    )


def keras_torch_masked_mean(case: Case) -> Prediction:
    return keras_masked_mean(case, in_float32=True)


def _rounding(dtype: str):
    """The dtype's rounding (float64: none, but the clamps' arguments in Keras' form)."""
    if dtype == "float64":
        return lambda v: np.asarray(v, dtype=np.float64)
    return lambda v: R.round_to(v, dtype)


def _computed_in(case: Case, float64_in: str | None) -> str:
    return float64_in if float64_in and case.dtype == "float64" else case.dtype


def at_a_tie(float64_in: str | None = None):
    """A pair that enters the loss sits on a clamp's tie (d = 1 − s = 0 on a negative pair, or a
    weight's argument exactly 0), as the dtype the backend computes in forms them (a float64 case
    in ``float64_in`` where the backend computes it so)."""

    def pred(case: Case) -> bool:
        a, p = case.rounded(), _params(case)
        r = _rounding(_computed_in(case, float64_in))
        _, s, _, pos, neg, *_ = pairs(a, p, rounded=r)
        m = float(p["margin"])
        with np.errstate(invalid="ignore", over="ignore"):
            d = r(1.0 - r(s))
            dr = np.maximum(d, 0.0)
            tie_n = neg & ((d == 0) | (r(r(1.0 + m) - dr) == 0))
            tie_p = pos & (r(m + dr) == 0)
        return bool(np.any(tie_n | tie_p))

    return pred


def keras_ties(tie: float, float64_in: str | None = None):
    """The reference's gradient with each clamp's derivative ``tie`` at its tie, the ties read in
    the dtype the backend computes in; a float64 case computed in float32 (``float64_in``) held
    to float32's error bound."""

    def model(case: Case) -> Prediction:
        dtype = _computed_in(case, float64_in)
        rounded = _rounding(dtype)
        scale = R.get(case.loss).term_scale
        return predict(
            case,
            elementwise_vjp=lambda a, p, g: circle_loss_vjp(a, p, g, tie=tie, rounded=rounded),
            term_scale=float32_term_scale(scale) if dtype != case.dtype else None,
        )

    return model


# Rows (1, 0), (1, 0), (0, 1), (−1, 0) with labels 0, 0, 1, 2 (items 0 and 1 each other's positive,
# negatives at s = 0 and −1): every label distinct gives no item to average.
ROWS = [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]
# (1, 0) and (1, 0) with different labels: a negative pair at s = 1, the distance clamp's tie
TIE = {"input": [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], "target": [0, 1, 0]}

DIVERGENCES: list[Divergence] = [
    Divergence(
        id="circle_loss/keras-mean-over-items-with-loss-above-zero",
        kind="convention",
        loss="circle_loss",
        description=(
            "keras.losses.circle marks the items whose loss is > 0 as the result's Keras mask, "
            "and Circle's sum_over_batch_size divides the sum by the number of marked items with "
            "ops.divide_no_nan: a batch where no item has both a positive and a negative gives 0 "
            "and zero gradients where the reference's mean over no item is 0/0 = NaN (labels "
            "0, 1, 2, 3), and an item whose loss underflows to 0 in the dtype is left out of the "
            "count (and its gradient dropped)"
        ),
        citation=MASK_SOURCE,
        where={"reduction": "mean"},
        inputs=mean_count_differs,
        inputs_text=(
            "the items whose loss is > 0 in the dtype are not the items with a positive and a "
            "negative, or there is none"
        ),
        model=keras_masked_mean,
        model_text=(
            "the reference's items, those whose loss is 0 in the dtype weighted 0, the sum "
            "divided by the number of the others (0 when there is none)"
        ),
        example=Example({"reduction": "mean"}, {"input": ROWS, "target": [0, 1, 2, 3]}),
    ),
    *(
        Divergence(
            id=f"circle_loss/keras-{backend}-maximum-tie-gradient",
            kind="convention",
            loss="circle_loss",
            description=(
                "keras.losses.circle clamps the distance d = max(1 − s, 0) and the weights "
                "[m + d]₊, [1 + m − d]₊ with ops.maximum, whose derivative at a tie is the "
                f"backend's: {label} where the reference takes the clamped side's 0 (a negative "
                "pair at s = 1 exactly, rows (1, 0) and (1, 0) with different labels, gets "
                "z_n's slope 2γ times that share)"
            ),
            citation=f"{CIRCLE_SOURCE}; {MAXIMUM_GRADIENT[backend]}",
            affects=("grad",),
            inputs=at_a_tie(float64_in),
            inputs_text=(
                "a pair in the loss on a clamp's tie: 1 − s = 0 on a negative pair, or a weight's "
                "argument exactly 0, in the dtype"
            ),
            model=keras_ties(tie, float64_in),
            model_text=(
                f"the reference's gradient with each clamp's derivative {tie:g} at its tie, the "
                "ties read in the dtype"
            ),
            example=Example({"reduction": "sum"}, TIE),
        )
        for backend, tie, label, float64_in in (
            ("jax", 0.5, "½ to each side on jax", None),
            # a float64 case runs in float32 there (keras-torch-float64-maximum-in-float32)
            ("torch", 0.5, "½ to each side on torch", "float32"),
            (
                "tensorflow",
                1.0,
                "1, all to 1 − s and to the weight's argument, on TensorFlow",
                None,
            ),
        )
    ),
]

# The judge credits the first entry that explains a part: this one comes after the mean entry, so
# it takes only the float64 means whose float32 division that model's float64 bound cannot hold.
DIVERGENCES.append(
    Divergence(
        id="circle_loss/keras-torch-float64-mean-in-float32",
        kind="known-bug",
        loss="circle_loss",
        description=(
            "keras.losses.Circle with reduction sum_over_batch_size on the torch backend: the mask "
            "weight total/valid and the final sum/count are formed with ops.divide_no_nan, which "
            "casts both operands to result_type(x1, x2, float), float32 for float64 (Keras forcing "
            "a 64-bit result to 32 bits): the float64 mean carries float32's rounding and its "
            "gradient's 1/n is a float32 number"
        ),
        citation=f"{MASK_SOURCE}; {KERAS_TORCH_DIVIDE_NO_NAN}; {KERAS_BIT64_TO_BIT32}",
        where={"reduction": "mean"},
        dtypes=("float64",),
        inputs=torch_mean_divides,
        inputs_text=TORCH_MEAN_DIVIDES_TEXT,
        model=keras_torch_masked_mean,
        model_text=(
            "the masked mean of the entry above within float32's error bound on the reference's "
            "terms"
        ),
        example=Example({"reduction": "mean"}, {"input": ROWS, "target": [0, 0, 1, 2]}),
    )
)

# After the mean entries: a float64 sum or none on the torch backend, computed in float32.
DIVERGENCES += [
    Divergence(
        id="circle_loss/keras-torch-float64-maximum-in-float32",
        kind="known-bug",
        loss="circle_loss",
        description=(
            "On the torch backend ops.maximum(1 − y_pred·y_predᵀ, 0.0) casts both operands to "
            "result_type(float64, float) = float32 (Keras forces a 64-bit result type to 32 bits "
            "on every backend but TensorFlow): a float64 Circle computes its distances, weights, "
            "log-sum-exps and per-item losses in float32 (rows (1, 0), (1, 0), (0, 1), (−1, 0) "
            "with labels 0, 0, 1, 2: log1p(e^−12.8 + e^−25.6) to float32's precision)"
        ),
        citation=f"{CIRCLE_SOURCE}; {KERAS_TORCH_MAXIMUM}; {KERAS_BIT64_TO_BIT32}",
        dtypes=("float64",),
        model=computed_in_float32(round_elements=True),
        model_text=FLOAT32_MODEL_TEXT + ", each per-item loss rounded to float32",
        example=Example({"reduction": "sum"}, {"input": ROWS, "target": [0, 0, 1, 2]}),
    ),
    Divergence(
        id="circle_loss/keras-torch-float64-function-returns-float32",
        kind="known-bug",
        loss="circle_loss",
        description=(
            "On the torch backend keras.losses.circle returns float32 for float64 inputs "
            "(ops.maximum's cast, keras-torch-float64-maximum-in-float32); the class converts "
            "the per-item losses back to its dtype, the function hands them out as float32"
        ),
        citation=f"{CIRCLE_SOURCE}; {KERAS_TORCH_MAXIMUM}; {KERAS_BIT64_TO_BIT32}",
        dtypes=("float64",),
        affects=("dtype",),
        apis=("keras.losses.circle",),
        example=Example(
            {"reduction": "none"},
            {"input": ROWS, "target": [0, 0, 1, 2]},
            cotangent=[1.0] * 4,
            api="keras.losses.circle",
        ),
    ),
]

# Entries that hold on some backends only (the others: every backend).
BACKENDS: dict[str, tuple[str, ...]] = {
    "circle_loss/keras-torch-float64-mean-in-float32": ("torch",),
    "circle_loss/keras-torch-float64-maximum-in-float32": ("torch",),
    "circle_loss/keras-torch-float64-function-returns-float32": ("torch",),
    **{
        f"circle_loss/keras-{backend}-maximum-tie-gradient": (backend,)
        for backend in ("jax", "torch", "tensorflow")
    },
}


def one_label_for_a_batch(case: Case) -> bool:
    t, x = case.arrays.get("target"), case.arrays.get("input")
    return t is not None and x is not None and t.size == 1 and x.ndim == 2 and x.shape[0] > 1


def labels_as_a_column(case: Case) -> bool:
    t, x = case.arrays.get("target"), case.arrays.get("input")
    return t is not None and x is not None and x.ndim == 2 and t.shape == (x.shape[0], 1)


ACCEPTS: list[Accepts] = [
    Accepts(
        id="circle_loss/keras-broadcasts-a-single-label",
        loss="circle_loss",
        argument="shapes",
        description=(
            "keras.losses.circle builds its positive and negative masks from y_true reshaped to "
            "(-1, 1) against its transpose, which broadcasts against the (N, N) similarities: a "
            "single label for a batch of N rows comes back as N losses (every pair neither "
            "positive nor negative, so 0) where the reference rejects the shapes"
        ),
        citation=f"{CIRCLE_SOURCE}; {KERAS_SRC}/utils/numerical_utils.py#L197-L224",
        accepts=one_label_for_a_batch,
        accepts_text="one label for a batch of more than one row",
        example=Example({"reduction": "none"}, {"input": ROWS, "target": [0]}),
    ),
    Accepts(
        id="circle_loss/keras-takes-labels-as-a-column",
        loss="circle_loss",
        argument="shapes",
        description=(
            "keras.losses.circle reshapes rank-1 labels to (-1, 1) and takes rank-2 labels as "
            "they are, so a (N, 1) column of labels gives the same masks as the (N,) labels "
            "(y_true == y_trueᵀ) and a number comes back where the reference rejects the shapes"
        ),
        citation=f"{CIRCLE_SOURCE}; {KERAS_SRC}/utils/numerical_utils.py#L197-L224",
        accepts=labels_as_a_column,
        accepts_text="the labels as a (N, 1) column",
        example=Example({"reduction": "none"}, {"input": ROWS, "target": [[0], [0], [1], [2]]}),
    ),
]
