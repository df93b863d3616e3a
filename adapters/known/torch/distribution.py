"""torch's known divergences in the distribution family: kl_div, poisson_nll_loss and
gaussian_nll_loss.
"""

from __future__ import annotations

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
    ISSUE,
    LOSS_CPP,
    VALUE_GRAD,
    inf,
    params_of,
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
