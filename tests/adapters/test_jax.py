"""JAX/Optax adapter: its registry entries hold under jit, keep to their release ranges and stay
narrow; jit compiles once per shape; dtypes are honoured.

Runs only with ``--framework jax`` (or ``LOSSCONF_FRAMEWORK=jax``) in an environment with jax and
optax; the framework-free contract tests live in ``test_contract.py``.
"""

from __future__ import annotations

import dataclasses
import time
import zlib

import numpy as np
import pytest

import reference as R
from adapters import NotOffered
from adapters.base import version_in
from adapters.known.jax import DIVERGENCES as JAX_REGISTRY
from cases.compare import compare, expected
from cases.judge import Judge
from cases.sampling import output_shape, sample_arrays
from reference import Case, shapes

INF = np.inf


@pytest.fixture(scope="module")
def jax_adapter(adapter):
    if adapter.name != "jax":
        pytest.skip("JAX adapter tests (run with --framework jax)")
    return adapter


def _a(*values) -> np.ndarray:
    return np.array(values, dtype=np.float64)


# Example data of the tests below (values are arbitrary; the shapes matter).
_RNG = np.random.default_rng(20260101)
_ROWS = _RNG.standard_normal((2, 3))

# The registry as data: it imports no framework, so the entries parametrise tests at collection.
ENTRIES = {d.id: d for d in JAX_REGISTRY}


def _differs(got, expected) -> bool:
    """Shapes differ, NaN/inf disagree, or some finite element is off by more than 1e-12 relative."""
    got, expected = np.asarray(got, float), np.asarray(expected, float)
    if got.shape != expected.shape:
        return True
    return not np.allclose(got, expected, rtol=1e-12, atol=0.0, equal_nan=True)


def _beyond_tolerance(case: Case, got, expected, name: str | None) -> bool:
    """The suite's own tolerance policy (cases.tolerance) rejects ``got``; ``name`` None is the
    value, else that argument's gradient."""
    from cases import tolerance as T

    arrays, cot = case.rounded(), case.rounded_cotangent()
    scales = T.scales(case.loss, arrays, case.params, cot)
    if name is None:
        bound = T.bound(expected, scales.value, scales.floor, case.dtype, scales.n, T.K_VALUE)
    else:
        scale = scales.grads[name]
        bound = T.bound(expected, scale, scales.grad_floor, case.dtype, scales.n, T.K_GRAD)
    return np.shape(got) != np.shape(expected) or not T.check(got, expected, bound, case.dtype).ok


def _reproduces(adapter, entry, case: Case, api: str | None = None) -> list[str]:
    """The parts in which JAX differs from the reference on ``case``, run with ``api`` (or the
    entry's example's): beyond 1e-12 relative and beyond the suite's tolerance, and the dtype of
    the value."""
    api = api or (entry.example.api if entry is not None else None)
    out = adapter.run(case, api=api)
    try:
        value, grads = R.value_and_vjp(case.loss, case.rounded(), case.params, case.cotangent)
    except R.InvalidInput:
        # The reference rejects the input; JAX answered with a number (and no exception).
        return ["error"] if out.error is None and out.value is not None else []
    if out.error is not None:
        return ["error"]
    found = []
    # result fidelity: a result in another dtype than the case's (x64 promotion) is the part
    # "dtype", whatever its numbers (cases.compare)
    if out.value_dtype is not None and out.value_dtype != case.dtype:
        found.append("dtype")
    if _differs(out.value, value) and _beyond_tolerance(case, out.value, value, None):
        found.append("value")
    if any(
        _differs(out.grads[k], grads[k]) and _beyond_tolerance(case, out.grads[k], grads[k], k)
        for k in out.grads
    ):
        found.append("grad")
    return found


def test_every_entry_has_an_example():
    """tests/adapters/test_registry.py runs the entries that carry an example: all of them must."""
    assert ENTRIES, "the JAX registry is empty"
    missing = [d.id for d in JAX_REGISTRY if d.example is None]
    assert not missing, f"entries without an example: {missing}"


def test_the_adapter_returns_the_registry(jax_adapter):
    assert [d.id for d in jax_adapter.divergences()] == list(ENTRIES)


def test_every_entry_is_cited_and_described(jax_adapter):
    for d in jax_adapter.divergences():
        assert d.kind in ("convention", "known-bug"), d.id
        assert d.citation.startswith("https://"), d.id
        assert len(d.description) > 40 and d.inputs_text, d.id
        assert set(d.affects) <= {"value", "grad", "error", "dtype"} and d.affects, d.id
        if d.loss == "*":
            continue
        assert d.loss in R.REGISTRY, d.id
        mappings = [jax_adapter.mapping(d.loss, c) for c in R.all_configs(R.get(d.loss))]
        offered = [m for m in mappings if not isinstance(m, NotOffered)]
        # A loss an older release lacks is fine (the entry cannot apply there), as long as the
        # mapping says so by naming the release; an entry for a loss never offered is dead.
        assert offered or any(_names_the_release(jax_adapter, m.reason) for m in mappings), (
            f"{d.id}: {d.loss} is not offered at all"
        )


