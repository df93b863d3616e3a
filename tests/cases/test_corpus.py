"""The frozen corpus: deterministic bytes, faithful round trip, no pickles, one-line errors."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import reference as R
from cases import corpus, profiles, selection

ROOT = Path(__file__).resolve().parents[2]
CI = profiles.get("ci")


@pytest.fixture(scope="module")
def frozen(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    summary = corpus.freeze(out, seed=0, profile="ci")
    return out, summary


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_freeze_twice_gives_byte_identical_files(frozen, tmp_path):
    out, _ = frozen
    env = {**os.environ, "PYTHONHASHSEED": "7"}  # a different hash seed, in a fresh process
    subprocess.run(
        [sys.executable, "-m", "cases", "freeze", "--out", str(tmp_path), "--seed", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    assert _files(out) == _files(tmp_path)


def test_another_seed_gives_other_draws_but_the_same_edge_cases(frozen, tmp_path):
    out, _ = frozen
    corpus.freeze(tmp_path, seed=1, profile="ci")
    a, b = corpus.load(out), corpus.load(tmp_path)
    spec = R.get("mse_loss")
    config = next(iter(R.all_configs(spec)))
    ca, cb = a.cases_for(spec, config), b.cases_for(spec, config)
    drawn = [(x, y) for x, y in zip(ca, cb, strict=True) if x.label == "seeded"]
    edge = [(x, y) for x, y in zip(ca, cb, strict=True) if x.label.startswith("edge:")]
    assert drawn and edge
    assert not all(np.array_equal(x.arrays["input"], y.arrays["input"]) for x, y in drawn)
    assert all(np.array_equal(x.arrays["input"], y.arrays["input"]) for x, y in edge)


def test_round_trip_gives_back_every_case(frozen):
    out, summary = frozen
    loaded = corpus.load(out)
    assert len(loaded) == summary["cases"]
    for spec in R.REGISTRY.values():
        for config in selection.configs(spec, CI):
            expected = corpus.config_cases(spec, config, 0, CI)
            got = loaded.cases_for(spec, config)
            assert len(got) == len(expected) >= CI.corpus_examples
            for e, g in zip(expected, got, strict=True):
                assert (g.loss, dict(g.params), g.label) == (e.loss, dict(e.params), e.label)
                assert g.arrays.keys() == e.arrays.keys()
                for k in e.arrays:
                    assert g.arrays[k].shape == np.shape(e.arrays[k])
                    assert np.array_equal(g.arrays[k], e.arrays[k], equal_nan=True), k
                    assert g.arrays[k].dtype in (np.float64, np.int64)
                assert (g.cotangent is None) == (e.cotangent is None)
                if e.cotangent is not None:
                    assert np.array_equal(g.cotangent, e.cotangent)
                assert g.meta["corpus_id"].startswith(f"{spec.name}/")
                assert g.dtype == "float64" and R.config_of(g) == config


def test_index_describes_each_case(frozen):
    out, _ = frozen
    index = json.loads((out / corpus.INDEX).read_text())
    assert index["schema"] == corpus.SCHEMA and index["seed"] == 0 and index["profile"] == "ci"
    entry = next(e for e in index["cases"] if e["loss"] == "cross_entropy")
    assert entry["id"] == "cross_entropy/0"
    assert set(entry) >= {
        "id",
        "loss",
        "config",
        "config_id",
        "params",
        "arrays",
        "label",
        "cotangent",
    }
    assert entry["arrays"]["input"]["dtype"] == "float64"
    assert len({e["id"] for e in index["cases"]}) == len(index["cases"])


def test_no_pickles_anywhere(frozen):
    out, _ = frozen
    for path in out.glob("*.npz"):
        with np.load(path, allow_pickle=False) as npz:
            assert all(npz[k].dtype.kind in "fi" for k in npz.files)
        with zipfile.ZipFile(path) as zf:
            assert all(info.filename.endswith(".npy") for info in zf.infolist())


def test_committed_corpus_loads_and_the_reference_agrees_with_its_labels():
    loaded = corpus.load(corpus.DEFAULT_DIR)
    size = sum(p.stat().st_size for p in corpus.DEFAULT_DIR.iterdir())
    # The corpus grows with the catalogue, not per loss: 3.6 MB for 33 losses when this bound was
    # set per loss (109 kB each, index included), so a loss whose grid or draws bloat it shows.
    per_loss = size / len(R.names())
    assert per_loss < 160e3, f"the committed corpus grew to {per_loss / 1e3:.0f} kB a loss"
    assert {loss for loss, _ in loaded.by_config} == set(R.names())
    for cases in loaded.by_config.values():
        for case in cases:
            if case.label.startswith("invalid:"):
                with pytest.raises(R.InvalidInput):
                    R.value_and_vjp(case.loss, case.arrays, case.params, case.cotangent)
            else:
                R.value_and_vjp(case.loss, case.arrays, case.params, case.cotangent)


# --- errors --------------------------------------------------------------------------------------


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def _error(directory) -> str:
    with pytest.raises(corpus.CorpusError) as info:
        corpus.load(directory)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_directory_or_index(tmp_path):
    assert str(tmp_path / "nope") in _error(tmp_path / "nope")
    assert "index.json" in _error(tmp_path)


def test_unknown_version_names_the_index(frozen, tmp_path):
    d = _copy(frozen[0], tmp_path / "c")
    index = json.loads((d / "index.json").read_text())
    index["schema"] = "lossconf.corpus/99"
    (d / "index.json").write_text(json.dumps(index))
    message = _error(d)
    assert "index.json" in message and "lossconf.corpus/99" in message


def test_bad_json_names_the_index(frozen, tmp_path):
    d = _copy(frozen[0], tmp_path / "c")
    (d / "index.json").write_text("{not json")
    assert "index.json: not valid JSON" in _error(d)


def test_missing_or_corrupt_array_file_names_it(frozen, tmp_path):
    d = _copy(frozen[0], tmp_path / "c")
    (d / "mse_loss.npz").unlink()
    assert "mse_loss.npz" in _error(d)
    d = _copy(frozen[0], tmp_path / "d")
    data = (d / "nll_loss.npz").read_bytes()
    (d / "nll_loss.npz").write_bytes(data[: len(data) // 2])
    assert "nll_loss.npz: corrupt" in _error(d)
    index = json.loads((d / "index.json").read_text())
    index["files"]["nll_loss"]["sha256"] = None  # no checksum to catch it: the zip reader must
    (d / "index.json").write_text(json.dumps(index))
    assert "nll_loss.npz: corrupt" in _error(d)


# --- command line --------------------------------------------------------------------------------


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "cases", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_cli_help():
    out = _cli("freeze", "--help")
    assert out.returncode == 0 and "--seed" in out.stdout and "--profile" in out.stdout


@pytest.mark.parametrize(
    "args", [("check", "/nonexistent/corpus"), ("freeze", "--out", "/dev/null/x")]
)
def test_cli_bad_path_is_one_line_exit_2(args):
    out = _cli(*args)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and args[-1] in out.stderr


def test_cli_check_summarises_the_committed_corpus():
    out = _cli("check")
    assert out.returncode == 0, out.stderr
    assert "cases" in out.stdout and "profile ci" in out.stdout
