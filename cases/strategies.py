"""Valid loss inputs drawn from the registry's domains and layouts, never per loss by hand.

What is drawn, and from what:

- the **layout** (which shapes the arguments have: a batch, the unbatched form, the K-dimensional
  shapes of cross_entropy/nll_loss, gaussian_nll_loss's broadcast variances) from the loss's
  :class:`~reference.spec.Layout`\\ s that hold the configuration's arrays;
- the **size** of each shape symbol from the profile's menu for the execution mode (N = 1 is a
  batch of one; compiled modes use a small menu so a compiled function is reused);
- for each float argument, a **band** of its domain — ordinary values, tiny ones, values near the
  loss's kinks, the dtype's sigmoid saturation, its exp overflow, large values (±1e4, below the
  dtype's maximum), or a per-element mix — and then the elements. Bands are dtype-aware (see
  :func:`bands`), so ``hypothesis.target`` can climb toward the regions where a dtype breaks;
- **ties**: an argument with the same real domain and symbolic shape as an earlier one (target
  next to input, positive next to anchor, input2 next to input1) may be drawn as that argument
  plus a few ULPs around 0 or around ±delta/±beta/±margin, which puts differences at the kinks;
- class indices, with an ``ignore_index`` mask covering none, some or all items when the
  configuration has one; class-probability and class-log-probability arguments are normalised
  along the class axis (symbol C) part of the time, as users pass them;
- a cotangent for reduction ``none``.

Scalar hyperparameters are never drawn (they are configuration values, see
:class:`reference.spec.Param`); neither are ±inf or NaN inputs (the edge cases hold those).

One drawing routine serves two backends: :class:`HypothesisDrawer` (every ``data.draw`` labelled,
for the conformance run) and :class:`RngDrawer` (a seeded NumPy generator, for the frozen corpus,
so that ``python -m cases freeze`` does not depend on the hypothesis version).

Speed: strategies and bands are built once and reused (building a strategy per draw cost about
as much as the draw); the choices hypothesis makes, and so the cases a derandomised run draws,
are the same as with strategies built afresh.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np
from hypothesis import strategies as st

import reference as R
from reference import shapes
from reference.dtypes import FORMATS, FloatFormat
from reference.spec import Layout, LossSpec

from .sampling import output_shape

T = TypeVar("T")

# Scalar parameters measured in the units of the input, at which a piecewise loss turns
# (huber's delta, smooth_l1's beta, the margins): the "near kinks" band clusters around ± these.
KINK_PARAMS = ("delta", "beta", "margin")
# Domains whose arguments may be tied to an earlier argument of the same domain and shape.
TIE_DOMAINS = ("real", "logit")
NEAR_ULPS = 4  # "near" values are anchor + k ULPs, |k| ≤ NEAR_ULPS


# --- bands ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    """A family of float values, realised identically by hypothesis and by a NumPy generator.

    ``uniform``: on [lo, hi]. ``log``: base + sign·m with m log-uniform on [lo, hi] (sign 0: either
    sign). ``near``: points[i] + k·ulps[i], |k| ≤ NEAR_ULPS. ``values``: one of ``points``.
    ``integers``: whole numbers in [lo, hi]. ``mixed``: each element from one of ``parts``.
    """

    name: str
    kind: str
    lo: float = 0.0
    hi: float = 0.0
    sign: int = 0
    base: float = 0.0
    points: tuple[float, ...] = ()
    ulps: tuple[float, ...] = ()
    parts: tuple[Band, ...] = field(default=(), repr=False)


def small_low(fmt: FloatFormat) -> float:
    """Smallest magnitude of the "small" bands: eps³, but not below the smallest normal number."""
    return max(fmt.tiny, fmt.eps**3)


def saturation(fmt: FloatFormat) -> float:
    """|x| beyond which σ(x) rounds to 1 in the format: (mantissa bits + 1)·ln 2.

    float64 36.7, float32 16.6, float16 7.6, bfloat16 5.5.
    """
    return (fmt.mantissa_bits + 1) * math.log(2.0)


def exp_overflow(fmt: FloatFormat) -> float:
    """x beyond which e^x overflows the format: ln(max). float16 11.1, float32/bfloat16 88.7."""
    return math.log(fmt.max_value)


def large_high(fmt: FloatFormat) -> float:
    """Largest magnitude drawn: 1e4 (float16's maximum is 65504, so 1e4 fits every format)."""
    return min(1e4, fmt.max_value / 4)


def _near(name: str, anchors, dtype: str) -> Band:
    points = tuple(sorted({float(a) for a in anchors}))
    # At 0 the step is one ULP of 1, so "near 0" reaches differences of a few eps, not subnormals.
    ulps = tuple(float(R.spacing(np.array(p if p else 1.0), dtype)) for p in points)
    return Band(name, "near", points=points, ulps=ulps)


def kink_points(params: Mapping[str, Any]) -> tuple[float, ...]:
    """0 and ±each kink parameter of the configuration (delta, beta, margin)."""
    out = {0.0}
    for name in KINK_PARAMS:
        v = params.get(name)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v:
            out |= {float(v), -float(v)}
    return tuple(sorted(out))


def _mixed(parts: tuple[Band, ...]) -> tuple[Band, ...]:
    return (*parts, Band("mixed", "mixed", parts=parts))


def _real_bands(fmt: FloatFormat, params) -> tuple[Band, ...]:
    s, top = saturation(fmt), exp_overflow(fmt)
    return _mixed(
        (
            Band("ordinary", "uniform", -4.0, 4.0),
            Band("small", "log", small_low(fmt), 2.0**-6),
            _near("near kinks", kink_points(params), fmt.name),
            Band("sigmoid saturation", "log", s / 2, 2 * s),
            Band("exp overflow", "log", 0.9 * top, 1.1 * top),
            Band("large", "log", 256.0, large_high(fmt)),
        )
    )


def _log_probability_bands(fmt: FloatFormat, params) -> tuple[Band, ...]:
    return _mixed(
        (
            Band("ordinary", "uniform", -8.0, 0.0),
            Band("near 0", "log", small_low(fmt), 2.0**-6, sign=-1),
            Band("very negative", "log", saturation(fmt), 1.1 * exp_overflow(fmt), sign=-1),
            Band("large", "log", 256.0, large_high(fmt), sign=-1),
        )
    )


def _probability_bands(fmt: FloatFormat, params) -> tuple[Band, ...]:
    return _mixed(
        (
            Band("ordinary", "uniform", 0.0, 1.0),
            Band("near 0", "log", small_low(fmt), 2.0**-6, sign=1),
            # down to a quarter ULP below 1, so some values round to exactly 1 in the dtype
            Band("near 1", "log", fmt.eps / 4, 2.0**-6, sign=-1, base=1.0),
            Band("hard labels", "values", points=(0.0, 1.0)),
        )
    )


def _count_bands(fmt: FloatFormat, params) -> tuple[Band, ...]:
    return _mixed(
        (
            Band("small counts", "integers", 0, 5),
            Band("zero", "values", points=(0.0,)),
            Band("large counts", "integers", 6, 1000),
        )
    )


def _rate_bands(fmt: FloatFormat, params) -> tuple[Band, ...]:
    return _mixed(
        (
            Band("ordinary", "uniform", 0.0, 4.0),
            Band("small", "log", small_low(fmt), 2.0**-6, sign=1),
            Band("zero", "values", points=(0.0,)),
            Band("large", "log", 256.0, large_high(fmt), sign=1),
        )
    )


def _variance_bands(fmt: FloatFormat, params) -> tuple[Band, ...]:
    parts = [
        Band("ordinary", "uniform", 2.0**-4, 4.0),
        Band("small", "log", small_low(fmt), 2.0**-6, sign=1),
        Band("zero", "values", points=(0.0,)),
        Band("large", "log", 256.0, large_high(fmt), sign=1),
    ]
    if params.get("eps"):  # the variance clamp max(var, eps) is a kink
        parts.insert(2, _near("near eps", (params["eps"],), fmt.name))
    return _mixed(tuple(parts))


def _sign_bands(fmt: FloatFormat, params) -> tuple[Band, ...]:
    return (
        Band("±1", "values", points=(-1.0, 1.0)),
        Band("all 1", "values", points=(1.0,)),
        Band("all −1", "values", points=(-1.0,)),
    )


def _weight_bands(fmt: FloatFormat, params) -> tuple[Band, ...]:
    return _mixed(
        (
            Band("ordinary", "uniform", 0.0, 2.0),
            Band("zeros", "values", points=(0.0,)),
            Band("some zeros", "values", points=(0.0, 0.5, 1.0, 2.0)),
            Band("large", "log", 16.0, 1024.0, sign=1),
        )
    )


# Domain name (reference/domains.py) -> its bands for a format and the configuration's params.
# A band function reads only the KINK_PARAMS and eps of the params (bands() caches on those).
BANDS: dict[str, Callable[[FloatFormat, Mapping[str, Any]], tuple[Band, ...]]] = {
    "real": _real_bands,
    "logit": _real_bands,
    "log-probability": _log_probability_bands,
    "probability": _probability_bands,
    "count": _count_bands,
    "rate": _rate_bands,
    "variance": _variance_bands,
    "±1 label": _sign_bands,
    "weight": _weight_bands,
}
COTANGENT = Band("cotangent", "uniform", -2.0, 2.0)


def sane_cotangent(values: np.ndarray, dtype: str) -> np.ndarray:
    """A drawn cotangent (an upstream gradient) with every magnitude below the "small" bands'
    floor (:func:`small_low`) set to 0: never subnormal in the dtype. A subnormal upstream
    gradient tests how a framework's backward rounds on the subnormal grid (JAX flushes it to 0
    on CPU; a float16 g/C underflows before its multiplication), not the loss."""
    return np.where(np.abs(values) < small_low(FORMATS[dtype]), 0.0, values)


def bands(domain: str, dtype: str, params: Mapping[str, Any]) -> tuple[Band, ...]:
    """The bands a float argument of ``domain`` is drawn from for ``dtype``."""
    # Remembered per (domain, dtype, the parameters bands read): every drawn array asks. Types
    # are part of the key because True == 1 and kink_points ignores booleans.
    relevant = tuple((k, type(params.get(k)), params.get(k)) for k in (*KINK_PARAMS, "eps"))
    try:
        return _bands(domain, dtype, relevant)
    except TypeError:  # an unhashable parameter value: compute afresh
        return BANDS[domain](FORMATS[dtype], params)


@functools.lru_cache(maxsize=1024)
def _bands(domain: str, dtype: str, relevant: tuple) -> tuple[Band, ...]:
    return BANDS[domain](FORMATS[dtype], {k: v for k, _, v in relevant})


# --- normalisation along the class axis ----------------------------------------------------------


def _normalise_probability(x: np.ndarray, axis: int) -> np.ndarray:
    total = np.sum(x, axis=axis, keepdims=True)
    uniform = np.full_like(x, 1.0 / x.shape[axis])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, x / np.where(total > 0, total, 1.0), uniform)