def _names_the_release(adapter, reason: str) -> bool:
    return any(f"{name} {v}" in reason for name, v in adapter.versions().items())


def _skip_unless_offered(adapter, case: Case, api: str | None = None):
    mapped = adapter.recipe(case.loss, R.config_of(case), api)
    if isinstance(mapped, NotOffered):
        assert _names_the_release(adapter, mapped.reason), mapped.reason
        pytest.skip(f"not offered by this release: {mapped.reason}")


def _example(entry_id: str, mode: str) -> Case:
    entry = ENTRIES[entry_id]
    return dataclasses.replace(entry.example.case(entry.loss), mode=mode)


@pytest.mark.parametrize("entry_id", list(ENTRIES))
def test_an_entry_shows_under_jit_too(jax_adapter, entry_id):
    """test_registry.py runs each example as written (eager); the conformance run compiles too, so
    on its example under jax.jit an entry applies and JAX differs in a part it affects."""
    entry, case = ENTRIES[entry_id], _example(entry_id, "jit")
    _skip_unless_offered(jax_adapter, case, entry.example.api)
    version = jax_adapter.version()
    if not version_in(version, entry.versions):
        pytest.skip(f"{entry_id} holds for {entry.versions}")
    assert entry.applies(case, version, entry.example.api), (
        f"{entry_id}: predicate false on its example under jit"
    )
    differing = _reproduces(jax_adapter, entry, case)
    assert set(differing) & set(entry.affects), (
        f"{entry_id}: JAX agrees with the reference on {entry.affects} (differs in {differing})"
    )


@pytest.mark.parametrize("mode", ["eager", "jit"])
@pytest.mark.parametrize("entry_id", [i for i, d in ENTRIES.items() if d.versions])
def test_outside_its_release_range_an_entry_neither_applies_nor_shows(jax_adapter, entry_id, mode):
    """An entry whose release range excludes the installed release does not apply to its example,
    and JAX agrees with the reference there (the range is right about this release)."""
    entry, case = ENTRIES[entry_id], _example(entry_id, mode)
    _skip_unless_offered(jax_adapter, case, entry.example.api)
    version = jax_adapter.version()
    if version_in(version, entry.versions):
        pytest.skip(
            f"{dict(version.packages)} is inside {entry.versions}: test_registry.py runs it"
        )
    assert not entry.applies(case, version, entry.example.api)
    differing = _reproduces(jax_adapter, entry, case)
    assert not set(differing) & set(entry.affects), (
        f"{entry_id} is registered for {entry.versions}, but {dict(version.packages)} "
        f"differs from the reference in {differing} on its example too"
    )


def _ordinary_cases():
    """The contract test's fixed, valid inputs: one per mapped configuration and layout."""
    for spec in R.REGISTRY.values():
        for config in R.all_configs(spec):
            params, _ = R.split(spec, config)
            rng = np.random.default_rng(zlib.crc32(R.config_id(spec, config).encode()))
            for layout in shapes.layouts_for(spec.layouts, {**spec.defaults(), **params}):
                arrays = sample_arrays(spec, config, rng, layout=layout)
                try:
                    R.validate(spec.name, arrays, params)
                except R.InvalidInput:
                    continue
                cot = None
                if params["reduction"] == "none":
                    cot = rng.standard_normal(output_shape(spec, arrays, params))
                yield Case(spec.name, params, arrays, cotangent=cot)


def _ordinary_forms(adapter):
    """Each ordinary case with each native form the adapter offers for it: (case, api)."""
    for case in _ordinary_cases():
        config = R.config_of(case)
        if not isinstance(adapter.mapping(case.loss, config), NotOffered):
            yield case, None
        for api in adapter.alternatives(case.loss, config):
            yield case, api


# Entries whose predicate marks a window where rounding *can* exceed the tolerance (a difference of
# rounding errors), rather than a structural difference (NaN, a sign, a missing term): an
# application may happen to round the same way as the reference.
WINDOWED = {
    "cross_entropy/integer-labels-lse-cancellation",
    "triplet_margin_loss/hinge-tie-half-gradient",
}


# Entries that the ordinary inputs exercise (eps = 1e-6 by default; p = 1 with signed components).
ON_ORDINARY_INPUTS = {"triplet_margin_loss/eps-inside-root", "triplet_margin_loss/l1-without-abs"}


