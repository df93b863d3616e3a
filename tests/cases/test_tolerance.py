"""The tolerance policy: its term scales, its bound, and its handling of non-finite numbers.

The "correct arithmetic" tests evaluate textbook float32 formulas in NumPy at ill-conditioned
points (a loss that is a difference of large terms) and check two things: the bound accepts them,
and a bound relative to the result alone would not — which is why the term scales exist.
"""

from __future__ import annotations

import dataclasses
import math
import zlib

import numpy as np
import pytest

import reference as R
from cases import tolerance as T
from cases.sampling import output_shape, sample_arrays
from reference import core, shapes

F32 = np.float32


def _cases(scales=(0.01, 1.0, 30.0)):
    """Every configuration × layout × scale, with a cotangent for ``none``."""
    for spec in R.REGISTRY.values():
        for config in R.all_configs(spec, reference_only=True):
            params, _ = R.split(spec, config)
            full = {**spec.defaults(), **params}
            seed = zlib.crc32(R.config_id(spec, config).encode())
            rng = np.random.default_rng(seed)
            for layout in shapes.layouts_for(spec.layouts, full):
                for scale in scales:
                    arrays = sample_arrays(spec, config, rng, layout=layout, scale=scale)
                    try:
                        R.validate(spec.name, arrays, params)
                    except R.InvalidInput:
                        continue
                    cot = None
                    if params["reduction"] == "none":
                        cot = rng.standard_normal(output_shape(spec, arrays, params))
                    yield spec, params, arrays, cot


CASES = list(_cases())


@pytest.mark.parametrize("name", R.names())
def test_every_loss_declares_its_term_scale(name):
    spec = R.get(name)
    assert spec.term_scale is not None, (
        f"{name} declares no term scale: add term_scale=TermScale(value, grads) to its LossSpec "
        f"in reference/{spec.family}.py"
    )


def test_a_loss_without_a_term_scale_is_told_where_to_declare_it(monkeypatch):
    spec = R.get("huber_loss")
    monkeypatch.setitem(R.REGISTRY, spec.name, dataclasses.replace(spec, term_scale=None))
    with pytest.raises(LookupError, match=r"huber_loss .*term_scale=.* reference/regression\.py"):
        T.scales(spec.name, {"input": np.zeros(2), "target": np.ones(2)}, {"reduction": "sum"})


def test_value_term_scale_bounds_the_elementwise_loss():
    """The terms of a sum are at least as large as the sum: T_i ≥ |ℓ_i| everywhere."""
    for spec, params, arrays, _ in CASES:
        arrs, full, _ = core.validate(spec, arrays, params)
        with np.errstate(all="ignore"):
            loss = spec.elementwise(arrs, full).loss
            terms = T.term_scale(spec.name).value(arrs, full, loss)
        assert terms.shape == loss.shape, spec.name
        assert np.all(terms >= np.abs(loss) * (1 - 1e-12)), (spec.name, params)


def test_gradient_term_scale_bounds_the_gradient():
    for spec, params, arrays, cot in CASES:
        _, grads = R.value_and_vjp(spec.name, arrays, params, cot)
        scales = T.scales(spec.name, arrays, params, cot)
        assert set(grads) <= set(scales.grads), spec.name
        for name, grad in grads.items():
            assert scales.grads[name].shape == grad.shape, (spec.name, name)
            assert np.all(np.abs(grad) <= scales.grads[name] * (1 + 1e-9)), (spec.name, name)


def test_scales_follow_the_reduction():
    """mean: S = Σ T_i / N; sum: Σ T_i; none: T_i itself, so sum = N · mean."""
    x = np.array([0.5, -1.25, 2.0, 3.0])
    y = np.array([0.0, 1.0, 0.5, -1.0])
    arrays = {"input": x, "target": y}
    mean = T.scales("l1_loss", arrays, {"reduction": "mean"})
    total = T.scales("l1_loss", arrays, {"reduction": "sum"})
    none = T.scales("l1_loss", arrays, {"reduction": "none"}, np.ones(4))
    np.testing.assert_allclose(none.value, np.abs(x - y))
    assert float(total.value) == pytest.approx(4 * float(mean.value))
    assert (mean.n, total.n, none.n) == (4, 4, 1)


