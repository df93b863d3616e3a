"""The vocabulary every loss is declared in: domains, array arguments, parameters, layouts.

A loss is data (a :class:`LossSpec`) plus two functions: ``elementwise`` (the loss before any
reduction, i.e. reduction ``none``) and ``elementwise_vjp`` (its vector-Jacobian product). The
shared reduction wrapper (:mod:`reference.reduction`) turns those into every reduction, so a loss
module never repeats ``mean``/``sum`` logic.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Arrays = Mapping[str, np.ndarray]
Params = Mapping[str, Any]


@dataclass(frozen=True)
class Domain:
    """The set of values an array argument may hold.

    ``valid(values, context)`` returns a boolean mask of the elements inside the domain; the
    context holds the parameters and the shape symbols bound by the layout (``C`` for class
    indices). ``enforced`` domains make the reference raise :class:`InvalidInput`; the others are
    the documented *intended* domain (the formula is still defined outside it, and no framework
    rejects such values), used by the case strategies to draw meaningful inputs.
    """

    name: str
    rule: str  # completes "<argument> must ...", e.g. "be a probability in [0, 1]"
    valid: Callable[[np.ndarray, Mapping[str, Any]], np.ndarray] | None = None
    enforced: bool = False
    integer: bool = False  # class indices: int64 arrays, never rounded, never differentiated

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ByParam:
    """A domain that depends on a parameter (cross_entropy's target: index or probability)."""

    param: str
    choices: Mapping[Any, Domain]

    def resolve(self, params: Params) -> Domain:
        return self.choices[params[self.param]]


@dataclass(frozen=True)
class ArraySpec:
    """One array argument of a loss."""

    name: str
    domain: Domain | ByParam
    differentiable: bool
    optional: bool = False  # present only when the configuration asks for it (weight, pos_weight)
    description: str = ""

    def domain_for(self, params: Params) -> Domain:
        return self.domain.resolve(params) if isinstance(self.domain, ByParam) else self.domain


@dataclass(frozen=True)
class Param:
    """A scalar or enumerated parameter, named as torch.nn.functional names it.

    ``check`` (value -> bool) and ``rule`` state what is allowed; ``grid`` is the set of values the
    conformance run tests (default first). Scalar hyperparameters are part of a configuration, not
    drawn per example, because every framework bakes them into the compiled function (Keras builds
    a loss object per value, ``tf.function`` and ``jax.jit`` retrace per Python float).
    ``api=False`` marks a reference-only variant (e.g. the exact lgamma ``full`` term of
    poisson_nll_loss) that no framework has; adapters never see it.
    ``applies_when`` restricts the parameter to configurations with those parameter values.
    """

    name: str
    default: Any
    rule: str
    check: Callable[[Any], bool]
    grid: tuple[Any, ...]
    description: str = ""
    api: bool = True
    applies_when: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        assert (self.grid and self.grid[0] == self.default) or self.grid[0] is self.default, (
            self.name
        )


Shape = tuple[str | int, ...]


@dataclass(frozen=True)
class Layout:
    """One allowed combination of argument shapes, written with symbols.

    ``shapes`` maps each array name to a symbolic shape such as ``("N", "C")``; an int is a literal
    size. Optional arrays appear here with the shape they must have when present. ``when`` restricts
    the layout to configurations with those parameter values (e.g. ``target_kind="index"``).
    """

    name: str
    shapes: Mapping[str, Shape]
    when: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Elementwise:
    """The loss before reduction, and the denominator each averaging reduction divides by.

    ``denominators`` maps a reduction name (``mean``, ``batchmean``) to the number its sum is divided
    by; a reduction missing from it divides by ``loss.size``.
    """

    loss: np.ndarray
    denominators: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class LossSpec:
    """Everything the suite knows about one loss; the registry holds one per catalogue entry."""

    name: str
    family: str
    summary: str  # one line for the catalogue table
    arrays: tuple[ArraySpec, ...]
    params: tuple[Param, ...]
    layouts: tuple[Layout, ...]
    elementwise: Callable[[Arrays, Params], Elementwise]
    elementwise_vjp: Callable[[Arrays, Params, np.ndarray], dict[str, np.ndarray]]
    # True when the loss is differentiable (with margin h) at this point: the finite-difference
    # check and the strategies use it to stay away from kinks.
    smooth_at: Callable[[Arrays, Params, float], bool] = lambda arrays, params, h: True
    # Cross-argument rules that no single domain expresses (prob. targets need ignore_index None…):
    # returns (argument, rule, value) for the first violation, or None.
    extra_check: (
        Callable[[Arrays, Params, Mapping[str, int]], tuple[str, str, Any] | None] | None
    ) = None
    torch_name: str | None = None  # the torch.nn.functional function, where torch has the loss

    @property
    def reductions(self) -> tuple[str, ...]:
        return self.param("reduction").grid

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"{self.name} has no parameter {name!r}")

    def array(self, name: str) -> ArraySpec:
        for a in self.arrays:
            if a.name == name:
                return a
        raise KeyError(f"{self.name} has no array argument {name!r}")

    @property
    def required_arrays(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.arrays if not a.optional)

    @property
    def optional_arrays(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.arrays if a.optional)

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.elementwise.__doc__ or "")

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def api_params(self, params: Params) -> dict[str, Any]:
        """The parameters a framework sees: reference-only variants and inapplicable ones removed."""
        out = {}
        for p in self.params:
            if not p.api or not all(params.get(k) == v for k, v in p.applies_when.items()):
                continue
            out[p.name] = params.get(p.name, p.default)
        return out
