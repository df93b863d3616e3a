"""Known divergences between TensorFlow/Keras and the reference, each reproduced and cited.

Every entry is narrow: its configuration subset (``where``) and input predicate (``inputs``) select
exactly the examples on which TensorFlow differs from the reference, so an entry that stops
reproducing after an upgrade is reported stale. Predicates read the case's arrays as TensorFlow
sees them (rounded to the case dtype) and use only NumPy: this module never imports TensorFlow.

Citations point at the Keras source of the installed version (tag v3.15.1, the "View source"
link of the tensorflow.org Keras pages), the tensorflow.org API pages, or GitHub issues.
``tests/adapters/test_tensorflow.py`` reproduces every entry on a concrete input.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

import reference as R
from reference import Case

from .base import Divergence

Predicate = Callable[[Case], bool]

KERAS_EPSILON = 1e-7  # keras.config.epsilon(), the fuzz factor of the clips below
KERAS_SRC = "https://github.com/keras-team/keras/tree/v3.15.1/keras/src"
KERAS_LOSSES = f"{KERAS_SRC}/losses/losses.py"
KERAS_LOSS_BASE = f"{KERAS_SRC}/losses/loss.py"
KERAS_TF_NN = f"{KERAS_SRC}/backend/tensorflow/nn.py"

# --- input predicates -----------------------------------------------------------------------------


def _array(case: Case, name: str) -> np.ndarray | None:
    return case.rounded().get(name)


def _in_dtype(value: float, case: Case) -> float:
    """A Python float as TensorFlow turns it into a constant of the case dtype."""
    return float(R.round_to(np.asarray(value), case.dtype))


def rank_is(name: str, rank: int) -> Predicate:
    def pred(case):
        x = _array(case, name)
        return x is not None and x.ndim == rank

    return pred


def rank_at_least(name: str, rank: int) -> Predicate:
    def pred(case):
        x = _array(case, name)
        return x is not None and x.ndim >= rank

    return pred


def last_axis_longer_than_one(name: str) -> Predicate:
    """Keras' mean over the last axis changes a sum only when that axis holds more than one item."""

    def pred(case):
        x = _array(case, name)
        return x is not None and x.ndim >= 1 and x.shape[-1] > 1

    return pred


def per_sample_count_differs_from_batch(case: Case) -> bool:
    """Keras divides by the number of per-sample losses, prod(shape[:-1]); batchmean by shape[0]."""
    x = _array(case, "input")
    return x.ndim >= 1 and int(np.prod(x.shape[:-1])) != x.shape[0]


def outside_clip(name: str, low: float, high: float, log_space: bool = False) -> Predicate:
    """Some element lies outside Keras' clip [low, high] (bounds as constants of the case dtype);
    ``log_space``: the array holds logs of the clipped quantity (Keras gets tf.exp of it)."""

    def pred(case):
        x = _array(case, name)
        if x is None:
            return False
        with np.errstate(over="ignore"):
            v = np.exp(x) if log_space else x
        lo, hi = _in_dtype(low, case), _in_dtype(high, case)
        return bool(np.any((v < lo) | (v > hi)))

    return pred


def probability_one_with_label_one(case: Case) -> bool:
    x, y = _array(case, "input"), _array(case, "target")
    unclipped = _in_dtype(1 - KERAS_EPSILON, case) == 1.0
    return unclipped and bool(np.any((x == 1) & (y == 1)))


def outside_unit_interval(*names: str) -> Predicate:
    def pred(case):
        arrays = case.rounded()
        return any(n in arrays and bool(np.any((arrays[n] < 0) | (arrays[n] > 1))) for n in names)

    return pred


def nonfinite(name: str) -> Predicate:
    def pred(case):
        x = _array(case, name)
        return x is not None and bool(np.any(~np.isfinite(x)))

    return pred


def not_sign_label(name: str) -> Predicate:
    def pred(case):
        y = _array(case, name)
        return y is not None and bool(np.any((y != 1) & (y != -1)))

    return pred


def _class_axis(x: np.ndarray) -> int:
    return 1 if x.ndim >= 2 else 0


def target_rows_not_normalised(case: Case) -> bool:
    """Some probability target whose logits are not NaN does not sum to 1 over the class axis."""
    x, t = _array(case, "input"), _array(case, "target")
    if x is None or t is None or t.shape != x.shape:
        return False
    axis = _class_axis(t)
    # Any departure shows in the gradient (by softmax·(Σq − 1)); 1e-12 per class only absorbs
    # the float64 summation here.
    unnormalised = np.abs(np.sum(t, axis=axis) - 1.0) > 1e-12 * t.shape[axis]
    return bool(np.any(unnormalised & ~np.any(np.isnan(x), axis=axis)))  # a NaN row is NaN anyway


def class_axis_is_not_last_and_sizes_differ(case: Case) -> bool:
    x = _array(case, "input")
    return x is not None and x.ndim >= 3 and x.shape[1] != x.shape[-1]


def class_index_out_of_range(case: Case) -> bool:
    x, t = case.arrays.get("input"), case.arrays.get("target")
    if x is None or t is None or not np.issubdtype(np.asarray(t).dtype, np.integer):
        return False
    n_classes = x.shape[_class_axis(x)] if x.ndim >= 1 else 0
    bad = (t < 0) | (t >= n_classes)
    ignore = case.params.get("ignore_index")
    if ignore is not None:
        bad &= t != ignore
    return bool(np.any(bad))


def class_index_not_representable(case: Case) -> bool:
    t = case.arrays.get("target")
    if t is None or not np.issubdtype(np.asarray(t).dtype, np.integer):
        return False
    return bool(np.any(R.round_to(t.astype(np.float64), case.dtype) != t))


def every_target_ignored(case: Case) -> bool:
    ignore = case.params.get("ignore_index")
    t = case.arrays.get("target")
    return ignore is not None and t is not None and t.size > 0 and bool(np.all(t == ignore))


def keras_poisson_epsilon_visible(case: Case) -> bool:
    """Keras' ε = 1e-7 instead of torch's eps moves an element's value x − y·log(x + eps) or its
    gradient 1 − y/(x + eps) by more than a few ulps of it (inputs of rank ≥ 1: a 0-d input
    raises first)."""
    x, y = _array(case, "input"), _array(case, "target")
    if x.ndim == 0:
        return False
    eps_torch, eps_keras = case.params.get("eps", 1e-8), _in_dtype(KERAS_EPSILON, case)
    few_ulps = 4 * R.FORMATS[case.dtype].eps
    with np.errstate(all="ignore"):
        ref_log, ref_ratio = np.log(x + eps_torch), y / (x + eps_torch)
        value_shift = np.abs(y * (np.log(x + eps_keras) - ref_log))
        grad_shift = np.abs(y / (x + eps_keras) - ref_ratio)
        value_scale = np.abs(x) + np.abs(y * ref_log)
        grad_scale = 1 + np.abs(ref_ratio)
    return bool(
        np.any(value_shift > few_ulps * value_scale) or np.any(grad_shift > few_ulps * grad_scale)
    )


