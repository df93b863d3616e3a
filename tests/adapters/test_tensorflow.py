"""TensorFlow adapter: every registered divergence reproduces, jit traces once per shape, identity.

Each entry of ``adapters.tf_known.DIVERGENCES`` has a concrete example below on which the entry's
predicate holds and TensorFlow differs from the reference in the part the entry says it affects.
A new entry without an example fails ``test_every_divergence_has_a_reproduction``.
"""

import subprocess
import sys
from collections.abc import Callable

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
    edit: Callable[[dict], None] | None = None,
    dtype: str = "float64",
    mode: str = "eager",
    seed: int = 0,
) -> Case:
    """Valid arrays for ``loss`` in ``layout`` (sampled from the domains), edited in place by
    ``edit``, with a cotangent when the reduction is ``none``."""
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
    if edit is not None:
        edit(arrays)
    return Case(loss, params, arrays, dtype, "cpu", mode, cotangent)


def setter(name: str, index, value) -> Callable[[dict], None]:
    def edit(arrays):
        arrays[name] = np.array(arrays[name], copy=True)
        arrays[name][index] = value

    return edit


def both(*edits):
    def edit(arrays):
        for e in edits:
            e(arrays)

    return edit


def replace(name: str, make: Callable[[np.ndarray], np.ndarray]) -> Callable[[dict], None]:
    def edit(arrays):
        arrays[name] = make(arrays[name])

    return edit


def leading_one(x: np.ndarray) -> np.ndarray:
    return x[None]


def trailing_one(x: np.ndarray) -> np.ndarray:
    return x[..., None]


# Canonical parameters and optional arrays of each Keras per-sample mapping (see tf_known).
PER_SAMPLE = {
    "mse_loss": ({}, (), "(N, D)"),
    "l1_loss": ({}, (), "(N, D)"),
    "huber_loss": ({}, (), "(N, D)"),
    "smooth_l1_loss": ({}, (), "(N, D)"),
    "log_cosh": ({}, (), "(N, D)"),
    "binary_cross_entropy": ({}, (), "(N, C)"),
    "sigmoid_focal_loss": ({}, (), "(N, C)"),
    "poisson_nll_loss": ({"log_input": False}, (), "(N, D)"),
}


def per_sample_examples() -> dict[str, Callable[[], Case]]:
    out = {}
    for loss, (params, present, layout) in PER_SAMPLE.items():
        args = (loss, params, layout, present)
        out[f"{loss}/keras-per-sample-none"] = lambda a=args: make_case(
            a[0], {**a[1], "reduction": "none"}, *a[2:]
        )
        out[f"{loss}/keras-per-sample-sum"] = lambda a=args: make_case(
            a[0], {**a[1], "reduction": "sum"}, *a[2:]
        )
        if loss not in ("binary_cross_entropy", "sigmoid_focal_loss"):
            out[f"{loss}/broadcasts-mismatched-shapes"] = lambda a=args: make_case(
                *a, edit=replace("target", leading_one)
            )
        if any(lay.name == "scalar" for lay in R.get(loss).layouts):
            out[f"{loss}/keras-rank-0-rejected"] = lambda a=args: make_case(
                a[0], a[1], "scalar", a[3]
            )
    return out


INDEX = {"target_kind": "index"}
PROB = {"target_kind": "probability"}
IGNORE = {"target_kind": "index", "ignore_index": -100}
SMOOTH = {"target_kind": "index", "label_smoothing": 0.1}
OUT_OF_RANGE = setter("target", 1, 4)  # C = 4 in the sampled (N, C) layouts

