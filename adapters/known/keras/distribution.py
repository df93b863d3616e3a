"""TensorFlow/Keras against the reference: distribution losses (kl_div, poisson_nll_loss;
gaussian_nll_loss is not offered).

keras.losses.KLDivergence works on probabilities (exp of the reference's log-probabilities),
clipped by ε = 1e-7, and reduces the last axis first; Poisson runs tf.nn.log_poisson_loss on
log-rates or keras.losses.Poisson (a per-sample loss with its own ε) on rates.
"""

from __future__ import annotations

import numpy as np

import reference as R
from reference import Case
from reference.contract import Prediction, predict

from ...base import Accepts, Divergence, Example
from ._common import (
    KERAS_EPSILON,
    KERAS_LOSS_BASE,
    KERAS_LOSSES,
    KERAS_PER_SAMPLE,
    KERAS_SRC,
    array,
    broadcasts_input_and_target,
    in_dtype,
    keras_float64_mean_in_float32,
    keras_per_sample_none,
    keras_per_sample_sum,
    keras_rank_0_rejected,
    keras_torch_float64_mean_in_float32,
    last_axis_longer_than_one,
    outside_clip,
    rank_at_least,
    tf_float16_mean_accumulates_in_float16,
)

INF = np.inf
KERAS_KL = f"{KERAS_LOSSES}#L2058-L2108"
KERAS_POISSON = KERAS_PER_SAMPLE["poisson_nll_loss"].citation

LOG_P = [[-0.5, -1.0], [-2.0, -0.25]]  # input log-probabilities, inside Keras' clip
Q = [[0.25, 0.5], [0.25, 0.75]]  # probability targets, inside Keras' clip
COTANGENT = [[1.0, -0.5], [2.0, 0.25]]
RATE = {"log_input": False}
RATES = {"input": [[0.5, 1.0], [2.0, 0.25]], "target": [[0.0, 1.0], [2.0, 3.0]]}


def _clip_ties(case: Case) -> tuple[np.ndarray, np.ndarray]:
    """Where Keras' clipped probabilities sit exactly on a bound of [ε, 1] in the dtype: y_pred =
    exp(input), and y_true = target (exp(target) for log targets)."""
    eps = in_dtype(KERAS_EPSILON, case)
    x, t = array(case, "input"), array(case, "target")
    with np.errstate(over="ignore"):
        p = R.round_to(np.exp(x), case.dtype)
        q = R.round_to(np.exp(t), case.dtype) if case.params.get("log_target") else t
    return (p == 1.0) | (p == eps), (q == 1.0) | (q == eps)


def kl_clip_tie(case: Case) -> bool:
    on_input, on_target = _clip_ties(case)
    return bool(np.any(on_input) or np.any(on_target))


def kl_clip_tie_half_gradient(case: Case) -> Prediction:
    """The reference's value, and its gradients halved at the elements whose probability sits
    on a clip bound."""
    spec = R.get("kl_div")
    on_input, on_target = _clip_ties(case)

    def vjp(a, p, g):
        grads = spec.elementwise_vjp(a, p, g)
        out = {**grads, "input": np.where(on_input, 0.5, 1.0) * grads["input"]}
        if "target" in grads:
            out["target"] = np.where(on_target, 0.5, 1.0) * grads["target"]
        return out

    return predict(case, elementwise_vjp=vjp)


def per_sample_count_differs_from_batch(case: Case) -> bool:
    """Keras divides by the number of per-sample losses, prod(shape[:-1]); batchmean by shape[0]."""
    x = array(case, "input")
    return x.ndim >= 1 and int(np.prod(x.shape[:-1])) != x.shape[0]


def kl_clipped(case: Case) -> bool:
    return outside_clip("target", KERAS_EPSILON, 1.0)(case) or outside_clip(
        "input", KERAS_EPSILON, 1.0, log_space=True
    )(case)


def kl_clipped_log_target(case: Case) -> bool:
    return outside_clip("target", KERAS_EPSILON, 1.0, log_space=True)(case) or outside_clip(
        "input", KERAS_EPSILON, 1.0, log_space=True
    )(case)