def negative_count(case: Case) -> bool:
    y = _array(case, "target")
    return bool(np.any(y < 0))


def zero_count_at_infinite_log_rate(case: Case) -> bool:
    x, y = _array(case, "input"), _array(case, "target")
    return bool(np.any((y == 0) & np.isinf(x)))


def infinite_error(case: Case) -> bool:
    """|input − target| is infinite somewhere (an infinite operand, not inf − inf)."""
    x, y = _array(case, "input"), _array(case, "target")
    with np.errstate(invalid="ignore"):
        return bool(np.any(np.isinf(x - y)))


def error_is_minus_inf(case: Case) -> bool:
    x, y = _array(case, "input"), _array(case, "target")
    with np.errstate(invalid="ignore"):
        return bool(np.any((x - y) == -np.inf))


def infinite_logit_products(labels: Callable[[np.ndarray], np.ndarray]) -> Predicate:
    """tf.nn.sigmoid_cross_entropy_with_logits evaluates max(x, 0) − x·z + log1p(e^−|x|): NaN at
    x = +inf (inf − inf, or inf·0) and at x = −inf with z = 0 (−inf·0)."""

    def pred(case):
        x = _array(case, "input")
        z = labels(_array(case, "target"))
        return bool(np.any((x == np.inf) | ((x == -np.inf) & (z == 0))))

    return pred


def weighted_infinite_logit(case: Case) -> bool:
    """tf.nn.weighted_cross_entropy_with_logits evaluates (1 − z)·x + (1 + (q − 1)·z)·(log1p(e^−|x|)
    + max(−x, 0)): NaN at x = −inf (−inf + inf, or 0·(−inf)) and at x = +inf with z = 1 (0·inf)."""
    x, z = _array(case, "input"), _array(case, "target")
    return bool(np.any((x == -np.inf) | ((x == np.inf) & (z == 1))))


def positive_infinite(name: str) -> Predicate:
    def pred(case):
        x = _array(case, name)
        return x is not None and bool(np.any(x == np.inf))

    return pred


def logit_exactly_zero(case: Case) -> bool:
    return bool(np.any(_array(case, "input") == 0))


def _in(dtype: str) -> Callable[[np.ndarray], np.ndarray]:
    """Rounding to ``dtype`` after each operation: NumPy float64 arithmetic emulating the dtype's."""
    return lambda v: R.round_to(np.asarray(v, dtype=np.float64), dtype)


def focal_factor_base_is_zero(case: Case) -> bool:
    """Keras' 1 − p_t, p_t = y·p + (1 − y)(1 − p), rounds to exactly 0 in the case dtype.

    p = sigmoid(x) as TensorFlow returns it: exactly 1 once e^−x < u (x > −log u, one ulp before
    a correctly rounded sigmoid would reach 1), else the correctly rounded value. Then a confident
    correct prediction — y = 1 with p = 1, or y ≈ 0 with 1 − p and 1 − y rounding to 1 — gives
    1 − p_t = 0.
    """
    r = _in(case.dtype)
    u = R.FORMATS[case.dtype].eps / 2
    x, y = _array(case, "input"), _array(case, "target")
    with np.errstate(all="ignore"):
        p = np.where(x > -np.log(u), 1.0, r(1.0 / (1.0 + np.exp(-x))))
        p_t = r(r(y * p) + r(r(1.0 - y) * r(1.0 - p)))
        return bool(np.any(r(1.0 - p_t) == 0))


def exp_overflows_dtype(case: Case) -> bool:
    x = _array(case, "input")
    return bool(np.any(np.isfinite(x) & (x > np.log(R.FORMATS[case.dtype].max_value))))


def kl_ratio_overflows(case: Case) -> bool:
    """Keras' r = t/p, or an intermediate of its gradient (1/r for the log, t/p² for the
    division), exceeds the dtype's largest number, or p² falls below its normal range (t, p
    clipped to [ε, 1])."""
    x, t = _array(case, "input"), _array(case, "target")
    eps = _in_dtype(KERAS_EPSILON, case)
    with np.errstate(all="ignore"):
        q = np.clip(np.exp(t) if case.params.get("log_target") else t, eps, 1.0)
        p = np.clip(np.exp(x), eps, 1.0)
        largest = np.maximum(np.maximum(q / p, q / (p * p)), p / q)
    fmt = R.FORMATS[case.dtype]
    # p² below the normal range keeps only a few significant bits (float16 subnormals)
    return bool(np.any(largest > fmt.max_value) or np.any(p * p < fmt.tiny))


def float16_rate_reciprocal_overflows(case: Case) -> bool:
    """The gradient of log(x + ε) is 1/(x + ε): beyond 65504 once x + ε < 1.5e-5."""
    x = _array(case, "input")
    with np.errstate(divide="ignore"):
        recip = 1.0 / (x + _in_dtype(KERAS_EPSILON, case))
    return bool(np.any(np.abs(recip) > R.FORMATS[case.dtype].max_value))


def float16_sum_of_losses_overflows(case: Case) -> bool:
    """The values an averaging reduction adds up (per-sample means for Keras' per-sample losses,
    elementwise losses otherwise) sum to more than float16's 65504 in magnitude."""
    if case.params.get("reduction", "mean") not in ("mean", "batchmean"):
        return False
    with np.errstate(all="ignore"):
        el = np.abs(R.evaluate(case.loss, case.rounded(), {**case.params, "reduction": "none"}))
        x = _array(case, "input")
        where, _, _ = KERAS_PER_SAMPLE.get(case.loss, (None, None, None))
        config = R.config_of(case)
        if where is not None and all(config.get(k) == v for k, v in where.items()) and x.ndim:
            el = el / x.shape[-1]  # Keras sums the per-sample means
        total = np.sum(el)
    return bool(np.isfinite(total) and total > R.FORMATS["float16"].max_value)


def single_class_outside_2d(case: Case) -> bool:
    """C = 1 with an input that is not (N, C): Keras' rank heuristic squeezes the class axis."""
    x = _array(case, "input")
    return x.ndim != 2 and x.shape[_class_axis(x)] == 1


def zero_target_at_minus_inf_logit(case: Case) -> bool:
    x, t = _array(case, "input"), _array(case, "target")
    return bool(np.any((x == -np.inf) & (t == 0)))


