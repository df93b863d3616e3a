"""The results file: writer, both forms of the reader, killed runs, and the error messages."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from reports import schema
from reports.schema import SCHEMA, ResultsError, ResultsWriter, load, ulp_histogram


def test_round_trip_writer_to_loader(tmp_path, make_run, make_record):
    path = tmp_path / "run.json"
    with ResultsWriter(path, make_run(seed=3)) as writer:
        writer.mapping([{"loss": "mse_loss", "config_id": "mse_loss[mean]", "native": "f(x)"}])
        writer.record(make_record())
        writer.record(make_record(dtype="float64", verdict="mismatch", unexpected=True))
        writer.registry([{"id": "e1", "kind": "convention", "status": "stale"}])
    results = load(path)
    assert results.finished and results.run["stopped_at"] is None
    assert results.run["seed"] == 3 and results.run["python"]  # filled in by the writer
    assert [r["dtype"] for r in results.records] == ["float32", "float64"]
    assert results.records[0]["errors"] == [] and results.records[0]["worst"] is None  # defaults
    assert results.mapping[0]["not_offered"] is None
    assert results.summary["match"] == 1 and results.summary["mismatch"] == 1
    assert results.summary["unexpected"] == 1 and results.summary["stale"] == 1
    document = json.loads(path.read_text())  # the final form is one standard JSON document
    assert document["schema"] == SCHEMA and document["summary"] == results.summary


def test_later_entries_with_the_same_key_replace_earlier_ones(tmp_path, make_run, make_record):
    path = tmp_path / "run.json"
    with ResultsWriter(path, make_run()) as writer:
        writer.registry([{"id": "e1", "kind": "convention", "status": "unexercised"}])
        writer.record(make_record(verdict="crash"))
        writer.record(make_record(verdict="match"))
        writer.registry([{"id": "e1", "kind": "convention", "status": "applied"}])
    results = load(path)
    assert [r["verdict"] for r in results.records] == ["match"]
    assert [e["status"] for e in results.registry] == ["applied"]


def test_stream_read_mid_run(tmp_path, make_run, make_record):
    path = tmp_path / "run.json"
    writer = ResultsWriter(path, make_run())
    writer.progress("test_loss[mse_loss-float32]")
    writer.record(make_record())
    writer.progress("test_loss[mse_loss-float64]")
    results = load(path)  # while the writer is still open
    assert not results.finished
    assert results.run["stopped_at"] == "test_loss[mse_loss-float64]"
    assert len(results.records) == 1
    writer.close()
    assert load(path).finished


class Died(Exception):
    """The run's death, inside the writer's context: it leaves the stream unfinished."""


def write_unfinished(path, run, records) -> None:
    with pytest.raises(Died), ResultsWriter(path, run) as writer:
        for record in records:
            writer.record(record)
        raise Died


def test_stream_truncated_in_the_middle_of_a_line(tmp_path, make_run, make_record):
    path = tmp_path / "run.json"
    write_unfinished(path, make_run(), [make_record(), make_record(dtype="float64")])
    text = path.read_text()
    path.write_text(text[: len(text) - 25])  # cut into the last record
    results = load(path)
    assert [r["dtype"] for r in results.records] == ["float32"]
    assert results.run["finished"] is None


def test_a_broken_line_before_the_last_is_an_error(tmp_path, make_run, make_record):
    path = tmp_path / "run.json"
    write_unfinished(path, make_run(), [make_record()])
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[1][:20], lines[1]]) + "\n")
    with pytest.raises(ResultsError, match=r"line 2 is not JSON"):
        load(path)


def test_an_exception_inside_the_context_leaves_the_run_unfinished(tmp_path, make_run):
    path = tmp_path / "run.json"
    with pytest.raises(Died), ResultsWriter(path, make_run()) as writer:
        writer.progress("test_a")
        raise Died
    results = load(path)
    assert not results.finished and results.run["stopped_at"] == "test_a"


CHILD = """
import sys
from reports.schema import ResultsWriter
writer = ResultsWriter(sys.argv[1], {"framework": "torch", "framework_version": "2", "devices": ["cpu"]})
n = 0
while True:
    writer.progress(f"test_loss[{n}]")
    writer.record({"loss": "l", "config_id": f"l[{n}]", "dtype": "float32", "device": "cpu",
                   "mode": "eager", "verdict": "match", "examples": n, "outputs": [0.5] * 50})
    n += 1