def kl_probability_ratio_ill_conditioned(case: Case) -> bool:
    """Keras' t·log(t/p) carries a few ε·t of absolute error per element whatever log t and
    log p are; the log-domain formula t·(log t − x) errs by ε·t·(|log t| + |x|). Where the
    probabilities are near 1 (Σt above Σ t·(|log t| + |x|)) Keras' error dominates."""
    x, t = array(case, "input"), array(case, "target")
    log_t = t if case.params.get("log_target") else np.log(t)
    prob = np.exp(t) if case.params.get("log_target") else t
    terms = prob * (np.abs(log_t) + np.abs(x))
    ok = np.isfinite(terms) & (prob > 0)
    return bool(np.sum(prob[ok]) > np.sum(terms[ok]))


def kl_ratio_overflows(case: Case) -> bool:
    """Keras' r = t/p, or an intermediate of its gradient (1/r for the log, t/p² for the
    division), exceeds the dtype's largest number, or p² falls below its normal range (t, p
    clipped to [ε, 1])."""
    x, t = array(case, "input"), array(case, "target")
    eps = in_dtype(KERAS_EPSILON, case)
    q = np.clip(np.exp(t) if case.params.get("log_target") else t, eps, 1.0)
    p = np.clip(np.exp(x), eps, 1.0)
    largest = np.maximum(np.maximum(q / p, q / (p * p)), p / q)
    fmt = R.FORMATS[case.dtype]
    # p² below the normal range keeps only a few significant bits (float16 subnormals)
    return bool(np.any(largest > fmt.max_value) or np.any(p * p < fmt.tiny))


def keras_poisson_epsilon_visible(case: Case) -> bool:
    """Keras' ε = 1e-7 instead of torch's eps moves an element's value x − y·log(x + eps) or its
    gradient 1 − y/(x + eps) by more than a few ulps of it (a 0-d input too: the torch backend
    takes one, where TensorFlow and JAX raise first)."""
    x, y = array(case, "input"), array(case, "target")
    eps_torch, eps_keras = case.params.get("eps", 1e-8), in_dtype(KERAS_EPSILON, case)
    few_ulps = 4 * R.FORMATS[case.dtype].eps
    ref_log, ref_ratio = np.log(x + eps_torch), y / (x + eps_torch)
    value_shift = np.abs(y * (np.log(x + eps_keras) - ref_log))
    grad_shift = np.abs(y / (x + eps_keras) - ref_ratio)
    value_scale = np.abs(x) + np.abs(y * ref_log)
    grad_scale = 1 + np.abs(ref_ratio)
    return bool(
        np.any(value_shift > few_ulps * value_scale) or np.any(grad_shift > few_ulps * grad_scale)
    )


def float16_rate_reciprocal_overflows(case: Case) -> bool:
    """The gradient of log(x + ε) is 1/(x + ε): beyond 65504 once x + ε < 1.5e-5."""
    recip = 1.0 / (array(case, "input") + in_dtype(KERAS_EPSILON, case))
    return bool(np.any(np.abs(recip) > R.FORMATS[case.dtype].max_value))


