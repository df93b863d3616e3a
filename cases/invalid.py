"""Invalid inputs, generated from the registry's enforced domains and layouts, never per loss.

For each configuration a valid base case is drawn (seeded by the configuration id), then broken
one way at a time:

- every argument whose :class:`~reference.spec.Domain` is *enforced* gets, in one element, each
  of the domain's ``violations`` (declared with the domain in reference/domains.py: a class index
  of C and of −1, a probability below 0 and above 1, a negative variance, ±1 labels of 0 and 2,
  an infinite or NaN weight); a value the domain happens to accept in this configuration (−1 when
  ``ignore_index`` is −1) is skipped;
- every argument, in turn, gets its last dimension one longer (a scalar becomes a vector of 2);
  the result is kept only where no layout of the loss accepts the shapes;
- every argument, in turn, gets shapes that still *broadcast* against the others (its first
  dimension cut to 1; a trailing dimension of 1 added), kept where no layout accepts them: the
  frameworks that broadcast silently answer with a number there.

The reference raises :class:`reference.InvalidInput` for each; a framework either raises too
(verdict match) or returns a number (error-mismatch, recorded). Labels read
``invalid:<argument> <what>``. The base case's cotangent (reduction ``none``) is kept, also for the
shape mismatches, whose output shape the reference does not define.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

import reference as R
from reference import shapes
from reference.spec import LossSpec

from . import profiles, strategies


def base_case(spec: LossSpec, config: Mapping[str, Any]) -> R.Case:
    """A valid case in the canonical layout, seeded by the configuration id (deterministic)."""
    seed = zlib.crc32(R.config_id(spec, config).encode())
    profile = profiles.get("ci")
    return strategies.seeded_case(
        np.random.default_rng(seed), spec, config, "float64", profile, mode="jit", label="base"
    )


def _domain_breaks(spec, case, full, bound) -> list[tuple[str, str, np.ndarray]]:
    out = []
    context = {**full, **bound}
    for name, values in case.arrays.items():
        domain = spec.array(name).domain_for(full)
        if not domain.enforced or values.size == 0:
            continue
        for what, bad in domain.violations:
            broken = values.copy().reshape(-1)
            broken[0] = bad(bound)
            broken = broken.reshape(values.shape).astype(values.dtype)
            if np.all(domain.valid(broken, context)):
                continue  # this configuration accepts the value (ignore_index = -1)
            out.append((f"{name} {what}", name, broken))
    return out


def _grown(values: np.ndarray) -> np.ndarray:
    """The array with its last dimension one longer (a scalar becomes a vector of two)."""
    if values.ndim == 0:
        return np.repeat(values[None], 2)
    pad = [(0, 0)] * (values.ndim - 1) + [(0, 1)]
    return np.pad(values, pad, mode="edge")


def _shape_breaks(spec, case, full) -> list[tuple[str, str, np.ndarray]]:
    out = []
    for name, values in case.arrays.items():
        grown = _grown(values)
        given = {k: (grown if k == name else v).shape for k, v in case.arrays.items()}
        if shapes.match(spec.layouts, given, full) is None:
            what = "scalar given as a vector" if values.ndim == 0 else "last dimension one longer"
            out.append((f"{name} {what} (shapes fit no layout)", name, grown))
    return out


# Shape changes that still broadcast against the other arguments: the silent-broadcasting
# pitfall (torch's mse_loss of (N, 1) against (N,) is an N×N loss) rather than a plain mismatch.
BROADCASTING: tuple[tuple[str, Callable[[np.ndarray], np.ndarray]], ...] = (
    ("first dimension 1 (broadcasts against the others)", lambda values: values[:1]),
    ("trailing dimension of 1 added (broadcasts to an outer product)", lambda v: v[..., None]),
)


def _broadcast_breaks(spec, case, full) -> list[tuple[str, str, np.ndarray]]:
    out = []
    for name, values in case.arrays.items():
        for what, change in BROADCASTING:
            if values.ndim == 0 or (what.startswith("first") and values.shape[0] == 1):
                continue  # nothing to shrink: the shapes would not change
            changed = change(values)
            given = {k: (changed if k == name else v).shape for k, v in case.arrays.items()}
            try:
                np.broadcast_shapes(*given.values())
            except ValueError:
                continue  # a plain mismatch, as _shape_breaks makes
            if shapes.match(spec.layouts, given, full) is None:
                out.append((f"{name} {what}, shapes fit no layout", name, changed))
    return out


def changes_shape(case: R.Case) -> bool:
    """Whether an invalid case breaks a shape (rather than a value in the base case's shapes)."""
    return bool(case.meta.get("shape_break"))


def breaks_a_value(spec: LossSpec, case: R.Case) -> bool:
    """Whether ``case`` is an invalid case that breaks a *value* in shapes a layout accepts (a
    class index out of range, a probability above 1) rather than a shape. Read from the case
    itself, so that it holds for a corpus case too (the corpus keeps no ``shape_break`` mark)."""
    if not case.label.startswith("invalid:"):
        return False
    full = {**spec.defaults(), **case.params}
    return (
        shapes.match(spec.layouts, {k: np.shape(v) for k, v in case.arrays.items()}, full)
        is not None
    )


def invalid_cases(spec: LossSpec, config: Mapping[str, Any], dtype: str) -> list[R.Case]:
    """Cases the reference rejects with InvalidInput, labelled ``invalid:<argument> <what>``;
    those that change a shape are marked (:func:`changes_shape`)."""
    base = base_case(spec, config)
    full = {**spec.defaults(), **base.params}
    _, bound = shapes.match(spec.layouts, {k: v.shape for k, v in base.arrays.items()}, full)
    out = []
    breaks = [(*b, False) for b in _domain_breaks(spec, base, full, bound)] + [
        (*b, True) for b in _shape_breaks(spec, base, full) + _broadcast_breaks(spec, base, full)
    ]
    for what, name, broken, shape_break in breaks:
        arrays = {**base.arrays, name: broken}
        out.append(
            R.Case(
                spec.name,
                base.params,
                arrays,
                dtype,
                cotangent=base.cotangent,
                label=f"invalid:{what}",
                meta={"argument": name, **({"shape_break": True} if shape_break else {})},
            )
        )
    return out
