"""torch's known divergences in the binary family: binary_cross_entropy and
binary_cross_entropy_with_logits (torch has no sigmoid_focal_loss: the adapter says why).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

import reference as R
from adapters.base import Accepts, Divergence, Example
from reference import Case
from reference._math import times_or_zero
from reference.contract import Prediction, predict, predict_nonfinite
from reference.spec import Elementwise
from reference.terms import TermScale

from ._common import (
    DOCS,
    EPSILON,
    FUNCTIONS_MANUAL,
    LOSS_CPP,
    VALUE_GRAD,
    inf,
    logsigmoid,
    nan,
    params_of,
    reduce_rounded,
    sigmoid,
    target_unchecked,
    unchecked,
    weight_unchecked,
)
from ._shapes import (
    WEIGHTS,
    broadcasting,
    target_like_input_weights_broadcast,
)


def _weighted(arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    """Elements whose binary-loss weight is nonzero (a zero weight removes the element in both)."""
    w = arrays.get("weight", 1.0)
    return np.broadcast_to(w != 0, arrays["input"].shape)


def bce_log_clamped(case: Case) -> bool:
    """Some term selected by the label has log(p) < -100, where torch clamps the log."""
    a = case.rounded()
    x, y = a["input"], a["target"]
    with np.errstate(divide="ignore"):
        low = (np.log(x) < -100) & (y != 0)
        high = (np.log1p(-x) < -100) & (y != 1)
    return bool(np.any((low | high) & _weighted(a)))


def bce_grad_clamped(case: Case) -> bool:
    """x(1 − x) < 1e-12, where torch's backward divides by 1e-12 instead (equal only at x = y)."""
    a = case.rounded()
    x, y = a["input"], a["target"]
    clamped = x * (1.0 - x) < 1e-12
    exact_anyway = (x > 0) & (x < 1) & (x == y)
    return bool(np.any(clamped & ~exact_anyway & _weighted(a)))


def _bce_unweighted_input_grad(case: Case) -> np.ndarray:
    """g·(x − y)/max((1 − x)·x, 1e-12) with each operation rounded to the dtype, as torch's
    backward kernel forms it before the weight and the 1/N of ``mean`` (float16 holds no 1e-12:
    its max is with 0). g is the incoming gradient: the cotangent for ``none``, else 1."""
    a, dt = case.rounded(), case.dtype
    x, y = a["input"], a["target"]
    g = np.abs(case.rounded_cotangent()) if params_of(case)["reduction"] == "none" else 1.0
    denominator = np.maximum(R.round_to((1.0 - x) * x, dt), R.round_to(np.float64(1e-12), dt))
    return R.round_to(R.round_to(g * (x - y), dt) / denominator, dt)


def bce_zero_weight_at_nonfinite_grad(case: Case) -> bool:
    """A zero-weight element whose unweighted gradient is ±inf or NaN in the dtype: the target's
    −logit(x) at input 0 or 1, or the input's (x − y)/max(x(1 − x), 1e-12) (see
    :func:`_bce_unweighted_input_grad`)."""
    a = case.rounded()
    x = a["input"]
    w = np.broadcast_to(a.get("weight", 1.0), x.shape)
    nonfinite = (x == 0) | (x == 1) | ~np.isfinite(_bce_unweighted_input_grad(case))
    return bool(np.any((w == 0) & nonfinite))


def bce_logits_infinite(case: Case) -> bool:
    """x = −inf (any target), or x = +inf with target 1: torch's formula meets 0·inf or inf − inf."""
    a = case.rounded()
    x, y = a["input"], a["target"]
    return bool(np.any(np.isneginf(x) | (np.isposinf(x) & (y == 1))))


