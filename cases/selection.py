"""Which configurations a profile runs, and the id of one conformance item.

A configuration (:mod:`reference.configs`) is a set of *options*: each API parameter's value, each
optional array's presence flag, and the reduction. ``default`` and ``thorough`` run every
configuration. ``ci`` runs a *pairwise-covering* subset: every option value, and every pair of
option values that occurs together in some configuration, appears in at least one chosen
configuration — that is where frameworks part (``pos_weight`` × ``weight`` × reduction,
``ignore_index`` × ``label_smoothing`` × ``weight``), at a fraction of the full product.

The subset is chosen greedily (the configuration adding the most uncovered pairs first, ties to
the earlier one in :func:`reference.all_configs` order), so it is deterministic.

Dtypes and modes. ``default`` and ``thorough`` run every configuration at every dtype in every
mode. ``ci`` extends the covering to them (:func:`runs_in_mode`): every offered native form of a
configuration runs at every dtype, in one mode per dtype, the modes alternating along the
configurations and the dtypes, so that each loss still runs every dtype in every mode, each
configuration in every mode and at every dtype, and each mode at every dtype. An item of a framework
that compiles costs a compilation whatever its cases (0.23 s on average in a jax ci run, a third of
its examples' time), so this halves a two-mode framework's ci run; measured on the last full ci
runs, the selected half exercised 87 of the 87 registry entries the whole run did (jax), 135 of
136 (Keras on jax), 128 of 131 (Keras on TensorFlow), 39 of 39 (TensorFlow): each entry left out
had been reached by one or two examples of one or two items.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

import reference as R
from reference.spec import LossSpec

Option = tuple[str, str]  # (name, repr(value)): None, -100, 0.1 and True stay distinct
Pair = frozenset[Option]


def options(config: Mapping[str, Any]) -> list[Option]:
    return sorted((name, repr(value)) for name, value in config.items())


def pairs(config: Mapping[str, Any]) -> set[Pair]:
    """Every option and every pair of options of one configuration (singletons included, so a
    loss whose only option is the reduction still needs each reduction)."""
    opts = options(config)
    return {frozenset([o]) for o in opts} | {
        frozenset(pair) for pair in itertools.combinations(opts, 2)
    }


def required_pairs(configs: Iterable[Mapping[str, Any]]) -> set[Pair]:
    """The pairs a covering subset must contain: those that occur in some valid configuration
    (``ignore_index=-100`` never pairs with probability targets, so it is not required)."""
    out: set[Pair] = set()
    for config in configs:
        out |= pairs(config)
    return out


def pairwise(configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A small subset of ``configs`` covering every required pair, in the original order."""
    todo = required_pairs(configs)
    covers = [pairs(c) for c in configs]
    chosen: list[int] = []
    while todo:
        best = max(range(len(configs)), key=lambda i: (len(covers[i] & todo), -i))
        chosen.append(best)
        todo -= covers[best]
    return [configs[i] for i in sorted(chosen)]


# Configurations the pairwise subset must hold beyond its pairs, per loss: a native API offered
# at one triple of options that pairwise covering need not select would otherwise never run in
# ci. Appended after the greedy choice, so they add items and never change which others it picks.
REQUIRED: dict[str, tuple[dict[str, Any], ...]] = {
    # keras.losses.poisson, Poisson's per-sample function: offered at reduction none only, and
    # Keras' Poisson takes the rate (log_input=False) with no Stirling term (full=False)
    "poisson_nll_loss": ({"log_input": False, "full": False, "reduction": "none"},),
}


def with_required(spec: LossSpec, chosen: list[dict[str, Any]], every: list) -> list:
    """``chosen`` and each of :data:`REQUIRED`'s configurations of ``spec`` it lacks (the full
    configurations they name, in :func:`reference.all_configs` order)."""
    wanted = REQUIRED.get(spec.name, ())
    extra = [
        c
        for c in every
        if c not in chosen and any(all(c.get(k) == v for k, v in w.items()) for w in wanted)
    ]
    return [c for c in every if c in chosen or c in extra]


def configs(spec: LossSpec, profile) -> list[dict[str, Any]]:
    """The configurations ``profile`` runs for ``spec`` (``profile.configs``: pairwise or all)."""
    every = list(R.all_configs(spec))
    if profile.configs == "all":
        return every
    if profile.configs == "pairwise":
        return with_required(spec, pairwise(every), every)
    raise ValueError(f"profile {profile.name}: unknown configs policy {profile.configs!r}")


# How a profile runs the dtypes and modes of an offered native form of a configuration: ``all``
# (every dtype in every mode), ``alternate`` (every dtype, in one mode each: runs_in_mode).
DTYPE_MODES = ("all", "alternate")


def runs_in_mode(
    policy: str, variant: int | None, variants: int, dtype_index: int, mode_index: int, modes: int
) -> bool:
    """Whether the ``variant``-th offered native form of a loss (of ``variants``; None: not
    offered) runs at the dtype and in the mode of these indices (the dtype's index among the
    adapter's dtypes, the mode's among the run's ``modes``).

    ``alternate`` runs the form at each dtype in mode ``(variant + dtype_index) % modes``. A loss
    with fewer offered forms than modes, a run of one mode, and a form that is not offered (its
    items cost nothing: they record why) run in every mode, so no dtype and no mode of a loss is
    ever left out."""
    if policy not in DTYPE_MODES:
        raise ValueError(f"unknown dtype-mode policy {policy!r}; known: {', '.join(DTYPE_MODES)}")
    if policy == "all" or variant is None or modes < 2 or variants < modes:
        return True
    return mode_index == (variant + dtype_index) % modes


def item_id(spec: LossSpec, config: Mapping[str, Any], dtype: str, device: str, mode: str) -> str:
    """``cross_entropy[prob-target,weight,label_smoothing=0.1,mean]-float32-cpu-jit``."""
    return f"{R.config_id(spec, config)}-{dtype}-{device}-{mode}"