EXAMPLES: dict[str, Callable[[], Case]] = {
    # binary cross-entropy on probabilities
    "binary_cross_entropy/keras-clip-epsilon": lambda: make_case(
        "binary_cross_entropy",
        layout="(N, C)",
        edit=both(setter("input", (0, 0), 0.0), setter("target", (0, 0), 1.0)),
    ),
    "binary_cross_entropy/keras-upper-clip-rounds-to-one": lambda: make_case(
        "binary_cross_entropy",
        layout="(N, C)",
        edit=both(setter("input", (0, 0), 1.0), setter("target", (0, 0), 1.0)),
        dtype="float16",
    ),
    "binary_cross_entropy/keras-no-domain-check": lambda: make_case(
        "binary_cross_entropy", layout="(N, C)", edit=setter("input", (0, 0), 1.25)
    ),
    # with logits
    "binary_cross_entropy_with_logits/tf-nn-infinite-logit": lambda: make_case(
        "binary_cross_entropy_with_logits", layout="(N, C)", edit=setter("input", (0, 0), np.inf)
    ),
    "binary_cross_entropy_with_logits/tf-nn-weighted-infinite-logit": lambda: make_case(
        "binary_cross_entropy_with_logits",
        layout="(N, C)",
        present=("pos_weight",),
        edit=setter("input", (0, 0), -np.inf),
    ),
    "binary_cross_entropy_with_logits/tf-nn-weighted-gradient-at-zero-logit": lambda: make_case(
        "binary_cross_entropy_with_logits",
        layout="(N, C)",
        present=("pos_weight",),
        edit=setter("input", (0, 0), 0.0),
    ),
    "binary_cross_entropy_with_logits/tf-nn-no-pos-weight-check": lambda: make_case(
        "binary_cross_entropy_with_logits",
        layout="(N, C)",
        present=("pos_weight",),
        edit=setter("pos_weight", 0, np.nan),
    ),
    "binary_cross_entropy_with_logits/tf-nn-no-label-check": lambda: make_case(
        "binary_cross_entropy_with_logits", layout="(N, C)", edit=setter("target", (0, 0), 1.5)
    ),
    "binary_cross_entropy_with_logits/broadcasts-mismatched-shapes": lambda: make_case(
        "binary_cross_entropy_with_logits",
        layout="(N)",
        present=("pos_weight",),
        edit=replace("pos_weight", leading_one),
    ),
    # focal
    "sigmoid_focal_loss/keras-no-label-check": lambda: make_case(
        "sigmoid_focal_loss", layout="(N, C)", edit=setter("target", (0, 0), 1.5)
    ),
    "sigmoid_focal_loss/keras-gamma-zero-nan-gradient-when-certain": lambda: make_case(
        "sigmoid_focal_loss",
        {"alpha": None, "gamma": 0.0},
        "(N, C)",
        edit=both(setter("input", (0, 0), -32.0), setter("target", (0, 0), 2.0**-25)),
        dtype="float32",
    ),
    "sigmoid_focal_loss/keras-infinite-logit": lambda: make_case(
        "sigmoid_focal_loss", layout="(N, C)", edit=setter("input", (0, 0), np.inf)
    ),
    # cross-entropy
    "cross_entropy/tf-positive-infinite-logit": lambda: make_case(
        "cross_entropy",
        INDEX,
        "(N, C)",
        edit=both(setter("input", (0, 1), np.inf), setter("target", 0, 0)),
    ),
    "cross_entropy/tf-softmax-xent-grad-assumes-normalised-target": lambda: make_case(
        "cross_entropy", PROB, "(N, C)"
    ),
    "cross_entropy/keras-label-smoothing-uses-last-axis": lambda: make_case(
        "cross_entropy", SMOOTH, "(N, C, d1)"
    ),
    "cross_entropy/xla-sparse-xent-out-of-range-nan": lambda: make_case(
        "cross_entropy", INDEX, "(N, C)", edit=OUT_OF_RANGE, mode="jit"
    ),
    "cross_entropy/one-hot-out-of-range-zero-row": lambda: make_case(
        "cross_entropy", SMOOTH, "(N, C)", edit=OUT_OF_RANGE
    ),
    "cross_entropy/keras-ignore-class-all-ignored-is-zero": lambda: make_case(
        "cross_entropy", IGNORE, "(N, C)", edit=replace("target", lambda t: np.full_like(t, -100))
    ),
    "cross_entropy/keras-class-index-cast-to-loss-dtype": lambda: Case(
        "cross_entropy",
        {**IGNORE, "reduction": "sum"},
        {"input": np.random.default_rng(0).normal(0, 3, (2, 300)), "target": np.array([257, 3])},
        "bfloat16",
    ),
    "cross_entropy/keras-ignore-class-single-class-crash": lambda: Case(
        "cross_entropy", IGNORE, {"input": np.array([0.5]), "target": np.array(0)}
    ),
    "cross_entropy/tf-softmax-xent-zero-target-at-minus-inf": lambda: make_case(
        "cross_entropy",
        PROB,
        "(N, C)",
        edit=both(setter("input", (0, 0), -np.inf), setter("target", (0, 0), 0.0)),
    ),
    "cross_entropy/tf-no-probability-target-check": lambda: make_case(
        "cross_entropy", PROB, "(N, C)", edit=setter("target", (0, 0), 1.5)
    ),
    "cross_entropy/broadcasts-mismatched-shapes": lambda: make_case(
        "cross_entropy", PROB, "(N, C)", edit=replace("target", lambda t: t[:1])
    ),
    "cross_entropy/broadcasts-mismatched-shapes-ignore-class": lambda: make_case(
        "cross_entropy", IGNORE, "(N, C)", edit=replace("target", leading_one)
    ),
    # Keras' rank fix (squeeze_or_expand_to_same_rank): a trailing dimension of 1 squeezed
    "binary_cross_entropy/keras-rank-fix-squeezes-trailing-one": lambda: make_case(
        "binary_cross_entropy", layout="(N)", edit=replace("target", trailing_one)
    ),
    "sigmoid_focal_loss/keras-rank-fix-squeezes-trailing-one": lambda: make_case(
        "sigmoid_focal_loss", layout="(N)", edit=replace("input", trailing_one)
    ),
    "cross_entropy/keras-rank-fix-squeezes-trailing-one": lambda: make_case(
        "cross_entropy", SMOOTH, "(N, C)", edit=replace("target", trailing_one)
    ),
    # multilabel soft margin
    "multilabel_soft_margin_loss/keras-no-label-check": lambda: make_case(
        "multilabel_soft_margin_loss", edit=setter("target", (0, 0), -0.5)
    ),
    "multilabel_soft_margin_loss/tf-nn-infinite-logit": lambda: make_case(
        "multilabel_soft_margin_loss", edit=setter("input", (0, 0), np.inf)
    ),
    # KL divergence
    "kl_div/keras-clip-epsilon": lambda: make_case(
        "kl_div", {"reduction": "sum"}, "(N, D)", edit=setter("target", (0, 0), 0.0)
    ),
    "kl_div/keras-clip-epsilon-log-target": lambda: make_case(
        "kl_div",
        {"log_target": True, "reduction": "sum"},
        "(N, D)",
        edit=setter("target", (0, 0), -20.0),
    ),
    "kl_div/keras-log-of-probability-ratio": lambda: Case(
        "kl_div",
        {"log_target": True, "reduction": "sum"},
        {
            "input": np.full((3, 3), -0.5),
            "target": -0.5 + 1e-12 * np.arange(1.0, 10.0).reshape(3, 3),
        },
    ),
    "kl_div/keras-probability-ratio-float16-range": lambda: make_case(
        "kl_div",
        {"reduction": "sum"},
        "(N, D)",
        edit=both(setter("input", (0, 0), -14.0), setter("target", (0, 0), 0.9)),
        dtype="float16",
    ),
    "kl_div/keras-per-sample-none": lambda: make_case("kl_div", {"reduction": "none"}, "(N, D)"),
    "kl_div/keras-mean-is-per-sample-mean": lambda: make_case(
        "kl_div", {"reduction": "mean"}, "(N, D)"
    ),
    "kl_div/keras-batchmean-divides-by-all-leading-dims": lambda: make_case(
        "kl_div", {"reduction": "batchmean"}, "(N, D, E)"
    ),
    "kl_div/keras-no-target-check": lambda: make_case(
        "kl_div", layout="(N, D)", edit=setter("target", (0, 0), 1.5)
    ),
    "kl_div/broadcasts-mismatched-shapes": lambda: make_case(
        "kl_div", layout="(N, D)", edit=replace("target", leading_one)
    ),
    # Poisson
    "poisson_nll_loss/keras-poisson-epsilon": lambda: make_case(
        "poisson_nll_loss", {"log_input": False}, "(N, D)"
    ),
    "poisson_nll_loss/tf-exp-overflows-dtype": lambda: make_case(
        "poisson_nll_loss", layout="(N, D)", edit=setter("input", (0, 0), 12.0), dtype="float16"
    ),
    "poisson_nll_loss/keras-float16-reciprocal-overflow": lambda: make_case(
        "poisson_nll_loss",
        {"log_input": False},
        "(N, D)",
        edit=both(setter("input", (0, 0), 0.0), setter("target", (0, 0), 0.0)),
        dtype="float16",
    ),
    "poisson_nll_loss/tf-stirling-for-negative-counts": lambda: make_case(
        "poisson_nll_loss", {"full": True}, "(N, D)", edit=setter("target", (0, 0), -1.0)
    ),
    "poisson_nll_loss/tf-zero-count-times-infinite-log-rate": lambda: make_case(
        "poisson_nll_loss",
        layout="(N, D)",
        edit=both(setter("target", (0, 0), 0.0), setter("input", (0, 0), -np.inf)),
    ),
    # every loss
    "*/tf-flushes-subnormal-inputs": lambda: Case(
        "binary_cross_entropy_with_logits",
        {"reduction": "none"},
        {"input": np.array([[724.0, 1.0]]), "target": np.array([[0.0, 0.5]])},
        cotangent=np.array([[2.2e-309, 1.0]]),
    ),
    "*/tf-float16-mean-accumulates-in-float16": lambda: make_case(
        "binary_cross_entropy_with_logits",
        layout="(N, C)",
        edit=both(
            replace("input", lambda x: np.full_like(x, 20000.0)),
            replace("target", np.zeros_like),
        ),
        dtype="float16",
    ),
    # regression edge values
    "huber_loss/keras-where-nan-gradient-at-infinite-error": lambda: make_case(
        "huber_loss", layout="(N, D)", edit=setter("input", (0, 0), np.inf)
    ),
    "smooth_l1_loss/keras-where-nan-gradient-at-infinite-error": lambda: make_case(
        "smooth_l1_loss", layout="(N, D)", edit=setter("input", (0, 0), -np.inf)
    ),
    "log_cosh/keras-log2-rounded-to-float32": lambda: make_case("log_cosh", layout="(N, D)"),
    "log_cosh/keras-minus-inf-error": lambda: make_case(
        "log_cosh", layout="(N, D)", edit=setter("input", (0, 0), -np.inf)
    ),
    # soft margin
    "soft_margin_loss/tf-nn-infinite-logit": lambda: make_case(
        "soft_margin_loss", layout="(N, D)", edit=setter("input", (0, 0), np.inf)
    ),
    "soft_margin_loss/tf-nn-no-label-check": lambda: make_case(
        "soft_margin_loss", layout="(N, D)", edit=setter("target", (0, 0), 0.0)
    ),
    **per_sample_examples(),
}