def _normalise_log_probability(x: np.ndarray, axis: int) -> np.ndarray:
    top = np.max(x, axis=axis, keepdims=True)
    return x - (top + np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)))


# Domain name -> how its values are made a distribution along the class axis.
NORMALISE: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "probability": _normalise_probability,
    "log-probability": _normalise_log_probability,
}
CLASS_SYMBOL = "C"


# --- the two backends ----------------------------------------------------------------------------


class Drawer(Protocol):
    def choice(self, options: Sequence[T], label: str) -> T: ...
    def integers(self, lo: int, hi: int, n: int, label: str) -> np.ndarray: ...
    def booleans(self, n: int, label: str) -> np.ndarray: ...
    def floats(self, band: Band, n: int, label: str) -> np.ndarray: ...


@functools.cache
def element_strategy(band: Band) -> st.SearchStrategy[float]:
    """One element of ``band`` as a hypothesis strategy (simplest values first, for shrinking)."""
    if band.kind == "uniform":
        return st.floats(band.lo, band.hi, allow_nan=False, allow_infinity=False)
    if band.kind == "log":
        magnitude = st.floats(math.log2(band.lo), math.log2(band.hi)).map(lambda e: 2.0**e)
        if band.sign:
            return magnitude.map(lambda m: band.base + band.sign * m)
        return st.tuples(st.sampled_from((1.0, -1.0)), magnitude).map(
            lambda sm: band.base + sm[0] * sm[1]
        )
    if band.kind == "near":
        return st.tuples(
            st.integers(0, len(band.points) - 1), st.integers(-NEAR_ULPS, NEAR_ULPS)
        ).map(lambda ik: band.points[ik[0]] + ik[1] * band.ulps[ik[0]])
    if band.kind == "values":
        return st.sampled_from(band.points)
    if band.kind == "integers":
        return st.integers(int(band.lo), int(band.hi)).map(float)
    if band.kind == "mixed":
        return st.one_of(*(element_strategy(p) for p in band.parts))
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
    return st.lists(st.integers(lo, hi), min_size=n, max_size=n)


