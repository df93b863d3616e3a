"""torch's known divergences on the sequence losses (ctc_loss)."""

from __future__ import annotations

import math

import numpy as np

from adapters.base import Accepts, Divergence, Example
from reference import Case

from ..ctc import LOG_P

# aten/src/ATen/native/LossCTC.cpp (CPU kernels) at the commit the search tool holds, which has
# the code of torch 2.x: ctc_loss_backward_cpu_template ends with
#   res = (std::exp(lp)-std::exp(res + nll - lp)) * gr;
# (eq. 16 of Graves et al. 2006, the gradient with respect to the *logits* of a softmax), the
# kernels are dispatched with AT_DISPATCH_FLOATING_TYPES (float, double), and get_target_prime says
# "note that no bound-checking is done".
LOSS_CTC_CPP = (
    "https://github.com/pytorch/pytorch/blob/53d8df9ddf6f4e9edfda96eb6616dc320b31c76f/"
    "aten/src/ATen/native/LossCTC.cpp"
)
# aten/src/ATen/native/cuda/LossCTC.cu, same commit: ctc_loss_gpu dispatches its kernels with
# AT_DISPATCH_FLOATING_TYPES(log_probs.scalar_type(), "ctc_loss_cuda", ...) too.
LOSS_CTC_CU = (
    "https://github.com/pytorch/pytorch/blob/53d8df9ddf6f4e9edfda96eb6616dc320b31c76f/"
    "aten/src/ATen/native/cuda/LossCTC.cu"
)
ISSUE_52241 = "https://github.com/pytorch/pytorch/issues/52241"

# One item of two time steps (log-probabilities LOG_P each) and one label, class 1: the examples'
# inputs.
TWO_STEPS_ONE_LABEL = {
    "input": [[LOG_P], [LOG_P]],
    "targets": [[1]],
    "input_lengths": [2],
    "target_lengths": [1],
}


def _items(case: Case):
    a = case.rounded()
    x = a["input"]
    for n in range(x.shape[1]):
        yield x[: int(a["input_lengths"][n]), n, :]


def _finite_items(case: Case):
    """The log-probabilities (T_n, K) of the items whose reference loss is finite."""
    finite = np.isfinite(case.pointwise())
    return [lp for lp, ok in zip(_items(case), np.atleast_1d(finite), strict=True) if ok]


def minus_inf_in_a_finite_item(case: Case) -> bool:
    return any(np.any(lp == -math.inf) for lp in _finite_items(case))


def softmax_term_visible(case: Case) -> bool:
    # exp(lp) of a log-probability below −40 is < 4e-18 of the gradient's terms of size 1
    return any(lp.size and np.max(lp) > -40.0 for lp in _finite_items(case))


DIVERGENCES: list[Divergence] = [
    Divergence(
        id="ctc_loss/nan-grad-at-minus-inf",
        kind="known-bug",
        loss="ctc_loss",
        description=(
            "the backward forms exp(lcab + nll − lp) with lcab, the log of the alignments through "
            "(t, k), −inf where lp = −inf: −inf − (−inf) = NaN, so a −inf log-probability (of a "
            "label, the blank or an unused class) at t < input_length gets a NaN gradient where "
            "the derivative is −γ = 0 (its alignments have probability 0); T = 2, target (1), "
            "log p = [[log ½, −inf, log ½], [0, −inf, 0]]: NaN at both −inf entries"
        ),
        citation=LOSS_CTC_CPP,
        inputs=minus_inf_in_a_finite_item,
        inputs_text="a −inf log-probability at t < input_length of an item with a finite loss",
        affects=("grad",),
        example=Example(
            {"reduction": "sum"},
            {
                "input": [[[math.log(0.5), -math.inf, math.log(0.5)]], [[0.0, -math.inf, 0.0]]],
                "targets": [[2]],
                "input_lengths": [2],
                "target_lengths": [1],
            },
        ),
    ),
    Divergence(
        id="ctc_loss/grad-through-log-softmax",
        kind="known-bug",
        loss="ctc_loss",
        description=(
            "the gradient returned for log_probs is exp(log_probs) − γ (times the incoming "
            "gradient) for t < input_length, not −γ = ∂ℓ/∂log_probs: eq. (16) of Graves et al., "
            "the gradient with respect to the logits a log_softmax was taken of. It is the right "
            "gradient only after backpropagating through that log_softmax (Σ_k of the extra "
            "term is 1 per step and cancels there); fed log-probabilities directly it is "
            "exp(log_probs) too large (T = 2, target (1), p = (½, ¼, ¼) at both steps: "
            "reference −γ = [[−0.4, −0.6, 0], …], torch [[0.1, −0.35, 0.25], …]); open issues "
            "#52241, #82545, #181534"
        ),
        citation=ISSUE_52241,
        inputs=softmax_term_visible,
        inputs_text="an item with a finite loss and some log-probability above −40 at t < T_n",
        affects=("grad",),
        example=Example(
            {"reduction": "sum"},
            TWO_STEPS_ONE_LABEL,
        ),
    ),
    Divergence(
        id="ctc_loss/no-half-cpu",
        kind="known-bug",
        loss="ctc_loss",
        description=(
            "the CPU kernels are dispatched for float32/float64 only (AT_DISPATCH_FLOATING_TYPES): "
            'float16 and bfloat16 raise NotImplementedError \'"ctc_loss_cpu" not implemented for '
            "'Half'' ('BFloat16')"
        ),
        citation=LOSS_CTC_CPP,
        dtypes=("float16", "bfloat16"),
        devices=("cpu",),
        affects=("error",),
        example=Example(
            {"reduction": "mean"},
            TWO_STEPS_ONE_LABEL,
            dtype="float16",
        ),
    ),
    Divergence(
        id="ctc_loss/no-half-cuda",
        kind="known-bug",
        loss="ctc_loss",
        description=(
            "the CUDA kernels are dispatched for float32/float64 only (AT_DISPATCH_FLOATING_TYPES), "
            "as the CPU ones are: float16 and bfloat16 raise NotImplementedError "
            "'\"ctc_loss_cuda\" not implemented for 'Half'' ('BFloat16'); seen on an H200 with "
            "torch 2.11.0+cu130"
        ),
        citation=LOSS_CTC_CU,
        dtypes=("float16", "bfloat16"),
        devices=("cuda",),
        affects=("error",),
        example=Example(
            {"reduction": "mean"},
            TWO_STEPS_ONE_LABEL,
            dtype="float16",
            device="cuda:0",
        ),
    ),
]

ACCEPTS: list[Accepts] = [
    Accepts(
        id="ctc_loss/targets-unchecked",
        kind="known-bug",
        loss="ctc_loss",
        argument="targets",
        description=(
            "labels are not checked (get_target_prime: 'no bound-checking is done'): a label equal "
            "to the blank, −1 or K is read as a class index (out of range it reads a neighbouring "
            "element's memory), and padding after target_length is never read at all"
        ),
        citation=LOSS_CTC_CPP,
        example=Example(
            {"reduction": "none"},
            {
                "input": [[LOG_P], [LOG_P]],
                "targets": [[0]],
                "input_lengths": [2],
                "target_lengths": [1],
            },
            cotangent=[1.0],
        ),
    ),
]
