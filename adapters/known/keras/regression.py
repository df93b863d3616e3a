"""TensorFlow/Keras against the reference: regression losses (mse, l1, huber, smooth_l1, log_cosh,
mean_squared_logarithmic_error, mean_absolute_percentage_error).

Keras' regression losses are per-sample losses (the mean over the last axis comes first), and
TensorFlow broadcasts input and target where the reference rejects their shapes. Keras' squared
logarithmic error clips both arguments to ε = 1e-7 before log(· + 1), and its percentage error
divides by max(|target|, ε): conventions with a model, and the reason neither raises outside the
reference's domains.
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
    KERAS_EPSILON,
    KERAS_LOSSES,
    KERAS_MEAN,
    KERAS_SRC,
    WHERE_NAN_GRADIENT,
    PerSampleModel,
    array,
    broadcasts_input_and_target,
    float32_term_scale,
    in_dtype,
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
FLOAT64_NONZERO_TARGET = Example(
    {}, {"input": [[0.1, -0.7], [1.3, 0.2]], "target": [[0.3, 0.4], [-0.4, 1.35]]}
)
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

# --- mean_squared_logarithmic_error and mean_absolute_percentage_error: Keras' ε -----------------

MSLE = Example(
    {"reduction": "none"},
    {"input": [[0.5, 2.0], [3.0, 0.25]], "target": [[1.0, 0.25], [0.5, 4.0]]},
    cotangent=COTANGENT,
)
MAPE = Example(
    {"reduction": "none"},
    {"input": [[0.5, -1.0], [2.0, 0.25]], "target": [[1.0, 0.75], [-1.0, -0.5]]},
    cotangent=COTANGENT,
)
MSLE_SOURCE = f"{KERAS_LOSSES}#L1911-L1918"
MAPE_SOURCE = f"{KERAS_LOSSES}#L1865-L1871"


def below_epsilon(*names: str):
    """Some element of ``names`` lies below Keras' ε (a constant of the case dtype)."""

    def pred(case: Case) -> bool:
        eps = in_dtype(KERAS_EPSILON, case)
        return any(bool(np.any(array(case, n) < eps)) for n in names)

    return pred


def target_magnitude_below_epsilon(case: Case) -> bool:
    return bool(np.any(np.abs(array(case, "target")) < in_dtype(KERAS_EPSILON, case)))


def msle_clipped(case: Case, in_float32: bool = False) -> Prediction:
    """The reference's definition on max(x, ε) and max(y, ε); no gradient reaches a clipped
    argument. ``in_float32``: evaluated in float32 (float32's error bound on its terms)."""
    spec, eps = R.get(case.loss), in_dtype(KERAS_EPSILON, case)

    def clip(a):
        return {**a, "input": np.maximum(a["input"], eps), "target": np.maximum(a["target"], eps)}

    def vjp(a, p, g):
        grads = spec.elementwise_vjp(clip(a), p, g)
        return {k: np.where(a[k] < eps, 0.0, v) for k, v in grads.items()}

    return predict(
        case,
        elementwise=lambda a, p: spec.elementwise(clip(a), p),
        elementwise_vjp=vjp,
        term_scale=float32_term_scale(spec.term_scale) if in_float32 else None,
    )


def msle_clipped_in_float32(case: Case) -> Prediction:
    return msle_clipped(case, in_float32=True)


def infinite_target(case: Case) -> bool:
    return bool(np.any(np.isinf(array(case, "target"))))


def mape_zero_gradient_at_infinite_target(*names: str):
    """The reference's gradients of ``names`` with 0 where the target is infinite (where they
    are NaN)."""

    def model(case: Case) -> Prediction:
        spec = R.get(case.loss)

        def vjp(a, p, g):
            undefined = np.isinf(a["target"])
            grads = spec.elementwise_vjp(a, p, g)
            return {k: np.where(undefined, 0.0, v) if k in names else v for k, v in grads.items()}

        return predict(case, elementwise_vjp=vjp)

    return model