def test_entries_apply_only_where_jax_differs(jax_adapter):
    """Narrowness on ordinary valid inputs (the contract's): a structural entry diverges on every
    input it applies to; a windowed one on at least one (else it would be stale)."""
    version = jax_adapter.version()
    applied: dict[str, int] = {}
    diverged: dict[str, int] = {}
    for base, api in _ordinary_forms(jax_adapter):
        for mode in ("eager", "jit"):
            case = dataclasses.replace(base, mode=mode)
            entries = [d for d in jax_adapter.divergences() if d.applies(case, version, api)]
            if not entries:
                continue
            differing = _reproduces(jax_adapter, None, case, api)
            for d in entries:
                applied[d.id] = applied.get(d.id, 0) + 1
                if set(differing) & set(d.affects):
                    diverged[d.id] = diverged.get(d.id, 0) + 1
    # The check is not empty: these entries hold on ordinary inputs wherever their loss is offered
    # (an optax without triplet_margin_loss leaves nothing to apply).
    due = {
        d.id
        for d in jax_adapter.divergences()
        if d.id in ON_ORDINARY_INPUTS
        and version_in(version, d.versions)
        and any(
            not isinstance(jax_adapter.mapping(d.loss, c), NotOffered)
            for c in R.all_configs(R.get(d.loss))
        )
    }
    assert due <= set(applied), f"never applied to an ordinary input: {sorted(due - set(applied))}"
    if not applied:
        pytest.skip(f"no registry entry applies to an ordinary input on {dict(version.packages)}")
    problems = [
        f"{entry}: applied to {n} ordinary inputs, diverged on {diverged.get(entry, 0)}"
        for entry, n in applied.items()
        if diverged.get(entry, 0) < (1 if entry in WINDOWED else n)
    ]
    assert not problems, "\n".join(problems)


def test_lse_cancellation_covers_a_sum_rounded_one_ulp_past_the_simulation(jax_adapter):
    """jax default profile: logits (18.37, 0, −3), target 0, float64: the predicate's NumPy
    simulation of logsumexp(x) − x_y stayed inside the tolerance, XLA's result rounded one ulp of
    logsumexp further (6.58e8 ULP against 6.43e8 allowed) and was unexplained. The entry now
    applies wherever that one ulp could carry the error past the bound."""
    entry = next(d for d in JAX_REGISTRY if d.id == "cross_entropy/integer-labels-lse-cancellation")
    logits = np.array([[float.fromhex("0x1.25e4f7b2737fap+4"), 0.0, -3.0]])
    case = Case(
        "cross_entropy",
        {"ignore_index": -100, "reduction": "sum"},
        {"input": logits, "target": np.array([0])},
        "float64",
    )
    if not version_in(jax_adapter.version(), entry.versions):
        pytest.skip(f"{entry.id} is about optax {entry.versions}")
    assert entry.applies(case, jax_adapter.version())
    assert "value" in _reproduces(jax_adapter, entry, case)


@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_ntxent_float16_denominator_whose_reciprocal_overflows_is_the_underflow_entry(
    jax_adapter, mode
):
    """jax default profile: one label for all four embeddings (no negative), float16: the pair
    of orthogonal embeddings has e^(S_ij − m) = e^(−14.3) ≈ 6e−7 as its whole denominator, whose
    reciprocal (1.6e6) overflows float16 in the backward of log: gradient NaN where the
    reference's is 0. Not 0 itself, so the entry's underflow rule alone missed it."""
    entry = next(d for d in JAX_REGISTRY if d.id == "ntxent/softmax-denominator-underflow")
    case = Case(
        "ntxent",
        {"reduction": "mean", "temperature": 0.07},
        {
            "embeddings": np.array([[0, 0, 1], [0, 1, 0], [0, 0, 1], [0, 0, 1]], dtype=float),
            "labels": np.array([0, 0, 0, 0]),
        },
        "float16",
        mode=mode,
    )
    if isinstance(jax_adapter.mapping("ntxent", R.config_of(case)), NotOffered):
        pytest.skip("this optax has no ntxent")
    assert entry.applies(case, jax_adapter.version())
    assert "grad" in _reproduces(jax_adapter, entry, case)


def test_triplet_p1_float16_signed_sum_rounding_to_the_hinge_is_explained(jax_adapter):
    """jax default profile, float16 eager: anchor (4, 4, −8), positive (−½, ½, 0.5005), negative
    0. The L1 hinge is active (reference 1.0005), optax's signed sums give z = −0.5 − 0 + 0.5,
    which float16 rounds to exactly 0: value 0 (l1-without-abs) and gradients ∓½ (jnp.maximum's
    tie). The tie entry measured z against terms built from the signed sums (−0.0005 here, a
    negative size), so it never applied and the gradients were unexplained."""
    case = Case(
        "triplet_margin_loss",
        {"p": 1.0, "margin": 0.5, "reduction": "mean"},
        {
            "anchor": np.array([[4.0, 4.0, -8.0]]),
            "positive": np.array([[-0.5, 0.5, float.fromhex("0x1.004p-1")]]),
            "negative": np.zeros((1, 3)),
        },
        "float16",
        mode="eager",
    )
    if isinstance(jax_adapter.mapping(case.loss, R.config_of(case)), NotOffered):
        pytest.skip("this optax has no triplet_margin_loss")
    exp, outcome = expected(case), jax_adapter.run(case)
    comparison = compare(case, exp, outcome)
    assert comparison.verdict != "match"  # the premise: optax differs from the reference here
    judgement = Judge(jax_adapter.divergences(), jax_adapter.version()).judge(
        case, comparison, outcome, exp
    )
    assert not judgement.unexpected, comparison.detail


