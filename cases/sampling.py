"""Deterministic draws of valid inputs from the registry's domains and layouts (no hypothesis).

The hypothesis strategies build on these: hypothesis chooses the layout, the sizes, the magnitude
and a seed, and this module turns them into arrays. Values are drawn per *domain*, never per loss.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

import reference as R
from reference import shapes
from reference.spec import Layout, LossSpec

# Default symbol sizes: small enough to be fast, large enough that reductions mean something.
DEFAULT_SIZES = {"N": 3, "C": 4, "D": 3, "E": 2, "d1": 2, "d2": 2}

Sampler = Callable[[np.random.Generator, tuple[int, ...], Mapping[str, Any], float], np.ndarray]


def _real(rng, shape, ctx, scale):
    return rng.standard_normal(shape) * scale


def _log_probability(rng, shape, ctx, scale):
    return -rng.exponential(1.0, shape)


def _probability(rng, shape, ctx, scale):
    return rng.uniform(0.0, 1.0, shape)


def _class_index(rng, shape, ctx, scale):
    return rng.integers(0, ctx["C"], size=shape).astype(np.int64)


def _count(rng, shape, ctx, scale):
    return rng.poisson(3.0, shape).astype(np.float64)


def _positive(rng, shape, ctx, scale):
    return rng.uniform(0.05, 3.0, shape)


def _sign(rng, shape, ctx, scale):
    return rng.choice(np.array([-1.0, 1.0]), size=shape)


def _weight(rng, shape, ctx, scale):
    return rng.uniform(0.0, 2.0, shape)


SAMPLERS: dict[str, Sampler] = {
    "real": _real,
    "logit": _real,
    "log-probability": _log_probability,
    "probability": _probability,
    "class index": _class_index,
    "count": _count,
    "rate": _positive,
    "variance": _positive,
    "±1 label": _sign,
    "weight": _weight,
}


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
        out[name] = np.asarray(SAMPLERS[domain.name](rng, concrete[name], context, scale))
    return out


def output_shape(spec: LossSpec, arrays: Mapping[str, np.ndarray], params: Mapping) -> tuple:
    """The shape of the ``none`` result, for drawing a cotangent."""
    return np.shape(R.evaluate(spec.name, arrays, {**params, "reduction": "none"}))
