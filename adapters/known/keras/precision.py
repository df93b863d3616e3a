"""Keras against the reference: what a backend does to the dtype of a result, whatever the loss.

Keras' type promotion (keras/src/backend/common/dtypes.py) forces a 64-bit result type to 32 bits
on every backend but TensorFlow, so ops that promote through ``result_type`` hand float64 inputs
back in float32. The value and gradient that this rounding moves are each loss's own entries
(``<loss>/keras-float64-mean-in-float32``, ``<loss>/keras-torch-float64-mean-in-float32``); here
is the dtype itself, which result fidelity compares.
"""

from __future__ import annotations

from ...base import Accepts, Divergence, Example
from ._common import (
    KERAS_BIT64_TO_BIT32,
    KERAS_TORCH_DIVIDE_NO_NAN,
    TORCH_MEAN_DIVIDES_TEXT,
    torch_mean_divides,
)

DIVERGENCES: list[Divergence] = [
    Divergence(
        id="*/keras-torch-float64-mean-returns-float32",
        kind="known-bug",
        loss="*",
        description=(
            "On the torch backend Keras' sum_over_batch_size divides the summed per-sample "
            "losses with ops.divide_no_nan, which casts both operands to result_type(x1, x2, "
            "float): float32 for float64, as Keras forces a 64-bit result type to 32 bits on "
            "every backend but TensorFlow. A float64 loss with reduction mean comes back as a "
            "float32 tensor (MeanSquaredError()(t, x) on (2, 2) float64 tensors: "
            "torch.float32); its gradients stay float64"
        ),
        citation=f"{KERAS_TORCH_DIVIDE_NO_NAN}; {KERAS_BIT64_TO_BIT32}",
        dtypes=("float64",),
        inputs=torch_mean_divides,
        inputs_text=TORCH_MEAN_DIVIDES_TEXT,
        affects=("dtype",),
        example=Example(
            {},
            {"input": [[0.5, -1.0], [2.0, 0.25]], "target": [[0.0, 0.75], [-1.0, -0.5]]},
            loss="mse_loss",
        ),
    ),
]

ACCEPTS: list[Accepts] = []

# Entries that hold on some backends only (the others: every backend).
BACKENDS: dict[str, tuple[str, ...]] = {
    "*/keras-torch-float64-mean-returns-float32": ("torch",),
}
