"""The conformance engine (cases.run) and the lossconf command, driven by a fake framework whose
results are the reference's own (tests/cases/fake_framework.py): no framework is installed."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fake_framework import STALE, FakeAdapter

import reference as R
from cases import cli, edges, invalid, oracles, profiles, selection
from cases.run import Run, RunError, known_failures, results_path
from reference.contract import Example
from reports.schema import load

ROOT = Path(__file__).resolve().parents[2]


def run_of(adapter=None, **options) -> Run:
    return Run.start(adapter or FakeAdapter(), **{"profile": "ci", "loss": "mse_loss", **options})


def without_timings(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "duration_s"}


def test_items_are_loss_configuration_dtype_device_mode_in_that_order():
    run = run_of(loss="mse_loss,huber_loss")
    expected = [
        selection.item_id(R.get(loss), config, dtype, "cpu", "eager")
        for loss in ("mse_loss", "huber_loss")
        for config in selection.configs(R.get(loss), run.profile)
        for dtype in ("float64", "float32")
    ]
    assert [item.id for item in run.items()] == expected


class TwoModeAdapter(FakeAdapter):
    """The fake framework with a compiled mode and every dtype, as jax and tensorflow have."""

    modes = ("eager", "jit")
    dtypes = tuple(R.DTYPES)


def test_ci_runs_each_form_at_every_dtype_in_one_mode_and_each_loss_in_every_mode():
    run = run_of(TwoModeAdapter(), loss="mse_loss,huber_loss,cross_entropy")
    items = run.items()
    for loss in ("mse_loss", "huber_loss", "cross_entropy"):
        mine = [item for item in items if item.spec.name == loss]
        forms = {(R.config_id(item.spec, item.config), item.api) for item in mine}
        assert len(forms) >= 2
        assert len(mine) == len(forms) * len(R.DTYPES)  # every form at every dtype, once
        assert {(i.dtype, i.mode) for i in mine} == {
            (d, m) for d in R.DTYPES for m in ("eager", "jit")
        }
    everything = run_of(TwoModeAdapter(), loss="mse_loss", profile="default").items()
    assert len(everything) == 2 * len(R.DTYPES) * len(
        selection.configs(R.get("mse_loss"), profiles.get("default"))
    )


def test_the_results_header_says_where_each_dtype_ran_in_one_mode():
    def scope(adapter, **options):
        return run_of(adapter, **options).header(corpus=None, command="").get("dtype_modes")

    assert scope(TwoModeAdapter()) == "alternate"
    assert scope(TwoModeAdapter(), mode="jit") is None  # one mode: everything ran
    assert scope(TwoModeAdapter(), profile="default") is None
    assert scope(FakeAdapter()) is None  # a framework of one mode


def test_ci_keeps_both_modes_when_nothing_is_offered_or_one_mode_is_asked_for():
    not_offered = run_of(TwoModeAdapter(offered=False), loss="mse_loss").items()
    one_mode = run_of(TwoModeAdapter(), loss="mse_loss", mode="jit").items()
    n = len(selection.configs(R.get("mse_loss"), run_of().profile)) * len(R.DTYPES)
    assert len(not_offered) == 2 * n and len(one_mode) == n


@pytest.mark.parametrize(
    ("option", "value"), [("dtype", "float8"), ("loss", "mse"), ("profile", "quick")]
)
def test_a_choice_outside_what_exists_names_the_bad_value_and_the_allowed_ones(option, value):
    with pytest.raises(RunError) as caught:
        run_of(**{option: value})
    message = str(caught.value)
    assert value in message and "\n" not in message
    assert {"dtype": "float32", "loss": "huber_loss", "profile": "thorough"}[option] in message


def test_an_item_runs_edge_invalid_then_drawn_cases_and_records_them(tmp_path):
    run = run_of()
    path = run.open_results(str(tmp_path), corpus=None, command="pytest tests/conformance")
    assert path == tmp_path / "fake-1.0-cpu.json"
    items = run.items()
    results = [run.run_item(item) for item in items]
    assert run.finish(items=len(items)) == path

    for item, result in zip(items, results, strict=True):
        assert result.failure is None and result.unexpected == 0
        assert result.record["verdict"] == "match"
        fixed = len(edges.edge_cases(item.spec, item.config, item.dtype)) + len(
            invalid.invalid_cases(item.spec, item.config, item.dtype)
        )
        drawn = result.record["examples"] - fixed
        assert 1 <= drawn <= run.profile.max_examples
    written = load(path)
    assert written.finished
    assert [r["config_id"] + r["dtype"] for r in written.records] == [
        R.config_id(i.spec, i.config) + i.dtype for i in items
    ]
    assert {k: written.run[k] for k in ("framework", "profile", "seed", "command")} == {
        "framework": "fake",
        "profile": "ci",
        "seed": 0,
        "command": "pytest tests/conformance",
    }
    assert [m["native"] for m in written.mapping] == ["fake.mse_loss(…)"] * len(written.mapping)


class ShapeCompilingAdapter(FakeAdapter):
    """The fake framework, compiling per input shape (as JAX does) and noting each case's label."""

    def __init__(self, compiles: bool):
        super().__init__()
        self.compiles, self.labels = compiles, []

    def compiles_per_shape(self, mode: str) -> bool:
        return self.compiles

    def run(self, case):
        self.labels.append(case.label)
        return super().run(case)


