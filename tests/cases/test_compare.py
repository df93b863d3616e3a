"""The comparison, tested with planted faults it must catch and rounding noise it must tolerate.

Every planted fault is built from the *reference*: its result perturbed the way the bug would
perturb it, or the reference evaluated with the wrong parameter — never a number taken from the
code under test.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

import reference as R
from adapters import FrameworkError, Outcome
from cases import tolerance
from cases.compare import compare, expected
from cases.sampling import output_shape, sample_arrays
from reference import Case, shapes


def ordinary_cases(dtype: str, reductions=("mean", "sum", "none", "batchmean")):
    """Every configuration × layout with inputs at scale 1, rounded to ``dtype``."""
    for spec in R.REGISTRY.values():
        for config in R.all_configs(spec):
            params, _ = R.split(spec, config)
            if params["reduction"] not in reductions:
                continue
            full = {**spec.defaults(), **params}
            rng = np.random.default_rng(zlib.crc32(R.config_id(spec, config).encode()))
            for layout in shapes.layouts_for(spec.layouts, full):
                arrays = sample_arrays(spec, config, rng, layout=layout, scale=1.0)
                try:
                    R.validate(spec.name, arrays, params)
                except R.InvalidInput:
                    continue
                cot = None
                if params["reduction"] == "none":
                    cot = rng.standard_normal(output_shape(spec, arrays, params))
                label = f"{R.config_id(spec, config)} {layout.name}"
                yield Case(spec.name, params, arrays, dtype, cotangent=cot, label=label)


def reference_of(case: Case, **changed):
    """The reference's value and gradients for ``case``, optionally with changed parameters."""
    params = {**case.params, **changed}
    return R.value_and_vjp(case.loss, case.rounded(), params, case.rounded_cotangent())


def judge(case: Case, value, grads=None) -> object:
    return compare(case, expected(case), Outcome(value=np.asarray(value), grads=grads or {}))


# --- planted faults -----------------------------------------------------------------------------


def ill_conditioned(case: Case, result, part: str = "value", where=None) -> bool:
    """Whether the definition's terms are over 1e3 times the result (``part``: "value" or an
    argument's gradient, at the flat index ``where``): ntxent's softplus(λ − S) of 1e-10 comes from
    λ and S of size 1/τ, its gradient σ(λ − S) from a softmax probability's 1 − p. A planted
    1e-3 change there is within the rounding of the terms any implementation adds: no honest
    tolerance sees it."""
    s = tolerance.scales(case.loss, case.rounded(), case.params, case.rounded_cotangent())
    terms = np.asarray(s.value if part == "value" else s.grads[part])
    result = np.asarray(result)
    if where is not None:
        terms, result = np.broadcast_to(terms, result.shape).flat[where], result.flat[where]
    with np.errstate(divide="ignore", invalid="ignore"):
        return bool(np.any(terms > 1e3 * np.abs(result)))


def test_planted_relative_error_1e3_in_float32_is_caught_for_every_loss():
    checked = skipped = 0
    for case in ordinary_cases("float32"):
        value, grads = reference_of(case)
        if not np.any(value) or not np.all(np.isfinite(value)):
            continue
        result = judge(case, value * (1 + 1e-3), grads)
        if result.verdict != "mismatch" and ill_conditioned(case, value):
            skipped += 1
            continue
        assert result.verdict == "mismatch", (case.label, result.detail)
        assert result.part == "value"
        assert result.value_ulp > result.bound_value_ulp
        assert 9e-4 < result.value_rel < 1.1e-3
        checked += 1
    assert checked > 500 and skipped < checked / 50, (checked, skipped)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_planted_mean_dividing_by_N_times_C_instead_of_N_kl_div(dtype):
    """kl_div's batchmean divides by N; the bug divides by all N·C elements (torch's 'mean')."""
    rng = np.random.default_rng(1)
    x = np.log(rng.dirichlet(np.ones(5), size=4))
    t = rng.dirichlet(np.ones(5), size=4)
    case = Case("kl_div", {"reduction": "batchmean"}, {"input": x, "target": t}, dtype)
    value, grads = reference_of(case, reduction="mean")
    result = judge(case, value, grads)
    assert result.verdict == "mismatch"
    assert set(result.failed) == {"value", "grad:input", "grad:target"}


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_planted_mean_dividing_by_N_times_C_instead_of_N_cross_entropy(dtype):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 3))
    y = rng.integers(0, 3, 6)
    case = Case("cross_entropy", {"reduction": "mean"}, {"input": x, "target": y}, dtype)
    total, grads = reference_of(case, reduction="sum")
    result = judge(case, total / x.size, {k: g / x.size for k, g in grads.items()})
    assert result.verdict == "mismatch"
    assert result.part == "value"
    assert "grad:input" in result.failed


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_planted_ignore_index_items_counted_in_the_denominator(loss, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 4))
    y = np.array([0, -100, 2, 3, -100, 1, 1, 0])
    params = {"ignore_index": -100, "reduction": "mean"}
    case = Case(loss, params, {"input": x, "target": y}, dtype)
    total, grads = reference_of(case, reduction="sum")
    n_all = y.size  # the bug: ignored items counted
    result = judge(case, total / n_all, {k: g / n_all for k, g in grads.items()})
    assert result.verdict == "mismatch"
    assert result.part == "value"
    # the same planted fault with the right denominator is no fault at all
    kept = np.count_nonzero(y != -100)
    assert judge(case, total / kept, {k: g / kept for k, g in grads.items()}).verdict == "match"


