"""Results format 2 in the report: findings, the ordinary-inputs mark, per-regime drill-downs,
API and backend columns, plots that keep non-finite disagreements apart, the per-regime diff and
the log_cosh upgrade case that must be called a regression or an improvement."""

from __future__ import annotations

import json
import math
import re

import pytest

from reports import plots
from reports.diff import diff_results, format_text
from reports.html import read_lazy, render_report
from reports.model import REGIME_LETTERS, build_report, describe_signature, v1_signature
from reports.schema import REGIMES, ResultsWriter, load
from reports.summary import findings_lines
from reports.ulp import ulp
from tests.reports.matrix_page import matrix_cells


@pytest.fixture(scope="module")
def v2(fixtures):
    return [load(path) for path in sorted((fixtures / "v2").glob("*.json"))]


@pytest.fixture(scope="module")
def report(v2):
    return build_report(v2)


@pytest.fixture(scope="module")
def page(v2):
    return render_report(v2)


def test_regime_names_are_the_references():
    regimes = pytest.importorskip("reference.regimes")
    assert REGIMES == tuple(regimes.REGIMES)
    assert set(REGIME_LETTERS) == set(REGIMES)


def test_findings_one_row_per_behaviour_most_important_first(report):
    rows = [(f.rank_name, f.title, f.examples) for f in report.findings]
    assert rows == [
        (
            "unexplained on ordinary inputs",
            "mse_loss · ordinary · value: dtype differs from the inputs' dtype",
            60,
        ),
        ("unexplained on ordinary inputs", "huber_loss · ordinary · value: beyond tolerance", 3),
        ("crash", "multilabel_margin_loss/half-not-implemented", 40),
        ("crash", "poisson_nll_loss · boundary · behaviour: raised on valid input", 2),
        (
            "unexplained: to triage",
            "cross_entropy · boundary · gradient of input: NaN where the reference is finite",
            4,
        ),
        (
            "unexplained: to triage",
            "cross_entropy · special · value: NaN where the reference is finite",
            1,
        ),
        (
            "unexplained: to triage",
            "mse_loss · range · value: ±inf where the reference is finite",
            1,
        ),
        (
            "unexplained: to triage",
            "triplet_margin_loss · kink · gradient of anchor: beyond tolerance",
            4,
        ),
        (
            "unexplained: to triage",
            "cross_entropy · invalid · behaviour: a number where the reference rejects the input",
            4,
        ),
        ("known bug", "kl_div/nan-at-minus-inf-input", 1),
        ("convention", "binary_cross_entropy/log-clamp", 24),
        ("convention", "mse_loss/broadcasts-shapes", 16),
    ]


def test_a_finding_gathers_its_runs_dtypes_configurations_and_worst_example(report):
    clamp = next(f for f in report.findings if f.title == "binary_cross_entropy/log-clamp")
    assert list(clamp.runs) == ["torch 2.13.0+cpu", "torch 2.14.0+cpu"]
    assert clamp.ordered_dtypes == ["float64", "float32"] and clamp.ordered_modes == ["eager"]
    assert clamp.ordered_configs == ["binary_cross_entropy[mean]"]
    assert clamp.regime_list == [("boundary", 24)]
    assert clamp.citation == "https://pytorch.org/docs/stable/generated/torch.nn.BCELoss.html"
    assert clamp.worst_regime == "boundary" and clamp.worst["label"] == "edge:probability exactly 0"
    assert "import torch" in clamp.reproducer
    # the unexplained jax finding spans both APIs of the configuration
    invalid = next(f for f in report.findings if "invalid" in f.title)
    assert invalid.apis == {"optax.losses.safe_softmax_cross_entropy"}
    assert invalid.worst_cell.record["loss"] == "cross_entropy"


def cell(report, run_label, config_id, dtype, api=None):
    (found,) = [
        c
        for c in report.cells
        if c.column.run.label == run_label
        and c.record["config_id"] == config_id
        and c.record["dtype"] == dtype
        and c.column.api == api
    ]
    return found


