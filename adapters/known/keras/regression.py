"""TensorFlow/Keras against the reference: regression losses (mse, l1, huber, smooth_l1, log_cosh).

Keras' regression losses are per-sample losses (the mean over the last axis comes first), and
TensorFlow broadcasts input and target where the reference rejects their shapes.
"""

from __future__ import annotations

import numpy as np

from reference import Case

from ...base import Accepts, Divergence, Example
from ._common import (
    KERAS_LOSSES,
    WHERE_NAN_GRADIENT,
    PerSampleModel,
    array,
    broadcasts_input_and_target,
    keras_float64_mean_in_float32,
    keras_per_sample_none,
    keras_per_sample_sum,
    keras_rank_0_rejected,
    tf_flushes_subnormal_inputs,
)

# keras.losses.log_cosh subtracts ops.log(2.0) of a float32 2.0: float32's log 2, not float64's
LOG2 = float(np.log(2.0))
LOG2_FLOAT32 = float(np.log(np.float32(2.0)))

INF = np.inf

# Inputs shared by the examples of the per-sample entries: errors 0.5, −1.75, 3, 0.75 stay off
# every kink (0, ±delta, ±beta).
X = [[0.5, -1.0], [2.0, 0.25]]
T = [[0.0, 0.75], [-1.0, -0.5]]
COTANGENT = [[1.0, -0.5], [2.0, 0.25]]
NONE = Example({"reduction": "none"}, {"input": X, "target": T}, cotangent=COTANGENT)
SUM = Example({"reduction": "sum"}, {"input": X, "target": T})
SCALAR = Example({}, {"input": 0.5, "target": 0.25})
# Errors float32 cannot hold (0.1, −1.1, 1.7, −1.15), off every kink: float64 results that float32
# arithmetic moves.
FLOAT64 = Example({}, {"input": [[0.1, -0.7], [1.3, 0.2]], "target": [[0.0, 0.4], [-0.4, 1.35]]})
# Shapes (1, 2, 2) against (2, 2): no layout, but they broadcast.
BROADCAST = Example({}, {"input": X, "target": [T]})


def infinite_error(case: Case) -> bool:
    """|input − target| is infinite somewhere (an infinite operand, not inf − inf)."""
    return bool(np.any(np.isinf(array(case, "input") - array(case, "target"))))


def zero_error(case: Case) -> bool:
    """input − target is 0 somewhere (the kink of |input − target|)."""
    return bool(np.any(array(case, "input") == array(case, "target")))


def error_is_minus_inf(case: Case) -> bool:
    return bool(np.any((array(case, "input") - array(case, "target")) == -np.inf))


WHERE_NAN_GRADIENT_TEXT = "|input − target| = inf"

