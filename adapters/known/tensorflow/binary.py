"""TensorFlow/Keras against the reference: binary losses (binary_cross_entropy,
binary_cross_entropy_with_logits, sigmoid_focal_loss).

Keras clips probabilities by ε = 1e-7, tf.nn's logistic losses evaluate their formulas literally
(NaN at infinite logits), and neither checks that labels are probabilities.
"""

from __future__ import annotations

import numpy as np

from reference import Case

from ...base import Accepts, Divergence, Example
from ._common import (
    SIGMOID_XENT,
    SIGMOID_XENT_INF,
    WEIGHTED_XENT,
    array,
    identity,
    infinite_logit_products,
)

INF = np.inf

LOGITS = {"input": [[0.5, -1.0], [2.0, 0.25]], "target": [[1.0, 0.0], [0.5, 1.0]]}
COTANGENT = [[1.0, -0.5], [2.0, 0.25]]
LABEL_OUTSIDE = Example({}, {"input": [[0.5, -1.0]], "target": [[1.5, 0.0]]})


def weighted_infinite_logit(case: Case) -> bool:
    """tf.nn.weighted_cross_entropy_with_logits evaluates (1 − z)·x + (1 + (q − 1)·z)·(log1p(e^−|x|)
    + max(−x, 0)): NaN at x = −inf (−inf + inf, or 0·(−inf)) and at x = +inf with z = 1 (0·inf)."""
    x, z = array(case, "input"), array(case, "target")
    return bool(np.any((x == -np.inf) | ((x == np.inf) & (z == 1))))


def logit_exactly_zero(case: Case) -> bool:
    return bool(np.any(array(case, "input") == 0))


def pos_weight_broadcasts(case: Case) -> bool:
    """Input and target of one shape, and pos_weight broadcasts against it."""
    x, t = np.shape(case.arrays["input"]), np.shape(case.arrays["target"])
    w = case.arrays.get("pos_weight")
    if w is None or x != t:
        return False
    try:
        np.broadcast_shapes(np.shape(w), x)
    except ValueError:
        return False
    return True


DIVERGENCES: list[Divergence] = [
    # --- binary_cross_entropy (Keras, on probabilities)
    # --- binary_cross_entropy_with_logits (tf.nn)
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
        inputs=infinite_logit_products(identity),
        inputs_text="a logit of +inf, or −inf with label 0",
        affects=("value",),
        example=Example({}, {"input": [[INF, 0.5]], "target": [[1.0, 0.0]]}),
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
        citation=WEIGHTED_XENT,
        where={"weight": False, "pos_weight": True},
        inputs=weighted_infinite_logit,
        inputs_text="a logit of −inf, or +inf with label 1",
        example=Example(
            {"reduction": "sum"},
            {"input": [[-INF, 0.5]], "target": [[1.0, 0.0]], "pos_weight": [2.0, 0.5]},
        ),
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
        citation=WEIGHTED_XENT,
        where={"weight": False, "pos_weight": True},
        inputs=logit_exactly_zero,
        inputs_text="a logit of exactly 0",
        affects=("grad",),
        example=Example(
            {"reduction": "sum"},
            {"input": [[0.0, 0.5]], "target": [[0.0, 1.0]], "pos_weight": [2.0, 0.5]},
        ),
    ),
    # --- sigmoid_focal_loss (Keras BinaryFocalCrossentropy)
]

ACCEPTS: list[Accepts] = [
    # --- binary_cross_entropy
    # --- binary_cross_entropy_with_logits
    Accepts(
        id="binary_cross_entropy_with_logits/tf-nn-no-pos-weight-check",
        loss="binary_cross_entropy_with_logits",
        argument="pos_weight",
        description=(
            "tf.nn.weighted_cross_entropy_with_logits uses pos_weight as it is: a NaN or infinite "
            "pos_weight gives a NaN or infinite loss where the reference rejects the weight"
        ),
        citation=WEIGHTED_XENT,
        where={"weight": False, "pos_weight": True},
        example=Example(
            {"reduction": "sum"},
            {"input": [[0.5, -1.0]], "target": [[1.0, 0.0]], "pos_weight": [np.nan, 2.0]},
        ),
    ),
    Accepts(
        id="binary_cross_entropy_with_logits/tf-nn-no-label-check",
        loss="binary_cross_entropy_with_logits",
        argument="target",
        description=(
            "tf.nn.sigmoid_cross_entropy_with_logits and weighted_cross_entropy_with_logits do not "
            "check that labels lie in [0, 1]: the formula is evaluated for any label"
        ),
        citation=SIGMOID_XENT,
        where={"weight": False},
        example=LABEL_OUTSIDE,
    ),
    Accepts(
        id="binary_cross_entropy_with_logits/broadcasts-mismatched-shapes",
        loss="binary_cross_entropy_with_logits",
        argument="shapes",
        description=(
            "TensorFlow broadcasts pos_weight against the input (NumPy's rules) instead of "
            "rejecting shapes no layout allows: a number comes back where the reference raises"
        ),
        citation=WEIGHTED_XENT,
        accepts=pos_weight_broadcasts,
        accepts_text="pos_weight broadcasts against the input",
        where={"pos_weight": True},
        example=Example(
            {"reduction": "sum"},
            {"input": [0.5, -1.0], "target": [1.0, 0.0], "pos_weight": [[2.0]]},
        ),
    ),
    # --- sigmoid_focal_loss
]