def test_the_mark_is_the_ordinary_inputs_verdict(report):
    kl = cell(report, "torch 2.13.0+cpu", "kl_div[mean]", "float64")
    assert (kl.headline, kl.verdict) == ("match", "mismatch")  # the kl_div case
    assert [(m.letter, m.findings, m.unexplained) for m in kl.regime_marks] == [("S", 1, 0)]
    assert not kl.failing and not kl.known_failure
    huber = cell(report, "torch 2.13.0+cpu", "huber_loss[delta=0.5,mean]", "float32")
    assert huber.headline == "mismatch" and huber.failing
    crash = cell(report, "torch 2.13.0+cpu", "multilabel_margin_loss[mean]", "float16")
    assert crash.headline == "crash" and crash.known_failure and not crash.failing
    ce = cell(
        report,
        "torch 2.13.0+cpu",
        "cross_entropy[index-target,weight,ignore_index=-100,mean]",
        "float32",
    )
    assert ce.headline == "match" and ce.triage == 1
    assert [(m.letter, m.unexplained) for m in ce.regime_marks] == [("B", 1)]
    assert report.verdict_totals["match"] == 26


def test_matrix_cells_show_mark_and_regime_letters(page, report):
    cells = {cell["anchor"]: cell for cell in matrix_cells(page)}
    kl = cells[cell(report, "torch 2.13.0+cpu", "kl_div[mean]", "float64").anchor]
    assert kl["mark"] == "match" and kl["regimes"] == ["S1"] and kl["err"]
    regimes = {mark for each in cells.values() for mark in each["regimes"]}
    assert {"!B1", "!K1"} <= regimes  # "!": some unexplained, drawn red
    assert any(each["triage"] == 1 for each in cells.values())
    assert any(each["failing"] for each in cells.values())
    matrix = page[page.index('id="matrix"') : page.index("</section>", page.index('id="matrix"'))]
    assert "predates" not in matrix  # every run here has regimes


def test_columns_name_the_api_and_the_keras_backend(report, page):
    labels = [[group.label for group in row] for row in report.header_rows]
    assert labels[0] == [
        "jax 0.10.2",
        "keras 3.15.1 · jax 0.10.2",
        "torch 2.13.0+cpu",
        "torch 2.14.0+cpu",
    ]
    assert labels[1][:2] == ["default API", "optax.losses.safe_softmax_cross_entropy"]
    assert ">keras 3.15.1 · jax 0.10.2</th>" in page


def test_drill_down_shows_regimes_worst_examples_and_prediction(report, page):
    lazy = read_lazy(page)
    bce = lazy[cell(report, "torch 2.13.0+cpu", "binary_cross_entropy[mean]", "float64").anchor]
    rows = re.findall(r'<tr class="regime-(\w+)">', bce)
    assert rows == ["ordinary", "boundary"]
    assert "Convention <code>binary_cross_entropy/log-clamp</code>" in bce
    assert 'Worst example · <span class="regime-name">boundary</span>' in bce
    assert "vs prediction, ULP" in bce  # the entry's predicted output, next to the reference's
    # reproducers come with the regimes where an example differed, not the all-match ordinary
    assert bce.count('class="repro"') == 1
    clean = lazy[cell(report, "keras 3.15.1 · jax 0.10.2", "mse_loss[mean]", "float32").anchor]
    assert clean.count('class="repro"') == 1  # nothing differed: the ordinary one's
    assert "predates input regimes" not in bce


def test_finding_details_carry_the_worst_example_and_reproducer(report, page):
    lazy = read_lazy(page)
    for finding in report.findings:
        detail = lazy[finding.anchor]
        assert f'href="#{finding.worst_cell.anchor}"' in detail
        assert ('class="repro"' in detail) == bool(finding.reproducer)


def test_findings_section_comes_first_with_its_ranks(page):
    assert page.index('id="findings"') < page.index('id="summary"') < page.index('id="matrix"')
    findings = page[
        page.index('id="findings"') : page.index("</section>", page.index('id="findings"'))
    ]
    assert findings.count('<tr class="finding') == 12
    assert re.findall(r'data-rank="(\d)"', findings) == list("001122222344")


