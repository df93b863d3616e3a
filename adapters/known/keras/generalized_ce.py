"""Keras against the reference: CategoricalFocalCrossentropy and CategoricalGeneralizedCrossEntropy
(the softmax focal loss and the generalized cross-entropy, reference/categorical.py)."""

from __future__ import annotations

import dataclasses

import numpy as np

import reference as R
from reference import Case
from reference.contract import Prediction, predict, predict_nonfinite
from reference.terms import TermScale

from ...base import Accepts, Divergence, Example
from ._common import (
    KERAS_LOSSES,
    KERAS_RANK_FIX,
    KERAS_SRC,
    array,
    keras_torch_float64_mean_in_float32,
)

GCE_SOURCE = f"{KERAS_LOSSES}#L2746-L2792"
GCE_FUNCTION = "keras.losses.categorical_generalized_cross_entropy"  # the adapter's second API


def _gce_true_probability_zero(case: Case) -> bool:
    x, y = array(case, "input"), array(case, "target")
    if x is None or y is None or case.params.get("q", 0.5) >= 1:
        return False
    py = np.take_along_axis(x, np.asarray(y, dtype=np.int64)[..., None], axis=-1)[..., 0]
    return bool(np.any(py == 0))


def _gce_nan_at_other_classes(case: Case):
    x, y = array(case, "input"), np.asarray(array(case, "target"), dtype=np.int64)
    py = np.take_along_axis(x, y[..., None], axis=-1)
    others = np.arange(x.shape[-1]) != y[..., None]
    return predict_nonfinite(case, grads={"input": (py == 0) & others})


def _gce_single_class_batched(case: Case) -> bool:
    """Input (N, 1), target (N,), reduction sum or none: Keras' rank fix gives the target a
    trailing 1, its one-hot is (N, 1, 1), and the product with the (N, 1) input is (N, N, 1).
    The mean divides the N·N copies by N·N and is the reference's mean."""
    x = array(case, "input")
    return (
        x is not None
        and x.ndim == 2
        and x.shape[-1] == 1
        and case.params.get("reduction", "mean") in ("sum", "none")
    )


def _gce_single_class_outer(case: Case) -> Prediction:
    """Every item's loss N times: the sum (and its gradient) times N; at reduction none an
    (N, N) result whose every row holds the N losses (a C = 1 target can only be class 0)."""
    spec = R.get(case.loss)
    ts = spec.term_scale
    n = np.shape(case.arrays["input"])[0]
    if case.params.get("reduction") == "sum":
        return predict(
            case,
            elementwise=lambda a, p: R.Elementwise(n * spec.elementwise(a, p).loss),
            elementwise_vjp=lambda a, p, g: spec.elementwise_vjp(a, p, n * np.asarray(g)),
            term_scale=TermScale(
                lambda a, p, loss: n * ts.value(a, p, loss),
                lambda a, p, c: ts.grads(a, p, n * np.asarray(c)),
            ),
        )
    changed = dataclasses.replace(
        spec,
        elementwise=lambda a, p: R.Elementwise(
            np.broadcast_to(spec.elementwise(a, p).loss, (n, n)).copy()
        ),
        term_scale=TermScale(
            lambda a, p, loss: np.broadcast_to(ts.value(a, p, loss), (n, n)).copy(),
            lambda a, p, c: {},
        ),
    )
    arrays, full, _ = R.validate(case.loss, case.rounded(), case.params)
    with np.errstate(all="ignore"):
        value = changed.elementwise(arrays, full).loss
    return Prediction(np.asarray(value, dtype=np.float64), {}, changed, None)


def unbatched_input(case: Case) -> bool:
    x = array(case, "input")
    return x is not None and x.ndim == 1


def _gce_single_class_unbatched(case: Case) -> bool:
    x = array(case, "input")
    return x is not None and x.shape == (1,)