@pytest.mark.parametrize("compiles", [True, False])
def test_ci_runs_shape_breaking_invalid_cases_of_a_shape_compiling_mode_at_float32_only(compiles):
    """Each invalid shape is a new compilation where a mode compiles per shape: the ci profile
    runs them at float32 alone there; the value breaks run at every dtype."""
    spec = R.get("kl_div")
    config = selection.configs(spec, run_of().profile)[0]
    breaks = invalid.invalid_cases(spec, config, "float64")
    by_shape = {c.label for c in breaks if invalid.changes_shape(c)}
    by_value = {c.label for c in breaks if not invalid.changes_shape(c)}
    assert by_shape and by_value  # a probability outside [0, 1]; a grown or broadcast argument
    for dtype in ("float64", "float32"):
        adapter = ShapeCompilingAdapter(compiles)
        run = run_of(adapter, loss="kl_div", dtype=dtype)
        run.run_item(run.items()[0])
        seen = set(adapter.labels)
        assert by_value <= seen
        if compiles and dtype != "float32":
            assert not seen & by_shape
        else:
            assert by_shape <= seen
        # the results header says where the run left them out
        scope = run.header(corpus=None, command="").get("shape_breaks")
        assert scope == ({"dtypes": ["float32"], "modes": ["eager"]} if compiles else None)


class AssertingAdapter(ShapeCompilingAdapter):
    """The fake framework on a device whose kernels assert on invalid values (torch on CUDA)."""

    def kernel_asserts(self, device: str) -> str | None:
        return "kernels assert (CUDA_KERNEL_ASSERT)"


def test_a_device_whose_kernels_assert_gets_invalid_shapes_but_no_invalid_values():
    """A device-side assertion would end the device's context for the rest of the process: the
    item leaves the invalid values out, counts them in its record, and the header names the
    device and the reason; the invalid shapes, checked on the host, still run."""
    spec = R.get("kl_div")
    config = selection.configs(spec, run_of().profile)[0]
    breaks = invalid.invalid_cases(spec, config, "float32")
    by_shape = {c.label for c in breaks if invalid.changes_shape(c)}
    by_value = {c.label for c in breaks if not invalid.changes_shape(c)}
    adapter = AssertingAdapter(compiles=False)
    run = run_of(adapter, loss="kl_div", dtype="float32")
    record = run.run_item(run.items()[0]).record
    seen = set(adapter.labels)
    assert by_shape <= seen and not seen & by_value
    assert record["not_run"] == len(by_value) > 0
    assert run.header(corpus=None, command="")["kernel_asserts"] == {
        "devices": ["cpu"],
        "why": "kernels assert (CUDA_KERNEL_ASSERT)",
    }
    plain = run_of(loss="kl_div", dtype="float32")
    assert plain.run_item(plain.items()[0]).record["not_run"] == 0
    assert "kernel_asserts" not in plain.header(corpus=None, command="")


def test_an_invalid_case_breaks_a_value_exactly_when_it_keeps_its_shapes():
    """breaks_a_value reads the cases alone; on every invalid case the ci configurations generate
    it is the complement of the generator's own shape-break mark."""
    ci = run_of().profile
    seen = 0
    for name in R.names():
        spec = R.get(name)
        for config in selection.configs(spec, ci):
            for case in invalid.invalid_cases(spec, config, "float32"):
                assert invalid.breaks_a_value(spec, case) != invalid.changes_shape(case), case.label
                seen += 1
    assert seen > 1000


