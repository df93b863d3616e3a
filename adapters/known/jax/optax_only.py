"""JAX/Optax divergences of optax's own losses that issue 13 maps: poly_loss_cross_entropy
(classification), generalized_kl_divergence (distribution, with its deprecated alias
convex_kl_divergence) and sparsemax_loss (binary). Value and gradient entries first, then the
error-only rows (the judge reads them in this order). Also ntxent (embedding), at the end."""

from __future__ import annotations

import numpy as np

import reference as R
from reference import Case
from reference.contract import Accepts, Divergence, Example, Prediction, predict, predict_nonfinite
from reference.embedding import _ntxent, _ntxent_grads, _ntxent_value, _ntxent_vjp
from reference.terms import TermScale

from ._common import (
    INF,
    JAX_DOCS,
    JAX_ISSUE,
    OPTAX,
    OPTAX_ISSUE,
    OPTAX_PULL,
    SHARP_BITS,
    full_params,
    zero_for_jax,
)
from .classification import ce_neginf_logit_zero_label, ce_neginf_zero_label_model
from .distribution import (
    kl_zero_target_grad_model,
    product_with_target_loses_digits,
    zero_target_at_neginf_input,
)
from .errors import broadcasts, broadcasts_together

# optax/losses/_classification.py at v0.2.8: poly_loss_cross_entropy is jax.nn.softmax, then
# Σ labels·(1 − p), plus softmax_cross_entropy (−Σ labels·log_softmax) of the same logits.
POLY_SOURCE = OPTAX.format("_classification.py#L518-L525")
# generalized_kl_divergence is kl_divergence (t·(jnp.where(t == 0, 0, log t) − x), summed) plus
# Σ(e^x − t); convex_kl_divergence calls it.
GKL_SOURCE = (
    OPTAX.format("_classification.py#L560-L563")
    + ", "
    + OPTAX.format("_classification.py#L636-L638")
)

# --- poly_loss_cross_entropy ------------------------------------------------------------------


def _posinf_items(case: Case) -> np.ndarray:
    """Items (classes last) holding a +inf logit and a finite one: jax.nn.log_softmax and
    jax.nn.softmax are NaN at every class there."""
    x = case.rounded()["input"]
    return np.any(x == np.inf, axis=-1) & np.any(x != np.inf, axis=-1)


def poly_posinf_logit_absent_class(case: Case) -> bool:
    """An item whose +inf logits all sit at classes of target 0 while some class has a positive
    target: the reference's loss is +inf there (that class's log-probability is −inf)."""
    a = case.rounded()
    x, zero = a["input"], zero_for_jax(a["target"], case)
    posinf = x == np.inf
    absent = np.all(~posinf | zero, axis=-1) & np.any(posinf, axis=-1)
    return bool(np.any(absent & np.any(~zero & (a["target"] > 0), axis=-1)))


def poly_posinf_value_model(case: Case) -> Prediction:
    return predict_nonfinite(case, value=_posinf_items(case))


def poly_posinf_logit(case: Case) -> bool:
    """An item with a +inf logit and a finite one."""
    return bool(np.any(_posinf_items(case)))


def poly_posinf_grad_model(case: Case) -> Prediction:
    """NaN gradients over every class of an item with a +inf logit (and a finite one)."""
    x = case.rounded()["input"]
    rows = np.broadcast_to(_posinf_items(case)[..., None], x.shape)
    return predict_nonfinite(case, grads={"input": rows, "target": rows})


# --- generalized_kl_divergence ----------------------------------------------------------------


def gkl_zero_target_finite_slope(case: Case) -> bool:
    """A zero target (or a subnormal one, 0 to JAX on CPU) where the reference's target gradient
    log t − x is not NaN (x ≠ −inf), reached by a nonzero cotangent (per item, for none)."""
    a = case.rounded()
    t, x = a["target"], a["input"]
    reached = np.ones(t.shape, bool)
    if case.cotangent is not None:
        reached = np.broadcast_to((case.rounded_cotangent() != 0)[..., None], t.shape)
    return bool(np.any(zero_for_jax(t, case) & (x != -np.inf) & reached))


