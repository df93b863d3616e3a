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
    case = entry.example.case(entry.loss)
    assert entry.applies(case, adapter.version()), f"{entry.id} does not apply to its example"
    comparison = compare(case, expected(case), adapter.run(case))
    failed = comparison.failed_parts
    assert any(explains(entry, comparison, part) for part in failed), (
        f"{entry.id}: {adapter.name} agrees with the reference on the entry's example in "
        f"{', '.join(entry.affects)} (failed parts: {failed or 'none'}): stale entry?"
    )


def test_every_difference_on_an_example_is_explained(adapter, entry):
    if entry is None:
        pytest.skip("no entry with an example")
    case = entry.example.case(entry.loss)
    comparison = compare(case, expected(case), adapter.run(case))
    judgement = Judge(adapter.divergences(), adapter.version()).judge(case, comparison)
    assert not judgement.unexpected, f"{entry.id}: unexplained on its example: {comparison.detail}"
