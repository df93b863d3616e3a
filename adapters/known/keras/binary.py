"""TensorFlow/Keras against the reference: binary losses (binary_cross_entropy,
binary_cross_entropy_with_logits, sigmoid_focal_loss, hinge_loss, squared_hinge).

Keras clips probabilities by ε = 1e-7, tf.nn's logistic losses evaluate their formulas literally
(NaN at infinite logits), and neither checks that labels are probabilities. Keras' Hinge and
SquaredHinge (and their functions hinge, squared_hinge) are per-sample losses that check no label.
"""

from __future__ import annotations

import numpy as np

import reference as R
from reference import Case
from reference.contract import Prediction, predict

from ...base import Accepts, Divergence, Example
from ._common import (
    KERAS_BIT64_TO_BIT32,
    KERAS_EPSILON,
    KERAS_LOSSES,
    KERAS_SRC,
    KERAS_TF_NN,
    any_infinite,
    array,
    broadcasts_input_and_target,
    in_dtype,
    in_dtype_arithmetic,
    keras_float64_mean_in_float32,
    keras_per_sample_none,
    keras_per_sample_sum,
    keras_rank_0_rejected,
    keras_rank_fix,
    keras_rank_fix_squeezes_trailing_one,
    outside_clip,
    tf_flushes_subnormal_inputs,
)

INF = np.inf
KERAS_BCE = f"{KERAS_TF_NN}#L1444-L1490"
# Keras' binary_crossentropy of the JAX and torch backends: clip, then the logs (JAX) or
# F.binary_cross_entropy (torch)
KERAS_BCE_JAX = f"{KERAS_SRC}/backend/jax/nn.py#L1017-L1036"
KERAS_BCE_TORCH = f"{KERAS_SRC}/backend/torch/nn.py#L924-L958"
KERAS_FOCAL = f"{KERAS_LOSSES}#L2420-L2524"

PROBABILITIES = {"input": [[0.25, 0.5], [0.75, 0.125]], "target": [[1.0, 0.0], [0.5, 1.0]]}
LOGITS = {"input": [[0.5, -1.0], [2.0, 0.25]], "target": [[1.0, 0.0], [0.5, 1.0]]}
COTANGENT = [[1.0, -0.5], [2.0, 0.25]]
# probabilities and logits float32 cannot hold, inside Keras' clip
FLOAT64_PROBABILITIES = {"input": [[0.3, 0.6], [0.7, 0.1]], "target": [[1.0, 0.0], [0.5, 0.9]]}
FLOAT64_LOGITS = {"input": [[0.3, -1.1], [2.2, 0.7]], "target": [[1.0, 0.0], [0.5, 0.9]]}
LABEL_OUTSIDE = Example({}, {"input": [[0.5, -1.0]], "target": [[1.5, 0.0]]})
# Scores against ±1 labels off the hinge (s·x = 0.5, 1.5, −2, 0.25: two sides of it), and scores
# float32 cannot hold
SCORES = {"input": [[0.5, -1.5], [2.0, 0.25]], "target": [[1.0, -1.0], [-1.0, 1.0]]}
FLOAT64_SCORES = {"input": [[0.3, -1.7], [2.2, 0.1]], "target": [[1.0, -1.0], [-1.0, 1.0]]}
KERAS_HINGE_LABELS = f"{KERAS_LOSSES}#L1616-L1633"


def probability_one_with_label_one(case: Case) -> bool:
    x, y = array(case, "input"), array(case, "target")
    unclipped = in_dtype(1 - KERAS_EPSILON, case) == 1.0
    return unclipped and bool(np.any((x == 1) & (y == 1)))


def focal_factor_base_is_zero(case: Case) -> bool:
    """Keras' 1 − p_t, p_t = y·p + (1 − y)(1 − p), rounds to exactly 0 in the case dtype.

    p = sigmoid(x) as TensorFlow returns it: exactly 1 once e^−x < u (x > −log u, one ulp before
    a correctly rounded sigmoid would reach 1), else the correctly rounded value. Then a confident
    correct prediction — y = 1 with p = 1, or y ≈ 0 with 1 − p and 1 − y rounding to 1 — gives
    1 − p_t = 0.
    """
    r = in_dtype_arithmetic(case.dtype)
    u = R.FORMATS[case.dtype].eps / 2
    x, y = array(case, "input"), array(case, "target")
    p = np.where(x > -np.log(u), 1.0, r(1.0 / (1.0 + np.exp(-x))))
    p_t = r(r(y * p) + r(r(1.0 - y) * r(1.0 - p)))
    return bool(np.any(r(1.0 - p_t) == 0))


