"""TensorFlow against the reference: embedding losses (soft_margin_loss, as
tf.nn.sigmoid_cross_entropy_with_logits on labels (y + 1)/2; the others are not offered)."""

from __future__ import annotations

import numpy as np

from ...base import Accepts, Divergence, Example
from ._common import (
    SIGMOID_XENT,
    SIGMOID_XENT_INF,
    infinite_logit_products,
    sign_to_unit,
)

DIVERGENCES: list[Divergence] = [
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
        inputs=infinite_logit_products(sign_to_unit),
        inputs_text="a score of +inf, or −inf with label −1",
        affects=("value",),
        example=Example({}, {"input": [[np.inf, 0.5]], "target": [[1.0, -1.0]]}),
    ),
]

ACCEPTS: list[Accepts] = [
    Accepts(
        id="soft_margin_loss/tf-nn-no-label-check",
        loss="soft_margin_loss",
        argument="target",
        description=(
            "Labels other than ±1 become (y + 1)/2 outside {0, 1}, which "
            "tf.nn.sigmoid_cross_entropy_with_logits accepts without a check"
        ),
        citation=SIGMOID_XENT,
        example=Example({}, {"input": [[0.5, -1.0]], "target": [[0.0, 1.0]]}),
    ),
]
