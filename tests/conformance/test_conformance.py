"""Conformance of one framework's native losses to the float64 reference (engine: cases.run).

A test fails only for what is *unexpected*: a mismatch, error-mismatch or crash that no registry
entry explains. Every comparison is recorded in the results file; registry entries that no longer
reproduce fail the session once every item has run (conftest.py, pytest_sessionfinish).
"""

from __future__ import annotations

import pytest

from cases import oracles


def test_conformance(item, run):
    result = run.run_item(item)
    if result.not_offered is not None:
        pytest.skip(f"not offered by {run.framework}: {result.not_offered}")
    if result.failure:
        pytest.fail(result.failure, pytrace=False)


@pytest.mark.parametrize("oracle", oracles.ORACLES, ids=lambda oracle: oracle.name)
def test_oracle(oracle, run):
    """Identities that need no reference (γ=0 focal is BCE, masking is slicing, …), float64 eager."""
    if run is None:
        pytest.skip("no framework selected")
    tried, problems = run.check_oracle(oracle)
    if not tried:
        pytest.skip(f"{oracle.name}: no configuration offered by {run.framework}")
    assert not problems, "\n".join(problems)
