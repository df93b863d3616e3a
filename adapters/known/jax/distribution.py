"""JAX/Optax divergences in the distribution family: optax.losses.kl_divergence and
kl_divergence_with_log_targets (kl_div); poisson_nll_loss and gaussian_nll_loss are not offered
by optax."""

from __future__ import annotations

import numpy as np

import reference as R
from adapters.predicates import kl_incoming_gradient
from reference import Case
from reference.contract import K_GRAD, K_VALUE, Divergence, Example, Prediction, predict_nonfinite

from ._common import (
    FLUSHING,
    GRAD_ULPS,
    INF,
    OPTAX,
    OPTAX_PULL,
    VALUE_ULPS,
    full_params,
    zero_for_jax,
)


def _item_cotangent_nonzero(case: Case, shape: tuple[int, ...]) -> np.ndarray:
    """Where the cotangent reaching each element is nonzero (reduction none draws it; 0·NaN and
    0·inf are NaN on both sides)."""
    if case.cotangent is None:
        return np.ones(shape, bool)
    return np.broadcast_to(case.rounded_cotangent() != 0, shape)


def zero_target_finite_slope(case: Case) -> bool:
    """A zero target (or a subnormal one, 0 to JAX on CPU) where the reference's target gradient
    log t + 1 − x is not NaN (x ≠ −inf), reached by a nonzero cotangent."""
    a = case.rounded()
    t, x = a["target"], a["input"]
    zero = zero_for_jax(t, case)
    return bool(np.any(zero & (x != -np.inf) & _item_cotangent_nonzero(case, t.shape)))


def kl_target_grad_product_flushed(case: Case) -> bool:
    """A positive target t and incoming gradient g whose product g·t, formed in the dtype,
    loses the digits of g: flushed to 0 below the smallest normal number (XLA on CPU, float64,
    float32, bfloat16; there t and g must be normal, a subnormal one is 0 to JAX already: another
    mechanism), or rounded on float16's subnormal grid with more than a unit roundoff of relative
    error (float16 keeps subnormals, so a subnormal t counts: t = 2^-23, g = 1/4 gives 2^-25,
    which rounds to 0)."""
    return product_with_target_loses_digits(case, kl_incoming_gradient(case))


def product_with_target_loses_digits(case: Case, g: np.ndarray) -> bool:
    """kl_target_grad_product_flushed's test for any incoming gradient ``g`` (of the dtype) that
    JAX multiplies by the target: shared by kl_div and optax's generalized KL."""
    t = case.rounded()["target"]
    gt = g * t  # exact in float64: two numbers of the dtype
    fmt = R.FORMATS[case.dtype]
    if case.device == "cpu" and case.dtype in FLUSHING:
        operands = (t >= fmt.tiny) & np.isfinite(t) & (g >= fmt.tiny)
        lost = (gt != 0) & (np.abs(gt) < fmt.tiny)
    else:
        operands = (t > 0) & np.isfinite(t) & (g > 0)
        lost = np.abs(R.round_to(gt, case.dtype) - gt) > 0.5 * fmt.eps * np.abs(gt)
    return bool(np.any(operands & lost))


def zero_target_at_neginf_input(case: Case) -> bool:
    a = case.rounded()
    return bool(np.any(zero_for_jax(a["target"], case) & (a["input"] == -np.inf)))


def neginf_log_target(case: Case) -> bool:
    return bool(np.any(case.rounded()["target"] == -np.inf))


