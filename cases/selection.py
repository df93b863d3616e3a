"""Which configurations a profile runs, and the id of one conformance item.

A configuration (:mod:`reference.configs`) is a set of *options*: each API parameter's value, each
optional array's presence flag, and the reduction. ``default`` and ``thorough`` run every
configuration. ``ci`` runs a *pairwise-covering* subset: every option value, and every pair of
option values that occurs together in some configuration, appears in at least one chosen
configuration — that is where frameworks part (``pos_weight`` × ``weight`` × reduction,
``ignore_index`` × ``label_smoothing`` × ``weight``), at a fraction of the full product.

The subset is chosen greedily (the configuration adding the most uncovered pairs first, ties to
the earlier one in :func:`reference.all_configs` order), so it is deterministic.
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


def item_id(spec: LossSpec, config: Mapping[str, Any], dtype: str, device: str, mode: str) -> str:
    """``cross_entropy[prob-target,weight,label_smoothing=0.1,mean]-float32-cpu-jit``."""
    return f"{R.config_id(spec, config)}-{dtype}-{device}-{mode}"