def _gkl_incoming_gradient(case: Case) -> np.ndarray:
    """|∂result/∂ℓ_n| handed to each term of item n, rounded to the dtype, in the input's shape:
    the item's cotangent (none), 1/N items (mean), 1 (sum)."""
    x = case.rounded()["input"]
    reduction = full_params(case)["reduction"]
    if reduction == "none":
        g = np.abs(case.rounded_cotangent())[..., None]
    else:
        items = x.size // x.shape[-1] if x.ndim and x.shape[-1] else 1
        g = np.asarray(1.0 / max(items, 1) if reduction == "mean" else 1.0)
    return R.round_to(np.broadcast_to(g, x.shape), case.dtype)


def gkl_target_grad_product_flushed(case: Case) -> bool:
    """kl_div's mechanism (adapters/known/jax/distribution.py, kl_target_grad_product_flushed)
    for the per-item sum: a positive target t and incoming gradient g whose product g·t, formed
    in the dtype, loses g's digits (flushed to 0 below the smallest normal number on CPU for
    float64, float32 and bfloat16; rounded on float16's subnormal grid)."""
    return product_with_target_loses_digits(case, _gkl_incoming_gradient(case))


def gkl_neginf_input_model(case: Case) -> Prediction:
    """NaN for each item holding a zero target at a −inf log-prediction."""
    a = case.rounded()
    both = zero_for_jax(a["target"], case) & (a["input"] == -np.inf)
    return predict_nonfinite(case, value=np.any(both, axis=-1))


