"""The domains array arguments live in, and everything the cases need to know about each.

Enforced domains are those where the formula is undefined outside them (a log of a negative
probability, a class index that selects nothing, a negative variance, a label that is neither
class): the reference raises :class:`reference.InvalidInput` there. The others describe the values
a loss is meant for and steer the case strategies, but the formula is defined everywhere and the
reference computes it (``nll_loss`` is ``-input[target]`` whatever ``input`` holds).

Next to each domain: how to sample plain valid values of it (``cases.sampling``), the values that
break it (enforced domains, ``cases.invalid``), the value bands the hypothesis strategies draw it
from for a format (``cases.strategies``), and how values of it are normalised along a class axis.
A new domain is declared here, in one place; no generic code names a domain.
"""

from __future__ import annotations

import math

import numpy as np

from .bands import Band, exp_overflow, large_high, mixed, near, saturation, small_low
from .spec import Domain

# --- membership ----------------------------------------------------------------------------------


def _finite(x, ctx):
    return np.isfinite(x)


def _probability(x, ctx):
    return (x >= 0.0) & (x <= 1.0)


def _class_index(t, ctx):
    ok = (t >= 0) & (t < ctx["C"])
    ignore = ctx.get("ignore_index")
    if ignore is not None:
        ok |= t == ignore
    return ok


def _multilabel_target(t, ctx):
    return (t >= -1) & (t < ctx["C"])


def _ctc_label(t, ctx):
    return (t >= 0) & (t < ctx["K"]) & (t != ctx.get("blank", 0))


def _input_length(v, ctx):
    return (v >= 0) & (v <= ctx["T"])


def _target_length(v, ctx):
    return (v >= 0) & (v <= ctx["S"])


def _nonnegative(x, ctx):
    return x >= 0.0


def _positive(x, ctx):
    return x > 0.0


def _above_minus_one(x, ctx):
    return x > -1.0


def _nonzero(x, ctx):
    return x != 0.0


def _sign_label(y, ctx):
    return (y == 1.0) | (y == -1.0)


def _binary_label(y, ctx):
    return (y == 0.0) | (y == 1.0)


# --- boundaries (the ``boundary`` input regime) -----------------------------------------------------


def _at_zero(x, ctx):
    return x == 0.0


def _zero_or_one(x, ctx):
    return (x == 0.0) | (x == 1.0)


# --- plain samples (rng, shape, context, scale) ---------------------------------------------------


def _sample_real(rng, shape, ctx, scale):
    return rng.standard_normal(shape) * scale


def _sample_log_probability(rng, shape, ctx, scale):
    return -rng.exponential(1.0, shape)


def _sample_probability(rng, shape, ctx, scale):
    return rng.uniform(0.0, 1.0, shape)


def _sample_class_index(rng, shape, ctx, scale):
    return rng.integers(0, ctx["C"], size=shape).astype(np.int64)


def _sample_multilabel_target(rng, shape, ctx, scale):
    return rng.integers(-1, ctx["C"], size=shape).astype(np.int64)


def _not_blank(values: np.ndarray, blank: int) -> np.ndarray:
    """Values drawn from [0, K − 2] moved onto the K − 1 labels that are not the blank."""
    return np.where(values >= blank, values + 1, values).astype(np.int64)


def _sample_ctc_label(rng, shape, ctx, scale):
    return _not_blank(rng.integers(0, ctx["K"] - 1, size=shape), ctx.get("blank", 0))


def _feasible_input_low(sizes) -> int:
    """The shortest input length drawn: 2S (room for S labels with a blank between repeats), or T."""
    return min(sizes["T"], 2 * sizes["S"])


def _sample_input_length(rng, shape, ctx, scale):
    return rng.integers(_feasible_input_low(ctx), ctx["T"] + 1, size=shape).astype(np.int64)


def _sample_target_length(rng, shape, ctx, scale):
    return rng.integers(0, ctx["S"] + 1, size=shape).astype(np.int64)


def _sample_count(rng, shape, ctx, scale):
    return rng.poisson(3.0, shape).astype(np.float64)


def _sample_positive(rng, shape, ctx, scale):
    return rng.uniform(0.05, 3.0, shape)


def _sample_nonzero(rng, shape, ctx, scale):
    return rng.choice(np.array([-1.0, 1.0]), size=shape) * rng.uniform(0.25, 3.0, shape)


def _sample_nonnegative(rng, shape, ctx, scale):
    return rng.uniform(0.0, 3.0, shape)


