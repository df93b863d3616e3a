"""Valid loss inputs drawn from the registry's domains and layouts, never per loss by hand.

What is drawn, and from what:

- the **layout** (which shapes the arguments have: a batch, the unbatched form, the K-dimensional
  shapes of cross_entropy/nll_loss, gaussian_nll_loss's broadcast variances) from the loss's
  :class:`~reference.spec.Layout`\\ s that hold the configuration's arrays;
- the **size** of each shape symbol from the profile's menu for the execution mode (N = 1 is a
  batch of one; compiled modes use a small menu so a compiled function is reused);
- for each float argument, a **band** of its domain — ordinary values, tiny ones, values near the
  loss's kinks, the dtype's sigmoid saturation, its exp overflow, large values (±1e4, below the
  dtype's maximum), or a per-element mix — and then the elements. Each domain declares its bands
  (``Domain.bands``, reference/domains.py), and each loss its kink parameters (``Param.kink``).
  Bands are dtype-aware (see :func:`bands`), so ``hypothesis.target`` can climb toward the
  regions where a dtype breaks;
- **ties**: an argument of a ``Domain.ties`` domain (real values) with the same symbolic shape as
  an earlier one (target next to input, positive next to anchor, input2 next to input1) may be
  drawn as that argument plus a few ULPs around 0 or around ±each kink parameter, which puts
  differences at the kinks;
- class indices, with an ``ignore_index`` mask covering none, some or all items when the
  configuration has one; arguments whose domain declares a ``normalise`` (class probabilities and
  log-probabilities) are normalised along the class axis (symbol C) part of the time, as users
  pass them;
- a cotangent for reduction ``none``.

Scalar hyperparameters are never drawn (they are configuration values, see
:class:`reference.spec.Param`); neither are ±inf or NaN inputs (the edge cases hold those).

One drawing routine serves two backends: :class:`HypothesisDrawer` (hypothesis: every draw
labelled, for ``st.data()``, :func:`draw_case`; inside one composite strategy,
:func:`case_strategy`, which the conformance run uses and which makes the same choices) and
:class:`RngDrawer` (a seeded NumPy generator, for the frozen corpus, so that ``python -m cases
freeze`` does not depend on the hypothesis version).

Speed: strategies and bands are built once and reused (building a strategy per draw cost about
as much as the draw); the choices hypothesis makes, and so the cases a derandomised run draws,
are the same as with strategies built afresh. The run draws through one composite rather than
``st.data()``, and draws the parts of its arrays (lists, tuples, maps, a mixed band's one_of)
without the fixed costs of hypothesis' ``ConjectureData.draw`` and its per-value bookkeeping
(:func:`_direct_classes`): the same choices and spans again (tested draw for draw), measured in
:mod:`benchmarks.generation`.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any, Protocol, TypeVar

import numpy as np
from hypothesis import strategies as st

import reference as R
from reference import shapes
from reference.bands import Band, kink_points, near, small_low
from reference.dtypes import FORMATS
from reference.spec import Domain, Layout, LossSpec

from .sampling import output_shape

T = TypeVar("T")

NEAR_ULPS = 4  # "near" values are anchor + k ULPs, |k| ≤ NEAR_ULPS


# --- bands ---------------------------------------------------------------------------------------
#
# Each domain declares its bands (Domain.bands, reference/domains.py) and each loss which of its
# parameters are kinks (Param.kink); nothing here names a domain or a loss.

COTANGENT = Band("cotangent", "uniform", -2.0, 2.0)


def sane_cotangent(values: np.ndarray, dtype: str) -> np.ndarray:
    """A drawn cotangent (an upstream gradient) with every magnitude below the "small" bands'
    floor (:func:`small_low`) set to 0: never subnormal in the dtype. A subnormal upstream
    gradient tests how a framework's backward rounds on the subnormal grid (JAX flushes it to 0
    on CPU; a float16 g/C underflows before its multiplication), not the loss."""
    return np.where(np.abs(values) < small_low(FORMATS[dtype]), 0.0, values)


def bands(
    domain: Domain, dtype: str, params: Mapping[str, Any], kinks: tuple[str, ...] = ()
) -> tuple[Band, ...]:
    """The bands a float argument of ``domain`` is drawn from for ``dtype``, under the
    configuration ``params`` of a loss whose kink parameters are ``kinks``."""
    if domain.bands is None:
        raise LookupError(
            f"domain {domain.name!r} declares no bands: give its Domain a bands= function in "
            "reference/domains.py"
        )
    points = kink_points(params, kinks)
    # Remembered per (domain, dtype, what a band function reads: the kink points and eps): every
    # drawn array asks. The type is part of the key because True == 1.
    eps = params.get("eps")
    try:
        return _bands(domain, dtype, points, (type(eps), eps))
    except TypeError:  # an unhashable parameter value: compute afresh
        return domain.bands(FORMATS[dtype], points, params)


@functools.lru_cache(maxsize=1024)
def _bands(domain: Domain, dtype: str, points: tuple, eps: tuple) -> tuple[Band, ...]:
    return domain.bands(FORMATS[dtype], points, {"eps": eps[1]})


# The class axis a domain's ``normalise`` works along: C, or K (ctc_loss's alphabet with its blank).
CLASS_SYMBOLS = ("C", "K")


# --- the two backends ----------------------------------------------------------------------------


class Drawer(Protocol):
    def choice(self, options: Sequence[T], label: str) -> T: ...
    def integers(self, lo: int, hi: int, n: int, label: str) -> np.ndarray: ...
    def booleans(self, n: int, label: str) -> np.ndarray: ...
    def floats(self, band: Band, n: int, label: str) -> np.ndarray: ...


def _direct_classes():
    """Hypothesis' list, tuple, map and one_of strategies, drawing their parts without the
    bookkeeping of each draw, and the same direct draw for a composite's ``draw``
    (``SimpleNamespace(map, tuples, lists, one_of, draw)``); or None where hypothesis lacks the
    internals they need (then ``st.lists``, ``st.tuples``, ``.map``, ``st.one_of`` and the
    composite's own ``draw`` serve).

    Every element of a drawn array is a few nested draws (the list's element, a map, a tuple of
    sign and magnitude, the magnitude's own map, the float), and each went through
    ``ConjectureData.draw``, whose fixed costs — three function-level imports, validation, the
    emptiness and depth checks, unwrapping — were a quarter of drawing a case (measured:
    ``ConjectureData.draw``'s own lines 21.5 % of the draws' samples, its imports 16 %).
    ``MappedStrategy.do_draw`` also entered ``warnings.catch_warnings()`` and recorded every
    mapped value for its pretty-printer of failing examples (``BuildContext.record_call``), and
    ``TupleStrategy.do_draw`` registered a printer for every tuple: printouts this suite never
    shows (its reproducers are its own).

    These subclasses open and close the same spans under the same labels as ``.map``,
    ``st.tuples``, ``st.lists`` and ``st.one_of``, record the same values for them, mark a
    tuple's parts for the shrinker's explain phase as ``st.tuples`` does, and make the same
    choices through the same leaf strategies (floats, integers, sampled_from, booleans), so
    hypothesis draws, mutates and shrinks exactly as before (tests/cases/test_strategies.py
    compares the choices, spans and values). Measured on benchmarks.generation's draws, two
    interleaved runs each: median 1 430/1 428 -> 1 053/1 048 µs a case, mean 2 176/2 186 ->
    1 522/1 506 µs. Where the shrinker asks a draw to re-encode a value (a ``ValueHole`` in its
    prefix), hypothesis' own ``draw`` runs. The parts are validated with their container, which
    hypothesis' ``draw`` validates. Private API, hence the guard (hypothesis is pinned in
    tox.ini).
    """
    try:
        from hypothesis.internal.conjecture import utils as cu
        from hypothesis.internal.conjecture.choice import ValueHole
        from hypothesis.internal.conjecture.data import ConjectureData
        from hypothesis.internal.conjecture.utils import calc_label_from_cls, combine_labels
        from hypothesis.strategies._internal.collections import ListStrategy, TupleStrategy
        from hypothesis.strategies._internal.lazy import unwrap_strategies
        from hypothesis.strategies._internal.strategies import (
            MAPPED_SEARCH_STRATEGY_DO_DRAW_LABEL,
            MappedStrategy,
            OneOfStrategy,
            SampledFromStrategy,
        )
    except ImportError:  # pragma: no cover
        return None
    record_of = "_ConjectureData__span_record"

    def nested(data, strategy):
        """``data.draw(strategy)`` for a draw inside another (``strategy`` unwrapped and
        validated): what ``ConjectureData.draw`` does below the top level."""
        prefix = data.prefix
        if prefix is not None and data.index < len(prefix):
            if isinstance(prefix[data.index], ValueHole):
                return data.draw(strategy)
        record = getattr(data, record_of)
        span = record.span_count
        data.start_span(strategy.label)
        try:
            value = strategy.do_draw(data)
            record.record_value_for_span(span, value)
            return value
        finally:
            data.stop_span()

    class PlainMap(MappedStrategy):
        def __init__(self, strategy, pack):
            super().__init__(strategy, pack)
            self._inner = unwrap_strategies(strategy)

        def calc_label(self) -> int:
            return calc_label_from_cls(MappedStrategy)  # spans labelled as .map's

        @property
        def branches(self):
            # a one_of (the mixed bands) draws from its branches' branches: map those plainly
            return [PlainMap(branch, self.pack) for branch in self.mapped_strategy.branches]

        def do_draw(self, data):
            data.start_span(MAPPED_SEARCH_STRATEGY_DO_DRAW_LABEL)
            result = self.pack(nested(data, self._inner))
            data.stop_span()
            return result

    class PlainTuple(TupleStrategy):
        def __init__(self, parts):
            super().__init__(parts)
            self._inner = tuple(unwrap_strategies(s) for s in self.element_strategies)

        def calc_label(self) -> int:
            return combine_labels(
                calc_label_from_cls(TupleStrategy), *(s.label for s in self.element_strategies)
            )

        def do_draw(self, data):
            result = []
            for strategy in self._inner:
                span = data.next_span_index
                result.append(nested(data, strategy))
                data.arg_spans.add(span)  # as st.tuples' track_arg_label marks it
            return tuple(result)

    class PlainList(ListStrategy):
        def __init__(self, elements, size: int):
            super().__init__(elements, min_size=size, max_size=size)
            self._inner = unwrap_strategies(elements)

        def calc_label(self) -> int:
            return combine_labels(calc_label_from_cls(ListStrategy), self.element_strategy.label)

        def do_draw(self, data):
            inner = self._inner
            with cu.many(
                data,
                min_size=self.min_size,
                max_size=self.max_size,
                average_size=self.average_size,
            ) as elements:
                return [nested(data, inner) for _ in elements]

    class PlainOneOf(OneOfStrategy):
        def calc_label(self) -> int:
            return combine_labels(
                calc_label_from_cls(OneOfStrategy), *(p.label for p in self.original_strategies)
            )

        def do_draw(self, data):
            # as OneOfStrategy draws from branches that cannot become empty: the branch through
            # a sampled_from of them, then from the branch
            if self._sampler is None:
                branches = self.element_strategies
                for branch in branches:
                    branch.validate()
                self._sampler = SampledFromStrategy(branches) if len(branches) > 1 else False
            if self._sampler is False:
                return nested(data, unwrap_strategies(self.element_strategies[0]))
            return nested(data, unwrap_strategies(nested(data, self._sampler)))

        _sampler = None

    def direct_draw(draw):
        """A composite's ``draw`` (hypothesis' bound ``ConjectureData.draw``) for the draws
        inside it, as :func:`nested` draws them, each strategy validated once as ``draw``
        would; ``draw`` itself where it is not that method."""
        data = getattr(draw, "__self__", None)
        if getattr(draw, "__func__", None) is not ConjectureData.draw:
            return draw

        def direct(strategy):
            strategy.validate()  # once per strategy: hypothesis remembers that it did
            return nested(data, unwrap_strategies(strategy))

        return direct

    return SimpleNamespace(
        map=PlainMap, tuples=PlainTuple, lists=PlainList, one_of=PlainOneOf, draw=direct_draw
    )


_DIRECT = _direct_classes()


def _map(strategy: st.SearchStrategy, pack: Callable[[Any], T]) -> st.SearchStrategy[T]:
    """``strategy.map(pack)``, drawn without hypothesis' per-draw bookkeeping (see above)."""
    return strategy.map(pack) if _DIRECT is None else _DIRECT.map(strategy, pack)