DIVERGENCES: list[Divergence] = [
    Divergence(
        id="poly_loss_cross_entropy/neginf-logit-zero-label-nan",
        kind="convention",
        loss="poly_loss_cross_entropy",
        description=(
            "optax.losses.poly_loss_cross_entropy adds softmax_cross_entropy, −Σ labels·"
            "log_softmax(logits): a −inf logit whose label is 0 gives 0·(−inf) = NaN for the "
            "item (optax documents the NaN and offers safe_softmax_cross_entropy for 0·log 0 = 0, "
            "which the poly loss does not use). The reference treats the term as absent "
            "(0·log 0 = 0). The poly term Σ labels·(1 − p) is 0·1 there, and gradients are "
            "unaffected."
        ),
        citation=f"{POLY_SOURCE}; {OPTAX_ISSUE.format(896)}",
        inputs=ce_neginf_logit_zero_label,
        inputs_text="a −inf logit at a class whose target probability is 0",
        affects=("value",),
        model=ce_neginf_zero_label_model,
        model_text="the reference's value with NaN at each item holding a −inf logit of target 0",
        example=Example(
            {"reduction": "mean"}, {"input": [[-INF, 0.5, 1.0]], "target": [[0.0, 0.5, 0.5]]}
        ),
    ),
    Divergence(
        id="poly_loss_cross_entropy/posinf-logit-nan-value",
        kind="convention",
        loss="poly_loss_cross_entropy",
        description=(
            "jax.nn.log_softmax and jax.nn.softmax document that an item with a +inf logit gives "
            "NaN at every class, so the poly loss of that item is NaN. Where every +inf logit's "
            "target is 0 and another class has a positive target, the reference's loss is +inf "
            "(that class's log-probability is −inf, the +inf classes' terms are absent)."
        ),
        citation=JAX_DOCS.format("jax.nn.log_softmax"),
        inputs=poly_posinf_logit_absent_class,
        inputs_text="an item whose +inf logits all have target 0, with a positive target elsewhere",
        affects=("value",),
        model=poly_posinf_value_model,
        model_text="the reference's value with NaN at each item holding +inf and a finite logit",
        example=Example(
            {"reduction": "none"},
            {"input": [[0.5, INF, 1.0]], "target": [[1.0, 0.0, 0.0]]},
            cotangent=[1.0],
        ),
    ),
    Divergence(
        id="poly_loss_cross_entropy/posinf-logit-nan-grad",
        kind="convention",
        loss="poly_loss_cross_entropy",
        description=(
            "jax.nn.log_softmax and jax.nn.softmax document NaN at every class of an item with a "
            "+inf logit, so the item's input and target gradients are NaN throughout; the "
            "reference keeps its limits at the finite classes (−t_c for the input "
            "where the +inf class takes all the probability, +inf for the target) and is NaN "
            "only at the +inf class."
        ),
        citation=JAX_DOCS.format("jax.nn.log_softmax"),
        inputs=poly_posinf_logit,
        inputs_text="an item with a +inf logit and a finite one",
        affects=("grad",),
        model=poly_posinf_grad_model,
        model_text="the reference's gradients with NaN over every class of each item holding +inf and a finite logit",
        example=Example(
            {"reduction": "mean"}, {"input": [[INF, 0.0, 1.0]], "target": [[0.2, 0.3, 0.5]]}
        ),
    ),
    Divergence(
        id="generalized_kl_divergence/zero-target-nan-grad",
        kind="known-bug",
        loss="generalized_kl_divergence",
        description=(
            "generalized_kl_divergence sums optax.losses.kl_divergence, which guards log(target) "
            "with jnp.where(target == 0, 0, log(target)); the untaken branch is still "
            "differentiated, so the gradient with respect to a zero target is NaN (the JAX FAQ's "
            "where-gradient pitfall, as for kl_div); the reference's is log 0 − x = −inf."
        ),
        citation=f"{GKL_SOURCE}; {OPTAX_PULL.format(1786)}",
        inputs=gkl_zero_target_finite_slope,
        inputs_text="a target probability 0 or subnormal (input not −inf, nonzero cotangent)",
        affects=("grad",),
        model=kl_zero_target_grad_model,
        model_text="the reference's target gradient with NaN at each zero (or, on CPU, subnormal) target",
        example=Example(
            {"reduction": "sum"}, {"input": [[-0.5, -1.5, -1.5]], "target": [[0.0, 0.5, 0.5]]}
        ),
    ),
    Divergence(
        id="generalized_kl_divergence/target-grad-product-flushed",
        kind="known-bug",
        loss="generalized_kl_divergence",
        description=(
            "kl_div's target-grad-product-flushed, inside generalized_kl_divergence: JAX's "
            "product rule on t·log t hands log's backward g·t and divides it by t to form the +1 "
            "of log t + 1 − x (which the −t term's −1 then cancels). Where g·t falls below the "
            "smallest normal number, XLA on CPU flushes it to 0 (float16: rounds it on the "
            "subnormal grid), so the target gradient is off by about g (float32, mean over 4 "
            "items, t = 2^-126: g·(log t − x − 1) where the reference has g·(log t − x))."
        ),
        citation=f"{GKL_SOURCE}; {JAX_ISSUE.format(26658)}",
        inputs=gkl_target_grad_product_flushed,
        inputs_text="a target and an incoming gradient whose product is below the dtype's "
        "smallest normal number (flushed to 0 on CPU; float16: rounded off, subnormal targets "
        "included)",
        affects=("grad",),
        example=Example(
            {"reduction": "mean"},
            {
                "input": [[-1.0, -2.0], [-1.0, -2.0], [0.0, 0.0], [0.0, 0.0]],
                "target": [[0.5, 2.0**-126]] * 4,
            },
            dtype="float32",
        ),
    ),
    Divergence(
        id="generalized_kl_divergence/zero-target-neginf-input-nan",
        kind="known-bug",
        loss="generalized_kl_divergence",
        description=(
            "kl_divergence's target·(0 − log_predictions): a zero target at a −inf "
            "log-prediction gives 0·inf = NaN for the item where the term is absent (0, and "
            "e^−inf − 0 = 0)."
        ),
        citation=f"{GKL_SOURCE}; {OPTAX_PULL.format(1786)}",
        inputs=zero_target_at_neginf_input,
        inputs_text="a target probability 0 where the input log-prediction is −inf",
        affects=("value",),
        model=gkl_neginf_input_model,
        model_text="the reference's value with NaN at each item holding a zero target at a −inf input",
        example=Example(
            {"reduction": "sum"}, {"input": [[-INF, -0.5, -0.9]], "target": [[0.0, 0.5, 0.5]]}
        ),
    ),
]