def subnormal_input(case: Case) -> bool:
    """Some floating-point input or cotangent is subnormal in the case dtype."""
    tiny = R.FORMATS[case.dtype].tiny
    arrays = [v for v in case.rounded().values() if np.issubdtype(v.dtype, np.floating)]
    cot = case.rounded_cotangent()
    if cot is not None:
        arrays.append(np.asarray(cot))
    return any(bool(np.any((a != 0) & (np.abs(a) < tiny))) for a in arrays)


def kl_probability_ratio_ill_conditioned(case: Case) -> bool:
    """Keras' t·log(t/p) carries a few ε·t of absolute error per element whatever log t and
    log p are; the log-domain formula t·(log t − x) errs by ε·t·(|log t| + |x|). Where the
    probabilities are near 1 (Σt above Σ t·(|log t| + |x|)) Keras' error dominates."""
    x, t = _array(case, "input"), _array(case, "target")
    with np.errstate(all="ignore"):
        log_t = t if case.params.get("log_target") else np.log(t)
        prob = np.exp(t) if case.params.get("log_target") else t
        terms = prob * (np.abs(log_t) + np.abs(x))
        ok = np.isfinite(terms) & (prob > 0)
        return bool(np.sum(prob[ok]) > np.sum(terms[ok]))


def _identity(z):
    return z


def _sign_to_unit(y):
    return (y + 1) / 2


# --- Keras' per-sample losses: the last axis is reduced before the reduction ----------------------

# loss → (configuration subset mapped to a Keras per-sample loss, Keras function, source lines)
KERAS_PER_SAMPLE = {
    "mse_loss": ({}, "mean_squared_error", "L1752-L1790"),
    "l1_loss": ({}, "mean_absolute_error", "L1791-L1827"),
    "huber_loss": ({}, "huber", "L1961-L2010"),
    "smooth_l1_loss": ({}, "huber / mean_absolute_error", "L1961-L2010"),
    "log_cosh": ({}, "log_cosh", "L2011-L2057"),
    "binary_cross_entropy": ({"weight": False}, "binary_crossentropy", "L2374-L2419"),
    "sigmoid_focal_loss": ({}, "binary_focal_crossentropy", "L2420-L2524"),
    "poisson_nll_loss": ({"log_input": False}, "poisson", "L2109-L2147"),
}


def _has_scalar_layout(loss: str) -> bool:
    return any(layout.shapes.get("input") == () for layout in R.get(loss).layouts)


def keras_per_sample_entries() -> list[Divergence]:
    out = []
    for loss, (where, fn, lines) in KERAS_PER_SAMPLE.items():
        cite = f"{KERAS_LOSSES}#{lines}"
        out += [
            Divergence(
                id=f"{loss}/keras-per-sample-none",
                kind="convention",
                loss=loss,
                description=(
                    f"keras.losses.{fn} returns one value per sample, the mean over the last axis "
                    "(shape [batch, d0, .. dN-1]): reduction=None gives input.shape[:-1], not the "
                    "elementwise loss; the reduced-away axis leaves no elementwise gradient to "
                    "compare"
                ),
                citation=cite,
                where={**where, "reduction": "none"},
                inputs=rank_at_least("input", 1),
                inputs_text="input of rank ≥ 1",
                affects=("value",),
            ),
            Divergence(
                id=f"{loss}/keras-per-sample-sum",
                kind="convention",
                loss=loss,
                description=(
                    f"keras.losses.{fn} averages the last axis before reduction='sum' adds the "
                    "per-sample values: the result (and gradient) is the elementwise sum divided "
                    "by input.shape[-1]"
                ),
                citation=cite,
                where={**where, "reduction": "sum"},
                inputs=last_axis_longer_than_one("input"),
                inputs_text="last axis longer than 1",
            ),
        ]
        if _has_scalar_layout(loss):
            out.append(
                Divergence(
                    id=f"{loss}/keras-rank-0-rejected",
                    kind="convention",
                    loss=loss,
                    description=(
                        f"keras.losses.{fn} takes the mean over axis -1, which a 0-d input lacks: "
                        "TensorFlow raises 'Invalid reduction dimension -1 for input with 0 "
                        "dimensions' where the reference returns the scalar loss"
                    ),
                    citation=cite,
                    where=where,
                    inputs=rank_is("input", 0),
                    inputs_text="0-d (scalar) input",
                    affects=("error",),
                )
            )
    return out


# --- every other entry ----------------------------------------------------------------------------

SOFTMAX_XENT_OP = "https://tensorflow.org/api_docs/python/tf/raw_ops/SoftmaxCrossEntropyWithLogits"
SPARSE_XENT = (
    "https://TensorFlow.org/versions/r2.6/api_docs/python/tf/nn/"
    "sparse_softmax_cross_entropy_with_logits"
)
SIGMOID_XENT_INF = "https://github.com/tensorflow/tensorflow/issues/75256"
SIGMOID_XENT = (
    "https://tensorflow.org/versions/r2.10/api_docs/python/tf/nn/sigmoid_cross_entropy_with_logits"
)