DIVERGENCES: list[Divergence] = [
    # --- mse_loss
    keras_per_sample_none("mse_loss/keras-per-sample-none", "mse_loss", NONE),
    keras_per_sample_sum("mse_loss/keras-per-sample-sum", "mse_loss", SUM),
    keras_rank_0_rejected("mse_loss/keras-rank-0-rejected", "mse_loss", SCALAR),
    # --- l1_loss
    keras_per_sample_none("l1_loss/keras-per-sample-none", "l1_loss", NONE),
    keras_per_sample_sum("l1_loss/keras-per-sample-sum", "l1_loss", SUM),
    keras_rank_0_rejected("l1_loss/keras-rank-0-rejected", "l1_loss", SCALAR),
    tf_flushes_subnormal_inputs(
        "l1_loss/tf-flushes-subnormal-inputs",
        "l1_loss",
        # the flushed error is 0, where TensorFlow's sign (the gradient) is 0 instead of 1
        Example({}, {"input": [1e-310, 0.5], "target": [0.0, 0.25]}),
    ),
    # --- huber_loss
    keras_per_sample_none("huber_loss/keras-per-sample-none", "huber_loss", NONE),
    keras_per_sample_sum("huber_loss/keras-per-sample-sum", "huber_loss", SUM),
    keras_rank_0_rejected("huber_loss/keras-rank-0-rejected", "huber_loss", SCALAR),
    Divergence(
        id="huber_loss/keras-where-nan-gradient-at-infinite-error",
        kind="known-bug",
        loss="huber_loss",
        description=(
            "keras.losses.huber selects 0.5·d² or δ·|d| − 0.5·δ² with ops.where; at an infinite "
            "error the unselected branch's gradient is inf·0 = NaN and tf.where propagates it, "
            "so the gradient is NaN instead of ±δ"
        ),
        citation=WHERE_NAN_GRADIENT,
        inputs=infinite_error,
        inputs_text=WHERE_NAN_GRADIENT_TEXT,
        affects=("grad",),
        example=Example({}, {"input": [[INF, 0.5]], "target": [[0.0, 0.25]]}),
    ),
    # --- smooth_l1_loss
    keras_per_sample_none("smooth_l1_loss/keras-per-sample-none", "smooth_l1_loss", NONE),
    keras_per_sample_sum("smooth_l1_loss/keras-per-sample-sum", "smooth_l1_loss", SUM),
    keras_rank_0_rejected("smooth_l1_loss/keras-rank-0-rejected", "smooth_l1_loss", SCALAR),
    Divergence(
        id="smooth_l1_loss/keras-where-nan-gradient-at-infinite-error",
        kind="known-bug",
        loss="smooth_l1_loss",
        description=(
            "smooth_l1 with beta = 1 runs keras.losses.Huber(delta=1.0), whose ops.where gives a "
            "NaN gradient at an infinite error instead of ±1"
        ),
        citation=WHERE_NAN_GRADIENT,
        where={"beta": 1.0},
        inputs=infinite_error,
        inputs_text=WHERE_NAN_GRADIENT_TEXT,
        affects=("grad",),
        example=Example({}, {"input": [[-INF, 0.5]], "target": [[0.0, 0.25]]}),
    ),
    tf_flushes_subnormal_inputs(
        "smooth_l1_loss/tf-flushes-subnormal-inputs",
        "smooth_l1_loss",
        # beta = 0 runs mean_absolute_error: the sign of a flushed error is 0 instead of 1
        Example({"beta": 0.0}, {"input": [1e-310, 0.5], "target": [0.0, 0.25]}),
    ),
    # --- log_cosh
    keras_per_sample_none("log_cosh/keras-per-sample-none", "log_cosh", NONE),
    keras_per_sample_sum("log_cosh/keras-per-sample-sum", "log_cosh", SUM),
    keras_rank_0_rejected("log_cosh/keras-rank-0-rejected", "log_cosh", SCALAR),
    Divergence(
        id="log_cosh/keras-log2-rounded-to-float32",
        kind="known-bug",
        loss="log_cosh",
        description=(
            "keras.losses.log_cosh subtracts log2 = convert_to_tensor(ops.log(2.0), dtype): the "
            "log is taken of a float32 2.0, so in float64 every element is off by "
            "log(2) − float32(log 2) ≈ −1.9e-9 (the float64 mean of [5, −3] is 3.308113359553874 "
            "instead of 3.3081133614585285)"
        ),
        citation=f"{KERAS_LOSSES}#L2011-L2057",
        inputs_text="any input (a 0-d input raises first on the TensorFlow and JAX backends)",
        affects=("value",),
        dtypes=("float64",),
        model=PerSampleModel("case", change=lambda loss: loss + (LOG2 - LOG2_FLOAT32)),
        model_text="the reference's elementwise losses shifted by log 2 − float32(log 2), then "
        "Keras' per-sample mean (none: per sample; sum: Σ/D; on the jax and torch backends in "
        "float32)",
        example=Example({}, {"input": [5.0, -3.0], "target": [0.0, 0.0]}),
    ),
    Divergence(
        id="log_cosh/keras-minus-inf-error",
        kind="convention",
        loss="log_cosh",
        description=(
            "keras.losses.log_cosh evaluates d + softplus(−2d) − log 2, which is −inf + inf = NaN "
            "at d = −inf; the reference's |d| + softplus(−2|d|) − log 2 gives +inf"
        ),
        citation=f"{KERAS_LOSSES}#L2011-L2057",
        inputs=error_is_minus_inf,
        inputs_text="input − target = −inf",
        example=Example({}, {"input": [[-INF, 0.5]], "target": [[0.0, 0.25]]}),
    ),
    Divergence(
        id="l1_loss/keras-jax-abs-gradient-at-zero",
        kind="convention",
        loss="l1_loss",
        description=(
            "On the JAX backend keras.losses.mean_absolute_error differentiates ops.abs with "
            "JAX's rule for abs, which picks the gradient +1 at 0 (select(x ≥ 0, g, −g)): "
            "where input equals target the gradient is ∓1 (divided by the last axis' length) "
            "instead of the reference's subgradient 0 — input [[0.5, 1.0]] against target "
            "[[0.5, 0.0]] gives the input gradient [−0.5, 0.5] instead of [0, 0.5]; the "
            "TensorFlow and torch backends give 0"
        ),
        citation=(
            f"{KERAS_LOSSES}#L1802-L1825; "
            "https://github.com/jax-ml/jax/blob/jax-v0.10.2/jax/_src/lax/lax.py#L4710-L4716"
        ),
        inputs=zero_error,
        inputs_text="input equals target somewhere",
        affects=("grad",),
        example=Example({}, {"input": [[0.5, 1.0]], "target": [[0.5, 0.0]]}),
    ),
    Divergence(
        id="smooth_l1_loss/keras-jax-abs-gradient-at-zero",
        kind="convention",
        loss="smooth_l1_loss",
        description="smooth_l1 with beta = 0 runs keras.losses.MeanAbsoluteError: "
        + (
            "On the JAX backend keras.losses.mean_absolute_error differentiates ops.abs with "
            "JAX's rule for abs, which picks the gradient +1 at 0 (select(x ≥ 0, g, −g)): "
            "where input equals target the gradient is ∓1 (divided by the last axis' length) "
            "instead of the reference's subgradient 0 — input [[0.5, 1.0]] against target "
            "[[0.5, 0.0]] gives the input gradient [−0.5, 0.5] instead of [0, 0.5]; the "
            "TensorFlow and torch backends give 0"
        ),
        citation=(
            f"{KERAS_LOSSES}#L1802-L1825; "
            "https://github.com/jax-ml/jax/blob/jax-v0.10.2/jax/_src/lax/lax.py#L4710-L4716"
        ),
        where={"beta": 0.0},
        inputs=zero_error,
        inputs_text="input equals target somewhere",
        affects=("grad",),
        example=Example({"beta": 0.0}, {"input": [[0.5, 1.0]], "target": [[0.5, 0.0]]}),
    ),
    # --- float64 on the JAX and torch backends
    keras_float64_mean_in_float32("mse_loss/keras-float64-mean-in-float32", "mse_loss", FLOAT64),
    keras_float64_mean_in_float32("l1_loss/keras-float64-mean-in-float32", "l1_loss", FLOAT64),
    keras_float64_mean_in_float32(
        "huber_loss/keras-float64-mean-in-float32", "huber_loss", FLOAT64
    ),
    keras_float64_mean_in_float32(
        "smooth_l1_loss/keras-float64-mean-in-float32", "smooth_l1_loss", FLOAT64
    ),
    keras_float64_mean_in_float32("log_cosh/keras-float64-mean-in-float32", "log_cosh", FLOAT64),
]