def mape_divisor_clipped(case: Case, in_float32: bool = False) -> Prediction:
    """100·|x − y| / max(|y|, ε): where |y| < ε the divisor is the constant ε. ``in_float32``:
    evaluated in float32 (float32's error bound on its terms)."""
    spec, eps = R.get(case.loss), in_dtype(KERAS_EPSILON, case)

    def elementwise(a, p):
        y = a["target"]
        return R.Elementwise(100.0 * np.abs(a["input"] - y) / np.maximum(np.abs(y), eps))

    def vjp(a, p, g):
        y = a["target"]
        clipped = np.abs(y) < eps
        grads = spec.elementwise_vjp({**a, "target": np.where(clipped, 1.0, y)}, p, g)
        slope = 100.0 * g * np.sign(a["input"] - y) / eps
        return {
            "input": np.where(clipped, slope, grads["input"]),
            "target": np.where(clipped, -slope, grads["target"]),
        }

    return predict(
        case,
        elementwise=elementwise,
        elementwise_vjp=vjp,
        term_scale=float32_term_scale(spec.term_scale) if in_float32 else None,
    )


def mape_divisor_clipped_in_float32(case: Case) -> Prediction:
    return mape_divisor_clipped(case, in_float32=True)


def mape_jax_abs_gradient(case: Case) -> Prediction:
    """JAX's gradient of |q| at q = 0 is +1: with q = (y − x)/|y|, the input gradient is −100/|y|
    and the target gradient +100/|y| where x = y."""
    spec = R.get(case.loss)

    def vjp(a, p, g):
        x, y = a["input"], a["target"]
        grads = spec.elementwise_vjp(a, p, g)
        slope = 100.0 * g / np.abs(y)
        return {
            "input": np.where(x == y, -slope, grads["input"]),
            "target": np.where(x == y, slope, grads["target"]),
        }

    return predict(case, elementwise_vjp=vjp)


def float16_divisor_square_overflows(case: Case) -> bool:
    """y·y beyond float16's range where the error is not 0 (the quotient rule's second term)."""
    y, x = array(case, "target"), array(case, "input")
    with np.errstate(over="ignore"):
        square = R.round_to(y * y, "float16")
    return bool(np.any(np.isinf(square) & np.isfinite(y) & (x != y)))


def mape_target_gradient_without_second_term(case: Case) -> Prediction:
    """The target gradient where y·y overflows: −100·sign(x − y)/|y| alone (its term
    −100·|x − y|·sign(y)/y² divided by an infinite y·y is 0)."""
    spec = R.get(case.loss)

    def vjp(a, p, g):
        x, y = a["input"], a["target"]
        grads = spec.elementwise_vjp(a, p, g)
        with np.errstate(over="ignore"):
            overflow = np.isinf(R.round_to(y * y, "float16")) & np.isfinite(y)
        first = -100.0 * g * np.sign(x - y) / np.abs(y)
        return {**grads, "target": np.where(overflow, first, grads["target"])}

    return predict(case, elementwise_vjp=vjp)


