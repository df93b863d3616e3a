"""Keras against the reference: categorical_hinge (keras.losses.CategoricalHinge and
keras.losses.categorical_hinge).

Keras 3.15.1 computes pos = ops.sum(y_true·y_pred), neg = ops.max((1 − y_true)·y_pred) and
ops.maximum(neg − pos + 1, 0) over the last axis (losses.py:1717-1760), the reference's formula.
What differs is the subgradient the backends' autodiff takes at the hinge, and what Keras checks.
"""

from __future__ import annotations

import numpy as np

import reference as R
from reference import Case
from reference.contract import Prediction, predict

from ...base import Accepts, Divergence, Example
from ._common import (
    FLOAT32_MODEL_TEXT,
    KERAS_BIT64_TO_BIT32,
    KERAS_LOSSES,
    KERAS_RANK_FIX,
    broadcast,
    computed_in_float32,
    keras_rank_fix,
)
from .binary import KERAS_TORCH_MAXIMUM, TORCH_MAXIMUM_GRAD

LOSS = "categorical_hinge"
SOURCE = f"{KERAS_LOSSES}#L1717-L1760"


def _hinge(case: Case) -> np.ndarray:
    """z = 1 + max_j (1 − t_j)·x_j − Σ t_j x_j per sample, from the inputs as the dtype holds
    them."""
    a = case.rounded()
    x, t = a["input"], a["target"]
    return 1.0 + np.max((1.0 - t) * x, axis=-1) - np.sum(t * x, axis=-1)


def on_the_hinge(case: Case) -> bool:
    """z is exactly 0 for some sample."""
    return bool(np.any(_hinge(case) == 0))


def gradient_at_the_hinge(share: float):
    """The reference's gradient with ``share`` of the active branch's, (1 − t_k)·s_k − t_k
    (times the cotangent), where z = 0: the maximum's gradient at its tie max(z, 0) passed to z
    in full (share 1) or halved."""

    def model(case: Case) -> Prediction:
        spec = R.get(case.loss)

        def vjp(a, p, g):
            x, t = a["input"], a["target"]
            w = (1.0 - t) * x
            neg = np.max(w, axis=-1)
            z = 1.0 + neg - np.sum(t * x, axis=-1)
            tied = w == neg[..., None]
            top = tied / np.maximum(np.sum(tied, axis=-1, keepdims=True), 1)
            active = np.asarray(g)[..., None] * ((1.0 - t) * top - t)
            grads = spec.elementwise_vjp(a, p, g)
            return {"input": np.where((z == 0)[..., None], share * active, grads["input"])}

        return predict(case, elementwise_vjp=vjp)

    return model


def _rounded_products(case: Case) -> np.ndarray:
    """(1 − t_j)·x_j as the dtype holds each factor and the product (Keras multiplies in it)."""
    a = case.rounded()
    x, t = a["input"], a["target"]
    return R.round_to(R.round_to(1.0 - t, case.dtype) * x, case.dtype)


def max_tied_by_rounding(case: Case) -> bool:
    """Some sample's largest (1 − t_j)·x_j is unique in exact arithmetic but tied with another
    once the products are rounded to the dtype (the hinge active)."""
    a = case.rounded()
    w = (1.0 - a["target"]) * a["input"]
    exact = np.sum(w == np.max(w, axis=-1, keepdims=True), axis=-1)
    wr = _rounded_products(case)
    rounded = np.sum(wr == np.max(wr, axis=-1, keepdims=True), axis=-1)
    return bool(np.any((rounded > exact) & (_hinge(case) > 0)))


def gradient_split_over_rounded_ties(case: Case) -> Prediction:
    """The reference's gradient with the max's share 1 split evenly among the entries tied after
    rounding the products to the dtype, as the backends' max gradients split a tie."""
    spec = R.get(case.loss)
    wr = _rounded_products(case)

    def vjp(a, p, g):
        x, t = a["input"], a["target"]
        z = 1.0 + np.max((1.0 - t) * x, axis=-1) - np.sum(t * x, axis=-1)
        tied = wr == np.max(wr, axis=-1, keepdims=True)
        top = tied / np.sum(tied, axis=-1, keepdims=True)
        active = np.asarray(g)[..., None] * ((1.0 - t) * top - t)
        grads = spec.elementwise_vjp(a, p, g)
        return {"input": np.where((z > 0)[..., None], active, grads["input"])}

    return predict(case, elementwise_vjp=vjp)


