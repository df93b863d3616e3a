"""Diffing two runs of one framework: the planted changes of the torch fixtures, and the outputs."""

from __future__ import annotations

import json
import math

import pytest

from reports.diff import diff_results, format_markdown, format_text
from reports.schema import ResultsError, ResultsWriter, load
from reports.ulp import ulp, ulps_apart


@pytest.fixture(scope="module")
def upgrade(fixtures):
    return diff_results(load(fixtures / "torch-2.12.0.json"), load(fixtures / "torch-2.13.0.json"))


def rows(diff, title):
    return next(section.rows for section in diff.sections if section.title == title)


def test_new_mismatch_is_a_regression(upgrade):
    assert rows(upgrade, "New failures") == [
        ("huber_loss[delta=0.5,mean]", "cpu float32 jit", "match", "mismatch", "40", "unexpected")
    ]


def test_fixed_mismatch_is_listed(upgrade):
    (fixed,) = rows(upgrade, "Fixed")
    assert fixed[:4] == (
        "kl_div[batchmean,log_target=False]",
        "cpu float32 jit",
        "mismatch",
        "match",
    )


def test_value_moved_beyond_tolerance_though_both_match(upgrade):
    (moved,) = rows(upgrade, "Values moved beyond tolerance")
    assert moved[:4] == ("mse_loss[mean]", "cpu float32 eager", "mse_loss/1", "value[0]")
    assert moved[6:] == ("40 ULP", "8 ULP")


def test_newly_not_offered_is_a_regression_with_its_reason(upgrade):
    newly = rows(upgrade, "Newly not offered")
    assert {row[1] for row in newly} == {
        "cpu float64 eager",
        "cpu float32 eager",
        "cpu float32 jit",
        "cuda float32 eager",
    }
    assert all(
        row[0] == "smooth_l1_loss[beta=0,mean]" and "beta=0 is rejected" in row[5] for row in newly
    )


def test_stale_registry_entry_is_a_regression(upgrade):
    assert rows(upgrade, "Registry entries gone stale") == [
        ("torch-kl-div-jit-grad", "known-bug", "kl_div", "applied", "stale")
    ]


def test_regression_count_and_nothing_else_changed(upgrade):
    assert upgrade.regressions == 1 + 4 + 1 + 1
    assert {s.title for s in upgrade.changed} == {
        "New failures",
        "Newly not offered",
        "Values moved beyond tolerance",
        "Registry entries gone stale",
        "Fixed",
    }


def test_identical_files_have_no_changes(fixtures):
    old = load(fixtures / "torch-2.13.0.json")
    diff = diff_results(old, load(fixtures / "torch-2.13.0.json"))
    assert diff.regressions == 0 and diff.changed == []
    assert "no regressions, no changes" in format_text(diff)


def test_different_frameworks_are_refused(fixtures):
    with pytest.raises(ResultsError) as caught:
        diff_results(load(fixtures / "jax-0.10.2.json"), load(fixtures / "torch-2.13.0.json"))
    message = str(caught.value)
    assert "jax-0.10.2.json" in message and "torch-2.13.0.json" in message and "\n" not in message


def write(path, make_run, records, finish=True):
    writer = ResultsWriter(path, make_run())
    for record in records:
        writer.record(record)
    if finish:
        writer.close()
    return load(path)


def test_an_error_figure_moving_beyond_tolerance_counts(tmp_path, make_run, make_record):
    def record(grad_ulp):
        output = {"id": "mse_loss/0", "value": [1.0], "value_ulp": 0.5, "grad_ulp": grad_ulp}
        return make_record(tolerance={"value_ulp": 8.0, "grad_ulp": 16.0}, outputs=[output])

    old = write(tmp_path / "old.json", make_run, [record(1.0)])
    assert (
        rows(
            diff_results(old, write(tmp_path / "a.json", make_run, [record(16.0)])),
            "Values moved beyond tolerance",
        )
        == []
    )
    (moved,) = rows(
        diff_results(old, write(tmp_path / "b.json", make_run, [record(18.0)])),
        "Values moved beyond tolerance",
    )
    assert moved[3:] == ("grad_ulp", "1", "18", "17 ULP", "16 ULP")


def test_a_nan_output_that_stays_nan_has_not_moved(tmp_path, make_run, make_record):
    record = make_record(
        tolerance={"value_ulp": 8.0, "grad_ulp": 16.0},
        outputs=[{"id": "x/0", "value": [math.nan, math.inf], "value_ulp": math.nan}],
    )
    old = write(tmp_path / "old.json", make_run, [record])
    assert diff_results(old, write(tmp_path / "new.json", make_run, [record])).changed == []


def test_an_unfinished_new_run_is_a_regression(tmp_path, make_run, make_record):
    old = write(tmp_path / "old.json", make_run, [make_record()])
    new = write(tmp_path / "new.json", make_run, [make_record()], finish=False)
    diff = diff_results(old, new)
    assert rows(diff, "New run did not finish") == [
        (str(tmp_path / "new.json"), "before its first test")
    ]