def same_shape_after_rank_fix(case: Case) -> bool:
    """Keras' binary cross-entropies: Keras' rank fix makes the shapes equal (one argument with a
    trailing dimension of 1 the other lacks), so its equal-shape check passes and the mean over
    the last axis has an axis to reduce."""
    x, t = np.shape(case.arrays["input"]), np.shape(case.arrays["target"])
    y_true, y_pred = keras_rank_fix(t, x)
    return y_true == y_pred and len(y_pred) >= 1


def sigmoid_outside_clip(case: Case) -> bool:
    """Some sigmoid(input), rounded to the case dtype, lies outside Keras' [ε, 1 − ε]."""
    x = array(case, "input")
    with np.errstate(over="ignore"):
        p = R.round_to(1.0 / (1.0 + np.exp(-x)), case.dtype)
    lo, hi = in_dtype(KERAS_EPSILON, case), in_dtype(1 - KERAS_EPSILON, case)
    return bool(np.any((p < lo) | (p > hi)))


def sigmoid_rounds_to_one(case: Case) -> bool:
    """sigmoid(input), rounded to the case dtype, is exactly 1 (where Keras' upper clip bound
    1 − 1e-7 is 1 as well: float16, bfloat16)."""
    x = array(case, "input")
    with np.errstate(over="ignore"):
        p = R.round_to(1.0 / (1.0 + np.exp(-x)), case.dtype)
    return bool(np.any(p == 1.0))


# Beyond this logit sigmoid(x) is within 2^-8 of 1: 1 − p formed from the probability as the
# dtype holds it has lost 8 bits against the logit's own log-sigmoid(−x).
SATURATED_LOGIT = float(np.log(2.0**8 - 1.0))


def sigmoid_complement_loses_bits(case: Case) -> bool:
    """Some logit x > ln 255: 1 − sigmoid(x) < 2^-8, so log(1 − p) from the rounded p carries
    the rounding of p amplified by 1/(1 − p)."""
    x = array(case, "input")
    return bool(np.any(x > SATURATED_LOGIT))


def float16_exp_of_minus_logit_overflows(case: Case) -> bool:
    """e^−x beyond float16's 65504 (x < −11.09): JAX's float16 logistic, 1/(1 + e^−x) in float16,
    is 0 there, where sigmoid(x) is a float16 subnormal down to x ≈ −17."""
    x = array(case, "input")
    return bool(np.any(x < -np.log(R.FORMATS["float16"].max_value)))


def _hinge_signs(case: Case) -> np.ndarray:
    """The labels as signs s, as Keras converts a tensor of 0s and 1s (2y − 1)."""
    y = array(case, "target")
    return 2.0 * y - 1.0 if case.params.get("labels", "sign") == "binary" else y


def on_the_hinge(case: Case) -> bool:
    """1 − s·x is exactly 0 in the case dtype somewhere (s·x is exact; 1 − v is 0 iff v = 1)."""
    return bool(np.any(_hinge_signs(case) * array(case, "input") == 1.0))


def hinge_gradient_at_the_hinge(share: float):
    """The reference's gradient with −share·s (times the cotangent) where 1 − s·x = 0: the
    maximum's gradient at its tie max(z, 0), z = 0, passed to z in full (share 1) or halved."""

    def model(case: Case) -> Prediction:
        spec = R.get(case.loss)

        def vjp(a, p, g):
            s = 2.0 * a["target"] - 1.0 if p.get("labels", "sign") == "binary" else a["target"]
            z = 1.0 - s * a["input"]
            grads = spec.elementwise_vjp(a, p, g)
            return {"input": np.where(z == 0, -share * s * g, grads["input"])}

        return predict(case, elementwise_vjp=vjp)

    return model


KERAS_TORCH_MAXIMUM = f"{KERAS_SRC}/backend/torch/numpy.py#L1252-L1263"
TORCH_MAXIMUM_GRAD = (
    "https://github.com/pytorch/pytorch/blob/v2.13.0/tools/autograd/derivatives.yaml "
    "(maximum(Tensor self, Tensor other): grad / 2 where self == other)"
)