_CE_SHAPE_ENTRIES = {
    "index": "cross_entropy/broadcasts-mismatched-shapes",
    "log_softmax": "cross_entropy/log-softmax-broadcasts-mismatched-shapes",
}
_PROB, _SMOOTH = {"target_kind": "probability"}, {"label_smoothing": 0.1}
_P3 = np.array([0.2, 0.3, 0.5])


# (params, input, target, reduction, which entry explains it: None where optax raises). The
# conformance run's broadcastable shapes (cases/invalid.py: first dimension cut to 1, trailing 1
# added) for the (N, C) layout, and the corners of the shape replay: rank changes, the unbatched
# (C) layout, label smoothing's class count, ignore_index's where mask.
_CE_SHAPES = [
    (_PROB, _ROWS, _P3, "mean", "log_softmax"),
    (_PROB, _ROWS, _P3[None], "none", "log_softmax"),
    (_PROB, _ROWS, np.array(0.5), "sum", "log_softmax"),  # a scalar target
    (_PROB, _ROWS[:1], np.stack([_P3, _P3[::-1]]), "none", "log_softmax"),
    (_PROB, _ROWS[:1], np.stack([_P3, _P3[::-1]]), "sum", "log_softmax"),
    ({**_PROB, **_SMOOTH}, _ROWS[:1], np.stack([_P3, _P3[::-1]]), "mean", "log_softmax"),
    ({**_PROB, **_SMOOTH}, _ROWS, _P3[None], "mean", "log_softmax"),
    ({**_PROB, **_SMOOTH}, _ROWS, _P3, "mean", None),  # smooth_labels: no axis 1 in (C,)
    (_PROB, _ROWS, np.stack([_P3] * 2)[..., None], "mean", None),  # (2, 3, 1) vs (2, 3)
    (_PROB, _ROWS[0], _P3[:, None], "none", "log_softmax"),  # (C) input, (C, 1) target
    (_PROB, _ROWS[0, :1], _P3, "none", "log_softmax"),  # (1,) logits, (C,) target
    (_PROB, _ROWS[..., None], np.stack([_P3] * 2), "mean", None),  # (2, 3, 1) vs (2, 3)
    (_PROB, _ROWS, np.stack([_P3, _P3, _P3[::-1]]), "mean", None),  # batch 2 vs 3
    (_SMOOTH, _ROWS, np.array([1]), "mean", "log_softmax"),
    (_SMOOTH, _ROWS[0], np.array([1]), "none", "log_softmax"),  # one_hot at axis 0: (C, 1)
    (_SMOOTH, _ROWS, np.array([[1], [2]]), "mean", None),
    ({"ignore_index": -100}, _ROWS, np.array([1]), "mean", "index"),
    ({"ignore_index": -100}, _ROWS[:1], np.array([1, 2]), "mean", "index"),
    ({"ignore_index": -100}, _ROWS[:1], np.array([1, 2]), "none", "index"),
    ({"ignore_index": -100, **_SMOOTH}, _ROWS, np.array([1]), "none", "log_softmax"),
    # (2, 1, 1) logits, kept (2,) → where (2, 1): losses (2, 1), and jnp.mean's count needs
    # broadcast_to(kept, (2, 1)), which raises; without the mean they are computed.
    ({"ignore_index": -100, **_SMOOTH}, _ROWS[:, :1, None], np.array([0, 0]), "mean", None),
    ({"ignore_index": -100, **_SMOOTH}, _ROWS[:, :1, None], np.array([0, 0]), "sum", "log_softmax"),
    ({}, _ROWS, np.array([1]), "none", "index"),
    ({}, _ROWS[:1], np.array([1, 2, 0]), "sum", "index"),  # take_along_axis broadcasts N = 1
    ({}, _ROWS, np.array([1, 2, 0]), "mean", None),
    ({}, _ROWS, np.array([[1], [2]]), "mean", None),
    ({}, _ROWS[..., None], np.array([1, 2]), "mean", None),  # ranks 3 and 2
    ({}, _ROWS[..., None], np.array([[1, 2], [0, 1]]), "none", "index"),  # (2, 3, 1) vs (2, 2)
]


