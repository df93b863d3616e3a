"""The hypothesis strategies: valid cases for every loss and configuration, labelled draws, shapes
from the profile's menus."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reference as R
from cases import profiles, strategies
from cases.sampling import output_shape
from reference import bands as B
from reference.domains import DOMAINS, LOG_PROBABILITY, PROBABILITY

CI = profiles.get("ci")
FAST = settings(
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


class LabelCheckingData:
    """Wraps hypothesis' data object and insists that every draw carries a label."""

    def __init__(self, data):
        self.data, self.labels = data, []

    def draw(self, strategy, label=None):
        assert isinstance(label, str) and label, f"unlabelled draw of {strategy!r}"
        self.labels.append(label)
        return self.data.draw(strategy, label=label)


@pytest.mark.parametrize("loss", R.names())
def test_every_configuration_draws_cases_the_reference_accepts(loss):
    spec = R.get(loss)
    configs = list(R.all_configs(spec))

    @FAST
    @given(
        data=st.data(),
        config=st.sampled_from(configs),
        dtype=st.sampled_from(R.DTYPES),
        mode=st.sampled_from(("eager", "jit")),
    )
    def check(data, config, dtype, mode):
        wrapped = LabelCheckingData(data)
        case = strategies.draw_case(wrapped, spec, config, dtype, "cpu", mode, CI)
        assert wrapped.labels, "nothing was drawn"
        assert (case.loss, case.dtype, case.device, case.mode, case.label) == (
            loss,
            dtype,
            "cpu",
            mode,
            "hypothesis",
        )
        assert R.config_of(case) == config
        value, _grads = R.value_and_vjp(loss, case.rounded(), case.params, case.rounded_cotangent())
        if config["reduction"] == "none":
            assert case.cotangent is not None
            assert case.cotangent.shape == np.shape(value)
        else:
            assert case.cotangent is None and np.shape(value) == ()
        assert sum(v.size for v in case.arrays.values()) <= CI.max_elements
        for name, values in case.arrays.items():
            integer = spec.array(name).domain_for({**spec.defaults(), **case.params}).integer
            assert values.dtype == (np.int64 if integer else np.float64), name
            if not integer:
                assert np.all(np.isfinite(values)), f"{name}: drawn values are finite"

    check()


@pytest.mark.parametrize("loss", ["cross_entropy", "mse_loss", "gaussian_nll_loss"])
def test_compiled_ci_items_use_one_shape(loss):
    """So that tf.function / jax.jit compile once per ci item."""
    spec = R.get(loss)
    config = next(iter(R.all_configs(spec)))
    seen = set()

    @FAST
    @given(data=st.data())
    def check(data):
        case = strategies.draw_case(data, spec, config, "float32", "cpu", "jit", CI)
        seen.add(tuple((k, v.shape) for k, v in case.arrays.items()))

    check()
    assert len(seen) == 1, seen
    layout = strategies.canonical_layout(spec, config)
    (shapes,) = seen
    assert dict(shapes) == R.shapes.concrete(
        layout, {k: v[0] for k, v in CI.compiled_sizes.items()}, [n for n, _ in shapes]
    )


def test_canonical_layouts_are_the_small_batched_ones():
    got = {
        name: strategies.canonical_layout(R.get(name), next(iter(R.all_configs(R.get(name))))).name
        for name in ("cross_entropy", "mse_loss", "triplet_margin_loss", "gaussian_nll_loss")
    }
    assert got == {
        "cross_entropy": "(N, C)",
        "mse_loss": "(N)",
        "triplet_margin_loss": "(N, D)",
        "gaussian_nll_loss": "(N)",
    }


def test_sizes_respect_the_element_budget():
    spec = R.get("cross_entropy")
    layout = next(lay for lay in spec.layouts if lay.name == "(N, C, d1, d2)")
    names = ["input", "target", "weight"]
    rng = strategies.RngDrawer(np.random.default_rng(0))
    for _ in range(200):
        sizes = strategies.draw_sizes(rng, layout, names, CI.eager_sizes, 60)
        assert strategies.n_elements(layout, names, sizes) <= 60
        assert all(sizes[s] in CI.eager_sizes[s] for s in sizes)


