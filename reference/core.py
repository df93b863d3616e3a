"""Validation, evaluation and vector-Jacobian products, shared by every loss."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from . import shapes
from .errors import InvalidInput
from .reduction import elementwise_cotangent, reduce
from .spec import LossSpec


def _checked_params(spec: LossSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    known = {p.name for p in spec.params}
    for name in params:
        if name not in known:
            raise InvalidInput(
                spec.name,
                f"parameter {name!r}",
                f"is not a parameter of {spec.name} (known: {', '.join(sorted(known))})",
            )
    full = {**spec.defaults(), **params}
    for p in spec.params:
        if not all(full.get(k) == v for k, v in p.applies_when.items()):
            if p.name in params and params[p.name] != p.default:
                cond = ", ".join(f"{k}={v!r}" for k, v in p.applies_when.items())
                raise InvalidInput(spec.name, p.name, f"applies only when {cond}", params[p.name])
            continue
        try:
            ok = bool(p.check(full[p.name]))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise InvalidInput(spec.name, p.name, f"must {p.rule}", full[p.name])
    return full


def _checked_arrays(spec: LossSpec, arrays: Mapping[str, Any], params) -> dict[str, np.ndarray]:
    known = {a.name for a in spec.arrays}
    for name in arrays:
        if name not in known:
            raise InvalidInput(
                spec.name,
                f"argument {name!r}",
                f"is not an argument of {spec.name} "
                f"(known: {', '.join(a.name for a in spec.arrays)})",
            )
    out = {}
    for a in spec.arrays:
        if a.name not in arrays or arrays[a.name] is None:
            if not a.optional:
                raise InvalidInput(spec.name, a.name, "is required")
            continue
        value = np.asarray(arrays[a.name])
        if a.domain_for(params).integer:
            if not np.issubdtype(value.dtype, np.integer):
                raise InvalidInput(spec.name, a.name, "must hold integers (class indices)", value)
            out[a.name] = value.astype(np.int64)
        else:
            if not (
                np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype, np.integer)
            ):
                raise InvalidInput(spec.name, a.name, "must hold real numbers", value)
            out[a.name] = value.astype(np.float64)
    return out


def validate(
    spec: LossSpec, arrays: Mapping[str, Any], params: Mapping[str, Any]
) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, int]]:
    """Check everything; return float64 arrays, parameters with defaults, and the bound sizes."""
    full = _checked_params(spec, params)
    arrs = _checked_arrays(spec, arrays, full)
    found = shapes.match(spec.layouts, {k: v.shape for k, v in arrs.items()}, full)
    if found is None:
        given = ", ".join(f"{k} {tuple(v.shape)}" for k, v in arrs.items())
        raise InvalidInput(
            spec.name,
            "shapes",
            f"{given} fit no allowed layout ({shapes.describe(spec.layouts, full)})",
        )
    _, bound = found
    context = {**full, **bound}
    for a in spec.arrays:
        dom = a.domain_for(full)
        if a.name not in arrs or not dom.enforced:
            continue
        good = dom.valid(arrs[a.name], context)
        if not np.all(good):
            sizes = ", ".join(f"{k}={v}" for k, v in bound.items() if k in dom.rule)
            rule = f"must {dom.rule}" + (f" ({sizes})" if sizes else "")
            if "ignore_index" in dom.rule:
                rule += f" (ignore_index={full.get('ignore_index')!r})"
            raise InvalidInput(spec.name, a.name, rule, arrs[a.name][~good])
    if spec.extra_check is not None:
        problem = spec.extra_check(arrs, full, bound)
        if problem is not None:
            raise InvalidInput(spec.name, *problem)
    return arrs, full, bound


def evaluate(spec: LossSpec, arrays: Mapping[str, Any], params: Mapping[str, Any]) -> np.ndarray:
    """The loss, reduced as ``params['reduction']`` says, in float64."""
    arrs, full, _ = validate(spec, arrays, params)
    with np.errstate(all="ignore"):
        return reduce(spec.elementwise(arrs, full), full["reduction"])


def value_and_vjp(
    spec: LossSpec,
    arrays: Mapping[str, Any],
    params: Mapping[str, Any],
    cotangent: np.ndarray | float | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The loss and its vector-Jacobian product for every differentiable argument present.

    For reduction ``none``, ``cotangent`` has the loss's shape; for the others it is a scalar that
    defaults to 1, so the result is the gradient of the reduced loss.
    """
    arrs, full, _ = validate(spec, arrays, params)
    with np.errstate(all="ignore"):
        el = spec.elementwise(arrs, full)
    return value_and_vjp_of(spec, arrs, full, el, cotangent)


def value_and_vjp_of(
    spec: LossSpec,
    arrs: Mapping[str, np.ndarray],
    full: Mapping[str, Any],
    el,
    cotangent: np.ndarray | float | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """:func:`value_and_vjp` from what :func:`validate` returned and the unreduced loss ``el``
    (``spec.elementwise(arrs, full)``), for a caller that has them already
    (:meth:`reference.case.Case.reference`)."""
    with np.errstate(all="ignore"):
        value = reduce(el, full["reduction"])
        g = elementwise_cotangent(el, full["reduction"], cotangent)
        grads = spec.elementwise_vjp(arrs, full, g)
    wanted = {
        a.name
        for a in spec.arrays
        if a.differentiable and a.name in arrs and not a.domain_for(full).integer
    }
    if set(grads) != wanted:
        raise AssertionError(
            f"{spec.name}: vjp returned {sorted(grads)}, expected {sorted(wanted)}"
        )
    out = {}
    for name in sorted(wanted):
        grad = np.asarray(grads[name], dtype=np.float64)
        if grad.shape != arrs[name].shape:
            raise AssertionError(
                f"{spec.name}: gradient of {name} has shape {grad.shape}, not {arrs[name].shape}"
            )
        out[name] = grad
    return value, out