@functools.lru_cache(maxsize=256)
def _boolean_list(n: int) -> st.SearchStrategy[list[bool]]:
    return st.lists(st.booleans(), min_size=n, max_size=n)


@functools.lru_cache(maxsize=4096)
def _float_list(band: Band, n: int) -> st.SearchStrategy[list[float]]:
    return st.lists(element_strategy(band), min_size=n, max_size=n)


class HypothesisDrawer:
    """Draws through ``draw(strategy, label)``: hypothesis' ``data.draw`` in the conformance run."""

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


def _draw_class_index(drawer, name, shape, sizes, params) -> np.ndarray:
    n = math.prod(shape)
    values = drawer.integers(0, sizes[CLASS_SYMBOL] - 1, n, f"{name} classes")
    ignore = params.get("ignore_index")
    if ignore is not None:
        covered = drawer.choice(("none", "some", "all"), f"{name} ignored items")
        if covered == "some":
            mask = drawer.booleans(n, f"{name} ignore mask")
        else:
            mask = np.full(n, covered == "all")
        values = np.where(mask, ignore, values)
    return values.reshape(shape).astype(np.int64)


def _tie_partner(spec, layout, name, drawn: Mapping[str, np.ndarray], params) -> str | None:
    """An earlier argument of the same real domain and symbolic shape, if there is one."""
    domain = spec.array(name).domain_for(params).name
    if domain not in TIE_DOMAINS:
        return None
    for other in drawn:
        if (
            spec.array(other).domain_for(params).name in TIE_DOMAINS
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
            arrays[name] = _draw_class_index(drawer, name, shape, sizes, full)
            drawn_from[name] = "class index"
            continue
        partner = _tie_partner(spec, layout, name, arrays, full)
        if partner is not None and drawer.choice((False, True), f"{name} near {partner}"):
            kinks = _near("near kinks", kink_points(full), dtype)
            offset = drawer.floats(kinks, n, f"{name} − {partner}").reshape(shape)
            values = arrays[partner] + offset
            drawn_from[name] = f"{partner} + near kinks"
        else:
            band = drawer.choice(bands(domain.name, dtype, full), f"{name} band")
            values = drawer.floats(band, n, f"{name} values").reshape(shape)
            drawn_from[name] = band.name
        axis = _class_axis(layout, name)
        if axis is not None and domain.name in NORMALISE:
            if drawer.choice((False, True), f"{name} normalised along C"):
                values = NORMALISE[domain.name](values, axis)
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
    return shape.index(CLASS_SYMBOL) if CLASS_SYMBOL in shape else None


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
) -> st.SearchStrategy[R.Case]:
    """:func:`draw_case` as a strategy (for ``@given(case_strategy(...))``)."""
    from . import profiles

    profile = profile or profiles.get()

    @st.composite
    def cases(draw):
        drawer = HypothesisDrawer(lambda strategy, label: draw(strategy))
        arrays, params, cot, meta = draw_arrays(drawer, spec, config, dtype, mode, profile)
        return R.Case(spec.name, params, arrays, dtype, device, mode, cot, "hypothesis", meta)

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