def test_a_mixed_report_says_which_files_predate_regimes(v2, fixtures):
    page = render_report([*v2, load(fixtures / "jax-0.10.2.json")])
    assert "jax 0.10.2 #2: this file predates input regimes" in page


def test_summary_lists_the_findings(v2, cli, fixtures):
    lines = [line.plain for line in findings_lines(v2)]
    assert len(lines) == 12
    assert lines[0].startswith("  1. [unexplained on ordinary inputs] mse_loss · ordinary")
    assert (
        "binary_cross_entropy/log-clamp — boundary 24 — torch 2.13.0+cpu, torch 2.14.0+cpu"
        in lines[10]
    )
    process = cli("summary", fixtures / "v2")
    assert process.returncode == 0, process.stderr
    assert "Findings (12), most important first:" in process.stdout


@pytest.mark.parametrize(
    ("worst", "verdict", "signature"),
    [
        ({"expected": 1.0, "got": math.nan, "part": "value"}, "mismatch", "value|nan-where-finite"),
        ({"expected": [1.0, 2.0], "got": [1.0, math.inf]}, "mismatch", "value|inf-where-finite"),
        (
            {"expected": math.inf, "got": 50.3, "part": "value"},
            "convention",
            "value|finite-where-nonfinite",
        ),
        ({"expected": math.inf, "got": math.nan}, "mismatch", "value|nonfinite-differs"),
        (
            {"expected": 1.0, "got": 1.1, "part": "grad:input"},
            "mismatch",
            "grad:input|beyond-tolerance",
        ),
        ({"part": "shape"}, "mismatch", "value|shape"),
        (None, "crash", "error|raised-on-valid"),
        (None, "error-mismatch", "error|accepted-invalid"),
    ],
)
def test_a_format_1_record_gets_a_signature_from_its_numbers(worst, verdict, signature):
    assert v1_signature({"worst": worst, "verdict": verdict}) == signature


def test_signatures_read_as_words():
    assert describe_signature("grad:input|nan-where-finite") == (
        "gradient of input: NaN where the reference is finite"
    )
    assert describe_signature("value|dtype") == "value: dtype differs from the inputs' dtype"


def test_plots_keep_non_finite_disagreements_apart(v2):
    report = build_report(v2)
    histogram = plots.ulp_histogram_svg(report.runs)
    assert "non-finite" in histogram
    scatter = plots.error_size_svg(report.runs)
    # the fixtures' 3e120-ULP samples sit in the off-scale band; the axis stops at 10^6-10^7
    assert "beyond 10⁶ ULP" in scatter and "non-finite, not plotted" in scatter
    exponents = [int(e) for e in re.findall(r"font-size: 6\.3px[^>]*>(\d+)<", scatter)]
    assert exponents and max(exponents) <= 7


# --- the per-regime diff -------------------------------------------------------------------


def rows(diff, title):
    return next(section.rows for section in diff.sections if section.title == title)


@pytest.fixture(scope="module")
def upgrade(fixtures):
    return diff_results(
        load(fixtures / "v2" / "torch-2.13.0.json"), load(fixtures / "v2" / "torch-2.14.0.json")
    )


def test_a_new_unexplained_signature_in_a_regime_is_a_regression(upgrade):
    (row,) = rows(upgrade, "New failures per regime")
    assert row[:3] == ("mse_loss[mean]", "cpu float16 eager", "range")
    assert row[3] == "match (3)" and "unexplained value|inf-where-finite" in row[4]
    assert upgrade.regressions == 2  # and the kl_div entry that went stale
    assert format_text(upgrade).splitlines()[1] == "REGRESSED: 2 regressions"


def test_regimes_that_got_better_are_fixed_and_unchanged_ones_unlisted(upgrade):
    fixed = rows(upgrade, "Fixed per regime")
    assert [(r[0], r[2], r[5]) for r in fixed] == [
        ("huber_loss[delta=0.5,mean]", "ordinary", "mismatch → match"),
        ("kl_div[mean]", "special", "mismatch → match"),
    ]
    assert rows(upgrade, "Regime verdicts moved") == []
    assert rows(upgrade, "New failures") == rows(upgrade, "Fixed") == []  # not per record too


