"""The HTML report rendered from the fixtures: content, escaping, and nothing loaded from the net.

Drill-downs and finding details travel compressed inside the page (read_lazy unpacks them); the
v1 fixtures check that format-1 files still render, the v2 ones findings and regimes."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from reports.html import format_ulps, read_lazy, read_matrix, render_report
from reports.model import build_report
from reports.schema import ResultsWriter, load
from reports.verdicts import SYMBOLS, VERDICTS
from tests.reports.matrix_page import matrix_cells

CONFIGS = 12  # loss configurations across the fixture runs
RECORDS = 147


@pytest.fixture(scope="module")
def results(fixtures):
    return [load(path) for path in sorted(fixtures.glob("*.json"))]


@pytest.fixture(scope="module")
def page(results) -> str:
    return render_report(results)


@pytest.fixture(scope="module")
def lazy(page) -> dict[str, str]:
    return read_lazy(page)


class Elements(HTMLParser):
    """Every start tag with its attributes, and the ids in document order."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    def with_id(self, prefix: str) -> list[dict[str, str]]:
        return [attrs for _, attrs in self.tags if attrs.get("id", "").startswith(prefix)]


def section(page: str, section_id: str) -> str:
    """The HTML of one section, without the <wbr> line-break hints inside long calls."""
    start = page.index(f'id="{section_id}"')
    return page[start : page.index("</section>", start)].replace("<wbr>", "")


def test_header_lists_every_run_and_flags_the_unfinished_one(page):
    runs = section(page, "runs")
    for label in ("jax 0.10.2", "tensorflow 2.21.0", "torch 2.12.0+cpu", "torch 2.13.0+cpu"):
        assert label in runs
    assert "ci-runner-4 / AMD EPYC 7B13 / 16 cores / NVIDIA L4" in runs
    # the unfinished run is announced above everything else
    alert = page.index('role="alert"')
    assert alert < page.index('id="findings"') < page.index('id="runs"')
    assert "Run did not finish" in page[alert : page.index('id="findings"')]
    assert "test_loss[tensorflow-kl_div[batchmean,log_target=False]-cpu-float32-jit]" in page


def test_matrix_has_a_row_per_configuration_and_failing_rows_first(page):
    matrix = section(page, "matrix")
    assert "<tbody></tbody>" in matrix  # the rows are built by the page's script, from data
    data = read_matrix(page)
    names = [config_id for _, config_id, _ in data["rows"]]
    assert len(names) == CONFIGS == len(set(names))
    failing = {
        "cross_entropy[index-target,mean]",
        "kl_div[batchmean,log_target=False]",
        "huber_loss[delta=0.5,mean]",
    }
    assert set(names[:3]) == failing
    assert data["symbols"] == SYMBOLS  # every verdict shows with its symbol, not only its colour
    cells = matrix_cells(page)
    assert {cell["mark"] for cell in cells} >= set(VERDICTS)
    assert any(c["mark"] == "mismatch" and c["failing"] and not c["known"] for c in cells)
    assert any(c["mark"] == "mismatch" and c["known"] and not c["failing"] for c in cells)
    # header groups: run, device, dtype, then one mode cell per column
    assert (
        '<th scope="colgroup" colspan="4" data-run="2" class="run-start">torch 2.12.0+cpu</th>'
        in matrix
    )


def test_every_cell_has_a_drill_down(page, lazy):
    elements = Elements(page)
    assert not [a for tag, a in elements.tags if tag == "section" and a.get("class") == "drill"]
    drills = {anchor for anchor in lazy if anchor.startswith("d")}
    assert len(drills) == RECORDS
    assert {cell["anchor"] for cell in matrix_cells(page)} == drills
    for anchor in drills:
        assert f'<section class="drill" id="{anchor}"' in lazy[anchor]


def drill_down(lazy: dict[str, str], config_id: str, where: str) -> str:
    """The drill-down of ``config_id`` in the column ``where`` ("run · device · dtype · mode")."""
    (found,) = [
        html.replace("<wbr>", "")
        for html in lazy.values()
        if f"<code>{config_id}</code></h3>" in html.replace("<wbr>", "") and where in html
    ]
    return found


