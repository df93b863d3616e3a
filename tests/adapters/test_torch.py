"""torch-specific checks: identity, dtype round trips, the gradient fallback, and the divergence
registry — every entry reproduces on a concrete input, and none covers an ordinary input.

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

inf = np.inf
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


# --- the divergence registry -------------------------------------------------------------------


def _c(loss, params, arrays, dtype="float64"):
    """A case; reduction none gets a cotangent of ones (so gradients are plain VJPs of ones)."""
    params = {"reduction": "none", **params}
    cot = None
    if params["reduction"] == "none":
        try:
            cot = np.ones(output_shape(R.get(loss), arrays, params))
        except R.InvalidInput:
            cot = None
    return Case(loss, params, arrays, dtype, cotangent=cot)


M = np.log(np.full((2, 3), 1 / 3))  # log-probabilities / logits of a 2 × 3 batch

# One concrete reproduction per registry entry: the entry applies to it and torch differs there.
REPRODUCTIONS = {
    "bce-log-clamp-100": _c(
        "binary_cross_entropy", {}, {"input": a([0.0, 0.3]), "target": a([1.0, 0.5])}
    ),
    "bce-grad-epsilon": _c(
        "binary_cross_entropy",
        {"reduction": "sum"},
        {"input": a([1e-13, 0.5]), "target": a([1.0, 0.5])},
    ),
    "bce-zero-weight-nonfinite-grad": _c(
        "binary_cross_entropy",
        {},
        {"input": a([0.0, 1.0, 0.5]), "target": a([0.0, 1.0, 0.5]), "weight": a([0.0, 0.0, 1.0])},
    ),
    "bce-backward-overflow": _c(
        "binary_cross_entropy",
        {"reduction": "mean"},
        {
            "input": a([2.0**-16, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]),
            "target": a([1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
        },
        "float16",
    ),
    "bce-logits-infinite-logit": _c(
        "binary_cross_entropy_with_logits", {}, {"input": a([-inf, 0.5]), "target": a([0.0, 1.0])}
    ),
    "bce-logits-zero-factor-nonfinite-term": _c(
        "binary_cross_entropy_with_logits",
        {"reduction": "mean"},
        {
            "input": a([-4096.0, 0.5]),
            "target": a([0.0, 1.0]),
            "weight": a([0.0, 1.0]),
            "pos_weight": a([16.0]),
        },
        "float16",
    ),
    "bce-logits-overflow-before-scaling": _c(
        "binary_cross_entropy_with_logits",
        {"reduction": "mean"},
        {
            "input": a([0.0, 1.0, 1.0, 1.0]),
            "target": a([1.0, 0.0, 0.0, 0.0]),
            "weight": a([512.0, 1.0, 1.0, 1.0]),
            "pos_weight": a([512.0]),
        },
        "float16",
    ),
    "multilabel-infinite-logit": _c(
        "multilabel_soft_margin_loss", {}, {"input": a([[-inf, 0.5]]), "target": a([[0.0, 1.0]])}
    ),
    "multilabel-sum-before-mean-overflow": _c(
        "multilabel_soft_margin_loss",
        {},
        {
            "input": a([[2048.0, 0.0, 0.0, 0.0]]),
            "target": a([[0.0, 0.0, 0.0, 0.0]]),
            "weight": a([64.0, 1.0, 1.0, 1.0]),
        },
        "float16",
    ),
    "multilabel-grad-scale-subnormal": Case(
        "multilabel_soft_margin_loss",
        {"reduction": "none"},
        {"input": a([[256.0, 256.0]]), "target": a([[0.0, 0.0]]), "weight": a([1.0, 2.0**-23])},
        "float16",
        cotangent=a([0.5]),
    ),
    "ce-posinf-logit-nan": _c(
        "cross_entropy", {}, {"input": a([[inf, 0.0, 1.0]]), "target": a([1])}
    ),
    "ce-neginf-logit-zero-mass": _c(
        "cross_entropy",
        {"target_kind": "probability"},
        {"input": a([[-inf, 0.0, 1.0]]), "target": a([[0.0, 0.5, 0.5]])},
    ),
    "ce-prob-target-grad-zero-weight": _c(
        "cross_entropy",
        {"target_kind": "probability"},
        {
            "input": a([[-inf, 0.0, 1.0], [0.5, 0.0, 1.0]]),
            "target": a([[0.5, 0.25, 0.25], [0.0, 0.5, 0.5]]),
            "weight": a([0.0, 1.0, 1.0]),
        },
    ),
    "nll-inf-input-zero-weight": _c(
        "nll_loss",
        {"reduction": "sum"},
        {"input": a([[-inf, 0.0, 1.0], M[1]]), "target": a([0, 1]), "weight": a([0.0, 1, 1])},
    ),
    "nll-zero-total-weight-grad": _c(
        "nll_loss",
        {"reduction": "mean", "ignore_index": -100},
        {"input": M, "target": a([-100, -100])},
    ),
    "ce-zero-total-weight-ignored-grad": _c(
        "cross_entropy",
        {"reduction": "mean", "ignore_index": -100},
        {"input": M, "target": a([-100, -100])},
    ),
    "ce-smoothing-zero-total-weight": _c(
        "cross_entropy",
        {"reduction": "mean", "label_smoothing": 0.1},
        {"input": M + a([0.0, 1.0, 2.0]), "target": a([1, 1]), "weight": a([1.0, 0.0, 1.0])},
    ),
    "ce-smoothing-sum-overflow": _c(
        "cross_entropy",
        {"reduction": "mean", "label_smoothing": 0.1},
        {
            "input": 8192.0 * a([[1, -1, 0], [-1, 1, 0], [0, 1, -1], [1, 0, -1]]),
            "target": a([2, 0, 1, 1]),
        },
        "float16",
    ),
    "ce-prob-target-grad-overflow": _c(
        "cross_entropy",
        {"target_kind": "probability", "label_smoothing": 0.1},
        {
            "input": a([[8192.0, -8192.0, 0.0]]),
            "target": a([[0.5, 0.25, 0.25]]),
            "weight": a([1.0, 4.0, 1.0]),
        },
        "float16",
    ),
    "multi-margin-no-half-cpu": _c(
        "multi_margin_loss", {}, {"input": M, "target": a([0, 2])}, "float16"
    ),
    "kl-div-target-zero-grad": _c(
        "kl_div", {}, {"input": a([-1.0, -2.0]), "target": a([0.0, 0.5])}
    ),
    "kl-div-target-grad-underflow": Case(
        "kl_div",
        {"reduction": "none"},
        {"input": a([0.0, -1.0]), "target": a([2.0**-149, 0.5])},
        "float32",
        cotangent=a([0.5, 1.0]),
    ),
    "kl-div-batchmean-sum-overflow": _c(
        "kl_div",
        {"reduction": "batchmean"},
        {"input": np.full((2, 2), -20000.0), "target": np.ones((2, 2))},
        "float16",
    ),
    "kl-div-zero-target-infinite-input": _c(
        "kl_div", {}, {"input": a([-inf, -1.0]), "target": a([0.0, 0.5])}
    ),
    "kl-div-log-target-neginf": _c(
        "kl_div", {"log_target": True}, {"input": a([-1.0, -2.0]), "target": a([-inf, -0.5])}
    ),
    "poisson-zero-count-infinite-term": _c(
        "poisson_nll_loss", {}, {"input": a([-inf, 1.0]), "target": a([0.0, 1.0])}
    ),
    "gaussian-var-clamp-grad": _c(
        "gaussian_nll_loss",
        {},
        {"input": a([1.0, 2.0]), "target": a([0.5, 2.0]), "var": a([0.0, 1.0])},
    ),
    "gaussian-eps-rounded": _c(
        "gaussian_nll_loss",
        {},
        {"input": a([0.25, 0.0]), "target": a([0.265625, 0.0]), "var": a([2.0**-22, 1.0])},
        "float16",
    ),
    "gaussian-square-overflow": _c(
        "gaussian_nll_loss",
        {"reduction": "mean"},
        {"input": a([256.0, 1.0]), "target": a([0.0, 0.5]), "var": a([1.0, 1.0])},
        "float16",
    ),
    "gaussian-backward-overflow": _c(
        "gaussian_nll_loss",
        {},
        {"input": a([1.0]), "target": a([0.0]), "var": R.round_to(a([1e-6]), "float16")},
        "float16",
    ),
    "gaussian-quotient-overflow": _c(
        "gaussian_nll_loss",
        {},
        {"input": a([10.0, 1.0]), "target": a([0.0, 0.0]), "var": a([2.0**-10, 1.0])},
        "float16",
    ),
    "gaussian-var-grad-quotient-overflow": _c(
        "gaussian_nll_loss",
        {},
        {"input": a([-15.25, 1.0]), "target": a([2.6328125, 1.0]), "var": a([0.0625, 1.0])},
        "float16",
    ),
    "poisson-exp-overflow": Case(
        "poisson_nll_loss",
        {"reduction": "none"},
        {"input": a([12.0, 1.0]), "target": a([3.0, 1.0])},
        "float16",
        cotangent=a([-1 / 256, 1.0]),
    ),
    "poisson-eps-lost-in-dtype": _c(
        "poisson_nll_loss",
        {"log_input": False},
        {"input": a([0.0, 1.0]), "target": a([3.0, 1.0])},
        "float16",
    ),
    "triplet-distance-overflow": _c(
        "triplet_margin_loss",
        {},
        {
            "anchor": a([[32768.0, 32768.0]]),
            "positive": a([[-32768.0, -32768.0]]),
            "negative": a([[-32768.0, -32768.0]]),
        },
        "float16",
    ),
    "cosine-epsilon": _c(
        "cosine_embedding_loss",
        {},
        {
            "input1": a([[0.0, 0.0], [1.0, 2.0]]),
            "input2": a([[1.0, 2.0], [3.0, 1.0]]),
            "target": a([1.0, 1.0]),
        },
    ),
    "cosine-norm-overflow": _c(
        "cosine_embedding_loss",
        {},
        {"input1": a([[200.0, 200.0]]), "input2": a([[1.0, 2.0]]), "target": a([1.0])},
        "float16",
    ),
    "cosine-norm-underflow": _c(
        "cosine_embedding_loss",
        {},
        {
            "input1": a([[2.0**-6, 0.0], [1.0, 2.0]]),
            "input2": a([[2.0**-6, 0.0], [2.0, 1.0]]),
            "target": a([1.0, 1.0]),
        },
        "float16",
    ),
    "cosine-hinge-subgradient": _c(
        "cosine_embedding_loss",
        {},
        {"input1": a([[1.0, 0.0]]), "input2": a([[0.0, 1.0]]), "target": a([-1.0])},
        "float32",
    ),
    "hinge-embedding-subgradient": _c(
        "hinge_embedding_loss", {}, {"input": a([1.0, 0.5]), "target": a([-1.0, -1.0])}
    ),
    "margin-ranking-subgradient": _c(
        "margin_ranking_loss",
        {},
        {"input1": a([1.0, 0.5]), "input2": a([1.0, 0.0]), "target": a([-1.0, 1.0])},
    ),
    "triplet-subgradient": _c(
        "triplet_margin_loss",
        {"eps": 0.0},
        {"anchor": a([[0.0, 0.0]]), "positive": a([[1.0, 0.0]]), "negative": a([[2.0, 0.0]])},
    ),
    "triplet-swap-tie-subgradient": _c(
        "triplet_margin_loss",
        {"swap": True, "margin": 0.5},
        {"anchor": a([[1.0, 2.0]]), "positive": a([[1.0, 2.0]]), "negative": a([[1.25, 2.0]])},
    ),
    "soft-margin-exp-overflow": _c(
        "soft_margin_loss", {}, {"input": a([-12.0, 0.5]), "target": a([1.0, 1.0])}, "float16"
    ),
    # invalid inputs torch accepts
    "cross-entropy-default-ignore-index": _c(
        "cross_entropy", {}, {"input": M, "target": a([0, -100])}
    ),
    "nll-loss-default-ignore-index": _c("nll_loss", {}, {"input": M, "target": a([0, -100])}),
    "cross-entropy-target-unchecked": _c(
        "cross_entropy",
        {"target_kind": "probability"},
        {"input": M, "target": a([[1.5, -0.5, 0.0], [0.2, 0.3, 0.5]])},
    ),
    "binary-cross-entropy-with-logits-target-unchecked": _c(
        "binary_cross_entropy_with_logits", {}, {"input": a([0.5, 0.3]), "target": a([1.5, -0.5])}
    ),
    "multilabel-soft-margin-loss-target-unchecked": _c(
        "multilabel_soft_margin_loss", {}, {"input": M, "target": a([[2.0, 0, 1], [0, 1, 0]])}
    ),
    "kl-div-target-unchecked": _c(
        "kl_div", {}, {"input": a([-0.5, -0.3]), "target": a([1.5, 0.5])}
    ),
    "cosine-embedding-loss-label-unchecked": _c(
        "cosine_embedding_loss",
        {},
        {"input1": a([[0.5, 0.3]]), "input2": a([[1.5, -0.5]]), "target": a([0.0])},
    ),
    "margin-ranking-loss-label-unchecked": _c(
        "margin_ranking_loss",
        {},
        {"input1": a([0.5, 0.3]), "input2": a([1.5, -0.5]), "target": a([2.0, 1.0])},
    ),
    "hinge-embedding-loss-label-unchecked": _c(
        "hinge_embedding_loss", {}, {"input": a([0.5, 0.3]), "target": a([0.0, 1.0])}
    ),
    "soft-margin-loss-label-unchecked": _c(
        "soft_margin_loss", {}, {"input": a([0.5, 0.3]), "target": a([2.0, 1.0])}
    ),
    # non-finite weights (the reference requires finite ones)
    "binary-cross-entropy-weight-unchecked": _c(
        "binary_cross_entropy",
        {},
        {"input": a([0.25, 0.5]), "target": a([1.0, 0.0]), "weight": a([inf, 1.0])},
    ),
    "binary-cross-entropy-with-logits-weight-unchecked": _c(
        "binary_cross_entropy_with_logits",
        {},
        {"input": a([0.25, 0.5]), "target": a([1.0, 0.0]), "weight": a([np.nan, 1.0])},
    ),
    "cross-entropy-weight-unchecked": _c(
        "cross_entropy", {}, {"input": M, "target": a([0, 2]), "weight": a([inf, 1.0, 1.0])}
    ),
    "nll-loss-weight-unchecked": _c(
        "nll_loss", {}, {"input": M, "target": a([0, 2]), "weight": a([np.nan, 1.0, 1.0])}
    ),
    "multi-margin-loss-weight-unchecked": _c(
        "multi_margin_loss", {}, {"input": M, "target": a([0, 2]), "weight": a([inf, 1.0, 1.0])}
    ),
    "multilabel-soft-margin-loss-weight-unchecked": _c(
        "multilabel_soft_margin_loss",
        {},
        {"input": M, "target": a([[1.0, 0, 1], [0, 1, 0]]), "weight": a([np.nan, 1.0, 1.0])},
    ),
    # broadcastable shapes the reference rejects (x: (3, 2) against (1, 2) unless stated)
    **{
        f"{loss.replace('_', '-')}-broadcasts-shapes": _c(loss, {}, arrays)
        for loss, arrays in {
            "mse_loss": {"input": np.ones((3, 2)), "target": np.zeros((1, 2))},
            "l1_loss": {"input": np.ones((3, 2)), "target": np.zeros((1, 2))},
            "huber_loss": {"input": np.ones((3, 2)), "target": np.zeros((1, 2))},
            "smooth_l1_loss": {"input": np.ones((3, 2)), "target": np.zeros((1, 2))},
            "kl_div": {"input": -np.ones((3, 2)), "target": np.full((1, 2), 0.5)},
            "poisson_nll_loss": {"input": np.ones((3, 2)), "target": np.full((1, 2), 2.0)},
            "hinge_embedding_loss": {"input": np.ones((3, 2)), "target": -np.ones((1, 2))},
            "multilabel_soft_margin_loss": {"input": M, "target": a([[0.0, 1.0, 0.0]])},
            "soft_margin_loss": {"input": np.ones((3, 2)), "target": -np.ones((1, 2))},
            "margin_ranking_loss": {
                "input1": a([1.0, 2.0, 3.0]),
                "input2": a([2.0]),
                "target": a([1.0, -1.0, 1.0]),
            },
            "triplet_margin_loss": {
                "anchor": np.ones((3, 2)),
                "positive": np.zeros((1, 2)),
                "negative": np.full((3, 2), 2.0),
            },
            "cosine_embedding_loss": {
                "input1": np.ones((3, 2)),
                "input2": a([[1.0, -1.0]]),
                "target": a([1.0, -1.0, 1.0]),
            },
            "gaussian_nll_loss": {
                "input": np.ones((3, 2)),
                "target": np.zeros((3, 2)),
                "var": np.ones((1, 2)),
            },
            "binary_cross_entropy": {
                "input": np.full((3, 4), 0.5),
                "target": np.full((3, 4), 0.25),
                "weight": np.ones((1, 4)),
            },
            "binary_cross_entropy_with_logits": {
                "input": np.ones((3, 4)),
                "target": np.full((3, 4), 0.25),
                "weight": np.ones((3, 4)),
            },
            "cross_entropy": {"input": a([0.1, 0.2, 0.3]), "target": a([1])},
            "nll_loss": {
                "input": np.zeros((3, 4, 2)),
                "target": np.zeros((3, 2), np.int64),
                "weight": np.ones((1, 4)),
            },
            "multi_margin_loss": {"input": np.ones((1, 4)), "target": a(2)},
        }.items()
    },
}


# How far a result may be from the reference rounded to the dtype before it counts as different:
# the reproductions are qualitative (inf or NaN against a number, percent-level shifts), so this
# only has to sit above the dtype's rounding noise.
RTOL = {"float64": 1e-6, "float32": 1e-4, "float16": 5e-3, "bfloat16": 3e-2}


def _differs(got, expected, dtype: str) -> bool:
    """Different beyond rounding; the reference is rounded first, so an overflow to inf agrees."""
    got, expected = np.asarray(got, float), R.round_to(np.asarray(expected, float), dtype)
    if got.shape != expected.shape:
        return True
    return not np.allclose(got, expected, rtol=RTOL[dtype], atol=1e-9, equal_nan=True)


def _torch_differs(adapter, case: Case, affects: tuple[str, ...]) -> list[str]:
    """The parts of the comparison where torch and the reference disagree on this case."""
    out = adapter.run(case)
    try:
        value, grads = R.value_and_vjp(
            case.loss, case.rounded(), case.params, case.rounded_cotangent()
        )
    except R.InvalidInput:
        return ["error"] if out.error is None else []
    if out.error is not None:
        return ["error"]
    parts = ["value"] if _differs(out.value, value, case.dtype) else []
    if any(_differs(g, grads[n], case.dtype) for n, g in out.grads.items()) or out.grad_errors:
        parts.append("grad")
    return [p for p in parts if p in affects]


def test_every_registry_entry_has_a_reproduction(torch_adapter):
    ids = [d.id for d in torch_adapter.divergences()]
    assert len(ids) == len(set(ids)), "divergence ids must be unique"
    assert set(ids) == set(REPRODUCTIONS)


@pytest.mark.parametrize("entry_id", sorted(REPRODUCTIONS))
def test_divergence_reproduces_where_its_predicate_holds(torch_adapter, entry_id):
    entry = next(d for d in torch_adapter.divergences() if d.id == entry_id)
    case = REPRODUCTIONS[entry_id]
    assert entry.citation.startswith("https://")
    assert entry.applies(case, torch_adapter.version()), f"{entry_id} does not apply to its case"
    assert _torch_differs(torch_adapter, case, entry.affects), (
        f"{entry_id}: torch agrees with the reference on its reproduction (stale entry?)"
    )


@pytest.mark.parametrize("entry_id", sorted(REPRODUCTIONS))
def test_every_difference_on_a_reproduction_is_explained(torch_adapter, entry_id):
    """Overlapping entries together explain all that differs (as the conformance run requires)."""
    case, version = REPRODUCTIONS[entry_id], torch_adapter.version()
    applying = [d for d in torch_adapter.divergences() if d.applies(case, version)]
    differing = _torch_differs(torch_adapter, case, ("value", "grad", "error"))
    assert all(any(part in d.affects for d in applying) for part in differing)


def _ordinary_case(entry, dtype: str) -> Case | None:
    """A sampled valid case of the entry's loss, in a configuration its ``where`` selects."""
    spec = R.get(entry.loss)
    for config in R.all_configs(spec):
        if all(config.get(k) == v for k, v in entry.where.items()):
            params, _ = R.split(spec, config)
            arrays = sample_arrays(spec, config, _rng(entry.id))
            cot = None
            if params["reduction"] == "none":
                cot = np.ones(output_shape(spec, arrays, params))
            return Case(spec.name, params, arrays, dtype, cotangent=cot)
    return None


@pytest.mark.parametrize(
    "entry_id", sorted(i for i in REPRODUCTIONS if i != "multi-margin-no-half-cpu")
)
def test_divergence_does_not_cover_ordinary_inputs(torch_adapter, entry_id):
    """Narrowness: a plain sampled input in float32 is not covered by the entry."""
    entry = next(d for d in torch_adapter.divergences() if d.id == entry_id)
    case = _ordinary_case(entry, "float32")
    assert case is not None
    assert not entry.applies(case, torch_adapter.version())


def test_multi_margin_half_entry_is_limited_to_half_precision_on_cpu(torch_adapter):
    entry = next(d for d in torch_adapter.divergences() if d.id == "multi-margin-no-half-cpu")
    for dtype in ("float16", "bfloat16"):
        case = dataclasses.replace(REPRODUCTIONS[entry.id], dtype=dtype)
        assert entry.applies(case, torch_adapter.version())
        assert "not implemented" in torch_adapter.run(case).error.message
    float32 = dataclasses.replace(REPRODUCTIONS[entry.id], dtype="float32")
    assert not entry.applies(float32, torch_adapter.version())
    assert torch_adapter.run(float32).error is None