ENTRIES: list[Divergence] = [
    # --- binary cross-entropy on probabilities
    Divergence(
        id="binary_cross_entropy/keras-clip-epsilon",
        kind="convention",
        loss="binary_cross_entropy",
        description=(
            "Keras' TensorFlow backend clips the probability to [ε, 1 − ε], ε = 1e-7, before the "
            "logs: −log(0) is 16.12 instead of +inf, a zero-weight term at p = 0 or 1 costs "
            "≈1e-7 instead of 0, and the gradient is 0 outside the clip"
        ),
        citation=f"{KERAS_TF_NN}#L1444-L1490",
        where={"weight": False},
        inputs=outside_clip("input", KERAS_EPSILON, 1 - KERAS_EPSILON),
        inputs_text="input < ε or > 1 − ε (ε = 1e-7 as a constant of the dtype)",
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
        citation=f"{KERAS_TF_NN}#L1444-L1490",
        where={"weight": False},
        inputs=probability_one_with_label_one,
        inputs_text="input = 1 with target = 1, where 1 − 1e-7 rounds to 1 in the dtype",
        dtypes=("float16", "bfloat16"),
    ),
    Divergence(
        id="binary_cross_entropy/keras-no-domain-check",
        kind="convention",
        loss="binary_cross_entropy",
        description=(
            "Keras neither checks that probabilities and labels lie in [0, 1] nor raises: inputs "
            "outside are clipped and labels outside are used as they are, so a number comes back "
            "where the reference rejects the input"
        ),
        citation=f"{KERAS_TF_NN}#L1444-L1490",
        where={"weight": False},
        inputs=outside_unit_interval("input", "target"),
        inputs_text="input or target outside [0, 1]",
        affects=("error",),
    ),
    # --- binary cross-entropy with logits (tf.nn)
    Divergence(
        id="binary_cross_entropy_with_logits/tf-nn-infinite-logit",
        kind="convention",
        loss="binary_cross_entropy_with_logits",
        description=(
            "tf.nn.sigmoid_cross_entropy_with_logits evaluates max(x, 0) − x·z + log(1 + "
            "e^−|x|) literally: NaN at x = +inf (inf − inf or inf·0) and at x = −inf with z = 0, "
            "where the reference gives 0 or +inf"
        ),
        citation=SIGMOID_XENT_INF,
        where={"weight": False, "pos_weight": False},
        inputs=infinite_logit_products(_identity),
        inputs_text="a logit of +inf, or −inf with label 0",
        affects=("value",),
    ),
    Divergence(
        id="binary_cross_entropy_with_logits/tf-nn-weighted-infinite-logit",
        kind="convention",
        loss="binary_cross_entropy_with_logits",
        description=(
            "tf.nn.weighted_cross_entropy_with_logits evaluates (1 − z)·x + (1 + (q − 1)·z)·"
            "(log(1 + e^−|x|) + max(−x, 0)) literally: NaN at x = −inf (−inf + inf) and at "
            "x = +inf with z = 1 (0·inf), where the reference gives +inf or 0; the label gradient "
            "is NaN there too"
        ),
        citation="https://TensorFlow.org/api_docs/python/tf/nn/weighted_cross_entropy_with_logits",
        where={"weight": False, "pos_weight": True},
        inputs=weighted_infinite_logit,
        inputs_text="a logit of −inf, or +inf with label 1",
    ),
    Divergence(
        id="binary_cross_entropy_with_logits/tf-nn-no-pos-weight-check",
        kind="convention",
        loss="binary_cross_entropy_with_logits",
        description=(
            "tf.nn.weighted_cross_entropy_with_logits uses pos_weight as it is: a NaN or infinite "
            "pos_weight gives a NaN or infinite loss where the reference rejects the weight"
        ),
        citation="https://TensorFlow.org/api_docs/python/tf/nn/weighted_cross_entropy_with_logits",
        where={"weight": False, "pos_weight": True},
        inputs=nonfinite("pos_weight"),
        inputs_text="a NaN or infinite pos_weight",
        affects=("error",),
    ),
    Divergence(
        id="binary_cross_entropy_with_logits/tf-nn-no-label-check",
        kind="convention",
        loss="binary_cross_entropy_with_logits",
        description=(
            "tf.nn.sigmoid_cross_entropy_with_logits and weighted_cross_entropy_with_logits do not "
            "check that labels lie in [0, 1]: the formula is evaluated for any label"
        ),
        citation=SIGMOID_XENT,
        where={"weight": False},
        inputs=outside_unit_interval("target"),
        inputs_text="target outside [0, 1]",
        affects=("error",),
    ),
    # --- focal loss (Keras)
    Divergence(
        id="sigmoid_focal_loss/keras-no-label-check",
        kind="convention",
        loss="sigmoid_focal_loss",
        description=(
            "keras.losses.BinaryFocalCrossentropy does not check that labels lie in [0, 1]: the "
            "formula is evaluated for any label"
        ),
        citation=f"{KERAS_LOSSES}#L2420-L2524",
        inputs=outside_unit_interval("target"),
        inputs_text="target outside [0, 1]",
        affects=("error",),
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
        citation=f"{KERAS_LOSSES}#L2420-L2524",
        inputs=lambda case: bool(np.any(np.isinf(_array(case, "input")))),
        inputs_text="an infinite logit",
    ),
    # --- cross-entropy
    Divergence(
        id="cross_entropy/tf-positive-infinite-logit",
        kind="convention",
        loss="cross_entropy",
        description=(
            "TensorFlow's softmax cross-entropy kernels subtract the row maximum: a +inf logit "
            "makes every entry of its row inf − inf = NaN (value and gradients), where the "
            "reference's loss of a class with a finite logit is +inf and its gradient finite"
        ),
        citation=SPARSE_XENT,
        inputs=positive_infinite("input"),
        inputs_text="a logit of +inf",
    ),
    Divergence(
        id="cross_entropy/tf-softmax-xent-grad-assumes-normalised-target",
        kind="convention",
        loss="cross_entropy",
        description=(
            "The SoftmaxCrossEntropyWithLogits kernel (behind tf.nn.softmax_cross_entropy_with_"
            "logits and Keras CategoricalCrossentropy(from_logits=True)) returns the logit "
            "gradient softmax(x) − q, which assumes Σ_c q_c = 1 ('the caller must ensure that "
            "each batch of labels represents a valid probability distribution'); the gradient of "
            "the value it computes is softmax(x)·Σq − q. The value itself is right."
        ),
        citation=SOFTMAX_XENT_OP,
        where={"target_kind": "probability"},
        inputs=target_rows_not_normalised,
        inputs_text="a probability target whose class sum differs from 1",
        affects=("grad",),
    ),
    Divergence(
        id="cross_entropy/keras-label-smoothing-uses-last-axis",
        kind="known-bug",
        loss="cross_entropy",
        description=(
            "keras.losses.categorical_crossentropy spreads label_smoothing over shape[-1] classes "
            "whatever `axis` says: with axis=1 (torch's class dimension) and inputs (N, C, d1, …) "
            "it divides ε by the size of the last dimension instead of C, so the smoothed target "
            "no longer sums to 1"
        ),
        citation="https://github.com/keras-team/keras/issues/23451",
        where={"label_smoothing": 0.1},
        inputs=class_axis_is_not_last_and_sizes_differ,
        inputs_text="input of rank ≥ 3 whose class size C differs from its last dimension",
    ),
    Divergence(
        id="cross_entropy/xla-sparse-xent-out-of-range-nan",
        kind="known-bug",
        loss="cross_entropy",
        description=(
            "Under tf.function(jit_compile=True) tf.nn.sparse_softmax_cross_entropy_with_logits "
            "(and Keras SparseCategoricalCrossentropy) returns NaN for a class index outside "
            "[0, C) instead of raising, as eager mode on CPU does"
        ),
        citation="https://github.com/tensorflow/tensorflow/issues/126005",
        where={"target_kind": "index", "label_smoothing": 0.0},
        inputs=class_index_out_of_range,
        inputs_text="a class index outside [0, C) that is not ignore_index",
        affects=("error",),
        modes=("jit",),
    ),
    Divergence(
        id="cross_entropy/one-hot-out-of-range-zero-row",
        kind="convention",
        loss="cross_entropy",
        description=(
            "Label smoothing needs one-hot targets (tf.one_hot), which maps an index outside "
            "[0, C) to an all-zero row without raising; the smoothed loss of that row is then "
            "computed from ε/C alone"
        ),
        citation="https://TensorFlow.org/api_docs/python/tf/raw_ops/OneHot",
        where={"target_kind": "index", "label_smoothing": 0.1},
        inputs=class_index_out_of_range,
        inputs_text="a class index outside [0, C)",
        affects=("error",),
    ),
    Divergence(
        id="cross_entropy/keras-ignore-class-all-ignored-is-zero",
        kind="convention",
        loss="cross_entropy",
        description=(
            "Keras averages a masked loss with divide_no_nan: when every target equals "
            "ignore_class, sum_over_batch_size returns 0 (and zero gradients) where torch's "
            "weighted mean is 0/0 = NaN"
        ),
        citation=f"{KERAS_LOSS_BASE}#L197-L226",
        where={"target_kind": "index", "ignore_index": -100, "reduction": "mean"},
        inputs=every_target_ignored,
        inputs_text="every target equals ignore_index",
    ),
    Divergence(
        id="cross_entropy/keras-class-index-cast-to-loss-dtype",
        kind="known-bug",
        loss="cross_entropy",
        description=(
            "keras.losses.Loss.__call__ converts y_true to the loss dtype before "
            "SparseCategoricalCrossentropy casts it back to int64: in bfloat16 (float16) a class "
            "index above 256 (2048) that the format cannot hold is rounded to another class "
            "(257 → 256), so the loss and gradient are those of the wrong class"
        ),
        citation="https://github.com/keras-team/keras/issues/15012",
        where={"target_kind": "index", "ignore_index": -100, "label_smoothing": 0.0},
        inputs=class_index_not_representable,
        inputs_text="a class index the dtype cannot represent exactly",
        dtypes=("float16", "bfloat16"),
    ),
    Divergence(
        id="cross_entropy/tf-no-probability-target-check",
        kind="convention",
        loss="cross_entropy",
        description=(
            "tf.nn.softmax_cross_entropy_with_logits and Keras CategoricalCrossentropy do not "
            "check that probability targets lie in [0, 1]: any real target is used as it is"
        ),
        citation=SOFTMAX_XENT_OP,
        where={"target_kind": "probability"},
        inputs=outside_unit_interval("target"),
        inputs_text="target outside [0, 1]",
        affects=("error",),
    ),
    # --- multilabel soft margin (Keras BinaryCrossentropy from logits)
    Divergence(
        id="multilabel_soft_margin_loss/keras-no-label-check",
        kind="convention",
        loss="multilabel_soft_margin_loss",
        description=(
            "keras.losses.BinaryCrossentropy(from_logits=True) does not check that labels lie in "
            "[0, 1]: tf.nn.sigmoid_cross_entropy_with_logits evaluates the formula for any label"
        ),
        citation=SIGMOID_XENT,
        where={"weight": False},
        inputs=outside_unit_interval("target"),
        inputs_text="target outside [0, 1]",
        affects=("error",),
    ),
    Divergence(
        id="multilabel_soft_margin_loss/tf-nn-infinite-logit",
        kind="convention",
        loss="multilabel_soft_margin_loss",
        description=(
            "Keras BinaryCrossentropy(from_logits=True) runs tf.nn.sigmoid_cross_entropy_with_"
            "logits, which evaluates max(x, 0) − x·z + log(1 + e^−|x|) literally: NaN at x = +inf "
            "and at x = −inf with label 0, where the reference gives 0 or +inf"
        ),
        citation=SIGMOID_XENT_INF,
        where={"weight": False},
        inputs=infinite_logit_products(_identity),
        inputs_text="a logit of +inf, or −inf with label 0",
        affects=("value",),
    ),
    # --- KL divergence (Keras KLDivergence on tf.exp of the log-probabilities)
    Divergence(
        id="kl_div/keras-clip-epsilon",
        kind="convention",
        loss="kl_div",
        description=(
            "keras.losses.KLDivergence clips y_true and y_pred to [ε, 1], ε = 1e-7: a zero target "
            "contributes ε·log(ε/p) instead of 0, probabilities below ε or above 1 are moved to "
            "the bound, and the gradient is 0 there"
        ),
        citation=f"{KERAS_LOSSES}#L2058-L2108",
        where={"log_target": False},
        inputs=lambda case: (
            outside_clip("target", KERAS_EPSILON, 1.0)(case)
            or outside_clip("input", KERAS_EPSILON, 1.0, log_space=True)(case)
        ),
        inputs_text="target < ε, exp(input) < ε or input > 0",
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
        citation=f"{KERAS_LOSSES}#L2058-L2108",
        where={"log_target": True},
        inputs=lambda case: (
            outside_clip("target", KERAS_EPSILON, 1.0, log_space=True)(case)
            or outside_clip("input", KERAS_EPSILON, 1.0, log_space=True)(case)
        ),
        inputs_text="target or input below log(1e-7) or above 0",
    ),
    Divergence(
        id="kl_div/keras-per-sample-none",
        kind="convention",
        loss="kl_div",
        description=(
            "keras.losses.KLDivergence sums over the last axis and returns one value per sample: "
            "reduction=None gives input.shape[:-1], not the pointwise loss"
        ),
        citation=f"{KERAS_LOSSES}#L2058-L2108",
        where={"reduction": "none"},
        inputs=rank_at_least("input", 1),
        inputs_text="input of rank ≥ 1",
        affects=("value",),
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
    ),
    Divergence(
        id="kl_div/keras-no-target-check",
        kind="convention",
        loss="kl_div",
        description=(
            "keras.losses.KLDivergence clips targets to [ε, 1] instead of rejecting targets "
            "outside [0, 1]: a number comes back where the reference raises"
        ),
        citation=f"{KERAS_LOSSES}#L2058-L2108",
        where={"log_target": False},
        inputs=outside_unit_interval("target"),
        inputs_text="target outside [0, 1]",
        affects=("error",),
    ),
    # --- Poisson
    Divergence(
        id="poisson_nll_loss/keras-poisson-epsilon",
        kind="convention",
        loss="poisson_nll_loss",
        description=(
            "keras.losses.Poisson computes y_pred − y_true·log(y_pred + ε) with Keras' fixed "
            "ε = 1e-7 and has no eps argument; torch's default eps is 1e-8, so every element with "
            "a non-zero count differs by about y·9e-8/x"
        ),
        citation=f"{KERAS_LOSSES}#L2109-L2147",
        where={"log_input": False},
        inputs=keras_poisson_epsilon_visible,
        inputs_text="a non-zero count at a rate where 1e-7 vs 1e-8 moves log(rate + eps) visibly",
    ),
    Divergence(
        id="poisson_nll_loss/tf-stirling-for-negative-counts",
        kind="convention",
        loss="poisson_nll_loss",
        description=(
            "tf.nn.log_poisson_loss(compute_full_loss=True) adds Stirling's term wherever the "
            "target is not in [0, 1] — including negative targets, where z·log(z) is NaN — while "
            "torch adds it only where the target exceeds 1"
        ),
        citation="https://tensorflow.org/api_docs/python/tf/nn/log_poisson_loss",
        where={"log_input": True, "full": True},
        inputs=negative_count,
        inputs_text="a negative count",
        affects=("value",),
    ),
    Divergence(
        id="poisson_nll_loss/tf-zero-count-times-infinite-log-rate",
        kind="convention",
        loss="poisson_nll_loss",
        description=(
            "tf.nn.log_poisson_loss evaluates exp(c) − z·c literally: a zero count at log-rate "
            "c = ±inf gives 0·(±inf) = NaN where the reference drops the absent term (loss 0 at "
            "c = −inf, +inf at c = +inf)"
        ),
        citation="https://tensorflow.org/api_docs/python/tf/nn/log_poisson_loss",
        where={"log_input": True},
        inputs=zero_count_at_infinite_log_rate,
        inputs_text="a zero count where the log-rate is ±inf",
        affects=("value",),
    ),
    # --- regression edge values
    Divergence(
        id="huber_loss/keras-where-nan-gradient-at-infinite-error",
        kind="known-bug",
        loss="huber_loss",
        description=(
            "keras.losses.huber selects 0.5·d² or δ·|d| − 0.5·δ² with ops.where; at an infinite "
            "error the unselected branch's gradient is inf·0 = NaN and tf.where propagates it, "
            "so the gradient is NaN instead of ±δ"
        ),
        citation="https://www.github.com/tensorflow/tensorflow/issues/20091",
        inputs=infinite_error,
        inputs_text="|input − target| = inf",
        affects=("grad",),
    ),
    Divergence(
        id="smooth_l1_loss/keras-where-nan-gradient-at-infinite-error",
        kind="known-bug",
        loss="smooth_l1_loss",
        description=(
            "smooth_l1 with beta = 1 runs keras.losses.Huber(delta=1.0), whose ops.where gives a "
            "NaN gradient at an infinite error instead of ±1"
        ),
        citation="https://www.github.com/tensorflow/tensorflow/issues/20091",
        where={"beta": 1.0},
        inputs=infinite_error,
        inputs_text="|input − target| = inf",
        affects=("grad",),
    ),
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
        inputs=rank_at_least("input", 1),
        inputs_text="any input of rank ≥ 1 (a 0-d input raises first)",
        affects=("value",),
        dtypes=("float64",),
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
    ),
    # --- soft margin (tf.nn.sigmoid_cross_entropy_with_logits on labels (y + 1)/2)
    Divergence(
        id="soft_margin_loss/tf-nn-infinite-logit",
        kind="convention",
        loss="soft_margin_loss",
        description=(
            "tf.nn.sigmoid_cross_entropy_with_logits evaluates max(x, 0) − x·z + log(1 + e^−|x|) "
            "literally: NaN at x = +inf and at x = −inf with label −1 (z = 0), where the reference "
            "gives 0 or +inf"
        ),
        citation=SIGMOID_XENT_INF,
        inputs=infinite_logit_products(_sign_to_unit),
        inputs_text="a score of +inf, or −inf with label −1",
        affects=("value",),
    ),
    Divergence(
        id="soft_margin_loss/tf-nn-no-label-check",
        kind="convention",
        loss="soft_margin_loss",
        description=(
            "Labels other than ±1 become (y + 1)/2 outside {0, 1}, which "
            "tf.nn.sigmoid_cross_entropy_with_logits accepts without a check"
        ),
        citation=SIGMOID_XENT,
        inputs=not_sign_label("target"),
        inputs_text="a label other than −1 or 1",
        affects=("error",),
    ),
    Divergence(
        id="binary_cross_entropy_with_logits/tf-nn-weighted-gradient-at-zero-logit",
        kind="known-bug",
        loss="binary_cross_entropy_with_logits",
        description=(
            "tf.nn.weighted_cross_entropy_with_logits writes its loss with abs(x) and relu(−x), "
            "whose derivatives at x = 0 are both taken as 0, so the logit gradient at x = 0 is "
            "1 − z instead of (1 − z − q·z)/2 (z = 0: 1 instead of 0.5), although the loss is "
            "smooth there (sigmoid_cross_entropy_with_logits selects one branch with tf.where "
            "and is right)"
        ),
        citation="https://TensorFlow.org/api_docs/python/tf/nn/weighted_cross_entropy_with_logits",
        where={"weight": False, "pos_weight": True},
        inputs=logit_exactly_zero,
        inputs_text="a logit of exactly 0",
        affects=("grad",),
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
        citation=f"{KERAS_LOSSES}#L2420-L2524",
        where={"gamma": 0.0},
        inputs=focal_factor_base_is_zero,
        inputs_text="1 − p_t rounds to 0 in the dtype (a confident, correct prediction)",
        affects=("grad",),
    ),
    Divergence(
        id="cross_entropy/keras-ignore-class-single-class-crash",
        kind="known-bug",
        loss="cross_entropy",
        description=(
            "With a single class (C = 1) Keras' rank heuristic squeeze_or_expand_to_same_rank "
            "squeezes the logits' class axis when the target has one dimension less; with "
            "ignore_class the masking then fails (IndexError for an unbatched (1,) input, "
            "InvalidArgumentError for (N, 1, d1, …)) or, for (N, 1, 1), returns a value of the "
            "wrong shape (N,), where the reference returns zeros of shape (N, 1)"
        ),
        citation=f"{KERAS_LOSS_BASE}#L119-L137",
        where={"target_kind": "index", "ignore_index": -100, "label_smoothing": 0.0},
        inputs=single_class_outside_2d,
        inputs_text="C = 1 with an input other than (N, C)",
        affects=("error", "value"),
    ),
    Divergence(
        id="cross_entropy/tf-softmax-xent-zero-target-at-minus-inf",
        kind="convention",
        loss="cross_entropy",
        description=(
            "tf.nn.softmax_cross_entropy_with_logits multiplies every label by its log-softmax: a "
            "zero target at a −inf logit gives 0·(−inf) = NaN, where the reference drops the "
            "absent term (0·log 0 = 0)"
        ),
        citation=SOFTMAX_XENT_OP,
        where={"target_kind": "probability", "label_smoothing": 0.0},
        inputs=zero_target_at_minus_inf_logit,
        inputs_text="a zero probability target where the logit is −inf",
        affects=("value",),
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
        citation=f"{KERAS_LOSSES}#L2058-L2108",
        inputs=kl_probability_ratio_ill_conditioned,
        inputs_text="Σ t above Σ t·(|log t| + |input|): probabilities near 1 dominate",
    ),
    Divergence(
        id="*/tf-flushes-subnormal-inputs",
        kind="convention",
        loss="*",
        description=(
            "TensorFlow runs CPU kernels with denormals-are-zero / flush-to-zero: a subnormal "
            "input or cotangent is read as 0 (a cotangent of 2.2e-309 times a logit of 724 gives "
            "a target gradient of −0 instead of −1.6e-306)"
        ),
        citation="https://github.com/tensorflow/tensorflow/issues/11902",
        inputs=subnormal_input,
        inputs_text="a subnormal input or cotangent in the case dtype",
    ),
    Divergence(
        id="poisson_nll_loss/tf-exp-overflows-dtype",
        kind="convention",
        loss="poisson_nll_loss",
        description=(
            "tf.nn.log_poisson_loss evaluates exp(c) in the tested dtype: a finite log-rate above "
            "log(max) (float32: 88.72, float16: 11.09) makes the loss and its gradient inf — and "
            "0·inf = NaN under a zero cotangent — where the reference's mean or cotangent-weighted "
            "result is finite"
        ),
        citation="https://tensorflow.org/api_docs/python/tf/nn/log_poisson_loss",
        where={"log_input": True},
        inputs=exp_overflows_dtype,
        inputs_text="a finite log-rate whose exp exceeds the dtype's largest number",
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
        citation=f"{KERAS_LOSSES}#L2058-L2108",
        inputs=kl_ratio_overflows,
        inputs_text=(
            "t/p, t/p² or p/t above the dtype's largest number, or p² subnormal "
            "(t, p = exp(input) clipped to [ε, 1])"
        ),
        dtypes=("float16",),
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
        citation=f"{KERAS_LOSSES}#L2109-L2147",
        where={"log_input": False},
        inputs=float16_rate_reciprocal_overflows,
        inputs_text="a rate below 1/65504 − ε",
        affects=("grad",),
        dtypes=("float16",),
    ),
    Divergence(
        id="*/tf-float16-mean-accumulates-in-float16",
        kind="known-bug",
        loss="*",
        description=(
            "Eager tf.reduce_mean (and Keras' sum_over_batch_size, which sums first) adds float16 "
            "values in float16: once the sum passes 65504 the mean is inf although it is "
            "representable (thirty losses of 3000: inf instead of 3000); under jit_compile XLA "
            "accumulates in a wider type and is right (the cited issue: CPU float16 reductions "
            "keep their intermediates in float16)"
        ),
        citation="https://github.com/tensorflow/tensorflow/issues/115732",
        inputs=float16_sum_of_losses_overflows,
        inputs_text="mean or batchmean whose summed losses exceed 65504 in magnitude",
        dtypes=("float16",),
        devices=("cpu",),
        modes=("eager",),
    ),
]