DIVERGENCES: list[Divergence] = [
    # --- binary_cross_entropy (Keras, on probabilities)
    keras_per_sample_none(
        "binary_cross_entropy/keras-per-sample-none",
        "binary_cross_entropy",
        Example({"reduction": "none"}, PROBABILITIES, cotangent=COTANGENT),
    ),
    keras_per_sample_sum(
        "binary_cross_entropy/keras-per-sample-sum",
        "binary_cross_entropy",
        Example({"reduction": "sum"}, PROBABILITIES),
    ),
    Divergence(
        id="binary_cross_entropy/keras-clip-epsilon",
        kind="convention",
        loss="binary_cross_entropy",
        description=(
            "Keras' TensorFlow backend clips the probability to [ε, 1 − ε], ε = 1e-7, before the "
            "logs: −log(0) is 16.12 instead of +inf, a zero-weight term at p = 0 or 1 costs "
            "≈1e-7 instead of 0, and the gradient is 0 outside the clip"
        ),
        citation=KERAS_BCE,
        where={"weight": False},
        inputs=outside_clip("input", KERAS_EPSILON, 1 - KERAS_EPSILON),
        inputs_text="input < ε or > 1 − ε (ε = 1e-7 as a constant of the dtype)",
        example=Example({}, {"input": [[0.0, 0.5]], "target": [[1.0, 0.0]]}),
    ),
    Divergence(
        id="binary_cross_entropy/keras-upper-clip-rounds-to-one",
        kind="convention",
        loss="binary_cross_entropy",
        description=(
            "In float16 and bfloat16 Keras' upper clip bound 1 − 1e-7 rounds to 1, so p = 1 is not "
            "clipped and a label of 1 gives (1 − y)·log(1 − p) = 0·(−inf) = NaN (value and input "
            "gradient) where the reference drops the absent term"
        ),
        citation=KERAS_BCE,
        where={"weight": False},
        inputs=probability_one_with_label_one,
        inputs_text="input = 1 with target = 1, where 1 − 1e-7 rounds to 1 in the dtype",
        dtypes=("float16", "bfloat16"),
        example=Example({}, {"input": [[1.0, 0.5]], "target": [[1.0, 0.0]]}, dtype="float16"),
    ),
    tf_flushes_subnormal_inputs(
        "binary_cross_entropy/tf-flushes-subnormal-inputs",
        "binary_cross_entropy",
        # the ci edge case: 2^-16 is subnormal in float16, its input gradient −1/(4·2^-16) =
        # −16384 comes back −inf
        Example(
            {},
            {"input": [2.0**-16, 0.25, 0.5, 0.75], "target": [1.0, 0.0, 1.0, 0.0]},
            dtype="float16",
        ),
    ),
    # --- binary_cross_entropy_with_logits (tf.nn)
    # --- sigmoid_focal_loss (Keras BinaryFocalCrossentropy)
    keras_per_sample_none(
        "sigmoid_focal_loss/keras-per-sample-none",
        "sigmoid_focal_loss",
        Example({"reduction": "none"}, LOGITS, cotangent=COTANGENT),
    ),
    keras_per_sample_sum(
        "sigmoid_focal_loss/keras-per-sample-sum",
        "sigmoid_focal_loss",
        Example({"reduction": "sum"}, LOGITS),
    ),
    Divergence(
        id="sigmoid_focal_loss/keras-infinite-logit",
        kind="convention",
        loss="sigmoid_focal_loss",
        description=(
            "keras.losses.BinaryFocalCrossentropy(from_logits=True) computes its cross-entropy "
            "with tf.nn.sigmoid_cross_entropy_with_logits (NaN at x = +inf, and at x = −inf with "
            "label 0) and differentiates through sigmoid(x) and (1 − p_t)^γ, which gives NaN "
            "label gradients at infinite logits where the reference has ±inf"
        ),
        citation=KERAS_FOCAL,
        inputs=any_infinite("input"),
        inputs_text="an infinite logit",
        example=Example({}, {"input": [[INF, 0.5]], "target": [[1.0, 0.0]]}),
    ),
    Divergence(
        id="sigmoid_focal_loss/keras-gamma-zero-nan-gradient-when-certain",
        kind="known-bug",
        loss="sigmoid_focal_loss",
        description=(
            "With gamma = 0 keras.losses.binary_focal_crossentropy still differentiates "
            "(1 − p_t)^γ: d/db b^0 = 0·b^−1 is 0·inf = NaN where 1 − p_t rounds to exactly 0 "
            "(a confident, correct prediction: x > 36.7 with y = 1, or x < −37.4 with y ≤ 2^−54, "
            "in float64; in bfloat16 already x < −6.2 with y ≤ 2^−9), so the gradients are NaN "
            "where the reference's are (nearly) 0"
        ),
        citation=KERAS_FOCAL,
        where={"gamma": 0.0},
        inputs=focal_factor_base_is_zero,
        inputs_text="1 − p_t rounds to 0 in the dtype (a confident, correct prediction)",
        affects=("grad",),
        example=Example(
            {"alpha": None, "gamma": 0.0},
            {"input": [[-32.0, 0.5]], "target": [[2.0**-25, 0.0]]},
            dtype="float32",
        ),
    ),
    Divergence(
        id="sigmoid_focal_loss/keras-sigmoid-then-clip",
        kind="convention",
        loss="sigmoid_focal_loss",
        description=(
            "keras.losses.binary_focal_crossentropy(from_logits=True) applies ops.sigmoid and "
            "then the backend's binary_crossentropy on probabilities, which clips them to "
            "[ε, 1 − ε] (ε = 1e-7): where sigmoid(x) leaves that interval the log term is "
            "log ε instead of the logit's log-sigmoid — at logit −20 with label 1 (γ = 2, no "
            "class balancing) the loss is 16.118096 instead of 19.99999992, and the gradient "
            "through the clipped probability is 0. The TensorFlow backend recovers the logits "
            "from the Sigmoid op (_get_logits) and does not clip"
        ),
        citation=(f"{KERAS_LOSSES}#L2503-L2510; {KERAS_BCE_JAX}; {KERAS_BCE_TORCH}"),
        inputs=sigmoid_outside_clip,
        inputs_text="sigmoid(input) outside [ε, 1 − ε] (ε = 1e-7), in the case dtype",
        example=Example({"alpha": None}, {"input": [[-20.0]], "target": [[1.0]]}),
    ),
    Divergence(
        id="sigmoid_focal_loss/keras-probability-form-loses-precision",
        kind="known-bug",
        loss="sigmoid_focal_loss",
        description=(
            "On the JAX and torch backends keras.losses.binary_focal_crossentropy(from_logits="
            "True) turns the logits into probabilities, p = sigmoid(x) in the dtype, and takes "
            "log(1 − p) of that p: once sigmoid(x) nears 1 the complement 1 − p keeps only the "
            "few bits p's rounding left it, where the logit form log-sigmoid(−x) is exact. The "
            "label gradient, −(log p − log(1 − p)) = −x·(focal weights), moves by the relative "
            "error of 1 − p: float32, x = 14.9, label ≈ 1 (γ = 0, α = 0.25, sum over 4): −0.9282 "
            "where the reference gives −0.9314 (5.3e4 ULP). The TensorFlow backend recovers the "
            "logits from the Sigmoid op (_get_logits) and keeps them"
        ),
        citation=f"{KERAS_LOSSES}#L2503-L2510; {KERAS_BCE_JAX}; {KERAS_BCE_TORCH}",
        inputs=sigmoid_complement_loses_bits,
        inputs_text="a logit above ln 255 (sigmoid within 2^-8 of 1: 1 − p from the rounded p)",
        example=Example(
            {"alpha": 0.25, "gamma": 0.0, "reduction": "sum"},
            {
                "input": [-12.513832, 14.894624, 9.194800, -10.480429],
                "target": [0.997263, 0.999969, 1.0, 3.9e-09],
            },
            dtype="float32",
        ),
    ),
    Divergence(
        id="sigmoid_focal_loss/keras-upper-clip-rounds-to-one",
        kind="known-bug",
        loss="sigmoid_focal_loss",
        description=(
            "On the JAX and torch backends keras.losses.binary_focal_crossentropy(from_logits="
            "True) takes p = sigmoid(x) and clips it to [ε, 1 − ε]; in float16 and bfloat16 "
            "1 − 1e-7 rounds to 1, and so does sigmoid(x) once x > 7.6 (float16) or 5.5 "
            "(bfloat16), so log(1 − p) = log 0: JAX gives (1 − y)·(−inf), a loss of +inf (NaN "
            "for label 1), torch's F.binary_cross_entropy clamps the log at −100, a term of "
            "100·(1 − y) instead of (1 − y)·x (float16, x = 10.21, y = 0.9155, γ = 2, no "
            "balancing: 0.0603 instead of 0.00616); the gradient through the rounded "
            "probability is lost or NaN"
        ),
        citation=f"{KERAS_LOSSES}#L2503-L2510; {KERAS_BCE_JAX}; {KERAS_BCE_TORCH}",
        dtypes=("float16", "bfloat16"),
        inputs=sigmoid_rounds_to_one,
        inputs_text="sigmoid(input) rounds to 1 in the dtype (float16, bfloat16)",
        example=Example(
            {"alpha": None, "reduction": "sum"},
            {"input": [10.2109375], "target": [0.91552734375]},
            dtype="float16",
        ),
    ),
    Divergence(
        id="sigmoid_focal_loss/keras-jax-float16-sigmoid-underflows",
        kind="known-bug",
        loss="sigmoid_focal_loss",
        description=(
            "On the JAX backend the float16 sigmoid (lax.logistic, 1/(1 + e^−x) in float16) is 0 "
            "once e^−x overflows float16 (x < −11.09), where sigmoid(x) is a float16 subnormal "
            "above Keras' clip ε = 1e-7 down to x ≈ −15.9: binary_focal_crossentropy clips the 0 "
            "to ε, so the log term is log ε = −15.94 instead of x (x = −12.05, y = 0.998, γ = 0, "
            "α = 0.25: 3.994 instead of 3.0195) and the gradient through the clip is 0"
        ),
        citation=(
            f"{KERAS_LOSSES}#L2503-L2510; {KERAS_BCE_JAX}; "
            "https://github.com/jax-ml/jax/blob/jax-v0.10.2/jax/_src/lax/lax.py"
        ),
        dtypes=("float16",),
        inputs=float16_exp_of_minus_logit_overflows,
        inputs_text="a logit below −log 65504 ≈ −11.09 (float16)",
        example=Example(
            {"gamma": 0.0, "reduction": "sum"},
            {"input": [-12.0546875], "target": [0.998046875]},
            dtype="float16",
        ),
    ),
    # --- float64 on the JAX and torch backends
    keras_float64_mean_in_float32(
        "binary_cross_entropy/keras-float64-mean-in-float32",
        "binary_cross_entropy",
        Example({}, FLOAT64_PROBABILITIES),
    ),
    keras_float64_mean_in_float32(
        "sigmoid_focal_loss/keras-float64-mean-in-float32",
        "sigmoid_focal_loss",
        Example({}, FLOAT64_LOGITS),
    ),
    # --- hinge_loss, squared_hinge (Keras Hinge, SquaredHinge)
    *(
        entry
        for loss in ("hinge_loss", "squared_hinge")
        for entry in (
            keras_per_sample_none(
                f"{loss}/keras-per-sample-none",
                loss,
                Example({"reduction": "none"}, SCORES, cotangent=COTANGENT),
            ),
            keras_per_sample_sum(
                f"{loss}/keras-per-sample-sum", loss, Example({"reduction": "sum"}, SCORES)
            ),
            keras_rank_0_rejected(
                f"{loss}/keras-rank-0-rejected", loss, Example({}, {"input": 0.5, "target": 1.0})
            ),
            keras_float64_mean_in_float32(
                f"{loss}/keras-float64-mean-in-float32", loss, Example({}, FLOAT64_SCORES)
            ),
            Divergence(
                id=f"{loss}/keras-torch-float64-function-returns-float32",
                kind="known-bug",
                loss=loss,
                description=(
                    f"On the torch backend keras.losses.{loss.replace('_loss', '')} returns "
                    "float32 for float64 inputs: ops.maximum(1 − y·x, 0.0) casts both operands "
                    "to result_type(float64, float), which Keras forces from float64 to float32 "
                    "on every backend but TensorFlow. The class converts the per-sample losses "
                    "back to its dtype; the function hands them out as float32"
                ),
                citation=f"{KERAS_LOSSES}#L1669-L1670 and #L1706-L1708; "
                f"{KERAS_TORCH_MAXIMUM}; {KERAS_BIT64_TO_BIT32}",
                where={"reduction": "none"},
                dtypes=("float64",),
                affects=("dtype",),
                example=Example(
                    {"reduction": "none"},
                    SCORES,
                    cotangent=COTANGENT,
                    api=f"keras.losses.{loss.replace('_loss', '')}",
                ),
            ),
        )
    ),
    Divergence(
        id="hinge_loss/keras-tf-maximum-gradient-at-the-hinge",
        kind="convention",
        loss="hinge_loss",
        description=(
            "Keras' hinge is ops.maximum(1 − y·x, 0); at the hinge 1 − y·x = 0 TensorFlow's "
            "gradient of Maximum passes the whole cotangent to its first operand (x ≥ y), so "
            "the input gradient is −s where the reference takes the minimum-norm subgradient 0 "
            "(input [1, −1] against labels [1, −1], mean: [−0.5, 0.5] instead of [0, 0])"
        ),
        citation=(
            f"{KERAS_LOSSES}#L1669-L1670; https://github.com/tensorflow/tensorflow/blob/v2.21.0/"
            "tensorflow/python/ops/math_grad.py#L1557-L1586"
        ),
        inputs=on_the_hinge,
        inputs_text="s·x exactly 1 somewhere (the hinge)",
        affects=("grad",),
        model=hinge_gradient_at_the_hinge(1.0),
        model_text="the reference's gradient with −s·(cotangent) on the hinge",
        example=Example({}, {"input": [1.0, -1.0], "target": [1.0, -1.0]}),
    ),
    Divergence(
        id="hinge_loss/keras-maximum-tie-splits-gradient",
        kind="convention",
        loss="hinge_loss",
        description=(
            "Keras' hinge is ops.maximum(1 − y·x, 0); at the hinge 1 − y·x = 0 the JAX and "
            "torch backends split the cotangent of a maximum between its two equal operands, "
            "so the input gradient is −s/2 where the reference takes the minimum-norm "
            "subgradient 0 (input [1, −1] against labels [1, −1], mean: [−0.25, 0.25] instead "
            "of [0, 0])"
        ),
        citation=(
            f"{KERAS_LOSSES}#L1669-L1670; https://github.com/jax-ml/jax/blob/jax-v0.10.2/"
            "jax/_src/lax/lax.py#L5112-L5114 and #L9598-L9600; " + TORCH_MAXIMUM_GRAD
        ),
        inputs=on_the_hinge,
        inputs_text="s·x exactly 1 somewhere (the hinge)",
        affects=("grad",),
        model=hinge_gradient_at_the_hinge(0.5),
        model_text="the reference's gradient with −s/2·(cotangent) on the hinge",
        example=Example({}, {"input": [1.0, -1.0], "target": [1.0, -1.0]}),
    ),
]