def test_seeded_draws_are_deterministic_and_valid():
    spec = R.get("binary_cross_entropy_with_logits")
    for config in R.all_configs(spec):
        a = strategies.seeded_case(np.random.default_rng(3), spec, config, "float16", CI)
        b = strategies.seeded_case(np.random.default_rng(3), spec, config, "float16", CI)
        assert a.arrays.keys() == b.arrays.keys()
        assert all(np.array_equal(a.arrays[k], b.arrays[k]) for k in a.arrays)
        R.validate(spec.name, a.arrays, a.params)


@pytest.mark.parametrize("dtype", R.DTYPES)
def test_bands_stay_inside_the_dtype(dtype):
    """No drawn value rounds to ±inf, and no band is empty or inverted."""
    rng = np.random.default_rng(0)
    params = {"delta": 1.0, "beta": 0.5, "margin": 1.0, "eps": 1e-6}
    kinks = ("delta", "beta", "margin")
    for domain in DOMAINS:
        if domain.integer:
            continue  # class indices are drawn as indices, not from bands
        for band in strategies.bands(domain, dtype, params, kinks):
            assert band.kind in ("values", "near", "mixed") or band.lo <= band.hi, band.name
            values = strategies.RngDrawer(rng).floats(band, 500, band.name)
            assert np.all(np.isfinite(R.round_to(values, dtype))), (domain.name, band.name)


def _inside(band: B.Band, values: np.ndarray) -> np.ndarray:
    """Which values lie in ``band`` (log magnitudes within a rounding of their ends)."""
    if band.kind == "uniform":
        return (band.lo <= values) & (values <= band.hi)
    if band.kind == "log" and band.sign:  # between base + sign·lo and base + sign·hi, as rounded
        ends = band.base + band.sign * np.array([band.lo * (1 - 1e-12), band.hi * (1 + 1e-12)])
        return (ends.min() <= values) & (values <= ends.max())
    if band.kind == "log":
        magnitude = np.abs(values - band.base)
        return (band.lo * (1 - 1e-12) <= magnitude) & (magnitude <= band.hi * (1 + 1e-12))
    if band.kind == "near":
        steps = [np.abs(values - p) / u for p, u in zip(band.points, band.ulps, strict=True)]
        return np.min(steps, axis=0) <= strategies.NEAR_ULPS + 1e-9
    if band.kind == "values":
        return np.isin(values, band.points)
    if band.kind == "integers":
        return (values == np.round(values)) & (band.lo <= values) & (values <= band.hi)
    return np.any([_inside(part, values) for part in band.parts], axis=0)


def _draw_with_hypothesis(band: B.Band) -> list[np.ndarray]:
    drawn: list[np.ndarray] = []

    @FAST
    @given(data=st.data())
    def check(data):
        values = strategies.HypothesisDrawer(data.draw).floats(band, 9, "x")
        assert values.shape == (9,) and values.dtype == np.float64
        assert _inside(band, values).all(), (band, values[~_inside(band, values)])
        drawn.append(values)

    check()
    return drawn


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_hypothesis_draws_each_band_inside_it(dtype):
    """The hypothesis backend: every value lands in its band, both signs of an unsigned log band
    occur, and a mixed band mixes."""
    params = {"delta": 1.0, "beta": 0.5, "margin": 1.0, "eps": 1e-6}
    kinks = ("delta", "beta", "margin")
    every = {
        band for d in DOMAINS if not d.integer for band in strategies.bands(d, dtype, params, kinks)
    }
    every.add(B.near("near kinks", B.kink_points(params, kinks), dtype))
    assert {band.kind for band in every} == {
        "uniform",
        "log",
        "near",
        "values",
        "integers",
        "mixed",
    }
    for band in sorted(every, key=repr):
        drawn = _draw_with_hypothesis(band)
        values = np.concatenate(drawn)
        if band.kind == "log" and not band.sign:
            assert (values < band.base).any() and (values > band.base).any(), band.name
        if band.kind == "mixed":
            parts = [_inside(part, values).any() for part in band.parts]
            assert sum(parts) >= 2, band.name


@pytest.mark.parametrize("domain", DOMAINS, ids=[d.name for d in DOMAINS])
def test_every_domain_declares_how_to_draw_it(domain):
    """What the samplers and strategies need lives with the domain (reference/domains.py)."""
    assert domain.sample is not None, (
        f"domain {domain.name!r} declares no sampler: add sample= to it in reference/domains.py"
    )
    assert domain.integer or domain.bands is not None, (
        f"domain {domain.name!r} declares no bands: add bands= to it in reference/domains.py"
    )
    assert not domain.integer or domain.draw is not None, (
        f"integer domain {domain.name!r} declares no draw: add draw= to it in reference/domains.py"
    )


