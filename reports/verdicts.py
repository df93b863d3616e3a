"""The six verdicts, in the order the report lists them, and how each is shown.

Every view (HTML, terminal summary, diff, progress) takes its symbols from here, so a verdict
reads the same everywhere and stays legible without colour.
"""

from __future__ import annotations

VERDICTS = ("mismatch", "error-mismatch", "crash", "convention", "match", "not-offered")

# Verdicts that make a record a failure: the run is red unless the registry expects them.
FAILING = frozenset({"mismatch", "error-mismatch", "crash"})

SYMBOLS = {
    "match": "✓",
    "mismatch": "✗",
    "convention": "≈",
    "error-mismatch": "!",
    "crash": "☠",
    "not-offered": "—",
}

DESCRIPTIONS = {
    "match": "within the dtype-aware tolerance",
    "mismatch": "value or gradient beyond tolerance",
    "convention": "a known, cited divergence",
    "error-mismatch": "one side raises, the other returns a number",
    "crash": "the framework raised unexpectedly or died",
    "not-offered": "no native form of this loss or parameter",
}


def symbol(verdict: str) -> str:
    return SYMBOLS.get(verdict, "?")
