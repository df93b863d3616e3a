"""A terminal progress printer for the conformance run: one line per finished item.

Plain lines, no cursor control, so it reads the same in a terminal, a CI log and a file::

    [ 3/120] cross_entropy[index-target,mean] float32 cpu eager   ✓ match     100 examples (97 ✓ 3 ≈)  0.4s
"""

from __future__ import annotations

import time
from typing import TextIO

from .verdicts import VERDICTS, symbol


class Progress:
    """``start`` an item, ``update`` its counts as examples run, ``finish`` it with a verdict."""

    def __init__(self, stream: TextIO, total_items: int, quiet: bool = False) -> None:
        self.stream = stream
        self.total = total_items
        self.quiet = quiet
        self.done = 0
        self._started: dict[str, float] = {}
        self._counts: dict[str, tuple[int, dict[str, int]]] = {}

    def start(self, item_id: str) -> None:
        self._started[item_id] = time.monotonic()
        self._counts[item_id] = (0, {})

    def update(self, item_id: str, examples: int, verdict_counts: dict[str, int]) -> None:
        self._counts[item_id] = (examples, dict(verdict_counts))

    def finish(self, item_id: str, verdict: str) -> None:
        self.done += 1
        elapsed = time.monotonic() - self._started.pop(item_id, time.monotonic())
        examples, counts = self._counts.pop(item_id, (0, {}))
        if not self.quiet:
            self.stream.write(self.line(item_id, verdict, examples, counts, elapsed) + "\n")
            self.stream.flush()

    def line(
        self, item_id: str, verdict: str, examples: int, counts: dict[str, int], elapsed: float
    ) -> str:
        width = len(str(self.total))
        ordered = sorted(
            counts.items(),
            key=lambda kv: VERDICTS.index(kv[0]) if kv[0] in VERDICTS else len(VERDICTS),
        )
        breakdown = " ".join(f"{count} {symbol(name)}" for name, count in ordered if count)
        return (
            f"[{self.done:>{width}}/{self.total}] {item_id}  {symbol(verdict)} {verdict:<14} "
            f"{examples:>5} examples"
            + (f" ({breakdown})" if breakdown else "")
            + f"  {elapsed:.1f}s"
        )
