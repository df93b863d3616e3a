"""The adapter contract, checked for the selected framework on fixed float64 inputs.

Every catalogue loss × configuration is either mapped to a native call or ``not-offered`` with a
reason; every mapped one is run on fixed inputs in every layout and compared with the reference in
float64. A difference must be explained by an entry of the adapter's divergence registry.
"""

import dataclasses
import subprocess
import sys
import time
import zlib

import numpy as np
import pytest

import reference as R
from adapters import Native, NotOffered, Outcome
from cases.sampling import output_shape, sample_arrays
from reference import Case, shapes

ALL = [(spec.name, config) for spec in R.REGISTRY.values() for config in R.all_configs(spec)]
IDS = [R.config_id(R.get(name), config) for name, config in ALL]


def _close(got, expected) -> bool:
    got, expected = np.asarray(got, float), np.asarray(expected, float)
    if got.shape != expected.shape:
        return False
    return bool(np.allclose(got, expected, rtol=1e-9, atol=1e-12, equal_nan=True))


def _explained(adapter, case: Case, part: str) -> bool:
    return any(
        d.applies(case, adapter.version()) and part in d.affects for d in adapter.divergences()
    )


def _cases(spec, config):
    """One fixed case per layout the configuration allows, seeded by the configuration id."""
    params, _ = R.split(spec, config)
    seed = zlib.crc32(R.config_id(spec, config).encode())
    rng = np.random.default_rng(seed)
    for layout in shapes.layouts_for(spec.layouts, {**spec.defaults(), **params}):
        arrays = sample_arrays(spec, config, rng, layout=layout)
        try:
            R.validate(spec.name, arrays, params)
        except R.InvalidInput:
            continue  # an optional array this layout cannot hold
        cot = None
        if params["reduction"] == "none":
            cot = rng.standard_normal(output_shape(spec, arrays, params))
        yield layout.name, Case(spec.name, params, arrays, "float64", "cpu", "eager", cot)


def test_adapters_package_imports_no_framework():
    code = "import sys, adapters; print(sorted({'torch','tensorflow','jax'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_identity(adapter):
    assert adapter.name
    assert adapter.version()
    devices = adapter.devices()
    assert devices[0] == "cpu"
    assert "eager" in adapter.modes
    assert set(adapter.dtypes) <= set(R.DTYPES)


@pytest.mark.parametrize("loss, config", ALL, ids=IDS)
def test_config_is_mapped_or_not_offered_with_reason(adapter, loss, config):
    mapped = adapter.mapping(loss, config)
    assert isinstance(mapped, (Native, NotOffered))
    if isinstance(mapped, NotOffered):
        assert len(mapped.reason) > 10, "a not-offered mapping needs a reason a user can act on"
    else:
        assert mapped.call.strip()


@pytest.mark.parametrize("loss, config", ALL, ids=IDS)
def test_mapped_config_agrees_with_reference_in_float64(adapter, loss, config):
    spec = R.get(loss)
    if isinstance(adapter.mapping(loss, config), NotOffered):
        pytest.skip("not offered")
    problems = []
    for layout, case in _cases(spec, config):
        expected, expected_grads = R.value_and_vjp(loss, case.arrays, case.params, case.cotangent)
        out = adapter.run(case)
        assert isinstance(out, Outcome)
        if out.error is not None:
            if not _explained(adapter, case, "error"):
                problems.append(f"{layout}: raised {out.error.type}: {out.error.message}")
            continue
        if not _close(out.value, expected) and not _explained(adapter, case, "value"):
            problems.append(
                f"{layout}: value {np.asarray(out.value).ravel()[:4]} "
                f"!= reference {np.asarray(expected).ravel()[:4]}"
            )
        for name, grad in out.grads.items():
            if not _close(grad, expected_grads[name]) and not _explained(adapter, case, "grad"):
                problems.append(
                    f"{layout}: grad {name} {np.asarray(grad).ravel()[:4]} "
                    f"!= reference {expected_grads[name].ravel()[:4]}"
                )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("bad", ["C", "-1"])
def test_out_of_range_class_index_comes_back_as_data(adapter, loss, bad):
    n_classes = 3
    target = np.array([0, n_classes if bad == "C" else -1])
    arrays = {"input": np.log(np.full((2, n_classes), 1 / 3)), "target": target}
    case = Case(loss, {"reduction": "mean"}, arrays)
    out = adapter.run(case)  # must not raise
    assert (out.error is None) != (out.value is None)


