"""torch-specific checks: identity, dtype round trips, the gradient fallback, and the divergence
registry — every entry carries its example, and none covers an ordinary input.

Runs only with ``--framework torch`` (or LOSSCONF_FRAMEWORK=torch) in an environment with torch.
"""

import dataclasses
import re
import time
import zlib

import numpy as np
import pytest

import reference as R
from adapters.base import Native, NotOffered
from cases.sampling import output_shape, sample_arrays
from reference import Case

a = np.array


@pytest.fixture(scope="module")
def torch_adapter(adapter):
    if adapter.name != "torch":
        pytest.skip("torch-specific tests")
    return adapter


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


# --- identity ----------------------------------------------------------------------------------


def test_version_is_torch_own_string(torch_adapter, torch):
    assert torch_adapter.version() == torch.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+(\+\w+)?", torch_adapter.version())


def test_devices_are_cpu_then_each_cuda_device(torch_adapter, torch):
    devices = torch_adapter.devices()
    assert devices[0] == "cpu"
    expected = torch.cuda.device_count() if torch.cuda.is_available() else 0
    assert devices[1:] == [f"cuda:{i}" for i in range(expected)]


def test_modes_and_dtypes(torch_adapter):
    assert torch_adapter.modes == ("eager",)
    assert torch_adapter.dtypes == ("float64", "float32", "float16", "bfloat16")


# --- mapping -----------------------------------------------------------------------------------


def test_mapping_names_the_native_call_with_canonical_arguments(torch_adapter):
    config = {
        "target_kind": "index",
        "ignore_index": -100,
        "label_smoothing": 0.1,
        "weight": True,
        "reduction": "mean",
    }
    mapped = torch_adapter.mapping("cross_entropy", config)
    assert isinstance(mapped, Native)
    assert mapped.call == (
        "torch.nn.functional.cross_entropy(input, target, weight=weight, ignore_index=-100, "
        "label_smoothing=0.1, reduction='mean')"
    )


def test_ignore_index_none_is_left_out_of_the_call(torch_adapter):
    config = {"target_kind": "index", "ignore_index": None, "label_smoothing": 0.0}
    call = torch_adapter.mapping("cross_entropy", {**config, "weight": False, "reduction": "sum"})
    assert "ignore_index" not in call.call


@pytest.mark.parametrize("loss", ["sigmoid_focal_loss", "log_cosh"])
def test_losses_torch_lacks_are_not_offered(torch_adapter, loss):
    config = next(iter(R.all_configs(R.get(loss))))
    assert isinstance(torch_adapter.mapping(loss, config), NotOffered)
    out = torch_adapter.run(Case(loss, {}, sample_arrays(R.get(loss), config, _rng(loss))))
    assert out.error is not None and out.value is None


# --- running -----------------------------------------------------------------------------------


def _rng(label: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(label.encode()))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_values_cross_the_boundary_exactly(torch_adapter, dtype):
    """l1_loss with reduction none and target 0 returns |input|: the rounded input, unchanged."""
    x = R.round_to(_rng(dtype).standard_normal(64) * 3.0, dtype)
    cot = R.round_to(_rng("cot").standard_normal(64), dtype)
    arrays = {"input": x, "target": np.zeros(64)}
    case = Case("l1_loss", {"reduction": "none"}, arrays, dtype, cotangent=cot)
    out = torch_adapter.run(case)
    assert out.value.dtype == np.float64
    assert np.array_equal(out.value, np.abs(x))
    # the gradient is cot·sign(x): one rounding-free product per element
    assert np.array_equal(out.grads["input"], cot * np.sign(x))


def test_index_targets_stay_int64_and_probability_targets_are_floats(torch_adapter):
    x = _rng("ce").standard_normal((3, 4))
    index = Case("cross_entropy", {"reduction": "sum"}, {"input": x, "target": a([0, 3, 1])})
    probs = np.full((3, 4), 0.25)
    soft = Case(
        "cross_entropy", {"target_kind": "probability"}, {"input": x, "target": probs}, "float32"
    )
    assert torch_adapter.run(index).error is None
    out = torch_adapter.run(soft)
    assert out.error is None and set(out.grads) == {"input", "target"}