@pytest.mark.parametrize("mode", ["eager", "jit"])
@pytest.mark.parametrize(
    "params, x, target, reduction, explained",
    _CE_SHAPES,
    ids=[f"{i}" for i in range(len(_CE_SHAPES))],
)
def test_cross_entropy_shape_predicate_matches_what_jax_does(
    jax_adapter, params, x, target, reduction, explained, mode
):
    """The broadcasting entries' predicates are true exactly where optax computes instead of
    raising, and only the entry for the optax function called applies."""
    case = Case(
        "cross_entropy",
        {**params, "reduction": reduction},
        {"input": x, "target": target},
        mode=mode,
        cotangent=None,
    )
    _skip_unless_offered(jax_adapter, case)
    with pytest.raises(R.InvalidInput):
        R.validate(case.loss, case.arrays, case.params)
    version = jax_adapter.version()
    applying = {
        path
        for path, entry_id in _CE_SHAPE_ENTRIES.items()
        for d in jax_adapter.divergences()
        if d.id == entry_id and d.applies(case, version)
    }
    assert applying == ({explained} if explained else set())
    assert (jax_adapter.run(case).error is None) == (explained is not None)


SAFE = "optax.losses.safe_softmax_cross_entropy"
# Shapes where the safe form, classes moved last, parts from softmax_cross_entropy: an (N, 1)
# index target becomes (N, 1, C) one-hot rows (an outer product with (N, C) logits), and a (C,)
# probability target has no class axis 1 to move.
_SAFE_SHAPES = [
    (_SMOOTH, _ROWS, np.array([[1], [2]]), "sum"),
    (_SMOOTH, _ROWS[:1], np.array([[1], [2]]), "none"),
    (_PROB, _ROWS, np.stack([_P3] * 2)[:, None, :], "mean"),  # (2, 1, 3) vs (2, 3)
    (_PROB, _ROWS[..., None], np.stack([_P3] * 2)[..., None, None], "mean"),
]


@pytest.mark.parametrize("mode", ["eager", "jit"])
@pytest.mark.parametrize(
    "params, x, target, reduction",
    [row[:4] for row in _CE_SHAPES] + _SAFE_SHAPES,
    ids=[f"{i}" for i in range(len(_CE_SHAPES) + len(_SAFE_SHAPES))],
)
def test_safe_cross_entropy_shape_predicate_matches_what_jax_does(
    jax_adapter, params, x, target, reduction, mode
):
    """The safe form's broadcasting entry is true exactly where safe_softmax_cross_entropy
    computes instead of raising."""
    case = Case(
        "cross_entropy",
        {**params, "reduction": reduction},
        {"input": x, "target": target},
        mode=mode,
    )
    if isinstance(jax_adapter.recipe(case.loss, R.config_of(case), SAFE), NotOffered):
        pytest.skip("no safe form of this configuration")
    with pytest.raises(R.InvalidInput):
        R.validate(case.loss, case.arrays, case.params)
    entry = ENTRIES["cross_entropy/safe-broadcasts-mismatched-shapes"]
    computes = jax_adapter.run(case, api=SAFE).error is None
    assert entry.applies(case, jax_adapter.version(), SAFE) == computes


# --- jit: one compilation per (configuration, dtype, device) and shape ----------------------------


class _CompileCounter:
    """Counts XLA backend compilations and jit traces through jax.monitoring."""

    def __init__(self):
        from jax._src import dispatch  # the event names JAX records

        self.events = (dispatch.BACKEND_COMPILE_EVENT, dispatch.JAXPR_TRACE_EVENT)
        self.count = 0

    def __call__(self, event, duration, **kwargs):
        if event in self.events:
            self.count += 1

    def __enter__(self):
        import jax.monitoring

        jax.monitoring.register_event_duration_secs_listener(self)
        return self

    def __exit__(self, *exc):
        import jax.monitoring

        jax.monitoring.unregister_event_duration_listener(self)


def _focal_case(rng, n: int) -> Case:
    return Case(
        "sigmoid_focal_loss",
        {"reduction": "none"},
        {"input": rng.standard_normal((n, 3)), "target": rng.uniform(0, 1, (n, 3))},
        dtype="float32",
        mode="jit",
        cotangent=rng.standard_normal((n, 3)),
    )


def test_jit_does_not_recompile_for_the_same_shapes(jax_adapter):
    rng = np.random.default_rng(7)
    first = _focal_case(rng, 4)
    jax_adapter.run(first)  # compiles (or finds the cache warm)
    compiled = jax_adapter.compiled(first)
    cached = compiled.compilations()
    with _CompileCounter() as counter:
        for _ in range(3):
            out = jax_adapter.run(_focal_case(rng, 4))  # new values, same shapes and dtype
            assert out.error is None
    assert counter.count == 0, f"{counter.count} compilations/traces on repeated same-shape calls"
    assert compiled.compilations() == cached
    assert jax_adapter.compiled(_focal_case(rng, 4)) is compiled  # one jitted function per config

    # The counter does see a compilation: a new shape compiles once, then is cached too.
    with _CompileCounter() as counter:
        jax_adapter.run(_focal_case(rng, 5))
    assert counter.count > 0
    assert compiled.compilations() == cached + 1
    with _CompileCounter() as counter:
        jax_adapter.run(_focal_case(rng, 5))
    assert counter.count == 0