# --- sparsemax_loss ---------------------------------------------------------------------------
#
# optax.losses.sparsemax_loss is jax.nn.sparse_plus(jnp.where(labels, -logits, logits))
# (optax/losses/_classification.py:148 at 0.2.8), and sparse_plus is
# jnp.where(x <= -1, 0, jnp.where(x >= 1, x, (x + 1)**2/4)) (jax/_src/nn/functions.py:164 at
# jax 0.10.2): every branch is evaluated and differentiated, the untaken ones with a zero
# cotangent.

SPARSEMAX_SOURCE = OPTAX.format("_classification.py#L148")
SPARSE_PLUS_SOURCE = "https://github.com/jax-ml/jax/blob/jax-v0.10.2/jax/_src/nn/functions.py#L164"
WHERE_FAQ = "https://jax.readthedocs.io/en/latest/faq.html#gradients-contain-nan-where-using-where"


def sparsemax_infinite_score(case: Case) -> bool:
    return bool(np.any(np.isinf(case.rounded()["input"])))


def sparsemax_infinite_score_model(case: Case) -> Prediction:
    return predict_nonfinite(case, grads={"input": np.isinf(case.rounded()["input"])})


DIVERGENCES += [
    Divergence(
        id="sparsemax_loss/infinite-score-nan-grad",
        kind="known-bug",
        loss="sparsemax_loss",
        description=(
            "jax.nn.sparse_plus selects its branch with jnp.where, and the untaken quadratic "
            "branch (x + 1)²/4 is still differentiated: at x = ±inf its backward multiplies the "
            "zero cotangent by (x + 1)/2 = ±inf, 0·inf = NaN (the JAX FAQ's where-gradient "
            "pitfall). The gradient of sparsemax_loss at an infinite score is NaN where the "
            "reference's is ±1 (linear branch) or 0 (zero branch); values agree."
        ),
        citation=f"{SPARSE_PLUS_SOURCE}; {WHERE_FAQ}",
        inputs=sparsemax_infinite_score,
        inputs_text="a score of ±inf",
        affects=("grad",),
        model=sparsemax_infinite_score_model,
        model_text="the reference's gradient with NaN at each infinite score",
        example=Example({"reduction": "sum"}, {"input": [INF, 0.5], "target": [0.0, 1.0]}),
    ),
]

# --- error-only rows --------------------------------------------------------------------------

ACCEPTS: list[Accepts] = [
    Accepts(
        id="poly_loss_cross_entropy/target-outside-unit-interval",
        loss="poly_loss_cross_entropy",
        argument="target",
        description=(
            "optax documents labels as 'valid probability distributions' but checks no value, "
            "and JAX raises no error on a value-dependent condition: a target outside [0, 1] is "
            "put through the formula and returns a number."
        ),
        citation=f"{POLY_SOURCE}; {SHARP_BITS}",
        example=Example({"reduction": "mean"}, {"input": [[0.3, -0.2]], "target": [[1.5, -0.5]]}),
    ),
    broadcasts(
        id="poly_loss_cross_entropy/broadcasts-mismatched-shapes",
        loss="poly_loss_cross_entropy",
        description=(
            "optax documents labels as 'broadcastable to [..., num_classes]': labels·(1 − p) "
            "and labels·log_softmax broadcast, so shapes that fit no layout but broadcast "
            "together are computed, not rejected."
        ),
        citation=POLY_SOURCE,
        accepts=broadcasts_together,
        example=Example(
            {"reduction": "mean"},
            {"input": [[0.5, -1.0, 2.0], [0.0, 0.25, -0.5]], "target": [0.25, 0.25, 0.5]},
        ),
    ),
    Accepts(
        id="generalized_kl_divergence/target-outside-unit-interval",
        loss="generalized_kl_divergence",
        argument="target",
        description=(
            "optax checks no target value and JAX raises no error on a value-dependent "
            "condition: a target outside [0, 1] is put through the formula and returns a number "
            "(or NaN at the log of a negative target)."
        ),
        citation=f"{GKL_SOURCE}; {SHARP_BITS}",
        example=Example({"reduction": "sum"}, {"input": [[-0.3, -0.2]], "target": [[1.5, 0.5]]}),
    ),
    broadcasts(
        id="generalized_kl_divergence/broadcasts-mismatched-shapes",
        loss="generalized_kl_divergence",
        citation=GKL_SOURCE,
        example=Example(
            {"reduction": "mean"},
            {"input": [[-0.25, -1.25, -1.0], [0.0, -0.75, -0.5]], "target": [0.25, 0.0, 0.5]},
        ),
    ),
]

