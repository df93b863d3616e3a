"""Where the conformance run's inputs come from, and how its outputs are judged.

Case generation (this half): :mod:`cases.profiles` (ci / default / thorough),
:mod:`cases.selection` (which configurations a profile runs, item ids), :mod:`cases.strategies`
(hypothesis draws per argument domain), :mod:`cases.edges` (hand-picked edge cases),
:mod:`cases.invalid` (inputs the reference rejects), :mod:`cases.oracles` (relations between two
cases that need no reference), :mod:`cases.corpus` (the frozen corpus, ``python -m cases freeze``)
and :mod:`cases.sampling` (plain seeded NumPy draws).

The run (this package's last part): :mod:`cases.run`, the conformance engine (items, the
per-example pipeline, the results file; it also imports ``reports.schema`` and ``reports.progress``)
and :mod:`cases.cli`, the ``lossconf`` command.

This package imports :mod:`reference`, NumPy and hypothesis — never an adapter module at import
time, nor a framework: the engine receives an adapter object, and only the command line and the
pytest plugin resolve a framework name to one.
"""
