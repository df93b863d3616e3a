"""JAX/Optax divergences in the classification family: optax's softmax cross-entropies
(cross_entropy) and sigmoid_binary_cross_entropy averaged over classes
(multilabel_soft_margin_loss); nll_loss and multi_margin_loss are not offered by optax."""

from __future__ import annotations

import numpy as np

import reference as R
from reference import Case
from reference.contract import (
    K_VALUE,
    MAIN_API,
    Divergence,
    Example,
    Prediction,
    predict,
    predict_nonfinite,
)
from reference.terms import TermScale

from ._common import (
    INF,
    JAX_DOCS,
    JAX_ISSUE,
    OPTAX,
    OPTAX_ISSUE,
    OPTAX_PULL,
    SAFE_SOFTMAX_XENT,
    class_axis,
    full_params,
    infinite_logit_absent_term,
    uses_log_softmax,
    zero_for_jax,
)


def ce_lse_cancels(case: Case) -> bool:
    """Index targets without smoothing, and a kept item where optax's logsumexp(x) − x_y,
    rounded in the dtype, is further from the loss than the tolerance allows.

    optax's softmax_cross_entropy_with_integer_labels returns logsumexp(x) − x_y, and
    logsumexp adds the maximum back (max + log Σ e^(x − max)) before x_y is subtracted: that sum
    is rounded at the size of |max x|, an absolute error up to ½ ulp(logsumexp) where the loss
    is (x_max − x_y) + log Σ. The predicate rounds those two operations in the dtype and flags an
    error that may be beyond ½ ulp(loss) + (K + log2 C)·u·(1 + |x_y − max x| + log Σ) (the
    tolerance's bound for one item, K = K_VALUE). The loss it is held against is log1p of the
    exponentials other than the maximum's: log Σ itself, with Σ ≈ 1 rounded, is off by up to
    u relative to Σ − 1 (jax default profile, float64, logits (18.37, 0, −3), target 0: optax's
    1.10613030e−8 is 6.58e8 ULP from the loss against 6.43e8 allowed, but held against log Σ it
    looked inside the bound). Its gradient (softmax − one-hot) uses the shifted logits: accurate.
    """
    p = full_params(case)
    if uses_log_softmax(p):
        return False
    x = np.moveaxis(case.rounded()["input"], class_axis(case.arrays["input"]), -1)
    t = np.asarray(case.arrays["target"])
    kept = np.ones(t.shape, bool) if p["ignore_index"] is None else t != p["ignore_index"]
    safe = np.where(kept, t, 0)[..., None]
    dtype, n_classes = case.dtype, x.shape[-1]
    with np.errstate(all="ignore"):
        m = np.max(x, axis=-1)
        shifted = np.exp(x - m[..., None])
        log_sum = np.log(np.sum(shifted, axis=-1))  # as optax forms it
        top = np.arange(n_classes) == np.argmax(x, axis=-1)[..., None]
        log_sum_exact = np.log1p(np.sum(np.where(top, 0.0, shifted), axis=-1))
        x_y = np.take_along_axis(x, safe, axis=-1)[..., 0]
        optax = R.round_to(R.round_to(m + R.round_to(log_sum, dtype), dtype) - x_y, dtype)
        loss = (m - x_y) + log_sum_exact
        terms = 1.0 + np.abs(x_y - m) + log_sum_exact
        u = R.FORMATS[dtype].eps / 2.0
        allowed = 0.5 * R.spacing(loss, dtype) + (K_VALUE + np.log2(n_classes)) * u * terms
        off = np.isfinite(loss) & (np.abs(optax - loss) > allowed)
    return bool(np.any(kept & off))


def ce_neginf_logit_zero_label(case: Case) -> bool:
    """A −inf logit at a class whose (probability) target is 0: optax computes 0·(−inf)."""
    a = case.rounded()
    return bool(np.any((a["input"] == -np.inf) & zero_for_jax(a["target"], case)))


def ce_neginf_logit_flushed_label(case: Case) -> bool:
    """A −inf logit at a class whose target is subnormal and flushed to 0 by JAX on the CPU."""
    a = case.rounded()
    t = a["target"]
    return bool(np.any((a["input"] == -np.inf) & zero_for_jax(t, case) & (t != 0)))


def ce_posinf_logit_in_softmax_path(case: Case) -> bool:
    """On the log_softmax path, an item with a +inf logit and at least one other class below it."""
    if not uses_log_softmax(full_params(case)):
        return False
    x = case.rounded()["input"]
    axis = class_axis(x)
    return bool(np.any(np.any(x == np.inf, axis=axis) & np.any(x != np.inf, axis=axis)))