ACCEPTS += [
    Accepts(
        id="sparsemax_loss/labels-unchecked",
        loss="sparsemax_loss",
        argument="target",
        description=(
            "optax's sparsemax_loss documents 'ground-truth integer label (0 or 1)' and reads it "
            "as a condition, jnp.where(labels, -logits, logits): any nonzero label (−1, ½) "
            "counts as 1, and nothing is checked (JAX cannot raise on a value inside compiled "
            "code)."
        ),
        citation=f"{SPARSEMAX_SOURCE}; {SHARP_BITS}",
        example=Example({"reduction": "mean"}, {"input": [0.5, -2.0], "target": [0.5, -1.0]}),
    ),
    broadcasts(
        id="sparsemax_loss/broadcasts-mismatched-shapes",
        loss="sparsemax_loss",
        citation=SPARSEMAX_SOURCE,
        example=Example(
            {"reduction": "mean"}, {"input": [[0.5, -2.0], [1.5, 0.25]], "target": [0.0, 1.0]}
        ),
    ),
]

DIVERGENCES += [row.as_divergence() for row in ACCEPTS]

# --- multiclass_sparsemax_loss ----------------------------------------------------------------
#
# optax.losses.multiclass_sparsemax_loss is jax.vmap(_multiclass_sparsemax_loss) over axis 0
# (optax/losses/_classification.py:929-960 at 0.2.8): p = projections.projection_simplex(scores),
# scores − scores[label] with the label's entry set to 0, dot(p, where(p, ·, 0)) + ½(1 − ‖p‖²).
# The projection (optax/projections/_projections.py:94-116) forms s / idx + (values −
# cumsum_u[idx − 1] / idx) with idx = jnp.count_nonzero(cond), an int64 under x64, and s = 1 a
# Python int: 1 / idx is the default float, float64.

MULTICLASS_SPARSEMAX_SOURCE = OPTAX.format("_classification.py#L929-L960")
SIMPLEX_SOURCE = "https://github.com/google-deepmind/optax/blob/v0.2.8/optax/projections/_projections.py#L94-L116"

DIVERGENCES += [
    Divergence(
        id="multiclass_sparsemax_loss/x64-projection-promotes-to-float64",
        kind="known-bug",
        loss="multiclass_sparsemax_loss",
        description=(
            "with jax_enable_x64 on (which float64 needs) the loss of float32, float16 or "
            "bfloat16 scores comes back in float64: _projection_unit_simplex computes s / idx "
            "with s = 1 and idx = jnp.count_nonzero(…), an int64, so 1 / idx is float64 and the "
            "projection, then the loss, are promoted to it. Its custom JVP then returns a tangent "
            "in the scores' dtype for a float64 primal, and JAX raises ('Custom JVP rule must "
            "produce primal and tangent outputs with corresponding shapes and dtypes'): no "
            "gradient at all in these dtypes."
        ),
        citation=f"{SIMPLEX_SOURCE}; {MULTICLASS_SPARSEMAX_SOURCE}",
        dtypes=("float32", "float16", "bfloat16"),
        affects=("dtype",),
        example=Example(
            {"reduction": "sum"}, {"input": [[0.5, 1.25, -1.0]], "target": [1]}, dtype="float32"
        ),
    ),
]