def test_a_corpus_replay_on_a_device_whose_kernels_assert_leaves_the_invalid_values_out():
    """The corpus keeps no shape-break mark: which invalid cases break a value is read from the
    cases themselves (their shapes fit a layout), so a replay on a GPU is as safe as a run."""
    from cases.corpus import DEFAULT_DIR

    adapter = AssertingAdapter(compiles=False)
    run = run_of(adapter, corpus=str(DEFAULT_DIR), loss="kl_div", dtype="float32")
    item = run.items()[0]
    record = run.run_item(item).record
    replayed = run_of(corpus=str(DEFAULT_DIR), loss="kl_div", dtype="float32")
    labels = [c.label for c in replayed.corpus.cases_for(item.spec, item.config)]
    values = [
        c.label
        for c in replayed.corpus.cases_for(item.spec, item.config)
        if invalid.breaks_a_value(item.spec, c)
    ]
    assert values and record["not_run"] == len(values)
    assert not set(adapter.labels) & set(values)
    assert any(label.startswith("invalid:") for label in adapter.labels)  # the shape breaks ran
    assert len(adapter.labels) == len(labels) - len(values)


def test_draws_depend_on_the_item_alone_not_on_the_order_items_run_in():
    forward, backward = run_of(), run_of()
    items = forward.items()
    first = {i.id: without_timings(forward.run_item(i).record) for i in items}
    second = {i.id: without_timings(backward.run_item(i).record) for i in reversed(items)}
    assert first == second


def test_an_unexplained_difference_fails_the_item_with_the_smallest_example_and_a_reproducer():
    run = run_of(FakeAdapter(skew=1e-3), dtype="float64")
    result = run.run_item(run.items()[0])
    assert result.unexpected > 0
    assert "unexpected result(s); the smallest" in result.failure
    assert "reproducer:" in result.failure and result.record["unexpected"]


def test_a_failing_ci_item_stops_at_its_first_unexpected_example_without_shrinking():
    """The ci profile does not shrink: a failing item costs about what a passing one does, so a
    run after an upgrade that changed many things stays fast (shrinking replays candidates
    through the framework, each one recorded)."""
    plain = run_of(FakeAdapter(skew=1e-3), dtype="float64")
    item = plain.items()[0]
    fixed = len(edges.edge_cases(item.spec, item.config, item.dtype)) + len(
        invalid.invalid_cases(item.spec, item.config, item.dtype)
    )
    without = plain.run_item(item)
    assert without.unexpected > 0
    assert without.record["examples"] <= fixed + plain.profile.max_examples

    shrinking = run_of(FakeAdapter(skew=1e-3), dtype="float64")
    shrinking.profile = dataclasses.replace(shrinking.profile, shrink_seconds=5.0)
    with_shrink = shrinking.run_item(item)
    assert with_shrink.unexpected > without.unexpected  # the shrink candidates that also failed

    listed = run_of(FakeAdapter(skew=1e-3), dtype="float64")
    listed.profile = shrinking.profile
    listed.known_failures = {item.id}  # a known failure never shrinks
    assert listed.run_item(item).unexpected == without.unexpected


def test_the_shrink_budget_replaces_hypothesis_limit_while_an_item_explores():
    from hypothesis.internal.conjecture import engine

    from cases.run import shrink_budget

    before = engine.MAX_SHRINKING_SECONDS
    with shrink_budget(10.0):
        assert engine.MAX_SHRINKING_SECONDS == 10.0
    assert engine.MAX_SHRINKING_SECONDS == before
    with shrink_budget(0.0):  # no shrinking at all: the phase is left out instead
        assert engine.MAX_SHRINKING_SECONDS == before


def test_a_configuration_not_offered_is_recorded_and_reported_with_its_reason(tmp_path):
    run = run_of(FakeAdapter(offered=False), dtype="float64")
    path = run.open_results(str(tmp_path / "out.json"), corpus=None, command="x")
    item = run.items()[0]
    result = run.run_item(item)
    run.finish(items=1)
    assert result.not_offered == "fake offers nothing" and result.record is None
    (record,) = load(path).records
    assert (record["verdict"], record["not_offered"]) == ("not-offered", "fake offers nothing")