# --- broadcasting instead of a shape error --------------------------------------------------------


def _rejects_shapes(case: Case) -> bool:
    """The reference rejects the arrays' shapes (no layout fits)."""
    rejection = case.rejection()
    return rejection is not None and rejection.argument == "shapes"


def _broadcast_to(shape: tuple, target: tuple) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def rejected_but_broadcast(case: Case) -> bool:
    """Elementwise losses: input and target broadcast (Keras first squeezes a trailing 1)."""
    if not _rejects_shapes(case):
        return False
    try:
        np.broadcast_shapes(np.shape(case.arrays["input"]), np.shape(case.arrays["target"]))
    except ValueError:
        return False
    return True


def rejected_but_pos_weight_broadcasts(case: Case) -> bool:
    x, t = np.shape(case.arrays["input"]), np.shape(case.arrays["target"])
    w = case.arrays.get("pos_weight")
    if not _rejects_shapes(case) or w is None or x != t:
        return False
    try:
        np.broadcast_shapes(np.shape(w), x)
    except ValueError:
        return False
    return True


def rejected_but_target_broadcasts_to_input(case: Case) -> bool:
    """softmax_cross_entropy_with_logits broadcasts labels of the logits' rank to their shape."""
    x, t = np.shape(case.arrays["input"]), np.shape(case.arrays["target"])
    return _rejects_shapes(case) and len(t) == len(x) and _broadcast_to(t, x)