def _sample_sign(rng, shape, ctx, scale):
    return rng.choice(np.array([-1.0, 1.0]), size=shape)


def _sample_binary(rng, shape, ctx, scale):
    return rng.choice(np.array([0.0, 1.0]), size=shape)


def _sample_weight(rng, shape, ctx, scale):
    return rng.uniform(0.0, 2.0, shape)


# --- draws of integer domains (drawer, name, shape, sizes, parameters) ---------------------------
# The drawer is cases.strategies' (hypothesis-backed or seeded): integers, choice, booleans.


def _draw_class_index(drawer, name, shape, sizes, params) -> np.ndarray:
    n = math.prod(shape)
    values = drawer.integers(0, sizes["C"] - 1, n, f"{name} classes")
    ignore = params.get("ignore_index")
    if ignore is not None:
        covered = drawer.choice(("none", "some", "all"), f"{name} ignored items")
        if covered == "some":
            mask = drawer.booleans(n, f"{name} ignore mask")
        else:
            mask = np.full(n, covered == "all")
        values = np.where(mask, ignore, values)
    return values.reshape(shape).astype(np.int64)


def _draw_multilabel_target(drawer, name, shape, sizes, params) -> np.ndarray:
    # −1 anywhere in a row ends its labels there; what follows is read by nobody (but must still
    # lie in [−1, C): torch checks the whole row)
    values = drawer.integers(-1, sizes["C"] - 1, math.prod(shape), f"{name} labels")
    return values.reshape(shape).astype(np.int64)


def _draw_ctc_label(drawer, name, shape, sizes, params) -> np.ndarray:
    values = drawer.integers(0, sizes["K"] - 2, math.prod(shape), f"{name} labels")
    return _not_blank(values, params.get("blank", 0)).reshape(shape)


def _draw_input_length(drawer, name, shape, sizes, params) -> np.ndarray:
    # mostly lengths an alignment fits in (infeasible items, +inf, are edge cases and still drawn
    # where T < 2S or labels repeat)
    low = _feasible_input_low(sizes)
    return drawer.integers(low, sizes["T"], math.prod(shape), f"{name}").reshape(shape)


def _draw_target_length(drawer, name, shape, sizes, params) -> np.ndarray:
    return drawer.integers(0, sizes["S"], math.prod(shape), f"{name}").reshape(shape)


# --- bands (format, kink points of the configuration, parameters) ---------------------------------
# A band function reads only the kink points and ``eps`` (cases.strategies caches on those).


def _expected_count_bands(fmt, kinks, params) -> tuple[Band, ...]:
    # small counts only down to float16's smallest normal number: the invalid cases reuse a
    # float64 draw, and a count below that rounds to 0 in the narrower dtypes, so the case broken
    # in one count was rejected for the other, which had become 0 (as in _nonzero_bands)
    return mixed(
        (
            Band("ordinary", "uniform", 2.0**-4, 4.0),
            Band("small", "log", 2.0**-14, 2.0**-6, sign=1),
            Band("large", "log", 256.0, large_high(fmt), sign=1),
        )
    )


def _real_bands(fmt, kinks, params) -> tuple[Band, ...]:
    s, top = saturation(fmt), exp_overflow(fmt)
    return mixed(
        (
            Band("ordinary", "uniform", -4.0, 4.0),
            Band("small", "log", small_low(fmt), 2.0**-6),
            near("near kinks", kinks, fmt.name),
            Band("sigmoid saturation", "log", s / 2, 2 * s),
            Band("exp overflow", "log", 0.9 * top, 1.1 * top),
            Band("large", "log", 256.0, large_high(fmt)),
        )
    )


def _log_probability_bands(fmt, kinks, params) -> tuple[Band, ...]:
    return mixed(
        (
            Band("ordinary", "uniform", -8.0, 0.0),
            Band("near 0", "log", small_low(fmt), 2.0**-6, sign=-1),
            Band("very negative", "log", saturation(fmt), 1.1 * exp_overflow(fmt), sign=-1),
            Band("large", "log", 256.0, large_high(fmt), sign=-1),
        )
    )


def _probability_bands(fmt, kinks, params) -> tuple[Band, ...]:
    return mixed(
        (
            Band("ordinary", "uniform", 0.0, 1.0),
            Band("near 0", "log", small_low(fmt), 2.0**-6, sign=1),
            # down to a quarter ULP below 1, so some values round to exactly 1 in the dtype
            Band("near 1", "log", fmt.eps / 4, 2.0**-6, sign=-1, base=1.0),
            Band("hard labels", "values", points=(0.0, 1.0)),
        )
    )


