"""Shared paths and helpers for the reports tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "reports"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def cli():
    """Run ``python -m reports ARGS`` from the repository root; returns the CompletedProcess."""

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "reports", *map(str, args)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def _run_header(**overrides) -> dict:
    return {"framework": "torch", "framework_version": "2.13.0", "devices": ["cpu"], **overrides}


def _record(**overrides) -> dict:
    return {
        "loss": "mse_loss",
        "family": "regression",
        "config_id": "mse_loss[mean]",
        "params": {"reduction": "mean"},
        "dtype": "float32",
        "device": "cpu",
        "mode": "eager",
        "verdict": "match",
        "examples": 10,
        "verdicts": {"match": 10},
        **overrides,
    }


@pytest.fixture
def make_run():
    """A minimal valid run header; keyword arguments override or add fields."""
    return _run_header


@pytest.fixture
def make_record():
    """A minimal valid record (mse_loss, float32, cpu, eager, match); keywords override."""
    return _record