# --- comparing with the reference -----------------------------------------------------------------


def _same(got, expected, dtype: str = "float64", exact: bool = False) -> bool:
    """Equal up to rounding: 1e-9 relative in float64 (``exact``: 1e-15, no absolute floor), 16
    units of the dtype's epsilon (relative to the largest finite expected magnitude) otherwise;
    NaN only matches NaN."""
    got, expected = np.asarray(got, float), np.asarray(expected, float)
    if got.shape != expected.shape:
        return False
    if exact:
        return bool(np.allclose(got, expected, rtol=1e-15, atol=0.0, equal_nan=True))
    if dtype == "float64":
        return bool(np.allclose(got, expected, rtol=1e-9, atol=1e-12, equal_nan=True))
    tol = 16 * R.FORMATS[dtype].eps
    finite = expected[np.isfinite(expected)]
    scale = float(np.max(np.abs(finite))) if finite.size else 1.0
    return bool(np.allclose(got, expected, rtol=tol, atol=tol * scale, equal_nan=True))


# Divergences of a few ulps or in subnormal numbers: compared without an absolute floor.
EXACT = {"kl_div/keras-log-of-probability-ratio", "*/tf-flushes-subnormal-inputs"}


def differences(adapter, case: Case, exact: bool = False) -> set[str]:
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
    if not _same(out.value, expected, case.dtype, exact):
        found.add("value")
    if any(not _same(g, expected_grads[name], case.dtype, exact) for name, g in out.grads.items()):
        found.add("grad")
    return found


