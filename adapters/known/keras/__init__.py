"""Keras' registry of known divergences of ``keras.losses`` from the reference, one module per
family, for the three backends Keras runs on.

An entry holds on every backend unless its family module's ``BACKENDS`` table scopes it to some
(``{id: ("tensorflow",)}``): Keras' losses are written once in ``keras.ops``, but each backend
implements the ops — clipping, log-softmax, ``where``, the gradient of ``abs`` — its own way, so
the same call gives different numbers. :func:`divergences_for` returns the entries of one backend,
each scoped entry saying so in its input text; ``tests/adapters/test_registry.py`` reproduces an
entry on every backend it names (run it once per backend), and a divergence that appears on a
backend its entry does not name is unexplained there.

Entry ids keep the meaning they had when Keras ran inside the TensorFlow adapter: an id such as
``mse_loss/keras-per-sample-none`` or ``cross_entropy/tf-positive-infinite-logit`` (TensorFlow's
kernel, reached through Keras on the TensorFlow backend) names the same behaviour here.
"""

from __future__ import annotations

import dataclasses

from ...base import Divergence
from ..generic import range_overflow
from . import (
    binary,
    categorical,
    circle,
    classification,
    distribution,
    embedding,
    generalized_ce,
    overlap,
    precision,
    regression,
    sequence,
)

FAMILIES = (
    regression,
    binary,
    classification,
    distribution,
    precision,
    embedding,
    categorical,
    generalized_ce,
    overlap,
    sequence,
    circle,
)
BACKEND_NAMES = ("tensorflow", "jax", "torch")


def _backends() -> dict[str, tuple[str, ...]]:
    scoped: dict[str, tuple[str, ...]] = {}
    for family in FAMILIES:
        for entry_id, names in family.BACKENDS.items():
            unknown = set(names) - set(BACKEND_NAMES)
            if unknown:
                raise ValueError(f"{entry_id}: unknown backend(s) {sorted(unknown)}")
            scoped[entry_id] = tuple(names)
    return scoped


# entry id -> the backends it holds on (an id not listed holds on all three)
BACKENDS = _backends()

# Within a loss the judge takes the first entry that explains a part, so each family keeps its
# value entries ahead of its error-only rows.
DIVERGENCES: list[Divergence] = [
    entry
    for family in FAMILIES
    for entry in (*family.DIVERGENCES, *(row.as_divergence() for row in family.ACCEPTS))
]

# Last, so that an entry about one loss keeps the credit for what it explains too.
DIVERGENCES.append(range_overflow("Keras", "https://keras.io/api/mixed_precision/"))

_missing = set(BACKENDS) - {entry.id for entry in DIVERGENCES}
if _missing:
    raise ValueError(f"BACKENDS names no entry: {sorted(_missing)}")


def backends_of(entry_id: str) -> tuple[str, ...]:
    return BACKENDS.get(entry_id, BACKEND_NAMES)


def divergences_for(backend: str) -> list[Divergence]:
    """The entries that hold on ``backend``, in registry order; a scoped entry's input text names
    its backends, so the report says where it holds."""
    out = []
    for entry in DIVERGENCES:
        names = backends_of(entry.id)
        if backend not in names:
            continue
        bind = getattr(entry.model, "for_backend", None)
        if bind is not None:  # a model whose prediction depends on the backend's arithmetic
            entry = dataclasses.replace(entry, model=bind(backend))
        bind = getattr(entry.inputs, "for_backend", None)
        if bind is not None:  # a predicate whose answer does (a clip's bounds, say)
            entry = dataclasses.replace(entry, inputs=bind(backend))
        if names != BACKEND_NAMES:
            where = " and ".join(names)
            text = f"{entry.inputs_text} — on the {where} backend{'s' if len(names) > 1 else ''}"
            entry = dataclasses.replace(entry, inputs_text=text)
        out.append(entry)
    return out