def test_a_corpus_value_names_its_regime_and_the_closer_release(upgrade):
    (row,) = rows(upgrade, "Values moved closer to the reference")
    assert row[2:] == ("mse_loss/1 (ordinary)", "value", "3 ULP", "3 ULP", "0 ULP", "8 ULP", "new")


def write(path, make_run, records):
    with ResultsWriter(path, make_run()) as writer:
        for record in records:
            writer.record(record)
    return load(path)


def regime_record(make_record, ordinary, **overrides):
    return make_record(
        verdict="match",
        regime_headline="match",
        regimes={"ordinary": ordinary},
        **overrides,
    )


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        # an explained failure appearing where every example matched: a regression, as per record
        ({"match": 4}, {"match": 3, "mismatch": 1}, "New failures per regime"),
        ({"match": 3, "crash": 1}, {"match": 4}, "Fixed per regime"),
        ({"match": 3, "convention": 1}, {"match": 2, "convention": 2}, "Regime verdicts moved"),
    ],
)
def test_a_regimes_verdict_counts_classify_its_change(
    tmp_path, make_run, make_record, before, after, kind
):
    def part(verdicts):
        differing = sum(n for v, n in verdicts.items() if v != "match")
        explained = {"mse_loss/x": differing} if differing else {}
        return {
            "examples": 4,
            "verdicts": verdicts,
            "unexpected": 0,
            "explained_by": explained,
            "signatures": {},
        }

    old = write(tmp_path / "old.json", make_run, [regime_record(make_record, part(before))])
    new = write(tmp_path / "new.json", make_run, [regime_record(make_record, part(after))])
    diff = diff_results(old, new)
    (row,) = rows(diff, kind)
    assert row[2] == "ordinary"
    assert diff.regressions == (1 if kind == "New failures per regime" else 0)


def test_a_regime_first_reached_with_a_known_failure_is_not_a_regression(
    tmp_path, make_run, make_record
):
    ordinary = {
        "examples": 4,
        "verdicts": {"match": 4},
        "unexpected": 0,
        "explained_by": {},
        "signatures": {},
    }
    special = {
        "examples": 1,
        "verdicts": {"mismatch": 1},
        "unexpected": 0,
        "explained_by": {"x/y": 1},
        "signatures": {},
    }
    old = write(tmp_path / "old.json", make_run, [regime_record(make_record, ordinary)])
    record = regime_record(make_record, ordinary)
    record["regimes"]["special"] = special
    new = write(tmp_path / "new.json", make_run, [record])
    diff = diff_results(old, new)
    assert diff.regressions == 0
    (row,) = rows(diff, "Regime verdicts moved")
    assert row[2] == "special" and row[5] == "newly exercised, known divergence"


# --- issue 15: the Keras log_cosh float64 change between tensorflow 2.20 and 2.21 ----------


def log_cosh_record(make_record, value, expected, verdict="mismatch"):
    """Keras log_cosh float64 near 1e-5: a known bug (log 2 rounded to float32) puts every
    example ~1e12 ULP off, and a value NaN elsewhere in the batch makes the comparison's own
    error inf on both sides; the first numbers and the reference's say which side is closer."""
    output = {
        "id": "log_cosh/17",
        "value": [value, math.nan],
        "expected": [expected, math.nan],
        "value_ulp": math.inf,
        "grad_ulp": 0.0,
        "tolerance": {"value_ulp": 4.0, "grad_ulp": 8.0},
        "regime": "ordinary",
    }
    return make_record(
        loss="log_cosh",
        config_id="log_cosh[none]",
        dtype="float64",
        verdict=verdict,
        known=True,
        tolerance={"value_ulp": 4.0, "grad_ulp": 8.0},
        outputs=[output],
    )