def _count_bands(fmt, kinks, params) -> tuple[Band, ...]:
    return mixed(
        (
            Band("small counts", "integers", 0, 5),
            Band("zero", "values", points=(0.0,)),
            Band("large counts", "integers", 6, 1000),
        )
    )


def _rate_bands(fmt, kinks, params) -> tuple[Band, ...]:
    return mixed(
        (
            Band("ordinary", "uniform", 0.0, 4.0),
            Band("small", "log", small_low(fmt), 2.0**-6, sign=1),
            Band("zero", "values", points=(0.0,)),
            Band("large", "log", 256.0, large_high(fmt), sign=1),
        )
    )


def _variance_bands(fmt, kinks, params) -> tuple[Band, ...]:
    parts = [
        Band("ordinary", "uniform", 2.0**-4, 4.0),
        Band("small", "log", small_low(fmt), 2.0**-6, sign=1),
        Band("zero", "values", points=(0.0,)),
        Band("large", "log", 256.0, large_high(fmt), sign=1),
    ]
    if params.get("eps"):  # the variance clamp max(var, eps) is a kink
        parts.insert(2, near("near eps", (params["eps"],), fmt.name))
    return mixed(tuple(parts))


def _log1p_argument_bands(fmt, kinks, params) -> tuple[Band, ...]:
    return mixed(
        (
            Band("ordinary", "uniform", 0.0, 4.0),
            Band("small", "log", small_low(fmt), 2.0**-6, sign=1),
            Band("zero", "values", points=(0.0,)),
            Band("between −1 and 0", "uniform", -0.75, 0.0),
            # at least 2^-8 above −1, bfloat16's spacing there: a value drawn for one dtype is
            # also a case of the narrower ones (invalid cases reuse a float64 draw), and no
            # rounding reaches −1
            Band("near −1", "log", 2.0**-8, 2.0**-4, sign=1, base=-1.0),
            Band("large", "log", 256.0, large_high(fmt), sign=1),
        )
    )


def _nonzero_bands(fmt, kinks, params) -> tuple[Band, ...]:
    # log bands of either sign, down to float16's smallest normal number: no draw, nor its
    # rounding to a narrower dtype (invalid cases reuse a float64 draw), is 0
    return mixed(
        (
            Band("ordinary", "log", 2.0**-4, 4.0),
            Band("small", "log", 2.0**-14, 2.0**-6),
            Band("large", "log", 256.0, large_high(fmt)),
        )
    )


def _sign_bands(fmt, kinks, params) -> tuple[Band, ...]:
    return (
        Band("±1", "values", points=(-1.0, 1.0)),
        Band("all 1", "values", points=(1.0,)),
        Band("all −1", "values", points=(-1.0,)),
    )


def _binary_label_bands(fmt, kinks, params) -> tuple[Band, ...]:
    return (
        Band("0 and 1", "values", points=(0.0, 1.0)),
        Band("all 1", "values", points=(1.0,)),
        Band("all 0", "values", points=(0.0,)),
    )


def _weight_bands(fmt, kinks, params) -> tuple[Band, ...]:
    return mixed(
        (
            Band("ordinary", "uniform", 0.0, 2.0),
            Band("zeros", "values", points=(0.0,)),
            Band("some zeros", "values", points=(0.0, 0.5, 1.0, 2.0)),
            Band("large", "log", 16.0, 1024.0, sign=1),
        )
    )


# --- normalisation along the class axis -----------------------------------------------------------


def _normalise_probability(x: np.ndarray, axis: int) -> np.ndarray:
    total = np.sum(x, axis=axis, keepdims=True)
    uniform = np.full_like(x, 1.0 / x.shape[axis])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, x / np.where(total > 0, total, 1.0), uniform)


def _normalise_log_probability(x: np.ndarray, axis: int) -> np.ndarray:
    top = np.max(x, axis=axis, keepdims=True)
    return x - (top + np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)))


# --- the domains ----------------------------------------------------------------------------------