@pytest.fixture
def timing_compilations(jax_adapter):
    jax_adapter.time_compilations()
    yield jax_adapter
    jax_adapter.time_compilations(False)


def test_jit_timing_excludes_compilation(timing_compilations):
    jax_adapter = timing_compilations
    rng = np.random.default_rng(8)
    case = dataclasses.replace(_focal_case(rng, 6), loss="sigmoid_focal_loss")
    started = time.perf_counter()
    out = jax_adapter.run(case)  # a new shape: compiles inside run
    total = time.perf_counter() - started
    assert 0 < out.seconds < total / 2, (out.seconds, total)
    # the compiling call is reported whole, apart from the native one, and only once
    assert out.seconds < out.compile_seconds < total, (out.compile_seconds, total)
    assert jax_adapter.run(case).compile_seconds == 0


def test_eager_timing_excludes_the_primitives_compilation(timing_compilations):
    """An eager call compiles each primitive at a new shape: that call is the compiling one."""
    jax_adapter = timing_compilations
    rng = np.random.default_rng(9)
    case = dataclasses.replace(_focal_case(rng, 7), mode="eager", dtype="bfloat16")
    with _CompileCounter() as counter:
        out = jax_adapter.run(case)
    assert out.compile_seconds > 0  # a new signature: run twice, the first call reported
    if counter.count:  # (another test may have compiled these primitives at this shape)
        assert out.seconds < out.compile_seconds
    again = jax_adapter.run(case)
    assert again.compile_seconds == 0
    np.testing.assert_array_equal(again.value, out.value)


# --- dtypes: with x64 enabled, low-precision cases still compute in their dtype ------------------


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_low_precision_cases_compute_in_their_dtype(jax_adapter, dtype, mode):
    rng = np.random.default_rng(9)
    cases = [
        Case(
            "huber_loss",
            {"delta": 0.5, "reduction": "mean"},
            {"input": rng.standard_normal((3, 4)), "target": rng.standard_normal((3, 4))},
        ),
        Case(
            "cross_entropy",
            {"label_smoothing": 0.1, "ignore_index": -100, "reduction": "sum"},
            {
                "input": rng.standard_normal((3, 4, 2)),
                "target": np.array([[0, 1], [2, -100], [3, 3]]),
            },
        ),
        Case(
            "cross_entropy",
            {"reduction": "sum"},
            {"input": rng.standard_normal((3, 4, 2)), "target": np.array([[0, 1], [2, 2], [3, 3]])},
        ),
        Case(
            "kl_div",
            {"reduction": "batchmean"},
            {"input": -rng.exponential(1.0, (3, 4)), "target": rng.uniform(0, 1, (3, 4))},
        ),
    ]
    import jax.numpy as jnp

    want = jnp.dtype(dtype)
    # (an older optax offers no label smoothing or ignore_index: the plain cross_entropy stays)
    offered = [
        c for c in cases if not isinstance(jax_adapter.mapping(c.loss, R.config_of(c)), NotOffered)
    ]
    assert len(offered) >= 3
    for case in offered:
        case = dataclasses.replace(case, dtype=dtype, mode=mode)
        # The native result itself is in the case's dtype (not float64 from x64 promotion) ...
        compiled = jax_adapter.compiled(case)
        arrays = case.rounded()
        args = [
            jnp.asarray(arrays[n], dtype=jnp.int64 if arrays[n].dtype.kind == "i" else want)
            for n in compiled.names
        ]
        value, grads = compiled.value_and_grads(*args, None)
        assert value.dtype == want, (case.loss, value.dtype)
        assert all(g.dtype == want for g in grads.values()), (case.loss, grads)
        # ... and what run returns holds numbers of that dtype, which float64 arithmetic rarely
        # produces: the float64 reference is not representable in it.
        out = jax_adapter.run(case)
        assert out.error is None, out.error
        for got in (out.value, *out.grads.values()):
            assert np.array_equal(R.round_to(got, dtype), got), (case.loss, got)
        expected = R.evaluate(case.loss, arrays, case.params)
        assert not np.array_equal(R.round_to(expected, dtype), expected)
        assert out.value != expected


def test_the_outcome_reports_the_dtypes_jax_returned(jax_adapter):
    """Result fidelity is compared generically (cases.compare's failed part "dtype"): the
    adapter reports the value's and each gradient's dtype as JAX returned them."""
    for dtype in ("float32", "bfloat16"):
        case = R.Case(
            "mse_loss",
            {"reduction": "mean"},
            {"input": np.array([0.5, 1.0]), "target": np.array([0.0, 0.25])},
            dtype,
        )
        out = jax_adapter.run(case)
        assert out.value_dtype == dtype
        assert out.grad_dtypes == {"input": dtype, "target": dtype}


