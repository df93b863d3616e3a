"""TensorFlow against the reference: sequence losses (ctc_loss, as tf.nn.ctc_loss on dense labels:
ctc_loss_dense in tensorflow/python/ops/ctc_ops.py at v2.21.0)."""

from __future__ import annotations

import math

import numpy as np

import reference as R
from reference import Case

from ...base import Accepts, Divergence, Example
from ..ctc import CTC_EXAMPLE, item_without_alignment, items, minus_inf_in_an_item

CTC_OPS = "https://github.com/tensorflow/tensorflow/blob/v2.21.0/tensorflow/python/ops/ctc_ops.py"


def finite_item_moved_by_log_softmax(case: Case) -> bool:
    """A finite item with a step t < T_n that log_softmax visibly changes: its probabilities do
    not sum to 1 by more than rounding to the dtype explains (the value moves), or some
    log-probability is above −40 (the gradient gains exp(x), no smaller than 4e-18 of its terms
    of size 1)."""
    eps = R.FORMATS[case.dtype].eps
    for _, steps, loss in items(case):
        if not (np.isfinite(loss) and steps.size):
            continue
        if np.max(steps) > -40.0:
            return True
        if np.any(np.abs(np.logaddexp.reduce(steps, axis=-1)) > 16 * eps):
            return True
    return False


def one_length_per_item(name: str):
    """The lengths array has the shape (N,) the op expects (a wrong shape raises in TensorFlow)."""

    def pred(case: Case) -> bool:
        a = case.rounded()
        return a[name].shape == (a["input"].shape[1],)

    return pred


DIVERGENCES: list[Divergence] = [
    Divergence(
        id="ctc_loss/tf-float64-raises",
        kind="known-bug",
        loss="ctc_loss",
        description=(
            "float64 logits raise InvalidArgumentError 'cannot compute Mul as input #1 was "
            "expected to be a double tensor but is a float tensor': _ilabel_to_state multiplies "
            "the log-probabilities by array_ops.one_hot(labels, depth=num_labels), float32 by "
            "default (float16 and bfloat16 are cast to float32 first and run)"
        ),
        citation=f"{CTC_OPS}#L605-L608",
        dtypes=("float64",),
        affects=("error",),
        example=Example({"reduction": "none"}, CTC_EXAMPLE, cotangent=[1.0], dtype="float64"),
    ),
    Divergence(
        id="ctc_loss/tf-minus-inf-gives-nan",
        kind="known-bug",
        loss="ctc_loss",
        description=(
            "the emission log-probabilities are gathered by a product with a one-hot, "
            "reduce_sum(ilabel_log_probs * one_hot): a −inf log-probability anywhere in an item "
            "(any class, padded steps included) meets a 0 of the one-hot, −inf·0 = NaN, and the "
            "item's loss and gradient are NaN (T = 2, target (1), p = (½, ½, 0) at both steps: "
            "reference 2 log 4/3 … finite, TensorFlow NaN)"
        ),
        citation=f"{CTC_OPS}#L605-L608",
        inputs=minus_inf_in_an_item,
        inputs_text="a −inf log-probability anywhere in an item's input",
        example=Example(
            {"reduction": "none"},
            {**CTC_EXAMPLE, "input": [[[math.log(0.5), math.log(0.5), -math.inf]]] * 2},
            cotangent=[1.0],
            dtype="float32",
        ),
    ),
    Divergence(
        id="ctc_loss/tf-log-1e-307-for-log-zero",
        kind="convention",
        loss="ctc_loss",
        description=(
            "log 0 of the initial and final states is log_0 = log(1e-307) ≈ −706.9 (cast to "
            "float32), so an item that no alignment fits (input too short for its labels and "
            "their repeats, or an empty input with labels) costs about 707, finite, with a "
            "finite gradient, where its loss is +inf and its gradient NaN (T = 2, target (1, 1): "
            "707.47)"
        ),
        citation=f"{CTC_OPS}#L577-L578",
        inputs=item_without_alignment,
        inputs_text="an item with no alignment (reference loss +inf)",
        example=Example(
            {"reduction": "none"},
            {**CTC_EXAMPLE, "targets": [[1, 1]], "target_lengths": [2]},
            cotangent=[1.0],
            dtype="float32",
        ),
    ),
    Divergence(
        id="ctc_loss/tf-logits-through-log-softmax",
        kind="convention",
        loss="ctc_loss",
        description=(
            "tf.nn.ctc_loss takes logits and applies nn_ops.log_softmax to them ('This class "
            "performs the softmax operation for you'): log-probabilities whose probabilities do "
            "not sum to 1 at a step are renormalised, and the gradient, computed as "
            "exp(log_softmax(x)) − γ, is the one with respect to the logits: softmax(x) − γ for "
            "t < T_n, not ∂ℓ/∂log p = −γ (T = 2, target (1), p = (½, ¼, ¼): [[0.1, −0.35, "
            "0.25], …] against [[−0.4, −0.6, 0], …]); the same numbers as torch's and optax's"
        ),
        citation=f"{CTC_OPS}#L705-L723",
        inputs=finite_item_moved_by_log_softmax,
        inputs_text="an item with a finite loss and some log-probability above −40 at t < T_n",
        example=Example({"reduction": "none"}, CTC_EXAMPLE, cotangent=[1.0], dtype="float32"),
    ),
]

ACCEPTS: list[Accepts] = [
    Accepts(
        id="ctc_loss/tf-labels-unchecked",
        kind="known-bug",
        loss="ctc_loss",
        argument="targets",
        description=(
            "labels are not checked: they are read through array_ops.one_hot(labels, "
            "depth=num_labels), which gives a row of zeros for a label outside [0, K) (the "
            "emission log-probability becomes 0, probability 1), and a label equal to the blank "
            "is read as the blank's class"
        ),
        citation=f"{CTC_OPS}#L599-L611",
        example=Example(
            {"reduction": "none"},
            {**CTC_EXAMPLE, "targets": [[3]]},
            cotangent=[1.0],
            dtype="float32",
        ),
    ),
    Accepts(
        id="ctc_loss/tf-input-lengths-unchecked",
        kind="known-bug",
        loss="ctc_loss",
        argument="input_lengths",
        description=(
            "logit_length is not checked against the number of frames: it becomes the mask "
            "array_ops.sequence_mask(sequence_length, maxlen), all ones for a length above T and "
            "all zeros for a negative one (loss −0 for an item of length −1)"
        ),
        citation=f"{CTC_OPS}#L1401",
        accepts=one_length_per_item("input_lengths"),
        accepts_text="one input length per item (another shape raises)",
        example=Example(
            {"reduction": "none"},
            {**CTC_EXAMPLE, "input_lengths": [-1]},
            cotangent=[1.0],
            dtype="float32",
        ),
    ),
    Accepts(
        id="ctc_loss/tf-target-lengths-unchecked",
        kind="known-bug",
        loss="ctc_loss",
        argument="target_lengths",
        description=(
            "label_length is not checked: the final states are "
            "array_ops.one_hot(seq_lengths, depth=max_label_length + 1), a row of zeros for a "
            "length above S or below 0, so no final state is favoured and the item costs about "
            "log_0 = 706.9 more"
        ),
        citation=f"{CTC_OPS}#L587-L592",
        accepts=one_length_per_item("target_lengths"),
        accepts_text="one target length per item (another shape raises)",
        example=Example(
            {"reduction": "none"},
            {**CTC_EXAMPLE, "target_lengths": [-1]},
            cotangent=[1.0],
            dtype="float32",
        ),
    ),
]