def _bce_logits_terms(case: Case) -> dict[str, np.ndarray]:
    """binary_cross_entropy_with_logits element by element as torch forms it, each operation
    rounded to the dtype (Loss.cpp forward, FunctionsManual.cpp backward): the unweighted loss
    (1 − y)·x − log σ(x)·(1 + (q − 1)·y), and the input and target gradients
    σ(x)·(q·y + 1 − y) − q·y and log σ(−x) − q·log σ(x) (without pos_weight σ(x) − y and −x)
    times the incoming gradient g, before the weight w and, for ``mean``, 1/N. Also w, g, the
    divisor N and the exact (float64) value and gradients, rounded to the dtype."""
    a, dt, p = case.rounded(), case.dtype, params_of(case)

    def rnd(v):
        return R.round_to(v, dt)

    x, y = a["input"], a["target"]
    w = np.broadcast_to(a.get("weight", 1.0), x.shape)
    q = np.broadcast_to(a.get("pos_weight", 1.0), x.shape)
    g = np.broadcast_to(case.rounded_cotangent() if p["reduction"] == "none" else 1.0, x.shape)
    n = x.size if p["reduction"] == "mean" else 1
    ls = rnd(logsigmoid(x))
    if "pos_weight" in a:
        term = rnd(ls * rnd(rnd(rnd(q - 1.0) * y) + 1.0))
        qy = rnd(q * y)
        grad_input = rnd(rnd(rnd(rnd(qy + 1.0) - y) * rnd(sigmoid(x))) - qy)
        grad_target = rnd(rnd(logsigmoid(-x)) - rnd(ls * q))
    else:
        term, grad_input, grad_target = ls, rnd(rnd(sigmoid(x)) - y), rnd(-x)
    scale = g * w / n
    exact_loss = w * ((1.0 - y) * x - (1.0 + (q - 1.0) * y) * logsigmoid(x))
    return {
        "x": x,
        "w": w,
        "g": g,
        "n": np.float64(n),
        "loss": rnd(rnd(rnd(1.0 - y) * x) - term),
        "input": rnd(grad_input * g),
        "target": rnd(grad_target * g),
        "exact:value": np.broadcast_to(reduce_rounded(case, exact_loss), x.shape),
        "exact:input": rnd((sigmoid(x) * (q * y + 1.0 - y) - q * y) * scale),
        "exact:target": rnd((logsigmoid(-x) - q * logsigmoid(x)) * scale),
    }


def bce_logits_zero_factor_at_nonfinite_term(case: Case) -> bool:
    """A finite logit whose unweighted loss or gradient term (:func:`_bce_logits_terms`) is not
    finite in the dtype at an element whose weight is 0, or (gradients) whose incoming gradient
    is 0: torch's 0·inf is NaN where the reference's zero factor gives 0."""
    t = _bce_logits_terms(case)
    w, g = t["w"], t["g"]
    grads = ~np.isfinite(t["input"]) | ~np.isfinite(t["target"])  # NaN already where g = 0
    hit = ((w == 0) & ~np.isfinite(t["loss"])) | ((w * g == 0) & grads)
    return bool(np.any(np.isfinite(t["x"]) & hit))


# --- models: what torch returns where an entry applies --------------------------------------

LOG_CLAMP = -100.0  # BCELoss: "clamps its log function outputs to be greater than or equal to -100"


def _bce_weight(a) -> np.ndarray | float:
    return a.get("weight", 1.0)


def _bce_clamped_loss(a, p) -> Elementwise:
    """−w [y·max(log x, −100) + (1 − y)·max(log(1 − x), −100)]: the reference's formula with each
    log clamped (a zero label weight still removes its term, as 0·(−100) = 0)."""
    x, y = a["input"], a["target"]
    log_x = np.maximum(np.log(x), LOG_CLAMP)
    log_1mx = np.maximum(np.log1p(-x), LOG_CLAMP)
    loss = -(times_or_zero(y, log_x) + times_or_zero(1.0 - y, log_1mx))
    return Elementwise(times_or_zero(_bce_weight(a), loss))


def _bce_clamped_terms(a, p, loss) -> np.ndarray:
    """The reference's BCE terms with each |log| at most 100 (the clamped logs' sizes)."""
    x, y, w = a["input"], a["target"], np.abs(_bce_weight(a))
    return w * (
        times_or_zero(np.abs(y), np.minimum(np.abs(np.log(x)), -LOG_CLAMP))
        + times_or_zero(np.abs(1.0 - y), np.minimum(np.abs(np.log1p(-x)), -LOG_CLAMP) + 1.0)
    )


def bce_log_clamp_model(case: Case) -> Prediction:
    spec = R.get("binary_cross_entropy")
    return predict(
        case,
        elementwise=_bce_clamped_loss,
        term_scale=TermScale(_bce_clamped_terms, spec.term_scale.grads),
    )


def bce_grad_epsilon_model(case: Case) -> Prediction:
    """Loss.cpp's backward: g·(x − y)/max((1 − x)·x, EPSILON) times the weight, EPSILON as the
    dtype holds it (float16: 0); the target gradient is the reference's −logit(x)·g·w."""
    spec = R.get("binary_cross_entropy")
    epsilon = float(R.round_to(np.float64(EPSILON), case.dtype))

    def denominator(x):
        return np.maximum((1.0 - x) * x, epsilon)

    def vjp(a, p, g):
        x, y = a["input"], a["target"]
        grads = spec.elementwise_vjp(a, p, g)
        return {**grads, "input": g * (x - y) / denominator(x) * _bce_weight(a)}

    def grad_terms(a, p, c):
        x, y = a["input"], a["target"]
        grads = spec.term_scale.grads(a, p, c)
        size = c * np.abs(_bce_weight(a)) * (np.abs(x) + np.abs(y)) / denominator(x)
        return {**grads, "input": np.broadcast_to(size, x.shape)}

    return predict(
        case,
        elementwise_vjp=vjp,
        term_scale=TermScale(spec.term_scale.value, grad_terms),
    )


