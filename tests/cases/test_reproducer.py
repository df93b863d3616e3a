"""Reproducer scripts: bit-identical inputs, the framework snippet, both numbers and the ULPs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import reference as R
from cases.reproducer import array_literal, reproducer

ROOT = Path(__file__).resolve().parents[2]

# A stand-in for Adapter.snippet: plain NumPy that computes cross-entropy with the mean divided
# by N·C instead of N (a planted bug), and no target gradient.
FAKE_SNIPPET = """\
x = arrays["input"]
z = x - x.max(axis=1, keepdims=True)
log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
per_item = -log_p[np.arange(x.shape[0]), arrays["target"]]
value = np.asarray(per_item.sum() / x.size)
grads = {}
"""


def _case(dtype="float32") -> R.Case:
    rng = np.random.default_rng(0)
    arrays = {"input": rng.standard_normal((4, 3)), "target": np.array([0, 2, 1, 1])}
    return R.Case("cross_entropy", {"reduction": "mean"}, arrays, dtype, label="hypothesis")


def _run(script: str, tmp_path: Path) -> str:
    path = tmp_path / "reproduce.py"
    path.write_text(script, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_reproducer_prints_both_numbers_and_the_mismatch(tmp_path):
    case = _case()
    out = _run(reproducer(case, "fake", FAKE_SNIPPET), tmp_path)
    ref = float(R.evaluate("cross_entropy", case.rounded(), case.params))
    line = next(x for x in out.splitlines() if x.startswith("value"))
    match = re.search(r"fake: (\S+)  reference: (\S+)  \((\S+) ULP of float32\)", line)
    assert match, out
    got, shown_ref, ulps = (float(g) for g in match.groups())
    assert shown_ref == pytest.approx(ref, rel=1e-8)
    assert got == pytest.approx(ref / 3, rel=1e-6)  # the planted N·C denominator, C = 3
    assert ulps > 1e6
    assert "grad of input: fake gives none" in out


def test_reproducer_rebuilds_bit_identical_inputs(tmp_path):
    case = R.Case(
        "mse_loss",
        {"reduction": "none"},
        {
            "input": np.array([0.1, -0.0, np.nan, np.inf, -np.inf, 5e-324, 1 / 3]),
            "target": np.linspace(-1, 1, 7),
        },
        "float64",
        cotangent=np.array([1.0, -2.0, 0.5, 1e-300, 3.0, 0.0, -1.0]),
    )
    snippet = (
        f"np.savez({str(tmp_path / 'seen.npz')!r}, cotangent=cotangent, **arrays)\n"
        "value, grads = reference_value, {}\n"
    )
    _run(reproducer(case, "echo", snippet), tmp_path)
    with np.load(tmp_path / "seen.npz", allow_pickle=False) as stored:
        seen = {name: stored[name] for name in stored.files}
    cot = seen.pop("cotangent")
    for name, value in case.rounded().items():
        assert seen[name].dtype == value.dtype
        assert seen[name].tobytes() == value.tobytes(), name
    assert cot.tobytes() == case.rounded_cotangent().tobytes()


@pytest.mark.parametrize(
    "value",
    [
        np.array(0.1),
        np.array([[1.5, -0.0], [np.nan, -np.inf]]),
        R.round_to(np.array([1 / 3, 1e-40, 3e38]), "float32"),
        R.round_to(np.array([1 / 3, 1e-3]), "bfloat16"),
        np.arange(30, dtype=np.float64) / 7,
        np.array([3, -100, 0], dtype=np.int64),
        np.zeros((2, 0)),
    ],
)
def test_array_literals_round_trip_exactly(value):
    rebuilt = eval(  # the literal is what the script runs
        array_literal(value),
        {"np": np, "_floats": lambda h, s: np.array([float.fromhex(x) for x in h]).reshape(s)},
    )
    assert rebuilt.shape == value.shape and rebuilt.dtype == value.dtype
    assert rebuilt.tobytes() == value.tobytes()


def test_reproducer_where_the_reference_raises(tmp_path):
    case = R.Case("binary_cross_entropy", {}, {"input": np.array([1.5]), "target": np.array([1.0])})
    out = _run(reproducer(case, "fake", "value = np.asarray(-0.4)\ngrads = {}\n"), tmp_path)
    assert "reference: raises InvalidInput: binary_cross_entropy: input must be" in out
    assert "fake: returned array(-0.4) where the reference raises" in out


def test_reproducer_with_the_torch_adapter_snippet(tmp_path):
    pytest.importorskip("torch")
    import adapters

    adapter = adapters.load("torch")
    case = _case()
    out = _run(reproducer(case, "torch", adapter.snippet(case)), tmp_path)
    assert re.search(r"^value  torch: \S+  reference: \S+  \(\S+ ULP of float32\)$", out, re.M)
    assert "grad of input[" in out