def _first_offered(adapter, losses):
    for loss in losses:
        spec = R.get(loss)
        for config in R.all_configs(spec):
            if not isinstance(adapter.mapping(loss, config), NotOffered):
                return spec, config
    pytest.fail(f"{adapter.name} offers none of {losses}")


def _snippet_matches_run(adapter, spec, config, **api):
    # the first layout the framework computes (Keras rejects the scalar one)
    case, outcome = next(
        (c, out) for _, c in _cases(spec, config) if (out := adapter.run(c, **api)).error is None
    )
    scope = {"np": np, "arrays": case.rounded(), "cotangent": case.cotangent}
    exec(adapter.snippet(case, **api), scope)
    assert np.array_equal(np.asarray(scope["value"], float), outcome.value)
    for name, grad in outcome.grads.items():
        assert np.array_equal(np.asarray(scope["grads"][name], float), grad)


def test_snippet_reproduces_the_run(adapter):
    # tf.nn has no mse: its first offered loss then
    spec, config = _first_offered(adapter, ["mse_loss", "binary_cross_entropy_with_logits"])
    _snippet_matches_run(adapter, spec, config)


def test_every_alternative_native_form_runs_and_its_snippet_reproduces_it(adapter):
    """Several native forms of one configuration (adapter.alternatives): each runs, with its own
    mapping-table call, and its reproducer runs exactly it."""
    found = 0
    for spec in R.REGISTRY.values():
        for config in R.all_configs(spec):
            for api, native in adapter.alternatives(spec.name, config).items():
                assert native.call and api.split(".")[-1] in native.call
                if found < 3 and config.get("reduction") == "none":
                    _snippet_matches_run(adapter, spec, config, api=api)
                    found += 1
    if not found:
        pytest.skip(f"{adapter.name} offers one native form per configuration")


def test_a_loss_the_adapter_does_not_map_is_not_offered(adapter, monkeypatch):
    """A loss registered after the adapter's tables were written (a new loss nobody has mapped
    yet) is not-offered in mapping, run and snippet: no table entry needed, no KeyError."""
    spec = dataclasses.replace(R.get("mse_loss"), name="unmapped_loss")
    monkeypatch.setitem(R.REGISTRY, spec.name, spec)
    for config in R.all_configs(spec):
        mapped = adapter.mapping(spec.name, config)
        assert isinstance(mapped, NotOffered) and "no native form" in mapped.reason
    arrays = {"input": np.array([0.5, 1.5]), "target": np.array([1.0, 1.0])}
    case = Case(spec.name, {"reduction": "mean"}, arrays)
    out = adapter.run(case)
    assert out.value is None and out.error.type == "NotOffered"
    assert "no native form" in out.error.message
    snippet = adapter.snippet(case)
    assert snippet.startswith("# ") and "no native form" in snippet


def test_tensorflow_errors_are_recorded_without_the_graph_counter():
    """A tf.function's graph name carries a counter of every function the process traced, which
    differs between a serial run and two workers: the recorded message holds ``<n>`` there, and
    keeps the rest (the trace's last line, the kernel tag removed)."""
    from adapters.base import tensorflow_error

    class InvalidArgumentError(Exception):
        pass

    kernel = InvalidArgumentError(
        "{{function_node __wrapped__Foo}} Detected unsupported operations when trying to compile "
        "graph __inference_forward_93044[_XlaMustCompile=true] on XLA_CPU_JIT: CTCLoss "
        "[Op:__inference_forward_93044]"
    )
    error = tensorflow_error(kernel)
    assert error.type == "InvalidArgumentError"
    assert error.message == (
        "Detected unsupported operations when trying to compile graph "
        "__inference_forward_<n>[_XlaMustCompile=true] on XLA_CPU_JIT: CTCLoss "
        "[Op:__inference_forward_<n>]"
    )
    traced = ValueError("in user code:\n\n    File x.py, line 3\n\n    ValueError: shapes differ")
    assert tensorflow_error(traced).message == "shapes differ"
    assert tensorflow_error(ValueError("__inference_x_12ab")).message == "__inference_x_12ab"