def test_markdown_escapes_and_tabulates(upgrade):
    text = format_markdown(upgrade)
    assert text.startswith("### lossconf diff: torch 2.12.0+cpu → torch 2.13.0+cpu")
    assert "**❌ REGRESSED: 7 regressions**" in text
    assert "#### New failures (1) — regression" in text
    assert (
        "| huber_loss[delta=0.5,mean] | cpu float32 jit | match | mismatch | 40 | unexpected |"
        in text
    )


def test_text_lists_regressions_first(upgrade):
    text = format_text(upgrade)
    assert text.splitlines()[1] == "REGRESSED: 7 regressions"
    assert text.index("New failures") < text.index("Fixed")


@pytest.mark.parametrize(
    ("x", "dtype", "expected"),
    [
        (1.0, "float64", 2.0**-52),
        (1.0, "float32", 2.0**-23),
        (1.0, "float16", 2.0**-10),
        (1.0, "bfloat16", 2.0**-7),
        (0.75, "float32", 2.0**-24),
        (-3.0, "float32", 2.0**-22),
        (0.0, "float32", 2.0**-149),
        (1e-40, "float32", 2.0**-149),
        (0.0, "float16", 2.0**-24),
        (0.0, "bfloat16", 2.0**-133),
        (65504.0, "float16", 32.0),
    ],
)
def test_ulp_spacing(x, dtype, expected):
    assert ulp(x, dtype) == expected


def test_ulp_matches_numpy_spacing():
    import numpy as np

    for value in (1e-300, 3.7, 123456.0, 1e30):
        assert ulp(value, "float64") == np.spacing(np.float64(value))
        assert ulp(float(np.float32(value)), "float32") == float(np.spacing(np.float32(value)))


def test_ulps_apart_of_nonfinite_values():
    assert ulps_apart(math.nan, math.nan, "float32") == 0.0
    assert ulps_apart(math.inf, math.inf, "float32") == 0.0
    assert ulps_apart(math.inf, -math.inf, "float32") == math.inf
    assert ulps_apart(1.0, math.nan, "float32") == math.inf
    assert ulps_apart(1.0, 1.0 + 3 * 2.0**-23, "float32") == 3.0


def test_diff_reads_outputs_written_as_a_single_number(tmp_path, make_run, make_record):
    record = make_record(tolerance={"value_ulp": 1.0}, outputs=[{"id": "a", "value": 1.0}])
    old = write(tmp_path / "old.json", make_run, [record])
    moved_record = json.loads(json.dumps(record))
    moved_record["outputs"][0]["value"] = 1.0 + 4 * 2.0**-23
    new = write(tmp_path / "new.json", make_run, [moved_record])
    (moved,) = rows(diff_results(old, new), "Values moved beyond tolerance")
    assert moved[6] == "4 ULP"


def test_a_null_tolerance_excuses_nothing(tmp_path, make_run, make_record):
    """Records whose examples were all explained carry {"value_ulp": null, ...} (seen in a real
    tensorflow upgrade run): a moved value counts, and nothing crashes."""
    null = {"value_ulp": None, "grad_ulp": None}
    record = make_record(tolerance=null, outputs=[{"id": "a", "value": 1.0, "grad_ulp": 1.0}])
    old = write(tmp_path / "old.json", make_run, [record])
    moved_record = json.loads(json.dumps(record))
    moved_record["outputs"][0].update(value=1.0 + 2.0**-23, grad_ulp=2.0)
    new = write(tmp_path / "new.json", make_run, [moved_record])
    moved = rows(diff_results(old, new), "Values moved beyond tolerance")
    assert [row[3] for row in moved] == ["value[0]", "grad_ulp"]
    assert all(row[7] == "0 ULP" for row in moved)


def test_an_examples_own_tolerance_excuses_its_move(tmp_path, make_run, make_record):
    """A convention record carries no record-level tolerance, but each corpus output carries the
    bounds of its own comparison: a 1-ULP move within a 2-ULP bound is not a regression."""
    output = {"id": "a", "value": 1.0, "tolerance": {"value_ulp": 2.0, "grad_ulp": 2.0}}
    record = make_record(tolerance={"value_ulp": None, "grad_ulp": None}, outputs=[output])
    old = write(tmp_path / "old.json", make_run, [record])
    moved_record = json.loads(json.dumps(record))
    moved_record["outputs"][0]["value"] = 1.0 + 2.0**-23
    new = write(tmp_path / "new.json", make_run, [moved_record])
    assert rows(diff_results(old, new), "Values moved beyond tolerance") == []
    moved_record["outputs"][0]["value"] = 1.0 + 3 * 2.0**-23
    new = write(tmp_path / "new.json", make_run, [moved_record])
    (moved,) = rows(diff_results(old, new), "Values moved beyond tolerance")
    assert moved[6:] == ("3 ULP", "2 ULP")


def test_markdown_cells_cannot_break_the_table_or_inject_html(tmp_path, make_run, make_record):
    old = write(tmp_path / "old.json", make_run, [make_record()])
    path = tmp_path / "new.json"
    with ResultsWriter(path, make_run()) as writer:
        writer.mapping(
            [{"loss": "mse_loss", "config_id": "mse_loss[mean]", "not_offered": "a|b <img>"}]
        )
        writer.record(make_record(verdict="not-offered"))
    text = format_markdown(diff_results(old, load(path)))
    assert "a\\|b &lt;img&gt;" in text and "<img>" not in text
