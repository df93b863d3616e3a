"""Planted faults the conformance run must catch on the real framework, where a registry entry
applies (issue 15): an entry that documents a change of the definition explains only what agrees
with its model, so a value a little off that model fails the run instead of passing as the
convention.

Each test wraps the installed framework's adapter, multiplies the float64 value (for TensorFlow,
whose predicting tf.nn convention is about a gradient: the input gradient) of one loss by
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

# framework -> (loss, the predicting entry whose applicability used to hide the fault, the part)
PLANTED = {
    "torch": ("cosine_embedding_loss", "cosine_embedding_loss/epsilon", "value"),
    "jax": ("triplet_margin_loss", "triplet_margin_loss/eps-inside-root", "value"),
    # Keras' per-sample functions: reduction sum is Σℓ / input.shape[-1] on every backend
    "keras": ("mse_loss", "mse_loss/keras-per-sample-sum", "value"),
    "tensorflow": (
        "cross_entropy",
        "cross_entropy/tf-softmax-xent-grad-assumes-normalised-target",
        "grad:input",
    ),
}


class Planted:
    """The real adapter, with a loss's float64 value (or ``part`` "grad:<name>") scaled by
    ``factor`` (registry examples untouched, so the stale check sees the framework itself)."""

    def __init__(self, adapter, loss: str, factor: float, entries=None, part: str = "value"):
        self.adapter, self.loss, self.factor = adapter, loss, factor
        self.entries, self.part = entries, part

    def __getattr__(self, name):
        return getattr(self.adapter, name)

    def divergences(self):
        return self.adapter.divergences() if self.entries is None else self.entries

    def run(self, case, **api):
        outcome = self.adapter.run(case, **api)
        planted = case.loss == self.loss and case.dtype == "float64"
        if not planted or outcome.value is None or case.label == "registry example":
            return outcome
        if self.part == "value":
            outcome.value = outcome.value * self.factor
        else:
            name = self.part.removeprefix("grad:")
            if name in outcome.grads:
                outcome.grads = {**outcome.grads, name: outcome.grads[name] * self.factor}
        return outcome


def run_loss(adapter, loss: str, excused_by: str | None = None) -> list:
    """The loss's float64 ci items, in every mode, through the engine; with ``excused_by``, also
    the number of non-matching examples that entry explained (the judge's verdicts, counted as
    they are made). Every mode: the ci profile runs each configuration's float64 in one mode only
    (cases.selection.runs_in_mode), and the entry's prediction may be reached in either."""
    run = Run.start(adapter, framework=adapter.name, profile="ci", loss=loss, dtype="float64")
    run.profile = dataclasses.replace(run.profile, dtype_modes="all")
    excused = []
    judge = run.judge.judge

    def counting(case, comparison, *args, **kwargs):
        judgement = judge(case, comparison, *args, **kwargs)
        if judgement.divergence and judgement.divergence["id"] == excused_by:
            excused.append(case.label)
        return judgement

    run.judge.judge = counting
    results = [run.run_item(item) for item in run.items()]
    return (results, excused) if excused_by else results


@pytest.fixture
def planted(adapter):
    if adapter.name not in PLANTED:
        pytest.skip(f"{adapter.name}: no predicting entry chosen to plant a fault under")
    return PLANTED[adapter.name]


def test_the_loss_is_green_without_the_fault(adapter, planted):
    loss, _, part = planted
    results = run_loss(Planted(adapter, loss, 1.0, part=part), loss)
    offered = [r for r in results if r.record is not None]
    assert offered and not [r.item.id for r in offered if r.unexpected]


def test_a_value_off_the_prediction_fails_the_run(adapter, planted):
    loss, _, part = planted
    results = run_loss(Planted(adapter, loss, FAULT, part=part), loss)
    offered = [r for r in results if r.record is not None]
    assert offered
    passing = [r.item.id for r in offered if not r.unexpected]
    assert not passing, f"a {part} 2e-6 off passed in {passing}"
    # the entry applied and its model refused the number: the record says how far off it was
    figure = "value_ulp" if part == "value" else "grad_ulp"
    predicted = [r.record["worst"]["prediction"] for r in offered]
    assert any(p and p[figure] not in (None, "inf") and p[figure] > 1e6 for p in predicted)


def test_the_fault_hides_under_the_entry_without_its_model(adapter, planted):
    """The check above measures the model: with the entry's model removed, the entry excuses
    examples that carry the planted fault, as it did before entries predicted (for torch's
    cosine_embedding_loss that hid the fault in whole items: [none] and [sum] passed)."""
    loss, entry_id, part = planted
    entries = [
        dataclasses.replace(e, model=None, model_text="") if e.id == entry_id else e
        for e in adapter.divergences()
    ]
    _, excused = run_loss(Planted(adapter, loss, FAULT, entries, part), loss, entry_id)
    assert excused, "the entry excused no faulted example: the test would not measure its model"