"""


def test_a_sigkilled_writer_leaves_a_readable_file(tmp_path):
    path = tmp_path / "killed.json"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], cwd=os.getcwd())
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if path.exists() and path.read_text().count("\n") > 40:
                break
            time.sleep(0.02)
        else:
            pytest.fail("the child wrote no records")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    results = load(path)
    assert results.run["finished"] is None
    assert results.run["stopped_at"].startswith("test_loss[")
    assert len(results.records) >= 20


def test_unknown_schema_version_names_found_and_readable_versions(tmp_path):
    path = tmp_path / "future.json"
    path.write_text(json.dumps({"schema": "lossconf.results/9", "run": {}, "records": []}))
    with pytest.raises(ResultsError) as caught:
        load(path)
    message = str(caught.value)
    assert str(path) in message and "lossconf.results/9" in message and SCHEMA in message
    assert "\n" not in message


def test_unknown_schema_version_in_a_stream(tmp_path):
    path = tmp_path / "future.json"
    path.write_text('{"schema": "lossconf.results/9", "run": {}}\n{"record": {}}\n')
    with pytest.raises(ResultsError, match=r"unknown schema version 'lossconf\.results/9'"):
        load(path)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("this is not json\n", "not JSON"),
        ("", "empty"),
        ('{"records": []}', 'no "schema" field'),
        ("[1, 2, 3]", 'no "schema" field'),
        (b"\xff\xfe\x00garbage", "not JSON"),
    ],
)
def test_unusable_files_are_rejected_with_one_line(tmp_path, content, problem):
    path = tmp_path / "bad.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(ResultsError, match=problem) as caught:
        load(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(ResultsError, match="no such file"):
        load(tmp_path / "absent.json")


def test_missing_required_fields_are_named(tmp_path, make_record):
    path = tmp_path / "bad.json"
    record = make_record()
    del record["verdict"]
    document = {"schema": SCHEMA, "run": {"framework": "torch"}, "records": [record]}
    path.write_text(json.dumps(document))
    with pytest.raises(ResultsError, match="run lacks required field"):
        load(path)
    document["run"] = {
        "framework": "torch",
        "framework_version": "2",
        "devices": [],
        "started": "x",
    }
    path.write_text(json.dumps(document))
    with pytest.raises(ResultsError, match=r"records entry 0 lacks required field.*verdict"):
        load(path)


def test_unknown_verdict_is_rejected(tmp_path, make_run, make_record):
    path = tmp_path / "bad.json"
    run = {**make_run(), "started": "2026-01-01T00:00:00Z"}
    record = make_record(verdict="maybe")
    path.write_text(json.dumps({"schema": SCHEMA, "run": run, "records": [record]}))
    with pytest.raises(ResultsError, match="unknown verdict 'maybe'"):
        load(path)


def test_the_writer_rejects_incomplete_entries(tmp_path, make_run, make_record):
    with pytest.raises(ValueError, match="framework_version"):
        ResultsWriter(tmp_path / "a.json", {"framework": "torch", "devices": []})
    with ResultsWriter(tmp_path / "b.json", make_run()) as writer:
        with pytest.raises(ValueError, match="unknown verdict"):
            writer.record(make_record(verdict="fine"))


def test_nan_and_inf_round_trip_as_standard_json(tmp_path, make_run, make_record):
    path = tmp_path / "run.json"
    worst = {
        "value_ulp": math.inf,
        "value_rel": math.nan,
        "expected": -math.inf,
        "got": np.float32("nan"),
        "example": {"input": np.array([1.0, np.inf])},
    }
    with ResultsWriter(path, make_run()) as writer:
        writer.record(make_record(verdict="mismatch", worst=worst, error_value=np.float64(-np.inf)))
    text = path.read_text()

    def reject(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    json.loads(text, parse_constant=reject)
    record = load(path).records[0]
    assert record["worst"]["value_ulp"] == math.inf and record["worst"]["expected"] == -math.inf
    assert math.isnan(record["worst"]["value_rel"]) and math.isnan(record["worst"]["got"])
    assert record["worst"]["example"]["input"] == [1.0, math.inf]
    assert record["error_value"] == -math.inf


def test_nan_and_inf_round_trip_in_a_stream(tmp_path, make_run, make_record):
    path = tmp_path / "run.json"
    writer = ResultsWriter(path, make_run())
    writer.record(make_record(error_value=[math.nan, math.inf]))
    error_value = load(path).records[0]["error_value"]
    assert math.isnan(error_value[0]) and error_value[1] == math.inf
    writer.close()


def test_a_new_schema_version_can_upgrade_old_files(tmp_path, monkeypatch, make_run, make_record):
    # How /2 will keep /1 files readable: READERS maps the old version to an upgrading reader.
    def read_v0(document, name):
        document = {**document, "records": [{**r, "verdict": "match"} for r in document["cases"]]}
        return schema.READERS[SCHEMA](document, name)

    monkeypatch.setitem(schema.READERS, "lossconf.results/0", read_v0)
    path = tmp_path / "old.json"
    run = {**make_run(), "started": "2025-01-01T00:00:00Z"}
    record = make_record()
    del record["verdict"]
    path.write_text(json.dumps({"schema": "lossconf.results/0", "run": run, "cases": [record]}))
    assert load(path).records[0]["verdict"] == "match"


def test_ulp_histogram_buckets_are_upper_bounds():
    histogram = ulp_histogram([0.0, 0.4, 0.5, 0.6, 3.0, 1024.0, 1025.0, math.nan, math.inf])
    assert list(histogram) == list(schema.ULP_BUCKETS)
    assert histogram["0"] == 1 and histogram["0.5"] == 2 and histogram["1"] == 1
    assert histogram["4"] == 1 and histogram["1024"] == 1 and histogram[">1024"] == 1
    assert histogram["nonfinite"] == 2 and sum(histogram.values()) == 9


def test_fixture_files_all_load(fixtures):
    loaded = {path.name: load(path) for path in sorted(fixtures.glob("*.json"))}
    assert len(loaded) == 4
    unfinished = [name for name, results in loaded.items() if not results.finished]
    assert unfinished == ["tensorflow-2.21.0.json"]
    verdicts = {r["verdict"] for results in loaded.values() for r in results.records}
    assert verdicts == set(schema.VERDICTS)
