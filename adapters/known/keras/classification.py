"""TensorFlow/Keras against the reference: classification losses (cross_entropy,
multilabel_soft_margin_loss; nll_loss and multi_margin_loss are not offered).

cross_entropy runs tf.nn's softmax cross-entropy kernels or Keras' Categorical /
SparseCategoricalCrossentropy, depending on the configuration.
"""

from __future__ import annotations

import numpy as np

import reference as R
from reference import Case
from reference.contract import Prediction, predict_nonfinite

from ...base import Accepts, Divergence, Example
from ..tensorflow.classification import softmax_xent_kernel_gradient
from ..torch.classification import (
    any_posinf_logit,
    ce_neginf_logit_without_mass,
    ce_neginf_zero_mass_model,
    ce_posinf_model,
    multilabel_infinite,
)
from ._common import (
    KERAS_LOSS_BASE,
    KERAS_LOSSES,
    KERAS_SRC,
    SIGMOID_XENT,
    SIGMOID_XENT_INF,
    SOFTMAX_XENT_OP,
    SPARSE_XENT,
    array,
    identity,
    infinite_logit_products,
    keras_float64_mean_in_float32,
    keras_rank_fix,
    keras_rank_fix_squeezes_trailing_one,
    keras_torch_float64_mean_in_float32,
    nan_items_per_sample,
    positive_infinite,
    tf_flushes_subnormal_inputs,
)

INF = np.inf
INDEX_IGNORED = {"ignore_index": -100}
PROBABILITY = {"target_kind": "probability"}
SMOOTHED = {"label_smoothing": 0.1, "reduction": "sum"}
LOGITS = [[0.5, -1.0, 2.0], [0.25, 0.0, 1.0]]  # (N, C) = (2, 3)
OUT_OF_RANGE = {"input": LOGITS, "target": [0, 3]}
FLOAT64_LOGITS = [[0.3, -1.1, 2.2], [0.7, 0.1, -0.6]]  # logits float32 cannot hold
# "Indices outside the range [0, num_classes) will be encoded as zeros"; dtype default jnp.float_
JAX_ONE_HOT = "https://github.com/jax-ml/jax/blob/jax-v0.10.2/jax/_src/nn/functions.py#L741-L777"
SPARSE_FUNCTION = "keras.losses.sparse_categorical_crossentropy"  # the adapter's second API
KERAS_JAX_NN = f"{KERAS_SRC}/backend/jax/nn.py"
KERAS_TORCH_NN = f"{KERAS_SRC}/backend/torch/nn.py"
# Keras' categorical_crossentropy from logits: log_softmax, then −Σ target·log_prob
KERAS_CATEGORICAL = f"{KERAS_JAX_NN}#L963-L986; {KERAS_TORCH_NN}#L849-L872"


def _class_axis(x: np.ndarray) -> int:
    return 1 if x.ndim >= 2 else 0


def target_rows_not_normalised(case: Case) -> bool:
    """Some probability target whose logits are not NaN does not sum to 1 over the class axis."""
    x, t = array(case, "input"), array(case, "target")
    if t.shape != x.shape:
        return False
    axis = _class_axis(t)
    # Any departure shows in the gradient (by softmax·(Σq − 1)); 1e-12 per class only absorbs
    # the float64 summation here.
    unnormalised = np.abs(np.sum(t, axis=axis) - 1.0) > 1e-12 * t.shape[axis]
    return bool(np.any(unnormalised & ~np.any(np.isnan(x), axis=axis)))  # a NaN row is NaN anyway


def class_axis_is_not_last_and_sizes_differ(case: Case) -> bool:
    x = array(case, "input")
    return x.ndim >= 3 and x.shape[1] != x.shape[-1]


def every_target_ignored(case: Case) -> bool:
    ignore = case.params.get("ignore_index")
    t = case.arrays.get("target")
    return ignore is not None and t.size > 0 and bool(np.all(t == ignore))


def class_index_not_representable(case: Case) -> bool:
    t = case.arrays["target"]
    return bool(np.any(R.round_to(t.astype(np.float64), case.dtype) != t))


def single_class_outside_2d(case: Case) -> bool:
    """C = 1 with an input that is not (N, C): Keras' rank heuristic squeezes the class axis.

    Not valid-only: it affects the error, and a rejected input of that kind fails the same way."""
    x = array(case, "input")
    return x is not None and x.ndim not in (0, 2) and x.shape[_class_axis(x)] == 1