DIVERGENCES: list[Divergence] = [
    Divergence(
        id="categorical_generalized_cross_entropy/keras-one-hot-product-nan-gradient",
        kind="known-bug",
        loss="categorical_generalized_cross_entropy",
        description=(
            "keras.losses.categorical_generalized_cross_entropy picks p_y as "
            "ops.sum(y_pred * one_hot(y_true)): where p_y = 0 the cotangent of power(p_y, q) is "
            "−q·0^(q−1) = −inf, and the product with the one-hot row sends 0·inf = NaN to every "
            "other class, whose gradient the reference gives as 0 (q = ½, input [[0, 1]], "
            "target [0]: gradient [−inf, NaN] instead of [−inf, 0])"
        ),
        citation=GCE_SOURCE,
        inputs=_gce_true_probability_zero,
        inputs_text="a probability of 0 at the target class (q < 1)",
        affects=("grad",),
        model=_gce_nan_at_other_classes,
        model_text="the reference's gradient with NaN at the other classes of items with p_y = 0",
        example=Example({"reduction": "sum"}, {"input": [[0.0, 1.0]], "target": [0]}),
    ),
    Divergence(
        id="categorical_generalized_cross_entropy/keras-rank-fix-single-class-outer-product",
        kind="known-bug",
        loss="categorical_generalized_cross_entropy",
        description=(
            "With one class, input (N, 1) and target (N,) differ in rank by one and the input ends "
            "in 1, so LossFunctionWrapper's squeeze_or_expand_to_same_rank gives the target a "
            "trailing 1; ops.one_hot of that (N, 1) target is (N, 1, 1), and y_pred · one_hot "
            "broadcasts to (N, N, 1): every item's loss comes N times. Reduction none returns "
            "(N, N); sum is N times the reference's (input [[1], [1], [1], [1]] gives the input "
            "gradient −4 instead of −1 per item); sum_over_batch_size divides by N·N and agrees"
        ),
        citation=f"{KERAS_RANK_FIX}; {GCE_SOURCE}",
        inputs=_gce_single_class_batched,
        inputs_text="input (N, 1) (one class), reduction sum or none",
        model=_gce_single_class_outer,
        model_text="sum: the reference's value and gradients times N; none: an (N, N) result, "
        "each row the reference's N losses (no gradient to compare)",
        example=Example({"reduction": "sum"}, {"input": [[0.5], [0.25]], "target": [0, 0]}),
    ),
    Divergence(
        id="categorical_generalized_cross_entropy/keras-rank-fix-single-class-unbatched-raises",
        kind="known-bug",
        loss="categorical_generalized_cross_entropy",
        description=(
            "With one class and no batch, input (1,) and a 0-d target, squeeze_or_expand_to_same_"
            "rank squeezes the input's trailing 1 away (the target has no axis to receive one), "
            "and the loss function's num_classes=ops.shape(y_pred)[-1] of the 0-d input raises "
            "IndexError: tuple index out of range, where the reference returns (1 − p^q)/q"
        ),
        citation=f"{KERAS_RANK_FIX}; {KERAS_LOSSES}#L2783-L2785",
        inputs=_gce_single_class_unbatched,
        inputs_text="unbatched input of one class, shape (1,)",
        affects=("error",),
        example=Example({}, {"input": [0.25], "target": 0}),
    ),
    Divergence(
        id="categorical_generalized_cross_entropy/keras-torch-unbatched-power-float32",
        kind="known-bug",
        loss="categorical_generalized_cross_entropy",
        description=(
            "On the torch backend ops.power(p, q) converts q to a float32 tensor; for an "
            "unbatched (C,) input p is 0-d too, and torch promotes two 0-d tensors to the wider "
            "dtype: keras.losses.categorical_generalized_cross_entropy returns a float32 loss "
            "(and gradient) for a float16 or bfloat16 input (the class converts its result back "
            "to the loss dtype)"
        ),
        citation=(
            f"{GCE_SOURCE}; {KERAS_SRC}/backend/torch/numpy.py#L2153-L2155; "
            "https://pytorch.org/docs/2.13/tensor_attributes.html#type-promotion-doc"
        ),
        dtypes=("float16", "bfloat16"),
        apis=(GCE_FUNCTION,),
        inputs=unbatched_input,
        inputs_text="an unbatched (C,) input (the loss function, not the class)",
        affects=("dtype",),
        example=Example(
            {"reduction": "none"},
            {"input": [0.25, 0.75], "target": 1},
            dtype="float16",
            api=GCE_FUNCTION,
            cotangent=1.0,
        ),
    ),
    # --- float64 on the torch backend: sum_over_batch_size divides in float32
    keras_torch_float64_mean_in_float32(
        "categorical_generalized_cross_entropy/keras-torch-float64-mean-in-float32",
        "categorical_generalized_cross_entropy",
        Example({}, {"input": [[0.3, 0.7], [0.9, 0.1]], "target": [1, 0]}),
    ),
]


