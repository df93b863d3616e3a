"""Input regimes: which kind of input an example is, decided by the reference alone.

Every example gets exactly one regime, from its inputs *as rounded to its dtype* and from the
reference's own evaluation of them (never from what a framework returned). The first that applies
wins:

``invalid``   the reference rejects the inputs (:class:`reference.InvalidInput`);
``special``   a ±inf or NaN input (the cotangent included);
``range``     a subnormal input, or an intermediate of the definition beyond the dtype's finite
              range or below its normal range: the value, a gradient, an unreduced term, the sum
              an averaging reduction divides (the "sum before the mean"), the term scales the
              tolerance reads (the terms a standard evaluation adds up, :mod:`reference.terms`),
              and whatever else a loss declares (:attr:`RegimeRules.intermediates`: a square, an
              exp, a quotient);
``boundary``  a value on its domain's boundary (:attr:`reference.spec.Domain.boundary`:
              probabilities 0 and 1, zero weights, counts, rates and variances of 0), a reduction
              dividing by zero (every item ignored, zero total weight), or what a loss declares
              (:attr:`RegimeRules.boundary`: zero vectors, every target ignored);
``kink``      an element at, or within the dtype's rounding of, a non-smooth point, where the
              choice of subgradient decides (:attr:`RegimeRules.kinks`, each loss's own hinges
              and clamps, its ``Param(kink=True)`` parameters among them; a loss that declares
              none has a kink where an input element is at ± one of its kink parameters);
``ordinary``  everything else: finite inputs inside the domain, away from every non-smooth
              point, with every intermediate comfortably inside the dtype's normal range.

The rules here are generic: they read only the spec (domains, term scales, denominators) and the
per-loss :class:`RegimeRules` declared next to each formula in its family module, so a new loss
needs no edit of this module. :func:`regime_of` is memoised on the case (the judge, the records
and the reports all ask).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

REGIMES = ("ordinary", "boundary", "kink", "range", "special", "invalid")  # display order

# A non-smooth point z = 0 counts as reached when |z| is within this many unit roundoffs of the
# size of the terms z is computed from: correct arithmetic in the dtype may land on either side.
KINK_ROUNDINGS = 16.0

Arrays = Mapping[str, np.ndarray]
Params = Mapping[str, Any]


@dataclass(frozen=True)
class RegimeRules:
    """What one loss adds to the generic regime rules, declared on its ``LossSpec.regimes``.

    Each callable takes the validated float64 arrays (rounded to the case's dtype) and the
    parameters with defaults filled in.

    ``kinks``: pairs (z, size) of arrays: the loss is non-smooth where z = 0 (a hinge's argument,
    |d| − δ, var − eps …) and ``size`` is the magnitude of the terms z is computed from.
    ``boundary``: True where the inputs lie on a boundary no single domain sees (a zero vector,
    every item ignored). ``intermediates`` (arrays, parameters, c): arrays of intermediates its
    definition forms that the generic rules do not see (a square before a quotient, an exp, a
    gradient term before its last factor), checked against the dtype's range like the value;
    ``c`` is |∂result/∂ℓ_i|, the cotangent each elementwise loss receives (as for
    :attr:`reference.terms.TermScale.grads`). ``labels``: arguments whose values on their
    domain's boundary are the loss's ordinary use, not an edge of its formula: hard labels 0 and 1
    of a target that selects or weighs terms (binary cross-entropy's y), as opposed to a
    probability whose log is taken (binary cross-entropy's x, kl_div's t).
    """

    kinks: Callable[[Arrays, Params], Iterable[tuple[np.ndarray, np.ndarray]]] | None = None
    boundary: Callable[[Arrays, Params], bool] | None = None
    intermediates: Callable[[Arrays, Params, np.ndarray], Iterable[np.ndarray]] | None = None
    labels: tuple[str, ...] = ()


def nonzero_square(x) -> np.ndarray:
    """x² for a declared intermediate, kept non-zero where x is: a square that underflows even
    float64 to 0 (|x| below 1.5e-162) is below every dtype's normal range, which the smallest
    float64 subnormal says and 0 would hide (the generic rule counts only non-zero elements, so
    that an exact zero stays ordinary)."""
    x = np.asarray(x, dtype=np.float64)
    square = x * x
    return np.where((square == 0) & (x != 0), np.nextafter(0.0, 1.0), square)


def regime_of(case) -> str:
    """The regime of ``case`` (one of :data:`REGIMES`), computed once per case."""
    found = case.__dict__.get("_regime")
    if found is None:
        with np.errstate(all="ignore"):
            found = _classify(case)
        object.__setattr__(case, "_regime", found)
    return found


# --- the rules ------------------------------------------------------------------------------------


def _classify(case) -> str:
    from . import registry
    from .dtypes import FORMATS
    from .errors import InvalidInput
    from .terms import cotangent_weights

    spec = registry.get(case.loss)
    try:
        value, grads = case.reference()
    except InvalidInput:
        return "invalid"
    arrs, full, bound, el = case.derived()
    floats = {
        name: values
        for name, values in arrs.items()
        if not spec.array(name).domain_for(full).integer
    }
    cotangent = case.rounded_cotangent()
    inputs = _flat([*floats.values(), *([] if cotangent is None else [cotangent])])
    if not np.isfinite(inputs).all():
        return "special"

    fmt = FORMATS[case.dtype]
    if _subnormal(inputs, fmt):
        return "range"
    rules = spec.regimes or RegimeRules()
    reduction = full["reduction"]
    # Beyond the finite range: the results themselves, the unreduced terms, the sum a mean
    # divides. Below the normal range only what is formed without cancellation (the term scales,
    # the declared intermediates): a float64 result that is 0 up to its own rounding is no
    # underflow of the dtype. (Each group is checked as one flat array: one NumPy pass instead
    # of one per array.)
    large = [np.asarray(value), *grads.values(), el.loss]
    if reduction != "none":
        large.append(np.sum(np.abs(el.loss)))
    terms = case.terms()
    if terms is not None:
        both = _flat([terms.value, *terms.grads.values()])
        c = terms.c
    else:
        both = _flat([])
        _, c = cotangent_weights(el, reduction, cotangent)
    # a declared intermediate of finite inputs that is infinite overflowed even float64
    declared = _flat(
        [] if rules.intermediates is None else list(rules.intermediates(arrs, full, c))
    )
    large = _flat(large)
    if (
        _beyond(large, fmt)
        or _beyond(both, fmt)
        or _subnormal(both, fmt)
        or _beyond(declared, fmt, infinite=True)
        or _subnormal(declared, fmt)
    ):
        return "range"
    # A non-finite result of finite inputs is the formula's own infinity at a boundary (log 0),
    # or else an intermediate that overflowed float64 too (e^4096).
    boundary = _on_boundary(spec, arrs, full, bound, el, rules)
    if not boundary and not np.isfinite(large).all():
        return "range"
    if boundary:
        return "boundary"

    u = fmt.eps / 2.0
    kinks = rules.kinks(arrs, full) if rules.kinks is not None else _param_kinks(spec, floats, full)
    if any(_at_kink(z, size, u) for z, size in kinks):
        return "kink"
    return "ordinary"


def _on_boundary(spec, arrs, full, bound, el, rules) -> bool:
    context = {**full, **bound}
    for a in spec.arrays:
        dom = a.domain_for(full)
        if a.name in arrs and a.name not in rules.labels and dom.boundary is not None:
            if np.any(dom.boundary(arrs[a.name], context)):
                return True
    reduction = full["reduction"]
    if reduction != "none" and el.denominators.get(reduction, 1) == 0:
        return True
    return rules.boundary is not None and bool(rules.boundary(arrs, full))


def _param_kinks(spec, floats, params) -> list[tuple[np.ndarray, np.ndarray]]:
    """A loss without its own kink rule: its ``Param(kink=True)`` parameters are in the units
    of its differentiable inputs (``reference.spec.Param.kink``), so such an input element at
    ± the parameter."""
    out = []
    for name in spec.kinks:
        k = params.get(name)
        if isinstance(k, (int, float)) and not isinstance(k, bool) and k:
            for arg, x in floats.items():
                if spec.array(arg).differentiable:
                    out.append((np.abs(x) - abs(k), np.abs(x) + abs(k)))
    return out


def _flat(arrays) -> np.ndarray:
    """Every element of ``arrays`` (array-likes of any shapes) in one flat float64 array."""
    if not arrays:
        return np.zeros(0)
    return np.concatenate([np.ravel(np.asarray(x, dtype=np.float64)) for x in arrays])


def _subnormal(x, fmt) -> bool:
    """A non-zero element below the dtype's smallest normal number."""
    ax = np.abs(np.asarray(x, dtype=np.float64))
    return bool(np.any((ax > 0) & (ax < fmt.tiny)))


def _beyond(x, fmt, infinite: bool = False) -> bool:
    """An element beyond the dtype's largest number: finite ones only (a non-finite result of
    finite inputs is the formula's own infinity at a boundary, judged there), unless
    ``infinite`` (an intermediate that overflowed float64 too)."""
    ax = np.abs(np.asarray(x, dtype=np.float64))
    beyond = ax > fmt.max_value
    return bool(np.any(beyond if infinite else beyond & np.isfinite(ax)))


def _at_kink(z, size, u: float) -> bool:
    z = np.abs(np.asarray(z, dtype=np.float64))
    size = np.abs(np.asarray(size, dtype=np.float64))
    return bool(np.any(np.isfinite(z) & (z <= KINK_ROUNDINGS * u * size)))