def ce_posinf_logit_absent_class(case: Case) -> bool:
    """Probability targets without smoothing, and an item whose +inf logits all sit at classes
    with target 0 while some class has a positive target: the reference's loss is +inf there
    (the terms with t > 0 have log-probability −inf; the +inf classes' terms are absent)."""
    p = full_params(case)
    if p["target_kind"] != "probability" or p["label_smoothing"]:
        return False
    a = case.rounded()
    axis = class_axis(a["input"])
    x, zero = a["input"], zero_for_jax(a["target"], case)
    posinf = x == np.inf
    absent = np.all(~posinf | zero, axis=axis) & np.any(posinf, axis=axis)
    return bool(np.any(absent & np.any(~zero & (a["target"] > 0), axis=axis)))


def every_target_ignored(case: Case) -> bool:
    ignore = full_params(case)["ignore_index"]
    return ignore is not None and bool(np.all(case.arrays["target"] == ignore))


# --- models: what optax returns where an entry applies --------------------------------------


def _class_last(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, class_axis(x), -1)


def _whole_items(case: Case, items: np.ndarray) -> np.ndarray:
    """An item mask (the unreduced loss's shape) over each item's classes, in the input's layout."""
    x = case.arrays["input"]
    spread = np.repeat(np.asarray(items)[..., None], np.shape(x)[class_axis(x)], axis=-1)
    return np.moveaxis(spread, -1, class_axis(x))


def multilabel_infinite_model(case: Case) -> Prediction:
    a = case.rounded()
    x, y = a["input"], a["target"]
    absent = ((x == np.inf) & (y == 1)) | ((x == -np.inf) & zero_for_jax(y, case))
    return predict_nonfinite(case, value=np.any(absent, axis=-1))


def ce_neginf_zero_label_model(case: Case) -> Prediction:
    a = case.rounded()
    at = (a["input"] == -np.inf) & zero_for_jax(a["target"], case)
    return predict_nonfinite(case, value=np.any(_class_last(at), axis=-1))


def _flushed_target(case: Case):
    """The reference's arrays → the same with each target JAX flushes to 0 set to 0."""

    def flushed(a):
        t = a["target"]
        return {**a, "target": np.where(zero_for_jax(t, case), 0.0, t)}

    return flushed


def ce_flushed_label_model(case: Case) -> Prediction:
    """The reference's definition on the target as the CPU sees it (subnormals read as 0), so a
    −inf logit there is an absent term: a finite loss where the reference's is +inf."""
    spec = R.get("cross_entropy")
    flushed = _flushed_target(case)
    scale = spec.term_scale
    return predict(
        case,
        elementwise=lambda a, p: spec.elementwise(flushed(a), p),
        term_scale=TermScale(
            lambda a, p, loss: scale.value(flushed(a), p, loss),
            lambda a, p, c: scale.grads(flushed(a), p, c),
            scale.grad_floor,
        ),
    )


def _posinf_items(case: Case) -> np.ndarray:
    x = _class_last(case.rounded()["input"])
    return np.any(x == np.inf, axis=-1) & np.any(x != np.inf, axis=-1)


def ce_posinf_grad_model(case: Case) -> Prediction:
    """NaN gradients over every class of an item with a +inf logit (and a finite one)."""
    rows = _whole_items(case, _posinf_items(case))
    grads = {"input": rows}
    if "target" in case.reference()[1]:
        grads["target"] = rows
    return predict_nonfinite(case, grads=grads)


def ce_posinf_value_model(case: Case) -> Prediction:
    return predict_nonfinite(case, value=_posinf_items(case))


def every_target_ignored_model(case: Case) -> Prediction:
    """jnp.mean(…, where=…)'s gradient: 0 at every excluded element, so 0 everywhere."""
    found = predict_nonfinite(case)
    return Prediction(found.value, {**found.grads, "input": np.zeros_like(found.grads["input"])})


