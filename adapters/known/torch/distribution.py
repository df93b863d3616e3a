"""torch's known divergences in the distribution family: kl_div, poisson_nll_loss and
gaussian_nll_loss.
"""

from __future__ import annotations

import math

import numpy as np

import reference as R
from adapters.base import Accepts, Divergence, Example
from adapters.predicates import kl_incoming_gradient
from reference import Case
from reference._math import sum_to_shape
from reference.contract import Prediction, predict, predict_nonfinite
from reference.terms import TermScale

from ._common import (
    DOCS,
    FUNCTIONAL_GAUSSIAN,
    ISSUE,
    LOSS_CPP,
    VALUE_GRAD,
    elementwise_cotangent,
    inf,
    params_of,
    reduce_rounded,
    target_unchecked,
    unchecked,
)
from ._shapes import (
    BROADCASTS,
    all_broadcast,
    broadcasting,
    gaussian_shapes,
)


def var_at_or_below_eps(case: Case) -> bool:
    return bool(np.any(case.rounded()["var"] <= params_of(case)["eps"]))


def _eps_in_dtype(case: Case) -> tuple[float, float]:
    """eps as the reference uses it, and as torch clamps with it (rounded to the dtype)."""
    eps = float(params_of(case)["eps"])
    return eps, float(R.round_to(np.float64(eps), case.dtype))


def var_clamped_to_rounded_eps(case: Case) -> bool:
    """The clamp is active and eps rounded to the dtype is off by more than two unit roundoffs."""
    eps, eps_dt = _eps_in_dtype(case)
    shifted = abs(eps_dt - eps) / eps > R.FORMATS[case.dtype].eps
    return shifted and bool(np.any(case.rounded()["var"] < max(eps, eps_dt)))


def gaussian_square_overflows(case: Case) -> bool:
    """(input − target)², computed in the dtype before the division by var, is beyond the dtype's
    range (float16: |input − target| ≥ 256) while input and target are finite."""
    a, dt = case.rounded(), case.dtype
    d = R.round_to(a["input"] - a["target"], dt)
    square = R.round_to(d * d, dt)
    finite = np.isfinite(a["input"]) & np.isfinite(a["target"])
    return bool(np.any(finite & np.isinf(square)))


def gaussian_backward_overflows(case: Case) -> bool:
    """The backward of d²/v scales the incoming gradient by 1/v in the dtype: g·½/v beyond the
    dtype's range (float16, v ≲ 7.6e-6 for g = 1) gives ±inf or NaN gradients where the
    reference's are finite."""
    a = case.rounded()
    _, eps_dt = _eps_in_dtype(case)
    var = a["var"][..., None] if a["var"].ndim == a["input"].ndim - 1 else a["var"]
    v = np.broadcast_to(np.maximum(var, eps_dt), a["input"].shape)
    g = elementwise_cotangent(case, a["input"].size)
    return bool(np.any(g * 0.5 / v > R.FORMATS[case.dtype].max_value))


def _gaussian_quotients(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x − y)², (x − y)²/v and ((x − y)²/v)/v with v = max(var, eps) (eps rounded to the dtype,
    as torch clamps), each operation rounded to the dtype, as torch's forward and the division's
    backward (−grad·((self/other)/other)) form them; and v broadcast to the input's shape."""
    a, dt = case.rounded(), case.dtype
    _, eps_dt = _eps_in_dtype(case)
    var = a["var"][..., None] if a["var"].ndim == a["input"].ndim - 1 else a["var"]
    v = np.broadcast_to(np.maximum(var, eps_dt), a["input"].shape)
    d = R.round_to(a["input"] - a["target"], dt)
    square = R.round_to(d * d, dt)
    quotient = R.round_to(square / v, dt)
    return square, quotient, R.round_to(quotient / v, dt), v