def zero_target_at_minus_inf_logit(case: Case) -> bool:
    x, t = array(case, "input"), array(case, "target")
    return bool(np.any((x == -np.inf) & (t == 0)))


def target_has_trailing_one(case: Case) -> bool:
    """The index target is the expected shape (the input without its class axis, moved last)
    with a trailing 1 appended."""
    x, t = np.shape(case.arrays["input"]), np.shape(case.arrays["target"])
    if not x:
        return False
    expected = tuple(s for i, s in enumerate(x) if i != (1 if len(x) >= 2 else 0))
    return t == (*expected, 1)


def index_target_fits_after_broadcast(case: Case) -> bool:
    """Keras SparseCategoricalCrossentropy(ignore_class=…) masks the logits with
    ops.where(mask[..., None], logits, 0), broadcasting them to the target's shape, and reshapes the
    mask back: a target with the expected number of items that broadcasts against the expected
    shape (e.g. an extra leading 1) passes."""
    x = np.shape(case.arrays["input"])
    t = np.shape(case.arrays["target"])
    expected = tuple(s for i, s in enumerate(x) if i != (1 if len(x) >= 2 else 0))
    if int(np.prod(t)) != int(np.prod(expected)):
        return False
    try:
        np.broadcast_shapes(t, expected)
    except ValueError:
        return False
    return True


def torch_negative_index_only(case: Case) -> bool:
    """Keras' torch one_hot maps a negative index to a zero row (max(x, 0), then where(x ≥ 0))
    and raises for one ≥ C: the target's invalid indices are all negative."""
    x, t = array(case, "input"), case.arrays["target"]
    n_classes = x.shape[_class_axis(x)] if x.ndim else 0
    return bool(np.any(t < 0)) and not bool(np.any(t >= n_classes))


def torch_bce_logits_infinite(case: Case) -> bool:
    """x = −inf (any label), or +inf with label 1: torch's BCE with logits meets inf − inf or
    0·inf."""
    x, y = array(case, "input"), array(case, "target")
    return bool(np.any(np.isneginf(x) | (np.isposinf(x) & (y == 1))))


def torch_bce_logits_infinite_model(case: Case) -> Prediction:
    """NaN for each item (row of classes) holding such a logit; gradients the reference's."""
    x, y = array(case, "input"), array(case, "target")
    return nan_items_per_sample(case, np.any(np.isneginf(x) | (np.isposinf(x) & (y == 1)), -1))


def jax_bce_logits_infinite_model(case: Case) -> Prediction:
    """NaN for each item holding +inf with label 1 or −inf with label 0."""
    x, y = array(case, "input"), array(case, "target")
    absent = (np.isposinf(x) & (y == 1)) | (np.isneginf(x) & (y == 0))
    return nan_items_per_sample(case, np.any(absent, axis=-1))


def _class_last(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, 1, -1) if x.ndim >= 2 else x


def _items_with_minus_inf_off_target(case: Case) -> np.ndarray:
    """Per kept item of an index target: a −inf logit at a class other than the target, which
    the JAX backend's one-hot product meets with a 0 (ignored items' logits Keras zeroes)."""
    x = _class_last(array(case, "input"))
    t = np.asarray(case.arrays["target"])
    ignore = case.params.get("ignore_index")
    kept = np.ones(t.shape, bool) if ignore is None else t != ignore
    classes = np.arange(x.shape[-1])
    off_target = classes != np.where(kept, t, -1)[..., None]
    return kept & np.any(np.isneginf(x) & off_target, axis=-1)


def minus_inf_off_target(case: Case) -> bool:
    return bool(np.any(_items_with_minus_inf_off_target(case)))


def minus_inf_off_target_model(case: Case) -> Prediction:
    return predict_nonfinite(case, value=_items_with_minus_inf_off_target(case))


def unbatched_input(case: Case) -> bool:
    x = array(case, "input")
    return x is not None and x.ndim == 1