ACCEPTS_SPARSEMAX: list[Accepts] = [
    Accepts(
        id="multiclass_sparsemax_loss/labels-unchecked",
        loss="multiclass_sparsemax_loss",
        argument="target",
        description=(
            "optax reads the label as an index, scores[label] and .at[label].set(0.0), and "
            "checks nothing (JAX cannot raise on a value inside compiled code): −1 wraps to the "
            "last class, and C is clamped to C − 1 by the gather while the scatter drops it, so "
            "it too is read as the last class."
        ),
        citation=f"{MULTICLASS_SPARSEMAX_SOURCE}; {SHARP_BITS}",
        example=Example(
            {"reduction": "mean"},
            {"input": [[0.5, -1.0, 2.0], [0.0, 1.0, 0.5]], "target": [3, -1]},
        ),
    ),
    Accepts(
        id="multiclass_sparsemax_loss/target-trailing-dimension",
        loss="multiclass_sparsemax_loss",
        argument="shapes",
        accepts=lambda case: np.shape(case.arrays["target"]) == (len(case.arrays["input"]), 1),
        accepts_text="the target is (N, 1)",
        description=(
            "jax.vmap maps axis 0 of both arguments and checks only that they agree: an (N, 1) "
            "target reaches each row as a (1,) label, which scores[label] and .at[label].set "
            "take as a one-element index array, and the loss is computed instead of rejected."
        ),
        citation=MULTICLASS_SPARSEMAX_SOURCE,
        example=Example(
            {"reduction": "mean"},
            {"input": [[0.5, -1.0, 2.0], [0.0, 1.0, 0.5]], "target": [[2], [0]]},
        ),
    ),
]

DIVERGENCES += [row.as_divergence() for row in ACCEPTS_SPARSEMAX]

# --- ntxent -----------------------------------------------------------------------------------
#
# optax.losses.ntxent (optax/losses/_self_supervised.py:89-121 at 0.2.8): S = cosine_similarity(
# embeddings, embeddings, epsilon=jnp.finfo(dtype).eps) / temperature, which clips each squared
# norm, √max(Σx², ε) (_regression.py:177-180); then per ordered positive pair −log softmax of S_ij
# against the anchor's negatives, summed and divided by matches.sum(), the number of pairs.

NTXENT_SOURCE = OPTAX.format("_self_supervised.py#L89-L121")
NTXENT_CLAMP_SOURCE = (
    OPTAX.format("_self_supervised.py#L90-L96") + ", " + OPTAX.format("_regression.py#L177-L180")
)


def _finfo_eps(case: Case) -> float:
    """jnp.finfo(dtype).eps: 2^-mantissa bits (2^-52 float64, 2^-10 float16, 2^-7 bfloat16)."""
    return float(2.0 ** -R.FORMATS[case.dtype].mantissa_bits)


def ntxent_norm_clamped(case: Case) -> bool:
    """Some embedding whose Σx² (of the values the dtype holds) is below finfo(dtype).eps."""
    x = case.rounded()["embeddings"]
    return bool(np.any(np.sum(x * x, axis=-1) < _finfo_eps(case)))


def ntxent_clamp_model(case: Case) -> Prediction:
    """The reference's ntxent with each squared norm clipped at finfo(dtype).eps (its private
    ``sq_eps`` form: the same formula, ‖x‖ = √max(Σx², eps)), value, gradient and term scales."""
    sq = _finfo_eps(case)
    return predict(
        case,
        elementwise=lambda a, p: _ntxent(a, p, sq_eps=sq),
        elementwise_vjp=lambda a, p, g: _ntxent_vjp(a, p, g, sq_eps=sq),
        term_scale=TermScale(
            lambda a, p, loss: _ntxent_value(a, p, loss, sq_eps=sq),
            lambda a, p, c: _ntxent_grads(a, p, c, sq_eps=sq),
        ),
    )


def ntxent_no_positive_pair(case: Case) -> bool:
    """Every label distinct: no positive pair (P = 0)."""
    labels = np.asarray(case.arrays["labels"])
    return bool(np.sum(labels[:, None] == labels[None, :]) == labels.size)


def ntxent_zero_gradient_model(case: Case) -> Prediction:
    """The reference's NaN value (0/0) with a gradient of 0 everywhere."""
    x = case.rounded()["embeddings"]
    return predict_nonfinite(case, grads={"embeddings": np.ones(x.shape, bool)}, grad_fill=0.0)


