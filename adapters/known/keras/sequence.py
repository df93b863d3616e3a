"""Keras against the reference on the sequence losses: keras.losses.CTC / keras.losses.ctc.

``ctc`` (keras/src/losses/losses.py:2526-2560 at 3.15.1) calls ops.ctc_loss with every item's
input length set to y_pred's full time axis, and each backend takes y_pred as logits: the JAX
backend applies jax.nn.log_softmax and runs optax's recursion (backend/jax/nn.py:1093-1198), the
torch backend applies log_softmax and calls torch's ctc_loss (backend/torch/nn.py:1034-1054), the
TensorFlow backend calls tf.nn.ctc_loss on the logits (backend/tensorflow/nn.py:1574-1594, which
normalises them itself). All three compute in result_type(dtype, float32): float32 for float16,
bfloat16 and, on every backend, float64.

The model of the whole computation, :func:`keras_ctc`, is the reference evaluated on
log_softmax(input) with every input length T, its gradient taken through that log_softmax, in
float32: the entries below differ in the inputs they describe, not in what they predict.
"""

from __future__ import annotations

import math

import numpy as np

import reference as R
from reference import Case
from reference.contract import Prediction, predict
from reference.terms import TermScale

from ...base import Accepts, Divergence, Example
from ..ctc import CTC_EXAMPLE
from ._common import KERAS_BIT64_TO_BIT32, KERAS_LOSSES, KERAS_SRC, float32_term_scale

LOSS = "ctc_loss"
CTC_SOURCE = f"{KERAS_LOSSES}#L2526-L2560"
JAX_CTC = f"{KERAS_SRC}/backend/jax/nn.py#L1093-L1198"
TORCH_CTC = f"{KERAS_SRC}/backend/torch/nn.py#L1034-L1054"
TF_CTC = f"{KERAS_SRC}/backend/tensorflow/nn.py#L1574-L1594"