def gaussian_quotient_overflows(case: Case) -> bool:
    """(x − y)² is finite in the dtype but (x − y)²/max(var, eps), formed before the ½, is not,
    while the exact loss (after the case's reduction) is representable (float16: ½d²/v between
    32752 and 65504)."""
    square, quotient, _, v = _gaussian_quotients(case)
    a = case.rounded()
    exact = 0.5 * (np.log(v) + (a["input"] - a["target"]) ** 2 / v)
    if params_of(case)["full"]:
        exact = exact + 0.5 * math.log(2.0 * math.pi)
    exact = np.broadcast_to(reduce_rounded(case, exact), square.shape)
    return bool(np.any(np.isfinite(square) & ~np.isfinite(quotient) & np.isfinite(exact)))


def gaussian_var_grad_quotient_overflows(case: Case) -> bool:
    """The division's part of the var gradient, −(g·½)·((x − y)²/v)/v, formed in the dtype and
    summed (float accumulation, rounded once) over the dimensions var is broadcast along before
    the log's part (g·½)/v is added, is ±inf or NaN (0·inf at g = 0) while the exact var
    gradient is representable (elements whose (x − y)² overflows: gaussian-square-overflow)."""
    a, p, dt = case.rounded(), params_of(case), case.dtype
    square, _, factor, v = _gaussian_quotients(case)
    x = a["input"]
    if p["reduction"] == "none":
        g = np.broadcast_to(case.rounded_cotangent(), x.shape)
    else:  # mean's backward forms 1/N in the dtype
        g = np.full(
            x.shape, R.round_to(np.float64(1.0 / x.size), dt) if p["reduction"] == "mean" else 1.0
        )
    part = np.where(np.isfinite(square), R.round_to(-R.round_to(0.5 * g, dt) * factor, dt), 0.0)
    var = a["var"][..., None] if a["var"].ndim == x.ndim - 1 else a["var"]
    axes = tuple(i for i, n in enumerate(var.shape) if n == 1 and x.shape[i] != 1)
    d = x - a["target"]
    exact = g * np.where(var > p["eps"], 0.5 * (1.0 / v - d * d / (v * v)), 0.0)
    summed = R.round_to(np.sum(part, axis=axes), dt)
    exact = R.round_to(np.sum(exact, axis=axes), dt)
    return bool(np.any(~np.isfinite(summed) & np.isfinite(exact)))


def kl_zero_target(case: Case) -> bool:
    """t = 0 (with x ≠ −inf, where the reference's log 0 + 1 − x is NaN as well)."""
    a = case.rounded()
    return bool(np.any((a["target"] == 0) & ~np.isneginf(a["input"])))


def kl_target_grad_product_underflows(case: Case) -> bool:
    """A positive target t whose g·t (xlogy's backward forms g·t, then divides by t) rounds in
    the dtype's subnormal range with more than a unit roundoff of relative error."""
    t = case.rounded()["target"]
    gt = kl_incoming_gradient(case) * t  # exact in float64: two numbers of the dtype
    lost = np.abs(R.round_to(gt, case.dtype) - gt) > 0.5 * R.FORMATS[case.dtype].eps * np.abs(gt)
    return bool(np.any((t > 0) & np.isfinite(t) & lost))


def kl_batchmean_sum_overflows(case: Case) -> bool:
    """batchmean: the sum of the pointwise terms (each rounded to the dtype) is beyond the dtype's
    range while the sum divided by the batch size is not."""
    if params_of(case)["reduction"] != "batchmean":
        return False
    x = case.rounded()["input"]
    terms = R.round_to(case.pointwise(), case.dtype)  # the reference's terms, rounded
    if not np.all(np.isfinite(terms)):
        return False
    total, top = float(np.sum(terms)), R.FORMATS[case.dtype].max_value
    batch = x.shape[0] if x.ndim else 1
    return abs(total) > top and abs(total / batch) <= top


def kl_neginf_log_target(case: Case) -> bool:
    return bool(np.any(np.isneginf(case.rounded()["target"])))


def kl_zero_target_infinite_input(case: Case) -> bool:
    a = case.rounded()
    return bool(np.any((a["target"] == 0) & np.isinf(a["input"])))