def one_hot_same_shape_after_rank_fix(case: Case) -> bool:
    """keras.losses.CategoricalCrossentropy(axis=class axis) on the probability target, or on
    tf.one_hot(target, C, axis=class axis) for an index target (class axis 1 of the input, 0
    for a 1-d input): Keras' rank fix makes the shapes equal, with the class axis still inside
    them."""
    x, t = np.shape(case.arrays["input"]), np.shape(case.arrays["target"])
    axis = 1 if len(x) >= 2 else 0
    if not x or axis > len(t):
        return False
    if case.params.get("target_kind", "index") == "index":
        t = (*t[:axis], x[axis], *t[axis:])
    y_true, y_pred = keras_rank_fix(t, x)
    return y_true == y_pred and axis < len(y_pred)


DIVERGENCES: list[Divergence] = [
    # --- cross_entropy
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
        example=Example({}, {"input": [[0.5, INF, -1.0], [0.25, 0.0, 1.0]], "target": [0, 2]}),
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
        model=softmax_xent_kernel_gradient,
        model_text="the logit gradient g·(softmax(x) − q) of the kernel, q the (smoothed) target",
        example=Example(PROBABILITY, {"input": [[0.5, -1.0, 2.0]], "target": [[0.25] * 3]}),
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
        # (N, C, d1) = (1, 3, 2)
        example=Example(
            SMOOTHED, {"input": [[[0.5, -1.0], [2.0, 0.25], [0.0, 1.0]]], "target": [[0, 2]]}
        ),
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
        example=Example(INDEX_IGNORED, {"input": LOGITS, "target": [-100, -100]}),
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
        # 258 classes, all logits 0 but class 257's (1): class 256's loss is larger by 1
        example=Example(
            {**INDEX_IGNORED, "reduction": "sum"},
            {"input": np.eye(1, 258, 257), "target": [257]},
            dtype="bfloat16",
        ),
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
        example=Example(INDEX_IGNORED, {"input": [0.5], "target": 0}),
    ),
    Divergence(
        id="cross_entropy/keras-sparse-single-class-crash",
        kind="known-bug",
        loss="cross_entropy",
        description=(
            "Without ignore_class too: with a single class (C = 1) Keras' rank heuristic "
            "squeeze_or_expand_to_same_rank squeezes the logits' class axis when the target has "
            "one dimension less, and sparse_categorical_crossentropy then rejects the shapes "
            "(ValueError 'Argument `output` must have rank (ndim) `target.ndim - 1`', or an "
            "IndexError for an unbatched (1,) input), where the reference returns zeros"
        ),
        citation=f"{KERAS_LOSS_BASE}#L119-L137",
        where={"target_kind": "index", "ignore_index": None, "label_smoothing": 0.0},
        inputs=single_class_outside_2d,
        inputs_text="C = 1 with an input other than (N, C)",
        affects=("error", "value"),
        example=Example({}, {"input": [0.5], "target": 0}),
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
        example=Example(PROBABILITY, {"input": [[-INF, 0.5, 1.0]], "target": [[0.0, 0.5, 0.5]]}),
    ),
    tf_flushes_subnormal_inputs(
        "cross_entropy/tf-flushes-subnormal-inputs",
        "cross_entropy",
        # the probability 1e-310 times −log p = 1e5 is the loss 1e-305; flushed, it gives 0
        Example(
            {**PROBABILITY, "reduction": "none"},
            {"input": [[-1e5, 0.0]], "target": [[1e-310, 0.0]]},
            cotangent=[1.0],
        ),
    ),
    # --- multilabel_soft_margin_loss (Keras BinaryCrossentropy from logits)
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
        inputs=infinite_logit_products(identity),
        inputs_text="a logit of +inf, or −inf with label 0",
        affects=("value",),
        example=Example({}, {"input": [[INF, 0.5]], "target": [[1.0, 0.0]]}),
    ),
    # --- the JAX and torch backends: log_softmax and the one-hot product in Keras' own code
    Divergence(
        id="cross_entropy/keras-positive-infinite-logit",
        kind="convention",
        loss="cross_entropy",
        description=(
            "On the JAX and torch backends Keras' cross-entropies take log_softmax of the logits "
            "(jax.nn.log_softmax, torch's log_softmax or F.cross_entropy), which subtracts the "
            "row maximum: a +inf logit makes every entry of its row inf − inf = NaN, so the item's "
            "loss is NaN where the reference's is +inf (a finite target logit) and its whole "
            "gradient row is NaN"
        ),
        citation=(
            f"{KERAS_JAX_NN}#L981, #L1008; {KERAS_TORCH_NN}#L867, #L912; "
            "https://github.com/pytorch/pytorch/issues/6864"
        ),
        inputs=any_posinf_logit,
        inputs_text="some logit +inf",
        model=ce_posinf_model,
        model_text="NaN for each kept item holding a +inf logit, and NaN gradients over every "
        "class of each such item",
        example=Example({}, {"input": [[0.5, INF, -1.0], [0.25, 0.0, 1.0]], "target": [0, 2]}),
    ),
    Divergence(
        id="cross_entropy/keras-zero-target-at-minus-inf-logit",
        kind="convention",
        loss="cross_entropy",
        description=(
            "On the JAX and torch backends keras.losses.categorical_crossentropy computes "
            "−Σ target·log_softmax(logits) literally: a zero probability target at a −inf logit "
            "gives 0·(−inf) = NaN, where the reference drops the absent term (logits [−inf, 0.5, "
            "1], target [0, ½, ½]: NaN, reference 0.7240)"
        ),
        citation=KERAS_CATEGORICAL,
        where={"target_kind": "probability", "label_smoothing": 0.0},
        inputs=ce_neginf_logit_without_mass,
        inputs_text="a zero probability target where the logit is −inf",
        affects=("value",),
        model=ce_neginf_zero_mass_model,
        model_text="the reference's value with NaN at each item where a −inf logit meets a zero "
        "target",
        example=Example(PROBABILITY, {"input": [[-INF, 0.5, 1.0]], "target": [[0.0, 0.5, 0.5]]}),
    ),
    Divergence(
        id="cross_entropy/keras-jax-one-hot-times-minus-inf",
        kind="known-bug",
        loss="cross_entropy",
        description=(
            "On the JAX backend keras.losses.sparse_categorical_crossentropy computes "
            "−Σ one_hot(target)·log_softmax(logits): a −inf logit at a class other than the "
            "target gives 0·(−inf) = NaN, so the item's loss is NaN where the reference's is "
            "finite (or +inf at a −inf target logit too); under jax.jit XLA turns the product "
            "into a selection and the loss is right. Gradients are unaffected"
        ),
        citation=f"{KERAS_JAX_NN}#L1008-L1014",
        where={"target_kind": "index", "label_smoothing": 0.0},
        modes=("eager",),
        inputs=minus_inf_off_target,
        inputs_text="an item whose −inf logit is not at its target class",
        affects=("value",),
        model=minus_inf_off_target_model,
        model_text="the reference's value with NaN at each kept item holding a −inf logit off "
        "its target class",
        example=Example({}, {"input": [[-INF, 0.5, 1.0], [0.25, 0.0, 1.0]], "target": [2, 0]}),
    ),
    Divergence(
        id="cross_entropy/keras-jax-x64-one-hot-float64",
        kind="known-bug",
        loss="cross_entropy",
        description=(
            "On the JAX backend sparse_categorical_crossentropy builds jax.nn.one_hot(target, C) "
            "in its default dtype, jnp.float_: float64 under jax_enable_x64 (which float64 "
            "needs), so −Σ one_hot·log_softmax is promoted and the loss function returns float64 "
            "for float32, float16 and bfloat16 logits (the class SparseCategoricalCrossentropy "
            "converts its result back to the loss dtype); the value is the dtype's own "
            "log-softmax, widened exactly"
        ),
        citation=f"{KERAS_JAX_NN}#L1013-L1014; {JAX_ONE_HOT}",
        where={"target_kind": "index", "label_smoothing": 0.0},
        dtypes=("float32", "float16", "bfloat16"),
        # the value comes back float64; with reduction none jax.vjp then refuses the cotangent of
        # the case's dtype, so there are no gradients to compare
        affects=("dtype",),
        example=Example(
            {"reduction": "sum"},
            {"input": [[0.5, -1.0, 2.0]], "target": [2]},
            dtype="float32",
            api=SPARSE_FUNCTION,
        ),
    ),
    Divergence(
        id="cross_entropy/keras-torch-unbatched-ignore-class-float32",
        kind="known-bug",
        loss="cross_entropy",
        description=(
            "keras.losses.sparse_categorical_crossentropy(…, ignore_class=…) zeroes the ignored "
            "items with ops.where(valid_mask, res, 0.0); on the torch backend 0.0 becomes a "
            "float32 tensor, and for an unbatched (C,) input res is 0-d too, so torch.where "
            "promotes two 0-d tensors: a float16 or bfloat16 loss comes back float32 (the class "
            "SparseCategoricalCrossentropy converts it back to the loss dtype)"
        ),
        citation=(
            f"{KERAS_LOSSES}#L2368; {KERAS_SRC}/backend/torch/numpy.py#L2118-L2126; "
            "https://pytorch.org/docs/2.13/tensor_attributes.html#type-promotion-doc"
        ),
        where={"target_kind": "index", "ignore_index": -100, "label_smoothing": 0.0},
        dtypes=("float16", "bfloat16"),
        inputs=unbatched_input,
        inputs_text="an unbatched (C,) input (the loss function, not the class)",
        affects=("dtype",),
        example=Example(
            {**INDEX_IGNORED, "reduction": "sum"},
            {"input": [0.5, -1.0, 2.0], "target": 0},
            dtype="float16",
            api=SPARSE_FUNCTION,
        ),
    ),
    Divergence(
        id="multilabel_soft_margin_loss/keras-jax-infinite-logit",
        kind="known-bug",
        loss="multilabel_soft_margin_loss",
        description=(
            "On the JAX backend keras.losses.binary_crossentropy(from_logits=True) computes "
            "−y·log_sigmoid(x) − (1 − y)·log_sigmoid(−x) literally: x = +inf with label 1 (or −inf "
            "with label 0) gives 0·(−inf) = NaN for the absent term, so the item's loss is NaN "
            "where the reference's is finite; gradients agree"
        ),
        citation=f"{KERAS_JAX_NN}#L1028-L1031",
        where={"weight": False},
        inputs=multilabel_infinite,
        inputs_text="a logit +inf with label 1, or −inf with label 0",
        affects=("value",),
        model=jax_bce_logits_infinite_model,
        model_text="the reference's value with NaN at each item holding a logit +inf with label "
        "1 or −inf with label 0 (float64: the other items within float32's bound)",
        example=Example({}, {"input": [[INF, 0.5]], "target": [[1.0, 0.0]]}),
    ),
    Divergence(
        id="multilabel_soft_margin_loss/keras-torch-infinite-logit",
        kind="known-bug",
        loss="multilabel_soft_margin_loss",
        description=(
            "On the torch backend keras.losses.binary_crossentropy(from_logits=True) is "
            "F.binary_cross_entropy_with_logits, which evaluates (1 − y)·x − log σ(x) literally: "
            "a −inf logit gives −inf + inf = NaN whatever the label, and +inf with label 1 gives "
            "0·inf = NaN, where the reference's loss is finite or +inf; gradients agree"
        ),
        citation=(
            f"{KERAS_TORCH_NN}#L950-L953; https://github.com/pytorch/pytorch/blob/v2.13.0/"
            "aten/src/ATen/native/Loss.cpp"
        ),
        where={"weight": False},
        inputs=torch_bce_logits_infinite,
        inputs_text="some logit −inf, or +inf with label 1",
        affects=("value",),
        model=torch_bce_logits_infinite_model,
        model_text="the reference's value with NaN at each item holding a logit −inf, or +inf "
        "with label 1 (float64: the other items within float32's bound)",
        example=Example({}, {"input": [[-INF, 0.5]], "target": [[1.0, 0.0]]}),
    ),
    # --- float64 on the JAX and torch backends
    keras_torch_float64_mean_in_float32(
        "cross_entropy/keras-torch-float64-mean-in-float32",
        "cross_entropy",
        Example({}, {"input": FLOAT64_LOGITS, "target": [0, 2]}),
    ),
    keras_float64_mean_in_float32(
        "multilabel_soft_margin_loss/keras-float64-mean-in-float32",
        "multilabel_soft_margin_loss",
        Example({}, {"input": FLOAT64_LOGITS, "target": [[1.0, 0.0, 0.5], [0.9, 0.0, 1.0]]}),
        where={"weight": False},
    ),
]

