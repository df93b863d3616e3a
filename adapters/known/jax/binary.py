"""JAX/Optax divergences in the binary family: optax.losses.sigmoid_binary_cross_entropy and
sigmoid_focal_loss (binary_cross_entropy on probabilities is not offered by optax)."""

from __future__ import annotations

import numpy as np

import reference as R
from reference import Case
from reference.contract import Divergence, Example, Prediction, predict, predict_nonfinite

from ._common import (
    INF,
    JAX_ISSUE,
    OPTAX_PULL,
    absent_term_at_infinite_logit,
    full_params,
    infinite_logit_absent_term,
    zero_for_jax,
)


def focal_infinite_logit(case: Case) -> bool:
    """An infinite logit: with gamma = 0 where the label makes a term absent (as in BCE), with
    gamma > 0 anywhere (the focal weight's log-space gradient is NaN there)."""
    if full_params(case)["gamma"] == 0:
        return absent_term_at_infinite_logit(case)
    return bool(np.any(np.isinf(case.rounded()["input"])))


def focal_label_gradient_dropped(case: Case) -> bool:
    """gamma > 0, a finite logit with a hard label y ∈ {0, 1}, and the target-gradient term that
    JAX's logsumexp drops there is visible (> 2 ULPs of the dtype at the reference gradient).

    optax computes log(1 − p_t) = logsumexp([log p, log(1 − p)], b=[1 − y, y]); JAX's logsumexp
    replaces the entry with b = 0 by −inf, so ∂/∂b of that entry is lost. The lost term of
    ∂ℓ/∂y is α_t·γ·CE·(1 − p_t)^(γ−1)·p_t (times the item's cotangent).
    """
    p = full_params(case)
    gamma, alpha = p["gamma"], p["alpha"]
    if gamma == 0:
        return False
    a = case.rounded()
    x, y = a["input"], a["target"]
    y = np.where(zero_for_jax(y, case), 0.0, y)  # a subnormal label is 0 to JAX on CPU
    hard = np.isfinite(x) & ((y == 0) | (y == 1))
    if not np.any(hard):
        return False
    with np.errstate(all="ignore"):
        p_t = np.where(y == 1, 1.0 / (1.0 + np.exp(-x)), 1.0 / (1.0 + np.exp(x)))
        ce = np.logaddexp(0.0, np.where(y == 1, -x, x))
        alpha_t = 1.0 if alpha is None else alpha * y + (1.0 - alpha) * (1.0 - y)
        lost = alpha_t * gamma * ce * (1.0 - p_t) ** (gamma - 1.0) * p_t
        ones = np.ones(np.shape(x))
        _, grads = R.value_and_vjp(case.loss, case.arrays, {**p, "reduction": "none"}, ones)
        ref = grads["target"]
        spacing = R.spacing(ref, case.dtype)
    return bool(np.any(hard & np.isfinite(ref) & (np.abs(lost) > 2.0 * spacing)))


def _absent_terms_at_infinite_logits(case: Case) -> np.ndarray:
    a = case.rounded()
    x, y = np.broadcast_arrays(a["input"], a["target"])
    return ((x == np.inf) & (y == 1)) | ((x == -np.inf) & zero_for_jax(y, case))


def bce_infinite_logit_model(case: Case) -> Prediction:
    return predict_nonfinite(case, value=_absent_terms_at_infinite_logits(case))


DIVERGENCES: list[Divergence] = [
    Divergence(
        id="binary_cross_entropy_with_logits/infinite-logit-nan",
        kind="known-bug",
        loss="binary_cross_entropy_with_logits",
        description=(
            "optax.losses.sigmoid_binary_cross_entropy computes −y·log σ(x) − (1 − y)·log σ(−x) "
            "without removing absent terms: at x = +inf with y = 1 (or −inf with y = 0) it "
            "evaluates 0·(−inf) = NaN where the loss is 0. Gradients are unaffected."
        ),
        citation=OPTAX_PULL.format(431),
        inputs=infinite_logit_absent_term,
        inputs_text="a logit +inf with label 1, or −inf with label 0",
        affects=("value",),
        model=bce_infinite_logit_model,
        model_text="the reference's value with NaN at each logit +inf with label 1 or −inf with label 0",
        example=Example(
            {"reduction": "none"},
            {"input": [INF, -INF, 0.5], "target": [1.0, 0.0, 0.5]},
            cotangent=[1.0, 1.0, 1.0],
        ),
    ),
    Divergence(
        id="sigmoid_focal_loss/infinite-logit-nan",
        kind="known-bug",
        loss="sigmoid_focal_loss",
        description=(
            "optax's sigmoid_focal_loss multiplies sigmoid_binary_cross_entropy (NaN for an "
            "infinite logit whose term is absent: 0·(−inf)) by exp(γ·logsumexp(...)), whose "
            "gradient is NaN at an infinite logit: the value is NaN where the reference has 0, "
            "and gradients are NaN where the reference has 0 or ±inf."
        ),
        citation=OPTAX_PULL.format(431),
        inputs=focal_infinite_logit,
        inputs_text="gamma = 0: a logit +inf with label 1 or −inf with label 0; gamma > 0: any infinite logit",
        example=Example({"reduction": "sum"}, {"input": [INF, 0.5], "target": [1.0, 0.5]}),
    ),
    Divergence(
        id="sigmoid_focal_loss/hard-label-target-grad",
        kind="known-bug",
        loss="sigmoid_focal_loss",
        description=(
            "optax computes log(1 − p_t) as jax.scipy.special.logsumexp([log p, log(1 − p)], "
            "b=[1 − y, y]); JAX replaces an entry whose b is exactly 0 by −inf, so its derivative "
            "with respect to b is lost. For a hard label (y = 0 or 1) and gamma > 0 the gradient "
            "with respect to target misses α_t·γ·CE·(1 − p_t)^(γ−1)·p_t. Value and input "
            "gradient are right. Since optax 0.2.6 (the log-space focal weight); up to 0.2.5 "
            "optax computed (1 − p_t)^γ directly and this gradient is right."
        ),
        citation=JAX_ISSUE.format(22398),
        versions="optax>=0.2.6",
        inputs=focal_label_gradient_dropped,
        inputs_text="gamma > 0, a finite logit, target 1 or 0 (or subnormal, on CPU), dropped term > 2 ULPs",
        affects=("grad",),
        example=Example({"reduction": "sum"}, {"input": [0.0, 1.5], "target": [1.0, 0.0]}),
    ),
]