def rejected_but_index_target_fits_after_broadcast(case: Case) -> bool:
    """Keras SparseCategoricalCrossentropy(ignore_class=…) masks the logits with
    ops.where(mask[..., None], logits, 0), broadcasting them to the target's shape, and reshapes the
    mask back: a target with the expected number of items that broadcasts against the expected
    shape (e.g. an extra leading 1) passes."""
    x = np.shape(case.arrays["input"])
    t = np.shape(case.arrays["target"])
    expected = tuple(s for i, s in enumerate(x) if i != (1 if len(x) >= 2 else 0))
    if not _rejects_shapes(case) or int(np.prod(t)) != int(np.prod(expected)):
        return False
    try:
        np.broadcast_shapes(t, expected)
    except ValueError:
        return False
    return True


# loss → (configuration subset, predicate, what it says, citation)
BROADCASTING = {
    **{
        loss: (where, rejected_but_broadcast, "input and target", f"{KERAS_LOSSES}#{lines}")
        for loss, (where, _, lines) in KERAS_PER_SAMPLE.items()
        # Keras' binary cross-entropies check that y_true and y_pred have equal shapes (after the
        # rank fix: keras_rank_fix_entries below)
        if loss not in ("binary_cross_entropy", "sigmoid_focal_loss")
    },
    "kl_div": ({}, rejected_but_broadcast, "input and target", f"{KERAS_LOSSES}#L2058-L2108"),
    "binary_cross_entropy_with_logits": (
        {"pos_weight": True},
        rejected_but_pos_weight_broadcasts,
        "pos_weight against the input",
        "https://TensorFlow.org/api_docs/python/tf/nn/weighted_cross_entropy_with_logits",
    ),
    "cross_entropy": (
        {"target_kind": "probability", "label_smoothing": 0.0},
        rejected_but_target_broadcasts_to_input,
        "a probability target of the input's rank against the input",
        SOFTMAX_XENT_OP,
    ),
}
# A second cross_entropy family: Keras SparseCategoricalCrossentropy with ignore_class.
IGNORE_CLASS_BROADCAST = (
    {"target_kind": "index", "ignore_index": -100},
    rejected_but_index_target_fits_after_broadcast,
    "an index target with the expected item count against the expected shape",
    f"{KERAS_LOSSES}#L2307-L2373",
)