# x_y exactly 1 above the best wrong score (rows 0, 1), and at the masked entry's 0 tied with a
# wrong score of 0 (row 2: (1 − 1)·1 = 0 = x_0)
AT_THE_HINGE = {
    "input": [[0.5, -1.0, 1.5], [2.0, 1.0, -1.0], [0.0, 1.0, -2.0]],
    "target": [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
}

DIVERGENCES: list[Divergence] = [
    Divergence(
        id=f"{LOSS}/keras-max-tied-by-rounding",
        kind="convention",
        loss=LOSS,
        description=(
            "Keras computes neg = max((1 − y_true)·y_pred) in the input dtype: two products that "
            "differ exactly but round to the same value there tie, and every backend's max "
            "gradient splits the cotangent between tied entries, where the reference (exact "
            "products) gives it to the larger one (bfloat16 x = (1, 1.0078125, 0), t = (0, "
            "2⁻⁸, 1 − 2⁻⁸): 0.99609375 · 1.0078125 = 1.0039 rounds to 1 and ties x_0)"
        ),
        citation=(
            f"{SOURCE}; https://github.com/jax-ml/jax/blob/jax-v0.10.2/"
            "jax/_src/lax/lax.py#L5112-L5114; " + TORCH_MAXIMUM_GRAD
        ),
        inputs=max_tied_by_rounding,
        inputs_text=(
            "the largest (1 − t_j)·x_j of an active sample tied with another only after rounding "
            "the products to the dtype"
        ),
        affects=("grad",),
        model=gradient_split_over_rounded_ties,
        model_text="the reference's gradient with the max's share split over the rounded ties",
        example=Example(
            {"reduction": "sum"},
            {"input": [[1.0, 1.0078125, 0.0]], "target": [[0.0, 0.00390625, 0.99609375]]},
            dtype="bfloat16",
        ),
    ),
    Divergence(
        id=f"{LOSS}/keras-tf-maximum-gradient-at-the-hinge",
        kind="convention",
        loss=LOSS,
        description=(
            "Keras' categorical hinge is ops.maximum(neg − pos + 1, 0); at the hinge "
            "neg − pos + 1 = 0 TensorFlow's gradient of Maximum passes the whole cotangent to "
            "its first operand (x ≥ y), so the input gradient is the active branch's "
            "(1 − t)·s − t where the reference takes the minimum-norm subgradient 0 (x = (0.5, "
            "−1, 1.5), class 2, sum: (1, 0, −1) instead of 0)"
        ),
        citation=(
            f"{SOURCE}; https://github.com/tensorflow/tensorflow/blob/v2.21.0/"
            "tensorflow/python/ops/math_grad.py#L1557-L1586"
        ),
        inputs=on_the_hinge,
        inputs_text="1 + max_j (1 − t_j)·x_j − Σ t_j x_j exactly 0 for some sample (the hinge)",
        affects=("grad",),
        model=gradient_at_the_hinge(1.0),
        model_text="the reference's gradient with the active branch's on the hinge",
        example=Example({"reduction": "sum"}, AT_THE_HINGE),
    ),
    Divergence(
        id=f"{LOSS}/keras-maximum-tie-splits-gradient",
        kind="convention",
        loss=LOSS,
        description=(
            "Keras' categorical hinge is ops.maximum(neg − pos + 1, 0); at the hinge the JAX "
            "and torch backends split the cotangent of a maximum between its two equal "
            "operands, so the input gradient is half the active branch's, ((1 − t)·s − t)/2, "
            "where the reference takes the minimum-norm subgradient 0 (x = (0.5, −1, 1.5), "
            "class 2, sum: (0.5, 0, −0.5) instead of 0)"
        ),
        citation=(
            f"{SOURCE}; https://github.com/jax-ml/jax/blob/jax-v0.10.2/"
            "jax/_src/lax/lax.py#L5112-L5114 and #L9598-L9600; " + TORCH_MAXIMUM_GRAD
        ),
        inputs=on_the_hinge,
        inputs_text="1 + max_j (1 − t_j)·x_j − Σ t_j x_j exactly 0 for some sample (the hinge)",
        affects=("grad",),
        model=gradient_at_the_hinge(0.5),
        model_text="the reference's gradient with half the active branch's on the hinge",
        example=Example({"reduction": "sum"}, AT_THE_HINGE),
    ),
    Divergence(
        id=f"{LOSS}/keras-torch-float64-maximum-in-float32",
        kind="known-bug",
        loss=LOSS,
        description=(
            "On the torch backend ops.maximum(neg − pos + 1, 0.0) casts both operands to "
            "result_type(float64, float) = float32 (Keras forces a 64-bit result type to 32 bits "
            "on every backend but TensorFlow): each float64 per-sample hinge is rounded to "
            "float32 (x = (0.1, 0.2, 0.7) with class 0: 1.6 comes back 1.600000023841858)"
        ),
        citation=f"{SOURCE}; {KERAS_TORCH_MAXIMUM}; {KERAS_BIT64_TO_BIT32}",
        dtypes=("float64",),
        model=computed_in_float32(round_elements=True),
        model_text=FLOAT32_MODEL_TEXT + ", each per-sample hinge rounded to float32",
        example=Example(
            {"reduction": "sum"}, {"input": [[0.1, 0.2, 0.7]], "target": [[1.0, 0.0, 0.0]]}
        ),
    ),
    Divergence(
        id=f"{LOSS}/keras-torch-float64-function-returns-float32",
        kind="known-bug",
        loss=LOSS,
        description=(
            "On the torch backend keras.losses.categorical_hinge returns float32 for float64 "
            "inputs (ops.maximum's cast, keras-torch-float64-maximum-in-float32); the class "
            "converts the per-sample losses back to its dtype, the function hands them out as "
            "float32"
        ),
        citation=f"{SOURCE}; {KERAS_TORCH_MAXIMUM}; {KERAS_BIT64_TO_BIT32}",
        where={"reduction": "none"},
        dtypes=("float64",),
        affects=("dtype",),
        apis=("keras.losses.categorical_hinge",),
        example=Example(
            {"reduction": "none"},
            {"input": [[0.1, 0.2, 0.7]], "target": [[1.0, 0.0, 0.0]]},
            cotangent=[1.0],
            api="keras.losses.categorical_hinge",
        ),
    ),
]


def input_and_target_broadcast(case: Case) -> bool:
    y_true, y_pred = keras_rank_fix(np.shape(case.arrays["target"]), np.shape(case.arrays["input"]))
    return broadcast(y_true, y_pred)


ACCEPTS: list[Accepts] = [
    Accepts(
        id=f"{LOSS}/keras-no-domain-check-target",
        loss=LOSS,
        argument="target",
        description=(
            "Keras does not check the labels: y_true is cast to the scores' dtype and used as it "
            "is (its docstring also allows {−1, +1} labels), so a number comes back where the "
            "reference rejects a target outside [0, 1]"
        ),
        citation=SOURCE,
        example=Example(
            {"reduction": "sum"}, {"input": [[0.5, -1.0, 2.0]], "target": [[-1.0, -1.0, 1.0]]}
        ),
    ),
    Accepts(
        id=f"{LOSS}/broadcasts-mismatched-shapes",
        loss=LOSS,
        argument="shapes",
        description=(
            "keras.losses.categorical_hinge broadcasts y_true and y_pred (NumPy's rules, after "
            "LossFunctionWrapper's squeeze_or_expand_to_same_rank) instead of rejecting shapes "
            "no layout allows: a number comes back where the reference raises"
        ),
        citation=f"{SOURCE}; {KERAS_RANK_FIX}",
        accepts=input_and_target_broadcast,
        accepts_text="input and target broadcast",
        example=Example(
            {"reduction": "mean"},
            {"input": [[0.5, -1.0, 2.0], [1.0, 0.25, -0.5]], "target": [[0.0, 1.0, 0.0]]},
        ),
    ),
]

# Entries that hold on some backends only (the others: every backend).
BACKENDS: dict[str, tuple[str, ...]] = {
    f"{LOSS}/keras-tf-maximum-gradient-at-the-hinge": ("tensorflow",),
    f"{LOSS}/keras-maximum-tie-splits-gradient": ("jax", "torch"),
    f"{LOSS}/keras-torch-float64-maximum-in-float32": ("torch",),
    f"{LOSS}/keras-torch-float64-function-returns-float32": ("torch",),
}