def test_an_entry_that_applied_but_never_diverged_is_stale_after_the_items():
    run = run_of(FakeAdapter(divergences=[STALE]), dtype="float64")
    assert run.stale_message() is None  # nothing ran yet: nothing applied
    for item in run.items():
        assert run.run_item(item).failure is None
    message = run.stale_message()
    assert message is not None and "fake-mse-stale" in message and "none diverged" in message


def test_an_entry_whose_own_example_still_diverges_is_imprecise_not_stale():
    """Its predicate reached inputs where the framework agrees, but the behaviour it documents is
    still there (its example shows it): reported as imprecise, the run does not fail."""
    entry = dataclasses.replace(
        STALE,
        example=Example({"reduction": "sum"}, {"input": [1.0, 2.0], "target": [0.0, 0.0]}),
    )
    run = run_of(FakeAdapter(divergences=[entry], example_skew=1e-3), dtype="float64")
    for item in run.items():
        assert run.run_item(item).failure is None
    assert run.stale_message() is None
    (status,) = run.judge.registry_status()
    assert status["status"] == "imprecise" and status["applied"] > 0 and status["diverged"] == 0


def test_an_entry_whose_example_agrees_too_is_stale():
    entry = dataclasses.replace(
        STALE,
        example=Example({"reduction": "sum"}, {"input": [1.0, 2.0], "target": [0.0, 0.0]}),
    )
    run = run_of(FakeAdapter(divergences=[entry]), dtype="float64")
    for item in run.items():
        run.run_item(item)
    assert "fake-mse-stale" in (run.stale_message() or "")


def test_an_entry_that_explains_a_difference_is_not_stale_and_the_item_passes():
    run = run_of(FakeAdapter(skew=1e-3, divergences=[STALE]), dtype="float64")
    results = [run.run_item(item) for item in run.items()]
    assert all(r.failure is None for r in results)
    assert {r.record["verdict"] for r in results} == {"convention"}
    assert run.stale_message() is None


def test_oracles_run_on_the_adapter_and_find_nothing_in_a_consistent_framework():
    run = run_of(loss="all", dtype="float64")
    counts = {o.name: run.check_oracle(o) for o in oracles.ORACLES}
    assert all(problems == [] for _, problems in counts.values())
    assert sum(tried for tried, _ in counts.values()) > 0


def test_timings_hold_one_sample_per_example_and_one_pair_per_item(tmp_path):
    run = run_of(dtype="float64")
    items = run.items()
    examples = sum(run.run_item(item).record["examples"] for item in items)
    run.finish(items=len(items), timings=str(tmp_path / "t.json"))
    data = json.loads((tmp_path / "t.json").read_text())
    assert {len(v) for v in data["stages"].values()} == {examples}
    assert len(data["items"]) == len(items) and data["framework"] == "fake"


def test_results_file_name_is_framework_version_devices(tmp_path):
    assert results_path("torch", "2.13.0+cpu", ["cpu", "cuda:0"], "out") == Path(
        "out/torch-2.13.0_cpu-cpu+cuda0.json"
    )
    assert results_path("jax", "0.10.2", ["cpu"], "a/b.json") == Path("a/b.json")


def test_known_failures_are_read_per_framework_and_a_malformed_line_is_named(tmp_path):
    path = tmp_path / "known.txt"
    path.write_text("# comment\n\nfake mse_loss[mean]-float32-cpu-eager off by 3 ULP\ntorch x y\n")
    assert known_failures(path, "fake") == {"mse_loss[mean]-float32-cpu-eager": "off by 3 ULP"}
    path.write_text("fake only-two\n")
    with pytest.raises(RunError, match=r"known.txt:1: expected 'framework item-id reason'"):
        known_failures(path, "fake")


def test_known_failures_naming_no_item_are_reported_only_for_a_whole_ci_run():
    run = run_of()
    known = {"mse_loss[nonexistent]-float32-cpu-eager": "?", "l1_loss[mean]-x": "?"}
    assert run.unmatched_known_failures(known, run.items()) == [
        "mse_loss[nonexistent]-float32-cpu-eager"
    ]
    assert run_of(dtype="float32").unmatched_known_failures(known, run.items()) == []


# --- the conformance plugin, end to end, on the fake framework ---------------------------------