def test_planted_gradient_with_one_sign_flipped_is_caught_for_every_loss():
    checked = skipped = 0
    for case in ordinary_cases("float32"):
        value, grads = reference_of(case)
        if not np.all(np.isfinite(value)):
            continue
        for name, grad in grads.items():
            if not np.any(grad):
                continue
            flipped = grad.copy()
            at = int(np.argmax(np.abs(grad)))
            flipped.flat[at] *= -1
            result = judge(case, value, {**grads, name: flipped})
            if result.verdict != "mismatch" and ill_conditioned(case, grad, name, at):
                skipped += 1
                continue
            assert result.verdict == "mismatch", (case.label, name, result.detail)
            assert result.failed == (f"grad:{name}",)
            assert result.part == f"grad:{name}"
            assert result.value_ulp <= result.bound_value_ulp
            checked += 1
    assert checked > 500 and skipped < checked / 50, (checked, skipped)


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
def test_planted_nan_where_the_reference_is_finite(dtype):
    for reduction in ("mean", "none"):
        x = np.array([0.5, -1.25, 2.0])
        cot = np.ones(3) if reduction == "none" else None
        case = Case(
            "mse_loss", {"reduction": reduction}, {"input": x, "target": -x}, dtype, cotangent=cot
        )
        value, grads = reference_of(case)
        got = np.array(value, dtype=float)
        got.flat[-1] = np.nan
        result = judge(case, got, grads)
        assert result.verdict == "mismatch"
        assert result.part == "value"
        assert math.isinf(result.value_ulp) and math.isinf(result.value_rel)
        assert "NaN/inf" in result.detail


def _smoothed_over_c_minus_1(y: np.ndarray, n_classes: int, eps: float) -> np.ndarray:
    """The wrong smoothing: 1 − ε on the target class, ε/(C − 1) on each other class."""
    q = np.full((y.size, n_classes), eps / (n_classes - 1))
    q[np.arange(y.size), y] = 1.0 - eps
    return q


@pytest.mark.parametrize("n_classes", [3, 4, 10])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_planted_label_smoothing_eps_over_c_minus_1(n_classes, dtype):
    rng = np.random.default_rng(n_classes)
    x = rng.standard_normal((5, n_classes))
    y = rng.integers(0, n_classes, 5)
    params = {"label_smoothing": 0.1, "reduction": "mean"}
    case = Case("cross_entropy", params, {"input": x, "target": y}, dtype)
    # the reference evaluated with the wrong target distribution (no weights: both means / N)
    wrong = {
        "input": case.rounded()["input"],
        "target": _smoothed_over_c_minus_1(y, n_classes, 0.1),
    }
    value, grads = R.value_and_vjp("cross_entropy", wrong, {"target_kind": "probability"})
    result = judge(case, value, {"input": grads["input"]})
    assert result.verdict == "mismatch", result.detail
    assert result.part == "value"
    assert "grad:input" in result.failed


# --- noise to tolerate --------------------------------------------------------------------------

BIG = 10_000_000


def _large_mse_case():
    x = np.random.default_rng(7).uniform(0.5, 1.5, BIG)
    case = Case("mse_loss", {"reduction": "mean"}, {"input": x, "target": np.zeros(BIG)}, "float32")
    squares = case.rounded()["input"].astype(np.float32) ** 2  # elementwise, rounded to float32
    return case, squares


@pytest.mark.slow
def test_float32_pairwise_mean_over_1e7_elements_matches():
    case, squares = _large_mse_case()
    got = np.sum(squares, dtype=np.float32) / np.float32(BIG)  # NumPy sums float32 pairwise
    result = compare(case, expected(case), Outcome(value=np.asarray(got, dtype=float)))
    assert result.verdict == "match", result.detail
    assert result.value_ulp <= 4  # measured: 0.17 ULP (bound 17.4)
    assert result.n_reduced == BIG
    assert set(result.missing_grads) == {"input", "target"}  # noted, not a mismatch


