"""Diffing two runs of one framework: the planted changes of the torch fixtures, and the outputs."""

from __future__ import annotations

import json
import math

import pytest

from reports.diff import diff_results, format_markdown, format_text, mapping_section
from reports.schema import ResultsError, ResultsWriter, load
from reports.ulp import ulp, ulps_apart


@pytest.fixture(scope="module")
def upgrade(fixtures):
    return diff_results(load(fixtures / "torch-2.12.0.json"), load(fixtures / "torch-2.13.0.json"))


AWAY = "Values moved beyond tolerance, away from the reference"
CLOSER = "Values moved closer to the reference"
WITHIN = "Values moved within tolerance"


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
    (moved,) = rows(upgrade, AWAY)
    assert moved[:5] == ("mse_loss[mean]", "cpu float32 eager", "mse_loss/1", "value", "40 ULP")
    old_error, new_error = (float(cell.split()[0]) for cell in moved[5:7])
    assert new_error == old_error + 40
    assert moved[7:] == ("8 ULP", "old")


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
        AWAY,
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
    within = diff_results(old, write(tmp_path / "a.json", make_run, [record(16.0)]))
    assert rows(within, AWAY) == [] and within.regressions == 0
    (moved,) = rows(within, WITHIN)
    assert moved[3:] == ("grad", "–", "1 ULP", "16 ULP", "16 ULP", "old")
    (moved,) = rows(diff_results(old, write(tmp_path / "b.json", make_run, [record(18.0)])), AWAY)
    assert moved[3:] == ("grad", "–", "1 ULP", "18 ULP", "16 ULP", "old")


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
    (moved,) = rows(diff_results(old, new), AWAY)
    assert moved[4] == "4 ULP" and moved[8] == "unknown"


def test_a_null_tolerance_excuses_nothing(tmp_path, make_run, make_record):
    """Records whose examples were all explained carry {"value_ulp": null, ...} (seen in a real
    tensorflow upgrade run): an error that grew counts, nothing crashes, and a value that was not
    compared against the reference at all (no error, no bound) is movement, closer unknown."""
    null = {"value_ulp": None, "grad_ulp": None}
    record = make_record(tolerance=null, outputs=[{"id": "a", "value": 1.0, "grad_ulp": 1.0}])
    old = write(tmp_path / "old.json", make_run, [record])
    moved_record = json.loads(json.dumps(record))
    moved_record["outputs"][0].update(value=1.0 + 2.0**-23, grad_ulp=2.0)
    new = write(tmp_path / "new.json", make_run, [moved_record])
    diff = diff_results(old, new)
    (grad,) = rows(diff, AWAY)
    assert grad[3:] == ("grad", "–", "1 ULP", "2 ULP", "–", "old")
    (value,) = rows(diff, WITHIN)
    assert value[3:] == ("value", "1 ULP", "–", "–", "–", "unknown")


def test_an_examples_own_tolerance_excuses_its_move(tmp_path, make_run, make_record):
    """A convention record carries no record-level tolerance, but each corpus output carries the
    bounds of its own comparison: a 1-ULP move within a 2-ULP bound is not a regression."""
    output = {"id": "a", "value": 1.0, "tolerance": {"value_ulp": 2.0, "grad_ulp": 2.0}}
    record = make_record(tolerance={"value_ulp": None, "grad_ulp": None}, outputs=[output])
    old = write(tmp_path / "old.json", make_run, [record])
    moved_record = json.loads(json.dumps(record))
    moved_record["outputs"][0]["value"] = 1.0 + 2.0**-23
    new = write(tmp_path / "new.json", make_run, [moved_record])
    diff = diff_results(old, new)
    assert rows(diff, AWAY) == [] and len(rows(diff, WITHIN)) == 1
    moved_record["outputs"][0]["value"] = 1.0 + 3 * 2.0**-23
    new = write(tmp_path / "new.json", make_run, [moved_record])
    (moved,) = rows(diff_results(old, new), AWAY)
    assert (moved[4], moved[7]) == ("3 ULP", "2 ULP")


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