def test_framework_exceptions_come_back_as_data(torch_adapter):
    case = Case("nll_loss", {}, {"input": np.zeros((2, 3)), "target": a([0, 3])})
    out = torch_adapter.run(case)
    assert out.value is None
    assert out.error.type == "IndexError" and "out of bounds" in out.error.message


def test_an_unusable_device_comes_back_as_data(torch_adapter):
    arrays = {"input": np.ones(3), "target": np.zeros(3)}
    out = torch_adapter.run(Case("mse_loss", {}, arrays, device="cuda:99"))
    assert out.value is None and out.error is not None


def test_cuda_devices_leave_invalid_values_out_and_cpu_does_not(torch_adapter):
    """torch's CUDA loss kernels check class indices and probabilities with device-side
    assertions (seen on an H200: binary_cross_entropy's probability above 1 ended the worker's
    CUDA context, and 424 later items failed with it); its CPU kernels raise."""
    assert torch_adapter.kernel_asserts("cpu") is None
    why = torch_adapter.kernel_asserts("cuda:0")
    assert "CUDA_KERNEL_ASSERT" in why and "Loss.cu" in why


def test_a_failed_device_assertion_is_a_crash_and_later_calls_there_say_why_they_cannot_run(
    torch_adapter, monkeypatch
):
    """The assertion surfaces at the next synchronising call (here the backward), as CUDA's
    AcceleratorError does; every later call on that device fails the same way, so the adapter
    reports it once as the framework's error and then names the earlier failure instead of
    calling torch again. Other devices are untouched. Simulated: no GPU is needed."""
    fresh = type(torch_adapter)()  # its lost-context state is its own
    message = "CUDA error: device-side assert triggered\nCUDA kernel errors might be reported"

    def assert_fails(case, recipe):
        if case.device == "cuda:0":
            raise RuntimeError(message)
        return real(case, recipe)

    real = fresh._run
    monkeypatch.setattr(fresh, "_run", assert_fails)
    arrays = {"input": np.full(3, 0.5), "target": np.ones(3)}
    first = fresh.run(Case("binary_cross_entropy", {}, arrays, device="cuda:0"))
    assert first.error.type == "RuntimeError" and "device-side assert" in first.error.message
    later = fresh.run(Case("mse_loss", {}, arrays, device="cuda:0"))
    assert later.error.type == "CUDAContextLost"
    assert "cuda:0" in later.error.message and "device-side assert triggered" in later.error.message
    on_cpu = fresh.run(Case("mse_loss", {}, arrays, device="cpu"))
    assert on_cpu.error is None and on_cpu.value is not None


def test_an_argument_torch_cannot_differentiate_is_reported_not_fatal(torch_adapter, torch):
    """The other gradients still come back; the failing one is named with torch's message."""

    def refuse(grad):
        raise RuntimeError("the derivative for 'target' is not implemented")

    def mse_without_target_derivative(x, t, reduction):
        t = t * 1.0
        t.register_hook(refuse)  # runs only when the target's gradient is asked for
        return torch.nn.functional.mse_loss(x, t, reduction=reduction)

    arrays = {"input": a([1.0, 2.0]), "target": a([0.5, 0.0])}
    case = Case("mse_loss", {"reduction": "sum"}, arrays)
    original = torch_adapter._functions["mse_loss"]
    torch_adapter._functions["mse_loss"] = mse_without_target_derivative
    try:
        out = torch_adapter.run(case)
    finally:
        torch_adapter._functions["mse_loss"] = original
    assert out.error is None and out.value == 4.25
    assert np.array_equal(out.grads["input"], a([1.0, 4.0]))
    assert "target" not in out.grads
    assert "not implemented" in out.grad_errors["target"]