def test_every_domain_a_loss_uses_is_declared_with_the_others():
    used = set()
    for spec in R.REGISTRY.values():
        for array in spec.arrays:
            choices = getattr(array.domain, "choices", None)
            used |= set(choices.values()) if choices else {array.domain}
    stray = sorted(d.name for d in used - set(DOMAINS))
    assert not stray, f"declare the domains {stray} in reference/domains.py, with the others"


def test_kink_parameters_are_declared_by_the_losses():
    """The strategies draw near ±each kink parameter; the losses say which parameters those are.
    These losses turn at ± a parameter and must keep declaring it; a loss added later declares
    its own next to its formula, and only has to satisfy the rule below."""
    kinks = {name: R.get(name).kinks for name in R.names() if R.get(name).kinks}
    assert {
        "huber_loss": ("delta",),
        "smooth_l1_loss": ("beta",),
        "multi_margin_loss": ("margin",),
        "triplet_margin_loss": ("margin",),
        "cosine_embedding_loss": ("margin",),
        "margin_ranking_loss": ("margin",),
        "hinge_embedding_loss": ("margin",),
    }.items() <= kinks.items()
    for name, params in kinks.items():
        for param in params:
            # measured in the input's units: a real number, so the strategies can draw near ±it
            values = (R.get(name).param(param).default, *R.get(name).param(param).grid)
            assert all(isinstance(v, float) for v in values), (name, param, values)


@pytest.mark.parametrize("dtype", R.DTYPES)
def test_saturation_and_overflow_bands_straddle_the_dtype_limits(dtype):
    fmt = R.FORMATS[dtype]
    s, top = B.saturation(fmt), B.exp_overflow(fmt)
    sigmoid = lambda x: 1.0 / (1.0 + math.exp(-x))  # noqa: E731
    assert R.round_to(np.array(sigmoid(2 * s)), dtype) == 1.0
    assert R.round_to(np.array(sigmoid(s / 2)), dtype) < 1.0
    with np.errstate(over="ignore"):
        assert np.isinf(R.round_to(np.exp(np.array(1.1 * top)), dtype))
        assert np.isfinite(R.round_to(np.exp(np.array(0.9 * top)), dtype))
    assert B.large_high(fmt) == 1e4 and 1e4 < fmt.max_value


def test_kink_points_come_from_the_configuration():
    assert B.kink_points({"delta": 0.5, "reduction": "mean"}, ("delta",)) == (-0.5, 0.0, 0.5)
    assert B.kink_points({"beta": 0.0}, ("beta",)) == (0.0,)
    assert B.kink_points({"margin": 1.0, "eps": 1e-6}, ("margin",)) == (-1.0, 0.0, 1.0)
    # only the declared kink parameters count: eps is not measured in the input's units
    assert B.kink_points({"margin": 1.0, "eps": 1e-6}, ()) == (0.0,)


def test_class_probability_normalisation_sums_to_one_along_c():
    x = np.array([[[0.5, 0.0]], [[0.25, 0.0]], [[0.25, 0.0]]]).transpose(1, 0, 2)  # (1, C=3, 2)
    out = PROBABILITY.normalise(x, 1)
    assert np.allclose(out.sum(axis=1), 1.0)
    assert np.allclose(out[0, :, 1], 1 / 3)  # an all-zero column becomes uniform
    logp = LOG_PROBABILITY.normalise(np.array([[-1e4, 0.0, 3.0]]), 1)
    assert np.isclose(np.exp(logp).sum(), 1.0)


def test_output_shape_helper_still_works():
    spec = R.get("cross_entropy")
    arrays = {"input": np.zeros((2, 3, 4)), "target": np.zeros((2, 4), dtype=np.int64)}
    assert output_shape(spec, arrays, {}) == (2, 4)


def test_case_strategy_wraps_the_same_draw():
    spec = R.get("kl_div")
    config = next(c for c in R.all_configs(spec) if c["reduction"] == "batchmean")

    @FAST
    @given(case=strategies.case_strategy(spec, config, "bfloat16", profile=CI))
    def check(case):
        assert case.dtype == "bfloat16" and case.label == "hypothesis"
        R.validate(case.loss, case.rounded(), case.params)

    check()