def _log_softmax(x: np.ndarray) -> np.ndarray:
    top = np.max(x, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return x - (top + np.log(np.sum(np.exp(x - top), axis=-1, keepdims=True)))


def as_keras_reads(a):
    """The reference's arguments as Keras' ctc uses them: log_softmax of the input, and the full
    time axis T as every item's input length."""
    x = a["input"]
    lengths = np.full_like(a["input_lengths"], x.shape[0])
    return {**a, "input": _log_softmax(x), "input_lengths": lengths}


def keras_ctc(case: Case) -> Prediction:
    """The reference on :func:`as_keras_reads`'s arguments, its gradient with respect to the
    input taken through the log_softmax (g − softmax(x)·Σ_k g), held to float32's error bound."""
    spec = R.get(LOSS)

    def elementwise(a, p):
        return spec.elementwise(as_keras_reads(a), p)

    def vjp(a, p, g):
        grads = spec.elementwise_vjp(as_keras_reads(a), p, g)
        lp = as_keras_reads(a)["input"]
        d = grads["input"]
        return {**grads, "input": d - np.exp(lp) * np.sum(d, axis=-1, keepdims=True)}

    ts = spec.term_scale
    terms = TermScale(
        lambda a, p, loss: ts.value(as_keras_reads(a), p, loss),
        lambda a, p, c: ts.grads(as_keras_reads(a), p, c),
    )
    return predict(
        case,
        elementwise=elementwise,
        elementwise_vjp=vjp,
        term_scale=float32_term_scale(terms) if case.dtype != "float32" else terms,
    )


# --- input predicates -------------------------------------------------------------------------------


def _arrays(case: Case):
    return case.rounded()


def input_shorter_than_t(case: Case) -> bool:
    a = _arrays(case)
    return bool(np.any(a["input_lengths"] < a["input"].shape[0]))


def unnormalised_step(case: Case) -> bool:
    """A step whose probabilities do not sum to 1 by more than rounding to the dtype explains."""
    x = _arrays(case)["input"]
    eps = R.FORMATS[case.dtype].eps
    with np.errstate(all="ignore"):
        lse = np.logaddexp.reduce(x, axis=-1)
    return bool(np.any(~np.isfinite(lse) | (np.abs(lse) > 16 * eps)))


def softmax_term_visible(case: Case) -> bool:
    # exp(lp) of a log-probability below −40 is < 4e-18 of the gradient's terms of size 1
    return bool(np.any(_arrays(case)["input"] > -40.0))


def float64_in_float32(case: Case) -> bool:
    return case.dtype == "float64"


def minus_inf_input(case: Case) -> bool:
    return bool(np.any(_arrays(case)["input"] == -math.inf))


def input_lengths_shape_differs(case: Case) -> bool:
    a = _arrays(case)
    return a["input_lengths"].shape != (a["input"].shape[1],)


def item_without_alignment_over_t(case: Case) -> bool:
    """An item no alignment of all T steps fits (Keras' model value +inf)."""
    spec = R.get(LOSS)
    params = {**spec.defaults(), **case.params}
    with np.errstate(all="ignore"):
        loss = spec.elementwise(as_keras_reads(_arrays(case)), params).loss
    return bool(np.any(np.asarray(loss) == math.inf))


def tf_loss_near_log_zero(case: Case) -> bool:
    """An item whose loss over all T steps exceeds 600 (its probability within e^−100 of the
    TensorFlow kernel's log 0, log 1e-307 ≈ −706.9), or that no alignment fits."""
    spec = R.get(LOSS)
    params = {**spec.defaults(), **case.params}
    with np.errstate(all="ignore"):
        loss = spec.elementwise(as_keras_reads(_arrays(case)), params).loss
    return bool(np.any(np.asarray(loss) > 600.0))


MODEL_TEXT = (
    "the reference on log_softmax(input) with every input length T, the gradient through that "
    "log_softmax, in float32"
)

DIVERGENCES: list[Divergence] = [
    Divergence(
        id=f"{LOSS}/keras-full-input-length",
        kind="convention",
        loss=LOSS,
        description=(
            "keras.losses.ctc takes no input lengths: it passes input_length = y_pred.shape[1] "
            "for every item, so an item with T_n < T is scored over all T steps, the padding "
            "steps included (T = 2, T_0 = 1, target (1), p = (½, ¼, ¼): reference −log ¼ = "
            "1.386, Keras −log(2·⅛ + ¼·¼) = 1.163)"
        ),
        citation=f"{CTC_SOURCE} (input_length = input_length * ops.ones((batch_length,)))",
        inputs=input_shorter_than_t,
        inputs_text="an item with input_lengths[n] < T",
        example=Example({"reduction": "sum"}, {**CTC_EXAMPLE, "input_lengths": [1]}),
        model=keras_ctc,
        model_text=MODEL_TEXT,
    ),
    Divergence(
        id=f"{LOSS}/keras-logits-renormalised",
        kind="convention",
        loss=LOSS,
        description=(
            "Keras' ctc takes logits ('should *not* be normalized via softmax') and normalises "
            "them (log_softmax on the JAX and torch backends, inside tf.nn.ctc_loss on "
            "TensorFlow): log-probabilities whose probabilities do not sum to 1 at a step are "
            "renormalised (x = log ½ at every class of 3: each step adds log 3/2)"
        ),
        citation=f"{CTC_SOURCE}; {JAX_CTC}; {TORCH_CTC}; {TF_CTC}",
        inputs=unnormalised_step,
        inputs_text="a step whose probabilities do not sum to 1 (beyond rounding)",
        example=Example(
            {"reduction": "sum"}, {**CTC_EXAMPLE, "input": [[[math.log(0.5)] * 3]] * 2}
        ),
        model=keras_ctc,
        model_text=MODEL_TEXT,
    ),
    Divergence(
        id=f"{LOSS}/keras-grad-through-log-softmax",
        kind="convention",
        loss=LOSS,
        description=(
            "the gradient is taken through that normalisation: softmax(x) − γ, not ∂ℓ/∂log p "
            "= −γ (T = 2, target (1), p = (½, ¼, ¼): [[0.1, −0.35, 0.25], …] against "
            "[[−0.4, −0.6, 0], …]), at every step t < T"
        ),
        citation=f"{JAX_CTC}; {TORCH_CTC}; {TF_CTC}",
        inputs=softmax_term_visible,
        inputs_text="some log-probability above −40",
        affects=("grad",),
        example=Example({"reduction": "sum"}, CTC_EXAMPLE),
        model=keras_ctc,
        model_text=MODEL_TEXT,
    ),
    Divergence(
        id=f"{LOSS}/keras-float64-in-float32",
        kind="known-bug",
        loss=LOSS,
        description=(
            "every backend computes the loss in result_type(dtype, 'float32'), which is float32 "
            "for float64 on the JAX and torch backends (Keras forces 64-bit result types to 32 "
            "bits there) and explicitly float32 on TensorFlow (tf.nn.ctc_loss raises on float64): "
            "a float64 case has float32's error"
        ),
        citation=f"{JAX_CTC}; {TORCH_CTC}; {TF_CTC}; {KERAS_BIT64_TO_BIT32}",
        dtypes=("float64",),
        example=Example({"reduction": "sum"}, CTC_EXAMPLE),
        model=keras_ctc,
        model_text=MODEL_TEXT,
    ),
    Divergence(
        id=f"{LOSS}/keras-minus-inf-gives-nan",
        kind="known-bug",
        loss=LOSS,
        description=(
            "a −inf logit makes the item NaN: the JAX backend gathers emissions by a one-hot "
            "einsum (−inf·0 = NaN), and tf.nn.ctc_loss on the TensorFlow backend returns NaN "
            "likewise (T = 2, target (1), p = (½, ½, 0): reference −log ¾ ≈ 0.288, Keras NaN)"
        ),
        citation=f"{JAX_CTC}; {TF_CTC}",
        inputs=minus_inf_input,
        inputs_text="a −inf log-probability anywhere in the input",
        example=Example(
            {"reduction": "sum"},
            {**CTC_EXAMPLE, "input": [[[math.log(0.5), math.log(0.5), -math.inf]]] * 2},
        ),
    ),
    Divergence(
        id=f"{LOSS}/keras-torch-nan-grad-at-minus-inf",
        kind="known-bug",
        loss=LOSS,
        description=(
            "on the torch backend the gradient of an item holding a −inf logit is NaN there: "
            "log_softmax then torch's ctc_loss backward, exp(lcab + nll − lp) = exp(−inf + inf) "
            "(torch's own ctc_loss/nan-grad-at-minus-inf)"
        ),
        citation=f"{TORCH_CTC}; https://github.com/pytorch/pytorch/blob/"
        "53d8df9ddf6f4e9edfda96eb6616dc320b31c76f/aten/src/ATen/native/LossCTC.cpp",
        inputs=minus_inf_input,
        inputs_text="a −inf log-probability anywhere in the input",
        affects=("grad",),
        example=Example(
            {"reduction": "sum"},
            {
                **CTC_EXAMPLE,
                "input": [[[math.log(0.5), -math.inf, math.log(0.5)]]] * 2,
                "targets": [[2]],
            },
        ),
    ),
]

DIVERGENCES += [
    Divergence(
        id=f"{LOSS}/keras-jax-log-epsilon-for-log-zero",
        kind="convention",
        loss=LOSS,
        description=(
            "the JAX backend runs optax's recursion, where log 0 is log_epsilon = −1e5: an item "
            "that no alignment of all T steps fits costs about 1e5 per missing transition, "
            "finite, with a finite gradient, where its loss is +inf (T = 2, target (1, 1): "
            "99999.8)"
        ),
        citation=JAX_CTC,
        inputs=item_without_alignment_over_t,
        inputs_text="an item no alignment of all T steps fits",
        example=Example(
            {"reduction": "sum"}, {**CTC_EXAMPLE, "targets": [[1, 1]], "target_lengths": [2]}
        ),
    ),
    Divergence(
        id=f"{LOSS}/keras-tf-log-zero-is-log-1e-307",
        kind="known-bug",
        loss=LOSS,
        description=(
            "tf.nn.ctc_loss (dense labels: ctc_loss_dense) writes log 0 as "
            "log(1e-307) ≈ −706.9 in the initial and final state log-probabilities: states an "
            "alignment may not start or end in are merely e^−707 likely, so an item whose "
            "probability is near or below 1e-307 (loss ≳ 700) is scored as if those alignments "
            "existed, and an item no alignment fits gets a finite loss (T = 2, target (1), "
            "p = (1, e^−800, e^−800): reference ≈ 799.3, TensorFlow ≈ 706.9)"
        ),
        citation=(
            "https://github.com/tensorflow/tensorflow/blob/v2.21.0/tensorflow/python/ops/"
            f"ctc_ops.py#L577-L592; {TF_CTC}"
        ),
        inputs=tf_loss_near_log_zero,
        inputs_text="an item whose loss over all T steps exceeds 600, or is +inf",
        example=Example(
            {"reduction": "sum"},
            {**CTC_EXAMPLE, "input": [[[0.0, -800.0, -800.0]]] * 2},
        ),
    ),
    Divergence(
        id=f"{LOSS}/keras-function-returns-float32",
        kind="known-bug",
        loss=LOSS,
        description=(
            "keras.losses.ctc returns the backend's result_type(dtype, 'float32'): float32 for "
            "float16 and bfloat16 inputs, and for float64 on the JAX and torch backends (Keras "
            "forces 64-bit result types to 32 bits there); the class casts the per-sample losses "
            "back to its dtype, the function does not, and the backend's VJP then refuses a "
            "cotangent of the input's dtype"
        ),
        citation=f"{CTC_SOURCE}; {JAX_CTC}; {TORCH_CTC}; {TF_CTC}; {KERAS_BIT64_TO_BIT32}",
        dtypes=("float16", "bfloat16"),
        affects=("dtype", "grad"),
        apis=("keras.losses.ctc",),
        example=Example(
            {"reduction": "none"},
            CTC_EXAMPLE,
            dtype="float16",
            cotangent=[1.0],
            api="keras.losses.ctc",
        ),
    ),
    Divergence(
        id=f"{LOSS}/keras-function-float64-returns-float32",
        kind="known-bug",
        loss=LOSS,
        description=(
            "on the JAX and torch backends keras.losses.ctc returns float32 for float64 inputs "
            "(result_type(float64, 'float32') is float32 there, see "
            "ctc_loss/keras-function-returns-float32)"
        ),
        citation=f"{CTC_SOURCE}; {JAX_CTC}; {TORCH_CTC}; {KERAS_BIT64_TO_BIT32}",
        dtypes=("float64",),
        affects=("dtype", "grad"),
        apis=("keras.losses.ctc",),
        example=Example(
            {"reduction": "none"},
            CTC_EXAMPLE,
            cotangent=[1.0],
            api="keras.losses.ctc",
        ),
    ),
]

ACCEPTS: list[Accepts] = [
    Accepts(
        id=f"{LOSS}/keras-labels-unchecked",
        loss=LOSS,
        argument="targets",
        description=(
            "Keras does not check the labels: a 0 (its mask index) shortens the item's label "
            "count, a label ≥ K or < 0 is one-hot encoded to zeros (JAX) or read as it is by the "
            "backend's kernel: a number comes back where the reference rejects the target"
        ),
        citation=CTC_SOURCE,
        kind="known-bug",
        example=Example({"reduction": "sum"}, {**CTC_EXAMPLE, "targets": [[0]]}),
    ),
    Accepts(
        id=f"{LOSS}/keras-input-lengths-unread",
        loss=LOSS,
        argument="input_lengths",
        description=(
            "Keras' ctc takes no input lengths (every item is scored over all T steps), so an "
            "input length outside [0, T] never reaches it"
        ),
        citation=CTC_SOURCE,
        example=Example({"reduction": "sum"}, {**CTC_EXAMPLE, "input_lengths": [3]}),
    ),
    Accepts(
        id=f"{LOSS}/keras-input-lengths-shape-unread",
        loss=LOSS,
        argument="shapes",
        description=(
            "input_lengths of the wrong shape never reaches Keras' ctc either (it takes no "
            "input lengths)"
        ),
        citation=CTC_SOURCE,
        accepts=input_lengths_shape_differs,
        accepts_text="input_lengths' shape is not (N,)",
        example=Example({"reduction": "sum"}, {**CTC_EXAMPLE, "input_lengths": [2, 2]}),
    ),
    Accepts(
        id=f"{LOSS}/keras-target-lengths-unchecked",
        loss=LOSS,
        argument="target_lengths",
        description=(
            "Keras counts an item's labels as its entries ≠ 0 and takes no target lengths; the "
            "adapter writes 0 after each target length, and a length outside [0, S] keeps every "
            "label (> S) or none (< 0): a number comes back where the reference rejects it"
        ),
        citation=CTC_SOURCE,
        example=Example({"reduction": "sum"}, {**CTC_EXAMPLE, "target_lengths": [2]}),
    ),
]

# Entries that hold on some backends only (the others: every backend).
BACKENDS: dict[str, tuple[str, ...]] = {
    f"{LOSS}/keras-minus-inf-gives-nan": ("jax", "tensorflow"),
    f"{LOSS}/keras-torch-nan-grad-at-minus-inf": ("torch",),
    f"{LOSS}/keras-jax-log-epsilon-for-log-zero": ("jax",),
    f"{LOSS}/keras-tf-log-zero-is-log-1e-307": ("tensorflow",),
    f"{LOSS}/keras-function-float64-returns-float32": ("jax", "torch"),
}
