"""Keras adapter, on whichever backend KERAS_BACKEND names: the registry is narrow and scoped by
backend, the compiled mode agrees with eager, identity names the backend, the reproducer is the run.

Every entry of ``adapters.known.keras`` carries its own example, which
``tests/adapters/test_registry.py`` runs on the installed backend; run it once per backend (tox's
keras-tensorflow, keras-jax, keras-torch) to reproduce every entry on every backend it names.
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
def keras_adapter(adapter):
    if adapter.name != "keras":
        pytest.skip("Keras adapter tests (--framework keras)")
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
SMOOTH = {"target_kind": "index", "label_smoothing": 0.1}


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


def test_every_entry_has_an_example(keras_adapter):
    """tests/adapters/test_registry.py runs each entry on its example: none may lack one."""
    missing = [d.id for d in keras_adapter.divergences() if d.example is None]
    assert not missing, f"entries without an example: {missing}"


# Keras computes float64 in float32 on the JAX and torch backends (the registry's
# <loss>/keras-float64-mean-in-float32): there the ordinary example is float32.
ORDINARY_DTYPE = {"tensorflow": "float64", "jax": "float32", "torch": "float32"}


def test_a_valid_example_agrees_and_no_entry_applies(keras_adapter):
    """The registry is narrow: on an ordinary input nothing applies, and the backend agrees."""
    dtype = ORDINARY_DTYPE[keras_adapter.backend]
    case = make_case("huber_loss", {"delta": 0.5}, "(N, D)", dtype=dtype)
    assert not [
        d.id for d in keras_adapter.divergences() if d.applies(case, keras_adapter.version())
    ]
    assert differences(keras_adapter, case) == set()


def test_float64_in_float32_is_registered_where_it_happens(keras_adapter):
    """The same example in float64: only the backends that compute it in float32 differ, and
    their float64 entries (and nothing else) apply."""
    case = make_case("huber_loss", {"delta": 0.5}, "(N, D)")
    applied = [
        d.id for d in keras_adapter.divergences() if d.applies(case, keras_adapter.version())
    ]
    if keras_adapter.backend == "tensorflow":
        assert not applied and differences(keras_adapter, case) == set()
    else:
        expected = ["huber_loss/keras-float64-mean-in-float32"]
        if keras_adapter.backend == "torch":  # the mean also comes back float32 there
            expected.append("*/keras-torch-float64-mean-returns-float32")
        assert applied == expected
        assert differences(keras_adapter, case) == {"value", "grad"}


def test_jit_and_eager_agree_on_valid_input(keras_adapter):
    if "jit" not in keras_adapter.modes:
        pytest.skip(f"no compiled mode on the {keras_adapter.backend} backend")
    eager = make_case("huber_loss", {"delta": 0.5}, "(N, D)")
    jit = Case(eager.loss, eager.params, eager.arrays, mode="jit")
    a, b = keras_adapter.run(eager), keras_adapter.run(jit)
    assert _same(a.value, b.value) and a.grads.keys() == b.grads.keys() == {"input", "target"}
    assert all(_same(a.grads[k], b.grads[k]) for k in a.grads)


def test_identity_names_keras_its_backend_and_their_versions(keras_adapter):
    import importlib
    import os

    import keras

    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    version = importlib.import_module(backend).__version__
    assert keras_adapter.version() == keras.__version__
    assert keras_adapter.identity() == {"backend": backend, "backend_version": version}
    assert keras_adapter.versions() == {"keras": keras.__version__, backend: version}


def test_backend_scoped_entries_hold_on_their_backends_only(keras_adapter):
    from adapters.known import keras as registry

    ids = {entry.id for entry in keras_adapter.divergences()}
    for entry in registry.DIVERGENCES:
        backends = registry.backends_of(entry.id)
        assert (entry.id in ids) == (keras_adapter.backend in backends), entry.id
    scoped = [e for e in keras_adapter.divergences() if e.id in registry.BACKENDS]
    assert all(keras_adapter.backend in e.inputs_text for e in scoped)


@pytest.mark.parametrize("loss", list(R.REGISTRY))
def test_every_native_call_is_keras_losses(keras_adapter, loss):
    """One API family per column: keras.losses (with keras.ops around it), nothing else."""
    for config in R.all_configs(R.get(loss)):
        natives = [keras_adapter.mapping(loss, config)]
        natives += keras_adapter.alternatives(loss, config).values()
        for native in natives:
            if hasattr(native, "call"):
                assert "keras.losses." in native.call and "tf." not in native.call, native.call


def test_devices_are_canonical(keras_adapter):
    devices = keras_adapter.devices()
    assert devices[0] == "cpu"
    assert all(d == "cpu" or d.startswith("cuda:") for d in devices)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_values_come_back_as_float64_in_the_tested_dtype(keras_adapter, dtype):
    case = make_case("mse_loss", {"reduction": "none"}, "(N)", dtype=dtype)
    out = keras_adapter.run(case)
    assert out.value.dtype == np.float64
    assert np.array_equal(out.value, R.round_to(out.value, dtype))  # a value of that dtype


def test_snippet_reproduces_a_compiled_run_with_gradients(keras_adapter):
    mode = "jit" if "jit" in keras_adapter.modes else "eager"
    case = make_case("cross_entropy", SMOOTH, "(N, C)", mode=mode, dtype="float32")
    scope = {"np": np, "arrays": case.rounded(), "cotangent": case.rounded_cotangent()}
    exec(keras_adapter.snippet(case), scope)
    run = keras_adapter.run(case)
    assert run.error is None
    assert scope["error"] is None
    assert _same(scope["value"], run.value)
    assert scope["grads"].keys() == run.grads.keys() == {"input"}
    assert _same(scope["grads"]["input"], run.grads["input"])


def test_not_offered_runs_come_back_as_data(keras_adapter):
    case = make_case("cross_entropy", {**INDEX, "weight": None}, "(N, C)", present=("weight",))
    out = keras_adapter.run(case)
    assert out.value is None and out.error.type == "NotOffered"


def test_errors_are_reported_as_one_line_without_the_traceback(keras_adapter):
    mode = keras_adapter.modes[-1]
    # three class indices for two rows of logits: every backend's sparse cross-entropy raises
    # (a 0-d mse_loss input raised on TensorFlow and JAX only; torch averages a 0-d tensor)
    case = Case("cross_entropy", {}, {"input": np.zeros((2, 3)), "target": np.arange(3)}, mode=mode)
    out = keras_adapter.run(case)
    assert out.error is not None and "in user code" not in out.error.message
    assert "\n" not in out.error.message


def test_known_registry_imports_no_framework():
    code = (
        "import sys, adapters.known.keras; "
        "print(any(m in sys.modules for m in ('keras', 'tensorflow', 'jax', 'torch')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the loss functions beside the classes (alternative APIs) ----------------------------------

SUMMED = "keras.losses.sparse_categorical_crossentropy"
SUMMED_APIS = {SUMMED, "keras.losses.dice", "keras.losses.ctc", "keras.losses.circle"}


def test_functions_are_offered_at_reduction_none_only(keras_adapter):
    """A Keras loss function has no reduction: it is an alternative API of its class's
    reduction-none configurations (keras.ops.sum at sum of the per-item sparse cross-entropy, Dice,
    ctc and circle, from issues 12 and 13, aside), with the class's own composition and conversions."""
    seen = set()
    for spec in R.REGISTRY.values():
        for config in R.all_configs(spec):
            for api, native in keras_adapter.alternatives(spec.name, config).items():
                seen.add(api)
                reduction = config["reduction"]
                summed = reduction == "sum" and api in SUMMED_APIS
                assert reduction == "none" or summed, (api, config)
                cls = keras_adapter.mapping(spec.name, config)
                assert native.conversions == cls.conversions
                if reduction == "none":
                    assert native.composition == cls.composition
    assert {
        "keras.losses.mean_squared_error",
        "keras.losses.huber",
        "keras.losses.hinge",
        "keras.losses.squared_hinge",
        "keras.losses.mean_squared_logarithmic_error",
        "keras.losses.mean_absolute_percentage_error",
        "keras.losses.categorical_crossentropy",
        "keras.losses.dice",
        SUMMED,
        "keras.losses.ctc",
    } <= seen


