"""reports merge: the shards of one run joined, and anything else refused in one line."""

from __future__ import annotations

import json

import pytest

from reports import cli
from reports.merge import merge_documents
from reports.schema import SCHEMA, ResultsError


def shard(index: int, count: int = 2, **run) -> dict:
    record = {
        "loss": "mse_loss",
        "config_id": f"mse_loss[c{index}]",
        "dtype": "float32",
        "device": "cpu",
        "mode": "eager",
        "verdict": "match",
        "item_index": index - 1,
    }
    return {
        "schema": SCHEMA,
        "run": {
            "framework": "torch",
            "framework_version": "2.13.0",
            "devices": ["cpu"],
            "profile": "ci",
            "seed": 0,
            "started": f"2026-12-02T00:00:0{index}Z",
            "finished": f"2026-12-02T00:01:0{index}Z",
            "stopped_at": None,
            "shard": {"index": index, "count": count},
            **run,
        },
        "mapping": [{"loss": "mse_loss", "config_id": record["config_id"]}],
        "records": [record],
        "registry": [
            {"id": "e", "kind": "convention", "status": "applied", "applied": 1, "diverged": d}
            for d in [index - 1]
        ],
    }


def test_records_come_back_in_the_whole_runs_order_and_counts_add_up():
    merged = merge_documents([shard(2), shard(1)], ["b", "a"])
    assert [r["item_index"] for r in merged["records"]] == [0, 1]
    assert [m["config_id"] for m in merged["mapping"]] == ["mse_loss[c1]", "mse_loss[c2]"]
    (entry,) = merged["registry"]
    assert (entry["applied"], entry["diverged"], entry["status"]) == (2, 1, "applied")
    assert "shard" not in merged["run"] and merged["run"]["merged_shards"] == 2
    assert merged["run"]["started"].endswith("00:00:01Z")


def test_an_entry_that_applied_and_diverged_in_no_shard_is_stale():
    documents = [shard(1), shard(2)]
    for document in documents:
        document["registry"][0].update(diverged=0, status="stale")
    assert merge_documents(documents, ["a", "b"])["registry"][0]["status"] == "stale"
    documents[1]["registry"][0]["status"] = "imprecise"  # its own example still diverges
    assert merge_documents(documents, ["a", "b"])["registry"][0]["status"] == "imprecise"


@pytest.mark.parametrize(
    ("documents", "message"),
    [
        ([shard(1), shard(2, framework_version="2.12.0")], "b: not a shard of the same run as a"),
        ([shard(1), shard(2, profile="default")], "(profile 'default' vs 'ci')"),
        ([shard(1), shard(1)], "a: the run has 2 shards; shard 1 given twice"),
        ([shard(1, 3), shard(2, 3)], "a: the run has 3 shards; shard(s) [3] missing"),
        ([shard(1), shard(2, 3)], "b: shard 2 of 3, but a is one of 2"),
        ([shard(1), {**shard(2), "run": {**shard(2)["run"], "shard": None}}], "b: not a shard"),
    ],
)
def test_files_that_are_not_the_shards_of_one_run_are_refused(documents, message):
    with pytest.raises(ResultsError) as raised:
        merge_documents(documents, ["a", "b"])
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_the_merge_command_writes_the_run_and_refuses_in_one_line_with_exit_2(tmp_path, capsys):
    for i in (1, 2):
        (tmp_path / f"s{i}.json").write_text(json.dumps(shard(i)))
    assert cli.main(["merge", str(tmp_path), "-o", str(tmp_path / "out" / "run.json")]) == 0
    assert "2 shards, 2 records" in capsys.readouterr().out
    (tmp_path / "s2.json").write_text(json.dumps(shard(2, framework="jax")))
    assert cli.main(["merge", str(tmp_path / "s*.json"), "-o", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not a shard of the same run" in err
    assert err.count("\n") == 1


def test_html_and_diff_read_the_shards_of_a_run_as_that_run(tmp_path, capsys):
    for i in (1, 2):
        (tmp_path / f"s{i}.json").write_text(json.dumps(shard(i)))
    (runs,) = [cli.load_all([str(tmp_path)])]
    assert len(runs) == 1 and len(runs[0].records) == 2
    assert cli.one_run(str(tmp_path)).run["merged_shards"] == 2