def broadcasting_entries() -> list[Divergence]:
    families = [*BROADCASTING.items(), ("cross_entropy", IGNORE_CLASS_BROADCAST)]
    return [
        Divergence(
            id=f"{loss}/broadcasts-mismatched-shapes"
            + ("-ignore-class" if spec is IGNORE_CLASS_BROADCAST else ""),
            kind="convention",
            loss=loss,
            description=(
                f"TensorFlow broadcasts {what} (NumPy's rules; Keras first squeezes a trailing "
                "dimension of 1) instead of rejecting shapes no layout allows: a number comes back "
                "where the reference raises"
            ),
            citation=citation,
            where=where,
            inputs=pred,
            inputs_text=f"shapes no layout allows, yet {what} broadcast",
            affects=("error",),
        )
        for loss, spec in families
        for where, pred, what, citation in [spec]
    ]


# --- Keras' rank fix: a trailing dimension of 1 squeezed (or the other side expanded) -------------


def keras_rank_fix(y_true: tuple, y_pred: tuple) -> tuple[tuple, tuple]:
    """The shapes after keras.losses.loss.squeeze_or_expand_to_same_rank(y_true, y_pred), which
    LossFunctionWrapper.call applies before every Keras loss function: where the ranks differ by
    one and the longer shape ends in 1, a rank-1 other side gets a trailing 1, else the 1 goes."""
    if len(y_true) == len(y_pred) + 1 and y_true[-1:] == (1,):
        return (y_true, (*y_pred, 1)) if len(y_pred) == 1 else (y_true[:-1], y_pred)
    if len(y_pred) == len(y_true) + 1 and y_pred[-1:] == (1,):
        return ((*y_true, 1), y_pred) if len(y_true) == 1 else (y_true, y_pred[:-1])
    return y_true, y_pred