def test_first_calls_report_a_new_signature_s_first_call_as_compiling():
    """A first call at a signature runs twice: the second is the native time and its result is
    returned, the first is the compiling call; a seen signature, or None, runs once."""
    from adapters.base import FirstCalls

    calls = []

    def call():
        calls.append(len(calls))
        return len(calls)

    first_calls = FirstCalls(enabled=True)
    result, seconds, compiling = first_calls.run(call, ("f", (3,), "float32"))
    assert (result, len(calls)) == (2, 2) and seconds >= 0 and compiling > 0
    result, seconds, compiling = first_calls.run(call, ("f", (3,), "float32"))
    assert (result, len(calls), compiling) == (3, 3, 0.0)
    assert first_calls.run(call, None)[2] == 0.0 and len(calls) == 4


def test_first_calls_run_again_after_a_raising_first_call():
    from adapters.base import FirstCalls

    first_calls = FirstCalls(enabled=True)

    def fails():
        raise ValueError("traced and raised")

    with pytest.raises(ValueError):
        first_calls.run(fails, "sig")
    assert first_calls.run(lambda: 1, "sig")[2] > 0  # not yet seen: it still compiles


def test_first_calls_run_once_unless_enabled():
    """Off (the default, outside ``--timings``), a new signature's call runs once and reports no
    compiling call: its whole time is the native time."""
    from adapters.base import FirstCalls

    calls = []
    result, seconds, compiling = FirstCalls().run(lambda: calls.append(1) or len(calls), "sig")
    assert (result, len(calls), compiling) == (1, 1, 0.0) and seconds > 0


@pytest.fixture
def timing_compilations(adapter):
    adapter.time_compilations()
    yield adapter
    adapter.time_compilations(False)


def test_compiling_calls_are_reported_once_per_signature(timing_compilations):
    """In a mode that compiles per shape, the first call at new shapes reports its compiling
    call; the same shapes again report none and the same numbers."""
    adapter = timing_compilations
    loss, config = next(
        (loss, config) for loss, config in ALL if isinstance(adapter.mapping(loss, config), Native)
    )
    spec = R.get(loss)
    params, _ = R.split(spec, config)
    # a batch of 7: a size no other test of this module runs, so the shapes are new here
    arrays = sample_arrays(spec, config, np.random.default_rng(11), sizes={"N": 7})
    for mode in adapter.modes:
        case = Case(loss, params, arrays, dtype="float32", mode=mode)
        if params.get("reduction") == "none":
            case = dataclasses.replace(case, cotangent=np.ones(output_shape(spec, arrays, params)))
        first, again = adapter.run(case), adapter.run(case)
        assert first.error is None, first.error
        assert (first.compile_seconds > 0) == adapter.compiles_per_shape(mode), mode
        assert again.compile_seconds == 0, mode
        np.testing.assert_array_equal(again.value, first.value)


def test_first_calls_keep_the_seconds_of_a_call_that_raised():
    from adapters.base import FirstCalls

    first_calls = FirstCalls()

    def slow_failure():
        deadline = time.perf_counter() + 0.01
        while time.perf_counter() < deadline:
            pass
        raise ValueError("raised after 10 ms")

    with pytest.raises(ValueError):
        first_calls.run(slow_failure, None)
    assert first_calls.raised_seconds >= 0.01
    # the forward-only call after it: its result or its exception, and both calls' seconds
    assert first_calls.after_raise(lambda: 7)[:2] == (7, None)
    value, error, seconds = first_calls.after_raise(slow_failure)
    assert value is None and isinstance(error, ValueError) and seconds >= 0.02


def test_a_call_that_raised_reports_its_native_seconds(adapter):
    """The framework's work on an input it rejects (tracing, raising, formatting its error) is
    native time, in the benchmark as for a call that returns."""
    from cases.invalid import changes_shape, invalid_cases

    raised = []
    for loss, config in ALL:  # the first mapped configuration whose broken shapes raise
        if isinstance(adapter.mapping(loss, config), Native):
            for case in invalid_cases(R.get(loss), config, "float32"):
                out = adapter.run(case) if changes_shape(case) else None
                if out is not None and (out.error is not None or out.grad_errors):
                    raised.append(out)
        if raised:
            break
    assert raised, f"no shape-breaking invalid case raised in {adapter.name}"
    assert all(out.seconds > 0 for out in raised)
