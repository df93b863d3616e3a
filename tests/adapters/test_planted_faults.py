"""Planted faults the conformance run must catch on the real framework, where a registry entry
applies (issue 15): an entry that documents a change of the definition explains only what agrees
with its model, so a value a little off that model fails the run instead of passing as the
convention.

Each test wraps the installed framework's adapter, multiplies the float64 value of one loss by
(1 + 2e-6) — far beyond float64's tolerance, far inside what "the framework differs here" used to
excuse — and runs the real engine (``cases.run``) over that loss's ci items. The same run
without the fault is green, so each test can fail both ways. Runs only with the framework
selected (``--framework`` / ``LOSSCONF_FRAMEWORK``), like the other adapter tests.
"""

from __future__ import annotations

import dataclasses

import pytest

from cases.run import Run

FAULT = 1.0 + 2e-6

# framework -> (loss, the predicting entry whose applicability used to hide the fault)
PLANTED = {
    "torch": ("cosine_embedding_loss", "cosine_embedding_loss/epsilon"),
    "jax": ("triplet_margin_loss", "triplet_margin_loss/eps-inside-root"),
}


class Planted:
    """The real adapter, with a loss's float64 value scaled by ``factor`` (registry examples
    untouched, so the stale check sees the framework itself)."""

    def __init__(self, adapter, loss: str, factor: float, entries=None):
        self.adapter, self.loss, self.factor = adapter, loss, factor
        self.entries = entries

    def __getattr__(self, name):
        return getattr(self.adapter, name)

    def divergences(self):
        return self.adapter.divergences() if self.entries is None else self.entries

    def run(self, case):
        outcome = self.adapter.run(case)
        planted = case.loss == self.loss and case.dtype == "float64"
        if planted and outcome.value is not None and case.label != "registry example":
            outcome.value = outcome.value * self.factor
        return outcome


def run_loss(adapter, loss: str) -> list:
    run = Run.start(adapter, framework=adapter.name, profile="ci", loss=loss, dtype="float64")
    return [run.run_item(item) for item in run.items()]


@pytest.fixture
def planted(adapter):
    if adapter.name not in PLANTED:
        pytest.skip(
            f"{adapter.name}: no registry entry about a tf.nn call carries a model yet, so there "
            "is no predicting convention to plant a fault under"
        )
    return PLANTED[adapter.name]


def test_the_loss_is_green_without_the_fault(adapter, planted):
    loss, _ = planted
    results = run_loss(Planted(adapter, loss, 1.0), loss)
    offered = [r for r in results if r.record is not None]
    assert offered and not [r.item.id for r in offered if r.unexpected]


def test_a_value_off_the_prediction_fails_the_run(adapter, planted):
    loss, _ = planted
    results = run_loss(Planted(adapter, loss, FAULT), loss)
    offered = [r for r in results if r.record is not None]
    assert offered
    passing = [r.item.id for r in offered if not r.unexpected]
    assert not passing, f"a value 2e-6 off passed in {passing}"
    # the entry applied and its model refused the value: the record says how far off it was
    predicted = [r.record["worst"]["prediction"] for r in offered]
    assert any(
        p and p["value_ulp"] not in (None, "inf") and p["value_ulp"] > 1e6 for p in predicted
    )


def test_the_fault_hides_under_the_entry_without_its_model(adapter, planted):
    """The check above measures the model: with the entry's model removed, the entry excuses
    the planted fault wherever it applies, as it did before entries predicted."""
    loss, entry_id = planted
    entries = [
        dataclasses.replace(e, model=None, model_text="") if e.id == entry_id else e
        for e in adapter.divergences()
    ]
    results = run_loss(Planted(adapter, loss, FAULT, entries), loss)
    hidden = [r.item.id for r in results if r.record is not None and not r.unexpected]
    assert hidden, "the fault fails even without the model: the test would not measure it"