ACCEPTS: list[Accepts] = [
    Accepts(
        id="cross_entropy/keras-sparse-squeezes-trailing-one",
        loss="cross_entropy",
        argument="shapes",
        description=(
            "keras.losses.sparse_categorical_crossentropy squeezes a trailing dimension of 1 "
            "from a target of the logits' rank (class axis last): an index target (N, 1) against "
            "logits (N, C) is taken as (N,), where the reference rejects the shapes"
        ),
        citation=f"{KERAS_LOSSES}#L2344-L2345",
        accepts=target_has_trailing_one,
        accepts_text="the target is the expected index shape with a trailing 1",
        where={"target_kind": "index", "label_smoothing": 0.0},
        example=Example({}, {"input": [[0.5, -1.0, 2.0], [0.25, 0.0, 1.0]], "target": [[0], [2]]}),
    ),
    # --- cross_entropy
    Accepts(
        id="cross_entropy/xla-sparse-xent-out-of-range-nan",
        kind="known-bug",
        loss="cross_entropy",
        argument="target",
        description=(
            "Under tf.function(jit_compile=True) tf.nn.sparse_softmax_cross_entropy_with_logits "
            "(and Keras SparseCategoricalCrossentropy) returns NaN for a class index outside "
            "[0, C) instead of raising, as eager mode on CPU does"
        ),
        citation="https://github.com/tensorflow/tensorflow/issues/126005",
        where={"target_kind": "index", "label_smoothing": 0.0},
        modes=("jit",),
        example=Example({}, OUT_OF_RANGE, mode="jit"),
    ),
    Accepts(
        id="cross_entropy/one-hot-out-of-range-zero-row",
        loss="cross_entropy",
        argument="target",
        description=(
            "Label smoothing needs one-hot targets (keras.ops.one_hot: tf.one_hot on the "
            "TensorFlow backend, jax.nn.one_hot on JAX), which maps an index outside [0, C) to "
            "an all-zero row without raising; the smoothed loss of that row is then computed "
            "from ε/C alone"
        ),
        citation=f"https://TensorFlow.org/api_docs/python/tf/raw_ops/OneHot; {JAX_ONE_HOT}",
        where={"target_kind": "index", "label_smoothing": 0.1},
        example=Example(SMOOTHED, OUT_OF_RANGE),
    ),
    Accepts(
        id="cross_entropy/tf-no-probability-target-check",
        loss="cross_entropy",
        argument="target",
        description=(
            "tf.nn.softmax_cross_entropy_with_logits and Keras CategoricalCrossentropy do not "
            "check that probability targets lie in [0, 1]: any real target is used as it is"
        ),
        citation=SOFTMAX_XENT_OP,
        where={"target_kind": "probability"},
        example=Example(PROBABILITY, {"input": [[0.5, -1.0, 2.0]], "target": [[1.5, 0.0, 0.0]]}),
    ),
    Accepts(
        id="cross_entropy/broadcasts-mismatched-shapes-ignore-class",
        loss="cross_entropy",
        argument="shapes",
        description=(
            "Keras SparseCategoricalCrossentropy(ignore_class=…) broadcasts the logits against an "
            "index target with the expected item count (NumPy's rules) instead of rejecting "
            "shapes no layout allows: a number comes back where the reference raises"
        ),
        citation=f"{KERAS_LOSSES}#L2307-L2373",
        accepts=index_target_fits_after_broadcast,
        accepts_text="an index target with the expected item count broadcasts against the "
        "expected shape",
        where={"target_kind": "index", "ignore_index": -100},
        example=Example(INDEX_IGNORED, {"input": LOGITS, "target": [[0, 2]]}),
    ),
    keras_rank_fix_squeezes_trailing_one(
        "cross_entropy/keras-rank-fix-squeezes-trailing-one",
        "cross_entropy",
        function="CategoricalCrossentropy",
        shown_by=(
            "input [[2, 0, 0], [0, 1, 0]] (2, 3) with index target [[0], [1]] (2, 1) — one-hot "
            "(2, 3, 1) — or input (2, 3, 1) with target [0, 1], label_smoothing 0.1, reduction "
            "sum, gives 0.99099, the reference's loss for target [0, 1] and the (2, 3) input"
        ),
        accepts=one_hot_same_shape_after_rank_fix,
        shapes="the input or the (one-hot) target",
        where={"label_smoothing": 0.1},
        example=Example(
            SMOOTHED, {"input": [[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]], "target": [[0], [1]]}
        ),
    ),
    Accepts(
        id="cross_entropy/keras-no-probability-target-check",
        loss="cross_entropy",
        argument="target",
        description=(
            "On the JAX and torch backends Keras CategoricalCrossentropy does not check that "
            "probability targets lie in [0, 1]: −Σ target·log_softmax(logits) is evaluated for "
            "any real target"
        ),
        citation=KERAS_CATEGORICAL,
        where={"target_kind": "probability"},
        example=Example(PROBABILITY, {"input": [[0.5, -1.0, 2.0]], "target": [[1.5, 0.0, 0.0]]}),
    ),
    Accepts(
        id="cross_entropy/keras-jax-one-hot-out-of-range-zero-row",
        loss="cross_entropy",
        argument="target",
        description=(
            "On the JAX backend sparse_categorical_crossentropy gathers the target's "
            "log-probability with jax.nn.one_hot, which encodes an index outside [0, C) as an "
            "all-zero row without raising: that item's loss is 0 where the reference rejects "
            "the target"
        ),
        citation=f"{KERAS_JAX_NN}#L1013-L1014; {JAX_ONE_HOT}",
        where={"target_kind": "index", "label_smoothing": 0.0},
        example=Example({}, OUT_OF_RANGE),
    ),
    Accepts(
        id="cross_entropy/keras-torch-one-hot-negative-zero-row",
        loss="cross_entropy",
        argument="target",
        description=(
            "Label smoothing needs one-hot targets; Keras' torch one_hot maps a negative index to "
            "an all-zero row (F.one_hot of max(x, 0), then where(x ≥ 0, …, 0)) without raising, "
            "so the smoothed loss of that row is computed from ε/C alone (an index ≥ C raises in "
            "F.one_hot)"
        ),
        citation=f"{KERAS_TORCH_NN}#L811-L834",
        where={"target_kind": "index", "label_smoothing": 0.1},
        accepts=torch_negative_index_only,
        accepts_text="the invalid class indices are negative (none ≥ C)",
        example=Example(SMOOTHED, {"input": LOGITS, "target": [0, -1]}),
    ),
    # --- multilabel_soft_margin_loss
    Accepts(
        id="multilabel_soft_margin_loss/keras-no-label-check",
        loss="multilabel_soft_margin_loss",
        argument="target",
        description=(
            "keras.losses.BinaryCrossentropy(from_logits=True) does not check that labels lie in "
            "[0, 1]: tf.nn.sigmoid_cross_entropy_with_logits evaluates the formula for any label"
        ),
        citation=SIGMOID_XENT,
        where={"weight": False},
        example=Example({}, {"input": [[0.5, -1.0]], "target": [[-0.5, 1.0]]}),
    ),
]