def test_drill_down_of_a_mismatch_has_the_facts_and_the_reproducer(lazy):
    drill = drill_down(lazy, "huber_loss[delta=0.5,mean]", "torch 2.13.0+cpu · cpu · float32 · jit")
    assert "torch.nn.functional.huber_loss(input, target, delta=0.5)" in drill
    assert "✗ mismatch 3" in drill and "✓ match 57" in drill
    assert re.search(r"<th scope=\"row\">value</th><td>40</td>", drill)
    assert 'class="copy"' in drill and "torch.compile(torch.nn.functional.huber_loss)" in drill
    assert "&#34;input&#34;: [[0.5, -1.25, 2.0]]" in drill  # the worst example, escaped
    assert "predates input regimes" in drill  # a format-1 record: its overall verdict


def test_drill_down_of_a_convention_links_its_citation(lazy):
    (drill,) = [
        html for html in lazy.values() if "Convention <code>torch-bce-log-clamp</code>" in html
    ][:1]
    assert '<a href="https://pytorch.org/docs/stable/generated/torch.nn.BCELoss.html"' in drill
    assert "<td><code>inf</code></td>" in drill  # the reference's inf, shown as a number


def test_exception_text_is_escaped(page, lazy):
    shipped = page + "".join(lazy.values())
    assert "<script>alert(1)</script>" not in shipped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in "".join(lazy.values())
    assert page.count("<script") == 3  # ours: the matrix data, the compressed data, the code


def test_matrix_data_cannot_close_its_script_element():
    from reports.html import script_json

    text = script_json({"config": "</script><script>alert(1)</script>", "ulp": 0.5})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"config": "</script><script>alert(1)</script>", "ulp": 0.5}


def test_mapping_table_is_prominent_and_complete(page):
    assert page.index('id="mapping"') < page.index('id="matrix"')
    mapping = section(page, "mapping")
    assert "optax.losses.softmax_cross_entropy_with_integer_labels(input, target)" in mapping
    assert "jnp.mean(optax.losses.huber_loss(input, target, delta=0.5))" in mapping  # composition
    assert "label_smoothing=0.1 → optax.smooth_labels(target, alpha=0.1)" in mapping  # conversion
    assert "optax has no margin ranking loss" in mapping  # a not-offered reason
    # torch versions differ only on smooth_l1_loss, so only there are versions named
    assert mapping.count('<div class="versions">') == 2


def test_both_plots_are_inline_svg(page):
    for plot in ("plot-ulp-histogram", "plot-error-vs-size"):
        figure = page[
            page.index(f'id="{plot}"') : page.index("</figure>", page.index(f'id="{plot}"'))
        ]
        assert "<svg" in figure and "</svg>" in figure
        assert "<?xml" not in figure and "<!DOCTYPE" not in figure


def test_v1_findings_are_the_records_entries_and_unexpected_failures(page, results):
    report = build_report(results)
    kinds = [(f.rank_name, f.title) for f in report.findings]
    # the unexpected failure first (a format-1 file's unexpected records failed their run),
    # then crashes, known bugs, conventions; each registry entry once, whichever cells it explained
    assert kinds[0] == ("unexplained on ordinary inputs", "huber_loss · value: beyond tolerance")
    ranks = [finding.rank for finding in report.findings]
    assert ranks == sorted(ranks) and set(ranks) == {0, 3, 4}
    # the tensorflow crash no entry explains failed its run too: it ranks with ordinary inputs
    assert kinds[1] == (
        "unexplained on ordinary inputs",
        "kl_div · behaviour: raised on valid input",
    )
    titles = [title for _, title in kinds]
    assert titles.count("torch-bce-log-clamp") == 1 and "jax-oob-class-index" in titles
    findings = section(page, "findings")
    assert "predate input regimes" in findings
    assert page.index('id="findings"') < page.index('id="summary"') < page.index('id="matrix"')


def test_summary_counts_marks_per_run_and_lists_stale_entries(page):
    summary = section(page, "summary")
    assert "torch-kl-div-jit-grad" in summary
    assert summary.index("fails the run") < summary.index("Stale registry entries")
    assert summary.count('<span class="badge predates"') == 4  # every v1 run says so