@pytest.mark.parametrize(("step", "kind"), [(512, "away"), (-512, "closer")])
def test_the_log_cosh_move_is_a_regression_or_an_improvement_never_unknown(
    tmp_path, make_run, make_record, step, kind
):
    expected = 1.2345e-5
    old_value = expected + 2e-9  # the float32-rounded log 2: ~1e12 ULP of float64 off
    new_value = old_value + step * ulp(old_value, "float64")
    old = write(
        tmp_path / "old.json", make_run, [log_cosh_record(make_record, old_value, expected)]
    )
    new = write(
        tmp_path / "new.json", make_run, [log_cosh_record(make_record, new_value, expected)]
    )
    diff = diff_results(old, new)
    title = {
        "away": "Values moved beyond tolerance, away from the reference",
        "closer": "Values moved closer to the reference",
    }[kind]
    (row,) = rows(diff, title)
    assert row[2] == "log_cosh/17 (ordinary)" and row[4] == "512 ULP"
    assert row[8] == ("old" if kind == "away" else "new")
    assert "unknown" not in format_text(diff)
    assert diff.regressions == (1 if kind == "away" else 0)


def test_without_reference_numbers_an_undecided_move_stays_unknown(tmp_path, make_run, make_record):
    before = log_cosh_record(make_record, 1.0, 1.0)
    after = json.loads(json.dumps(log_cosh_record(make_record, 1.0 + 2.0**-40, 1.0)))
    for record in (before, after):
        del record["outputs"][0]["expected"]
    old = write(tmp_path / "old.json", make_run, [before])
    diff = diff_results(old, write(tmp_path / "new.json", make_run, [after]))
    (row,) = rows(diff, "Values moved within tolerance")
    assert row[8] == "unknown"


# --- one behaviour on several losses is one finding ------------------------------------------------


def _explained_record(make_record, loss, entry_id, count=2):
    part = {
        "examples": 4,
        "verdicts": {"match": 4 - count, "convention": count},
        "unexpected": 0,
        "explained_by": {entry_id: count},
        "signatures": {},
        "worst": {"value_ulp": 0.0, "grad_ulp": 0.0, "divergence_id": entry_id},
    }
    return make_record(
        loss=loss,
        config_id=f"{loss}[{entry_id.split('/')[1]}]",
        verdict="convention",
        regime_headline="convention",
        regimes={"ordinary": part},
    )


def _entry(entry_id, kind="convention"):
    loss = entry_id.split("/")[0]
    return {
        "id": entry_id,
        "kind": kind,
        "loss": loss,
        "description": f"{loss} broadcasts its arguments",
        "citation": f"https://example.org/{loss}",
        "status": "active",
        "examples": 2,
    }


def test_one_behaviour_on_several_losses_is_one_finding_listing_its_entries(
    tmp_path, make_run, make_record
):
    """Registry ids are loss/behaviour: one framework's entries of one behaviour and kind (Keras'
    per-sample reduction on eight losses) make one row, titled by the behaviour, with each loss
    and each entry's citation; another kind or another behaviour stays its own row."""
    ids = ["mse_loss/broadcasts", "huber_loss/broadcasts", "l1_loss/broadcasts", "mse_loss/other"]
    path = tmp_path / "torch.json"
    with ResultsWriter(path, make_run()) as writer:
        for entry_id in ids:
            writer.record(_explained_record(make_record, entry_id.split("/")[0], entry_id))
        writer.record(_explained_record(make_record, "kl_div", "kl_div/broadcasts"))
        writer.registry([_entry(i) for i in ids] + [_entry("kl_div/broadcasts", kind="known-bug")])
    report = build_report([load(path)])
    titles = sorted(f.title for f in report.findings)
    assert titles == ["broadcasts · 3 losses", "kl_div/broadcasts", "mse_loss/other"]
    (group,) = [f for f in report.findings if f.title == "broadcasts · 3 losses"]
    assert group.ordered_losses == ["huber_loss", "l1_loss", "mse_loss"]
    assert [e["id"] for e in group.ordered_entries] == sorted(ids[:3])
    assert group.examples == 6 and group.entry["id"] == "huber_loss/broadcasts"
    page = render_report([load(path)])
    detail = read_lazy(page)[group.anchor]
    for entry_id in ids[:3]:
        loss = entry_id.split("/")[0]
        assert f"<code>{entry_id}</code>: {loss} broadcasts its arguments" in detail
        assert f'href="https://example.org/{loss}"' in detail