def test_an_argument_outside_the_graph_is_reported_without_gradient(torch_adapter, torch):
    def mse_detached_target(x, t, reduction):
        return torch.nn.functional.mse_loss(x, t.detach(), reduction=reduction)

    case = Case("mse_loss", {"reduction": "sum"}, {"input": a([1.0]), "target": a([0.0])})
    original = torch_adapter._functions["mse_loss"]
    torch_adapter._functions["mse_loss"] = mse_detached_target
    try:
        out = torch_adapter.run(case)
    finally:
        torch_adapter._functions["mse_loss"] = original
    assert set(out.grads) == {"input"}
    assert "no gradient" in out.grad_errors["target"]


def test_seconds_time_the_native_call(torch_adapter):
    spec = R.get("cross_entropy")
    config = next(iter(R.all_configs(spec)))
    case = Case("cross_entropy", {}, sample_arrays(spec, config, _rng("t"), sizes={"N": 64}))
    start = time.perf_counter()
    out = torch_adapter.run(case)
    total = time.perf_counter() - start
    assert 0 < out.seconds < total


def test_snippet_reproduces_a_bfloat16_unreduced_run(torch_adapter):
    spec = R.get("binary_cross_entropy_with_logits")
    config = {"reduction": "none", "weight": True, "pos_weight": True}
    arrays = sample_arrays(spec, config, _rng("snippet"))
    cot = _rng("snippet-cot").standard_normal(output_shape(spec, arrays, {"reduction": "none"}))
    case = Case(spec.name, {"reduction": "none"}, arrays, "bfloat16", cotangent=cot)
    scope = {"arrays": case.rounded(), "cotangent": case.rounded_cotangent()}
    exec(torch_adapter.snippet(case), scope)
    out = torch_adapter.run(case)
    assert np.array_equal(scope["value"], out.value)
    assert scope["grads"].keys() == out.grads.keys()
    for name, grad in out.grads.items():
        assert np.array_equal(scope["grads"][name], grad)


# --- the divergence registry ---------------------------------------------------------------------
#
# tests/adapters/test_registry.py runs every entry's own example (the entry applies there, torch
# differs from the reference in what the entry affects, and the registry explains every difference).


def test_every_registry_entry_carries_its_example(torch_adapter):
    missing = [d.id for d in torch_adapter.divergences() if d.example is None]
    assert not missing, f"entries without an Example: {missing}"


def _ordinary_case(entry, dtype: str) -> Case | None:
    """A sampled valid case of the entry's loss (its example's, for an entry of every loss), in a
    configuration its ``where`` selects."""
    spec = R.get(entry.example.loss if entry.loss == "*" else entry.loss)
    for config in R.all_configs(spec):
        if all(config.get(k) == v for k, v in entry.where.items()):
            params, _ = R.split(spec, config)
            arrays = sample_arrays(spec, config, _rng(entry.id))
            cot = None
            if params["reduction"] == "none":
                cot = np.ones(output_shape(spec, arrays, params))
            return Case(spec.name, params, arrays, dtype, cotangent=cot)
    return None


def test_divergences_do_not_cover_ordinary_inputs(torch_adapter):
    """Narrowness: a plain sampled input in float32 is covered by no entry (the half-precision
    kernel gap of multi_margin_loss is about the dtype, not the inputs; ctc_loss's gradient is
    exp(log_probs) − γ at every input, which is the divergence itself)."""
    covering = []
    for entry in torch_adapter.divergences():
        if entry.id in ("multi_margin_loss/no-half-cpu", "ctc_loss/grad-through-log-softmax"):
            continue
        case = _ordinary_case(entry, "float32")
        assert case is not None, f"{entry.id}: no configuration matches its where"
        if entry.applies(case, torch_adapter.version()):
            covering.append(entry.id)
    assert not covering


def test_multi_margin_half_entry_is_limited_to_half_precision_on_cpu(torch_adapter):
    entry = next(d for d in torch_adapter.divergences() if d.id == "multi_margin_loss/no-half-cpu")
    example = entry.example.case(entry.loss)
    for dtype in ("float16", "bfloat16"):
        case = dataclasses.replace(example, dtype=dtype)
        assert entry.applies(case, torch_adapter.version())
        assert "not implemented" in torch_adapter.run(case).error.message
    float32 = dataclasses.replace(example, dtype="float32")
    assert not entry.applies(float32, torch_adapter.version())
    assert torch_adapter.run(float32).error is None