DIVERGENCES: list[Divergence] = [
    Divergence(
        id="multilabel_soft_margin_loss/infinite-logit-nan",
        kind="known-bug",
        loss="multilabel_soft_margin_loss",
        description=(
            "Built on optax.losses.sigmoid_binary_cross_entropy: at x = +inf with y = 1 (or −inf "
            "with y = 0) the absent term is 0·(−inf) = NaN, so the item's loss is NaN where it is "
            "finite. Gradients are unaffected."
        ),
        citation=OPTAX_PULL.format(431),
        inputs=infinite_logit_absent_term,
        inputs_text="a logit +inf with label 1, or −inf with label 0",
        affects=("value",),
        model=multilabel_infinite_model,
        model_text="the reference's value with NaN at each item holding a logit +inf with label 1 or −inf with label 0",
        example=Example(
            {"reduction": "mean"}, {"input": [[INF, -INF, 0.3]], "target": [[1.0, 0.0, 0.5]]}
        ),
    ),
    Divergence(
        id="cross_entropy/neginf-logit-zero-label-nan",
        kind="convention",
        loss="cross_entropy",
        description=(
            "optax.losses.softmax_cross_entropy computes −Σ labels·log_softmax(logits): a −inf "
            "logit whose label is 0 gives 0·(−inf) = NaN. optax documents this and offers "
            "safe_softmax_cross_entropy (no axis argument) for the 0·log 0 = 0 convention; the "
            "adapter runs that form as its own API, which agrees with the reference here (the "
            "model's NaN does not explain its finite value). Gradients are unaffected."
        ),
        citation=OPTAX_ISSUE.format(896),
        where={"target_kind": "probability", "label_smoothing": 0.0},
        inputs=ce_neginf_logit_zero_label,
        inputs_text="a −inf logit at a class whose target probability is 0",
        affects=("value",),
        model=ce_neginf_zero_label_model,
        model_text="the reference's value with NaN at each item holding a −inf logit of target 0",
        apis=(MAIN_API,),
        example=Example(
            {"target_kind": "probability", "reduction": "mean"},
            {"input": [[-INF, 0.5, 1.0]], "target": [[0.0, 0.5, 0.5]]},
        ),
    ),
    Divergence(
        id="cross_entropy/safe-flushed-label-absent-term",
        kind="convention",
        loss="cross_entropy",
        description=(
            "optax.losses.safe_softmax_cross_entropy (the alternative form) drops a term with "
            "jnp.where(labels != 0, labels · log_softmax(logits), 0). JAX on the CPU treats "
            "subnormal operands as 0 (denormals-are-zero, float64, float32 and bfloat16), so a "
            "subnormal label tests equal to 0 and a −inf logit there is an absent term: a finite "
            "loss (e.g. 0.724 for logits (−inf, 0.5, 1), labels (1e−310, ½, ½ − 1e−310)) where "
            "the reference's is +inf (a positive label at probability 0). softmax_cross_entropy "
            "gives NaN there (the entry above). Gradients are unaffected."
        ),
        citation=f"{OPTAX.format('_classification.py#L176-L181')}; {JAX_ISSUE.format(16200)}",
        where={"target_kind": "probability", "label_smoothing": 0.0},
        devices=("cpu",),
        inputs=ce_neginf_logit_flushed_label,
        inputs_text="a −inf logit at a class whose target is subnormal (0 for JAX on the CPU)",
        affects=("value",),
        model=ce_flushed_label_model,
        model_text="the reference's value with each target JAX flushes to 0 set to 0",
        apis=(SAFE_SOFTMAX_XENT,),
        example=Example(
            {"target_kind": "probability", "reduction": "mean"},
            {"input": [[-INF, 0.5, 1.0]], "target": [[1e-310, 0.5, 0.5 - 1e-310]]},
            api=SAFE_SOFTMAX_XENT,
        ),
    ),
    Divergence(
        id="cross_entropy/posinf-logit-nan-grad",
        kind="convention",
        loss="cross_entropy",
        description=(
            "jax.nn.log_softmax documents that an item with a +inf logit gives NaN at every "
            "class, so the whole item's input gradient is NaN; the reference keeps the "
            "limit −w_c·q_c at the finite classes and is NaN only at the +inf class. The value is "
            "NaN on both sides. Only the log_softmax path (probability targets or label "
            "smoothing) is affected."
        ),
        citation=JAX_DOCS.format("jax.nn.log_softmax"),
        inputs=ce_posinf_logit_in_softmax_path,
        inputs_text="probability targets or label smoothing, and an item with a +inf logit",
        affects=("grad",),
        model=ce_posinf_grad_model,
        model_text="the reference's gradients with NaN over every class of each item holding +inf and a finite logit",
        example=Example(
            {"target_kind": "probability", "reduction": "mean"},
            {"input": [[INF, 0.0, 1.0]], "target": [[0.2, 0.3, 0.5]]},
        ),
    ),
    Divergence(
        id="cross_entropy/posinf-logit-nan-value",
        kind="convention",
        loss="cross_entropy",
        description=(
            "jax.nn.log_softmax documents that an item with a +inf logit gives NaN at every "
            "class, so optax.losses.softmax_cross_entropy's value for that item is NaN. Where "
            "every +inf logit's target probability is 0 (an absent term) and some other class "
            "has a positive target, the reference's loss is +inf (that class's log-probability "
            "is −inf). With label smoothing no target is 0 and both sides are NaN."
        ),
        citation=JAX_DOCS.format("jax.nn.log_softmax"),
        where={"target_kind": "probability", "label_smoothing": 0.0},
        inputs=ce_posinf_logit_absent_class,
        inputs_text="an item whose +inf logits all have target 0, with a positive target elsewhere",
        affects=("value",),
        model=ce_posinf_value_model,
        model_text="the reference's value with NaN at each item holding +inf and a finite logit",
        example=Example(
            {"target_kind": "probability", "reduction": "none"},
            {"input": [[0.5, INF, 1.0]], "target": [[1.0, 0.0, 0.0]]},
            cotangent=[1.0],
        ),
    ),
    Divergence(
        id="cross_entropy/integer-labels-lse-cancellation",
        kind="known-bug",
        loss="cross_entropy",
        description=(
            "softmax_cross_entropy_with_integer_labels returns logsumexp(x) − x_y (its comment: "
            "it avoids subtracting the normaliser from every logit). logsumexp adds the maximum "
            "logit back before x_y is subtracted, so the loss has an absolute error ~u·|max x| "
            "instead of ~u·(loss + 1): with large logits (float32 logits ~100, or any dtype at "
            "±8192) a confident or tied item loses log2|max x| bits. The log_softmax path "
            "(probability targets, label smoothing) and the gradient are accurate. Since optax "
            "0.2.6; up to 0.2.5 optax subtracted stop_gradient(max x) from the logits first, "
            "which keeps the error ~u·(loss + 1)."
        ),
        citation=OPTAX.format("_classification.py#L397-L406"),
        versions="optax>=0.2.6",
        where={"target_kind": "index", "label_smoothing": 0.0},
        inputs=ce_lse_cancels,
        inputs_text="a kept item where (max x + log Σ e^(x − max)) − x_y, rounded in the dtype, is beyond the tolerance",
        affects=("value",),
        example=Example(  # two tied logits of 1e6: the loss, log 2, loses ~19 of its 53 bits
            {"reduction": "none"},
            {"input": [[1e6, 1e6, 0.0]], "target": [0]},
            cotangent=[1.0],
        ),
    ),
    Divergence(
        id="cross_entropy/every-target-ignored-zero-grad",
        kind="convention",
        loss="cross_entropy",
        description=(
            "ignore_index maps to jnp.mean(…, where=target != ignore_index). With every target "
            "ignored the mean is 0/0 = NaN on both sides, but jnp.mean's gradient gives the "
            "excluded elements a zero cotangent, so JAX's gradient is 0 where the reference's "
            "is NaN."
        ),
        citation=JAX_DOCS.format("jax.numpy.mean"),
        where={"target_kind": "index", "ignore_index": -100, "reduction": "mean"},
        inputs=every_target_ignored,
        inputs_text="every target equals ignore_index",
        affects=("grad",),
        model=every_target_ignored_model,
        model_text="an input gradient of 0",
        example=Example(
            {"ignore_index": -100, "reduction": "mean"},
            {"input": [[1.5, 0.75, 0.0], [-0.5, -0.75, -0.5]], "target": [-100, -100]},
        ),
    ),
]


