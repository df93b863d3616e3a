"""What the TensorFlow family modules share: citations, input predicates, and the builders of
entries that several losses carry with the same description (each call names its entry's id and
example literally).

Predicates read the case's arrays as TensorFlow sees them (rounded to the case dtype) and use only
NumPy: this package never imports TensorFlow. Citations point at the Keras source of the installed
version (tag v3.15.1, the "View source" link of the tensorflow.org Keras pages), the tensorflow.org
API pages, or GitHub issues.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import reference as R
from reference import Case

from ...base import Divergence, Example

Predicate = Callable[[Case], bool]

SOFTMAX_XENT_OP = "https://tensorflow.org/api_docs/python/tf/raw_ops/SoftmaxCrossEntropyWithLogits"
SPARSE_XENT = (
    "https://TensorFlow.org/versions/r2.6/api_docs/python/tf/nn/"
    "sparse_softmax_cross_entropy_with_logits"
)
SIGMOID_XENT_INF = "https://github.com/tensorflow/tensorflow/issues/75256"
SIGMOID_XENT = (
    "https://tensorflow.org/versions/r2.10/api_docs/python/tf/nn/sigmoid_cross_entropy_with_logits"
)
WEIGHTED_XENT = "https://TensorFlow.org/api_docs/python/tf/nn/weighted_cross_entropy_with_logits"
LOG_POISSON = "https://tensorflow.org/api_docs/python/tf/nn/log_poisson_loss"


# Validity: a value or gradient divergence exists only where the reference returns a value; the
# matcher (reference.contract.Divergence.matches_inputs) never asks such a predicate about an input
# the reference rejects. A predicate that raises on a valid input is a bug, and it propagates.


# --- input predicates -----------------------------------------------------------------------------


def array(case: Case, name: str) -> np.ndarray | None:
    return case.rounded().get(name)


def positive_infinite(name: str) -> Predicate:
    def pred(case):
        x = array(case, name)
        return x is not None and bool(np.any(x == np.inf))

    return pred


def infinite_logit_products(labels: Callable[[np.ndarray], np.ndarray]) -> Predicate:
    """tf.nn.sigmoid_cross_entropy_with_logits evaluates max(x, 0) − x·z + log1p(e^−|x|): NaN at
    x = +inf (inf − inf, or inf·0) and at x = −inf with z = 0 (−inf·0)."""

    def pred(case):
        x = array(case, "input")
        z = labels(array(case, "target"))
        return bool(np.any((x == np.inf) | ((x == -np.inf) & (z == 0))))

    return pred


def identity(z):
    return z


def sign_to_unit(y):
    return (y + 1) / 2


# --- Keras' per-sample losses: the last axis is reduced before the reduction ----------------------


# --- entries every loss carries -------------------------------------------------------------------


def subnormal_input(case: Case) -> bool:
    """Some floating-point input or cotangent is subnormal in the case dtype."""
    tiny = R.FORMATS[case.dtype].tiny
    arrays = [v for v in case.rounded().values() if np.issubdtype(v.dtype, np.floating)]
    cot = case.rounded_cotangent()
    if cot is not None:
        arrays.append(np.asarray(cot))
    return any(bool(np.any((a != 0) & (np.abs(a) < tiny))) for a in arrays)


def tf_flushes_subnormal_inputs(id: str, loss: str, example: Example) -> Divergence:
    return Divergence(
        id=id,
        kind="convention",
        loss=loss,
        description=(
            "TensorFlow runs CPU kernels with denormals-are-zero / flush-to-zero: a subnormal "
            "input or cotangent is read as 0 (a cotangent of 2.2e-309 times a logit of 724 gives "
            "a target gradient of −0 instead of −1.6e-306)"
        ),
        citation="https://github.com/tensorflow/tensorflow/issues/11902",
        inputs=subnormal_input,
        inputs_text="a subnormal input or cotangent in the case dtype",
        example=example,
    )


# --- error-only conventions: TensorFlow returns a number where the reference rejects shapes ------