def test_fan_in_counts_inputs_per_output_number():
    arrays = {"input": np.zeros((5, 7)), "target": np.zeros(5, dtype=np.int64)}
    assert T.fan_in(arrays, 1) == 35
    assert T.fan_in(arrays, 5) == 7


def test_k_grows_with_log2_of_the_reduction():
    assert T.k(1) == T.K_VALUE
    assert T.k(1024) == T.K_VALUE + 10 * T.K_SUM
    assert T.k(1024, T.K_GRAD) == T.K_GRAD + 10 * T.K_SUM


def test_unit_roundoff_per_dtype():
    assert T.unit_roundoff("float32") == 2.0**-24
    assert T.unit_roundoff("float64") == 2.0**-53
    assert T.unit_roundoff("float16") == 2.0**-11
    assert T.unit_roundoff("bfloat16") == 2.0**-8


# --- the bound at a single number --------------------------------------------------------------


def _passes(got, ref, scale, dtype, n=1, constant=T.K_VALUE):
    allowed = T.bound(np.asarray(ref), np.asarray(scale), 1.0, dtype, n, constant)
    return T.check(np.asarray(got), np.asarray(ref), allowed, dtype).ok


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_correctly_rounded_results_always_pass_even_with_a_tiny_scale(dtype):
    ref = np.array([1.0 / 3.0, 2.0 / 3.0, 1e-3 / 7, 12345.678 / 7])
    got = R.round_to(ref, dtype)
    assert not np.array_equal(got, ref)
    assert _passes(got, ref, np.zeros_like(ref), dtype)


def test_flush_to_zero_of_a_subnormal_float32_result_passes():
    ref = np.array(1.5e-40)  # subnormal in float32
    assert _passes(0.0, ref, ref, "float32")


def test_float16_keeps_subnormals():
    ref = np.array(3.0e-6)  # float16 subnormal; flushing it to zero is a 100 % error
    assert not _passes(0.0, ref, ref, "float16")


# --- correct float32 arithmetic at ill-conditioned points ---------------------------------------


def _relative_only_passes(got, ref, dtype="float32"):
    """A bound relative to the result alone: ½ ulp + K·u·|ref|."""
    return _passes(got, ref, np.abs(ref), dtype)


def _check_case(loss, arrays, params, got, dtype="float32"):
    cot = np.ones(np.shape(got)) if params.get("reduction") == "none" else None
    ref, _ = R.value_and_vjp(loss, arrays, params, cot)
    sc = T.scales(loss, arrays, params, cot)
    allowed = T.bound(ref, sc.value, sc.floor, dtype, sc.n, T.K_VALUE)
    return T.check(got, ref, allowed, dtype), ref


def test_bce_with_logits_at_a_confident_logit_torch_formula():
    """The formula torch documents, (1 − y)x + m + log(e^−m + e^(−x−m)) with m = max(−x, 0),
    evaluated in float32: log(1 + e^−9) loses ~u, about 1900 float32 ULPs of the result 1.234e-4
    (torch's own kernel is more accurate here; another framework need not be)."""
    x, y = F32(9.0), F32(1.0)
    m = max(-x, F32(0))
    got = float((F32(1) - y) * x + m + np.log(np.exp(-m) + np.exp(-x - m)))
    chk, ref = _check_case(
        "binary_cross_entropy_with_logits",
        {"input": np.array([9.0]), "target": np.array([1.0])},
        {"reduction": "sum"},
        got,
    )
    assert chk.ok, chk
    assert not _relative_only_passes(got, ref)


def test_bce_with_logits_keras_formula_at_large_logits():
    """Keras: relu(x) − x·y + log1p(e^−|x|): terms of size |x| cancel."""
    x = np.array([30.0, -25.0, 12.5], dtype=F32)
    y = np.array([0.984375, 0.0078125, 0.9990234375], dtype=F32)
    got = np.maximum(x, F32(0)) - x * y + np.log1p(np.exp(-np.abs(x)))
    chk, _ = _check_case(
        "binary_cross_entropy_with_logits",
        {"input": x.astype(float), "target": y.astype(float)},
        {"reduction": "none"},
        got.astype(float),
    )
    assert chk.ok, chk