# --- multiclass_hinge_loss, multiclass_perceptron_loss ------------------------------------------
#
# optax v0.2.8: one_hot = jax.nn.one_hot(labels, C) (float64 under x64, whatever the scores'
# dtype); multiclass_hinge_loss = jnp.max(scores + 1.0 − one_hot, −1) − dot(scores, one_hot),
# multiclass_perceptron_loss = jnp.max(scores, −1) − dot(scores, one_hot).

MULTICLASS_HINGE_SOURCE = OPTAX.format("_classification.py#L439-L442")
MULTICLASS_PERCEPTRON_SOURCE = OPTAX.format("_classification.py#L464-L465")
# jax/_src/lax/lax.py at jax-v0.10.2: reduce_max's JVP divides g among the locations equal to
# the maximum (location_indicators / counts)
REDUCE_MAX_TIES = "https://github.com/jax-ml/jax/blob/jax-v0.10.2/jax/_src/lax/lax.py#L8479-L8487"
ONE_HOT_DTYPE = JAX_DOCS.format("jax.nn.one_hot")


def _crammer_singer_scores(case: Case) -> list[np.ndarray]:
    """The scores optax takes the maximum of, as the dtype's arithmetic may form them:
    x + 1 − onehot with x + 1 rounded to the dtype (op by op) or kept exact (XLA's excess
    precision in a fused jit), and x itself for the perceptron."""
    a = case.rounded()
    x, y = a["input"], a["target"]
    onehot = (y[..., None] == np.arange(x.shape[-1])).astype(np.float64)
    if case.loss == "multiclass_perceptron_loss":
        return [x]
    with np.errstate(all="ignore"):
        return [R.round_to(x + 1.0, case.dtype) - onehot, x + 1.0 - onehot]


