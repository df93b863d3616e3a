"""TensorFlow/Keras against the reference: classification losses (cross_entropy,
multilabel_soft_margin_loss; nll_loss and multi_margin_loss are not offered).

cross_entropy runs tf.nn's softmax cross-entropy kernels or Keras' Categorical /
SparseCategoricalCrossentropy, depending on the configuration.
"""

from __future__ import annotations

import numpy as np

import reference as R
from reference import Case
from reference._math import log_softmax
from reference.contract import Prediction, predict
from reference.terms import TermScale

from ...base import Accepts, Divergence, Example
from ._common import (
    SOFTMAX_XENT_OP,
    SPARSE_XENT,
    array,
    positive_infinite,
    tf_flushes_subnormal_inputs,
)

INF = np.inf
PROBABILITY = {"target_kind": "probability"}
LOGITS = [[0.5, -1.0, 2.0], [0.25, 0.0, 1.0]]  # (N, C) = (2, 3)
OUT_OF_RANGE = {"input": LOGITS, "target": [0, 3]}


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


def softmax_xent_kernel_gradient(case: Case) -> Prediction:
    """The kernel's logit gradient g·(softmax(x) − q), q the (smoothed) target: the reference's
    g·(softmax(x)·Σq − q) less g·softmax(x)·(Σq − 1). Value and target gradient: the
    reference's."""
    spec = R.get("cross_entropy")
    ts = spec.term_scale

    def excess(a, p, magnitude=False):
        """softmax(x)·(Σq − 1), or its terms' size softmax·|Σq − 1|·(1 + |z| + L) (the relative
        error of e^z at z = x − max x, L = log Σ e^z, as the reference's term scale counts it)."""
        axis = _class_axis(a["input"])
        eps = p["label_smoothing"]
        mass = (1.0 - eps) * np.sum(a["target"], axis=axis, keepdims=True) + eps
        logp = np.moveaxis(log_softmax(np.moveaxis(a["input"], axis, -1)), -1, axis)
        if not magnitude:
            return np.exp(logp) * (mass - 1.0)
        x = a["input"]
        z = x - np.max(x, axis=axis, keepdims=True)
        lse = z - logp
        return np.exp(logp) * np.abs(mass - 1.0) * (1.0 + np.abs(z) + np.abs(lse))

    def vjp(a, p, g):
        grads = spec.elementwise_vjp(a, p, g)
        g = np.expand_dims(g, _class_axis(a["input"]))
        return {**grads, "input": grads["input"] - g * excess(a, p)}

    def grad_terms(a, p, c):
        grads = ts.grads(a, p, c)
        c = np.expand_dims(c, _class_axis(a["input"]))
        return {**grads, "input": grads["input"] + c * excess(a, p, magnitude=True)}

    return predict(
        case,
        elementwise_vjp=vjp,
        term_scale=TermScale(ts.value, grad_terms, ts.grad_floor),
    )


def zero_target_at_minus_inf_logit(case: Case) -> bool:
    x, t = array(case, "input"), array(case, "target")
    return bool(np.any((x == -np.inf) & (t == 0)))


def target_broadcasts_to_input(case: Case) -> bool:
    """softmax_cross_entropy_with_logits broadcasts labels of the logits' rank to their shape."""
    x, t = np.shape(case.arrays["input"]), np.shape(case.arrays["target"])
    if len(t) != len(x):
        return False
    try:
        return np.broadcast_shapes(t, x) == x
    except ValueError:
        return False


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
]

ACCEPTS: list[Accepts] = [
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
        id="cross_entropy/broadcasts-mismatched-shapes",
        loss="cross_entropy",
        argument="shapes",
        description=(
            "TensorFlow broadcasts a probability target of the input's rank against the input "
            "(NumPy's rules) instead of rejecting shapes no layout allows: a number comes back "
            "where the reference raises"
        ),
        citation=SOFTMAX_XENT_OP,
        accepts=target_broadcasts_to_input,
        accepts_text="a probability target of the input's rank broadcasts against the input",
        where={"target_kind": "probability", "label_smoothing": 0.0},
        example=Example(PROBABILITY, {"input": LOGITS, "target": [[0.25, 0.25, 0.5]]}),
    ),
    # --- multilabel_soft_margin_loss
]