def corpus_record(make_record, dtype, value, value_ulp, tolerance, **overrides):
    output = {"id": "log_cosh/3", "value": [value], "value_ulp": value_ulp}
    return make_record(
        loss="log_cosh",
        config_id="log_cosh[mean]",
        dtype=dtype,
        tolerance=tolerance,
        outputs=[output],
        **overrides,
    )


@pytest.mark.parametrize("tolerance", [{"value_ulp": 0.0}, {"value_ulp": None}])
def test_jitter_that_matches_the_reference_on_both_sides_is_movement(
    tmp_path, make_run, make_record, tolerance
):
    """The issue's six 1-ULP moves ("moved 1 ULP, tolerance 0 ULP") whose error against the
    reference is the same before and after: listed as movement, never in the exit code."""
    old = write(
        tmp_path / "old.json",
        make_run,
        [corpus_record(make_record, "float32", 1.0, 0.5, tolerance)],
    )
    new = write(
        tmp_path / "new.json",
        make_run,
        [corpus_record(make_record, "float32", 1.0 + 2.0**-23, 0.5, tolerance)],
    )
    diff = diff_results(old, new)
    assert diff.regressions == 0 and rows(diff, AWAY) == [] and rows(diff, CLOSER) == []
    (moved,) = rows(diff, WITHIN)
    assert moved[3:6] == ("value", "1 ULP", "0.5 ULP") and moved[8] == "same"
    assert format_text(diff).splitlines()[1] == "no regressions (1 other changes)"


def log_cosh_pair(tmp_path, make_run, make_record, old_error, new_error):
    """Keras log_cosh float64 near 1e-5, moved by 512 ULP between releases."""
    x = 5e-11
    tolerance = {"value_ulp": 4.0}
    before = corpus_record(make_record, "float64", x, old_error, tolerance)
    after = corpus_record(make_record, "float64", x + 512 * ulp(x, "float64"), new_error, tolerance)
    old = write(tmp_path / "old.json", make_run, [before])
    return diff_results(old, write(tmp_path / "new.json", make_run, [after]))


def test_a_move_away_from_the_reference_beyond_tolerance_is_a_regression_naming_the_closer_release(
    tmp_path, make_run, make_record
):
    diff = log_cosh_pair(tmp_path, make_run, make_record, old_error=1.0, new_error=513.0)
    assert diff.regressions == 1
    (moved,) = rows(diff, AWAY)
    assert moved[3:] == ("value", "512 ULP", "1 ULP", "513 ULP", "4 ULP", "old")
    assert rows(diff, CLOSER) == rows(diff, WITHIN) == []


def test_a_move_towards_the_reference_is_an_improvement(tmp_path, make_run, make_record):
    diff = log_cosh_pair(tmp_path, make_run, make_record, old_error=513.0, new_error=1.0)
    assert diff.regressions == 0 and rows(diff, AWAY) == rows(diff, WITHIN) == []
    (closer,) = rows(diff, CLOSER)
    assert closer[3:] == ("value", "512 ULP", "513 ULP", "1 ULP", "4 ULP", "new")


def test_an_error_that_grows_within_tolerance_is_movement(tmp_path, make_run, make_record):
    diff = log_cosh_pair(tmp_path, make_run, make_record, old_error=0.0, new_error=4.0)
    assert diff.regressions == 0
    (moved,) = rows(diff, WITHIN)
    assert moved[5:] == ("0 ULP", "4 ULP", "4 ULP", "old")


def test_an_error_already_beyond_tolerance_regresses_only_by_growing_more_than_it(
    tmp_path, make_run, make_record
):
    """An example beyond its bound is one a registry entry explains (the real tensorflow
    upgrade has them at 1e15 ULP): jitter on top of it is movement, growth past the bound is not."""
    diff = log_cosh_pair(tmp_path, make_run, make_record, old_error=10.0, new_error=12.0)
    assert diff.regressions == 0 and len(rows(diff, WITHIN)) == 1
    (tmp_path / "b").mkdir()
    diff = log_cosh_pair(tmp_path / "b", make_run, make_record, old_error=10.0, new_error=14.5)
    assert len(rows(diff, AWAY)) == diff.regressions == 1