def conformance(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LOSSCONF_")}
    environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests" / "cases")])
    command = [sys.executable, "-m", "pytest", "tests/conformance", "-p", "fake_framework"]
    command += ["--framework", "fake", "--loss", "mse_loss", "-q", "-p", "no:cacheprovider"]
    return subprocess.run(
        [*command, *args],
        cwd=ROOT,
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_findings_outside_ordinary_inputs_are_listed_when_not_strict_and_fail_when_strict():
    args = ("--loss", "l1_loss", "--dtype", "float64")
    lenient = conformance(*args, "--no-strict", LOSSCONF_FAKE_KINK_SKEW="1")
    assert lenient.returncode == 0, lenient.stdout + lenient.stderr
    assert "findings to triage (kink" in lenient.stdout
    assert "[kink] value|beyond-tolerance" in lenient.stdout and "reproducer" in lenient.stdout
    for strict in (("--strict",), ()):  # pytest's --strict, and the ci profile's default
        failed = conformance(*args, *strict, LOSSCONF_FAKE_KINK_SKEW="1")
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "kink inputs" in failed.stdout and "findings to triage" not in failed.stdout
    by_env = conformance(*args, LOSSCONF_FAKE_KINK_SKEW="1", LOSSCONF_STRICT="0")
    assert by_env.returncode == 0, by_env.stdout + by_env.stderr


@pytest.mark.slow
def test_a_stale_entry_fails_the_session_whatever_the_order_or_selection():
    clean = conformance("--dtype", "float64")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    # Reversed (the oracles run first) and with -k leaving out most items: the check still
    # runs, after them.
    stale = conformance("-k", "sum", LOSSCONF_FAKE_STALE="1", LOSSCONF_FAKE_REVERSE="1")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "stale registry entries (they no longer reproduce): fake-mse-stale" in stale.stdout
    assert " passed" in stale.stdout and "failed" not in stale.stdout.splitlines()[-1]


@pytest.mark.slow
def test_a_run_split_over_xdist_workers_is_judged_as_one():
    pytest.importorskip("xdist")
    stale = conformance("-n", "2", LOSSCONF_FAKE_STALE="1")
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert stale.stdout.count("stale registry entries") == 1
    clean = conformance("-n", "2")
    assert clean.returncode == 0, clean.stdout + clean.stderr


def comparable(path: Path) -> dict:
    """A results file as written, less what differs between two runs of the same code: time
    stamps, the command line and each record's duration."""
    document = json.loads(path.read_text())
    run = {k: v for k, v in document["run"].items() if k not in ("started", "finished", "command")}
    records = [without_timings(record) for record in document["records"]]
    return {**document, "run": run, "records": records}


@pytest.mark.slow
def test_a_run_split_over_xdist_workers_writes_the_serial_runs_results_file(tmp_path):
    pytest.importorskip("xdist")
    serial = conformance("--results", str(tmp_path / "serial.json"))
    assert serial.returncode == 0, serial.stdout + serial.stderr
    split = conformance("-n", "2", "--results", str(tmp_path / "split.json"))
    assert split.returncode == 0, split.stdout + split.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["serial.json", "split.json"]
    assert comparable(tmp_path / "split.json") == comparable(tmp_path / "serial.json")
    assert len(load(tmp_path / "split.json").records) == len(run_of().items())


@pytest.mark.slow
def test_a_seeded_default_run_split_over_workers_writes_the_serial_runs_results_file(tmp_path):
    # The default profile draws at random and replays hypothesis' database; --seed N makes its
    # draws a function of N and the item, so a split run can be compared with a serial one.
    pytest.importorskip("xdist")
    args = ("--dtype", "float64,float32", "--seed", "7")
    env = {"LOSSCONF_PROFILE": "default"}
    serial = conformance(*args, "--results", str(tmp_path / "serial.json"), **env)
    assert serial.returncode == 0, serial.stdout + serial.stderr
    split = conformance(*args, "-n", "2", "--results", str(tmp_path / "split.json"), **env)
    assert split.returncode == 0, split.stdout + split.stderr
    assert comparable(tmp_path / "split.json") == comparable(tmp_path / "serial.json")
    header = load(tmp_path / "serial.json").run
    assert header["profile"] == "default" and header["seed"] == 7
    other = conformance(*args[:2], "--seed", "8", "--results", str(tmp_path / "8.json"), **env)
    assert other.returncode == 0, other.stdout + other.stderr
    drawn = [comparable(tmp_path / name)["records"] for name in ("serial.json", "8.json")]
    assert drawn[0] != drawn[1], "another seed drew the same examples"


def test_a_run_is_seeded_only_when_it_draws_from_a_seed():
    assert run_of().header(None, "")["seed"] == 0  # the ci profile: derandomised from seed 0
    assert run_of(profile="default").header(None, "")["seed"] is None  # random, database replays
    seeded = run_of(profile="default", seed="12")
    assert seeded.header(None, "")["seed"] == 12
    assert seeded.profile.derandomize and not seeded.profile.database


@pytest.mark.parametrize("value", ["-1", "x", "1.5"])
def test_a_bad_seed_is_one_line(value):
    with pytest.raises(RunError, match=rf"^--seed {re.escape(value)}: expected a whole number"):
        run_of(seed=value)


@pytest.mark.slow
def test_a_worker_killed_mid_item_loses_only_that_item_and_the_results_file_names_it(tmp_path):
    pytest.importorskip("xdist")
    path = tmp_path / "split.json"
    killed = conformance("-n", "2", "--results", str(path), LOSSCONF_FAKE_KILL=str(tmp_path / "k"))
    assert killed.returncode == 1, killed.stdout + killed.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k", "split.json"]
    written, items = load(path), run_of().items()
    assert not written.finished  # the run lacks an item: the file says so, like a killed run
    ran = {(r["config_id"], r["dtype"]) for r in written.records}
    lost = [i.id for i in items if (R.config_id(i.spec, i.config), i.dtype) not in ran]
    assert lost == [written.run["stopped_at"]] and "float32" in lost[0]
    assert f"FAILED tests/conformance/test_conformance.py::test_conformance[{lost[0]}]" in (
        killed.stdout
    )


# --- lossconf -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "bad", "allowed"),
    [
        (["serve"], "'serve'", "run, reference, cases, reports"),
        (["run", "mxnet"], "'mxnet'", "torch"),
    ],
)
def test_lossconf_user_errors_are_one_line_and_exit_2(argv, bad, allowed, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and bad in err and allowed in err


def test_lossconf_help_lists_the_commands_and_passes_through(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(f"  {name} " in out for name in ("run", "reference", "cases", "reports"))
    assert cli.main(["reference", "show", "mse_loss"]) == 0
    assert capsys.readouterr().out.startswith("mse_loss (regression)")


def test_lossconf_run_hands_pytest_the_checkouts_conformance_run(monkeypatch):
    seen = []
    monkeypatch.setattr(cli.subprocess, "call", lambda command: seen.append(command) or 0)
    assert cli.main(["run", "torch", "--loss", "mse_loss"]) == 0
    conformance_dir = str(ROOT / "tests" / "conformance")
    assert seen == [
        [
            sys.executable,
            "-m",
            "pytest",
            conformance_dir,
            "--framework",
            "torch",
            "--loss",
            "mse_loss",
        ]
    ]


# --- strictness: findings outside ordinary inputs ----------------------------------------------


class KinkSkewAdapter(FakeAdapter):
    """Agrees with the reference except on inputs at a kink, where its value is off by 1e-3."""

    def run(self, case):
        from reference.regimes import regime_of

        out = super().run(case)
        if out.value is not None and regime_of(case) == "kink":
            out.value = out.value * (1.0 + 1e-3)
        return out


def test_the_ci_profile_is_strict_and_the_others_are_not_unless_told(monkeypatch):
    monkeypatch.delenv("LOSSCONF_STRICT", raising=False)
    assert run_of().strict is True
    assert run_of(profile="default").strict is False
    monkeypatch.setenv("LOSSCONF_STRICT", "0")
    assert run_of().strict is False
    monkeypatch.setenv("LOSSCONF_STRICT", "1")
    assert run_of(profile="default").strict is True
    assert run_of(profile="default", strict=False).strict is False
    monkeypatch.setenv("LOSSCONF_STRICT", "maybe")
    with pytest.raises(RunError, match="LOSSCONF_STRICT"):
        run_of()


def test_a_non_strict_run_lists_an_unexplained_kink_as_a_finding_and_passes(tmp_path):
    run = run_of(KinkSkewAdapter(), loss="l1_loss", dtype="float64", strict=False)
    result = run.run_item(run.items()[0])
    assert result.failure is None and result.unexpected > 0
    (finding,) = result.findings
    assert finding["regime"] == "kink" and finding["count"] == result.record["triage"] > 0
    assert finding["signatures"] == {"value|beyond-tolerance": finding["count"]}
    assert finding["reproducer"] and run.findings == result.findings
    assert not result.record["failing"] and result.record["regime_headline"] == "match"


def test_a_strict_run_fails_the_same_item():
    run = run_of(KinkSkewAdapter(), loss="l1_loss", dtype="float64", strict=True)
    result = run.run_item(run.items()[0])
    assert result.failure and "kink inputs" in result.failure and not result.findings


def test_a_known_failure_item_stays_strict_so_its_xfail_holds():
    run = run_of(KinkSkewAdapter(), loss="l1_loss", dtype="float64", strict=False)
    item = run.items()[0]
    run.known_failures = {item.id}
    assert run.run_item(item).failure


def test_a_non_strict_run_still_fails_on_ordinary_inputs():
    run = run_of(FakeAdapter(skew=1e-3), dtype="float64", strict=False)
    result = run.run_item(run.items()[0])
    assert result.failure and "ordinary inputs" in result.failure


def test_the_results_header_records_strictness(tmp_path):
    run = run_of(strict=False)
    path = run.open_results(str(tmp_path), corpus=None, command="x")
    run.finish(items=0)
    assert load(path).run["strict"] is False


# --- shards ----------------------------------------------------------------------------------------


def test_shards_deal_the_items_round_robin_and_together_hold_each_item_once():
    whole = run_of().items()
    shards = [run_of(shard=f"{i}/3").items() for i in (1, 2, 3)]
    assert sorted(i.index for s in shards for i in s) == [i.index for i in whole]
    assert [i.id for i in shards[1]] == [i.id for i in whole[1::3]]
    assert {i.dtype for i in shards[0]} == {i.dtype for i in whole}  # a mix, not a block


@pytest.mark.parametrize("bad", ["0/2", "3/2", "1", "a/b", "1/2/3"])
def test_a_malformed_shard_is_one_line_naming_it(bad):
    with pytest.raises(RunError, match=f"^--shard {bad}: "):
        run_of(shard=bad)


def test_a_shards_results_file_is_named_for_its_shard(tmp_path):
    path = results_path("torch", "2.13.0", ["cpu"], str(tmp_path), (2, 4))
    assert path.name == "torch-2.13.0-cpu.shard-2-of-4.json"


def merged_as_run(path: Path) -> dict:
    document = comparable(path)
    document["run"] = {k: v for k, v in document["run"].items() if k != "merged_shards"}
    return document


@pytest.mark.slow
def test_two_shards_merged_are_the_serial_runs_results_file(tmp_path):
    serial = conformance("--results", str(tmp_path / "serial.json"))
    assert serial.returncode == 0, serial.stdout + serial.stderr
    shards = tmp_path / "shards"
    for i in (1, 2):
        shard = conformance("--shard", f"{i}/2", "--results", str(shards))
        assert shard.returncode == 0, shard.stdout + shard.stderr
    files = sorted(p.name for p in shards.iterdir())
    assert files == ["fake-1.0-cpu.shard-1-of-2.json", "fake-1.0-cpu.shard-2-of-2.json"]
    merged = subprocess.run(
        [sys.executable, "-m", "reports", "merge", str(shards), "-o", str(tmp_path / "m.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert merged_as_run(tmp_path / "m.json") == comparable(tmp_path / "serial.json")


@pytest.mark.slow
def test_a_stale_entry_passes_each_shard_and_fails_their_merge(tmp_path):
    for i in (1, 2):
        shard = conformance(
            "--shard", f"{i}/2", "--results", str(tmp_path), LOSSCONF_FAKE_STALE="1"
        )
        assert shard.returncode == 0, shard.stdout + shard.stderr
    merged = subprocess.run(
        [sys.executable, "-m", "reports", "merge", str(tmp_path), "-o", str(tmp_path / "m")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert merged.returncode == 1, merged.stdout + merged.stderr
    assert "stale registry entries (they no longer reproduce): fake-mse-stale" in merged.stdout


# --- a share of the corpus -------------------------------------------------------------------------


def test_corpus_every_k_replays_every_kth_case_of_each_configuration():
    from cases.corpus import DEFAULT_DIR

    run = run_of(corpus=str(DEFAULT_DIR), corpus_every=3)
    assert run.corpus.every == 3
    spec = R.get("mse_loss")
    for config in selection.configs(spec, run.profile):
        kept = run.corpus.cases_for(spec, config)
        run.corpus.every = 1
        every = run.corpus.cases_for(spec, config)
        run.corpus.every = 3
        assert len(every) > 3 and [id(c) for c in kept] == [id(c) for c in every[::3]]


def test_corpus_configs_k_replays_every_kth_configuration_of_each_loss_at_every_dtype_and_mode():
    from cases.corpus import DEFAULT_DIR

    losses = "cross_entropy,mse_loss"
    whole = run_of(corpus=str(DEFAULT_DIR), loss=losses)
    share = run_of(corpus=str(DEFAULT_DIR), loss=losses, corpus_configs=3)
    assert share.corpus_share() == {"corpus_configs": 3} and whole.corpus_share() == {}
    for loss in ("cross_entropy", "mse_loss"):
        spec = R.get(loss)
        configs = selection.configs(spec, whole.profile)
        assert whole.configs(spec) == configs
        assert share.configs(spec) == configs[::3] and share.configs(spec)[0] == configs[0]
    kept = {(i.spec.name, R.config_id(i.spec, i.config)) for i in share.items()}
    items = [i for i in whole.items() if (i.spec.name, R.config_id(i.spec, i.config)) in kept]
    # the share drops configurations, never a dtype, device, mode or API of one it keeps
    assert [i.id for i in share.items()] == [i.id for i in items]
    assert len(items) < len(whole.items())


def test_corpus_pairs_k_replays_every_kth_dtype_mode_pair_and_still_every_dtype_and_mode():
    from cases.corpus import DEFAULT_DIR

    # CI's upgrade share: one configuration per loss (every 16th), a third of its pairs
    options = {"corpus": str(DEFAULT_DIR), "loss": "all", "corpus_configs": 16}
    whole = run_of(TwoModeAdapter(), **options)
    share = run_of(TwoModeAdapter(), **options, corpus_pairs=3)
    assert share.corpus_share() == {"corpus_configs": 16, "corpus_pairs": 3}
    kept, every = share.items(), whole.items()
    assert {i.id for i in kept} < {i.id for i in every}
    assert len(every) / 3 - 10 < len(kept) < len(every) / 3 + 10

    # a pair that replays keeps all its native forms, and the run still has every dtype x mode
    def pair(i):
        return i.spec.name, R.config_id(i.spec, i.config), i.dtype, i.mode

    pairs = {pair(i) for i in kept}
    assert [i.id for i in every if pair(i) in pairs] == [i.id for i in kept]
    assert {(i.dtype, i.mode) for i in kept} == {(d, m) for d in R.DTYPES for m in ("eager", "jit")}
    # consecutive configurations start at different pairs: no dtype or mode is one loss's alone
    for dtype in R.DTYPES:
        assert len({i.spec.name for i in kept if i.dtype == dtype}) > len(R.names()) / 4


def test_a_corpus_pair_share_picks_the_same_items_whatever_else_the_run_holds():
    """The two sides of an upgrade diff must replay the same pairs: the rotation counts the
    loss's place in the registry, not its place in this run (a --loss run, or a release that
    offers fewer native forms, shifts every item's index)."""
    from cases.corpus import DEFAULT_DIR

    def ids(loss):
        run = run_of(TwoModeAdapter(), corpus=str(DEFAULT_DIR), loss=loss, corpus_pairs=3)
        return [i.id for i in run.items() if i.spec.name == "mse_loss"]

    alone = ids("mse_loss")
    assert alone and alone == ids("cross_entropy,mse_loss") == ids("all")


@pytest.mark.parametrize("option", ["corpus_every", "corpus_configs", "corpus_pairs"])
@pytest.mark.parametrize("bad", ["0", "-2", "x"])
def test_a_bad_corpus_share_is_one_line_naming_it(option, bad):
    from cases.corpus import DEFAULT_DIR

    flag = "--" + option.replace("_", "-")
    with pytest.raises(RunError, match=f"^{flag} {bad}: expected a whole number >= 1"):
        run_of(corpus=str(DEFAULT_DIR), **{option: bad})


@pytest.mark.parametrize("option", ["corpus_every", "corpus_configs", "corpus_pairs"])
def test_a_corpus_share_without_a_corpus_is_refused(option):
    with pytest.raises(RunError, match="only with --corpus"):
        run_of(**{option: 2})