DIVERGENCES += [
    Divergence(
        id="ntxent/squared-norm-clamped-at-finfo-eps",
        kind="convention",
        loss="ntxent",
        description=(
            "optax.losses.ntxent calls cosine_similarity with epsilon=jnp.finfo(dtype).eps, which "
            "clips each squared norm, ‖x‖ = √max(Σx², eps): a zero embedding has cosine 0 with "
            "every other (a finite loss) where the reference's exact cosine is 0/0 = NaN, and an "
            "embedding with Σx² < eps (‖x‖ < 0.031 in float16, 0.088 in bfloat16, 1.5e-8 in "
            "float64) is scaled by 1/√eps rather than normalised, so its cosines shrink with it."
        ),
        citation=NTXENT_CLAMP_SOURCE,
        inputs=ntxent_norm_clamped,
        inputs_text="some embedding's Σx² is below jnp.finfo(dtype).eps",
        model=ntxent_clamp_model,
        model_text="the reference's ntxent with ‖x‖ = √max(Σx², finfo(dtype).eps)",
        example=Example(
            {"reduction": "mean"},
            {
                "embeddings": [[0.0, 0.0], [1.0, 0.5], [0.5, -1.0], [-1.0, 0.25]],
                "labels": [0, 0, 1, 1],
            },
        ),
    ),
    Divergence(
        id="ntxent/no-positive-pair-zero-gradient",
        kind="convention",
        loss="ntxent",
        description=(
            "With every label distinct there is no positive pair: optax divides the sum of no "
            "terms by matches.sum() = 0 and returns NaN, as the reference does (a mean over no "
            "element), but its gradient is 0 (jnp.where passes no cotangent to the masked "
            "terms), where the reference's is NaN, as the chain rule gives every mean over no "
            "element (cross_entropy with every target ignored)."
        ),
        citation=NTXENT_SOURCE,
        where={"reduction": "mean"},
        inputs=ntxent_no_positive_pair,
        inputs_text="every label distinct",
        affects=("grad",),
        model=ntxent_zero_gradient_model,
        model_text="NaN value, gradient 0",
        example=Example(
            {"reduction": "mean"},
            {"embeddings": [[1.0, 0.5], [0.5, -1.0], [-1.0, 0.25]], "labels": [0, 1, 2]},
        ),
    ),
]


