"""The vocabulary every loss is declared in: domains, array arguments, parameters, layouts.

A loss is data (a :class:`LossSpec`) plus two functions: ``elementwise`` (the loss before any
reduction, i.e. reduction ``none``) and ``elementwise_vjp`` (its vector-Jacobian product). The
shared reduction wrapper (:mod:`reference.reduction`) turns those into every reduction, so a loss
module never repeats ``mean``/``sum`` logic.

Everything else the suite needs to know about one loss is data on its spec too, declared in its
family module next to the formula: the term scale the tolerance policy needs
(:class:`reference.terms.TermScale`), its hand-picked edge cases (:class:`reference.edges.Edge`),
how one element of its ``none`` result depends on the arguments (``element_kind``), which of its
layouts is the unbatched form of which. What depends on an argument's *domain* rather than on the
loss (how to sample it, how to break it, which value bands to draw it from) is data on the
:class:`Domain`, in :mod:`reference.domains`. Generic code reads these fields and never
dispatches on a loss's name.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # annotations only: both modules are plain data built on this one
    from .edges import Edge
    from .regimes import RegimeRules
    from .terms import TermScale

Arrays = Mapping[str, np.ndarray]
Params = Mapping[str, Any]

# rng, shape, context (parameters and bound shape sizes), scale -> float64 or int64 values
Sampler = Callable[[np.random.Generator, tuple[int, ...], Mapping[str, Any], float], np.ndarray]
# (what, value from the bound shape sizes): one element set to the value leaves the domain
Violation = tuple[str, Callable[[Mapping[str, int]], float]]


@dataclass(frozen=True)
class Domain:
    """The set of values an array argument may hold.

    ``valid(values, context)`` returns a boolean mask of the elements inside the domain; the
    context holds the parameters and the shape symbols bound by the layout (``C`` for class
    indices). ``enforced`` domains make the reference raise :class:`InvalidInput`; the others are
    the documented *intended* domain (the formula is still defined outside it, and no framework
    rejects such values), used by the case strategies to draw meaningful inputs.

    What the cases need to know about the domain lives here as well, so that a new domain is
    declared in one place: ``sample`` draws plain valid values (``cases.sampling``);
    ``violations`` are the values that break an enforced domain (``cases.invalid``); ``bands``
    (format, kink points, parameters) -> the :class:`reference.bands.Band` value families the
    hypothesis strategies draw from; ``normalise`` (values, axis) makes values a distribution
    along the class axis; ``ties``: an argument of this domain may be drawn as an earlier
    argument of a ``ties`` domain and the same shape plus a few ULPs (differences at the kinks).
    ``draw`` (integer domains, which have no bands): (drawer, name, shape, sizes, parameters) ->
    an int64 array, drawn through the strategies' drawer (``integers``, ``choice``, ``booleans``).
    ``boundary`` (values, context) -> a boolean mask of the elements on the domain's boundary
    (probability 0 or 1, a zero weight): the ``boundary`` input regime (:mod:`reference.regimes`).
    """

    name: str
    rule: str  # completes "<argument> must ...", e.g. "be a probability in [0, 1]"
    valid: Callable[[np.ndarray, Mapping[str, Any]], np.ndarray] | None = None
    enforced: bool = False
    integer: bool = False  # class indices: int64 arrays, never rounded, never differentiated
    sample: Sampler | None = field(default=None, compare=False, repr=False)
    violations: tuple[Violation, ...] = field(default=(), compare=False, repr=False)
    bands: Callable[[Any, Mapping[str, Any]], tuple[Any, ...]] | None = field(
        default=None, compare=False, repr=False
    )
    normalise: Callable[[np.ndarray, int], np.ndarray] | None = field(
        default=None, compare=False, repr=False
    )
    ties: bool = False
    draw: Callable[..., np.ndarray] | None = field(default=None, compare=False, repr=False)
    boundary: Callable[[np.ndarray, Mapping[str, Any]], np.ndarray] | None = field(
        default=None, compare=False, repr=False
    )

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
    ``kink``: the parameter is measured in the units of the input and the formula turns at ±it
    (huber's delta, smooth_l1's beta, the margins): the strategies draw values near it.
    """

    name: str
    default: Any
    rule: str
    check: Callable[[Any], bool]
    grid: tuple[Any, ...]
    description: str = ""
    api: bool = True
    applies_when: Mapping[str, Any] = field(default_factory=dict)
    kink: bool = False

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
    by; a reduction missing from it divides by ``loss.size``. ``factors`` maps a reduction name to
    per-element factors (the loss's shape) applied before that reduction sums: torch's CTC ``mean``
    divides each item by its own target length before it averages the items.
    """

    loss: np.ndarray
    denominators: Mapping[str, float] = field(default_factory=dict)
    factors: Mapping[str, np.ndarray] = field(default_factory=dict)


# How one element of a loss's ``none`` result depends on its arguments:
#   elementwise: element k of the broadcast shape, from the k-th (broadcast) entry of each array;
#   per_vector: item n of the batch, from index n along the N axis of each batched array (the
#               first axis, or ctc_loss's time-major input's second; the last axis a vector);
#   per_class_slice: item (n, j…) from input[n, :, j…] (class axis 1) and target[n, j…];
#   batch: item n from the whole batch (a contrastive or metric-learning loss, ntxent and
#          circle_loss: item n's terms compare it with every other item), so no smaller problem
#          is that item alone.
ELEMENT_KINDS = ("elementwise", "per_vector", "per_class_slice", "batch")


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
    # The size of the terms a standard evaluation of the formula adds up (cases.tolerance).
    term_scale: TermScale | None = None
    # Hand-picked cases on the loss's special points, in the order they run (cases.edges).
    edges: tuple[Edge, ...] = ()
    # One of ELEMENT_KINDS: how one element of the ``none`` result depends on the arguments.
    element_kind: str | None = None
    # (unbatched layout, batched layout): a batch of one of the second is the first, for a loss
    # that accepts an input without a batch dimension; None when every layout is batched.
    unbatched: tuple[str, str] | None = None
    # What the loss adds to the generic input-regime rules (reference.regimes): its non-smooth
    # points, boundaries no domain sees, intermediates that can leave the dtype's range.
    regimes: RegimeRules | None = None
    # The smallest size of a symbol at which the loss in its default configuration is more than a
    # constant (circle_loss: 3 items, for one to have a positive besides itself and a negative):
    # the gradient tests draw sizes from there, so that they test a derivative, not a constant 0.
    min_sizes: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self):
        assert self.element_kind in (None, *ELEMENT_KINDS), (self.name, self.element_kind)
        names = {lay.name for lay in self.layouts}
        assert self.unbatched is None or set(self.unbatched) <= names, (self.name, self.unbatched)

    @property
    def kinks(self) -> tuple[str, ...]:
        """The parameters at whose ± the formula turns (see :attr:`Param.kink`)."""
        return tuple(p.name for p in self.params if p.kink)

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