REAL = Domain(
    "real",
    "be a real number (±inf allowed)",
    sample=_sample_real,
    bands=_real_bands,
    ties=True,
)
LOGIT = Domain(
    "logit",
    "be a real-valued logit (±inf allowed)",
    sample=_sample_real,
    bands=_real_bands,
    ties=True,
)
LOG_PROBABILITY = Domain(
    "log-probability",
    "be a log-probability (≤ 0; not enforced: the formula is defined for any real)",
    sample=_sample_log_probability,
    bands=_log_probability_bands,
    normalise=_normalise_log_probability,
)
PROBABILITY = Domain(
    "probability",
    "be a probability in [0, 1]",
    _probability,
    enforced=True,
    sample=_sample_probability,
    violations=(
        ("probability -0.25 (below 0)", lambda sizes: -0.25),
        ("probability 1.25 (above 1)", lambda sizes: 1.25),
    ),
    bands=_probability_bands,
    normalise=_normalise_probability,
    boundary=_zero_or_one,
)
CLASS_INDEX = Domain(
    "class index",
    "be a class index in [0, C), or equal ignore_index",
    _class_index,
    enforced=True,
    integer=True,  # drawn as indices (with ignore_index), not from bands
    sample=_sample_class_index,
    draw=_draw_class_index,
    violations=(
        ("class index = C", lambda sizes: sizes["C"]),
        ("class index = -1", lambda sizes: -1),
    ),
)
MULTILABEL_TARGET = Domain(
    "multilabel target",
    "be a class index in [0, C), or -1 (ends the item's labels)",
    _multilabel_target,
    enforced=True,
    integer=True,
    sample=_sample_multilabel_target,
    draw=_draw_multilabel_target,
    violations=(
        ("multilabel target = C", lambda sizes: sizes["C"]),
        ("multilabel target = -2", lambda sizes: -2),
    ),
)
# CTC (ctc_loss): labels of the K-symbol alphabet other than the blank; the lengths of each item's
# input (≤ T) and target (≤ S). The whole padded target row is checked, as the reference reads it.
CTC_LABEL = Domain(
    "CTC label",
    "be a class index in [0, K) other than blank",
    _ctc_label,
    enforced=True,
    integer=True,
    sample=_sample_ctc_label,
    draw=_draw_ctc_label,
    violations=(
        ("CTC label = K", lambda sizes: sizes["K"]),
        ("CTC label = -1", lambda sizes: -1),
        ("CTC label 0 (the blank at the default blank=0)", lambda sizes: 0),
    ),
)
INPUT_LENGTH = Domain(
    "input length",
    "be an input length in [0, T]",
    _input_length,
    enforced=True,
    integer=True,
    sample=_sample_input_length,
    draw=_draw_input_length,
    violations=(
        ("input length T + 1", lambda sizes: sizes["T"] + 1),
        ("input length -1", lambda sizes: -1),
    ),
)
TARGET_LENGTH = Domain(
    "target length",
    "be a target length in [0, S]",
    _target_length,
    enforced=True,
    integer=True,
    sample=_sample_target_length,
    draw=_draw_target_length,
    violations=(
        ("target length S + 1", lambda sizes: sizes["S"] + 1),
        ("target length -1", lambda sizes: -1),
    ),
)
COUNT = Domain(
    "count",
    "be a count ≥ 0 (not enforced: the formula is defined for any real target)",
    sample=_sample_count,
    bands=_count_bands,
    boundary=_at_zero,
)
RATE = Domain(
    "rate",
    "be a rate ≥ 0 (not enforced: the formula is defined for any real)",
    sample=_sample_positive,
    bands=_rate_bands,
    boundary=_at_zero,
)
VARIANCE = Domain(
    "variance",
    "be a variance ≥ 0",
    _nonnegative,
    enforced=True,
    sample=_sample_positive,
    violations=(("variance -1 (negative)", lambda sizes: -1.0),),
    bands=_variance_bands,
    boundary=_at_zero,
)
# The argument of log(1 + x) (mean_squared_logarithmic_error): the formula is undefined at and
# below −1. The loss is meant for values ≥ 0 (counts, prices); (−1, 0) is still its domain.
LOG1P_ARGUMENT = Domain(
    "log1p argument",
    "be a real number above -1 (+inf allowed)",
    _above_minus_one,
    enforced=True,
    sample=_sample_nonnegative,
    violations=(
        ("-1 (log 0)", lambda sizes: -1.0),
        ("-2 (below -1)", lambda sizes: -2.0),
    ),
    bands=_log1p_argument_bands,
)
# A divisor (mean_absolute_percentage_error's target): any real but 0.
NONZERO = Domain(
    "nonzero real",
    "be a nonzero real number (±inf allowed)",
    _nonzero,
    enforced=True,
    sample=_sample_nonzero,
    violations=(("0 (division by zero)", lambda sizes: 0.0),),
    bands=_nonzero_bands,
)
SIGN_LABEL = Domain(
    "±1 label",
    "be a label in {-1, 1}",
    _sign_label,
    enforced=True,
    sample=_sample_sign,
    violations=(
        ("±1 label of 0", lambda sizes: 0.0),
        ("±1 label of 2", lambda sizes: 2.0),
    ),
    bands=_sign_bands,
)
# Hard {0, 1} labels of a margin loss that reads them as ±1 (2y − 1): Keras' Hinge converts a
# tensor of 0s and 1s so. Not a probability: ½ is no label, and 0 and 1 are no boundary.
BINARY_LABEL = Domain(
    "{0, 1} label",
    "be a label in {0, 1}",
    _binary_label,
    enforced=True,
    sample=_sample_binary,
    violations=(
        ("{0, 1} label of -1", lambda sizes: -1.0),
        ("{0, 1} label of 0.5", lambda sizes: 0.5),
    ),
    bands=_binary_label_bands,
)
# A weight scales a term; an infinite one makes 0·inf of every term it does not select.
WEIGHT = Domain(
    "weight",
    "be a finite rescaling weight (usually ≥ 0)",
    _finite,
    enforced=True,
    sample=_sample_weight,
    violations=(
        ("weight +inf (not finite)", lambda sizes: math.inf),
        ("weight NaN", lambda sizes: math.nan),
    ),
    bands=_weight_bands,
    boundary=_at_zero,
)
# The expected count of a class under a candidate sampler (tf.nn's sampled losses): its log is
# subtracted from the logit, so it must be positive; +inf (log Q = inf) is a limit, allowed.
EXPECTED_COUNT = Domain(
    "expected count",
    "be an expected count > 0",
    _positive,
    enforced=True,
    sample=_sample_positive,
    violations=(
        ("expected count 0 (log 0)", lambda sizes: 0.0),
        ("expected count -1 (negative)", lambda sizes: -1.0),
    ),
    bands=_expected_count_bands,
)


