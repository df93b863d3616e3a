"""TensorFlow adapter (tf.nn): the registry is narrow, jit traces once per shape, identity.

Every entry of ``adapters.known.tensorflow`` carries its own example, which
``tests/adapters/test_registry.py`` runs; ``test_every_entry_has_an_example`` makes sure none
lacks one.
"""

import subprocess
import sys

import numpy as np
import pytest

import reference as R
from cases.sampling import output_shape, sample_arrays
from reference import Case, shapes
from reference.configs import config_of


@pytest.fixture(scope="module")
def tf_adapter(adapter):
    if adapter.name != "tensorflow":
        pytest.skip("TensorFlow adapter tests (--framework tensorflow)")
    return adapter


# --- building examples ----------------------------------------------------------------------------


def make_case(
    loss: str,
    params: dict | None = None,
    layout: str | None = None,
    present: tuple[str, ...] = (),
    dtype: str = "float64",
    mode: str = "eager",
    seed: int = 0,
) -> Case:
    """Valid arrays for ``loss`` in ``layout`` (sampled from the domains), with a cotangent when
    the reduction is ``none``."""
    spec = R.get(loss)
    params = dict(params or {})
    config = config_of(spec, params, set(present))
    full = {**spec.defaults(), **params}
    chosen = next(
        (lay for lay in shapes.layouts_for(spec.layouts, full) if lay.name == layout), None
    )
    rng = np.random.default_rng(seed)
    arrays = sample_arrays(spec, config, rng, layout=chosen)
    cotangent = None
    if full["reduction"] == "none":
        cotangent = rng.standard_normal(output_shape(spec, arrays, params))
    return Case(loss, params, arrays, dtype, "cpu", mode, cotangent)


INDEX = {"target_kind": "index"}


# --- comparing with the reference -----------------------------------------------------------------


def _same(got, expected, dtype: str = "float64") -> bool:
    """Equal up to rounding: 1e-9 relative in float64, 16 units of the dtype's epsilon (relative
    to the largest finite expected magnitude) otherwise; NaN only matches NaN."""
    got, expected = np.asarray(got, float), np.asarray(expected, float)
    if got.shape != expected.shape:
        return False
    if dtype == "float64":
        return bool(np.allclose(got, expected, rtol=1e-9, atol=1e-12, equal_nan=True))
    tol = 16 * R.FORMATS[dtype].eps
    finite = expected[np.isfinite(expected)]
    scale = float(np.max(np.abs(finite))) if finite.size else 1.0
    return bool(np.allclose(got, expected, rtol=tol, atol=tol * scale, equal_nan=True))


def differences(adapter, case: Case) -> set[str]:
    """The parts in which TensorFlow differs from the reference on ``case``."""
    try:
        expected, expected_grads = R.value_and_vjp(
            case.loss, case.rounded(), case.params, case.rounded_cotangent()
        )
    except R.InvalidInput:
        expected = None
    out = adapter.run(case)
    if (expected is None) != (out.error is not None):
        return {"error"}
    if expected is None:
        return set()
    found = set()
    if not _same(out.value, expected, case.dtype):
        found.add("value")
    if any(not _same(g, expected_grads[name], case.dtype) for name, g in out.grads.items()):
        found.add("grad")
    return found


# --- tests ---------------------------------------------------------------------------------------


def test_every_entry_has_an_example(tf_adapter):
    """tests/adapters/test_registry.py runs each entry on its example: none may lack one."""
    missing = [d.id for d in tf_adapter.divergences() if d.example is None]
    assert not missing, f"entries without an example: {missing}"


def test_a_valid_float64_example_agrees_and_no_entry_applies(tf_adapter):
    """The registry is narrow: on an ordinary input nothing applies, and TF agrees."""
    case = make_case("binary_cross_entropy_with_logits", {}, "(N, C)", present=("pos_weight",))
    assert not [d.id for d in tf_adapter.divergences() if d.applies(case, tf_adapter.version())]
    assert differences(tf_adapter, case) == set()