def _ntxent_similarities(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """S = cos/τ (the reference's, of the embeddings as the dtype holds them) and the positive
    and negative masks."""
    a = case.rounded()
    x = a["embeddings"]
    labels = np.asarray(a["labels"])
    with np.errstate(all="ignore"):
        u = x / np.sqrt(np.maximum(np.sum(x * x, axis=-1), _finfo_eps(case)))[:, None]
        s = (u @ u.T) / full_params(case)["temperature"]
    same = labels[:, None] == labels[None, :]
    return s, same & ~np.eye(len(labels), dtype=bool), ~same


def ntxent_negatives_underflow(case: Case) -> bool:
    """An anchor whose every negative's e^(S_ik − m_i) (m_i its largest similarity to a positive
    or a negative) is below half the dtype's smallest subnormal number, 0 once rounded: with a
    negative, or with a positive pair's own e^(S_ij − m_i) 0 as well (no negative at all
    included); or a positive pair whose denominator, rounded, is below 1/max of the dtype."""
    s, pos, neg = _ntxent_similarities(case)
    fmt = R.FORMATS[case.dtype]
    smallest = 2.0 ** (fmt.min_exponent - fmt.mantissa_bits)
    with np.errstate(all="ignore"):
        m = np.max(np.where(pos | neg, s, -np.inf), axis=1, keepdims=True)
        e = np.where(neg, np.exp(s - m), 0.0)
        gone = np.where(pos, np.exp(s - m), 1.0) < smallest / 2
        # each positive pair's denominator as the dtype holds it: below 1/max its reciprocal, which
        # the backward of log(denom) forms, overflows (float16: a positive 11.1 below the
        # anchor's largest similarity, no negative near it, e.g. every label equal)
        own = R.round_to(np.where(pos, np.exp(s - m), 0.0), case.dtype)
        denom = R.round_to(
            np.sum(R.round_to(e, case.dtype), axis=1, keepdims=True) + own, case.dtype
        )
        reciprocal_overflows = pos & (denom * fmt.max_value < 1.0)
    negatives_gone = np.all(~neg | (e < smallest / 2), axis=1)
    # a negative and all of them 0: NaN gradient; a positive pair 0 as well: log 0, value −inf
    return bool(
        np.any(negatives_gone & (np.any(neg, axis=1) | np.any(gone, axis=1)))
        or np.any(reciprocal_overflows)
    )


def ntxent_squares_out_of_range(case: Case) -> bool:
    """Some embedding's Σx² is above the dtype's largest value (optax squares in the dtype)."""
    x = case.rounded()["embeddings"]
    with np.errstate(all="ignore"):
        return bool(np.any(np.sum(x * x, axis=-1) > R.FORMATS[case.dtype].max_value))


DIVERGENCES += [
    Divergence(
        id="ntxent/softmax-denominator-underflow",
        kind="known-bug",
        loss="ntxent",
        description=(
            "optax forms denom = Σ_neg e^(S_ik − m) + e^(S_ij − m) for every (i, j) and masks the "
            "non-pairs only after log(denom) (jnp.where on −log_softm). Where every negative's "
            "e^(S_ik − m) underflows to 0 in the dtype (float16: S_ik more than ~17.3 below the "
            "anchor's largest similarity, which τ = 0.07 allows, |S| ≤ 14.3), denom is 0 at the "
            "anchor's non-pairs (its diagonal at least): the masked cotangent 0 divided by 0 is "
            "NaN, which flows back through the negatives' similarities into the gradient of the "
            "anchor and its negatives (the value stays right). Where a positive pair's own "
            "e^(S_ij − m) underflows too (an anchor without negatives included), its denom is 0 "
            "and −log_softm = −(S_ij − m) + log 0 is −inf: value −inf, gradient NaN. Short of "
            "0, a positive pair's denominator below 1/max (float16: the pair 11.1 below the "
            "anchor's largest similarity and no negative near, e.g. every label equal) makes "
            "the backward's 1/denom overflow: gradient NaN (jax default profile, float16, "
            "embeddings (0,0,1), (0,1,0), (0,0,1), (0,0,1), one label). The "
            "reference's value and gradient are finite (ℓ_ij = softplus(λ_i − S_ij), 0 without "
            "a negative)."
        ),
        citation=OPTAX.format("_self_supervised.py#L115-L121"),
        inputs=ntxent_negatives_underflow,
        inputs_text="an anchor whose negatives' e^(S_ik − m_i) are all 0 in the dtype (with a negative, or a positive pair's e^(S_ij − m_i) 0 too)",
        example=Example(
            {"reduction": "mean"},
            {
                "embeddings": [[1.0, 0.0], [1.0, 0.125], [-1.0, 0.0], [-1.0, 0.125]],
                "labels": [0, 0, 1, 1],
            },
            dtype="float16",
        ),
    ),
    Divergence(
        id="ntxent/squares-out-of-range",
        kind="known-bug",
        loss="ntxent",
        description=(
            "optax's cosine_similarity squares the components in the input dtype before the "
            "root, without scaling: Σx² overflows to inf once ‖x‖ ≳ √max (256 in float16), so "
            "the unit vector x/inf is 0 (NaN at an infinite component) and its similarities 0: "
            "with every embedding so, each ℓ_ij is log 2 (0.693). The reference scales the norm "
            "by the largest component."
        ),
        citation=NTXENT_CLAMP_SOURCE,
        inputs=ntxent_squares_out_of_range,
        inputs_text="some embedding's Σx² is above the dtype's maximum",
        example=Example(
            {"reduction": "mean"},
            {
                "embeddings": [[300.0, 0.0], [290.0, 10.0], [0.0, 300.0], [10.0, 290.0]],
                "labels": [0, 0, 1, 1],
            },
            dtype="float16",
        ),
    ),
]
