"""Deterministic draws of valid inputs from the registry's domains and layouts (no hypothesis).

The hypothesis strategies build on these: hypothesis chooses the layout, the sizes, the magnitude
and a seed, and this module turns them into arrays. Values are drawn per *domain*, never per loss,
with the sampler each domain declares (``Domain.sample``, in reference/domains.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

import reference as R
from reference import shapes
from reference.spec import Layout, LossSpec

from .profiles import CANONICAL_SIZES

# Default symbol sizes: small enough to be fast, large enough that reductions mean something; the
# ci profile's canonical shape, at which its compiled items run. A fixed case of the adapter tests
# at these sizes is often a program the conformance run compiles too (the same primitive at the
# same shape and dtype), which JAX's persistent cache then serves to the other: when these became
# N = 4, C = 3 instead of N = 3, C = 4, the jax conformance run after the adapter tests compiled
# 2 213 programs itself instead of 2 483, and the two together took 389 s instead of 426 s, back
# to back on a cold cache (Keras on jax's adapter tests 70 -> 67 s, twice).
DEFAULT_SIZES = {symbol: sizes[0] for symbol, sizes in CANONICAL_SIZES.items()}


def sample_arrays(
    spec: LossSpec,
    config: Mapping[str, Any],
    rng: np.random.Generator,
    layout: Layout | None = None,
    sizes: Mapping[str, int] | None = None,
    scale: float = 2.0,
) -> dict[str, np.ndarray]:
    """Valid arrays for ``config`` (see :mod:`reference.configs`) in ``layout`` (default: the
    last layout that applies, usually the batched one) with the given symbol sizes."""
    params, present = R.split(spec, config)
    full = {**spec.defaults(), **params}
    candidates = shapes.layouts_for(spec.layouts, full)
    layout = layout or candidates[-1]
    sizes = {**DEFAULT_SIZES, **(sizes or {})}
    context = {**full, **sizes}
    names = [a.name for a in spec.arrays if not a.optional or a.name in present]
    concrete = shapes.concrete(layout, sizes, names)
    out = {}
    for name in names:
        domain = spec.array(name).domain_for(full)
        if domain.sample is None:
            raise LookupError(
                f"domain {domain.name!r} ({spec.name}'s {name}) declares no sampler: give its "
                "Domain a sample= function in reference/domains.py"
            )
        out[name] = np.asarray(domain.sample(rng, concrete[name], context, scale))
    return out


def output_shape(spec: LossSpec, arrays: Mapping[str, np.ndarray], params: Mapping) -> tuple:
    """The shape of the ``none`` result, for drawing a cotangent."""
    return np.shape(R.evaluate(spec.name, arrays, {**params, "reduction": "none"}))