# --- hinge_loss, perceptron_loss: jnp.maximum's tie at the hinge ---------------------------------

HINGE_SOURCE = (
    "https://github.com/google-deepmind/optax/blob/v0.2.8/optax/losses/_classification.py#L93-L124"
)
# jax/_src/lax/lax.py at jax-v0.10.2: max_p's JVP gives each operand g·_balanced_eq, ½ at a tie
MAX_TIE_SOURCE = "https://github.com/jax-ml/jax/blob/jax-v0.10.2/jax/_src/lax/lax.py#L5112-L5114"


def _signs_as_optax(case: Case) -> np.ndarray:
    """The ±1 labels optax multiplies by: the target, or the mapping's 2·target − 1."""
    y = case.rounded()["target"]
    return 2.0 * y - 1.0 if full_params(case).get("labels", "sign") == "binary" else y


def hinge_at_zero(case: Case) -> bool:
    """Some element's hinge argument 1 − s·x is exactly 0 (s·x = 1: 1 − s·x is exact near there,
    so no dtype rounds another input onto the tie)."""
    a = case.rounded()
    with np.errstate(all="ignore"):
        return bool(np.any(1.0 - _signs_as_optax(case) * a["input"] == 0))


def perceptron_at_zero(case: Case) -> bool:
    """Some input is 0 as JAX sees it (exactly, or subnormal and flushed on CPU): −y·x is a
    signed zero, tied with jnp.maximum's 0."""
    return bool(np.any(zero_for_jax(case.rounded()["input"], case)))


def _half_at_tie(z_of):
    """The reference's loss, with the slope −s halved where the hinge argument is exactly 0."""

    def model(case: Case) -> Prediction:
        def vjp(a, p, g):
            s, z = z_of(a, p)
            slope = np.where(z > 0, -s, np.where(z == 0, -0.5 * s, 0.0))
            return {"input": g * slope}

        spec = R.get(case.loss)
        return predict(case, elementwise=spec.elementwise, elementwise_vjp=vjp)

    return model


def _hinge_z(a, p):
    s = 2.0 * a["target"] - 1.0 if p.get("labels", "sign") == "binary" else a["target"]
    return s, 1.0 - s * a["input"]


def _perceptron_z(a, p):
    return a["target"], -a["target"] * a["input"]


DIVERGENCES += [
    Divergence(
        id="hinge_loss/hinge-tie-half-gradient",
        kind="convention",
        loss="hinge_loss",
        description=(
            "optax's hinge is jnp.maximum(0, 1 − x·y), and JAX differentiates max at a tie "
            "symmetrically: where 1 − s·x = 0 each side gets half, so ∂ℓ/∂x = −s/2 (x = 1, "
            "s = 1: −0.5). The reference takes the minimum-norm subgradient, 0."
        ),
        citation=f"{MAX_TIE_SOURCE} ({HINGE_SOURCE})",
        inputs=hinge_at_zero,
        inputs_text="some element has s·x = 1 exactly (the hinge)",
        affects=("grad",),
        model=_half_at_tie(_hinge_z),
        model_text="the reference's loss, with slope −s/2 where 1 − s·x = 0",
        example=Example({"reduction": "sum"}, {"input": [1.0, -0.5], "target": [1.0, 1.0]}),
    ),
    Divergence(
        id="perceptron_loss/hinge-tie-half-gradient",
        kind="convention",
        loss="perceptron_loss",
        description=(
            "optax's perceptron loss is jnp.maximum(0, −x·y), and JAX differentiates max at a "
            "tie symmetrically: at x = 0 (−x·y = 0) each side gets half, so ∂ℓ/∂x = −y/2 "
            "(y = 1: −0.5). The reference takes the minimum-norm subgradient, 0. A subnormal x "
            "is 0 to XLA on CPU (flush to zero), and ties too."
        ),
        citation=f"{MAX_TIE_SOURCE} ({HINGE_SOURCE})",
        inputs=perceptron_at_zero,
        inputs_text="some input is 0 as JAX sees it (0, −0, or a subnormal flushed on CPU)",
        affects=("grad",),
        example=Example({"reduction": "sum"}, {"input": [0.0, 1.0], "target": [1.0, -1.0]}),
    ),
]