def test_x64_is_enabled(jax_adapter):
    import jax

    assert jax.config.jax_enable_x64


# --- the rest of the adapter surface -------------------------------------------------------------


def test_every_catalogue_loss_has_a_mapping_entry(jax_adapter):
    from adapters import jax_adapter as module

    assert set(module.MAPPINGS) == set(R.REGISTRY)


def test_versions_name_jax_jaxlib_and_optax(jax_adapter):
    import jax
    import optax

    versions = jax_adapter.versions()
    assert set(versions) == {"jax", "jaxlib", "optax"}
    assert versions["jax"] == jax.__version__ == jax_adapter.version()
    assert versions["optax"] == optax.__version__


def test_devices_without_a_gpu_backend(jax_adapter, monkeypatch):
    import jax

    real = jax.devices

    def devices(backend=None):
        if backend == "gpu":
            raise RuntimeError("Unknown backend: 'gpu' requested")
        return real(backend)

    monkeypatch.setattr(jax, "devices", devices)
    assert jax_adapter.devices() == ["cpu"]


def test_devices_name_gpus_as_cuda(jax_adapter, monkeypatch):
    import jax

    real = jax.devices
    monkeypatch.setattr(
        jax, "devices", lambda backend=None: ["g0", "g1"] if backend == "gpu" else real(backend)
    )
    assert jax_adapter.devices() == ["cpu", "cuda:0", "cuda:1"]


def test_not_offered_run_returns_the_reason_as_data(jax_adapter):
    case = Case("l1_loss", {"reduction": "mean"}, {"input": _a(1.0), "target": _a(2.0)})
    out = jax_adapter.run(case)
    assert out.value is None and out.error.type == "NotOffered" and "absolute" in out.error.message


def test_exception_comes_back_as_data(jax_adapter):
    case = Case("mse_loss", {"reduction": "mean"}, {"input": np.ones(3), "target": np.ones(4)})
    for mode in ("eager", "jit"):
        out = jax_adapter.run(dataclasses.replace(case, mode=mode))
        # optax 0.2.8 raises ValueError (its own shape check), 0.2.4 AssertionError (chex's)
        assert out.value is None and out.error.type in ("ValueError", "AssertionError")
        assert "shape" in out.error.message.lower()


@pytest.mark.parametrize("mode", ["eager", "jit"])
@pytest.mark.parametrize(
    "params",
    [{"ignore_index": -100, "label_smoothing": 0.1}, {}],
    ids=["ignore+smoothing", "plain"],
)
def test_snippet_reproduces_a_jit_index_target_run(jax_adapter, mode, params):
    case = Case(
        "cross_entropy",
        {**params, "reduction": "none"},
        {
            "input": _RNG.standard_normal((3, 4, 2)),
            "target": np.array([[0, 1], [2, params.get("ignore_index", 1)], [3, 3]]),
        },
        dtype="float32",
        mode=mode,
        cotangent=_RNG.standard_normal((3, 2)),
    )
    _skip_unless_offered(jax_adapter, case)
    source = jax_adapter.snippet(case)
    assert ("jax.jit(value_and_grads)" in source) == (mode == "jit")
    scope = {"arrays": case.rounded(), "cotangent": case.cotangent}
    exec(source, scope)
    out = jax_adapter.run(case)
    assert np.array_equal(scope["value"], out.value)
    assert scope["grads"].keys() == out.grads.keys()
    assert all(np.array_equal(scope["grads"][k], out.grads[k]) for k in out.grads)


def test_mapping_declares_its_compositions(jax_adapter):
    mean = jax_adapter.mapping("huber_loss", {"delta": 0.5, "reduction": "mean"})
    assert mean.call == "jnp.mean(optax.losses.huber_loss(input, target, delta=0.5))"
    assert "jnp.mean" in mean.composition
    assert jax_adapter.mapping("huber_loss", {"reduction": "none"}).composition is None
    smooth = jax_adapter.mapping("smooth_l1_loss", {"beta": 1.0, "reduction": "sum"})
    assert smooth.conversions and "huber_loss" in smooth.call
    assert isinstance(jax_adapter.mapping("smooth_l1_loss", {"beta": 0.5}), NotOffered)
    assert isinstance(jax_adapter.mapping("cross_entropy", {"weight": True}), NotOffered)
    ce = jax_adapter.mapping("cross_entropy", {"ignore_index": -100, "label_smoothing": 0.1})
    if isinstance(ce, NotOffered):  # an older optax (see the feature-detection tests)
        assert _names_the_release(jax_adapter, ce.reason), ce.reason
        return
    assert "optax.smooth_labels" in ce.call and "where=kept" in ce.call
    assert "smooth_labels" in ce.composition and "where=kept" in ce.composition