def log_target_exp_underflows(case: Case) -> bool:
    """A finite log-target t whose probability e^t lies below the dtype's smallest normal number
    and is rounded there (to 0, or on float16's subnormal grid; flushed to 0 on CPU for float64,
    float32 and bfloat16), where optax's e^t·(t − x), recomputed in float64 with that rounded
    e^t, moves the value by more than VALUE_ULPS ULPs of the dtype or the target gradient
    g·e^t·(t − x + 1) by more than GRAD_ULPS, and by more than the tolerance's underflow term
    K·η·F (K_VALUE or K_GRAD; η the smallest normal number, float16's smallest subnormal;
    F = 1 + Σ c_i for a value, 1 + max c_i for a gradient). A large |t − x| brings the lost
    probability back into range; at x = −inf the flushed e^t gives 0·inf = NaN.
    """
    a, p = case.rounded(), full_params(case)
    t, x = np.broadcast_arrays(a["target"], a["input"])
    fmt, dtype = R.FORMATS[case.dtype], case.dtype
    with np.errstate(all="ignore"):
        q = np.exp(t)
        q_jax = R.round_to(q, dtype)
        q_jax = np.where(zero_for_jax(q_jax, case), 0.0, q_jax)
        changed = np.isfinite(t) & (q < fmt.tiny) & (q_jax != q)
        if not np.any(changed):
            return False
        d = t - x
        g = kl_incoming_gradient(case)
        value_shift = np.where(changed, q_jax * d - q * d, 0.0)
        grad_shift = g * np.where(changed, q_jax * (d + 1.0) - q * (d + 1.0), 0.0)
        cot = case.rounded_cotangent() if p["reduction"] == "none" else None
        value, grads = R.value_and_vjp(case.loss, a, p, cot)
        eta = fmt.smallest_subnormal if dtype == "float16" else fmt.tiny
        if p["reduction"] == "none":
            value_floor = 2.0
        else:
            value_shift, value_floor = np.sum(g * value_shift), 1.0 + np.sum(g)
        # The tolerance's underflow term is k·η·F with k ≥ K: absolute, no ULPs to convert.
        moved = (
            (value, value_shift, VALUE_ULPS, K_VALUE, value_floor),
            (grads["target"], grad_shift, GRAD_ULPS, K_GRAD, 1.0 + np.max(g)),
        )
        for ref, shift, ulps, k, floor in moved:
            got, gap = ref + shift, np.abs(shift)
            beyond = (gap > ulps * R.spacing(ref, dtype)) & (gap > k * eta * floor)
            if np.any(
                np.where(np.isnan(got) | np.isnan(ref), np.isnan(got) != np.isnan(ref), beyond)
            ):
                return True
    return False


# --- models: what optax returns where an entry applies --------------------------------------


def kl_zero_target_grad_model(case: Case) -> Prediction:
    t = case.rounded()["target"]
    return predict_nonfinite(case, grads={"target": zero_for_jax(t, case)})


def kl_zero_target_neginf_input_model(case: Case) -> Prediction:
    a = case.rounded()
    both = zero_for_jax(a["target"], case) & (a["input"] == -np.inf)
    return predict_nonfinite(case, value=both)


def kl_neginf_log_target_model(case: Case) -> Prediction:
    neginf = case.rounded()["target"] == -np.inf
    return predict_nonfinite(case, value=neginf, grads={"target": neginf})