# Entries that hold on some backends only (the others: every backend).
BACKENDS: dict[str, tuple[str, ...]] = {
    "cross_entropy/tf-positive-infinite-logit": ("tensorflow",),
    "cross_entropy/tf-softmax-xent-grad-assumes-normalised-target": ("tensorflow",),
    "cross_entropy/tf-softmax-xent-zero-target-at-minus-inf": ("tensorflow",),
    "cross_entropy/tf-flushes-subnormal-inputs": ("tensorflow",),
    "multilabel_soft_margin_loss/tf-nn-infinite-logit": ("tensorflow",),
    "cross_entropy/xla-sparse-xent-out-of-range-nan": ("tensorflow",),
    "cross_entropy/tf-no-probability-target-check": ("tensorflow",),
    "cross_entropy/keras-torch-float64-mean-in-float32": ("torch",),
    "cross_entropy/keras-positive-infinite-logit": ("jax", "torch"),
    "cross_entropy/keras-zero-target-at-minus-inf-logit": ("jax", "torch"),
    "cross_entropy/keras-torch-unbatched-ignore-class-float32": ("torch",),
    "cross_entropy/keras-no-probability-target-check": ("jax", "torch"),
    "cross_entropy/keras-torch-one-hot-negative-zero-row": ("torch",),
    "cross_entropy/keras-jax-one-hot-times-minus-inf": ("jax",),
    "cross_entropy/keras-jax-x64-one-hot-float64": ("jax",),
    "cross_entropy/keras-jax-one-hot-out-of-range-zero-row": ("jax",),
    "multilabel_soft_margin_loss/keras-jax-infinite-logit": ("jax",),
    "multilabel_soft_margin_loss/keras-torch-infinite-logit": ("torch",),
    # torch's F.one_hot, behind Keras' torch backend, raises for an index outside [0, C)
    "cross_entropy/one-hot-out-of-range-zero-row": ("tensorflow", "jax"),
    "multilabel_soft_margin_loss/keras-float64-mean-in-float32": ("jax", "torch"),
}