def test_an_error_that_crosses_the_tolerance_is_a_regression(tmp_path, make_run, make_record):
    diff = log_cosh_pair(tmp_path, make_run, make_record, old_error=3.0, new_error=5.0)
    (moved,) = rows(diff, AWAY)
    assert moved[5:] == ("3 ULP", "5 ULP", "4 ULP", "old")


def test_errors_that_are_infinite_on_both_sides_say_closer_unknown(tmp_path, make_run, make_record):
    """A NaN/inf or shape disagreement on both sides (Keras log_cosh[none] under its
    convention): the move is listed, and the diff does not claim either release is closer."""
    diff = log_cosh_pair(tmp_path, make_run, make_record, old_error=math.inf, new_error=math.inf)
    assert diff.regressions == 0
    (moved,) = rows(diff, WITHIN)
    assert moved[4:] == ("512 ULP", "inf ULP", "inf ULP", "4 ULP", "unknown")


def predicted_pair(tmp_path, make_run, make_record, old_error, new_error, bound=8.0):
    """Keras log_cosh[none] float64: a per-sample result (another shape than the reference's,
    so its error against the reference is inf on both sides) that the per-sample entry's model
    predicts; the release moved it by 512 ULP."""

    def record(value, error):
        output = {
            "id": "log_cosh/19",
            "value": [value],
            "value_ulp": math.inf,
            "prediction": {
                "value_ulp": error,
                "grad_ulp": None,
                "bound_value_ulp": bound,
                "bound_grad_ulp": None,
            },
        }
        return make_record(
            loss="log_cosh",
            config_id="log_cosh[none]",
            dtype="float64",
            tolerance={"value_ulp": None},
            outputs=[output],
            verdict="convention",
            verdicts={"convention": 1},
        )

    x = 5e-11
    old = write(tmp_path / "old.json", make_run, [record(x, old_error)])
    new = write(tmp_path / "new.json", make_run, [record(x + 512 * ulp(x, "float64"), new_error)])
    return diff_results(old, new)


def test_a_value_a_model_predicts_is_measured_against_the_prediction(
    tmp_path, make_run, make_record
):
    """The reference cannot say which release is closer (inf on both sides); the prediction
    can: 512 ULP away from it after, 0 before, beyond its 8-ULP bound — a regression."""
    diff = predicted_pair(tmp_path, make_run, make_record, old_error=0.0, new_error=512.0)
    assert diff.regressions == 1
    (moved,) = rows(diff, AWAY)
    assert moved[3:] == ("value", "512 ULP", "0 ULP", "512 ULP", "8 ULP", "old (vs prediction)")


def test_a_move_towards_the_prediction_is_an_improvement(tmp_path, make_run, make_record):
    diff = predicted_pair(tmp_path, make_run, make_record, old_error=512.0, new_error=0.0)
    assert diff.regressions == 0 and rows(diff, AWAY) == []
    (closer,) = rows(diff, CLOSER)
    assert closer[-1] == "new (vs prediction)"


def test_a_value_that_turns_nan_is_a_regression(tmp_path, make_run, make_record):
    tolerance = {"value_ulp": 4.0}
    old = write(
        tmp_path / "old.json",
        make_run,
        [corpus_record(make_record, "float32", 1.0, 0.5, tolerance)],
    )
    new = write(
        tmp_path / "new.json",
        make_run,
        [corpus_record(make_record, "float32", math.nan, math.nan, tolerance)],
    )
    (moved,) = rows(diff_results(old, new), AWAY)
    assert moved[3:] == ("value", "inf ULP", "0.5 ULP", "inf ULP", "4 ULP", "old")


