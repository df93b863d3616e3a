"""Known divergences between torch (2.13.0+cpu, eager) and the reference, each reproduced and cited.

One module per loss family of the reference (``reference.registry.FAMILIES``). Each holds
``DIVERGENCES``, the value, gradient and error differences on inputs the reference accepts, and
``ACCEPTS``, the table of inputs the reference rejects (keyed by loss and the argument it rejects)
that torch computes anyway. Every entry carries the :class:`~adapters.base.Example` that shows it;
``tests/adapters/test_registry.py`` runs each one on the installed torch. Predicates are
deliberately narrow: they name the inputs where the difference occurs, not the loss as a whole, so
a registry entry never hides an unrelated mismatch and turns *stale* as soon as an upgrade changes
the behaviour.

Kinds: ``convention`` for behaviour torch documents (docs page, or a maintainer's decision in an
issue); ``known-bug`` for behaviour that is undocumented and gives a different number than the
mathematical definition (0·inf = NaN where the term is absent, a gradient that is not the gradient
of the value, an error for a valid input).
"""

from __future__ import annotations

from adapters.base import Divergence

from ..generic import range_overflow
from . import binary, classification, distribution, embedding, regression, sequence

FAMILIES = (regression, binary, classification, distribution, embedding, sequence)

# Per loss, the judge takes the first entry that explains a part: each family lists its
# DIVERGENCES before its ACCEPTS rows, the order the entries have always been asked in.
DIVERGENCES: list[Divergence] = [
    entry
    for family in FAMILIES
    for entry in (*family.DIVERGENCES, *(row.as_divergence() for row in family.ACCEPTS))
]
# Last, so that an entry about one loss keeps the credit for what it explains too.
DIVERGENCES.append(
    range_overflow("torch", "https://pytorch.org/docs/stable/notes/numerical_accuracy.html")
)
