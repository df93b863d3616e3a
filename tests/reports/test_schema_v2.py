"""Schema lossconf.results/2 (input regimes): written by the engine, and /1 files still read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reports.schema import SCHEMA, SCHEMA_V1, ResultsWriter, load, record_key

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "reports"
V1_FILES = sorted(FIXTURES.glob("*.json"))


def test_the_schema_is_version_2():
    assert SCHEMA == "lossconf.results/2" and SCHEMA_V1 == "lossconf.results/1"


@pytest.mark.parametrize("path", V1_FILES, ids=lambda p: p.name)
def test_the_v1_fixtures_stay_v1_and_are_read_with_the_v2_fields_defaulted(path):
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert SCHEMA_V1 in first
    results = load(path)
    assert results.run["strict"] is True  # a /1 run failed on every unexplained non-match
    for record in results.records:
        assert record["regimes"] == {} and record["regime_headline"] is None
        assert record["triage"] == 0 and record["api"] is None
        assert record["failing"] is bool(record["unexpected"])


def test_a_v1_file_with_unexpected_records_reads_them_as_failing():
    results = [load(path) for path in V1_FILES]
    assert any(r["failing"] for res in results for r in res.records)


def test_a_v2_record_keeps_its_regime_fields(tmp_path):
    record = {
        "loss": "mse_loss",
        "config_id": "mse_loss[mean]",
        "dtype": "float16",
        "device": "cpu",
        "mode": "eager",
        "verdict": "mismatch",
        "regime_headline": "match",
        "regimes": {"range": {"examples": 1, "verdicts": {"mismatch": 1}, "unexpected": 1}},
        "triage": 1,
        "failing": False,
    }
    with ResultsWriter(
        tmp_path / "r.json",
        {"framework": "x", "framework_version": "1", "devices": ["cpu"], "strict": False},
    ) as writer:
        writer.record(record)
    text = (tmp_path / "r.json").read_text()
    assert json.loads(text)["schema"] == SCHEMA
    results = load(tmp_path / "r.json")
    (got,) = results.records
    assert got["regimes"] == record["regimes"] and got["triage"] == 1 and got["failing"] is False
    assert got["api"] is None and results.run["strict"] is False


def test_the_api_is_part_of_a_records_identity():
    base = {"loss": "l", "config_id": "c", "dtype": "float32", "device": "cpu", "mode": "eager"}
    assert record_key(base) == record_key({**base, "api": None})
    assert record_key({**base, "api": "optax.losses.a"}) != record_key({**base, "api": "b"})