def test_nothing_is_loaded_from_the_network(page, lazy):
    for tag, attrs in Elements(page + "".join(lazy.values())).tags:
        for name in ("src", "href", "xlink:href", "data", "poster", "srcset"):
            value = attrs.get(name, "")
            if re.match(r"\s*(https?:)?//", value):
                assert tag == "a", f"<{tag} {name}={value!r}> loads from the network"
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", page)
    assert "<link" not in page and "<iframe" not in page


def test_a_planted_javascript_link_is_not_rendered_as_a_link(tmp_path, make_run, make_record):
    path = tmp_path / "evil.json"
    divergence = {
        "id": "x",
        "kind": "convention",
        "description": "d",
        "citation": "javascript:alert(1)",
    }
    with ResultsWriter(path, make_run()) as writer:
        writer.record(make_record(verdict="convention", divergence=divergence))
    page = render_report([load(path)])
    shipped = page + "".join(read_lazy(page).values())
    assert 'href="javascript:' not in shipped
    assert "javascript:alert(1)" in shipped  # still shown, as text


def test_results_without_plot_data_still_render(tmp_path, make_run, make_record):
    path = tmp_path / "bare.json"
    with ResultsWriter(path, make_run()) as writer:
        writer.record(make_record())
    page = render_report([load(path)])
    assert "These results carry no ULP histograms." in page and "<svg" not in page


def test_mapping_entries_are_shared_between_versions_that_agree(results):
    report = build_report(results)
    huber = next(row for row in report.mapping if row.config_id == "huber_loss[delta=0.5,mean]")
    assert [labels for labels, _ in huber.by_framework["torch"]] == [
        "torch 2.12.0+cpu, torch 2.13.0+cpu"
    ]
    smooth = next(row for row in report.mapping if row.loss == "smooth_l1_loss")
    assert len(smooth.by_framework["torch"]) == 2


def test_columns_are_grouped_by_run_device_dtype_mode(results):
    report = build_report(results)
    torch = [c for c in report.columns if c.run.label == "torch 2.13.0+cpu"]
    assert [(c.device, c.dtype, c.mode) for c in torch] == [
        ("cpu", "float64", "eager"),
        ("cpu", "float32", "eager"),
        ("cpu", "float32", "jit"),
        ("cuda", "float32", "eager"),
    ]
    assert [c.starts_run for c in torch] == [True, False, False, False]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (0.0, "0"),
        (0.5, "0.5"),
        (1.5, "1.5"),
        (12.0, "12"),
        (4321.0, "4.32k"),
        (2.5e6, "2e+06"),
        (float("inf"), "∞"),
        (float("nan"), "nan"),
    ],
)
def test_cell_error_text_is_short(value, text):
    assert format_ulps(value) == text


def test_lazy_data_round_trips_through_its_shared_tables():
    from reports.html import pack_lazy

    repeated = '  <p class="note">a note shared by several drill-downs</p>'
    sections = {
        "d0-0": f'<section>\n{repeated}\n<pre id="r1"><code>import torch\nx = 1</code></pre>\n',
        "d0-1": f'{repeated}\n{repeated}\n<pre class="data">[1, 2]</pre>',
        "d1-0": f'<pre id="r2"><code>import torch\nx = 1</code></pre>\n{repeated}',
        "f0": "",
        "f1": "\n\n",
    }
    page = f'<script type="application/octet-stream" id="lazy-data">{pack_lazy(sections)}</script>'
    assert read_lazy(page) == sections


def test_the_runs_table_says_which_runs_ran_one_mode_per_dtype(tmp_path, make_run, make_record):
    """A ci run of a two-mode framework leaves half of its matrix's cells empty: the runs table
    says why, and only for that run."""
    pages = {}
    for name, extra in (("alternate", {"dtype_modes": "alternate"}), ("every", {})):
        path = tmp_path / f"{name}.json"
        with ResultsWriter(path, make_run(**extra)) as writer:
            writer.record(make_record())
        pages[name] = render_report([load(path)])
    line = "one mode per configuration and dtype (alternating): empty cells did not run"
    assert line in pages["alternate"] and line not in pages["every"]
