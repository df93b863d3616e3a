"""The benchmark scripts' own behaviour (their numbers are measured, not tested)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _timings(path: Path) -> Path:
    stages = {s: [1e-4, 2e-4] for s in ("generate", "reference", "native", "adapter")}
    stages |= {s: [1e-5, 1e-5] for s in ("compare", "record")}
    data = {"framework": "torch", "version": "x", "profile": "ci", "stages": stages}
    path.write_text(json.dumps({**data, "items": [[0.01, 2]]}))
    return path


def test_stages_prints_the_harness_median(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.stages", str(_timings(tmp_path / "t.json"))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # per example, generate + reference + adapter + compare + record (the native call left out):
    # 3 × 100 + 2 × 10 = 320 µs and 3 × 200 + 2 × 10 = 620 µs, whose median is 470 µs
    harness = next(line for line in out.splitlines() if line.startswith("harness"))
    assert "470 µs" in harness


def test_stages_stops_quietly_when_its_reader_stops_reading(tmp_path):
    """``python -m benchmarks.stages F | head -1`` ends without a BrokenPipeError traceback."""
    files = [str(_timings(tmp_path / f"t{i}.json")) for i in range(200)]
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.stages", *files],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    child.stdout.readline()
    child.stdout.close()  # as head does after its line
    stderr = child.stderr.read().decode()
    assert child.wait() == 0, stderr
    assert "Traceback" not in stderr


def test_scaling_tells_drawn_examples_from_the_others():
    """The drawn examples (with a generate time) and the fixed ones get their own harness
    medians: worked by hand, 0 + 100 + 100 + 10 + 10 = 220 µs for the fixed example and
    200 + 200 + 200 + 10 + 10 = 620 µs for the drawn one."""
    from benchmarks.scaling import medians

    stages = {"generate": [0.0, 2e-4], "reference": [1e-4, 2e-4], "adapter": [1e-4, 2e-4]}
    stages |= {"native": [5e-4, 5e-4], "compare": [1e-5, 1e-5], "record": [1e-5, 1e-5]}
    found = medians({"stages": stages})
    assert round(found["harness fixed"] * 1e6) == 220
    assert round(found["harness drawn"] * 1e6) == 620
    assert round(found["generate drawn"] * 1e6) == 200
    assert found["drawn share"] == 0.5


def test_compiling_calls_are_apart_from_the_harness():
    """The first call at a new shape (stage "compile") counts in neither the harness nor the
    native call: worked by hand, the harness 220 and 620 µs as above, with the compiling call
    5 000 µs on the first example 5 220 µs, median (5 220 + 620) / 2 = 2 920 µs."""
    from benchmarks.scaling import medians

    stages = {"generate": [0.0, 2e-4], "reference": [1e-4, 2e-4], "adapter": [1e-4, 2e-4]}
    stages |= {"native": [5e-4, 5e-4], "compare": [1e-5, 1e-5], "record": [1e-5, 1e-5]}
    stages |= {"compile": [5e-3, 0.0]}
    found = medians({"stages": stages})
    assert round(found["harness"] * 1e6) == 420
    assert round(found["harness and compile"] * 1e6) == 2920
    assert found["compiling calls"] == 1 and round(found["compiling call"] * 1e6) == 5000


def test_timings_from_before_the_compile_stage_read_as_compiling_nothing(tmp_path):
    path = _timings(tmp_path / "old.json")  # no "compile" stage, as files written before it
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.stages", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.search(r"compiling calls: median / count +— +0\b", out), out
