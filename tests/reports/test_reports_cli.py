"""``python -m reports``: the three commands, and one clean line with status 2 for bad input."""

from __future__ import annotations

import json

import pytest

from reports.schema import SCHEMA


def assert_unusable(process, *needles):
    assert process.returncode == 2, process.stderr
    assert "Traceback" not in process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    for needle in needles:
        assert needle in lines[0]


def test_help(cli):
    process = cli("--help")
    assert process.returncode == 0
    for command in ("html", "diff", "summary"):
        assert command in process.stdout


def test_html_from_a_directory(cli, fixtures, tmp_path):
    out = tmp_path / "nested" / "index.html"
    process = cli("html", fixtures, "-o", out)
    assert process.returncode == 0, process.stderr
    assert "4 runs, 147 records" in process.stdout
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_html_from_a_glob(cli, fixtures, tmp_path):
    out = tmp_path / "torch.html"
    process = cli("html", f"{fixtures}/torch-*.json", "-o", out)
    assert process.returncode == 0, process.stderr
    assert "2 runs" in process.stdout


def test_html_without_results_files(cli, tmp_path):
    assert_unusable(cli("html", "-o", tmp_path / "x.html"), "no results files")
    empty = tmp_path / "results"
    empty.mkdir()
    assert_unusable(cli("html", empty, "-o", tmp_path / "x.html"), str(empty), "no results files")
    assert_unusable(cli("html", f"{empty}/*.json", "-o", tmp_path / "x.html"), "no file matches")
    assert not (tmp_path / "x.html").exists()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not json at all", "not JSON"),
        (json.dumps({"schema": "lossconf.results/7", "run": {}}), "unknown schema version"),
        (
            json.dumps({"schema": SCHEMA, "run": {"framework": "x"}, "records": []}),
            "required field",
        ),
        (json.dumps({"hello": "world"}), "not a lossconf results file"),
    ],
)
@pytest.mark.parametrize("command", ["html", "summary", "diff"])
def test_bad_input_is_one_line_and_status_2(cli, fixtures, tmp_path, content, problem, command):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    if command == "html":
        process = cli("html", bad, "-o", tmp_path / "x.html")
    elif command == "summary":
        process = cli("summary", fixtures / "jax-0.10.2.json", bad)
    else:
        process = cli("diff", fixtures / "torch-2.12.0.json", bad)
    assert_unusable(process, str(bad), problem)


def test_missing_file(cli, tmp_path):
    missing = tmp_path / "absent.json"
    assert_unusable(cli("summary", missing), str(missing), "no such file")
    assert_unusable(cli("diff", missing, missing), str(missing), "no such file")


def test_diff_of_two_frameworks(cli, fixtures):
    process = cli("diff", fixtures / "jax-0.10.2.json", fixtures / "torch-2.13.0.json")
    assert_unusable(process, "jax-0.10.2.json", "torch-2.13.0.json")


def test_diff_with_regressions_exits_1_in_every_format(cli, fixtures, tmp_path):
    old, new = fixtures / "torch-2.12.0.json", fixtures / "torch-2.13.0.json"
    text = cli("diff", old, new)
    assert text.returncode == 1 and "REGRESSED: 7 regressions" in text.stdout
    markdown = cli("diff", old, new, "--markdown", "--html", tmp_path / "diff.html")
    assert markdown.returncode == 1 and markdown.stdout.startswith("### lossconf diff")
    page = (tmp_path / "diff.html").read_text()
    assert "REGRESSED: 7 regressions" in page and "Values moved beyond tolerance" in page


def test_diff_of_identical_files_exits_0(cli, fixtures):
    process = cli("diff", fixtures / "jax-0.10.2.json", fixtures / "jax-0.10.2.json")
    assert process.returncode == 0 and "no regressions" in process.stdout


def test_summary(cli, fixtures):
    process = cli("summary", fixtures)
    assert process.returncode == 0, process.stderr
    out = process.stdout
    assert "tensorflow 2.21.0 ⚠" in out and "torch 2.13.0+cpu" in out
    assert "tensorflow 2.21.0 did not finish" in out
    assert "huber_loss[delta=0.5,mean] cpu float32 jit, worst value 40 ULP" in out
    assert "InternalError: Failed to load kernel '<script>alert(1)</script>'" in out
    # a mismatch shows its comparison, not the exceptions its invalid inputs raised as expected
    assert (
        "huber_loss[delta=0.5,mean] cpu float32 jit, worst value 40 ULP, worst grad 3 ULP\n" in out
    )
    assert "stale registry entry torch-kl-div-jit-grad" in out


def test_unwritable_output_is_one_line(cli, fixtures, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert_unusable(cli("html", fixtures, "-o", blocker / "index.html"), str(blocker))