def crammer_singer_tie_differs(case: Case) -> bool:
    """JAX's gradient at a tie of the maximum — g split evenly over every class at the top,
    minus e_y — differs from the reference's on some item: the target is tied at the top with
    another class (reference: 0), or the dtype's rounding of x + 1 ties classes the reference
    does not tie (or parts classes it ties)."""
    a = case.rounded()
    y = a["target"]
    params = {**full_params(case), "reduction": "none"}
    ones = np.ones(np.shape(y))
    with np.errstate(all="ignore"):
        _, ref = R.value_and_vjp(case.loss, a, params, ones)
    onehot = y[..., None] == np.arange(a["input"].shape[-1])
    for scores in _crammer_singer_scores(case):
        top = np.max(scores, axis=-1, keepdims=True)
        at_top = scores == top
        jax_grad = at_top / np.maximum(at_top.sum(axis=-1, keepdims=True), 1) - onehot
        differs = np.any(jax_grad != ref["input"], axis=-1) & np.isfinite(top[..., 0])
        if np.any(differs):
            return True
    return False


def _x64_entry(loss: str, citation: str) -> Divergence:
    return Divergence(
        id=f"{loss}/x64-one-hot-promotes-to-float64",
        kind="known-bug",
        loss=loss,
        description=(
            "with jax_enable_x64 on (which float64 needs) the loss of float32, float16 or "
            "bfloat16 scores comes back in float64: jax.nn.one_hot(labels, C) has no dtype "
            "argument in optax's call, so it is the default float dtype (float64 under x64), and "
            "scores − one_hot and dot(scores, one_hot) promote to it. (The VJP of reduction none, "
            "given a cotangent in the scores' dtype, raises: no gradient to compare. The scalar "
            "reductions' gradients come back in the scores' dtype and are judged as usual.)"
        ),
        citation=f"{citation} ({ONE_HOT_DTYPE}: dtype defaults to jnp.float_)",
        dtypes=("float32", "float16", "bfloat16"),
        affects=("dtype",),
        example=Example(
            {"reduction": "sum"}, {"input": [[0.5, 1.25, -1.0]], "target": [1]}, dtype="float32"
        ),
    )


def _tie_entry(loss: str, citation: str, example: Example) -> Divergence:
    return Divergence(
        id=f"{loss}/tie-splits-gradient",
        kind="convention",
        loss=loss,
        description=(
            "jnp.max's gradient is split evenly among every class tied at the maximum, the "
            "target's included: where the target ties with a wrong class (the hinge) JAX gives "
            "½(e_j + e_y) − e_y = ½(e_j − e_y), the reference the minimum-norm subgradient 0. "
            "Ties among wrong classes alone agree (both split evenly); in float16/bfloat16 the "
            "rounding of x + 1 can tie or part classes the exact scores do not."
        ),
        citation=f"{REDUCE_MAX_TIES} ({citation})",
        inputs=crammer_singer_tie_differs,
        inputs_text="JAX's even split over the classes at the top (as the dtype forms the "
        "scores) differs from the reference's subgradient on some item",
        affects=("grad",),
        example=example,
    )


DIVERGENCES += [
    _x64_entry("multiclass_hinge_loss", MULTICLASS_HINGE_SOURCE),
    _tie_entry(
        "multiclass_hinge_loss",
        MULTICLASS_HINGE_SOURCE,
        # x_y = 1 exactly 1 above the wrong class 0: ℓ = 0, JAX's gradient (−½, ½, 0)
        Example({"reduction": "sum"}, {"input": [[0.0, 1.0, -3.0]], "target": [1]}),
    ),
    _x64_entry("multiclass_perceptron_loss", MULTICLASS_PERCEPTRON_SOURCE),
    _tie_entry(
        "multiclass_perceptron_loss",
        MULTICLASS_PERCEPTRON_SOURCE,
        Example({"reduction": "sum"}, {"input": [[2.0, 2.0, -3.0]], "target": [1]}),
    ),
]