@pytest.mark.slow
def test_sequential_float32_sum_over_1e7_elements_fails():
    case, squares = _large_mse_case()
    got = np.cumsum(squares, dtype=np.float32)[-1] / np.float32(BIG)
    result = compare(case, expected(case), Outcome(value=np.asarray(got, dtype=float)))
    assert result.verdict == "mismatch"
    assert result.value_ulp > 100 * result.bound_value_ulp  # measured: 8989 ULP against 17.4
    assert result.value_rel > 5e-4  # measured: 9.9e-4


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_correctly_rounded_results_of_ordinary_values_match(dtype):
    checked = 0
    for case in ordinary_cases(dtype):
        value, grads = reference_of(case)
        rounded = {k: R.round_to(g, dtype) for k, g in grads.items()}
        result = judge(case, R.round_to(value, dtype), rounded)
        assert result.verdict == "match", (case.label, result.detail)
        assert result.value_ulp <= 0.5 and (result.grad_ulp is None or result.grad_ulp <= 0.5)
        checked += 1
    assert checked > 500


# --- the verdicts around errors, shapes and missing gradients ------------------------------------


def _invalid_case():
    return Case("binary_cross_entropy", {}, {"input": np.array([1.5]), "target": np.array([1.0])})


def test_both_raise_is_a_match():
    err = FrameworkError("RuntimeError", "all elements of input should be between 0 and 1")
    result = compare(_invalid_case(), expected(_invalid_case()), Outcome(error=err))
    assert result.verdict == "match"
    assert result.error == err
    assert "both raise" in result.detail


def test_reference_raises_framework_returns_is_an_error_mismatch_keeping_the_number():
    case = _invalid_case()
    result = compare(case, expected(case), Outcome(value=np.asarray(-0.4054)))
    assert result.verdict == "error-mismatch"
    assert result.part == "error" and result.failed == ("error",)
    assert float(result.got_value) == -0.4054
    assert "InvalidInput" in result.detail


def test_reference_raises_framework_returns_nan_is_an_error_mismatch():
    case = _invalid_case()
    result = compare(case, expected(case), Outcome(value=np.asarray(np.nan)))
    assert result.verdict == "error-mismatch"


def test_framework_raises_where_the_reference_returns_is_a_crash_keeping_type_and_message():
    case = Case("mse_loss", {}, {"input": np.ones(3), "target": np.zeros(3)}, "float16")
    err = FrameworkError("RuntimeError", "\"mse_cpu\" not implemented for 'Half'")
    result = compare(case, expected(case), Outcome(error=err))
    assert result.verdict == "crash"
    assert result.error.type == "RuntimeError" and "Half" in result.error.message
    assert result.part == "error"


def test_an_outcome_with_neither_value_nor_error_is_a_crash():
    case = Case("mse_loss", {}, {"input": np.ones(3), "target": np.zeros(3)})
    result = compare(case, expected(case), Outcome())
    assert result.verdict == "crash"
    assert result.error.type == "NoResult"


def test_a_shape_difference_is_a_mismatch():
    case = Case("mse_loss", {"reduction": "mean"}, {"input": np.ones(3), "target": np.zeros(3)})
    value, grads = reference_of(case)
    result = judge(case, np.reshape(value, (1,)), grads)
    assert result.verdict == "mismatch"
    assert result.part == "shape"
    assert math.isinf(result.value_ulp)
    assert "shape (1,)" in result.detail


def test_a_gradient_of_the_wrong_shape_is_a_mismatch_of_that_gradient():
    case = Case("mse_loss", {"reduction": "sum"}, {"input": np.ones(3), "target": np.zeros(3)})
    value, grads = reference_of(case)
    result = judge(case, value, {**grads, "target": grads["target"][:2]})
    assert result.failed == ("grad:target",)


def test_a_gradient_the_framework_cannot_produce_is_noted_not_a_mismatch():
    case = Case(
        "gaussian_nll_loss",
        {},
        {"input": np.ones(3), "target": np.zeros(3), "var": np.full(3, 0.5)},
    )
    value, grads = reference_of(case)
    outcome = Outcome(
        value=np.asarray(value),
        grads={"input": grads["input"], "target": grads["target"]},
        grad_errors={"var": "RuntimeError: derivative for var is not implemented"},
    )
    result = compare(case, expected(case), outcome)
    assert result.verdict == "match"
    assert result.missing_grads == {"var": "RuntimeError: derivative for var is not implemented"}
    assert "no gradient for var" in result.detail


def test_the_reference_is_evaluated_on_inputs_rounded_to_the_dtype():
    case = Case(
        "l1_loss",
        {"reduction": "sum"},
        {"input": np.array([0.1]), "target": np.zeros(1)},
        "float32",
    )
    assert float(expected(case).value) == float(np.float32(0.1))