def test_jit_traces_once_per_shape(tf_adapter):
    first = make_case("cross_entropy", INDEX, "(N, C)", mode="jit", seed=1)
    same_shape = make_case("cross_entropy", INDEX, "(N, C)", mode="jit", seed=2)
    other_shape = make_case("cross_entropy", INDEX, "(N, C, d1)", mode="jit", seed=3)
    before = tf_adapter.traces(first)
    tf_adapter.run(first)
    after_first = tf_adapter.traces(first)
    out = tf_adapter.run(same_shape)
    assert out.error is None
    assert tf_adapter.traces(same_shape) == after_first <= before + 1
    tf_adapter.run(other_shape)
    assert tf_adapter.traces(other_shape) == after_first + 1


def test_jit_and_eager_agree_on_valid_input(tf_adapter):
    eager = make_case("binary_cross_entropy_with_logits", {}, "(N, C)", present=("pos_weight",))
    jit = Case(eager.loss, eager.params, eager.arrays, mode="jit")
    a, b = tf_adapter.run(eager), tf_adapter.run(jit)
    assert _same(a.value, b.value) and a.grads.keys() == b.grads.keys() == {"input", "target"}
    assert all(_same(a.grads[k], b.grads[k]) for k in a.grads)


def test_versions_name_tensorflow_only(tf_adapter):
    """keras.losses is the keras adapter's: Keras' version is not part of a tf.nn run."""
    import tensorflow as tf

    assert tf_adapter.versions() == {"tensorflow": tf.__version__}


@pytest.mark.parametrize("loss", list(R.REGISTRY))
def test_every_native_call_is_a_tf_op(tf_adapter, loss):
    """One API family per column: TensorFlow's own ops, never keras.losses."""
    for config in R.all_configs(R.get(loss)):
        native = tf_adapter.mapping(loss, config)
        if hasattr(native, "call"):
            assert native.call.startswith(("tf.nn.", "tf.reduce_")), native.call
            assert "keras" not in native.call


def test_devices_are_canonical(tf_adapter):
    devices = tf_adapter.devices()
    assert devices[0] == "cpu"
    assert all(d == "cpu" or d.startswith("cuda:") for d in devices)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_values_come_back_as_float64_in_the_tested_dtype(tf_adapter, dtype):
    case = make_case("soft_margin_loss", {"reduction": "none"}, "(N)", dtype=dtype)
    out = tf_adapter.run(case)
    assert out.value.dtype == np.float64
    assert np.array_equal(out.value, R.round_to(out.value, dtype))  # a value of that dtype


def test_snippet_reproduces_a_jit_run_with_gradients(tf_adapter):
    case = make_case(
        "cross_entropy", {"target_kind": "probability"}, "(N, C)", mode="jit", dtype="float32"
    )
    scope = {"np": np, "arrays": case.rounded(), "cotangent": case.rounded_cotangent()}
    exec(tf_adapter.snippet(case), scope)
    run = tf_adapter.run(case)
    assert scope["error"] is None
    assert _same(scope["value"], run.value)
    assert scope["grads"].keys() == run.grads.keys() == {"input", "target"}
    assert all(_same(scope["grads"][k], run.grads[k]) for k in run.grads)


def test_not_offered_runs_come_back_as_data(tf_adapter):
    case = make_case("cross_entropy", {**INDEX, "weight": None}, "(N, C)", present=("weight",))
    out = tf_adapter.run(case)
    assert out.value is None and out.error.type == "NotOffered"


def test_jit_errors_are_reported_without_the_traceback(tf_adapter):
    case = make_case("cross_entropy", INDEX, "(N, C)", mode="jit")
    # a target of the wrong rank: tf.nn rejects it at trace time
    bad = Case(case.loss, case.params, {**case.arrays, "target": case.arrays["target"][:, None]})
    out = tf_adapter.run(Case(bad.loss, bad.params, bad.arrays, mode="jit"))
    assert out.error is not None and "in user code" not in out.error.message
    assert "\n" not in out.error.message


def test_known_registry_imports_no_framework():
    code = "import sys, adapters.known.tensorflow; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
