"""TensorFlow's registry of known divergences of its own loss ops (``tf.nn.*``) from the reference,
one module per family. Keras' losses — which run on TensorFlow, JAX or torch — have their own
registry, :mod:`adapters.known.keras`.

Every entry is narrow: its configuration subset (``where``) and input predicate select exactly the
examples on which TensorFlow differs from the reference, so an entry that stops reproducing after
an upgrade is reported stale. Each carries the example that shows it
(``tests/adapters/test_registry.py`` runs them). Error-only conventions — TensorFlow returns a
number where the reference rejects an argument — are each family's ``ACCEPTS`` rows, keyed by
(loss, argument) and applied where the reference's own check rejects that argument.
"""

from __future__ import annotations

from ...base import Divergence, Example
from ..generic import range_overflow
from . import binary, classification, distribution, embedding, sampled, sequence

FAMILIES = (binary, classification, distribution, embedding, sequence, sampled)

# Within a loss the judge takes the first entry that explains a part, so each family keeps its
# value entries ahead of its error-only rows.
DIVERGENCES: list[Divergence] = [
    entry
    for family in FAMILIES
    for entry in (*family.DIVERGENCES, *(row.as_divergence() for row in family.ACCEPTS))
]
# tf.nn has no mse_loss (the generic entry's own example): binary cross-entropy with logits in
# float16, mean of two losses of 40000 whose sum 80000 overflows before the division (tf.reduce_mean
# sums in the dtype): inf, reference 40000.
SUM_BEFORE_MEAN = Example(
    {"reduction": "mean"},
    {"input": [-40000.0, -40000.0], "target": [1.0, 1.0]},
    dtype="float16",
    loss="binary_cross_entropy_with_logits",
)
DIVERGENCES.append(
    range_overflow(
        "TensorFlow",
        "https://www.tensorflow.org/guide/mixed_precision#loss_scaling",
        SUM_BEFORE_MEAN,
    )
)