def _poisson_log_term(case: Case) -> np.ndarray:
    """x (log_input) or log(x + eps) with x + eps rounded to the dtype, as torch computes it
    (float16 rounds eps = 1e-8 to 0, so log(0 + eps) is −inf there)."""
    a, p = case.rounded(), params_of(case)
    if p["log_input"]:
        return a["input"]
    return np.log(R.round_to(a["input"] + p["eps"], case.dtype))


def poisson_zero_count_infinite_term(case: Case) -> bool:
    """A zero count multiplies an infinite or NaN term: x (log_input) or log(x + eps)."""
    y = case.rounded()["target"]
    return bool(np.any((y == 0) & ~np.isfinite(_poisson_log_term(case))))


def poisson_exp_overflows(case: Case) -> bool:
    """log_input with a finite x whose e^x exceeds the dtype's range (float16: x > 11.09)."""
    a, p = case.rounded(), params_of(case)
    x = a["input"]
    limit = math.log(R.FORMATS[case.dtype].max_value)
    return p["log_input"] and bool(np.any(np.isfinite(x) & (x > limit)))


def poisson_eps_lost_in_dtype(case: Case) -> bool:
    """A positive count at a rate whose x + eps is 0 in the dtype but not in float64."""
    a, p = case.rounded(), params_of(case)
    if p["log_input"]:
        return False
    exact = a["input"] + p["eps"]
    lost = (exact > 0) & (R.round_to(exact, case.dtype) <= 0)
    return bool(np.any(lost & (a["target"] > 0)))


# --- models: what torch returns where an entry applies --------------------------------------


def kl_target_zero_grad_model(case: Case) -> Prediction:
    return predict_nonfinite(case, grads={"target": case.rounded()["target"] == 0})


def kl_zero_target_infinite_input_model(case: Case) -> Prediction:
    a = case.rounded()
    return predict_nonfinite(case, value=(a["target"] == 0) & np.isinf(a["input"]))


def kl_log_target_neginf_model(case: Case) -> Prediction:
    neginf = np.isneginf(case.rounded()["target"])
    return predict_nonfinite(case, value=neginf, grads={"target": neginf})


def poisson_zero_count_model(case: Case) -> Prediction:
    """NaN for each zero count whose term (x, or log(x + eps) with x + eps in the dtype) is not
    finite; without log_input the gradient 1 − y/(x + eps) is 0/0 = NaN too where x + eps is 0
    in the dtype."""
    a, p = case.rounded(), params_of(case)
    zero = a["target"] == 0
    value = zero & ~np.isfinite(_poisson_log_term(case))
    grads = {}
    if not p["log_input"]:
        grads["input"] = zero & (R.round_to(a["input"] + p["eps"], case.dtype) == 0)
    return predict_nonfinite(case, value=value, grads=grads)


def _clamped_variance(a, p) -> tuple[np.ndarray, np.ndarray]:
    """var broadcast against the input (one fewer dimension gains a trailing one), max(var, eps)."""
    var = a["var"][..., None] if a["var"].ndim == a["input"].ndim - 1 else a["var"]
    return var, np.maximum(var, p["eps"])


def _var_gradient_through_clamp(a, p, g, magnitude: bool = False) -> np.ndarray:
    """½·g·(1/v − d²/v²) where var ≤ eps, v = eps (torch's clamp passes the gradient as if var
    were eps), 0 elsewhere, summed over the dimensions var is broadcast along; with
    ``magnitude`` its terms' size ½·|g|·(1/v + d²/v²)."""
    var, v = _clamped_variance(a, p)
    d = a["input"] - a["target"]
    sign = 1.0 if magnitude else -1.0
    part = g * np.where(var <= p["eps"], 0.5 * (1.0 / v + sign * d * d / (v * v)), 0.0)
    part = np.broadcast_to(part, np.broadcast_shapes(np.shape(part), d.shape))
    return np.reshape(sum_to_shape(part, var.shape), a["var"].shape)


