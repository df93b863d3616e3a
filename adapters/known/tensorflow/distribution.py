"""TensorFlow/Keras against the reference: distribution losses (kl_div, poisson_nll_loss;
gaussian_nll_loss is not offered).

keras.losses.KLDivergence works on probabilities (exp of the reference's log-probabilities),
clipped by ε = 1e-7, and reduces the last axis first; Poisson runs tf.nn.log_poisson_loss on
log-rates or keras.losses.Poisson (a per-sample loss with its own ε) on rates.
"""

from __future__ import annotations

import numpy as np

import reference as R
from reference import Case

from ...base import Accepts, Divergence, Example
from ._common import (
    LOG_POISSON,
    array,
    tf_flushes_subnormal_inputs,
)

INF = np.inf

COTANGENT = [[1.0, -0.5], [2.0, 0.25]]


def negative_count(case: Case) -> bool:
    return bool(np.any(array(case, "target") < 0))


def zero_count_at_infinite_log_rate(case: Case) -> bool:
    x, y = array(case, "input"), array(case, "target")
    return bool(np.any((y == 0) & np.isinf(x)))


def exp_overflows_dtype(case: Case) -> bool:
    x = array(case, "input")
    return bool(np.any(np.isfinite(x) & (x > np.log(R.FORMATS[case.dtype].max_value))))


DIVERGENCES: list[Divergence] = [
    # --- kl_div (Keras KLDivergence on tf.exp of the log-probabilities)
    # --- poisson_nll_loss
    Divergence(
        id="poisson_nll_loss/tf-stirling-for-negative-counts",
        kind="convention",
        loss="poisson_nll_loss",
        description=(
            "tf.nn.log_poisson_loss(compute_full_loss=True) adds Stirling's term wherever the "
            "target is not in [0, 1] — including negative targets, where z·log(z) is NaN — while "
            "torch adds it only where the target exceeds 1"
        ),
        citation=LOG_POISSON,
        where={"log_input": True, "full": True},
        inputs=negative_count,
        inputs_text="a negative count",
        affects=("value",),
        example=Example(
            {"full": True, "reduction": "sum"}, {"input": [[0.5, -1.0]], "target": [[-1.0, 2.0]]}
        ),
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
        citation=LOG_POISSON,
        where={"log_input": True},
        inputs=zero_count_at_infinite_log_rate,
        inputs_text="a zero count where the log-rate is ±inf",
        affects=("value",),
        example=Example({}, {"input": [[-INF, 0.5]], "target": [[0.0, 1.0]]}),
    ),
    tf_flushes_subnormal_inputs(
        "poisson_nll_loss/tf-flushes-subnormal-inputs",
        "poisson_nll_loss",
        # exp(−1e5) − y·(−1e5) = 1e-305 for the count y = 1e-310; flushed, y gives 0
        Example(
            {"reduction": "none"}, {"input": [[-1e5]], "target": [[1e-310]]}, cotangent=[[1.0]]
        ),
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
        citation=LOG_POISSON,
        where={"log_input": True},
        inputs=exp_overflows_dtype,
        inputs_text="a finite log-rate whose exp exceeds the dtype's largest number",
        # exp(12) = 162755 overflows float16; the mean over four elements is 40690
        example=Example(
            {}, {"input": [[12.0, 0.5, 0.5, 0.5]], "target": [[1.0, 2.0, 0.0, 1.0]]}, "float16"
        ),
    ),
]

ACCEPTS: list[Accepts] = []
