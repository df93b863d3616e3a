"""Keras against the reference: negative_cosine_similarity (keras.losses.CosineSimilarity and
keras.losses.cosine_similarity).

Keras 3.15.1 computes −Σ normalize(y_true)·normalize(y_pred) along the axis (losses.py:1956-1958),
with normalize(x) = x · min(rsqrt(Σx²), 1/ε), ε = keras.config.epsilon() = 1e-7 (ops/nn.py:
2722-2730): the reference's x / max(‖x‖, eps) at eps = 1e-7 in real arithmetic. What differs is
how the clamp is written: through rsqrt and a minimum, evaluated in the input dtype.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

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
    KERAS_SRC,
    broadcast,
    computed_in_float32,
    float32_term_scale,
    keras_rank_fix,
)

LOSS = "negative_cosine_similarity"
NORMALIZE = f"{KERAS_SRC}/ops/nn.py#L2712-L2733 (_normalize: x * minimum(rsqrt(Σx²), 1/ε))"
COSINE = f"{KERAS_LOSSES}#L1922-L1958; {NORMALIZE}"
VECTORS = ("input1", "input2")


def _nan_gradient_rows(case: Case) -> dict[str, np.ndarray]:
    """Per argument, its vectors whose Σx² (as the dtype holds the vector) is 0 or so small that
    rsqrt's derivative ½·(Σx²)^(−3/2) overflows the dtype: a row mask, broadcast over the
    vector."""
    a = case.rounded()
    limit = R.FORMATS[case.dtype].max_value
    out = {}
    for n in VECTORS:
        with np.errstate(all="ignore"):
            s = np.sum(a[n] ** 2, axis=-1)
            rows = (s == 0) | (np.log(0.5) - 1.5 * np.log(s) > np.log(limit))
        out[n] = np.broadcast_to(rows[..., None], a[n].shape)
    return out


def rsqrt_derivative_overflows(case: Case) -> bool:
    return any(bool(np.any(m)) for m in _nan_gradient_rows(case).values())


@dataclass(frozen=True)
class NanGradientModel:
    """The reference, with NaN in every component of those vectors' gradients; ``float32``: the
    backend builds a float64 cosine from float32 inverse norms (torch, see
    ``keras-torch-float64-inverse-norm-in-float32``), so the other components are held to
    float32's bound. The registry binds it per backend (:meth:`for_backend`)."""

    float32: bool = False

    def for_backend(self, backend: str) -> NanGradientModel:
        return dataclasses.replace(self, float32=backend == "torch")

    def __call__(self, case: Case) -> Prediction:
        spec = R.get(case.loss)
        in32 = self.float32 and case.dtype == "float64"
        found = predict(case, term_scale=float32_term_scale(spec.term_scale) if in32 else None)
        rows = _nan_gradient_rows(case)
        grads = {
            n: np.where(rows[n], np.nan, g) if n in rows else g for n, g in found.grads.items()
        }
        return dataclasses.replace(found, grads=grads)


def norm_below_eps(case: Case) -> bool:
    """Some vector's norm (as the dtype holds the vector) is below eps: the clamp decides."""
    eps = {**R.get(case.loss).defaults(), **case.params}["eps"]
    a = case.rounded()
    return bool(eps) and any(
        bool(np.any(np.sqrt(np.sum(a[n] ** 2, axis=-1)) < eps)) for n in VECTORS
    )


def without_clamp(case: Case) -> Prediction:
    """The reference at eps = 0: the exact cosine, 0/0 = NaN at a zero vector."""
    return predict(case, params={"eps": 0.0})


def squares_out_of_range(case: Case) -> bool:
    """Some vector's Σx² leaves the dtype's normal range: above its largest value (rsqrt gives
    0, the unit vector 0) or nonzero below its smallest normal number."""
    a = case.rounded()
    fmt = R.FORMATS[case.dtype]
    for name in VECTORS:
        with np.errstate(all="ignore"):
            total = np.sum(a[name] ** 2, axis=-1)
        if np.any((total > fmt.max_value) | ((total > 0) & (total < fmt.tiny))):
            return True
    return False


def vectors_broadcast(case: Case) -> bool:
    """input1 and input2 broadcast once Keras' rank fix has run."""
    y_true, y_pred = keras_rank_fix(
        np.shape(case.arrays["input1"]), np.shape(case.arrays["input2"])
    )
    return broadcast(y_true, y_pred)


_ZERO_ROW = {"input1": [[0.0, 0.0, 0.0], [1.0, 2.0, 0.5]], "input2": [[1.0, 0.5, -1.0]] * 2}

NAN_GRADIENT = (
    "normalize clamps the inverse norm, minimum(rsqrt(Σx²), 1/ε), instead of the norm: at a zero "
    "vector rsqrt(0) = inf and the minimum takes 1/ε, so the value is the documented 0, but the "
    "backward pass multiplies the unselected branch's zero cotangent by rsqrt's derivative "
    "−½(Σx²)^(−3/2) = −inf: 0·inf = NaN in every component of that vector's gradient, where the "
    "reference (a constant clamped norm) has x_other/(ε‖x_other‖); the same where the vector is "
    "not zero but short enough for the derivative to overflow (Σx² below ≈ 1e-206 in float64, "
    "1e-26 in float32)"
)