def test_cross_entropy_of_a_confident_prediction_stable_log_softmax():
    x = np.array([[12.0, 0.0, -3.0], [4.0, 4.5, 0.0]], dtype=F32)
    target = np.array([0, 1])
    z = x - x.max(axis=1, keepdims=True)
    log_p = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    got = -log_p[np.arange(2), target]
    chk, ref = _check_case(
        "cross_entropy",
        {"input": x.astype(float), "target": target},
        {"reduction": "none"},
        got.astype(float),
    )
    assert chk.ok, chk
    assert not _relative_only_passes(got.astype(float), ref)


def test_log_cosh_at_small_differences_keras_formula():
    d = np.array([1e-3, -2.5e-3, 4e-2], dtype=F32)
    got = d + np.logaddexp(F32(0), F32(-2) * d) - np.log(F32(2))
    arrays = {"input": d.astype(float), "target": np.zeros(3)}
    chk, ref = _check_case("log_cosh", arrays, {"reduction": "none"}, got.astype(float))
    assert chk.ok, chk
    assert not _relative_only_passes(got.astype(float), ref)


def test_cosine_of_nearly_parallel_vectors():
    x1 = np.array([1.0, 2.0, 3.0], dtype=F32)
    x2 = (x1 * F32(1.0001)).astype(F32) + np.array([0, 1e-4, 0], dtype=F32)
    cos = np.dot(x1, x2) / np.sqrt(np.dot(x1, x1) * np.dot(x2, x2))
    got = F32(1) - cos
    arrays = {"input1": x1.astype(float), "input2": x2.astype(float), "target": np.array(1.0)}
    chk, ref = _check_case("cosine_embedding_loss", arrays, {"reduction": "sum"}, float(got))
    assert chk.ok, chk
    assert not _relative_only_passes(float(got), ref)


def test_float32_softplus_sum_of_many_confident_logits():
    x = np.random.default_rng(0).uniform(5, 15, 4096).astype(F32)
    per = (x * F32(0)) + np.log(np.exp(F32(0)) + np.exp(-x))  # torch's form, y = 1
    got = float(np.sum(per, dtype=F32))
    arrays = {"input": x.astype(float), "target": np.ones(4096)}
    chk, _ = _check_case("binary_cross_entropy_with_logits", arrays, {"reduction": "sum"}, got)
    assert chk.ok, chk


F16 = np.float16
TRIPLET = {
    "anchor": np.array([0.5, -1.0, 2.0]),
    "positive": np.array([0.0, -1.5, 1.5]),
    "negative": np.array([0.5, -1.0, 2.0]),  # anchor == negative: d(a, n) = √3·eps
}


def _float16_triplet_anchor_grad(arrays) -> np.ndarray:
    """∂/∂anchor of d(a, p) − d(a, n) as torch evaluates it in float16: the difference plus eps
    rounded to float16, the norm accumulated in float32 and rounded once, then v/d in float16."""

    def unit(u, w):
        v = (F16(u - w) + F16(1e-6)).astype(F16)
        d = F16(np.sqrt(np.sum(v.astype(F32) ** 2)))
        return (v / d).astype(F16)

    a, p, n = (arrays[k].astype(F16) for k in ("anchor", "positive", "negative"))
    return (unit(a, p) - unit(a, n)).astype(float)


def _triplet_grad_check(arrays, got, grad_floor=None):
    params = {"reduction": "sum"}
    _, grads = R.value_and_vjp("triplet_margin_loss", arrays, params)
    sc = T.scales("triplet_margin_loss", arrays, params)
    floor = sc.grad_floor if grad_floor is None else grad_floor
    allowed = T.bound(grads["anchor"], sc.grads["anchor"], floor, "float16", sc.n, T.K_GRAD)
    return T.check(got, grads["anchor"], allowed, "float16")