def _tuples(*parts: st.SearchStrategy) -> st.SearchStrategy[tuple]:
    """``st.tuples(*parts)``, likewise."""
    return st.tuples(*parts) if _DIRECT is None else _DIRECT.tuples(parts)


def _lists(element: st.SearchStrategy[T], size: int) -> st.SearchStrategy[list[T]]:
    """``st.lists(element, min_size=size, max_size=size)``, likewise (hypothesis draws an empty
    list as ``builds(list)``, with other spans: that stays hypothesis')."""
    if _DIRECT is None or size == 0:
        return st.lists(element, min_size=size, max_size=size)
    return _DIRECT.lists(element, size)


def _one_of(*branches: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """``st.one_of(*branches)`` (two or more), likewise."""
    return st.one_of(*branches) if _DIRECT is None else _DIRECT.one_of(branches)


@functools.cache
def element_strategy(band: Band) -> st.SearchStrategy[float]:
    """One element of ``band`` as a hypothesis strategy (simplest values first, for shrinking)."""
    if band.kind == "uniform":
        return st.floats(band.lo, band.hi, allow_nan=False, allow_infinity=False)
    if band.kind == "log":
        magnitude = _map(st.floats(math.log2(band.lo), math.log2(band.hi)), lambda e: 2.0**e)
        if band.sign:
            return _map(magnitude, lambda m: band.base + band.sign * m)
        return _map(
            _tuples(st.sampled_from((1.0, -1.0)), magnitude),
            lambda sm: band.base + sm[0] * sm[1],
        )
    if band.kind == "near":
        return _map(
            _tuples(st.integers(0, len(band.points) - 1), st.integers(-NEAR_ULPS, NEAR_ULPS)),
            lambda ik: band.points[ik[0]] + ik[1] * band.ulps[ik[0]],
        )
    if band.kind == "values":
        return st.sampled_from(band.points)
    if band.kind == "integers":
        return _map(st.integers(int(band.lo), int(band.hi)), float)
    if band.kind == "mixed":
        return _one_of(*(element_strategy(p) for p in band.parts))
    raise ValueError(f"unknown band kind {band.kind!r}")


# The strategies the drawer uses, built once: constructing (and validating) a strategy for every
# draw cost about as much as drawing from it. Same strategies, same choices: a derandomised run
# draws the same cases as before.
@functools.lru_cache(maxsize=4096)
def _sampled(options: tuple, types: tuple) -> st.SearchStrategy:
    # ``types`` keys the cache apart for equal options of other types: (False, True) == (0, 1)
    return st.sampled_from(options)


@functools.lru_cache(maxsize=1024)
def _integer_list(lo: int, hi: int, n: int) -> st.SearchStrategy[list[int]]:
    return _lists(st.integers(lo, hi), n)


@functools.lru_cache(maxsize=256)
def _boolean_list(n: int) -> st.SearchStrategy[list[bool]]:
    return _lists(st.booleans(), n)


@functools.lru_cache(maxsize=4096)
def _float_list(band: Band, n: int) -> st.SearchStrategy[list[float]]:
    return _lists(element_strategy(band), n)


class HypothesisDrawer:
    """Draws through ``draw(strategy, label)``: hypothesis' ``data.draw`` (:func:`draw_case`), or a
    composite's ``draw`` with the label dropped (:func:`case_strategy`, the conformance run)."""

    def __init__(self, draw: Callable[..., Any]):
        self._draw = draw

    def choice(self, options, label):
        options = tuple(options)
        try:
            strategy = _sampled(options, tuple(map(type, options)))
        except TypeError:  # unhashable options (layouts): build the strategy afresh
            strategy = st.sampled_from(options)
        return self._draw(strategy, label=label)

    def integers(self, lo, hi, n, label):
        return np.array(self._draw(_integer_list(lo, hi, n), label=label), dtype=np.int64)

    def booleans(self, n, label):
        return np.array(self._draw(_boolean_list(n), label=label), dtype=bool)

    def floats(self, band, n, label):
        values = self._draw(_float_list(band, n), label=f"{label} ({band.name})")
        return np.array(values, dtype=np.float64)


def _rng_elements(rng: np.random.Generator, band: Band, n: int) -> np.ndarray:
    if band.kind == "uniform":
        return rng.uniform(band.lo, band.hi, n)
    if band.kind == "log":
        magnitude = np.exp2(rng.uniform(math.log2(band.lo), math.log2(band.hi), n))
        sign = band.sign if band.sign else rng.choice(np.array([1.0, -1.0]), n)
        return band.base + sign * magnitude
    if band.kind == "near":
        i = rng.integers(0, len(band.points), n)
        k = rng.integers(-NEAR_ULPS, NEAR_ULPS + 1, n)
        return np.asarray(band.points)[i] + k * np.asarray(band.ulps)[i]
    if band.kind == "values":
        return rng.choice(np.asarray(band.points, dtype=np.float64), n)
    if band.kind == "integers":
        return rng.integers(int(band.lo), int(band.hi) + 1, n).astype(np.float64)
    if band.kind == "mixed":
        which = rng.integers(0, len(band.parts), n)
        out = np.empty(n)
        for i, part in enumerate(band.parts):
            chosen = which == i
            out[chosen] = _rng_elements(rng, part, int(chosen.sum()))
        return out
    raise ValueError(f"unknown band kind {band.kind!r}")


class RngDrawer:
    """The same draws from a seeded NumPy generator (the frozen corpus); labels are unused."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def choice(self, options, label):
        options = list(options)
        return options[int(self.rng.integers(0, len(options)))]

    def integers(self, lo, hi, n, label):
        return self.rng.integers(lo, hi + 1, n).astype(np.int64)

    def booleans(self, n, label):
        return self.rng.random(n) < 0.5

    def floats(self, band, n, label):
        return _rng_elements(self.rng, band, n).astype(np.float64)


# --- layouts and sizes ---------------------------------------------------------------------------


def present_arrays(spec: LossSpec, config: Mapping[str, Any]) -> list[str]:
    """The arrays a case of this configuration has: required ones and the optional ones it asks for."""
    _, present = R.split(spec, config)
    return [a.name for a in spec.arrays if not a.optional or a.name in present]


def fitting_layouts(spec: LossSpec, config: Mapping[str, Any]) -> list[Layout]:
    """Layouts allowed by the configuration that give every present array a shape."""
    params, _ = R.split(spec, config)
    names = set(present_arrays(spec, config))
    return [
        lay
        for lay in shapes.layouts_for(spec.layouts, {**spec.defaults(), **params})
        if names <= set(lay.shapes)
    ]


def canonical_layout(spec: LossSpec, config: Mapping[str, Any]) -> Layout:
    """The layout compiled ci items use: the lowest-rank one whose first argument is batched
    (``(N, C)`` for cross_entropy, ``(N)`` for mse_loss); the first one if none is batched."""
    layouts = fitting_layouts(spec, config)
    first = spec.arrays[0].name
    batched = [lay for lay in layouts if lay.shapes[first][:1] == ("N",)]
    return min(batched, key=lambda lay: len(lay.shapes[first])) if batched else layouts[0]


def symbols(layout: Layout, names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        out += [s for s in layout.shapes[name] if isinstance(s, str) and s not in out]
    return out


def n_elements(layout: Layout, names: Sequence[str], sizes: Mapping[str, int]) -> int:
    return sum(math.prod(s) for s in shapes.concrete(layout, sizes, names).values())


def draw_sizes(
    drawer: Drawer,
    layout: Layout,
    names: Sequence[str],
    menu: Mapping[str, tuple[int, ...]],
    budget: int,
) -> dict[str, int]:
    """One size per symbol from ``menu``, keeping the case within ``budget`` elements (a symbol's
    larger sizes are offered only while the smallest sizes of the symbols after it still fit)."""
    syms = symbols(layout, names)
    sizes: dict[str, int] = {}
    for i, sym in enumerate(syms):
        rest = {r: min(menu[r]) for r in syms[i + 1 :]}
        options = [
            s for s in menu[sym] if n_elements(layout, names, {**sizes, sym: s, **rest}) <= budget
        ]
        sizes[sym] = drawer.choice(options or [min(menu[sym])], f"size {sym}")
    return sizes


# --- the draw ------------------------------------------------------------------------------------


def _tie_partner(spec, layout, name, drawn: Mapping[str, np.ndarray], params) -> str | None:
    """An earlier argument of a ``ties`` domain (real values) and the same symbolic shape, if the
    argument's own domain ties and there is one."""
    if not spec.array(name).domain_for(params).ties:
        return None
    for other in drawn:
        if (
            spec.array(other).domain_for(params).ties
            and layout.shapes[other] == layout.shapes[name]
        ):
            return other
    return None


def draw_arrays(
    drawer: Drawer,
    spec: LossSpec,
    config: Mapping[str, Any],
    dtype: str,
    mode: str,
    profile,
    compiled: bool | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, Any], np.ndarray | None, dict[str, Any]]:
    """Valid arrays, parameters, cotangent (reduction ``none``) and a description of the draw.

    ``compiled``: whether the framework compiles per input shape in ``mode`` (then shapes come
    from the profile's small compiled menu, so compilations are reused); None: every mode but
    eager does."""
    params, _ = R.split(spec, config)
    full = {**spec.defaults(), **params}
    names = present_arrays(spec, config)
    layouts = fitting_layouts(spec, config)
    compiled = mode != "eager" if compiled is None else compiled
    if not profile.all_layouts(compiled):
        layouts = [canonical_layout(spec, config)]
    layout = drawer.choice(layouts, "layout")
    sizes = draw_sizes(drawer, layout, names, profile.sizes(compiled), profile.max_elements)
    concrete = shapes.concrete(layout, sizes, names)
    arrays: dict[str, np.ndarray] = {}
    drawn_from: dict[str, str] = {}
    for name in names:
        domain = spec.array(name).domain_for(full)
        shape, n = concrete[name], math.prod(concrete[name])
        if domain.integer:
            arrays[name] = domain.draw(drawer, name, shape, sizes, full)
            drawn_from[name] = domain.name
            continue
        partner = _tie_partner(spec, layout, name, arrays, full)
        if partner is not None and drawer.choice((False, True), f"{name} near {partner}"):
            kinks = near("near kinks", kink_points(full, spec.kinks), dtype)
            offset = drawer.floats(kinks, n, f"{name} − {partner}").reshape(shape)
            values = arrays[partner] + offset
            drawn_from[name] = f"{partner} + near kinks"
        else:
            band = drawer.choice(bands(domain, dtype, full, spec.kinks), f"{name} band")
            values = drawer.floats(band, n, f"{name} values").reshape(shape)
            drawn_from[name] = band.name
        axis = _class_axis(layout, name)
        if axis is not None and domain.normalise is not None:
            if drawer.choice((False, True), f"{name} normalised along C"):
                values = domain.normalise(values, axis)
                drawn_from[name] += ", normalised along C"
        arrays[name] = values
    cotangent = None
    if full["reduction"] == "none":
        out_shape = output_shape(spec, arrays, params)
        cotangent = drawer.floats(COTANGENT, math.prod(out_shape), "cotangent").reshape(out_shape)
        cotangent = sane_cotangent(cotangent, dtype)
    else:
        R.validate(spec.name, arrays, params)  # a strategy bug must surface, not be compared
    meta = {"layout": layout.name, "sizes": sizes, "drawn_from": drawn_from, "bands_for": dtype}
    return arrays, params, cotangent, meta


