"""The models of the torch and JAX registries, without a framework: each predicts something
other than the reference on its entry's example, in a part the entry affects (a model equal to
the reference would let the entry explain nothing), and no model is attached to an error entry.

The registries import no framework, so these run in ``tox -e tests``; whether the framework
agrees with each prediction is tests/adapters/test_registry.py's check, on the framework.
"""

from __future__ import annotations

import numpy as np
import pytest

from adapters.known import jax as jax_registry
from adapters.known import torch as torch_registry
from cases.compare import Expected, compare, expected
from cases.judge import covers
from reference.contract import Outcome

ENTRIES = [
    (name, entry)
    for name, registry in (("torch", torch_registry), ("jax", jax_registry))
    for entry in registry.DIVERGENCES
    if entry.model is not None
]


def test_the_registries_carry_models():
    assert {name for name, _ in ENTRIES} == {"torch", "jax"}
    ids = {entry.id for _, entry in ENTRIES}
    assert {"cosine_embedding_loss/epsilon", "triplet_margin_loss/eps-inside-root"} <= ids


@pytest.mark.parametrize(("framework", "entry"), ENTRIES, ids=[e.id for _, e in ENTRIES])
def test_a_model_differs_from_the_reference_where_its_entry_applies(framework, entry):
    case = entry.example.case(entry.loss)
    predicted = entry.predict(case)
    ref = expected(case)
    assert set(predicted.grads) == set(ref.grads)
    # the prediction, as if a framework returned it, against the reference
    as_outcome = Outcome(value=np.asarray(predicted.value), grads=dict(predicted.grads))
    differs = compare(case, ref, as_outcome).failed_parts
    assert any(covers(entry.affects, part) for part in differs), (
        f"{entry.id}: its model agrees with the reference on its own example"
    )
    # and the prediction agrees with itself under the tolerance (its scales are finite enough)
    itself = Expected(predicted.value, dict(predicted.grads), None, ref.n_reduced, ref.scales)
    assert compare(case, itself, as_outcome).verdict == "match"