DIVERGENCES: list[Divergence] = [
    # --- kl_div (Keras KLDivergence on tf.exp of the log-probabilities)
    Divergence(
        id="kl_div/keras-clip-epsilon",
        kind="convention",
        loss="kl_div",
        description=(
            "keras.losses.KLDivergence clips y_true and y_pred to [ε, 1], ε = 1e-7: a zero target "
            "contributes ε·log(ε/p) instead of 0, probabilities below ε or above 1 are moved to "
            "the bound, and the gradient is 0 there"
        ),
        citation=KERAS_KL,
        where={"log_target": False},
        inputs=kl_clipped,
        inputs_text="target < ε, exp(input) < ε or input > 0",
        example=Example({"reduction": "sum"}, {"input": LOG_P, "target": [[0.0, 0.5], Q[1]]}),
    ),
    Divergence(
        id="kl_div/keras-clip-epsilon-log-target",
        kind="convention",
        loss="kl_div",
        description=(
            "keras.losses.KLDivergence clips y_true = exp(target) and y_pred = exp(input) to "
            "[ε, 1], ε = 1e-7: log-probabilities below log ε ≈ −16.1 or above 0 are moved to the "
            "bound, and the gradient is 0 there"
        ),
        citation=KERAS_KL,
        where={"log_target": True},
        inputs=kl_clipped_log_target,
        inputs_text="target or input below log(1e-7) or above 0",
        example=Example(
            {"log_target": True, "reduction": "sum"},
            {"input": LOG_P, "target": [[-20.0, -0.5], [-1.0, -0.25]]},
        ),
    ),
    Divergence(
        id="kl_div/keras-per-sample-none",
        kind="convention",
        loss="kl_div",
        description=(
            "keras.losses.KLDivergence sums over the last axis and returns one value per sample: "
            "reduction=None gives input.shape[:-1], not the pointwise loss"
        ),
        citation=KERAS_KL,
        where={"reduction": "none"},
        inputs=rank_at_least("input", 1),
        inputs_text="input of rank ≥ 1",
        affects=("value",),
        example=Example({"reduction": "none"}, {"input": LOG_P, "target": Q}, cotangent=COTANGENT),
    ),
    Divergence(
        id="kl_div/keras-mean-is-per-sample-mean",
        kind="convention",
        loss="kl_div",
        description=(
            "keras.losses.KLDivergence sums the last axis, and sum_over_batch_size then divides by "
            "the number of per-sample values: the result is input.shape[-1] times torch's "
            "elementwise 'mean' (for 2-D inputs it is torch's 'batchmean')"
        ),
        citation=f"{KERAS_LOSS_BASE}#L140-L161",
        where={"reduction": "mean"},
        inputs=last_axis_longer_than_one("input"),
        inputs_text="last axis longer than 1",
        example=Example({}, {"input": LOG_P, "target": Q}),
    ),
    Divergence(
        id="kl_div/keras-batchmean-divides-by-all-leading-dims",
        kind="convention",
        loss="kl_div",
        description=(
            "sum_over_batch_size divides the KL sum by prod(input.shape[:-1]), the number of "
            "per-sample values; torch's 'batchmean' divides by input.shape[0]. They agree for 2-D "
            "inputs only (1-D: Keras returns the sum; 3-D: it divides by N·D)"
        ),
        citation=f"{KERAS_LOSS_BASE}#L140-L161",
        where={"reduction": "batchmean"},
        inputs=per_sample_count_differs_from_batch,
        inputs_text="prod(shape[:-1]) ≠ shape[0] (inputs of rank 1 with N > 1, or rank ≥ 3)",
        # (N, D, E) = (1, 2, 2): Keras divides by 2, batchmean by 1
        example=Example({"reduction": "batchmean"}, {"input": [LOG_P], "target": [Q]}),
    ),
    Divergence(
        id="kl_div/keras-log-of-probability-ratio",
        kind="convention",
        loss="kl_div",
        description=(
            "keras.losses.KLDivergence takes probabilities and evaluates t·log(t/p): from torch's "
            "log-probabilities that is exp, a division and a log, an absolute error of a few ε·t "
            "per element even where log t − x is tiny, so results dominated by probabilities near "
            "1 lose relative accuracy against the log-domain t·(log t − x) (float64 sum 0.046875 "
            "came back 9 ulps low)"
        ),
        citation=KERAS_KL,
        inputs=kl_probability_ratio_ill_conditioned,
        inputs_text="Σ t above Σ t·(|log t| + |input|): probabilities near 1 dominate",
        example=Example(
            {"log_target": True, "reduction": "sum"},
            # t = 1 against p = exp(x) just below 1: t·(log t − x) is exact, t·log(t/p) is not
            {"input": [[-1e-3, -2e-3], [-3e-3, -5e-4]], "target": [[0.0, 0.0], [0.0, 0.0]]},
        ),
    ),
    Divergence(
        id="kl_div/keras-probability-ratio-float16-range",
        kind="convention",
        loss="kl_div",
        description=(
            "keras.losses.KLDivergence forms r = y_true / y_pred in the tested dtype, and its "
            "gradient 1/r and y_true / y_pred²; in float16 these exceed 65504 as soon as the "
            "probabilities differ by a factor of ~256 (y_pred < √(y_true/65504) for the input "
            "gradient: x < −5.5 at t = 1), and the loss or gradient becomes ±inf where the "
            "reference is finite (t = 1, x = −6: input gradient −inf instead of −1); where p² is "
            "subnormal (x < −4.85) the gradient keeps only a few bits (−0.00636 for −0.00674)"
        ),
        citation=KERAS_KL,
        inputs=kl_ratio_overflows,
        inputs_text=(
            "t/p, t/p² or p/t above the dtype's largest number, or p² subnormal "
            "(t, p = exp(input) clipped to [ε, 1])"
        ),
        dtypes=("float16",),
        example=Example(
            {"reduction": "sum"}, {"input": [[-14.0, -0.5]], "target": [[0.9, 0.25]]}, "float16"
        ),
    ),
    tf_float16_mean_accumulates_in_float16(
        "kl_div/tf-float16-mean-accumulates-in-float16",
        "kl_div",
        # 17000 terms of 4 (t = 1, p = e^-4: no clip, no ratio beyond float16) sum past 65504
        Example({}, {"input": np.full((17000, 1), -4.0), "target": np.ones((17000, 1))}, "float16"),
    ),
    # --- poisson_nll_loss
    keras_per_sample_none(
        "poisson_nll_loss/keras-per-sample-none",
        "poisson_nll_loss",
        Example({**RATE, "reduction": "none"}, RATES, cotangent=COTANGENT),
    ),
    keras_per_sample_sum(
        "poisson_nll_loss/keras-per-sample-sum",
        "poisson_nll_loss",
        Example({**RATE, "reduction": "sum"}, RATES),
    ),
    keras_rank_0_rejected(
        "poisson_nll_loss/keras-rank-0-rejected",
        "poisson_nll_loss",
        Example(RATE, {"input": 0.5, "target": 1.0}),
    ),
    Divergence(
        id="poisson_nll_loss/keras-poisson-epsilon",
        kind="convention",
        loss="poisson_nll_loss",
        description=(
            "keras.losses.Poisson computes y_pred − y_true·log(y_pred + ε) with Keras' fixed "
            "ε = 1e-7 and has no eps argument; torch's default eps is 1e-8, so every element with "
            "a non-zero count differs by about y·9e-8/x"
        ),
        citation=KERAS_POISSON,
        where={"log_input": False},
        inputs=keras_poisson_epsilon_visible,
        inputs_text="a non-zero count at a rate where 1e-7 vs 1e-8 moves log(rate + eps) visibly",
        example=Example(RATE, {"input": [[1e-6, 0.5]], "target": [[1.0, 2.0]]}),
    ),
    Divergence(
        id="poisson_nll_loss/keras-float16-reciprocal-overflow",
        kind="convention",
        loss="poisson_nll_loss",
        description=(
            "keras.losses.Poisson differentiates log(y_pred + ε) as 1/(y_pred + ε) in the tested "
            "dtype: in float16 that reciprocal overflows for rates below 1.5e-5, and the "
            "gradient becomes −inf, or 0·inf = NaN for a zero count, where the reference's is "
            "finite (count 0 at rate 0: NaN instead of 1)"
        ),
        citation=KERAS_POISSON,
        where={"log_input": False},
        inputs=float16_rate_reciprocal_overflows,
        inputs_text="a rate below 1/65504 − ε",
        affects=("grad",),
        dtypes=("float16",),
        example=Example(RATE, {"input": [[0.0, 0.5]], "target": [[0.0, 1.0]]}, dtype="float16"),
    ),
    Divergence(
        id="kl_div/keras-jax-clip-tie-half-gradient",
        kind="known-bug",
        loss="kl_div",
        description=(
            "keras.losses.KLDivergence clips y_true and y_pred to [ε, 1] with ops.clip; on the "
            "JAX backend jnp.clip is maximum then minimum, whose derivative JAX splits equally "
            "between the operands at a tie (_balanced_eq), so where a probability is exactly 1 "
            "(a target of 1, exp(input) rounding to 1) or exactly ε the gradient is half the "
            "reference's (input [−0.81, −7.33], target [0.58, 1], sum: target gradient 4.1626 "
            "instead of 8.3253 at the target of 1)"
        ),
        citation=(
            f"{KERAS_KL}; {KERAS_SRC}/backend/jax/numpy.py#L556-L560; "
            "https://github.com/jax-ml/jax/blob/jax-v0.10.2/jax/_src/numpy/lax_numpy.py"
            "#L3363-L3410; https://github.com/jax-ml/jax/blob/jax-v0.10.2/jax/_src/lax/lax.py"
            "#L5111-L5122, #L9598-L9600"
        ),
        inputs=kl_clip_tie,
        inputs_text="a probability (target, exp(input), exp(target) for log targets) exactly 1 "
        "or ε in the dtype",
        affects=("grad",),
        model=kl_clip_tie_half_gradient,
        model_text="the reference's gradients, halved at each element whose probability sits on "
        "a clip bound",
        example=Example(
            {"reduction": "sum"},
            {"input": [[-0.8055683819061059, -7.325281404140254]], "target": [[0.58, 1.0]]},
        ),
    ),
    # --- float64 on the JAX and torch backends
    keras_torch_float64_mean_in_float32(
        "kl_div/keras-torch-float64-mean-in-float32",
        "kl_div",
        # batchmean of (2, 2): Keras' per-sample count is torch's batch size
        Example(
            {"reduction": "batchmean"},
            {"input": [[-0.3, -1.1], [-2.2, -0.7]], "target": [[0.3, 0.7], [0.1, 0.9]]},
        ),
    ),
    keras_float64_mean_in_float32(
        "poisson_nll_loss/keras-float64-mean-in-float32",
        "poisson_nll_loss",
        Example(RATE, {"input": [[0.3, 1.1], [2.2, 0.7]], "target": [[0.0, 1.0], [2.0, 3.0]]}),
    ),
]

