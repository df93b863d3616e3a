"""JAX/Optax divergences in the sequence family: optax.losses.ctc_loss (optax/losses/
_classification.py at v0.2.8, ctc_loss_with_forward_probs)."""

from __future__ import annotations

import math

import numpy as np

import reference as R
from reference import Case
from reference.contract import Divergence, Example

from ..ctc import CTC_EXAMPLE, item_without_alignment, items, minus_inf_in_an_item
from ._common import OPTAX

CTC_SOURCE = OPTAX.format("_classification.py#L{}")


def unnormalised_step(case: Case) -> bool:
    """A step t < T_n of an item with a finite loss whose probabilities do not sum to 1 by more
    than rounding to the dtype explains (log_softmax then moves each log-probability)."""
    eps = R.FORMATS[case.dtype].eps
    for _, steps, loss in items(case):
        if np.isfinite(loss) and steps.size:
            lse = np.logaddexp.reduce(steps, axis=-1)
            if np.any(np.abs(lse) > 16 * eps):
                return True
    return False


def softmax_term_visible(case: Case) -> bool:
    # exp(lp) of a log-probability below −40 is < 4e-18 of the gradient's terms of size 1
    return any(
        np.isfinite(loss) and steps.size and np.max(steps) > -40.0 for _, steps, loss in items(case)
    )


DIVERGENCES: list[Divergence] = [
    Divergence(
        id="ctc_loss/x64-computes-in-float64",
        kind="known-bug",
        loss="ctc_loss",
        description=(
            "with jax_enable_x64 on (which float64 needs) the loss of float32, float16 or bfloat16 "
            "logits comes back in float64: the initial forward variables are "
            "jnp.ones((batchsize, maxlabellen + 1)) * log_epsilon, in the default float dtype "
            "(float64 under x64), and the scan promotes everything to it"
        ),
        citation=CTC_SOURCE.format("743-L747"),
        dtypes=("float32", "float16", "bfloat16"),
        # the value comes back float64 (result fidelity: part "dtype"), and the VJP, given a
        # cotangent of the case's dtype for a float64 output, raises (no gradients to compare)
        affects=("dtype", "grad"),
        example=Example({"reduction": "sum"}, CTC_EXAMPLE, dtype="float32"),
    ),
    Divergence(
        id="ctc_loss/minus-inf-gives-nan",
        kind="known-bug",
        loss="ctc_loss",
        description=(
            "the emission log-probabilities are gathered by a one-hot product, "
            "jnp.einsum('btk,bnk->btn', logprobs, one_hot): a −inf log-probability anywhere in "
            "an item (any class, padded steps included) meets a 0 of the one-hot and gives "
            "−inf·0 = NaN, so the item's loss and gradient are NaN (reference: the alignments "
            "through it have probability 0; T = 2, target (1), p = (½, ½, 0) at both steps: "
            "2 log 4/3… reference finite, optax NaN)"
        ),
        citation=CTC_SOURCE.format("740"),
        inputs=minus_inf_in_an_item,
        inputs_text="a −inf log-probability anywhere in an item's input",
        example=Example(
            {"reduction": "sum"},
            {**CTC_EXAMPLE, "input": [[[math.log(0.5), math.log(0.5), -math.inf]]] * 2},
        ),
    ),
    Divergence(
        id="ctc_loss/log-epsilon-for-log-zero",
        kind="convention",
        loss="ctc_loss",
        description=(
            "log 0 is log_epsilon = −1e5 ('Numerically-stable approximation of log(+0)'): an item "
            "that no alignment fits (input too short for its labels and their repeats, or an "
            "empty input with labels) costs about 1e5 per missing transition, finite, with a "
            "finite gradient, where its loss is +inf (T = 1, target (1, 1): 99999.3)"
        ),
        citation=CTC_SOURCE.format("701"),
        inputs=item_without_alignment,
        inputs_text="an item with no alignment (reference loss +inf)",
        example=Example(
            {"reduction": "sum"},
            {**CTC_EXAMPLE, "targets": [[1, 1]], "target_lengths": [2]},
        ),
    ),
    Divergence(
        id="ctc_loss/logits-renormalised",
        kind="convention",
        loss="ctc_loss",
        description=(
            "optax takes logits and applies jax.nn.log_softmax to them first: log-probabilities "
            "whose probabilities do not sum to 1 at a step are renormalised, so the loss moves by "
            "Σ_t logsumexp(x_t) over the item's steps (x = log ½ everywhere, 3 classes: each step "
            "adds log 3/2)"
        ),
        citation=CTC_SOURCE.format("729"),
        inputs=unnormalised_step,
        inputs_text="a step t < T_n of a finite item whose probabilities do not sum to 1",
        example=Example(
            {"reduction": "sum"},
            {**CTC_EXAMPLE, "input": [[[math.log(0.5)] * 3]] * 2},
        ),
    ),
    Divergence(
        id="ctc_loss/grad-through-log-softmax",
        kind="convention",
        loss="ctc_loss",
        description=(
            "the gradient is taken through that log_softmax: with respect to its input it is "
            "softmax(x) − γ for t < T_n (for normalised x, exp(x) − γ), not ∂ℓ/∂log p = −γ "
            "(T = 2, target (1), p = (½, ¼, ¼): [[0.1, −0.35, 0.25], …] against "
            "[[−0.4, −0.6, 0], …]); the same numbers as torch's ctc_loss gradient"
        ),
        citation=CTC_SOURCE.format("729"),
        inputs=softmax_term_visible,
        inputs_text="an item with a finite loss and some log-probability above −40 at t < T_n",
        affects=("grad",),
        example=Example({"reduction": "sum"}, CTC_EXAMPLE),
    ),
]