# --- tests ---------------------------------------------------------------------------------------


def _ids():
    from adapters import tf_known

    return [d.id for d in tf_known.DIVERGENCES]


def test_every_divergence_has_a_reproduction():
    missing = sorted(set(_ids()) - set(EXAMPLES))
    assert not missing, f"entries without an example here: {missing}"
    assert len(set(_ids())) == len(_ids()), "divergence ids must be unique"


@pytest.mark.parametrize("divergence_id", _ids())
def test_divergence_reproduces(tf_adapter, divergence_id):
    entry = next(d for d in tf_adapter.divergences() if d.id == divergence_id)
    case = EXAMPLES[divergence_id]()
    assert entry.applies(case, tf_adapter.version()), (
        "the entry's predicate must select the example"
    )
    found = differences(tf_adapter, case, exact=divergence_id in EXACT)
    assert found & set(entry.affects), (
        f"no difference in {entry.affects} on the example "
        f"(differs in: {sorted(found) or 'nothing'})"
    )


def test_a_valid_float64_example_agrees_and_no_entry_applies(tf_adapter):
    """The registry is narrow: on an ordinary input nothing applies, and TF agrees."""
    case = make_case("huber_loss", {"delta": 0.5}, "(N, D)")
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


def test_versions_name_tensorflow_and_keras(tf_adapter):
    import keras
    import tensorflow as tf

    assert tf_adapter.versions() == {"tensorflow": tf.__version__, "keras": keras.__version__}


