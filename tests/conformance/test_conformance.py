"""Conformance of one framework's native losses to the float64 reference (engine: cases.run).

A test fails only for what is *unexpected*: a mismatch, error-mismatch or crash that no registry
entry explains. Every comparison is recorded in the results file; registry entries that no longer
reproduce fail the session once every item has run (conftest.py, pytest_sessionfinish).
"""

from __future__ import annotations

import pytest


def test_conformance(item, run):
    result = run.run_item(item)
    if result.not_offered is not None:
        pytest.skip(f"not offered by {run.framework}: {result.not_offered}")
    if result.failure:
        pytest.fail(result.failure, pytrace=False)


def test_oracle(oracle, oracle_loss, run):
    """Identities that need no reference (γ=0 focal is BCE, masking is slicing, …), float64 eager;
    one test per oracle and loss (conftest.py parametrises the pairs)."""
    tried, problems = run.check_oracle(oracle, [oracle_loss])
    if not tried:
        pytest.skip(f"{oracle.name}: no configuration of {oracle_loss} offered by {run.framework}")
    assert not problems, "\n".join(problems)