def test_a_subnormal_label_is_a_hard_label_on_cpu(jax_adapter):
    """Denormals-are-zero on CPU: a float64 label of 1e-310 is 0 to JAX, so the focal-loss entry
    (hard labels) must apply to it, and JAX must differ there (hypothesis found this one)."""
    case = Case(
        "sigmoid_focal_loss", {"reduction": "sum"}, {"input": _a(0.0), "target": _a(1e-310)}
    )
    entry = next(
        d for d in jax_adapter.divergences() if d.id == "sigmoid_focal_loss/hard-label-target-grad"
    )
    if not version_in(jax_adapter.version(), entry.versions):
        pytest.skip(f"{entry.id} holds for {entry.versions}")
    assert entry.applies(case, jax_adapter.version())
    assert "grad" in _reproduces(jax_adapter, entry, case)


# --- the mapping follows the installed release (feature detection) -------------------------------


def test_a_call_the_release_lacks_is_not_offered_naming_the_release(jax_adapter):
    import optax

    from adapters import jax_adapter as module

    release = f"optax {optax.__version__}"
    missing = module.offered(module.Recipe("jnp.mean(optax.losses.no_such_loss(input, target))"))
    assert missing == NotOffered(f"{release} has no optax.losses.no_such_loss")
    keyword = module.offered(module.Recipe("optax.losses.huber_loss(input, target, bogus=1.0)"))
    assert keyword == NotOffered(f"{release}'s huber_loss has no bogus argument")
    positional = module.offered(module.Recipe("optax.losses.log_cosh(input, target, 1.0, 2.0)"))
    assert isinstance(positional, NotOffered) and "positional" in positional.reason
    # in a setup line too, and for jax's own functions
    setup = module.Recipe("jnp.sum(x)", setup=("x = jax.nn.one_hot(target, 3, bogus=1)",))
    assert module.offered(setup) == NotOffered(
        f"jax {module.jax.__version__}'s one_hot has no bogus argument"
    )
    fine = module.Recipe("jnp.mean(optax.losses.huber_loss(input, target, delta=0.5))")
    assert module.offered(fine) is fine


def test_label_smoothing_is_offered_exactly_where_smooth_labels_takes_axis(jax_adapter):
    import inspect

    import optax

    takes_axis = "axis" in inspect.signature(optax.smooth_labels).parameters
    for target_kind in ("index", "probability"):
        config = {"target_kind": target_kind, "label_smoothing": 0.1}
        mapped = jax_adapter.mapping("cross_entropy", config)
        if takes_axis:
            assert "smooth_labels" in mapped.call and "axis=class_axis" in mapped.call
        else:
            assert mapped == NotOffered(
                f"optax {optax.__version__}'s smooth_labels has no axis argument"
            )


def test_ignore_index_is_offered_exactly_where_optax_masks_items(jax_adapter):
    """The probe is what the mapping relies on: optax ≥ 0.2.6 takes a per-item where= (and gives
    a masked item 0), 0.2.4 reads where= as a mask of the logits' elements and rejects it."""
    import jax.numpy as jnp
    import optax

    from adapters import jax_adapter as module

    logits, labels = jnp.zeros((2, 3)), jnp.array([0, 1])
    kept = jnp.array([True, False])
    try:
        masked = optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels, where=kept)
        per_item = masked.shape == (2,) and float(masked[1]) == 0.0
    except Exception:
        per_item = False
    assert module._cross_entropy_masks_items() == per_item
    mapped = jax_adapter.mapping("cross_entropy", {"ignore_index": -100})
    if per_item:
        assert "where=kept" in mapped.call
    else:
        assert isinstance(mapped, NotOffered) and f"optax {optax.__version__}" in mapped.reason


def test_triplet_margin_loss_is_offered_where_optax_has_it(jax_adapter):
    import optax

    mapped = jax_adapter.mapping("triplet_margin_loss", {"p": 2.0, "swap": False})
    if hasattr(optax.losses, "triplet_margin_loss"):
        assert "optax.losses.triplet_margin_loss" in mapped.call
    else:
        assert mapped == NotOffered(
            f"optax {optax.__version__} has no optax.losses.triplet_margin_loss"
        )
    # torch's swap=True is written as such, and no optax release takes it
    swap = jax_adapter.mapping("triplet_margin_loss", {"swap": True})
    assert isinstance(swap, NotOffered) and f"optax {optax.__version__}" in swap.reason


def test_version_carries_jaxlib_and_optax_for_the_registry(jax_adapter):
    import optax

    version = jax_adapter.version()
    assert version == jax_adapter.versions()["jax"]
    assert version.packages["optax"] == optax.__version__
    assert version_in(version, f"optax=={optax.__version__}")
    assert not version_in(version, f"optax!={optax.__version__}")