def rejected_but_same_shape_after_rank_fix(case: Case) -> bool:
    """Keras' binary cross-entropies: shapes no layout allows that Keras' rank fix makes equal
    (one argument with a trailing dimension of 1 the other lacks), so its equal-shape check passes
    and the mean over the last axis has an axis to reduce."""
    x, t = np.shape(case.arrays["input"]), np.shape(case.arrays["target"])
    y_true, y_pred = keras_rank_fix(t, x)
    return _rejects_shapes(case) and y_true == y_pred and len(y_pred) >= 1


def rejected_but_one_hot_same_shape_after_rank_fix(case: Case) -> bool:
    """keras.losses.CategoricalCrossentropy(axis=class axis) on the probability target, or on
    tf.one_hot(target, C, axis=class axis) for an index target (class axis 1 of the input, 0
    for a 1-d input): shapes no layout allows that Keras' rank fix makes equal, with the class axis
    still inside them."""
    x, t = np.shape(case.arrays["input"]), np.shape(case.arrays["target"])
    axis = 1 if len(x) >= 2 else 0
    if not x or axis > len(t):
        return False
    if case.params.get("target_kind", "index") == "index":
        t = (*t[:axis], x[axis], *t[axis:])
    y_true, y_pred = keras_rank_fix(t, x)
    return _rejects_shapes(case) and y_true == y_pred and axis < len(y_pred)


KERAS_RANK_FIX = f"{KERAS_LOSS_BASE}#L119-L137"


def keras_rank_fix_entries() -> list[Divergence]:
    what_keras_does = (
        "Keras' LossFunctionWrapper.call passes y_true and y_pred through "
        "squeeze_or_expand_to_same_rank: where their ranks differ by one and the longer ends in a "
        "dimension of 1, that 1 is squeezed away (or, against a rank-1 argument, the rank-1 one "
        "gets a trailing 1), pairing the elements one to one"
    )
    return [
        Divergence(
            id=f"{loss}/keras-rank-fix-squeezes-trailing-one",
            kind="convention",
            loss=loss,
            description=(
                f"{what_keras_does}, so keras.losses.{fn} computes its loss on those pairs where "
                "the reference rejects the shapes (and NumPy broadcasting would pair every element "
                f"with every other): {example}"
            ),
            citation=KERAS_RANK_FIX,
            where=where,
            inputs=pred,
            inputs_text=(
                f"shapes no layout allows that are equal once {shapes} loses its trailing "
                "dimension of 1"
            ),
            affects=("error",),
        )
        for loss, fn, where, pred, shapes, example in (
            (
                "binary_cross_entropy",
                "BinaryCrossentropy",
                {"weight": False},
                rejected_but_same_shape_after_rank_fix,
                "the input or the target",
                "input [0.5, 0.25] (2,) with target [[1], [0]] (2, 1), reduction sum, gives "
                "0.98083 = −log 0.5 − log 0.75, the reference's loss for target [1, 0]",
            ),
            (
                "sigmoid_focal_loss",
                "BinaryFocalCrossentropy",
                {},
                rejected_but_same_shape_after_rank_fix,
                "the input or the target",
                "input [[0], [2]] (2, 1) with target [1, 0] (2,), alpha 0.25, gamma 2, reduction "
                "sum, gives 1.28088, the reference's loss for input [0, 2]",
            ),
            (
                "cross_entropy",
                "CategoricalCrossentropy",
                {"label_smoothing": 0.1},
                rejected_but_one_hot_same_shape_after_rank_fix,
                "the input or the (one-hot) target",
                "input [[2, 0, 0], [0, 1, 0]] (2, 3) with index target [[0], [1]] (2, 1) — one-hot "
                "(2, 3, 1) — or input (2, 3, 1) with target [0, 1], label_smoothing 0.1, reduction "
                "sum, gives 0.99099, the reference's loss for target [0, 1] and the (2, 3) input",
            ),
        )
    ]


def _guarded(pred: Predicate) -> Predicate:
    """The conformance run hands invalid inputs to predicates too (shapes that do not broadcast, a
    missing array): an entry whose predicate cannot be evaluated on the arrays does not apply."""

    def guarded(case: Case) -> bool:
        try:
            return bool(pred(case))
        except (ValueError, IndexError, KeyError, TypeError, AttributeError):
            return False

    return guarded


DIVERGENCES: list[Divergence] = [
    dataclasses.replace(entry, inputs=_guarded(entry.inputs)) if entry.inputs else entry
    for entry in (
        *keras_per_sample_entries(),
        *ENTRIES,
        *broadcasting_entries(),
        *keras_rank_fix_entries(),
    )
]