def failing(make_record, verdict, known):
    return make_record(
        config_id="mse_loss[sum]",
        params={"reduction": "sum"},
        verdict=verdict,
        verdicts={verdict: 10},
        known=known,
        unexpected=not known,
    )


@pytest.mark.parametrize("before", [None, "not-offered"])
def test_a_newly_offered_known_failure_is_not_a_regression(tmp_path, make_run, make_record, before):
    old_records = [make_record()]
    if before:
        old_records.append(failing(make_record, before, False) | {"unexpected": False})
    old = write(tmp_path / "old.json", make_run, old_records)
    new = write(
        tmp_path / "new.json", make_run, [make_record(), failing(make_record, "crash", True)]
    )
    diff = diff_results(old, new)
    assert diff.regressions == 0 and rows(diff, "New failures") == []
    (row,) = rows(diff, "Newly offered, known divergence")
    assert row == ("mse_loss[sum]", "cpu float32 eager", before or "absent", "crash", "–", "known")


def test_a_newly_offered_unexpected_failure_stays_a_regression(tmp_path, make_run, make_record):
    old = write(tmp_path / "old.json", make_run, [make_record()])
    new = write(
        tmp_path / "new.json", make_run, [make_record(), failing(make_record, "mismatch", False)]
    )
    diff = diff_results(old, new)
    assert diff.regressions == 1 and rows(diff, "Newly offered, known divergence") == []
    (row,) = rows(diff, "New failures")
    assert row[2:4] == ("absent", "mismatch") and row[5] == "unexpected"


def test_a_known_failure_of_a_configuration_that_used_to_match_stays_a_regression(
    tmp_path, make_run, make_record
):
    old = write(tmp_path / "old.json", make_run, [failing(make_record, "match", True)])
    new = write(tmp_path / "new.json", make_run, [failing(make_record, "crash", True)])
    diff = diff_results(old, new)
    assert diff.regressions == 1 and len(rows(diff, "New failures")) == 1


def test_an_alternative_api_of_a_configuration_is_its_own_mapping_row(tmp_path, make_run):
    """A configuration's main call and its alternative (optax softmax_cross_entropy and
    safe_softmax_cross_entropy) are two rows: unchanged between runs, neither replaces the other."""
    rows_ = [
        {
            "loss": "cross_entropy",
            "config_id": "cross_entropy[prob-target,mean]",
            "native": "optax.losses.softmax_cross_entropy(logits, labels)",
            "composition": None,
            "not_offered": None,
        },
        {
            "loss": "cross_entropy",
            "config_id": "cross_entropy[prob-target,mean]",
            "native": "optax.losses.safe_softmax_cross_entropy(logits, labels)",
            "composition": None,
            "not_offered": None,
            "api": "optax.losses.safe_softmax_cross_entropy",
        },
    ]
    results = []
    for name, order in (("old.json", rows_), ("new.json", rows_[::-1])):
        with ResultsWriter(tmp_path / name, make_run()) as writer:
            writer.mapping(order)
        results.append(load(tmp_path / name))
    assert mapping_section(*results).rows == []
    changed = [
        dict(rows_[1], native="optax.losses.safe_softmax_cross_entropy(logits, labels, axis=-1)")
    ]
    with ResultsWriter(tmp_path / "changed.json", make_run()) as writer:
        writer.mapping([rows_[0], *changed])
    (row,) = mapping_section(results[0], load(tmp_path / "changed.json")).rows
    assert row[0] == "cross_entropy[prob-target,mean] (optax.losses.safe_softmax_cross_entropy)"