@pytest.mark.parametrize(
    ("loss", "dtype", "mode"),
    [
        ("cross_entropy", "float32", "eager"),
        ("triplet_margin_loss", "float16", "jit"),
        ("ctc_loss", "float64", "eager"),
        ("kl_div", "bfloat16", "eager"),
    ],
)
def test_case_strategy_draws_what_the_labelled_draws_of_st_data_draw(loss, dtype, mode):
    """The conformance run draws through case_strategy (a composite: no per-draw bookkeeping);
    the ci draws are the cases the st.data() form drew, seed for seed, with shrinking and
    hypothesis' mutations (its spans are the same but for the composite's own)."""
    from hypothesis import Phase, seed

    spec = R.get(loss)
    configs = list(R.all_configs(spec))
    config = configs[len(configs) // 2]

    def drawn(given_form):
        cases = []

        @seed(7)
        @settings(FAST, derandomize=False, phases=[Phase.generate], max_examples=25)
        @given_form
        def collect(case):
            cases.append(case)

        collect()
        return [(sorted(c.arrays), [c.arrays[k].tolist() for k in sorted(c.arrays)]) for c in cases]

    def with_data(test):
        def run(data):
            test(strategies.draw_case(data, spec, config, dtype, "cpu", mode, CI))

        return given(data=st.data())(run)

    seconds = []
    composite = given(
        case=strategies.case_strategy(spec, config, dtype, "cpu", mode, CI, None, seconds.append)
    )
    labelled, composed = drawn(with_data), drawn(composite)
    assert len(labelled) == 25 and composed == labelled
    assert len(seconds) == 25 and all(s > 0 for s in seconds)


MIXED_PARTS = (B.Band("a", "log", 1e-3, 10.0), B.Band("b", "integers", -3.0, 3.0))
BANDS = [
    B.Band("log, either sign", "log", 1e-6, 1e4),
    B.Band("log above 1", "log", 1e-4, 1.0, sign=1, base=1.0),
    B.Band("near", "near", points=(0.0, 1.0), ulps=(2.0**-24, 2.0**-23)),
    B.Band("integers", "integers", -5.0, 5.0),
    B.Band("values", "values", points=(0.0, 0.5, 1.0)),
    B.Band("uniform", "uniform", -2.0, 2.0),
    B.Band("mixed", "mixed", parts=MIXED_PARTS),
]


def _band_arrays(size: int = 6):
    """One drawn array per band (as HypothesisDrawer.floats draws them), class indices and
    booleans: the strategies the direct classes replace, fresh."""
    strategies.element_strategy.cache_clear()
    strategies._float_list.cache_clear()
    strategies._integer_list.cache_clear()
    strategies._boolean_list.cache_clear()
    return st.tuples(
        *(strategies._float_list(b, size) for b in BANDS),
        strategies._integer_list(0, 4, size),
        strategies._boolean_list(size),
        strategies._float_list(BANDS[0], 0),  # an empty array
    )


def test_direct_strategies_draw_what_lists_tuples_and_map_would(monkeypatch):
    """The bands' arrays are drawn without hypothesis' per-draw bookkeeping
    (strategies._DIRECT): the same values, and the same spans, so the same choices after
    hypothesis' mutations, as ``st.lists``, ``st.tuples`` and ``.map`` draw."""
    from hypothesis import Phase, seed

    if strategies._DIRECT is None:
        pytest.skip("this hypothesis lacks the internals; st.lists, st.tuples and .map are used")

    def drawn() -> list:
        values = []

        @seed(3)
        @settings(FAST, derandomize=False, phases=[Phase.generate], max_examples=40)
        @given(_band_arrays())
        def collect(drawn_values):
            values.append(drawn_values)

        collect()
        return values

    direct = drawn()
    monkeypatch.setattr(strategies, "_DIRECT", None)
    stock = drawn()
    monkeypatch.undo()
    strategies.element_strategy.cache_clear()
    assert len(direct) == 40 and direct == stock


def test_direct_strategies_make_the_same_choices_spans_and_recorded_values(monkeypatch):
    """Draw for draw, the direct strategies leave what hypothesis' own leave in the test case's
    record: the choices, every span (label, extent, depth), the shrinker's marked argument spans,
    and the values recorded for spans; and a replay of the choices gives the same arrays."""
    import random

    from hypothesis.control import BuildContext
    from hypothesis.internal.conjecture.data import ConjectureData

    if strategies._DIRECT is None:
        pytest.skip("this hypothesis lacks the internals; st.lists, st.tuples and .map are used")

    def draw(data, strategy):
        with BuildContext(data, wrapped_test=draw):  # st.tuples registers printers in it
            return data.draw(strategy)

    def recorded(value):
        # a one_of records the branch it chose: the same strategy by label (its repr names the
        # class, PlainTuple's or the lazy tuples')
        return ("branch", value.label) if isinstance(value, st.SearchStrategy) else repr(value)

    def arrays_of_recorded(text):
        return "a case" if isinstance(text, str) and text.startswith("Case(") else text

    def record(strategy, seed_value):
        data = ConjectureData(random=random.Random(seed_value))
        value = draw(data, strategy)
        data.freeze()
        spans = [(s.label, s.start, s.end, s.depth, recorded(s.recorded_value)) for s in data.spans]
        spans = [(*span[:4], arrays_of_recorded(span[4])) for span in spans]
        return value, data.choices, spans, sorted(data.arg_spans)

    def whole_cases():  # the conformance run's composite, whose draws go direct too
        spec = R.get("triplet_margin_loss")
        config = list(R.all_configs(spec))[1]
        return st.tuples(
            strategies.case_strategy(spec, config, "float16", "cpu", "eager", CI),
            strategies.case_strategy(R.get("kl_div"), {}, "float32", "cpu", "jit", CI),
        )

    def arrays_of(value):
        if isinstance(value, tuple) and value and isinstance(value[0], R.Case):
            return [sorted((k, v.tolist()) for k, v in c.arrays.items()) for c in value]
        return value

    for make in (_band_arrays, whole_cases):
        direct_strategy = make()
        monkeypatch.setattr(strategies, "_DIRECT", None)
        stock_strategy = make()
        monkeypatch.undo()
        for seed_value in range(40):
            direct, stock = record(direct_strategy, seed_value), record(stock_strategy, seed_value)
            assert arrays_of(direct[0]) == arrays_of(stock[0]), seed_value
            assert direct[1:] == stock[1:], seed_value
            replayed = draw(ConjectureData.for_choices(stock[1]), direct_strategy)
            assert arrays_of(replayed) == arrays_of(stock[0])
    strategies.element_strategy.cache_clear()


def test_draws_do_not_depend_on_the_projects_number_literals():
    """Hypothesis would mix the literals of the project's modules (8192.0 in reference/edges.py,
    the examples of every registry entry…) into its draws; cases.profiles empties that pool, so
    an edit anywhere in the code does not change what the ci profile tests."""
    from hypothesis.internal.conjecture import providers

    import cases.profiles  # noqa: F401
    import reference.edges  # noqa: F401

    local = providers._get_local_constants()
    assert len(local.floats) == 0 and len(local.integers) == 0


def test_direct_strategies_re_encode_a_value_as_hypothesis_does(monkeypatch):
    """Where the shrinker puts a value to re-encode (a ValueHole) in the prefix, the direct
    strategies hand it to hypothesis' own draw: the same value, choices and spans as the stock
    strategies, for a value the integers below can re-encode (2) and for ones they cannot."""
    from hypothesis.control import BuildContext
    from hypothesis.internal.conjecture.choice import ValueHole
    from hypothesis.internal.conjecture.data import ConjectureData

    if strategies._DIRECT is None:
        pytest.skip("this hypothesis lacks the internals; st.lists, st.tuples and .map are used")
    band = B.Band("integers", "integers", -5.0, 5.0)

    def fresh():
        strategies.element_strategy.cache_clear()
        strategies._float_list.cache_clear()
        return strategies._float_list(band, 4)

    def drawn(strategy, hole):
        data = ConjectureData.for_choices((4, ValueHole(hole), -1, 3))
        with BuildContext(data, wrapped_test=drawn):
            value = data.draw(strategy)
        data.freeze()
        return value, data.choices, [(s.label, s.start, s.end) for s in data.spans]

    direct = fresh()
    monkeypatch.setattr(strategies, "_DIRECT", None)
    stock = fresh()
    monkeypatch.undo()
    for hole in (2, 2.0, -7):
        assert drawn(direct, hole) == drawn(stock, hole), hole
    assert drawn(direct, 2)[0] == [4.0, 2.0, -1.0, 3.0]  # re-encoded
    strategies.element_strategy.cache_clear()
    strategies._float_list.cache_clear()