# Group labels of a contrastive or metric-learning batch (ntxent, circle_loss): items with equal
# labels are positive pairs; any integer is a label (not enforced: the frameworks compare them with
# ==). And embeddings meant to be unit rows (circle_loss).
def _group_label(t, ctx):
    return np.asarray(t) == np.floor(t)


def _draw_group_label(drawer, name, shape, sizes, params) -> np.ndarray:
    # Few distinct labels, so that items have positives and negatives; one label for all (no
    # negatives anywhere) and all distinct (no positives) are both reachable.
    top = drawer.choice((2, 1, 3, 0), f"{name} largest label")
    n = int(np.prod(shape))
    return drawer.integers(0, top, n, f"{name} labels").reshape(shape).astype(np.int64)


def _sample_group_label(rng, shape, ctx, scale):
    # ⌈n/2⌉ labels over n items, shuffled: from 3 items on, some item has a positive besides
    # itself and a negative (the draws, _draw_group_label, reach the batches where none has)
    n = int(np.prod(shape))
    labels = np.arange(n) % max(1, (n + 1) // 2)
    return rng.permutation(labels).reshape(shape).astype(np.int64)


def _unit_rows(x: np.ndarray, axis: int) -> np.ndarray:
    """x / ‖x‖ along ``axis``; a zero row stays zero (it has no direction)."""
    norm = np.sqrt(np.sum(x * x, axis=axis, keepdims=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, x / np.where(norm > 0, norm, 1.0), 0.0)


def _sample_embedding(rng, shape, ctx, scale):
    return _unit_rows(rng.standard_normal(shape), -1)


def _embedding_bands(fmt, kinks, params):
    return REAL.bands(fmt, kinks, params)


GROUP_LABEL = Domain(
    "group label",
    "be an integer label (any integer: only equality between labels is read)",
    _group_label,
    integer=True,
    sample=_sample_group_label,
    draw=_draw_group_label,
)
# The strategies normalise a domain's values along the layout's axis C part of the time
# (cases.strategies.CLASS_SYMBOLS): the embedding axis is named C so that half the draws are the
# unit rows the loss is meant for, and half are raw reals, where the formula is still defined.
UNIT_EMBEDDING = Domain(
    "embedding",
    "be a real embedding, meant to have unit L2 norm (not enforced: the formula is defined for any "
    "real)",
    sample=_sample_embedding,
    bands=_embedding_bands,
    normalise=_unit_rows,
)

# Every domain declared above, in order, for the tests that check each declares what the cases need.
DOMAINS: tuple[Domain, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Domain))