# What the two backends that drop MAPE's y⁻² gradient term in float16 (TensorFlow under XLA, JAX)
# share: where it happens and what they return there
DIVISOR_SQUARE_OVERFLOWS = dict(
    inputs=float16_divisor_square_overflows,
    inputs_text="a target of magnitude ≥ 256 (y·y beyond float16) with x ≠ y",
    affects=("grad",),
    model=mape_target_gradient_without_second_term,
    model_text="the reference's target gradient without its term divided by y² where y·y "
    "overflows float16",
)

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
    # --- mean_squared_logarithmic_error
    keras_per_sample_none(
        "mean_squared_logarithmic_error/keras-per-sample-none",
        "mean_squared_logarithmic_error",
        MSLE,
    ),
    keras_per_sample_sum(
        "mean_squared_logarithmic_error/keras-per-sample-sum",
        "mean_squared_logarithmic_error",
        Example({"reduction": "sum"}, MSLE.arrays),
    ),
    keras_rank_0_rejected(
        "mean_squared_logarithmic_error/keras-rank-0-rejected",
        "mean_squared_logarithmic_error",
        SCALAR,
    ),
    Divergence(
        id="mean_squared_logarithmic_error/keras-clip-epsilon",
        kind="convention",
        loss="mean_squared_logarithmic_error",
        description=(
            "keras.losses.mean_squared_logarithmic_error takes log(max(x, ε) + 1) of both "
            "arguments (ε = 1e-7; its docstring: 'Negative values and 0 values will be replaced "
            "with keras.backend.epsilon()'), where the reference's log(1 + x) is defined on all "
            "of (−1, ∞): below ε the value is that of ε and no gradient reaches the argument "
            "(input −0.5 against target 1: (log(1 + 1e-7) − log 2)² ≈ 0.48045 instead of "
            "(log ½ − log 2)² = 1.92181, input gradient 0 instead of −5.545)"
        ),
        citation=MSLE_SOURCE,
        inputs=below_epsilon("input", "target"),
        inputs_text="an input or target below ε = 1e-7 (in the case dtype)",
        model=msle_clipped,
        model_text="the reference's loss of max(x, ε) and max(y, ε), no gradient where clipped",
        # float32: the JAX and torch backends compute float64 in float32 (their own entries)
        example=Example({}, {"input": [[-0.5, 2.0]], "target": [[1.0, 0.5]]}, dtype="float32"),
    ),
    # --- mean_absolute_percentage_error
    keras_per_sample_none(
        "mean_absolute_percentage_error/keras-per-sample-none",
        "mean_absolute_percentage_error",
        MAPE,
    ),
    keras_per_sample_sum(
        "mean_absolute_percentage_error/keras-per-sample-sum",
        "mean_absolute_percentage_error",
        Example({"reduction": "sum"}, MAPE.arrays),
    ),
    keras_rank_0_rejected(
        "mean_absolute_percentage_error/keras-rank-0-rejected",
        "mean_absolute_percentage_error",
        Example({}, {"input": 0.5, "target": 0.25}),
    ),
    Divergence(
        id="mean_absolute_percentage_error/keras-divisor-epsilon",
        kind="convention",
        loss="mean_absolute_percentage_error",
        description=(
            "keras.losses.mean_absolute_percentage_error divides by max(|y|, ε) (ε = 1e-7; "
            "'Division by zero is prevented by dividing by maximum(y_true, epsilon)'): where "
            "|y| < ε the divisor is ε, not |y| (input 1 against target 1e-8: 100·(1 − 1e-8)/1e-7 "
            "≈ 1e9 instead of 1e10), and the target gradient is that of the numerator alone"
        ),
        citation=MAPE_SOURCE,
        inputs=target_magnitude_below_epsilon,
        inputs_text="a target of magnitude below ε = 1e-7 (in the case dtype)",
        model=mape_divisor_clipped,
        model_text="100·|x − y| / max(|y|, ε), the divisor a constant where clipped",
        example=Example({}, {"input": [[1.0, 2.0]], "target": [[1e-8, 0.5]]}, dtype="float32"),
    ),
    Divergence(
        id="mean_absolute_percentage_error/keras-jax-abs-gradient-at-zero",
        kind="convention",
        loss="mean_absolute_percentage_error",
        description=(
            "On the JAX backend keras.losses.mean_absolute_percentage_error differentiates "
            "ops.abs((y − x)/max(|y|, ε)) with JAX's rule for abs, gradient +1 at 0: where input "
            "equals target the input gradient is −100/|y| and the target gradient +100/|y| "
            "(divided by the last axis' length) instead of the reference's subgradient 0; the "
            "TensorFlow and torch backends give 0"
        ),
        citation=(
            f"{MAPE_SOURCE}; "
            "https://github.com/jax-ml/jax/blob/jax-v0.10.2/jax/_src/lax/lax.py#L4710-L4716"
        ),
        inputs=zero_error,
        inputs_text="input equals target somewhere",
        affects=("grad",),
        model=mape_jax_abs_gradient,
        model_text="the reference's gradients with −100/|y| (input) and +100/|y| (target) at x = y",
        example=Example({}, {"input": [[0.5, 1.0]], "target": [[0.5, 2.0]]}),
    ),
    Divergence(
        id="mean_absolute_percentage_error/xla-float16-divisor-square-overflows",
        kind="known-bug",
        loss="mean_absolute_percentage_error",
        description=(
            "The gradient of Keras' (y − x)/max(|y|, ε) with respect to the divisor m is "
            "TensorFlow's RealDiv gradient grad·((−n/m)/m), which XLA's algebraic simplifier "
            "rewrites as grad·(−n/(m·m)) ('(A / B) / C => A / (B * C)'): in float16 m·m "
            "overflows to inf for |y| ≥ 256, that term becomes 0 and the target gradient is "
            "−100·sign(x − y)/|y| alone (input 11.58 against target 830.5, mean of 4: 0.0301 "
            "instead of 0.00042); eager TensorFlow divides twice and is right"
        ),
        citation=(
            "https://github.com/tensorflow/tensorflow/blob/v2.21.0/tensorflow/python/ops/"
            "math_grad.py#L1489-L1497; https://github.com/openxla/xla/blob/main/xla/hlo/"
            "transforms/simplifiers/algebraic_simplifier.cc (HandleDivide, "
            "'(A / B) / C => A / (B * C)')"
        ),
        dtypes=("float16",),
        modes=("jit",),
        **DIVISOR_SQUARE_OVERFLOWS,
        example=Example(
            {},
            {"input": [11.578125, 1.0], "target": [830.5, 2.0]},
            dtype="float16",
            mode="jit",
        ),
    ),
    Divergence(
        id="mean_absolute_percentage_error/keras-jax-float16-divisor-square-overflows",
        kind="known-bug",
        loss="mean_absolute_percentage_error",
        description=(
            "On the JAX backend the gradient of Keras' (y − x)/max(|y|, ε) with respect to the "
            "divisor m is −g·n·m^−2, with m^−2 = integer_pow(m, −2) formed as 1/(m·m): in "
            "float16 m·m overflows to inf for |y| ≥ 256, that term becomes 0 and the target "
            "gradient is −100·sign(x − y)/|y| alone (input 2^−8 against target 256, mean of 8: "
            "0.0488 instead of 7.45e-7), eagerly and under jax.jit"
        ),
        citation=(
            f"{MAPE_SOURCE}; https://github.com/jax-ml/jax/blob/jax-v0.10.2/jax/_src/lax/"
            "lax.py#L5096-L5098"
        ),
        dtypes=("float16",),
        **DIVISOR_SQUARE_OVERFLOWS,
        example=Example({}, {"input": [0.00390625, 1.0], "target": [256.0, 2.0]}, dtype="float16"),
    ),
    Divergence(
        id="mean_absolute_percentage_error/keras-jax-input-gradient-at-infinite-target",
        kind="convention",
        loss="mean_absolute_percentage_error",
        description=(
            "At an infinite target Keras' quotient q = (y − x)/max(|y|, ε) is inf/inf = NaN; "
            "JAX's rule for abs gives it the finite cotangent −g there (select(q ≥ 0, g, −g)), "
            "which the division by the infinite divisor turns into an input gradient of 0, "
            "where the reference's (and TensorFlow's) is NaN; the target gradient and the value "
            "stay NaN"
        ),
        citation=(
            f"{MAPE_SOURCE}; "
            "https://github.com/jax-ml/jax/blob/jax-v0.10.2/jax/_src/lax/lax.py#L4710-L4716"
        ),
        inputs=infinite_target,
        inputs_text="an infinite target",
        affects=("grad",),
        model=mape_zero_gradient_at_infinite_target("input"),
        model_text="the reference's input gradient with 0 where the target is infinite",
        example=Example({}, {"input": [[1.0, 0.5]], "target": [[INF, 1.0]]}),
    ),
    Divergence(
        id="mean_squared_logarithmic_error/keras-function-epsilon-float32",
        kind="known-bug",
        loss="mean_squared_logarithmic_error",
        description=(
            "keras.losses.mean_squared_logarithmic_error converts ε with "
            "ops.convert_to_tensor(backend.epsilon()), without a dtype: a float32 tensor, so "
            "ops.maximum(y_pred, ε) promotes float16 and bfloat16 to float32 and the function "
            "returns float32 per-sample losses (the class MeanSquaredLogarithmicError converts "
            "them back to its dtype)"
        ),
        citation=f"{KERAS_LOSSES}#L1910-L1918",
        where={"reduction": "none"},
        dtypes=("float16", "bfloat16"),
        affects=("dtype",),
        example=Example(
            {"reduction": "none"},
            MSLE.arrays,
            dtype="float16",
            cotangent=COTANGENT,
            api="keras.losses.mean_squared_logarithmic_error",
        ),
    ),
    Divergence(
        id="mean_squared_logarithmic_error/keras-float64-clip-in-float32",
        kind="known-bug",
        loss="mean_squared_logarithmic_error",
        description=(
            "The clip to ε (mean_squared_logarithmic_error/keras-clip-epsilon) of a float64 case "
            "on the JAX and torch backends, which compute it in float32: ops.mean's float32 on "
            "both (<loss>/keras-float64-mean-in-float32), and on torch all of it, as "
            "ops.maximum(y_pred, ε) casts a float64 y_pred and the float32 ε to "
            "result_type(float64, float32) = float64, which Keras forces to float32"
        ),
        citation=(
            f"{KERAS_LOSSES}#L1910-L1918; {KERAS_SRC}/backend/torch/numpy.py#L1252-L1263; "
            f"{KERAS_MEAN}; {KERAS_BIT64_TO_BIT32}"
        ),
        dtypes=("float64",),
        inputs=below_epsilon("input", "target"),
        inputs_text="an input or target below ε = 1e-7",
        model=msle_clipped_in_float32,
        model_text="the reference's loss of max(x, ε) and max(y, ε), no gradient where "
        "clipped, " + FLOAT32_MODEL_TEXT,
        example=Example({}, {"input": [[-0.5, 2.1]], "target": [[1.3, 0.7]]}),
    ),
    Divergence(
        id="mean_absolute_percentage_error/keras-float64-divisor-epsilon-in-float32",
        kind="known-bug",
        loss="mean_absolute_percentage_error",
        description=(
            "The divisor max(|y|, ε) (mean_absolute_percentage_error/keras-divisor-epsilon) of "
            "a float64 case on the JAX and torch backends, whose ops.mean computes it in float32 "
            "(<loss>/keras-float64-mean-in-float32)"
        ),
        citation=f"{MAPE_SOURCE}; {KERAS_MEAN}; {KERAS_BIT64_TO_BIT32}",
        dtypes=("float64",),
        inputs=target_magnitude_below_epsilon,
        inputs_text="a target of magnitude below ε = 1e-7",
        model=mape_divisor_clipped_in_float32,
        model_text="100·|x − y| / max(|y|, ε), the divisor a constant where clipped, "
        + FLOAT32_MODEL_TEXT,
        example=Example({}, {"input": [[1.0, 2.1]], "target": [[1e-8, 0.7]]}),
    ),
    Divergence(
        id="mean_squared_logarithmic_error/keras-torch-float64-function-returns-float32",
        kind="known-bug",
        loss="mean_squared_logarithmic_error",
        description=(
            "On the torch backend keras.losses.mean_squared_logarithmic_error returns float32 "
            "for float64 inputs: ops.maximum(y_pred, ε) computes in float32 "
            "(mean_squared_logarithmic_error/keras-float64-clip-in-float32); the class "
            "converts the per-sample losses back to float64, the function does not"
        ),
        citation=f"{KERAS_SRC}/backend/torch/numpy.py#L1252-L1263; {KERAS_BIT64_TO_BIT32}",
        where={"reduction": "none"},
        dtypes=("float64",),
        affects=("dtype",),
        example=Example(
            {"reduction": "none"},
            MSLE.arrays,
            cotangent=COTANGENT,
            api="keras.losses.mean_squared_logarithmic_error",
        ),
    ),
    Divergence(
        id="mean_absolute_percentage_error/keras-torch-abs-gradient-of-nan-is-zero",
        kind="convention",
        loss="mean_absolute_percentage_error",
        description=(
            "At an infinite target Keras' quotient (y − x)/max(|y|, ε) is inf/inf = NaN, and on "
            "the torch backend the gradient of ops.abs is grad·sgn(q) with torch.sign(NaN) = 0: "
            "the input and target gradients there are 0 where the reference's (and TensorFlow's "
            "and JAX's) are NaN; the value is NaN on every side"
        ),
        citation=(
            f"{MAPE_SOURCE}; https://github.com/pytorch/pytorch/blob/v2.13.0/tools/autograd/"
            "derivatives.yaml (abs: grad * self.sgn())"
        ),
        inputs=infinite_target,
        inputs_text="an infinite target",
        affects=("grad",),
        model=mape_zero_gradient_at_infinite_target("input", "target"),
        model_text="the reference's gradients with 0 where the target is infinite",
        example=Example({}, {"input": [[1.0, 0.5]], "target": [[INF, 1.0]]}),
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
    keras_float64_mean_in_float32(
        "mean_squared_logarithmic_error/keras-float64-mean-in-float32",
        "mean_squared_logarithmic_error",
        Example({}, {"input": [[0.1, 0.7], [1.3, 0.2]], "target": [[0.3, 0.4], [0.4, 1.35]]}),
    ),
    keras_float64_mean_in_float32(
        "mean_absolute_percentage_error/keras-float64-mean-in-float32",
        "mean_absolute_percentage_error",
        FLOAT64_NONZERO_TARGET,
    ),
]