ACCEPTS: list[Accepts] = [
    broadcasts_input_and_target("mse_loss/broadcasts-mismatched-shapes", "mse_loss", BROADCAST),
    broadcasts_input_and_target("l1_loss/broadcasts-mismatched-shapes", "l1_loss", BROADCAST),
    broadcasts_input_and_target("huber_loss/broadcasts-mismatched-shapes", "huber_loss", BROADCAST),
    broadcasts_input_and_target(
        "smooth_l1_loss/broadcasts-mismatched-shapes", "smooth_l1_loss", BROADCAST
    ),
    broadcasts_input_and_target("log_cosh/broadcasts-mismatched-shapes", "log_cosh", BROADCAST),
]


# Entries that hold on some backends only (the others: every backend).
BACKENDS: dict[str, tuple[str, ...]] = {
    "l1_loss/tf-flushes-subnormal-inputs": ("tensorflow",),
    "smooth_l1_loss/tf-flushes-subnormal-inputs": ("tensorflow",),
    "l1_loss/keras-jax-abs-gradient-at-zero": ("jax",),
    "smooth_l1_loss/keras-jax-abs-gradient-at-zero": ("jax",),
    "mse_loss/keras-rank-0-rejected": ("tensorflow", "jax"),
    "l1_loss/keras-rank-0-rejected": ("tensorflow", "jax"),
    "huber_loss/keras-rank-0-rejected": ("tensorflow", "jax"),
    "smooth_l1_loss/keras-rank-0-rejected": ("tensorflow", "jax"),
    "log_cosh/keras-rank-0-rejected": ("tensorflow", "jax"),
    "mse_loss/keras-float64-mean-in-float32": ("jax", "torch"),
    "l1_loss/keras-float64-mean-in-float32": ("jax", "torch"),
    "huber_loss/keras-float64-mean-in-float32": ("jax", "torch"),
    "smooth_l1_loss/keras-float64-mean-in-float32": ("jax", "torch"),
    "log_cosh/keras-float64-mean-in-float32": ("jax", "torch"),
}