def _class_axis(layout: Layout, name: str) -> int | None:
    shape = layout.shapes[name]
    return next((shape.index(s) for s in CLASS_SYMBOLS if s in shape), None)


def draw_case(
    data,
    spec: LossSpec,
    config: Mapping[str, Any],
    dtype: str,
    device: str,
    mode: str,
    profile,
    compiled: bool | None = None,
) -> R.Case:
    """One valid case for the item, every choice drawn through ``data.draw(…, label=…)``.

    ``data`` is hypothesis' ``st.data()`` object. The reference accepts the result (it does not
    raise); reduction ``none`` comes with a drawn cotangent; ``label`` is ``"hypothesis"``.
    ``compiled``: see :func:`draw_arrays`.
    """
    drawer = HypothesisDrawer(data.draw)
    arrays, params, cotangent, meta = draw_arrays(
        drawer, spec, config, dtype, mode, profile, compiled
    )
    return R.Case(spec.name, params, arrays, dtype, device, mode, cotangent, "hypothesis", meta)


def case_strategy(
    spec: LossSpec,
    config: Mapping[str, Any],
    dtype: str = "float64",
    device: str = "cpu",
    mode: str = "eager",
    profile=None,
    compiled: bool | None = None,
    drawn_in: Callable[[float], None] | None = None,
) -> st.SearchStrategy[R.Case]:
    """:func:`draw_case` as a strategy (for ``@given(case=case_strategy(...))``): the same
    choices in the same order, so a seeded run draws the same cases either way, without the
    bookkeeping ``st.data()`` does on each labelled draw (two copies of the ``random`` module's
    state, to warn about strategies that use it: a third of a draw). ``drawn_in`` receives the
    seconds each draw took (the conformance run's "generate" stage). ``compiled``: see
    :func:`draw_arrays`."""
    from . import profiles

    profile = profile or profiles.get()

    @st.composite
    def cases(draw):
        started = time.perf_counter()
        # the labels are the st.data() form's; a composite's draw takes none (its own label is
        # a span label, which would change the spans hypothesis' mutator chooses from)
        direct = draw if _DIRECT is None else _DIRECT.draw(draw)
        drawer = HypothesisDrawer(lambda strategy, label: direct(strategy))
        arrays, params, cot, meta = draw_arrays(
            drawer, spec, config, dtype, mode, profile, compiled
        )
        case = R.Case(spec.name, params, arrays, dtype, device, mode, cot, "hypothesis", meta)
        if drawn_in is not None:
            drawn_in(time.perf_counter() - started)
        return case

    return cases()


def seeded_case(
    rng: np.random.Generator,
    spec: LossSpec,
    config: Mapping[str, Any],
    dtype: str,
    profile,
    mode: str = "eager",
    label: str = "seeded",
    compiled: bool | None = None,
) -> R.Case:
    """The same draw from a NumPy generator (deterministic for a seed; the frozen corpus)."""
    arrays, params, cot, meta = draw_arrays(
        RngDrawer(rng), spec, config, dtype, mode, profile, compiled
    )
    return R.Case(spec.name, params, arrays, "float64", "cpu", mode, cot, label, meta)