ACCEPTS: list[Accepts] = [
    Accepts(
        id="kl_div/keras-no-target-check",
        loss="kl_div",
        argument="target",
        description=(
            "keras.losses.KLDivergence clips targets to [ε, 1] instead of rejecting targets "
            "outside [0, 1]: a number comes back where the reference raises"
        ),
        citation=KERAS_KL,
        where={"log_target": False},
        example=Example({}, {"input": LOG_P, "target": [[1.5, 0.5], Q[1]]}),
    ),
    broadcasts_input_and_target(
        "kl_div/broadcasts-mismatched-shapes",
        "kl_div",
        Example({}, {"input": LOG_P, "target": [Q]}),
        citation=KERAS_KL,
    ),
    broadcasts_input_and_target(
        "poisson_nll_loss/broadcasts-mismatched-shapes",
        "poisson_nll_loss",
        Example(RATE, {"input": RATES["input"], "target": [RATES["target"]]}),
        where=RATE,
    ),
]


# Entries that hold on some backends only (the others: every backend).
BACKENDS: dict[str, tuple[str, ...]] = {
    "kl_div/tf-float16-mean-accumulates-in-float16": ("tensorflow",),
    "kl_div/keras-torch-float64-mean-in-float32": ("torch",),
    "poisson_nll_loss/keras-rank-0-rejected": ("tensorflow", "jax"),
    "poisson_nll_loss/keras-float16-reciprocal-overflow": ("tensorflow",),
    "kl_div/keras-jax-clip-tie-half-gradient": ("jax",),
    "poisson_nll_loss/keras-float64-mean-in-float32": ("jax", "torch"),
}