def test_match_detail_reads_as_one_line():
    case = Case("mse_loss", {}, {"input": np.array([1.5, 2.0]), "target": np.zeros(2)}, "float32")
    value, grads = reference_of(case)
    result = judge(case, value, grads)
    assert result.verdict == "match" and result.part is None
    assert "\n" not in result.detail
    assert result.detail.startswith("value 3.125 vs reference 3.125: 0 ULP ≤")


def test_mismatch_detail_names_numbers_ulps_and_bound():
    case = Case("mse_loss", {}, {"input": np.array([1.5, 2.0]), "target": np.zeros(2)}, "float32")
    value, grads = reference_of(case)
    result = judge(case, value * (1 + 1e-3), grads)
    assert result.detail.startswith("value 3.128125 vs reference 3.125: ")
    assert " ULP > " in result.detail


# --- kinds of difference and result fidelity ------------------------------------------------------


def _mse(dtype="float32", reduction="none"):
    x = np.array([0.5, -1.25, 2.0])
    cot = np.ones(3) if reduction == "none" else None
    return Case(
        "mse_loss", {"reduction": reduction}, {"input": x, "target": -x}, dtype, cotangent=cot
    )


@pytest.mark.parametrize(
    ("planted", "kind"),
    [
        (lambda v: v * 1.01, "beyond-tolerance"),
        (lambda v: np.where(np.arange(v.size) == 0, np.nan, v), "nan-where-finite"),
        (lambda v: np.where(np.arange(v.size) == 0, np.inf, v), "inf-where-finite"),
    ],
)
def test_a_failed_value_has_its_kind_of_difference(planted, kind):
    case = _mse()
    value, grads = reference_of(case)
    result = judge(case, planted(np.asarray(value, dtype=float)), grads)
    assert result.failed == ("value",)
    assert result.kind("value") == kind
    assert result.signature("value") == f"value|{kind}"


def test_a_finite_number_where_the_reference_is_infinite_and_a_nan_where_it_is_inf():
    case = Case(
        "binary_cross_entropy",
        {"reduction": "none"},
        {"input": np.array([0.0, 0.5]), "target": np.array([1.0, 1.0])},
        cotangent=np.ones(2),
    )
    value, grads = reference_of(case)
    assert np.isinf(value[0])
    finite = judge(case, np.array([100.0, value[1]]), grads)
    assert finite.kind("value") == "finite-where-nonfinite"
    nan = judge(case, np.array([np.nan, value[1]]), grads)
    assert nan.kind("value") == "nonfinite-differs"


def test_a_gradient_of_another_shape_is_a_shape_difference_of_that_gradient():
    case = _mse(reduction="mean")
    value, grads = reference_of(case)
    result = judge(case, value, {**grads, "input": grads["input"][:2]})
    assert result.failed == ("grad:input",)
    assert result.kind("grad:input") == "shape"


def test_errors_have_their_kinds():
    crash = compare(_mse(), expected(_mse()), Outcome(error=FrameworkError("RuntimeError", "x")))
    assert crash.signature("error") == "error|raised-on-valid"
    bad = Case(
        "binary_cross_entropy",
        {"reduction": "mean"},
        {"input": np.array([1.5]), "target": np.array([1.0])},
    )
    accepted = compare(bad, expected(bad), Outcome(value=np.array(0.5)))
    assert accepted.signature("error") == "error|accepted-invalid"


@pytest.mark.parametrize("returned", ["float32", "float64"])
def test_a_float16_case_returned_in_another_dtype_fails_on_dtype(returned):
    """Result fidelity: the numbers may even agree; the dtype the framework returned does not."""
    case = _mse("float16", "mean")
    value, grads = reference_of(case)
    outcome = Outcome(
        value=np.asarray(value),
        grads=grads,
        value_dtype=returned,
        grad_dtypes={name: "float16" for name in grads},
    )
    result = compare(case, expected(case), outcome)
    assert result.verdict == "mismatch"
    assert result.failed == ("dtype",) and result.part == "dtype"
    assert result.signature("dtype") == "dtype|dtype"
    assert f"value {returned} returned for a float16 case" in result.detail


def test_a_gradient_in_another_dtype_fails_on_dtype_and_the_right_dtypes_pass():
    case = _mse("bfloat16", "mean")
    value, grads = reference_of(case)
    right = {name: "bfloat16" for name in grads}
    ok = compare(
        case,
        expected(case),
        Outcome(np.asarray(value), grads, value_dtype="bfloat16", grad_dtypes=right),
    )
    assert ok.verdict == "match"
    wrong = compare(
        case,
        expected(case),
        Outcome(
            np.asarray(value),
            grads,
            value_dtype="bfloat16",
            grad_dtypes={**right, "target": "float32"},
        ),
    )
    assert wrong.failed == ("dtype",) and "grad of target float32" in wrong.detail