ACCEPTS: list[Accepts] = [
    broadcasts_input_and_target("mse_loss/broadcasts-mismatched-shapes", "mse_loss", BROADCAST),
    broadcasts_input_and_target("l1_loss/broadcasts-mismatched-shapes", "l1_loss", BROADCAST),
    broadcasts_input_and_target("huber_loss/broadcasts-mismatched-shapes", "huber_loss", BROADCAST),
    broadcasts_input_and_target(
        "smooth_l1_loss/broadcasts-mismatched-shapes", "smooth_l1_loss", BROADCAST
    ),
    broadcasts_input_and_target("log_cosh/broadcasts-mismatched-shapes", "log_cosh", BROADCAST),
    broadcasts_input_and_target(
        "mean_squared_logarithmic_error/broadcasts-mismatched-shapes",
        "mean_squared_logarithmic_error",
        Example({}, {"input": MSLE.arrays["input"], "target": [MSLE.arrays["target"]]}),
    ),
    broadcasts_input_and_target(
        "mean_absolute_percentage_error/broadcasts-mismatched-shapes",
        "mean_absolute_percentage_error",
        Example({}, {"input": MAPE.arrays["input"], "target": [MAPE.arrays["target"]]}),
    ),
    *(
        Accepts(
            id=f"mean_squared_logarithmic_error/keras-clips-{name}-at-or-below-minus-one",
            loss="mean_squared_logarithmic_error",
            argument=name,
            description=(
                "keras.losses.mean_squared_logarithmic_error replaces every value below ε by ε "
                "before log(· + 1), so a value at or below −1, where log(1 + x) is undefined, "
                "gives a number instead of an error"
            ),
            citation=MSLE_SOURCE,
            example=Example(
                {},
                {
                    "input": [[-1.0, 0.5]] if name == "input" else [[0.25, 0.5]],
                    "target": [[-2.0, 0.5]] if name == "target" else [[1.0, 0.5]],
                },
            ),
        )
        for name in ("input", "target")
    ),
    Accepts(
        id="mean_absolute_percentage_error/keras-zero-target-divided-by-epsilon",
        loss="mean_absolute_percentage_error",
        argument="target",
        description=(
            "keras.losses.mean_absolute_percentage_error divides by max(|y|, ε), so a target of "
            "0 gives 100·|x|/ε (1e9 for x = 1) where the reference rejects the division by zero"
        ),
        citation=MAPE_SOURCE,
        example=Example({}, {"input": [[1.0, 0.5]], "target": [[0.0, 1.0]]}),
    ),
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
    "mean_squared_logarithmic_error/keras-rank-0-rejected": ("tensorflow", "jax"),
    "mean_absolute_percentage_error/keras-rank-0-rejected": ("tensorflow", "jax"),
    "mean_squared_logarithmic_error/keras-float64-mean-in-float32": ("jax", "torch"),
    "mean_absolute_percentage_error/keras-float64-mean-in-float32": ("jax", "torch"),
    "mean_absolute_percentage_error/keras-jax-abs-gradient-at-zero": ("jax",),
    "mean_absolute_percentage_error/xla-float16-divisor-square-overflows": ("tensorflow",),
    "mean_squared_logarithmic_error/keras-function-epsilon-float32": ("tensorflow", "torch"),
    "mean_squared_logarithmic_error/keras-float64-clip-in-float32": ("jax", "torch"),
    "mean_absolute_percentage_error/keras-float64-divisor-epsilon-in-float32": ("jax", "torch"),
    "mean_squared_logarithmic_error/keras-torch-float64-function-returns-float32": ("torch",),
    "mean_absolute_percentage_error/keras-torch-abs-gradient-of-nan-is-zero": ("torch",),
    "mean_absolute_percentage_error/keras-jax-float16-divisor-square-overflows": ("jax",),
    "mean_absolute_percentage_error/keras-jax-input-gradient-at-infinite-target": ("jax",),
}