DIVERGENCES: list[Divergence] = [
    Divergence(
        id="kl_div/zero-target-nan-grad",
        kind="known-bug",
        loss="kl_div",
        description=(
            "optax.losses.kl_divergence guards log(target) with jnp.where(target == 0, 0, "
            "log(target)), but the untaken branch is still differentiated: the gradient with "
            "respect to a zero target is NaN (the JAX FAQ's where-gradient pitfall); the "
            "reference's is log 0 + 1 − x = −inf."
        ),
        citation=OPTAX_PULL.format(1786),
        where={"log_target": False},
        inputs=zero_target_finite_slope,
        inputs_text="a target probability 0 or subnormal (input not −inf, nonzero cotangent)",
        affects=("grad",),
        model=kl_zero_target_grad_model,
        model_text="the reference's target gradient with NaN at each zero (or, on CPU, subnormal) target",
        example=Example(
            {"reduction": "batchmean"},
            {"input": [[-0.5, -1.5, -1.5]], "target": [[0.0, 0.5, 0.5]]},
        ),
    ),
    Divergence(
        id="kl_div/target-grad-product-flushed",
        kind="known-bug",
        loss="kl_div",
        where={"log_target": False},
        description=(
            "optax.losses.kl_divergence computes t·(log t − x), and JAX's product rule hands "
            "log's backward the product g·t, which it divides by t to form the +1 of "
            "log t + 1 − x. Where g·t falls below the smallest normal number, XLA on CPU flushes "
            "it to 0 (flush-to-zero, jax-ml/jax#26658; in float16 it rounds on the subnormal "
            "grid), so the target gradient misses g entirely (float32, t = 2^-15, x = 0, cotangent 2^-112: JAX −2.0024e-33 = g·log t, "
            "reference g·(log t + 1) = −1.8098e-33; float16, where a subnormal target is a "
            "number: t = 2^-23, x = −7.94, mean of 4, g·t = 2^-25 rounds to 0 and the gradient "
            "is g·(log t − x)). The same mechanism as torch's xlogy backward "
            "(kl-div-target-grad-underflow)."
        ),
        citation=OPTAX.format("_classification.py#L528-L563"),
        inputs=kl_target_grad_product_flushed,
        inputs_text="a target and an incoming gradient (normal, where the CPU flushes "
        "subnormals) whose product is below the dtype's smallest normal number (flushed to 0 on "
        "CPU; float16: rounded off, subnormal targets included)",
        affects=("grad",),
        example=Example(
            {"reduction": "none"},
            {"input": [0.0, 0.0], "target": [2.0**-6, 2.0**-15]},
            dtype="float32",
            cotangent=[0.0, 2.0**-112],
        ),
    ),
    Divergence(
        id="kl_div/zero-target-neginf-input-nan",
        kind="known-bug",
        loss="kl_div",
        description=(
            "optax.losses.kl_divergence multiplies target·(0 − log_predictions): a zero target "
            "at a −inf log-prediction gives 0·inf = NaN where the term is absent (0)."
        ),
        citation=OPTAX_PULL.format(1786),
        where={"log_target": False},
        inputs=zero_target_at_neginf_input,
        inputs_text="a target probability 0 where the input log-probability is −inf",
        affects=("value",),
        model=kl_zero_target_neginf_input_model,
        model_text="the reference's value with NaN at each zero target whose input is −inf",
        example=Example(
            {"reduction": "sum"}, {"input": [[-INF, -0.5, -0.9]], "target": [[0.0, 0.5, 0.5]]}
        ),
    ),
    Divergence(
        id="kl_div/log-target-neginf-nan",
        kind="known-bug",
        loss="kl_div",
        description=(
            "optax.losses.kl_divergence_with_log_targets computes exp(t)·(t − x): a −inf log "
            "target gives 0·(−inf) = NaN in the value and a NaN target gradient, where the term "
            "is absent (value 0, gradient 0)."
        ),
        citation=OPTAX_PULL.format(1786),
        where={"log_target": True},
        inputs=neginf_log_target,
        inputs_text="some log-target is −inf (probability 0)",
        model=kl_neginf_log_target_model,
        model_text="the reference's value and target gradient with NaN at each log-target −inf",
        example=Example(
            {"log_target": True, "reduction": "sum"},
            {"input": [[-0.5, -1.5, -1.5]], "target": [[-INF, -0.75, -0.75]]},
        ),
    ),
    Divergence(
        id="kl_div/log-target-exp-underflow",
        kind="known-bug",
        loss="kl_div",
        description=(
            "optax.losses.kl_divergence_with_log_targets computes jnp.exp(log_targets)·"
            "(log_targets − log_predictions) in the input dtype: a target probability e^t below "
            "the smallest normal number is rounded to 0 (flushed on CPU in float64, float32 and "
            "bfloat16, jax-ml/jax#16200) or, in float16, to a few-bit subnormal, and a large "
            "t − x multiplies that loss back into the normal range. The term, and its target "
            "gradient e^t·(t − x + 1), vanish or carry the subnormal's error (float16, mean of "
            "4, t = −18.3125, x = −6128, e^t = 1.1e-8 < 2^-25: JAX 0 and target gradient 0, "
            "reference 1.7019e-05 = e^t·(t − x)/4 and 1.7022e-05; float32, t = −88, x = −1e30: "
            "JAX 0, reference 6.0546e-09). At x = −inf the flushed e^t gives 0·inf = NaN where "
            "the reference's term is +inf."
        ),
        citation=OPTAX.format("_classification.py#L566-L594"),
        where={"log_target": True},
        inputs=log_target_exp_underflows,
        inputs_text="a finite log-target whose e^t is below the smallest normal number (rounded to "
        f"0 or a subnormal) and a large t − x, moving value or target gradient beyond "
        f"{VALUE_ULPS:g} / {GRAD_ULPS:g} ULPs and the tolerance's underflow term",
        affects=("value", "grad"),
        example=Example(  # the frozen corpus's kl_div/61: e^t underflows float16 (< 2^-25)
            {"log_target": True, "reduction": "mean"},
            {
                "input": [-1386.0, -780.0, -6128.0, -1074.0],
                "target": [-68.0625, -81.5625, -18.3125, -68.125],
            },
            dtype="float16",
        ),
    ),
]
