"""Run profiles: how much the conformance run explores, and which configurations it runs.

Three profiles, registered with hypothesis as ``lossconf-ci``, ``lossconf-default`` and
``lossconf-thorough`` (chosen by ``--profile`` or ``LOSSCONF_PROFILE``, default ``ci``):

=========  ======================  ==============  ============  ===============================
profile    configurations          examples per    hypothesis    compiled-mode shapes
           × dtypes × modes        item            database
=========  ======================  ==============  ============  ===============================
ci         pairwise subset; every  6               none          one layout, one size per symbol
           dtype, one mode each    (derandomised)                (one compilation per item);
           (alternating)                                         invalid shapes at float32 only
default    all × every dtype ×     25              .hypothesis/  every layout, N ∈ {1, 4}
           every mode
thorough   all × every dtype ×     200             .hypothesis/  every layout, N ∈ {1, 4, 7},
           every mode                                            C ∈ {3, 5}
=========  ======================  ==============  ============  ===============================

In ci, each native form of a configuration runs at every dtype in one mode per dtype, the modes
alternating along the loss's forms and the dtypes (:func:`cases.selection.runs_in_mode`): each loss
still runs every dtype in every mode. A framework with one mode (torch) runs everything.

The ci budget (one framework, this 2-core machine, ≤ 5 minutes including native calls and JIT
compilation; ``python -m cases budget`` prints the counts): the pairwise subset had 120
configurations when this was measured (129 with the 22 losses of today), so 120 × 4 dtypes ×
2 modes = 960 items, each running 6 drawn examples plus its
edge and invalid cases (3.5 + 4.0 on average): ≈ 13 000 native calls. Measured with the torch
adapter (eager only, 108 offered configurations × 4 dtypes = 432 items) through the conformance
plugin: an item whose cases all agree or are explained takes ≈ 0.19 s (≈ 3.8 ms per native call,
≈ 40 ms of hypothesis overhead), so ≈ 85 s; an item with an unexpected result also pays for
hypothesis' shrinking (≈ 4 s on average, up to ≈ 33 s). A compiled item compiles about once — its
drawn cases and 98 % of the edge cases share the canonical shape — and one
``jax.jit(value_and_grad(…))`` compilation took 0.05–0.45 s (mean 0.16 s): 480 compiled items ×
≈ 0.16 s ≈ 80 s. Eager shapes are drawn freely from the menu below; compiled shapes come from a
small menu because ``tf.function`` and ``jax.jit`` compile once per input shape. JAX's eager mode
compiles too (each primitive, once per shape and dtype, on first use), so its adapter declares
both modes shape-specialised (``Adapter.compiles_per_shape``) and draws from the compiled menu.

Scalar hyperparameters (delta, margin, label_smoothing…) are never drawn: they are configuration
values (see :class:`reference.spec.Param`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase


def _draws_independent_of_source() -> None:
    """Keep the project's own number literals out of hypothesis' draws.

    Hypothesis (6.131 and later) collects the numeric literals of every module loaded from the
    project's checkout and draws them, now and then, as "interesting" values. The ci draws would
    then depend on every literal anywhere in the code base: an example added to a registry entry,
    or a constant renamed in a refactor, changed which inputs the ci profile tested (seen: a new
    literal turned a float64 kl_div item red on an input no earlier run had drawn). The draws must
    be a function of the profile's seed and the item alone, so the local pool is emptied;
    hypothesis' own constants (0, ±inf, extremes, subnormals) stay, and the edge cases hold the
    values this suite chooses on purpose. Private API, hence the guard: on a hypothesis without it
    there is nothing to neutralise.
    """
    try:  # the names this needs; a hypothesis without them has no local constants to empty
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.conjecture.providers import (  # noqa: F401
            CONSTANTS_CACHE,
            Constants,
            _get_local_constants,
        )
    except ImportError:  # pragma: no cover
        return
    empty = Constants()
    providers._get_local_constants = lambda: empty
    CONSTANTS_CACHE.cache.clear()


_draws_independent_of_source()

ENV = "LOSSCONF_PROFILE"
DEFAULT = "ci"
DATABASE_DIR = os.path.join(".hypothesis", "examples")  # gitignored

# Symbol sizes hypothesis draws from, simplest first (hypothesis shrinks toward the first).
# N = 1 is the batch of one; d1, d2 the extra dimensions of K-dimensional cross-entropy.
EAGER_SIZES: Mapping[str, tuple[int, ...]] = {
    "N": (1, 2, 3, 4, 7),
    "C": (3, 2, 1, 5, 8),
    "D": (3, 1, 2, 5),
    "E": (2, 1, 3),
    "d1": (2, 1, 3),
    "d2": (2, 1),
    # ctc_loss: time steps, the padded target length, the alphabet with its blank (K ≥ 2)
    "T": (5, 1, 2, 8),
    "S": (2, 1, 3),
    "K": (3, 2, 5),
}
# The one shape every compiled case of a ci item uses (edge cases are written at it too).
CANONICAL_SIZES: Mapping[str, tuple[int, ...]] = {
    "N": (4,),
    "C": (3,),
    "D": (3,),
    "E": (2,),
    "d1": (2,),
    "d2": (2,),
    "T": (5,),
    "S": (2,),
    "K": (3,),
}


@dataclass(frozen=True)
class Profile:
    """One run profile. ``configs``: ``pairwise`` (covering subset) or ``all``.

    ``compiled_layouts``: ``canonical`` (compiled modes draw only the loss's canonical layout, see
    :func:`cases.strategies.canonical_layout`) or ``all``. ``max_elements`` bounds the number of
    array elements of one drawn case (hypothesis cannot draw much more than ~400 floats per example).
    ``corpus_examples`` is the number of drawn cases per configuration ``python -m cases freeze``
    stores.
    """

    name: str
    max_examples: int
    configs: str
    derandomize: bool
    database: bool
    compiled_sizes: Mapping[str, tuple[int, ...]]
    compiled_layouts: str
    eager_sizes: Mapping[str, tuple[int, ...]] = field(default_factory=lambda: dict(EAGER_SIZES))
    max_elements: int = 160
    corpus_examples: int = 8
    # Seconds hypothesis may spend shrinking an item's first unexpected example to the smallest
    # (0: no shrinking; the reproducer is the first unexpected example found). Shrinking replays
    # candidate inputs through the framework, which made a failing ci run 13-25x slower than a
    # clean one; a failing ci run must stay fast exactly when an upgrade changed many things.
    shrink_seconds: float = 0.0
    # The dtypes at which an item of a mode that compiles per input shape runs the invalid cases
    # that break a shape (None: every dtype). Each such case is a shape the framework compiles
    # anew (XLA lowers and compiles every primitive of a JAX eager call at a new shape: ~1.3 s
    # cold for optax's softmax cross-entropy), and they were 1 350 of the 1 627 distinct shapes
    # of the ci configurations' fixed cases; a framework checks shapes before it looks at the
    # dtype's values. Value breaks, edges and drawn cases still run at every dtype.
    shape_break_dtypes: tuple[str, ...] | None = None
    # How the items of a native form of a configuration cover the dtypes and modes
    # (cases.selection.runs_in_mode): "all" (every dtype in every mode) or "alternate" (every
    # dtype, one mode each, alternating; the ci profile, where an item's compilation is most of
    # its cost). A frozen corpus replays at every dtype and mode whatever the profile.
    dtype_modes: str = "all"
    seed: int = 0
    deadline: None = None

    @property
    def settings_name(self) -> str:
        return f"lossconf-{self.name}"

    def seeded(self, seed: int) -> Profile:
        """This profile with its draws a function of ``seed`` and the item alone: derandomised,
        no example database (which would replay what earlier runs saved)."""
        return replace(self, derandomize=True, database=False, seed=seed)

    def draws_settings(self) -> dict:
        """The hypothesis settings an item overrides on the registered profile's: a seeded
        profile's derandomisation and database (the registered settings are per profile name)."""
        return {
            "derandomize": self.derandomize,
            "database": DirectoryBasedExampleDatabase(DATABASE_DIR) if self.database else None,
            "print_blob": not self.derandomize,
        }

    def sizes(self, compiled: bool) -> Mapping[str, tuple[int, ...]]:
        """The symbol-size menu for a mode that does (or does not) compile per input shape."""
        return self.compiled_sizes if compiled else self.eager_sizes

    def runs_shape_breaks(self, dtype: str, compiled: bool) -> bool:
        """Whether an item in ``dtype`` runs the invalid cases that break a shape."""
        return not compiled or self.shape_break_dtypes is None or dtype in self.shape_break_dtypes

    def all_layouts(self, compiled: bool) -> bool:
        return not compiled or self.compiled_layouts == "all"

    def hypothesis_settings(self) -> settings:
        return settings(
            max_examples=self.max_examples,
            deadline=self.deadline,
            # the native calls and JIT compilations are slow by design, and arrays are large draws
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.data_too_large,
                HealthCheck.large_base_example,
            ],
            **self.draws_settings(),
        )


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "ci",
            max_examples=6,
            configs="pairwise",
            derandomize=True,
            database=False,
            compiled_sizes=CANONICAL_SIZES,
            compiled_layouts="canonical",
            shape_break_dtypes=("float32",),
            dtype_modes="alternate",
        ),
        Profile(
            "default",
            max_examples=25,
            configs="all",
            derandomize=False,
            database=True,
            compiled_sizes={**CANONICAL_SIZES, "N": (1, 4)},
            compiled_layouts="all",
            shrink_seconds=10.0,
        ),
        Profile(
            "thorough",
            max_examples=200,
            configs="all",
            derandomize=False,
            database=True,
            compiled_sizes={**CANONICAL_SIZES, "N": (1, 4, 7), "C": (3, 5)},
            compiled_layouts="all",
            max_elements=240,
            shrink_seconds=30.0,
        ),
    )
}
NAMES: tuple[str, ...] = tuple(PROFILES)

for _profile in PROFILES.values():
    settings.register_profile(_profile.settings_name, _profile.hypothesis_settings())


def get(name: str | None = None) -> Profile:
    """The profile called ``name``; None means ``$LOSSCONF_PROFILE``, else ``ci``."""
    name = name or os.environ.get(ENV) or DEFAULT
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown profile {name!r}; known: {', '.join(NAMES)}") from None