def gaussian_clamp_model(case: Case) -> Prediction:
    """The reference with var clamped at eps as the dtype holds it (float16: 1.0133e-6), and the
    var gradient taken through the clamp (the documented "ignored with respect to autograd")."""
    spec = R.get("gaussian_nll_loss")
    ts = spec.term_scale

    def vjp(a, p, g):
        grads = spec.elementwise_vjp(a, p, g)
        return {**grads, "var": grads["var"] + _var_gradient_through_clamp(a, p, g)}

    def grad_terms(a, p, c):
        grads = ts.grads(a, p, c)
        return {**grads, "var": grads["var"] + _var_gradient_through_clamp(a, p, c, True)}

    _, eps_dt = _eps_in_dtype(case)
    return predict(
        case,
        elementwise_vjp=vjp,
        term_scale=TermScale(ts.value, grad_terms, ts.grad_floor),
        params={"eps": eps_dt},
    )


F32_SMALLEST_SUBNORMAL = float(np.finfo(np.float32).smallest_subnormal)  # 2^-149
F16_EPS = float(np.float16(1e-6))  # gaussian_nll_loss's eps as float16 holds it

DIVERGENCES: list[Divergence] = [
    Divergence(
        id="kl_div/target-zero-grad",
        kind="known-bug",
        loss="kl_div",
        where={"log_target": False},
        description=(
            "computes xlogy(t, t) − t·x; the derivative of xlogy(t, t) at t = 0 is 0/0, so the "
            "target gradient is NaN where the reference gives −inf (log 0 + 1 − x)"
        ),
        citation=ISSUE.format(89558),
        inputs=kl_zero_target,
        inputs_text="some target == 0 whose input is not −inf",
        affects=("grad",),
        model=kl_target_zero_grad_model,
        model_text="the reference's target gradient with NaN at each zero target",
        example=Example(
            {"reduction": "none"},
            {"input": [-1.0, -2.0], "target": [0.0, 0.5]},
            cotangent=[1.0, 1.0],
        ),
    ),
    Divergence(
        id="kl_div/target-grad-underflow",
        kind="known-bug",
        loss="kl_div",
        where={"log_target": False},
        description=(
            "computes xlogy(t, t) − t·x, and xlogy's backward forms the +1 of log t + 1 − x as "
            "(g·t)/t in the input dtype: where g·t falls into the subnormal range it loses its "
            "digits (to 0 at the smallest ones), so the target gradient misses part or all of g "
            "(float32, t = 2^-149, x = 0, cotangent ½: −51.639, reference −51.139)"
        ),
        citation=ISSUE.format(89558),
        inputs=kl_target_grad_product_underflows,
        inputs_text="some positive target whose product with the incoming gradient rounds in the "
        "dtype's subnormal range with more than a unit roundoff of relative error",
        affects=("grad",),
        example=Example(
            {"reduction": "none"},
            {"input": [0.0, -1.0], "target": [F32_SMALLEST_SUBNORMAL, 0.5]},
            dtype="float32",
            cotangent=[0.5, 1.0],
        ),
    ),
    Divergence(
        id="kl_div/batchmean-sum-overflow",
        kind="known-bug",
        loss="kl_div",
        where={"reduction": "batchmean"},
        description=(
            "computes batchmean as torch.kl_div(..., reduction='sum') / input.size(0) in the "
            "input dtype: where the sum overflows (float16: beyond 65504) the result is inf "
            "although the batch mean is representable (float16, four items of terms summing to "
            "65552: inf, reference 16388)"
        ),
        # kl_div: batchmean takes reduction_enum 'sum', then reduced / input.size()[0]
        citation="https://github.com/pytorch/pytorch/blob/v2.13.0/torch/nn/functional.py#L3458-L3467",
        inputs=kl_batchmean_sum_overflows,
        inputs_text="finite pointwise terms whose sum overflows the dtype while sum / batch size "
        "does not",
        affects=VALUE_GRAD,
        example=Example(
            {"reduction": "batchmean"},
            {
                "input": [[-(2.0**14)] * 2] * 2,
                "target": [[1.0, 1.0], [1.0, 1.0]],
            },
            dtype="float16",
        ),
    ),
    Divergence(
        id="kl_div/zero-target-infinite-input",
        kind="known-bug",
        loss="kl_div",
        where={"log_target": False},
        description=(
            "the −t·x term is not dropped at t = 0, so an infinite input there gives 0·inf = NaN "
            "instead of 0"
        ),
        citation=ISSUE.format(89558),
        inputs=kl_zero_target_infinite_input,
        inputs_text="some target == 0 whose input is ±inf",
        affects=("value",),
        model=kl_zero_target_infinite_input_model,
        model_text="the reference's value with NaN at each zero target whose input is ±inf",
        example=Example(
            {"reduction": "none"},
            {"input": [-inf, -1.0], "target": [0.0, 0.5]},
            cotangent=[1.0, 1.0],
        ),
    ),
    Divergence(
        id="kl_div/log-target-neginf",
        kind="known-bug",
        loss="kl_div",
        where={"log_target": True},
        description=(
            "computes exp(t)·(t − x) literally (the documented formula), so a log-target of −inf "
            "(probability 0) gives 0·(−inf) = NaN for the value and the target gradient instead "
            "of 0"
        ),
        citation=DOCS["KLDivLoss"],
        inputs=kl_neginf_log_target,
        inputs_text="some target == −inf",
        affects=VALUE_GRAD,
        model=kl_log_target_neginf_model,
        model_text="the reference's value and target gradient with NaN at each log-target −inf",
        example=Example(
            {"reduction": "none", "log_target": True},
            {"input": [-1.0, -2.0], "target": [-inf, -0.5]},
            cotangent=[1.0, 1.0],
        ),
    ),
    Divergence(
        id="poisson_nll_loss/zero-count-infinite-term",
        kind="known-bug",
        loss="poisson_nll_loss",
        description=(
            "computes exp(x) − y·x (or x − y·log(x + eps)) literally, so a zero count times an "
            "infinite term is 0·inf = NaN instead of dropping the term (x = −inf, y = 0: NaN, "
            "reference 0)"
        ),
        citation=LOSS_CPP,
        inputs=poisson_zero_count_infinite_term,
        inputs_text="some target == 0 where x (log_input) or log(x + eps) is not finite",
        affects=VALUE_GRAD,
        model=poisson_zero_count_model,
        model_text="the reference's value with NaN at each zero count times a non-finite term (and, without log_input, a NaN gradient where x + eps is 0 in the dtype)",
        example=Example(
            {"reduction": "none"},
            {"input": [-inf, 1.0], "target": [0.0, 1.0]},
            cotangent=[1.0, 1.0],
        ),
    ),
    Divergence(
        id="poisson_nll_loss/exp-overflow",
        kind="known-bug",
        loss="poisson_nll_loss",
        where={"log_input": True},
        description=(
            "evaluates e^x in the input dtype for the value and for the gradient g·(e^x − y): "
            "once e^x overflows (float16: x > 11.09) the element is inf and the gradient ±inf "
            "even where the mean, or a gradient scaled by a small cotangent, is representable "
            "(x = 12, count 3, cotangent 1/256: −inf, reference −635.8)"
        ),
        citation=LOSS_CPP,
        inputs=poisson_exp_overflows,
        inputs_text="log_input and some finite x above log(largest number of the dtype)",
        affects=VALUE_GRAD,
        example=Example(
            {"reduction": "none"},
            {"input": [12.0, 1.0], "target": [3.0, 1.0]},
            dtype="float16",
            cotangent=[-(2.0**-8), 1.0],
        ),
    ),
    Divergence(
        id="poisson_nll_loss/eps-lost-in-dtype",
        kind="known-bug",
        loss="poisson_nll_loss",
        where={"log_input": False},
        description=(
            "adds eps to the rate in the input dtype; float16 rounds 1e-8 to 0, so a positive count "
            "at rate 0 gives x − y·log(0) = +inf where the reference's log(1e-8) is finite "
            "(count 3: inf, reference 55.3)"
        ),
        citation=LOSS_CPP,
        inputs=poisson_eps_lost_in_dtype,
        inputs_text="some positive count whose rate + eps is 0 in the dtype",
        affects=VALUE_GRAD,
        example=Example(
            {"reduction": "none", "log_input": False},
            {"input": [0.0, 1.0], "target": [3.0, 1.0]},
            dtype="float16",
            cotangent=[1.0, 1.0],
        ),
    ),
    Divergence(
        id="gaussian_nll_loss/var-clamp-grad",
        kind="convention",
        loss="gaussian_nll_loss",
        description=(
            "clamps var to eps without autograd ('the clamping of var is ignored with respect to "
            "autograd'), so where var ≤ eps the var gradient is ½(1/eps − d²/eps²) (e.g. 5e5 at "
            "var = 0, d = 0) where the reference gives 0 (the clamped loss is flat in var)"
        ),
        citation=DOCS["GaussianNLLLoss"],
        inputs=var_at_or_below_eps,
        inputs_text="some var ≤ eps",
        affects=("grad",),
        model=gaussian_clamp_model,
        model_text="the reference with var clamped at eps as the dtype holds it and the var gradient ½(1/eps − d²/eps²) where var ≤ eps",
        example=Example(
            {"reduction": "none"},
            {"input": [1.0, 2.0], "target": [0.5, 2.0], "var": [0.0, 1.0]},
            cotangent=[1.0, 1.0],
        ),
    ),
    Divergence(
        id="gaussian_nll_loss/eps-rounded",
        kind="known-bug",
        loss="gaussian_nll_loss",
        description=(
            "clamps var with eps rounded to the input dtype: float16 cannot hold 1e-6 and clamps "
            "to 1.0133e-6, so clamped elements are 1.3% off in d²/var (var = 2^-22: 30848, "
            "reference 31243)"
        ),
        citation=DOCS["GaussianNLLLoss"],
        inputs=var_clamped_to_rounded_eps,
        inputs_text="some var below eps where eps rounded to the dtype is more than two unit "
        "roundoffs away from eps",
        affects=VALUE_GRAD,
        model=gaussian_clamp_model,
        model_text="the reference with var clamped at eps as the dtype holds it and the var gradient ½(1/eps − d²/eps²) where var ≤ eps",
        example=Example(
            {"reduction": "none"},
            {"input": [0.25, 0.0], "target": [0.25 + 2.0**-6, 0.0], "var": [2.0**-22, 1.0]},
            dtype="float16",
            cotangent=[1.0, 1.0],
        ),
    ),
    Divergence(
        id="gaussian_nll_loss/square-overflow",
        kind="known-bug",
        loss="gaussian_nll_loss",
        description=(
            "evaluates the documented (input − target)²/max(var, eps) with the square formed "
            "first in the input dtype: once it overflows (float16: |input − target| ≥ 256) the "
            "element is inf and the var gradient −inf or NaN although d²/(2·var) is representable "
            "(input 256, target 0, var 1: inf, reference 32768)"
        ),
        citation=DOCS["GaussianNLLLoss"],
        inputs=gaussian_square_overflows,
        inputs_text="some finite input and target whose difference squared overflows the dtype",
        affects=VALUE_GRAD,
        example=Example(
            {"reduction": "mean"},
            {"input": [256.0, 1.0], "target": [0.0, 0.5], "var": [1.0, 1.0]},
            dtype="float16",
        ),
    ),
    Divergence(
        id="gaussian_nll_loss/backward-overflow",
        kind="known-bug",
        loss="gaussian_nll_loss",
        description=(
            "backpropagates through d²/v by multiplying the incoming gradient by 1/v in the input "
            "dtype: in float16 with v near eps that product overflows, so input/target gradients "
            "are ±inf (NaN where input == target) and the var gradient NaN, although the exact "
            "gradients (d/v = 15420 at d = 1/64, v = eps) are representable"
        ),
        citation=DOCS["GaussianNLLLoss"],
        inputs=gaussian_backward_overflows,
        inputs_text="some element with |incoming gradient|·½/max(var, eps) above the dtype's "
        "largest number",
        affects=("grad",),
        example=Example(
            {"reduction": "none"},
            {"input": [1.0], "target": [0.0], "var": [F16_EPS]},
            dtype="float16",
            cotangent=[1.0],
        ),
    ),
    Divergence(
        id="gaussian_nll_loss/quotient-overflow",
        kind="known-bug",
        loss="gaussian_nll_loss",
        description=(
            "forms (input − target)²/max(var, eps) in the input dtype before the ½: in float16 "
            "the quotient overflows where ½·d²/v is representable (input 10, target 0, "
            "var 2^-10: d²/v = 102400 → inf, loss inf, reference 51197)"
        ),
        citation=FUNCTIONAL_GAUSSIAN,
        inputs=gaussian_quotient_overflows,
        inputs_text="some element whose (input − target)² is finite in the dtype and whose "
        "quotient by max(var, eps) is not, while the exact loss is representable",
        affects=("value",),
        example=Example(
            {"reduction": "none"},
            {"input": [8.0, 1.0], "target": [0.0, 0.0], "var": [2.0**-10, 1.0]},
            dtype="float16",
            cotangent=[1.0, 1.0],
        ),
    ),
    Divergence(
        id="gaussian_nll_loss/var-grad-quotient-overflow",
        kind="known-bug",
        loss="gaussian_nll_loss",
        description=(
            "the division's backward gives var −(g·½)·((d²/v)/v), with (d²/v)/v formed in the "
            "input dtype and summed over the dimensions var is broadcast along before the log's "
            "part (g·½)/v is added: in float16 it overflows where the var gradient is "
            "representable, and is 0·inf = NaN at a zero incoming gradient (input −15.25, target "
            "2.633, var 0.0625: (d²/v)/v = 81792 → inf, var gradient −inf, reference −40926; "
            "with cotangent 0 NaN, reference 0; input 0, target 9.984, var 0.0625 broadcast over "
            "a row of 3: division part summed 65520 → inf, reference 65479)"
        ),
        citation=FUNCTIONAL_GAUSSIAN,
        inputs=gaussian_var_grad_quotient_overflows,
        inputs_text="some var element whose division part of the gradient, −(g·½)·((d²/v)/v) "
        "summed over its broadcast dimensions in the dtype, is not finite while the exact var "
        "gradient is representable",
        affects=("grad",),
        example=Example(
            {"reduction": "none"},
            {"input": [16.0, 1.0], "target": [-2.0, 1.0], "var": [2.0**-4, 1.0]},
            dtype="float16",
            cotangent=[1.0, 1.0],
        ),
    ),
]