def _negative_labels_only(case: Case) -> bool:
    x, t = array(case, "input"), np.asarray(case.arrays["target"])
    n_classes = x.shape[-1] if x is not None and x.ndim else 0
    return bool(np.any(t < 0)) and not bool(np.any(t >= n_classes))


ACCEPTS: list[Accepts] = [
    Accepts(
        id="categorical_generalized_cross_entropy/keras-no-domain-check-input",
        loss="categorical_generalized_cross_entropy",
        argument="input",
        description=(
            "Keras does not check that y_pred holds probabilities: (1 − p^q)/q is computed for any "
            "p (NaN for a negative one under a fractional power, a number above 1)"
        ),
        citation=GCE_SOURCE,
        example=Example({}, {"input": [[1.25, 0.5]], "target": [0]}),
    ),
    Accepts(
        id="categorical_generalized_cross_entropy/keras-one-hot-of-out-of-range-label",
        loss="categorical_generalized_cross_entropy",
        argument="target",
        description=(
            "Keras does not check the labels: ops.one_hot of a label outside [0, C) is a row of "
            "zeros, so p_y = 0 and the item's loss is 1/q"
        ),
        citation=GCE_SOURCE,
        example=Example({}, {"input": [[0.25, 0.75]], "target": [2]}),
    ),
    Accepts(
        id="categorical_generalized_cross_entropy/keras-torch-one-hot-negative-zero-row",
        loss="categorical_generalized_cross_entropy",
        argument="target",
        description=(
            "Keras' torch one_hot maps a negative label to a row of zeros (F.one_hot of "
            "max(x, 0), then where(x ≥ 0, …, 0)) without raising, so p_y = 0 and the item's loss "
            "is 1/q; a label ≥ C raises in F.one_hot"
        ),
        citation=f"{GCE_SOURCE}; {KERAS_SRC}/backend/torch/nn.py#L811-L834",
        accepts=_negative_labels_only,
        accepts_text="the invalid labels are negative (none ≥ C)",
        example=Example({}, {"input": [[0.25, 0.75]], "target": [-1]}),
    ),
    Accepts(
        id="categorical_generalized_cross_entropy/keras-broadcasts-shapes",
        loss="categorical_generalized_cross_entropy",
        argument="shapes",
        description=(
            "Keras broadcasts y_pred against one_hot(y_true) in ops.multiply: a target whose "
            "shape fits no layout but broadcasts gives a number"
        ),
        citation=GCE_SOURCE,
        example=Example({}, {"input": [[0.25, 0.75], [0.5, 0.5]], "target": [1]}),
    ),
]

# Entries that hold on some backends only (the others: every backend).
BACKENDS: dict[str, tuple[str, ...]] = {
    # torch's F.one_hot, behind Keras' torch backend, raises for a label ≥ C
    "categorical_generalized_cross_entropy/keras-one-hot-of-out-of-range-label": (
        "tensorflow",
        "jax",
    ),
    "categorical_generalized_cross_entropy/keras-torch-one-hot-negative-zero-row": ("torch",),
    "categorical_generalized_cross_entropy/keras-torch-unbatched-power-float32": ("torch",),
    "categorical_generalized_cross_entropy/keras-torch-float64-mean-in-float32": ("torch",),
}