@pytest.mark.parametrize(
    "loss, params",
    [
        ("mse_loss", {}),
        ("huber_loss", {"delta": 0.5}),
        ("hinge_loss", {"labels": "binary"}),
        ("squared_hinge", {}),
        ("mean_absolute_percentage_error", {}),
        ("sigmoid_focal_loss", {}),
        ("cross_entropy", {"target_kind": "probability"}),
        ("dice_loss", {"smooth": 0.0}),
    ],
)
def test_function_computes_what_its_class_computes_on_ordinary_input(keras_adapter, loss, params):
    """In float32 on an ordinary input the function and the class (reduction None) return the
    same per-sample losses, and the same gradients where the reference's cotangent applies (the
    cross-entropy's per-item losses): what sets them apart (dtypes, ranks) is registered."""
    case = make_case(loss, {**params, "reduction": "none"}, dtype="float32", seed=3)
    (api,) = keras_adapter.alternatives(loss, R.config_of(case))
    cls, fn = keras_adapter.run(case), keras_adapter.run(case, api=api)
    assert cls.error is None and fn.error is None
    assert _same(fn.value, cls.value, "float32")
    assert fn.grads.keys() == cls.grads.keys()
    assert all(_same(fn.grads[k], cls.grads[k], "float32") for k in cls.grads)


# --- the overlap losses -----------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["dice_loss", "tversky_loss"])
def test_overlap_losses_are_offered_on_probabilities_without_smoothing_only(keras_adapter, loss):
    """Dice and Tversky have no from_logits and no smoothing argument: only smooth = 0 on
    probabilities is theirs, per item (axis=-1, not Keras' default of one ratio per batch)."""
    for config in R.all_configs(R.get(loss)):
        native = keras_adapter.mapping(loss, config)
        offered = config["smooth"] == 0.0 and not config["logits"]
        assert hasattr(native, "call") == offered, config
        if offered:
            assert "axis=-1" in native.call


def test_tversky_weighs_false_negatives_with_alpha(keras_adapter):
    """Worked by hand: p = (½, ¼, 1) against t = (1, 0, 1) has I = 3/2, FN = Σ(1 − p)·t = ½ and
    FP = Σ p·(1 − t) = ¼. Keras' Tversky(α = 0.3, β = 0.7) returns 1 − I/(I + α·FN + β·FP + ε)
    = 1 − 1.5/(1.825 + 1e-7), not the documented 1 − 1.5/(I + α·FP + β·FN) = 1 − 1.5/1.925 (the
    registry's tversky_loss/keras-alpha-on-false-negatives)."""
    case = Case(
        "tversky_loss",
        {"alpha": 0.3, "beta": 0.7, "smooth": 0.0, "reduction": "none"},
        {"input": np.array([[0.5, 0.25, 1.0]]), "target": np.array([[1.0, 0.0, 1.0]])},
        cotangent=np.ones(1),
    )
    out = keras_adapter.run(case)
    assert out.error is None
    assert _same(out.value, [1.0 - 1.5 / (1.825 + 1e-7)])
    assert not _same(out.value, [1.0 - 1.5 / 1.925])