def test_triplet_gradient_at_a_float16_subnormal_distance():
    """d(a, n) = √3·1.0133e-6 is subnormal in float16: its one rounding (2^-25 absolute) moves
    v/d by 1.6 % (0.5864 instead of 0.5774), far beyond K·u of the gradient's terms, yet every
    operation rounds correctly. The triplet's share of F (η/d per distance) accepts it; F = 1 + c
    alone does not."""
    got = _float16_triplet_anchor_grad(TRIPLET)
    assert np.all(np.abs(got) > 0.005)  # the reference is 0 up to float64 rounding
    assert _triplet_grad_check(TRIPLET, got).ok
    assert not _triplet_grad_check(TRIPLET, got, grad_floor=2.0).ok


def test_triplet_floor_leaves_ordinary_distances_alone():
    """At distances of order 1 the share is ~1/d: η/d is 10⁻⁴ of K·u·G in float16, so a 2 %
    error in the anchor's gradient still fails."""
    arrays = {**TRIPLET, "negative": TRIPLET["anchor"] + np.array([1.0, 0.5, -0.5])}
    _, grads = R.value_and_vjp("triplet_margin_loss", arrays, {"reduction": "sum"})
    sc = T.scales("triplet_margin_loss", arrays, {"reduction": "sum"})
    share = np.max(sc.grad_floor) * T.underflow("float16")
    assert share < 1e-3 * T.unit_roundoff("float16") * np.min(sc.grads["anchor"])
    assert not _triplet_grad_check(arrays, grads["anchor"] * 1.02).ok


# --- but a 1e-3 relative error still fails at those points -------------------------------------


def test_relative_error_1e3_fails_at_ordinary_ill_conditioned_inputs():
    x = np.array([[2.0, 0.5, -1.0], [0.25, 1.5, 0.0]])
    target = np.array([0, 1])
    ref, _ = R.value_and_vjp("cross_entropy", {"input": x, "target": target}, {})
    chk, _ = _check_case("cross_entropy", {"input": x, "target": target}, {}, ref * (1 + 1e-3))
    assert not chk.ok


# --- non-finite numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "got, ref, ok",
    [
        (math.nan, math.nan, True),
        (math.inf, math.inf, True),
        (-math.inf, -math.inf, True),
        (math.nan, 0.5, False),
        (0.5, math.nan, False),
        (math.inf, -math.inf, False),
        (-math.inf, math.inf, False),
        (math.inf, 1.0, False),
        (1e30, math.inf, False),
        (math.nan, math.inf, False),
    ],
)
def test_nonfinite_numbers_agree_exactly(got, ref, ok):
    huge = np.array(1e300)  # a scale that would excuse any finite error
    chk = T.check(
        np.array(got), np.array(ref), T.bound(ref, huge, 1.0, "float32", 1, 8.0), "float32"
    )
    assert chk.ok is ok
    if not ok:
        assert chk.nonfinite and math.isinf(chk.ulp) and math.isinf(chk.rel)


def test_overflow_to_the_right_infinity_is_correct_rounding():
    ref = np.array([70000.0, -70000.0])  # beyond float16's 65504
    got = np.array([np.inf, -np.inf])
    assert _passes(got, ref, np.abs(ref), "float16")
    assert not _passes(got[::-1], ref, np.abs(ref), "float16")
    assert not _passes(got, ref, np.abs(ref), "float32")  # float32 holds 70000


def test_check_reports_the_element_closest_to_its_bound():
    ref = np.array([1.0, 1e-6, 2.0])
    scale = np.array([1.0, 100.0, 2.0])  # element 1 is ill-conditioned: its bound is generous
    got = ref + np.array([2.0**-24, 50 * 2.0**-24, 30 * 2.0**-24])
    chk = T.check(got, ref, T.bound(ref, scale, 1.0, "float32", 1, T.K_VALUE), "float32")
    assert not chk.ok
    assert chk.index == (2,)
    assert chk.ulp == pytest.approx(7.5)
    assert chk.bound_ulp < chk.ulp