ACCEPTS: list[Accepts] = [
    # --- binary_cross_entropy
    Accepts(
        id="binary_cross_entropy/keras-no-domain-check-input",
        loss="binary_cross_entropy",
        argument="input",
        description=(
            "Keras does not check that probabilities lie in [0, 1] and does not raise: inputs "
            "outside are clipped to [ε, 1 − ε], so a number comes back where the reference rejects "
            "the input"
        ),
        citation=f"{KERAS_BCE}; {KERAS_BCE_JAX}; {KERAS_BCE_TORCH}",
        where={"weight": False},
        example=Example({}, {"input": [[1.25, 0.5]], "target": [[1.0, 0.0]]}),
    ),
    Accepts(
        id="binary_cross_entropy/keras-no-domain-check-target",
        loss="binary_cross_entropy",
        argument="target",
        description=(
            "Keras does not check that labels lie in [0, 1] and does not raise: labels outside "
            "are used as they are, so a number comes back where the reference rejects the target"
        ),
        citation=f"{KERAS_BCE}; {KERAS_BCE_JAX}",
        where={"weight": False},
        example=Example({}, {"input": [[0.25, 0.5]], "target": [[1.5, 0.0]]}),
    ),
    keras_rank_fix_squeezes_trailing_one(
        "binary_cross_entropy/keras-rank-fix-squeezes-trailing-one",
        "binary_cross_entropy",
        function="BinaryCrossentropy",
        shown_by=(
            "input [0.5, 0.25] (2,) with target [[1], [0]] (2, 1), reduction sum, gives "
            "0.98083 = −log 0.5 − log 0.75, the reference's loss for target [1, 0]"
        ),
        accepts=same_shape_after_rank_fix,
        shapes="the input or the target",
        where={"weight": False},
        example=Example({"reduction": "sum"}, {"input": [0.5, 0.25], "target": [[1.0], [0.0]]}),
    ),
    # --- binary_cross_entropy_with_logits
    # --- sigmoid_focal_loss
    Accepts(
        id="sigmoid_focal_loss/keras-no-label-check",
        loss="sigmoid_focal_loss",
        argument="target",
        description=(
            "keras.losses.BinaryFocalCrossentropy does not check that labels lie in [0, 1]: the "
            "formula is evaluated for any label"
        ),
        citation=KERAS_FOCAL,
        example=LABEL_OUTSIDE,
    ),
    keras_rank_fix_squeezes_trailing_one(
        "sigmoid_focal_loss/keras-rank-fix-squeezes-trailing-one",
        "sigmoid_focal_loss",
        function="BinaryFocalCrossentropy",
        shown_by=(
            "input [[0], [2]] (2, 1) with target [1, 0] (2,), alpha 0.25, gamma 2, reduction "
            "sum, gives 1.28088, the reference's loss for input [0, 2]"
        ),
        accepts=same_shape_after_rank_fix,
        shapes="the input or the target",
        example=Example({"reduction": "sum"}, {"input": [[0.0], [2.0]], "target": [1.0, 0.0]}),
    ),
    # --- hinge_loss, squared_hinge
    *(
        row
        for loss, function in (("hinge_loss", "Hinge"), ("squared_hinge", "SquaredHinge"))
        for row in (
            Accepts(
                id=f"{loss}/keras-no-label-check",
                loss=loss,
                argument="target",
                description=(
                    f"keras.losses.{function} checks no label: a target that is not all 0s and "
                    "1s is used as it is, whatever its values (a label 0.5, or a 0 among ±1 "
                    "labels), and one that is all 0s and 1s is converted to 2y − 1 whichever "
                    "labels the configuration says, so a number comes back where the reference "
                    "rejects the target"
                ),
                citation=KERAS_HINGE_LABELS,
                example=Example({}, {"input": [[0.5, -1.0]], "target": [[0.5, -1.0]]}),
            ),
            broadcasts_input_and_target(
                f"{loss}/broadcasts-mismatched-shapes",
                loss,
                Example({}, {"input": SCORES["input"], "target": [SCORES["target"]]}),
            ),
        )
    ),
]