def _bce_logits_absent_infinite(case: Case) -> np.ndarray:
    a = case.rounded()
    x, y = np.broadcast_arrays(a["input"], a["target"])
    return np.isneginf(x) | (np.isposinf(x) & (y == 1))


def bce_logits_infinite_model(case: Case) -> Prediction:
    return predict_nonfinite(case, value=_bce_logits_absent_infinite(case))


DIVERGENCES: list[Divergence] = [
    Divergence(
        id="binary_cross_entropy/log-clamp-100",
        kind="convention",
        loss="binary_cross_entropy",
        description=(
            "clamps each log at −100 (documented), so a probability of exactly 0 (or below e^−100) "
            "on the side the label selects costs 100·w per element instead of +inf"
        ),
        citation=DOCS["BCELoss"],
        inputs=bce_log_clamped,
        inputs_text="some nonzero-weight element with log(input) < −100 and target ≠ 0, or "
        "log(1 − input) < −100 and target ≠ 1",
        affects=("value",),
        model=bce_log_clamp_model,
        model_text="the reference's value with each log clamped at −100",
        example=Example(
            {"reduction": "none"},
            {"input": [0.0, 0.25], "target": [1.0, 0.5]},
            cotangent=[1.0, 1.0],
        ),
    ),
    Divergence(
        id="binary_cross_entropy/grad-epsilon",
        kind="known-bug",
        loss="binary_cross_entropy",
        description=(
            "the backward divides (input − target) by max(input·(1 − input), 1e-12): within 1e-12 "
            "of 0 or 1 the input gradient is not the derivative of the value (x = 1e-13, y = 1: "
            "−1e12 instead of −1e13; x = 0, y = 0: 0 instead of 1; x = 0, y = 1: −1e12, not −inf)"
        ),
        citation=LOSS_CPP,
        inputs=bce_grad_clamped,
        inputs_text="some nonzero-weight element with input·(1 − input) < 1e-12 (other than "
        "input == target)",
        affects=("grad",),
        model=bce_grad_epsilon_model,
        model_text="the input gradient g·w·(x − y)/max(x(1 − x), EPSILON), EPSILON = 1e-12 as a float in the dtype",
        example=Example({"reduction": "sum"}, {"input": [5e-13, 0.5], "target": [1.0, 0.5]}),
    ),
    Divergence(
        id="binary_cross_entropy/zero-weight-nonfinite-grad",
        kind="known-bug",
        loss="binary_cross_entropy",
        description=(
            "multiplies each element's gradient by its weight only after forming it, so a zero "
            "weight does not remove a non-finite term: at input 0 or 1 the target gradient "
            "−logit(x)·g·w is 0·(±inf) = NaN in every dtype, and in float16, where the backward's "
            "1e-12 rounds to 0, so is the input gradient (x − y)/max(x(1 − x), 0)·w; the "
            "reference's zero weight removes the element (x = 0, y = 0, w = 0: target gradient "
            "NaN, reference 0); so is the input gradient wherever (x − y)/(x(1 − x)) overflows "
            "the dtype (float16, x = 1.0e-5, y = 1, w = 0: NaN, reference 0)"
        ),
        citation=FUNCTIONS_MANUAL,
        inputs=bce_zero_weight_at_nonfinite_grad,
        inputs_text="some element with weight 0 and input exactly 0 or 1, or whose unweighted "
        "input gradient (x − y)/max(x(1 − x), 1e-12) is not finite in the dtype",
        affects=("grad",),
        example=Example(
            {"reduction": "none"},
            {"input": [0.0, 1.0, 0.5], "target": [0.0, 1.0, 0.5], "weight": [0.0, 0.0, 1.0]},
            cotangent=[1.0, 1.0, 1.0],
        ),
    ),
    Divergence(
        id="binary_cross_entropy_with_logits/infinite-logit",
        kind="known-bug",
        loss="binary_cross_entropy_with_logits",
        description=(
            "evaluates (1 − t)·x − log σ(x)·(1 + (q − 1)t) literally: a −inf logit gives "
            "−inf + inf = NaN whatever the target (reference: 0 for t = 0, +inf otherwise), and "
            "+inf with t = 1 gives 0·inf = NaN (reference: 0); gradients agree"
        ),
        citation=LOSS_CPP,
        inputs=bce_logits_infinite,
        inputs_text="some logit −inf, or +inf with target 1",
        affects=("value",),
        model=bce_logits_infinite_model,
        model_text="the reference's value with NaN at each logit −inf, or +inf with target 1",
        example=Example(
            {"reduction": "none"},
            {"input": [-inf, 0.5], "target": [0.0, 1.0]},
            cotangent=[1.0, 1.0],
        ),
    ),
    Divergence(
        id="binary_cross_entropy_with_logits/zero-factor-nonfinite-term",
        kind="known-bug",
        loss="binary_cross_entropy_with_logits",
        description=(
            "forms each element's loss (1 − y)·x − (1 + (q − 1)·y)·log σ(x) and its gradients, "
            "log σ(−x) − q·log σ(x) for the target and σ(x)·(q·y + 1 − y) − q·y for the input, "
            "in the input dtype and multiplies by the weight (and the incoming gradient) only "
            "afterwards, so a zero weight or zero incoming gradient does not remove a term that "
            "overflowed: 0·inf = NaN where the reference's zero factor gives 0 (float16, x = "
            "−4096, y = 0, w = 0, q = 16: target gradient −x + (q − 1)·softplus(−x) = 65536 → "
            "inf, times 0: NaN, reference 0; x = −4096, y = 1, w = 0, q = 16: loss 65536 → inf, "
            "the mean NaN, reference 0)"
        ),
        citation=FUNCTIONS_MANUAL,
        inputs=bce_logits_zero_factor_at_nonfinite_term,
        inputs_text="some finite logit whose unweighted loss or gradient term overflows the dtype "
        "at an element of weight 0 (or, for gradients, incoming gradient 0)",
        affects=VALUE_GRAD,
        example=Example(
            {"reduction": "mean"},
            {
                "input": [-(2.0**12), 0.5],
                "target": [0.0, 1.0],
                "weight": [0.0, 1.0],
                "pos_weight": [16.0],
            },
            dtype="float16",
        ),
    ),
]

