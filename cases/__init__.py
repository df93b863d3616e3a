"""Where the conformance run's inputs come from, and how its outputs are judged.

Case generation (this half): :mod:`cases.profiles` (ci / default / thorough),
:mod:`cases.selection` (which configurations a profile runs, item ids), :mod:`cases.strategies`
(hypothesis draws per argument domain), :mod:`cases.edges` (hand-picked edge cases),
:mod:`cases.invalid` (inputs the reference rejects), :mod:`cases.oracles` (relations between two
cases that need no reference), :mod:`cases.corpus` (the frozen corpus, ``python -m cases freeze``)
and :mod:`cases.sampling` (plain seeded NumPy draws).

This package imports :mod:`reference`, NumPy and hypothesis only — never an adapter or a framework.
"""