def test_devices_are_canonical(tf_adapter):
    devices = tf_adapter.devices()
    assert devices[0] == "cpu"
    assert all(d == "cpu" or d.startswith("cuda:") for d in devices)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_values_come_back_as_float64_in_the_tested_dtype(tf_adapter, dtype):
    case = make_case("mse_loss", {"reduction": "none"}, "(N)", dtype=dtype)
    out = tf_adapter.run(case)
    assert out.value.dtype == np.float64
    assert np.array_equal(out.value, R.round_to(out.value, dtype))  # a value of that dtype


def test_snippet_reproduces_a_jit_run_with_gradients(tf_adapter):
    case = make_case("cross_entropy", SMOOTH, "(N, C)", mode="jit", dtype="float32")
    scope = {"np": np, "arrays": case.rounded(), "cotangent": case.rounded_cotangent()}
    exec(tf_adapter.snippet(case), scope)
    run = tf_adapter.run(case)
    assert scope["error"] is None
    assert _same(scope["value"], run.value)
    assert scope["grads"].keys() == run.grads.keys() == {"input"}
    assert _same(scope["grads"]["input"], run.grads["input"])


def test_not_offered_runs_come_back_as_data(tf_adapter):
    case = make_case("cross_entropy", {**INDEX, "weight": None}, "(N, C)", present=("weight",))
    out = tf_adapter.run(case)
    assert out.value is None and out.error.type == "NotOffered"


def test_jit_errors_are_reported_without_the_traceback(tf_adapter):
    out = tf_adapter.run(make_case("mse_loss", layout="scalar", mode="jit"))
    assert out.error is not None and out.error.message.startswith("Invalid reduction dimension")


def test_known_registry_imports_no_framework():
    code = "import sys, adapters.tf_known; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