# Inputs the reference rejects and torch computes anyway, keyed by (loss, argument).
ACCEPTS: list[Accepts] = [
    unchecked(
        id="binary_cross_entropy/weight-unchecked",
        loss="binary_cross_entropy",
        argument="weight",
        text=weight_unchecked,
        page="BCELoss",
        example=Example(
            {"reduction": "none"},
            {"input": [0.25, 0.5], "target": [1.0, 0.0], "weight": [inf, 1.0]},
        ),
    ),
    broadcasting(
        id="binary_cross_entropy/broadcasts-shapes",
        loss="binary_cross_entropy",
        what=WEIGHTS,
        accepts=target_like_input_weights_broadcast,
        example=Example(
            {"reduction": "none"},
            {
                "input": [[0.5, 0.5, 0.5, 0.5]] * 3,
                "target": [[0.25, 0.25, 0.25, 0.25]] * 3,
                "weight": [[1.0, 1.0, 1.0, 1.0]],
            },
        ),
    ),
    unchecked(
        id="binary_cross_entropy_with_logits/target-unchecked",
        loss="binary_cross_entropy_with_logits",
        argument="target",
        text=target_unchecked,
        page="BCEWithLogitsLoss",
        example=Example({"reduction": "none"}, {"input": [0.5, 0.25], "target": [1.25, -0.5]}),
    ),
    unchecked(
        id="binary_cross_entropy_with_logits/weight-unchecked",
        loss="binary_cross_entropy_with_logits",
        argument="weight",
        text=weight_unchecked,
        page="BCEWithLogitsLoss",
        example=Example(
            {"reduction": "none"},
            {"input": [0.25, 0.5], "target": [1.0, 0.0], "weight": [nan, 1.0]},
        ),
    ),
    unchecked(
        id="binary_cross_entropy_with_logits/pos-weight-unchecked",
        loss="binary_cross_entropy_with_logits",
        argument="pos_weight",
        text=weight_unchecked,
        page="BCEWithLogitsLoss",
        example=Example(
            {"reduction": "none"},
            {"input": [0.25, 0.5], "target": [1.0, 0.0], "pos_weight": [inf]},
        ),
    ),
    broadcasting(
        id="binary_cross_entropy_with_logits/broadcasts-shapes",
        loss="binary_cross_entropy_with_logits",
        what=WEIGHTS,
        accepts=target_like_input_weights_broadcast,
        example=Example(
            {"reduction": "none"},
            {
                "input": [[1.0, 1.0, 1.0, 1.0]] * 3,
                "target": [[0.25, 0.25, 0.25, 0.25]] * 3,
                # one weight per item, (N, 1): (N, C) and (C) weights are reference layouts
                "weight": [[1.0]] * 3,
            },
        ),
    ),
]
