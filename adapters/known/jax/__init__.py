"""Known divergences between JAX/Optax and the reference, each cited: the registry the JAX
adapter's ``divergences()`` returns.

Written against jax 0.10.2 with optax 0.2.8 and checked on jax 0.9.0 with optax 0.2.4 (the pair
``tox -e upgrade-jax`` compares). An entry about a behaviour that changed between releases names
the releases it holds for, as ``versions="optax>=0.2.6"`` (read against the adapter's
:class:`adapters.base.Release`, which carries the optax version): the bounds come from the released
wheels' source, 0.2.4 to 0.2.8. An entry about a configuration an older release does not offer at
all (triplet_margin_loss before optax 0.2.5, ignore_index before 0.2.6, label smoothing before
0.2.7) needs no range: the mapping says not-offered there and the entry never applies.

One module per loss family (``regression``, ``binary``, ``classification``, ``distribution``,
``embedding``, ``sequence``, as :data:`reference.registry.FAMILIES`) and one table of the error-only entries
(``errors``). Every id is ``<loss>/<slug>``, written literally, and every entry carries the
:class:`Example` that shows it: ``tests/adapters/test_registry.py`` checks on each that the
predicate holds *and* that JAX differs from the reference there. Predicates are narrow: they name
the inputs where the difference shows, so an entry never hides an unrelated mismatch and turns
*stale* as soon as an upgrade changes the behaviour.

Kinds: ``convention`` for behaviour JAX or optax documents (an API docstring or docs page);
``known-bug`` for behaviour that gives another number than the function's own definition (0·inf =
NaN where a term is absent, a gradient that is not the gradient of the value) — with the issue or
pull request that reports it where one exists, else the line of optax's source at the tag.

This package imports no framework: predicates are NumPy functions of the case, reading the arrays
as JAX saw them (``case.rounded()``). Where a difference is small (an epsilon placed elsewhere),
the predicate recomputes optax's formula in float64 and says the difference is *visible* when it
exceeds what the tolerance always allows.
"""

from __future__ import annotations

from reference.contract import Divergence

from ..generic import range_overflow
from . import (
    binary,
    classification,
    distribution,
    embedding,
    errors,
    optax_only,
    overlap,
    regression,
    sequence,
)

# The judge credits a failed part to the first applicable entry in this order: per loss, the
# value and gradient entries come before the error-only rows.
DIVERGENCES: list[Divergence] = [
    *regression.DIVERGENCES,
    *binary.DIVERGENCES,
    *classification.DIVERGENCES,
    *distribution.DIVERGENCES,
    *embedding.DIVERGENCES,
    *sequence.DIVERGENCES,
    # issue 13's optax-only losses: their value entries, then their error-only rows
    *optax_only.DIVERGENCES,
    *errors.DIVERGENCES,
    *overlap.DIVERGENCES,
    # generic: a non-finite result where an intermediate overflows the input dtype (jax.numpy
    # computes in the dtype its inputs promote to)
    range_overflow("JAX", "https://docs.jax.dev/en/latest/type_promotion.html"),
]
