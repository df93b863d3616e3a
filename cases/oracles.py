"""Oracles that need no reference: pairs of cases whose results must be related in a known way.

Each :class:`Oracle` says which configurations it applies to and builds, from a seeded generator,
two cases and the :class:`Relation` between their results. The conformance plugin runs both cases
through one adapter and asks :meth:`Relation.violation` whether the framework keeps the relation;
a framework can fail an oracle while agreeing with no one else, and pass it while the reference
disagrees, so oracles check the framework against itself.

=====================================  ===========================================================
oracle                                 relation
=====================================  ===========================================================
focal-gamma-0-is-bce-with-logits       sigmoid_focal_loss(γ=0, α=None) = binary_cross_entropy_with_
                                       logits on the same inputs (value and both gradients)
ignored-items-are-sliced-out           items whose target is ignore_index contribute nothing: the
                                       result equals that of the batch with them removed, and their
                                       ``none`` values and gradients are exactly 0
batch-of-one-is-unbatched              a batch of one item equals the unbatched item (reshaped)
batch-permutation-permutes-results     permuting the batch permutes ``none`` results and gradients
                                       and leaves ``mean``/``sum`` unchanged
sum-is-sum-of-none                     ``sum`` equals the sum of ``none``; its gradient equals the
                                       ``none`` gradient for a cotangent of ones
=====================================  ===========================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import reference as R
from reference.spec import Layout, LossSpec

from .sampling import output_shape, sample_arrays
from .strategies import canonical_layout, fitting_layouts, present_arrays

BATCH = "N"
ORACLE_BATCH = 5  # batch size of the oracles' cases: room for kept, ignored and permuted items
# Relative tolerance of a relation, in units of the dtype's epsilon: both sides are computed by the
# same framework, differing only in summation order and batch size.
RELATIVE_EPS = 2.0**10


@dataclass(frozen=True)
class Map:
    """How an array of case a's result becomes the expected array of case b's result.

    ``identity``; ``take`` (``index`` along ``axis``: slicing or permuting the batch; with
    ``rest_zero`` the elements not taken must be exactly 0 in a); ``reshape`` (to ``shape``);
    ``sum`` (of every element).
    """

    kind: str = "identity"
    axis: int = 0
    index: tuple[int, ...] = ()
    shape: tuple[int, ...] = ()
    rest_zero: bool = False

    def apply(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.kind == "identity":
            return x
        if self.kind == "take":
            return np.take(x, list(self.index), axis=self.axis)
        if self.kind == "reshape":
            return x.reshape(self.shape)
        if self.kind == "sum":
            return np.asarray(np.sum(x))
        raise ValueError(f"unknown map kind {self.kind!r}")

    def rest(self, x: np.ndarray) -> np.ndarray | None:
        """The elements of a that must be exactly zero, or None."""
        if not self.rest_zero:
            return None
        x = np.asarray(x, dtype=np.float64)
        others = [i for i in range(x.shape[self.axis]) if i not in self.index]
        return np.take(x, others, axis=self.axis)

    def __str__(self) -> str:
        if self.kind == "take":
            zero = ", others exactly 0" if self.rest_zero else ""
            return f"a[{list(self.index)}] along axis {self.axis}{zero}"
        if self.kind == "reshape":
            return f"a reshaped to {self.shape}"
        return {"identity": "a", "sum": "sum(a)"}[self.kind]


IDENTITY = Map()


@dataclass(frozen=True)
class Relation:
    """Result b = map(result a), for the value and for each gradient.

    ``grads`` maps a gradient name of case b to (gradient name of case a, map). Equality is within
    ``RELATIVE_EPS`` epsilons of the dtype, relative to the largest magnitude of the expected
    array; NaN must face NaN and ±inf the same ±inf.
    """

    description: str
    value: Map = IDENTITY
    grads: Mapping[str, tuple[str, Map]] = field(default_factory=dict)

    def check(
        self, value_a, grads_a, value_b, grads_b, dtype: str = "float64", value_terms: float = 0.0
    ) -> str | None:
        """The first way results b fail to be the map of results a, or None.

        Gradients missing on either side (a framework that cannot differentiate an argument) are
        not compared.
        """
        problem = _differs("value", self.value, value_a, value_b, dtype, value_terms)
        if problem:
            return problem
        for name_b, (name_a, m) in self.grads.items():
            if name_a in grads_a and name_b in grads_b:
                problem = _differs(f"grad {name_b}", m, grads_a[name_a], grads_b[name_b], dtype)
                if problem:
                    return problem
        return None

    def violation(
        self, out_a, out_b, dtype: str = "float64", value_terms: float = 0.0
    ) -> str | None:
        """Check two adapter outcomes (objects with ``value``, ``grads``, ``error``).

        ``value_terms``: the size of the terms result b's value adds up (the tolerance's S); a
        sum taken in another order differs by rounding errors of that size, which can be far
        larger than the result where the terms cancel (a mean of hinge terms of both signs)."""
        for side, out in (("a", out_a), ("b", out_b)):
            if out.error is not None:
                return f"case {side} raised {out.error.type}: {out.error.message}"
        return self.check(out_a.value, out_a.grads, out_b.value, out_b.grads, dtype, value_terms)


def _differs(what: str, m: Map, a, b, dtype: str, terms: float = 0.0) -> str | None:
    try:
        expected = m.apply(a)
    except (IndexError, ValueError) as exc:  # result a has another shape than the map assumes
        return f"{what}: result a of shape {np.shape(a)} does not fit {m} ({exc})"
    got = np.asarray(b, dtype=np.float64)
    if expected.shape != got.shape:
        return f"{what}: shape {got.shape}, expected {expected.shape} ({m})"
    rest = m.rest(a)
    if rest is not None and np.any(rest != 0):
        return f"{what}: items that should contribute nothing hold {rest[rest != 0][:4]}"
    nan_e, nan_g = np.isnan(expected), np.isnan(got)
    if np.any(nan_e != nan_g):
        return f"{what}: NaN in one result only (expected {m}: {expected.ravel()[:4]}, got {got.ravel()[:4]})"
    finite = np.isfinite(expected) & np.isfinite(got)
    if np.any(~finite & ~nan_e & (expected != got)):
        return f"{what}: infinities differ (expected {m}: {expected.ravel()[:4]}, got {got.ravel()[:4]})"
    if not np.any(finite):
        return None
    scale = max(float(np.max(np.abs(expected[finite]))), terms, np.finfo(float).tiny)
    tol = RELATIVE_EPS * R.FORMATS[dtype].eps * scale
    worst = float(np.max(np.abs(expected[finite] - got[finite])))
    if worst > tol:
        return (
            f"{what}: differs by {worst:.3g} (> {tol:.3g}) from {m}: "
            f"expected {expected.ravel()[:4]}, got {got.ravel()[:4]}"
        )
    return None


@dataclass(frozen=True)
class Oracle:
    name: str
    description: str
    applies: Callable[[LossSpec, Mapping[str, Any]], bool]
    build: Callable[
        [LossSpec, Mapping[str, Any], np.random.Generator], tuple[R.Case, R.Case, Relation]
    ]


# --- helpers -------------------------------------------------------------------------------------


def _batched(layout: Layout, name: str) -> bool:
    return layout.shapes[name][:1] == (BATCH,)


def _case(spec, params, arrays, rng, cotangent=None) -> R.Case:
    if params["reduction"] == "none" and cotangent is None:
        cotangent = rng.standard_normal(output_shape(spec, arrays, params))
    return R.Case(spec.name, params, arrays, cotangent=cotangent, label="oracle")


def _take_batch(layout: Layout, arrays, index) -> dict[str, np.ndarray]:
    return {k: np.take(v, index, axis=0) if _batched(layout, k) else v for k, v in arrays.items()}


def _grad_maps(spec, params, names, batched_map: Callable[[str], Map]) -> dict:
    full = {**spec.defaults(), **params}
    return {
        n: (n, batched_map(n))
        for n in names
        if spec.array(n).differentiable and not spec.array(n).domain_for(full).integer
    }


def _batch_layout(spec, config) -> Layout | None:
    """A layout whose first argument is batched (the canonical one), if the loss has one."""
    layout = canonical_layout(spec, config)
    return layout if _batched(layout, spec.arrays[0].name) else None


# --- focal with γ = 0 is binary cross-entropy with logits ----------------------------------------

FOCAL, BCE_LOGITS = "sigmoid_focal_loss", "binary_cross_entropy_with_logits"


def _focal_applies(spec, config) -> bool:
    return spec.name == FOCAL and config.get("gamma") == 0 and config.get("alpha") is None


def _focal_build(spec, config, rng):
    params, _ = R.split(spec, config)
    arrays = sample_arrays(spec, config, rng, canonical_layout(spec, config), {"N": 4, "C": 3})
    a = _case(spec, params, arrays, rng)
    b = R.Case(
        BCE_LOGITS,
        {"reduction": params["reduction"]},
        arrays,
        cotangent=a.cotangent,
        label="oracle",
    )
    grads = {"input": ("input", IDENTITY), "target": ("target", IDENTITY)}
    return a, b, Relation("focal loss with γ=0, α=None equals BCE with logits", IDENTITY, grads)


# --- ignored items are sliced out ----------------------------------------------------------------


def _ignore_applies(spec, config) -> bool:
    layout = _batch_layout(spec, config) if "ignore_index" in config else None
    return (
        config.get("ignore_index") is not None
        and layout is not None
        and _batched(layout, "target")
        and len(layout.shapes["target"]) == 1
    )


def _ignore_build(spec, config, rng):
    params, _ = R.split(spec, config)
    layout = _batch_layout(spec, config)
    arrays = sample_arrays(spec, config, rng, layout, {"N": ORACLE_BATCH})
    ignored = np.zeros(ORACLE_BATCH, bool)
    ignored[rng.choice(ORACLE_BATCH, size=2, replace=False)] = True  # 2 ignored, 3 kept
    arrays["target"] = np.where(ignored, params["ignore_index"], arrays["target"])
    kept = tuple(int(i) for i in np.flatnonzero(~ignored))
    a = _case(spec, params, arrays, rng)
    sliced = _take_batch(layout, arrays, list(kept))
    cot_b = None if a.cotangent is None else a.cotangent[list(kept)]
    b = _case(spec, params, sliced, rng, cot_b)
    take = Map("take", 0, kept, rest_zero=True)
    value = take if params["reduction"] == "none" else IDENTITY
    names = present_arrays(spec, config)
    grads = _grad_maps(spec, params, names, lambda n: take if _batched(layout, n) else IDENTITY)
    return a, b, Relation("ignored items equal the batch without them", value, grads)


# --- a batch of one is the unbatched input -------------------------------------------------------


def _unbatched_pair(spec, config) -> tuple[Layout, Layout] | None:
    """(batched, unbatched) layouts where each argument is the same with or without a leading N."""
    names = present_arrays(spec, config)
    layouts = fitting_layouts(spec, config)
    for lb in layouts:
        for lu in layouts:
            same_or_batched = all(
                lb.shapes[n] in (lu.shapes[n], (BATCH, *lu.shapes[n])) for n in names
            )
            if same_or_batched and _batched(lb, names[0]) and BATCH not in lu.shapes[names[0]]:
                return lb, lu
    return None


def _one_applies(spec, config) -> bool:
    return _unbatched_pair(spec, config) is not None


def _one_build(spec, config, rng):
    params, _ = R.split(spec, config)
    lb, lu = _unbatched_pair(spec, config)
    single = sample_arrays(spec, config, rng, lu)
    batch = {k: v[None] if lb.shapes[k] != lu.shapes[k] else v for k, v in single.items()}
    b = _case(spec, params, single, rng)
    cot_a = None if b.cotangent is None else b.cotangent[None]
    a = _case(spec, params, batch, rng, cot_a)
    value = Map("reshape", shape=np.shape(b.cotangent)) if b.cotangent is not None else IDENTITY
    names = present_arrays(spec, config)
    grads = _grad_maps(spec, params, names, lambda n: Map("reshape", shape=single[n].shape))
    return a, b, Relation("a batch of one equals the unbatched input", value, grads)


# --- permuting the batch permutes the results ----------------------------------------------------


def _perm_applies(spec, config) -> bool:
    return _batch_layout(spec, config) is not None


def _perm_build(spec, config, rng):
    params, _ = R.split(spec, config)
    layout = _batch_layout(spec, config)
    arrays = sample_arrays(spec, config, rng, layout, {"N": ORACLE_BATCH})
    perm = tuple(int(i) for i in np.roll(rng.permutation(ORACLE_BATCH), 1))
    while perm == tuple(range(ORACLE_BATCH)):  # the shuffle may give back the identity
        perm = tuple(int(i) for i in rng.permutation(ORACLE_BATCH))
    a = _case(spec, params, arrays, rng)
    cot_b = None if a.cotangent is None else a.cotangent[list(perm)]
    b = _case(spec, params, _take_batch(layout, arrays, list(perm)), rng, cot_b)
    take = Map("take", 0, perm)
    value = take if params["reduction"] == "none" else IDENTITY
    names = present_arrays(spec, config)
    grads = _grad_maps(spec, params, names, lambda n: take if _batched(layout, n) else IDENTITY)
    return a, b, Relation("permuting the batch permutes the results", value, grads)


# --- sum is the sum of none ----------------------------------------------------------------------


def _sum_applies(spec, config) -> bool:
    return config.get("reduction") == "sum"


def _sum_build(spec, config, rng):
    params, _ = R.split(spec, config)
    arrays = sample_arrays(spec, config, rng, canonical_layout(spec, config))
    none = {**params, "reduction": "none"}
    a = _case(spec, none, arrays, rng, np.ones(output_shape(spec, arrays, none)))
    b = _case(spec, params, arrays, rng)
    grads = _grad_maps(spec, params, present_arrays(spec, config), lambda n: IDENTITY)
    return a, b, Relation("sum equals the sum of none", Map("sum"), grads)


ORACLES: list[Oracle] = [
    Oracle(
        "focal-gamma-0-is-bce-with-logits",
        "sigmoid_focal_loss with γ=0 and α=None equals binary_cross_entropy_with_logits",
        _focal_applies,
        _focal_build,
    ),
    Oracle(
        "ignored-items-are-sliced-out",
        "items whose target is ignore_index contribute nothing: removing them changes nothing",
        _ignore_applies,
        _ignore_build,
    ),
    Oracle(
        "batch-of-one-is-unbatched",
        "a batch of one item equals the unbatched item",
        _one_applies,
        _one_build,
    ),
    Oracle(
        "batch-permutation-permutes-results",
        "permuting the batch permutes none results and gradients, and keeps mean/sum",
        _perm_applies,
        _perm_build,
    ),
    Oracle(
        "sum-is-sum-of-none",
        "reduction sum equals the sum of reduction none",
        _sum_applies,
        _sum_build,
    ),
]


def get(name: str) -> Oracle:
    for oracle in ORACLES:
        if oracle.name == name:
            return oracle
    raise KeyError(f"unknown oracle {name!r}; known: {', '.join(o.name for o in ORACLES)}")