def nan_gradient(id: str, description: str, modes: tuple[str, ...] = ()) -> Divergence:
    return Divergence(
        id=id,
        kind="known-bug",
        loss=LOSS,
        description=description,
        citation=COSINE,
        modes=modes,
        inputs=rsqrt_derivative_overflows,
        inputs_text="some vector's Σx² is 0, or so small that ½(Σx²)^(−3/2) overflows the dtype",
        affects=("grad",),
        model=NanGradientModel(),
        model_text=(
            "the reference's gradients with NaN in every component of those vectors (on the "
            "torch backend in float64: within float32's bound, " + FLOAT32_MODEL_TEXT + ")"
        ),
        example=Example({"reduction": "sum"}, _ZERO_ROW, mode=modes[0] if modes else "eager"),
    )


DIVERGENCES: list[Divergence] = [
    nan_gradient(f"{LOSS}/clamped-norm-nan-gradient", NAN_GRADIENT),
    nan_gradient(
        f"{LOSS}/keras-tf-xla-clamped-norm-nan-gradient",
        NAN_GRADIENT
        + ". On the TensorFlow backend only under XLA (jit): eager TensorFlow's RsqrtGrad "
        "returns 0 for the zero cotangent, and its gradient is the reference's",
        modes=("jit",),
    ),
    Divergence(
        id=f"{LOSS}/float16-inverse-epsilon-overflows",
        kind="known-bug",
        loss=LOSS,
        description=(
            "normalize's bound on the inverse norm, 1/ε = 1e7, is beyond float16's largest "
            "value (65504): it becomes inf and the clamp is gone, so in float16 a zero vector "
            "gives 0·rsqrt(0) = 0·inf = NaN, not the 0 Keras documents ('If either y_true or "
            "y_pred is a zero vector, cosine similarity will be 0'), and a vector shorter than ε "
            "is normalised exactly"
        ),
        citation=COSINE,
        dtypes=("float16",),
        inputs=norm_below_eps,
        inputs_text="some vector's norm is below eps",
        model=without_clamp,
        model_text="the reference at eps = 0 (the exact cosine, NaN at a zero vector)",
        example=Example({"reduction": "sum"}, _ZERO_ROW, dtype="float16"),
    ),
    Divergence(
        id=f"{LOSS}/squares-out-of-range",
        kind="known-bug",
        loss=LOSS,
        description=(
            "normalize squares the components in the input dtype before rsqrt, without "
            "scaling: Σx² overflows to inf once ‖x‖ ≳ √max (256 in float16), rsqrt(inf) = 0 and "
            "the unit vector is 0, so the loss is −0 where the reference's is, e.g., −1 for "
            "parallel vectors; Σx² below the smallest normal loses bits (or is flushed to 0). "
            "The reference scales the norm by the largest component"
        ),
        citation=COSINE,
        inputs=squares_out_of_range,
        inputs_text="some vector's Σx² is above the dtype's maximum or below its smallest normal",
        example=Example(
            {"reduction": "sum"}, {"input1": [[300.0, 0.0]], "input2": [[1.0, 0.0]]}, "float16"
        ),
    ),
    Divergence(
        id=f"{LOSS}/keras-torch-float64-inverse-norm-in-float32",
        kind="known-bug",
        loss=LOSS,
        description=(
            "On the torch backend ops.minimum(rsqrt(Σx²), 1/ε) casts both operands to "
            "result_type(float64, float) = float32 (Keras forces a 64-bit result type to 32 bits "
            "on every backend but TensorFlow), so a float64 cosine is built from float32 inverse "
            "norms: −cos of parallel vectors (−2, 3, 0.5) comes back −0.99999991, off by 9e-8"
        ),
        citation=f"{KERAS_SRC}/backend/torch/numpy.py#L1320-L1331; {KERAS_BIT64_TO_BIT32}",
        dtypes=("float64",),
        model=computed_in_float32(round_elements=False),
        model_text=FLOAT32_MODEL_TEXT,
        example=Example(
            {"reduction": "sum"}, {"input1": [[-2.0, 3.0, 0.5]], "input2": [[-2.0, 3.0, 0.5]]}
        ),
    ),
]

ACCEPTS: list[Accepts] = [
    Accepts(
        id=f"{LOSS}/broadcasts-mismatched-shapes",
        loss=LOSS,
        argument="shapes",
        description=(
            "keras.losses.cosine_similarity broadcasts y_true and y_pred (NumPy's rules, after "
            "LossFunctionWrapper's squeeze_or_expand_to_same_rank) instead of rejecting shapes "
            "no layout allows: a (1, D) input1 against a (N, D) input2 is compared with every "
            "row, and a number comes back where the reference raises"
        ),
        citation=f"{KERAS_LOSSES}#L1954-L1958; {KERAS_RANK_FIX}",
        accepts=vectors_broadcast,
        accepts_text="input1 and input2 broadcast",
        example=Example(
            {"reduction": "mean"},
            {"input1": [[1.0, 0.5, -1.0]], "input2": [[0.5, 1.0, 2.0], [-1.0, 0.25, 0.75]]},
        ),
    ),
]

# Entries that hold on some backends only (the others: every backend).
BACKENDS: dict[str, tuple[str, ...]] = {
    f"{LOSS}/clamped-norm-nan-gradient": ("jax", "torch"),
    f"{LOSS}/keras-tf-xla-clamped-norm-nan-gradient": ("tensorflow",),
    f"{LOSS}/keras-torch-float64-inverse-norm-in-float32": ("torch",),
}