# Entries that hold on some backends only (the others: every backend).
BACKENDS: dict[str, tuple[str, ...]] = {
    "binary_cross_entropy/tf-flushes-subnormal-inputs": ("tensorflow",),
    "sigmoid_focal_loss/keras-sigmoid-then-clip": ("jax", "torch"),
    "binary_cross_entropy/keras-float64-mean-in-float32": ("jax", "torch"),
    # torch's F.binary_cross_entropy, behind Keras' torch backend, raises for labels outside [0, 1]
    "binary_cross_entropy/keras-no-domain-check-target": ("tensorflow", "jax"),
    "sigmoid_focal_loss/keras-no-label-check": ("tensorflow", "jax"),
    "sigmoid_focal_loss/keras-float64-mean-in-float32": ("jax", "torch"),
    "sigmoid_focal_loss/keras-upper-clip-rounds-to-one": ("jax", "torch"),
    "sigmoid_focal_loss/keras-probability-form-loses-precision": ("jax", "torch"),
    "sigmoid_focal_loss/keras-jax-float16-sigmoid-underflows": ("jax",),
    "hinge_loss/keras-rank-0-rejected": ("tensorflow", "jax"),
    "squared_hinge/keras-rank-0-rejected": ("tensorflow", "jax"),
    "hinge_loss/keras-float64-mean-in-float32": ("jax", "torch"),
    "squared_hinge/keras-float64-mean-in-float32": ("jax", "torch"),
    "hinge_loss/keras-torch-float64-function-returns-float32": ("torch",),
    "squared_hinge/keras-torch-float64-function-returns-float32": ("torch",),
    "hinge_loss/keras-tf-maximum-gradient-at-the-hinge": ("tensorflow",),
    "hinge_loss/keras-maximum-tie-splits-gradient": ("jax", "torch"),
}
