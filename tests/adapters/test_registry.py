"""Every registry entry of the selected framework, run on its own example.

An entry carries the inputs that show it (:class:`adapters.base.Example`). On that example the
entry must apply, the installed framework must differ from the reference in a part the entry
affects (else the entry documents behaviour the framework no longer has), and every part that
differs must be explained by the registry (as the conformance run requires).
"""

from __future__ import annotations

import os
import re

import pytest

from cases.compare import compare, expected
from cases.judge import Judge, explains

ID = re.compile(r"^(?P<loss>[a-z0-9_]+|\*)/[a-z0-9][a-z0-9-]*$")


def _run(adapter, entry, case):
    """The adapter on the entry's example, with the example's API where it names one."""
    api = entry.example.api
    return adapter.run(case, api=api) if api else adapter.run(case)


def _case_here(adapter, entry):
    """The entry's example as a case, or a skip where this machine lacks its device (an entry of
    CUDA kernels is shown on a GPU)."""
    case = entry.example.case(entry.loss)
    if case.device not in adapter.devices():
        pytest.skip(f"{entry.id}: its example runs on {case.device}, which this machine lacks")
    return case


def _entries(config) -> list:
    import adapters

    name = config.getoption("--framework", default=None) or os.environ.get("LOSSCONF_FRAMEWORK")
    if not name:
        return []
    try:
        return adapters.load(name).divergences()
    except ImportError:  # the adapter fixture reports a missing framework
        return []


def pytest_generate_tests(metafunc):
    if "entry" in metafunc.fixturenames:
        entries = [e for e in _entries(metafunc.config) if e.example is not None]
        metafunc.parametrize("entry", entries or [None], ids=[e.id for e in entries] or ["none"])


def test_ids_are_unique(adapter):
    ids = [e.id for e in adapter.divergences()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_entry_id_names_its_loss(entry):
    if entry is None:
        pytest.skip("no entry with an example")
    match = ID.match(entry.id)
    assert match, f"{entry.id}: ids are '<loss>/<slug>' (lower-case slug with hyphens)"
    assert match["loss"] == entry.loss, f"{entry.id} is an entry of {entry.loss}"


def test_entry_applies_to_its_example_and_the_framework_differs(adapter, entry):
    if entry is None:
        pytest.skip("no entry with an example")
    case = _case_here(adapter, entry)
    assert entry.applies(case, adapter.version(), entry.example.api), (
        f"{entry.id} does not apply to its example"
    )
    comparison = compare(case, expected(case), _run(adapter, entry, case))
    failed = comparison.failed_parts
    assert any(explains(entry, comparison, part) for part in failed), (
        f"{entry.id}: {adapter.name} agrees with the reference on the entry's example in "
        f"{', '.join(entry.affects)} (failed parts: {failed or 'none'}): stale entry?"
    )


def test_every_difference_on_an_example_is_explained(adapter, entry):
    if entry is None:
        pytest.skip("no entry with an example")
    case = _case_here(adapter, entry)
    exp, outcome = expected(case), _run(adapter, entry, case)
    comparison = compare(case, exp, outcome)
    judgement = Judge(adapter.divergences(), adapter.version()).judge(
        case, comparison, outcome, exp, api=entry.example.api
    )
    assert not judgement.unexpected, f"{entry.id}: unexplained on its example: {comparison.detail}"


def test_a_model_predicts_what_the_framework_returns_on_its_example(adapter, entry):
    """An entry with a model explains its example itself: in every part the entry affects where
    the framework differs from the reference, the framework agrees with the prediction (another
    entry's behaviour on the same example, e.g. a float16 overflow, is that entry's)."""
    if entry is None or entry.model is None:
        pytest.skip("no model")
    case = _case_here(adapter, entry)
    exp, outcome = expected(case), _run(adapter, entry, case)
    judge = Judge([entry], adapter.version())
    comparison = compare(case, exp, outcome)
    differing = [p for p in comparison.failed_parts if explains(entry, comparison, p)]
    against = judge._against_prediction(entry, case, outcome, exp)
    others = [
        e
        for e in adapter.divergences()
        if e is not entry and e.applies(case, judge.version, entry.example.api)
    ]
    explained_elsewhere = {p for p in differing for e in others if explains(e, comparison, p)}
    missed = [p for p in differing if p in against.failed_parts and p not in explained_elsewhere]
    assert not missed, f"{entry.id}: the framework disagrees with the model: {against.detail}"