# Inputs the reference rejects and torch computes anyway, keyed by (loss, argument).
ACCEPTS: list[Accepts] = [
    unchecked(
        id="kl_div/target-unchecked",
        loss="kl_div",
        argument="target",
        text=target_unchecked,
        page="KLDivLoss",
        where={"log_target": False},
        example=Example({"reduction": "none"}, {"input": [-0.5, -0.25], "target": [1.25, 0.5]}),
    ),
    broadcasting(
        id="kl_div/broadcasts-shapes",
        loss="kl_div",
        what=BROADCASTS,
        accepts=all_broadcast,
        example=Example(
            {"reduction": "none"}, {"input": [[-1.0, -1.0]] * 3, "target": [[0.5, 0.5]]}
        ),
    ),
    broadcasting(
        id="poisson_nll_loss/broadcasts-shapes",
        loss="poisson_nll_loss",
        what=BROADCASTS,
        accepts=all_broadcast,
        example=Example({"reduction": "sum"}, {"input": [[1.0, 1.0]] * 3, "target": [[2.0, 2.0]]}),
    ),
    broadcasting(
        id="gaussian_nll_loss/broadcasts-shapes",
        loss="gaussian_nll_loss",
        what="takes a var with any one dimension of size 1 (documented) and broadcasts the target",
        accepts=gaussian_shapes,
        example=Example(
            {"reduction": "none"},
            {"input": [[1.0, 1.0]] * 3, "target": [[0.0, 0.0]] * 3, "var": [[1.0, 1.0]]},
        ),
        citation=DOCS["GaussianNLLLoss"],
    ),
]