def test_runs_that_tried_invalid_shapes_at_different_dtypes_say_so(tmp_path, make_run, make_record):
    """The ci profile tries shape-breaking invalid inputs at float32 alone in modes that compile
    per shape: an invalid-input verdict can change with the selection, and the diff says so."""
    old = write(tmp_path / "old.json", make_run, [make_record()])
    scoped = {"shape_breaks": {"dtypes": ["float32"], "modes": ["eager", "jit"]}}
    new = write(tmp_path / "new.json", lambda: make_run(**scoped), [make_record()])
    assert diff_results(old, old).notes == []
    assert diff_results(old, new).notes == [
        "the runs tried the shape-breaking invalid inputs at different dtypes (every dtype → "
        "float32 only in eager, jit): an invalid-input verdict may change with that alone"
    ]


def test_runs_that_covered_dtypes_and_modes_differently_say_so(tmp_path, make_run, make_record):
    """A ci run of a two-mode framework runs each configuration at every dtype in one mode; a
    diff against a run of every dtype in every mode says why items are only in one of them."""
    old = write(tmp_path / "old.json", make_run, [make_record()])
    new = write(tmp_path / "new.json", lambda: make_run(dtype_modes="alternate"), [make_record()])
    assert diff_results(new, new).notes == []
    assert diff_results(old, new).notes == [
        "the runs covered dtypes and modes differently (every dtype in every mode → every dtype "
        "in one mode per configuration, alternating): items of only one run are listed as only "
        "in the old or the new run"
    ]


def test_runs_that_left_invalid_values_out_on_different_devices_say_so(
    tmp_path, make_run, make_record
):
    """torch on CUDA leaves the invalid values out (its kernels assert): a diff of a CPU run
    against a run with a GPU says an invalid-input verdict may change with that alone."""
    old = write(tmp_path / "old.json", make_run, [make_record()])
    scoped = {"kernel_asserts": {"devices": ["cuda:0"], "why": "CUDA_KERNEL_ASSERT"}}
    new = write(tmp_path / "new.json", lambda: make_run(**scoped), [make_record()])
    assert diff_results(new, new).notes == []
    assert diff_results(old, new).notes == [
        "the runs left the invalid values out on different devices (none → cuda:0): an "
        "invalid-input verdict may change with that alone"
    ]


def test_runs_that_replayed_different_shares_of_the_configurations_say_so(
    tmp_path, make_run, make_record
):
    """CI's upgrade diff replays every K-th configuration of each loss; a diff against a run of
    another share says why items are only in one run."""
    old = write(tmp_path / "old.json", make_run, [make_record()])
    new = write(tmp_path / "new.json", lambda: make_run(corpus_configs=4), [make_record()])
    assert diff_results(old, old).notes == []
    assert diff_results(new, new).notes == [
        "both runs replayed a share of the corpus (every 4th configuration of each loss): a "
        "change outside it is not seen"
    ]
    assert diff_results(old, new).notes == [
        "the runs replayed different shares of the configurations (every 1 → every 4 per loss): "
        "items of only one run are listed as only in the old or the new run"
    ]
    pairs = write(tmp_path / "pairs.json", lambda: make_run(corpus_pairs=3), [make_record()])
    assert diff_results(old, pairs).notes == [
        "the runs replayed different shares of the dtype and mode pairs (every 1 → every 3 per "
        "configuration): items of only one run are listed as only in the old or the new run"
    ]


def test_runs_that_replayed_the_same_share_of_the_corpus_say_which(tmp_path, make_run, make_record):
    """CI's upgrade diff compares two shares of the corpus: the page says how small they are."""
    share = {"corpus_every": 8, "corpus_configs": 16, "corpus_pairs": 3}
    old = write(tmp_path / "old.json", lambda: make_run(**share), [make_record()])
    new = write(tmp_path / "new.json", lambda: make_run(**share), [make_record()])
    assert diff_results(old, new).notes == [
        "both runs replayed a share of the corpus (every 8th case of each configuration, every "
        "16th configuration of each loss, every 3rd (dtype, mode) pair of each configuration): a "
        "change outside it is not seen"
    ]
    one = write(tmp_path / "one.json", lambda: make_run(corpus_every=1, corpus_pairs=2), [])
    assert "(every 2nd (dtype, mode) pair of each configuration)" in diff_results(one, one).notes[0]
