"""The conformance run's progress printer."""

from __future__ import annotations

import io

from reports.progress import Progress


def test_one_line_per_finished_item():
    stream = io.StringIO()
    progress = Progress(stream, total_items=12)
    progress.start("mse_loss[mean] float32 cpu eager")
    assert stream.getvalue() == ""
    progress.update("mse_loss[mean] float32 cpu eager", 50, {"match": 48, "convention": 2})
    progress.update("mse_loss[mean] float32 cpu eager", 100, {"match": 97, "convention": 3})
    assert stream.getvalue() == ""
    progress.finish("mse_loss[mean] float32 cpu eager", "convention")
    (line,) = stream.getvalue().splitlines()
    assert line.startswith("[ 1/12] mse_loss[mean] float32 cpu eager  ≈ convention")
    assert "100 examples (3 ≈ 97 ✓)" in line and line.endswith("s")


def test_quiet_prints_nothing():
    stream = io.StringIO()
    progress = Progress(stream, total_items=1, quiet=True)
    progress.start("a")
    progress.finish("a", "crash")
    assert stream.getvalue() == "" and progress.done == 1


def test_an_item_finished_without_updates():
    stream = io.StringIO()
    progress = Progress(stream, total_items=3)
    progress.start("b")
    progress.finish("b", "not-offered")
    assert "— not-offered" in stream.getvalue() and "0 examples" in stream.getvalue()
