"""Hand-worked values of every catalogue loss, from its documented formula.

Each expected number is worked out next to it from the formula the reference cites (PyTorch's docs
for the losses torch has, the RetinaNet paper for the focal loss, Keras/optax for log_cosh), never
copied from a tutorial or from running any implementation. Inputs are chosen so that the answer is
a short closed form: logits 0 and ±ln 3 (σ = 1/2, 3/4, 1/4), probabilities 1/2, 1/4, 3/4, and
differences that are powers of two.

Expected values are written as closed forms in ``math`` (with the decimal value in the comment);
where the closed form is exact in binary the comparison is ``==``, otherwise ``RTOL`` allows the few
ulps by which a float64 closed form and the reference's own float64 arithmetic may differ.

Notation: L = log(1 + e + e²) = 2.4076059644443803 is logsumexp([0, 1, 2]), so
log softmax([0, 1, 2]) = [−L, 1 − L, 2 − L].
"""

from __future__ import annotations

import inspect
import math
import sys

import numpy as np
import pytest

import reference as R

# Relative tolerance for closed forms that are not exact in binary: a handful of ulps (2.2e-16 each).
RTOL = 1e-13

LOG2 = math.log(2.0)
LOG3 = math.log(3.0)
LN3 = math.log(3.0)  # the logit whose sigmoid is 3/4
E = math.e
L = math.log(1.0 + E + E * E)  # logsumexp([0, 1, 2]) = 2.4076059644443803
S = 1.0 + E + E * E  # softmax([0, 1, 2]) = [1, e, e²] / S
SQRT2 = math.sqrt(2.0)


def loss(name: str, arrays: dict, **params) -> np.ndarray:
    """The reference loss; reduction ``none`` unless the test says otherwise."""
    params.setdefault("reduction", "none")
    return R.evaluate(name, {k: np.asarray(v) for k, v in arrays.items()}, params)


def grads(name: str, arrays: dict, cotangent=None, **params) -> dict[str, np.ndarray]:
    """The reference gradients; reduction ``sum`` unless the test says otherwise."""
    params.setdefault("reduction", "sum")
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    return R.value_and_vjp(name, arrays, params, cotangent)[1]


def assert_close(actual, expected, rtol: float = RTOL) -> None:
    """Same shape, and equal within ``rtol`` relative; inf must be inf, NaN never matches, 0 is 0."""
    actual, expected = np.asarray(actual), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=0.0, equal_nan=False)


def assert_exact(actual, expected) -> None:
    actual, expected = np.asarray(actual), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_array_equal(actual, expected, strict=False)


# === mse_loss =====================================================================================

MSE = {"input": [1.0, 2.0, 4.0], "target": [0.0, 2.0, 1.0]}  # d = [1, 0, 3]


def test_mse_loss_none_is_squared_difference():
    assert_exact(loss("mse_loss", MSE), [1.0, 0.0, 9.0])  # d² = [1, 0, 9]


def test_mse_loss_sum_and_mean():
    assert loss("mse_loss", MSE, reduction="sum") == 10.0  # 1 + 0 + 9
    assert_close(loss("mse_loss", MSE, reduction="mean"), 10.0 / 3.0)  # 10 / 3 = 3.3333333333333335


def test_mse_loss_mean_gradient_is_two_d_over_n():
    g = grads("mse_loss", MSE, reduction="mean")
    assert_close(g["input"], [2.0 / 3.0, 0.0, 2.0])  # 2d/3 = [2/3, 0, 6/3]
    assert_close(g["target"], [-2.0 / 3.0, 0.0, -2.0])  # −2d/3


# === l2_loss ======================================================================================


def test_l2_loss_is_half_the_squared_difference():
    assert_exact(loss("l2_loss", MSE), [0.5, 0.0, 4.5])  # d²/2 with d = [1, 0, 3]
    assert loss("l2_loss", MSE, reduction="sum") == 5.0
    assert_close(loss("l2_loss", MSE, reduction="mean"), 5.0 / 3.0)
    g = grads("l2_loss", MSE)  # d and −d
    assert_exact(g["input"], [1.0, 0.0, 3.0])
    assert_exact(g["target"], [-1.0, 0.0, -3.0])


def test_l2_loss_without_target_is_tf_nn_l2_loss():
    # tf.nn.l2_loss([1, 2, 4]) = (1 + 4 + 16)/2 = 10.5; its gradient is the input itself
    x = {"input": [1.0, 2.0, 4.0]}
    assert loss("l2_loss", x, reduction="sum") == 10.5
    assert_exact(grads("l2_loss", x)["input"], [1.0, 2.0, 4.0])
    assert_exact(loss("l2_loss", x), [0.5, 2.0, 8.0])


# === l1_loss ======================================================================================

L1 = {"input": [1.0, -2.0, 0.5], "target": [0.0, 1.0, 0.5]}  # d = [1, −3, 0]


def test_l1_loss_none_sum_mean():
    assert_exact(loss("l1_loss", L1), [1.0, 3.0, 0.0])  # |d|
    assert loss("l1_loss", L1, reduction="sum") == 4.0  # 1 + 3 + 0
    assert_close(loss("l1_loss", L1, reduction="mean"), 4.0 / 3.0)  # 1.3333333333333333


def test_l1_loss_subgradient_at_zero_difference_is_zero():
    g = grads("l1_loss", L1)
    assert_exact(g["input"], [1.0, -1.0, 0.0])  # sign(d), with sign(0) = 0
    assert_exact(g["target"], [-1.0, 1.0, 0.0])


# === huber_loss ===================================================================================

HUBER = {"input": [0.5, 3.0, -2.0], "target": [0.0, 0.0, 0.0]}  # d = [0.5, 3, −2]


def test_huber_loss_none_sum_mean_default_delta():
    # δ = 1: |0.5| ≤ 1 → ½·0.25 = 0.125; |3| > 1 → 1·(3 − ½) = 2.5; |−2| > 1 → 1·(2 − ½) = 1.5
    assert_exact(loss("huber_loss", HUBER), [0.125, 2.5, 1.5])
    assert loss("huber_loss", HUBER, reduction="sum") == 4.125  # 0.125 + 2.5 + 1.5
    assert loss("huber_loss", HUBER, reduction="mean") == 1.375  # 4.125 / 3


def test_huber_loss_quadratic_part_has_the_one_half():
    # |d| = 0.5 ≤ δ = 1: ½ d² = 0.125, not d² = 0.25
    assert loss("huber_loss", {"input": [0.5], "target": [0.0]}) == 0.125


def test_huber_loss_delta_half():
    arrays = {"input": [0.25, 2.0, -0.5], "target": [0.0, 0.0, 0.0]}
    # δ = 0.5: ½·0.25² = 0.03125; 0.5·(2 − 0.25) = 0.875; |d| = δ: ½·0.25 = 0.125 = 0.5·(0.5 − 0.25)
    assert_exact(loss("huber_loss", arrays, delta=0.5), [0.03125, 0.875, 0.125])


def test_huber_loss_gradient_is_difference_clipped_to_delta():
    arrays = {"input": [0.25, 2.0, -3.0], "target": [0.0, 0.0, 0.0]}
    g = grads("huber_loss", arrays, delta=0.5)
    assert_exact(g["input"], [0.25, 0.5, -0.5])  # clip(d, −0.5, 0.5)
    assert_exact(g["target"], [-0.25, -0.5, 0.5])


# === smooth_l1_loss ===============================================================================

SMOOTH = {"input": [0.5, -3.0, 1.5], "target": [0.0, 0.0, 0.0]}  # d = [0.5, −3, 1.5]


def test_smooth_l1_loss_none_sum_mean_default_beta():
    # β = 1: |0.5| < 1 → ½·0.25/1 = 0.125; |−3| → 3 − ½ = 2.5; |1.5| → 1.5 − ½ = 1
    assert_exact(loss("smooth_l1_loss", SMOOTH), [0.125, 2.5, 1.0])
    assert loss("smooth_l1_loss", SMOOTH, reduction="sum") == 3.625  # 0.125 + 2.5 + 1
    assert_close(loss("smooth_l1_loss", SMOOTH, reduction="mean"), 3.625 / 3)  # 1.2083333333333333


def test_smooth_l1_loss_is_huber_divided_by_beta_not_huber():
    arrays = {"input": [0.25], "target": [0.0]}
    # β = 0.5, d = 0.25: smooth_l1 = ½ d²/β = 0.03125/0.5 = 0.0625; huber(δ = 0.5) = ½ d² = 0.03125
    assert loss("smooth_l1_loss", arrays, beta=0.5)[0] == 0.0625
    assert loss("huber_loss", arrays, delta=0.5)[0] == 0.03125


def test_smooth_l1_loss_beta_half_linear_part_and_gradient():
    arrays = {"input": [0.25, 2.0], "target": [0.0, 0.0]}
    # |2| ≥ 0.5: 2 − ½·0.5 = 1.75
    assert_exact(loss("smooth_l1_loss", arrays, beta=0.5), [0.0625, 1.75])
    # ∂/∂d = clip(d/β, −1, 1): 0.25/0.5 = 0.5; 2/0.5 → 1
    assert_exact(grads("smooth_l1_loss", arrays, beta=0.5)["input"], [0.5, 1.0])


def test_smooth_l1_loss_beta_zero_is_l1_with_zero_subgradient_at_zero():
    arrays = {"input": [-1.5, 0.0, 2.0], "target": [0.0, 0.0, 0.0]}
    assert_exact(loss("smooth_l1_loss", arrays, beta=0.0), [1.5, 0.0, 2.0])  # |d|
    assert_exact(grads("smooth_l1_loss", arrays, beta=0.0)["input"], [-1.0, 0.0, 1.0])  # sign(d)


# === log_cosh =====================================================================================

LOG_COSH = {"input": [0.0, 1.0, -2.0], "target": [0.0, 0.0, 0.0]}


def test_log_cosh_none_sum_mean():
    lc1 = math.log((E + 1 / E) / 2)  # log cosh 1 = log((e + e⁻¹)/2) = 0.43378083048302719
    lc2 = math.log((E**2 + E**-2) / 2)  # log cosh 2 = log((e² + e⁻²)/2) = 1.3250027473578644
    assert_close(loss("log_cosh", LOG_COSH), [0.0, lc1, lc2])  # log cosh 0 = log 1 = 0
    assert_close(loss("log_cosh", LOG_COSH, reduction="sum"), lc1 + lc2)  # 1.7587835778408916
    assert_close(
        loss("log_cosh", LOG_COSH, reduction="mean"), (lc1 + lc2) / 3
    )  # 0.5862611926136305


def test_log_cosh_gradient_is_tanh_of_difference():
    # tanh 1 = 0.76159415595576489, tanh(−2) = −0.96402758007581688
    assert_close(grads("log_cosh", LOG_COSH)["input"], [0.0, math.tanh(1.0), -math.tanh(2.0)])


def test_log_cosh_does_not_overflow_for_large_difference():
    # cosh 800 overflows float64, but log cosh 800 = 800 − log 2 + log(1 + e⁻¹⁶⁰⁰) = 799.30685281944005
    assert_close(loss("log_cosh", {"input": [800.0], "target": [0.0]}), [800.0 - LOG2])


# === mean_squared_logarithmic_error ===============================================================

MSLE = {"input": [0.0, 1.0, 3.0, -0.5], "target": [1.0, 0.0, 3.0, 0.0]}


def test_mean_squared_logarithmic_error_none_sum_mean():
    # D = log(1 + x) − log(1 + y) = [0 − ln 2, ln 2 − 0, 0, ln ½ − 0] = [−ln 2, ln 2, 0, −ln 2]
    ln2sq = LOG2 * LOG2  # (ln 2)² = 0.4804530139182014
    assert_close(loss("mean_squared_logarithmic_error", MSLE), [ln2sq, ln2sq, 0.0, ln2sq])
    assert_close(loss("mean_squared_logarithmic_error", MSLE, reduction="sum"), 3 * ln2sq)
    # 3 (ln 2)² / 4 = 0.36033976043865106
    assert_close(loss("mean_squared_logarithmic_error", MSLE, reduction="mean"), 3 * ln2sq / 4)


def test_mean_squared_logarithmic_error_gradients():
    # ∂/∂x = 2D/(1 + x), 1 + x = [1, 2, 4, ½]; ∂/∂y = −2D/(1 + y), 1 + y = [2, 1, 4, 1]
    g = grads("mean_squared_logarithmic_error", MSLE)
    assert_close(g["input"], [-2 * LOG2, LOG2, 0.0, -4 * LOG2])
    assert_close(g["target"], [LOG2, -2 * LOG2, 0.0, 2 * LOG2])


def test_mean_squared_logarithmic_error_is_accurate_near_zero():
    # log(1 + 1e-10) = 1e-10 − 5e-21 + …: (1e-10 − 5e-21)² = 9.999999999e-21; the log of a
    # rounded 1 + 1e-10 would be 1.00000008274e-10, off in the 8th digit
    got = loss("mean_squared_logarithmic_error", {"input": [1e-10], "target": [0.0]})
    assert_close(got, [(1e-10 - 5e-21) ** 2])


def test_mean_squared_logarithmic_error_at_infinity():
    # log(1 + inf) = inf: (inf − 0)² = inf; (inf − inf)² = NaN
    got = loss(
        "mean_squared_logarithmic_error", {"input": [math.inf, math.inf], "target": [0.0, math.inf]}
    )
    assert got[0] == math.inf and math.isnan(got[1])


def test_mean_squared_logarithmic_error_rejects_minus_one():
    with pytest.raises(R.InvalidInput):
        loss("mean_squared_logarithmic_error", {"input": [-1.0], "target": [0.0]})


# === mean_absolute_percentage_error ================================================================

# Keras' docstring example (targets 100, 200, 300) and a negative target
MAPE = {"input": [90.0, 210.0, 310.0, 2.0], "target": [100.0, 200.0, 300.0, -4.0]}


def test_mean_absolute_percentage_error_none_sum_mean():
    # 100·|x − y|/|y| = [100·10/100, 100·10/200, 100·10/300, 100·6/4] = [10, 5, 10/3, 150]
    assert_close(loss("mean_absolute_percentage_error", MAPE), [10.0, 5.0, 10.0 / 3.0, 150.0])
    assert_close(
        loss("mean_absolute_percentage_error", MAPE, reduction="sum"), 15.0 + 10.0 / 3.0 + 150.0
    )  # 168.33333333333334
    three = {k: v[:3] for k, v in MAPE.items()}  # Keras' example: 55/9 = 6.111111111111111
    assert_close(loss("mean_absolute_percentage_error", three, reduction="mean"), 55.0 / 9.0)


def test_mean_absolute_percentage_error_gradients():
    # ∂/∂x = 100·sign(x − y)/|y| = [−1, 0.5, 1/3, 25]
    # ∂/∂y: for y > 0 > x − y, ℓ = 100 − 100x/y, so 100x/y² = [0.9, −0.525, −0.3444…];
    # for y = −4, x = 2: ℓ = 100(2 − y)/(−y) = 100 − 200/y, so 200/y² = 12.5
    g = grads("mean_absolute_percentage_error", MAPE)
    assert_close(g["input"], [-1.0, 0.5, 1.0 / 3.0, 25.0])
    assert_close(g["target"], [9000.0 / 100.0**2, -21000.0 / 200.0**2, -31000.0 / 300.0**2, 12.5])


def test_mean_absolute_percentage_error_subgradient_at_zero_error_is_zero():
    g = grads("mean_absolute_percentage_error", {"input": [2.0, -0.5], "target": [2.0, -0.5]})
    assert_exact(g["input"], [0.0, 0.0])
    assert_exact(g["target"], [0.0, 0.0])


def test_mean_absolute_percentage_error_at_an_infinite_target_is_nan_with_its_gradients():
    # 100·|1 − inf|/inf = inf/inf: undefined, and so are both derivatives there
    arrays = {"input": [1.0, 3.0], "target": [math.inf, 2.0]}
    assert math.isnan(loss("mean_absolute_percentage_error", arrays)[0])
    g = grads(
        "mean_absolute_percentage_error", arrays, cotangent=np.array([1.0, 1.0]), reduction="none"
    )
    assert math.isnan(g["input"][0]) and math.isnan(g["target"][0])
    # the finite element keeps its gradients: 100/2 and −100·3/(2·2) = −75
    assert_close([g["input"][1], g["target"][1]], [50.0, -75.0])


def test_mean_absolute_percentage_error_rejects_a_zero_target():
    with pytest.raises(R.InvalidInput):
        loss("mean_absolute_percentage_error", {"input": [1.0], "target": [0.0]})


# === binary_cross_entropy =========================================================================

BCE = {"input": [0.5, 0.25, 0.8], "target": [1.0, 0.0, 1.0]}


def test_binary_cross_entropy_none_sum_mean():
    # −log 0.5 = log 2; −log(1 − 0.25) = log(4/3); −log 0.8 = log(5/4)
    assert_close(loss("binary_cross_entropy", BCE), [LOG2, math.log(4 / 3), math.log(5 / 4)])
    # log 2 + log(4/3) + log(5/4) = log(10/3) = 1.203972804325936
    assert_close(loss("binary_cross_entropy", BCE, reduction="sum"), math.log(10 / 3))
    # log(10/3)/3 = 0.40132426810864533
    assert_close(loss("binary_cross_entropy", BCE, reduction="mean"), math.log(10 / 3) / 3)


def test_binary_cross_entropy_soft_target():
    # −(½ log ¼ + ½ log ¾) = −½ log(3/16) = ½ log(16/3) = 0.83698821678583577
    value = loss("binary_cross_entropy", {"input": [0.25], "target": [0.5]})
    assert_close(value, [0.5 * math.log(16 / 3)])


def test_binary_cross_entropy_weighted_mean_divides_by_element_count():
    arrays = {**BCE, "weight": [2.0, 0.5, 1.0]}  # Σw = 3.5, but the mean still divides by 3
    # [2 log 2, ½ log(4/3), log(5/4)]; sum = log 4 + log(5/4) + ½ log(4/3) = log 5 + ½ log(4/3)
    assert_close(
        loss("binary_cross_entropy", arrays), [2 * LOG2, 0.5 * math.log(4 / 3), math.log(5 / 4)]
    )
    expected_sum = math.log(5) + 0.5 * math.log(4 / 3)  # 1.7532789486599909
    assert_close(loss("binary_cross_entropy", arrays, reduction="sum"), expected_sum)
    # (log 5 + ½ log(4/3)) / 3 = 0.58442631621999695  (÷ 3.5 would be 0.5009…)
    assert_close(loss("binary_cross_entropy", arrays, reduction="mean"), expected_sum / 3)


def test_binary_cross_entropy_class_weight_broadcasts_over_rows():
    arrays = {
        "input": [[0.5, 0.5], [0.5, 0.5]],
        "target": [[1.0, 0.0], [0.0, 1.0]],
        "weight": [1.0, 3.0],
    }
    # every element is −log ½ = log 2, scaled by its column's weight
    assert_close(loss("binary_cross_entropy", arrays), [[LOG2, 3 * LOG2], [LOG2, 3 * LOG2]])
    assert_close(
        loss("binary_cross_entropy", arrays, reduction="sum"), 8 * LOG2
    )  # 5.5451774444795625


def test_binary_cross_entropy_gradients():
    g = grads("binary_cross_entropy", BCE)
    # ∂ℓ/∂x = −[y/x − (1 − y)/(1 − x)]: −1/0.5 = −2; +1/0.75 = 4/3; −1/0.8 = −1.25
    assert_close(g["input"], [-2.0, 4 / 3, -1.25])
    # ∂ℓ/∂y = −[log x − log(1 − x)]: −log(½/½) = 0; −log(¼/¾) = log 3; −log(0.8/0.2) = −log 4
    assert_close(g["target"], [0.0, LOG3, -2 * LOG2], rtol=1e-12)


def test_binary_cross_entropy_is_infinite_where_the_label_has_probability_zero():
    # −1·log 0 = +inf (input 0, target 1) and −1·log(1 − 1) = +inf (input 1, target 0)
    value = loss("binary_cross_entropy", {"input": [0.0, 1.0], "target": [1.0, 0.0]})
    assert_exact(value, [math.inf, math.inf])


def test_binary_cross_entropy_is_zero_at_a_certain_correct_prediction():
    # input 0, target 0: −(0·log 0 + 1·log 1) = 0 (the 0·log 0 term is absent, not NaN); same at 1, 1
    value = loss("binary_cross_entropy", {"input": [0.0, 1.0], "target": [0.0, 1.0]})
    assert_exact(value, [0.0, 0.0])


# === binary_cross_entropy_with_logits =============================================================

BCE_LOGITS = {"input": [0.0, LN3, -LN3], "target": [1.0, 1.0, 0.0]}


def test_bce_with_logits_none_sum_mean():
    # σ(0) = ½: −log ½ = log 2; σ(ln 3) = ¾: −log ¾ = log(4/3); 1 − σ(−ln 3) = ¾: log(4/3)
    expected = [LOG2, math.log(4 / 3), math.log(4 / 3)]
    assert_close(loss("binary_cross_entropy_with_logits", BCE_LOGITS), expected)
    # log 2 + 2 log(4/3) = log(32/9) = 1.2685113254635072
    total = math.log(32 / 9)
    assert_close(loss("binary_cross_entropy_with_logits", BCE_LOGITS, reduction="sum"), total)
    # log(32/9)/3 = 0.42283710848783572
    assert_close(loss("binary_cross_entropy_with_logits", BCE_LOGITS, reduction="mean"), total / 3)


def test_bce_with_logits_pos_weight_multiplies_only_the_positive_term():
    arrays = {
        "input": [[0.0, 0.0, 0.0]],
        "target": [[1.0, 0.0, 0.5]],
        "pos_weight": [3.0, 5.0, 3.0],
    }
    # q y log 2 + (1 − y) log 2: 3·1 = 3 log 2; 0 + 1 = log 2 (q = 5 unused); 3·½ + ½ = 2 log 2
    expected = [[3 * LOG2, LOG2, 2 * LOG2]]
    assert_close(loss("binary_cross_entropy_with_logits", arrays), expected)


def test_bce_with_logits_pos_weight_of_shape_one_for_a_vector_input():
    arrays = {"input": [0.0, 0.0], "target": [1.0, 0.0], "pos_weight": [2.0]}
    # 2·log 2 for the positive, log 2 for the negative
    assert_close(loss("binary_cross_entropy_with_logits", arrays), [2 * LOG2, LOG2])


BCE_LOGITS_WEIGHTED = {
    "input": [[0.0, LN3], [-LN3, 0.0]],
    "target": [[1.0, 0.0], [1.0, 0.0]],
    "weight": [2.0, 1.0],
    "pos_weight": [3.0, 1.0],
}


def test_bce_with_logits_weight_and_pos_weight_together():
    # (0,0): w 2, q 3, softplus(−0) = log 2 → 6 log 2      (0,1): w 1, softplus(ln 3) = log 4 = 2 log 2
    # (1,0): w 2, q 3, softplus(ln 3) = log 4 → 12 log 2   (1,1): w 1, softplus(0) = log 2
    expected = [[6 * LOG2, 2 * LOG2], [12 * LOG2, LOG2]]
    assert_close(loss("binary_cross_entropy_with_logits", BCE_LOGITS_WEIGHTED), expected)
    # sum 21 log 2 = 14.556090791758851; mean divides by the 4 elements: 3.6390226979397129
    sum_ = loss("binary_cross_entropy_with_logits", BCE_LOGITS_WEIGHTED, reduction="sum")
    mean = loss("binary_cross_entropy_with_logits", BCE_LOGITS_WEIGHTED, reduction="mean")
    assert_close(sum_, 21 * LOG2)
    assert_close(mean, 21 * LOG2 / 4)


def test_bce_with_logits_gradients_with_weight_and_pos_weight():
    g = grads("binary_cross_entropy_with_logits", BCE_LOGITS_WEIGHTED)
    # ∂ℓ/∂x = w [(1 − y) σ(x) − q y σ(−x)]:
    # (0,0): 2·(−3·½) = −3; (0,1): 1·σ(ln 3) = ¾; (1,0): 2·(−3·σ(ln 3)) = −4.5; (1,1): σ(0) = ½
    assert_close(g["input"], [[-3.0, 0.75], [-4.5, 0.5]])
    # ∂ℓ/∂y = w [q softplus(−x) − softplus(x)]:
    # (0,0): 2(3 log 2 − log 2) = 4 log 2;  (0,1): log(4/3) − log 4 = −log 3
    # (1,0): 2(3 log 4 − log(4/3)) = 8 log 2 + 2 log 3 = 7.7424020218157819;  (1,1): log 2 − log 2 = 0
    expected = [[4 * LOG2, -LOG3], [8 * LOG2 + 2 * LOG3, 0.0]]
    assert_close(g["target"], expected)


def test_bce_with_logits_stays_finite_for_large_negative_logit():
    # y = 1, x = −800: softplus(800) = 800 + log(1 + e⁻⁸⁰⁰) = 800 in float64
    value = loss("binary_cross_entropy_with_logits", {"input": [-800.0], "target": [1.0]})
    assert_exact(value, [800.0])


def test_bce_with_logits_elementwise_weight_with_class_pos_weight():
    # input (N, C) of 0 (softplus(0) = log 2) with labels 1: ℓ = w_nc q_c log 2 — a per-element
    # weight (a mask: w = 0 removes the element) beside one pos_weight per class
    arrays = {
        "input": np.zeros((2, 2)),
        "target": np.ones((2, 2)),
        "weight": [[1.0, 0.0], [2.0, 1.0]],
        "pos_weight": [3.0, 1.0],
    }
    expected = [[3 * LOG2, 0.0], [6 * LOG2, LOG2]]
    assert_close(loss("binary_cross_entropy_with_logits", arrays), expected)
    # ∂ℓ/∂x = −w q σ(−0) = −w q / 2 with y = 1
    g = grads("binary_cross_entropy_with_logits", arrays)["input"]
    assert_exact(g, [[-1.5, 0.0], [-3.0, -0.5]])


# === sigmoid_focal_loss ===========================================================================

FOCAL = {"input": [0.0, 0.0, LN3], "target": [1.0, 0.0, 1.0]}


def test_sigmoid_focal_loss_default_alpha_and_gamma():
    # α = 0.25, γ = 2 (RetinaNet). x = 0: p_t = ½, (1 − p_t)² = ¼, CE = log 2.
    #   positive: α_t = 0.25 → log 2/16 = 0.043321698784996582
    #   negative: α_t = 0.75 → 3 log 2/16 = 0.12996509635498975
    # x = ln 3, y = 1: p_t = ¾, (¼)² = 1/16, CE = log(4/3), α_t = ¼ → log(4/3)/64 = 0.004495032382059077
    expected = [LOG2 / 16, 3 * LOG2 / 16, math.log(4 / 3) / 64]
    assert_close(loss("sigmoid_focal_loss", FOCAL), expected)
    total = LOG2 / 4 + math.log(4 / 3) / 64  # 0.1777818275220454
    assert_close(loss("sigmoid_focal_loss", FOCAL, reduction="sum"), total)
    assert_close(loss("sigmoid_focal_loss", FOCAL, reduction="mean"), total / 3)


def test_sigmoid_focal_loss_weighs_negatives_by_one_minus_alpha():
    # same |x|, same p_t = ½: the negative's loss is 0.75/0.25 = 3 times the positive's
    pos, neg = loss("sigmoid_focal_loss", {"input": [0.0, 0.0], "target": [1.0, 0.0]}, gamma=0.0)
    assert_close(pos, 0.25 * LOG2)  # α·CE = 0.17328679513998633
    assert_close(neg, 0.75 * LOG2)  # (1 − α)·CE = 0.51986038541995898, not 0.25·CE


def test_sigmoid_focal_loss_without_alpha_and_gamma_zero_is_plain_cross_entropy():
    arrays = {"input": [0.0, LN3], "target": [1.0, 0.0]}
    # −log σ(0) = log 2; −log(1 − σ(ln 3)) = −log ¼ = log 4
    assert_close(loss("sigmoid_focal_loss", arrays, alpha=None, gamma=0.0), [LOG2, 2 * LOG2])


def test_sigmoid_focal_loss_without_alpha_keeps_the_modulating_factor():
    # α = None, γ = 2, x = 0, y = 0: (1 − p_t)² CE = ¼ log 2 = 0.17328679513998633
    value = loss("sigmoid_focal_loss", {"input": [0.0], "target": [0.0]}, alpha=None)
    assert_close(value, [0.25 * LOG2])


def test_sigmoid_focal_loss_alpha_three_quarters_gamma_one():
    arrays = {"input": [LN3, LN3], "target": [0.0, 1.0]}
    # y = 0: p_t = ¼, 1 − p_t = ¾, CE = log 4, α_t = 1 − 0.75 = ¼ → ¼·¾·2 log 2 = 0.375 log 2
    # y = 1: p_t = ¾, 1 − p_t = ¼, CE = log(4/3), α_t = ¾ → 0.1875 log(4/3) = 0.053940388584708924
    expected = [0.375 * LOG2, 0.1875 * math.log(4 / 3)]  # [0.25993019270997947, …]
    assert_close(loss("sigmoid_focal_loss", arrays, alpha=0.75, gamma=1.0), expected)


def test_sigmoid_focal_loss_gradient_at_zero_logit():
    g = grads("sigmoid_focal_loss", {"input": [0.0, 0.0], "target": [1.0, 0.0]})
    # y = 1: FL = α (1 − p)² (−log p); FL' = α [2(1 − p)·p(1 − p)·log p − (1 − p)³]
    #   at p = ½: 0.25·[¼·(−log 2) − ⅛] = −0.0625 log 2 − 0.03125 = −0.074571698784996582
    # y = 0: FL = (1 − α) p² (−log(1 − p)); FL' = (1 − α) [2p²(1 − p)(−log(1 − p)) + p³]
    #   at p = ½: 0.75·[¼ log 2 + ⅛] = 0.1875 log 2 + 0.09375 = 0.22371509635498975
    assert_close(g["input"], [-0.0625 * LOG2 - 0.03125, 0.1875 * LOG2 + 0.09375])


# === hinge_loss, squared_hinge, perceptron_loss ===================================================

# s·x = 2, 1, 0.5, −1 for labels 1, −1, 1, −1: hinges 1 − s·x = −1, 0, ½, 2
SCORES = {"input": [2.0, -1.0, 0.5, 1.0], "target": [1.0, -1.0, 1.0, -1.0]}


def test_hinge_loss_none_sum_mean():
    assert_exact(loss("hinge_loss", SCORES), [0.0, 0.0, 0.5, 2.0])  # max(0, 1 − s·x)
    assert loss("hinge_loss", SCORES, reduction="sum") == 2.5
    assert loss("hinge_loss", SCORES, reduction="mean") == 0.625  # 2.5 / 4


def test_hinge_loss_gradient_is_minus_the_label_where_active_and_zero_at_the_hinge():
    # element 1 sits on the hinge (1 − (−1)(−1) = 0): the minimum-norm subgradient 0
    assert_exact(grads("hinge_loss", SCORES)["input"], [0.0, 0.0, -1.0, 1.0])
    assert_exact(grads("hinge_loss", SCORES, reduction="mean")["input"], [0.0, 0.0, -0.25, 0.25])


def test_hinge_loss_binary_labels_read_as_two_y_minus_one():
    binary = {"input": SCORES["input"], "target": [1.0, 0.0, 1.0, 0.0]}  # s = 1, −1, 1, −1
    assert_exact(loss("hinge_loss", binary, labels="binary"), [0.0, 0.0, 0.5, 2.0])
    assert_exact(grads("hinge_loss", binary, labels="binary")["input"], [0.0, 0.0, -1.0, 1.0])


def test_hinge_loss_infinite_scores():
    # s·x = +inf: 0 (and no gradient); s·x = −inf: +inf with slope −s
    inf = {"input": [math.inf, -math.inf], "target": [1.0, 1.0]}
    assert_exact(loss("hinge_loss", inf), [0.0, math.inf])
    assert_exact(grads("hinge_loss", inf)["input"], [0.0, -1.0])


def test_squared_hinge_none_sum_and_gradient():
    assert_exact(loss("squared_hinge", SCORES), [0.0, 0.0, 0.25, 4.0])  # h² with h = 0, 0, ½, 2
    assert loss("squared_hinge", SCORES, reduction="sum") == 4.25
    assert loss("squared_hinge", SCORES, reduction="mean") == 1.0625  # 4.25 / 4
    # −2·s·h: 0 at the hinge from both sides, −2·½ = −1, −2·(−1)·2 = 4
    assert_exact(grads("squared_hinge", SCORES)["input"], [0.0, 0.0, -1.0, 4.0])


def test_squared_hinge_binary_labels():
    binary = {"input": [0.0, 3.0], "target": [0.0, 0.0]}  # s = −1: h = 1, 4
    assert_exact(loss("squared_hinge", binary, labels="binary"), [1.0, 16.0])
    assert_exact(grads("squared_hinge", binary, labels="binary")["input"], [2.0, 8.0])


def test_perceptron_loss_none_sum_mean_and_gradient():
    # y·x = 2, 1, ½, −1 and 0 (x = 0, the hinge): ℓ = max(0, −y·x) = 0, 0, 0, 1, 0
    arrays = {"input": [2.0, 1.0, 0.5, 1.0, 0.0], "target": [1.0, 1.0, 1.0, -1.0, 1.0]}
    assert_exact(loss("perceptron_loss", arrays), [0.0, 0.0, 0.0, 1.0, 0.0])
    assert loss("perceptron_loss", arrays, reduction="mean") == 0.2
    # slope −y where y·x < 0: +1 for y = −1; at x = 0 the minimum-norm subgradient 0
    assert_exact(grads("perceptron_loss", arrays)["input"], [0.0, 0.0, 0.0, 1.0, 0.0])


# === cross_entropy ================================================================================

ROWS = [[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]]  # log softmax of each row: [−L, 1 − L, 2 − L]


def test_cross_entropy_index_target_none_sum_mean():
    arrays = {"input": ROWS, "target": [2, 0]}
    # −log softmax_2 = L − 2 = 0.4076059644443803; −log softmax_0 = L = 2.4076059644443803
    assert_close(loss("cross_entropy", arrays), [L - 2, L])
    assert_close(loss("cross_entropy", arrays, reduction="sum"), 2 * L - 2)  # 2.8152119288887606
    assert_close(loss("cross_entropy", arrays, reduction="mean"), L - 1)  # 1.4076059644443803


def test_cross_entropy_unbatched_class_vector():
    value = loss("cross_entropy", {"input": [0.0, 1.0, 2.0], "target": np.int64(2)})
    assert_close(value, L - 2)  # shape (), 0.4076059644443803


def test_cross_entropy_weighted_mean_divides_by_sum_of_target_weights():
    arrays = {"input": ROWS, "target": [2, 0], "weight": [1.0, 2.0, 3.0]}
    # none: [w_2 (L − 2), w_0 L] = [3L − 6, L]; sum 4L − 6
    assert_close(loss("cross_entropy", arrays), [3 * (L - 2), L])
    # mean = (4L − 6)/(w_2 + w_0) = (4L − 6)/4 = L − 1.5 = 0.9076059644443803  (÷ N = 2 would be 2L − 3)
    assert_close(loss("cross_entropy", arrays, reduction="mean"), L - 1.5)


def test_cross_entropy_mean_excludes_ignored_items_from_denominator():
    arrays = {"input": ROWS, "target": [2, -100]}
    assert_close(loss("cross_entropy", arrays, ignore_index=-100), [L - 2, 0.0])
    # one kept item: mean = (L − 2)/1 = 0.4076059644443803, not (L − 2)/2
    assert_close(loss("cross_entropy", arrays, ignore_index=-100, reduction="mean"), L - 2)


def test_cross_entropy_ignore_index_may_be_a_valid_class():
    arrays = {"input": ROWS, "target": [2, 1]}
    # ignore_index = 1 drops the second item: mean = (L − 2)/1
    assert_close(loss("cross_entropy", arrays, ignore_index=1, reduction="mean"), L - 2)


def test_cross_entropy_ignore_index_with_weights():
    arrays = {"input": [*ROWS, [0.0, 1.0, 2.0]], "target": [2, -100, 0], "weight": [1.0, 2.0, 3.0]}
    # none [3(L − 2), 0, L]; mean (4L − 6)/(w_2 + w_0) = L − 1.5 (the ignored item adds no weight)
    assert_close(loss("cross_entropy", arrays, ignore_index=-100), [3 * (L - 2), 0.0, L])
    assert_close(loss("cross_entropy", arrays, ignore_index=-100, reduction="mean"), L - 1.5)


def test_cross_entropy_probability_target_mean_divides_by_item_count_whatever_the_weights():
    arrays = {
        "input": ROWS,
        "target": [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]],
        "weight": [1.0, 2.0, 3.0],
    }
    params = {"target_kind": "probability"}
    assert_close(loss("cross_entropy", arrays, **params), [3 * (L - 2), L])  # as with indices
    # mean = (4L − 6)/N = (4L − 6)/2 = 2L − 3 = 1.8152119288887606  (index targets: ÷ 4)
    assert_close(loss("cross_entropy", arrays, **params, reduction="mean"), 2 * L - 3)


def test_cross_entropy_label_smoothing_spreads_eps_over_all_classes():
    arrays = {"input": [[0.0, 1.0, 2.0]], "target": [2]}
    # ε = 0.3, C = 3: q = 0.7·onehot(2) + 0.3/3 = [0.1, 0.1, 0.8]
    # −Σ q log p = 0.1 L + 0.1 (L − 1) + 0.8 (L − 2) = L − 1.7 = 0.70760596444438035
    # (ε/(C − 1) would give q = [0.15, 0.15, 0.7] and L − 1.55 = 0.8576…)
    assert_close(loss("cross_entropy", arrays, label_smoothing=0.3), [L - 1.7])


def test_cross_entropy_label_smoothing_with_weights_divides_by_target_weights():
    arrays = {"input": ROWS, "target": [2, 0], "weight": [1.0, 2.0, 3.0]}
    # row 0, q = [0.1, 0.1, 0.8]: 1·0.1·L + 2·0.1·(L − 1) + 3·0.8·(L − 2) = 2.7 L − 5.0
    # row 1, q = [0.8, 0.1, 0.1]: 1·0.8·L + 2·0.1·(L − 1) + 3·0.1·(L − 2) = 1.3 L − 0.8
    assert_close(loss("cross_entropy", arrays, label_smoothing=0.3), [2.7 * L - 5.0, 1.3 * L - 0.8])
    # mean = (4 L − 5.8)/(w_2 + w_0) = (4 L − 5.8)/4 = L − 1.45 = 0.95760596444438035
    mean = loss("cross_entropy", arrays, label_smoothing=0.3, reduction="mean")
    assert_close(mean, L - 1.45)


def test_cross_entropy_probability_target_with_label_smoothing():
    arrays = {"input": [[0.0, 1.0, 2.0]], "target": [[0.5, 0.5, 0.0]]}
    # q = 0.7·[½, ½, 0] + 0.1 = [0.45, 0.45, 0.1]; −Σ q log p = L − (0.45 + 0.2) = L − 0.65 = 1.7576…
    value = loss("cross_entropy", arrays, target_kind="probability", label_smoothing=0.3)
    assert_close(value, [L - 0.65])


SPATIAL = np.array([[[0.0, 2.0], [1.0, 1.0], [2.0, 0.0]]])  # (N, C, d1) = (1, 3, 2)
# position 0 has logits [0, 1, 2], position 1 has [2, 1, 0]


def test_cross_entropy_on_n_c_d1_input_with_index_targets():
    arrays = {"input": SPATIAL, "target": [[2, 1]], "weight": [1.0, 2.0, 3.0]}
    # position 0, class 2: L − 2; position 1, logits [2, 1, 0], class 1: −(1 − L) = L − 1
    assert_close(loss("cross_entropy", {"input": SPATIAL, "target": [[2, 1]]}), [[L - 2, L - 1]])
    # weighted: [[3(L − 2), 2(L − 1)]]; mean = (5L − 8)/(3 + 2) = L − 1.6 = 0.80760596444438022
    assert_close(loss("cross_entropy", arrays), [[3 * (L - 2), 2 * (L - 1)]])
    assert_close(loss("cross_entropy", arrays, reduction="mean"), L - 1.6)


def test_cross_entropy_on_n_c_d1_input_with_probability_targets():
    onehot = np.array([[[0.0, 0.0], [0.0, 1.0], [1.0, 0.0]]])  # classes [2, 1] along d1
    arrays = {"input": SPATIAL, "target": onehot, "weight": [1.0, 2.0, 3.0]}
    params = {"target_kind": "probability"}
    # mean divides by N·d1 = 2 items: (5L − 8)/2 = 2.0190149111109508
    assert_close(loss("cross_entropy", arrays, **params, reduction="mean"), (5 * L - 8) / 2)


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    g = grads("cross_entropy", {"input": [[0.0, 1.0, 2.0]], "target": [2]})
    # softmax = [1, e, e²]/S; minus onehot(2): [1/S, e/S, e²/S − 1 = −(1 + e)/S]
    #         = [0.090030573170380458, 0.24472847105479765, −0.33475904422517811]
    assert_close(g["input"], [[1 / S, E / S, -(1 + E) / S]])


def test_cross_entropy_weighted_mean_gradient_divides_by_sum_of_target_weights():
    arrays = {"input": ROWS, "target": [2, 0], "weight": [1.0, 2.0, 3.0]}
    g = grads("cross_entropy", arrays, reduction="mean")
    # row n: w_{y_n} (softmax − onehot(y_n)) / (w_2 + w_0 = 4)
    row0 = [3 * (1 / S) / 4, 3 * (E / S) / 4, 3 * (-(1 + E) / S) / 4]
    row1 = [(1 / S - 1) / 4, (E / S) / 4, (E * E / S) / 4]
    assert_close(g["input"], [row0, row1])


def test_cross_entropy_probability_target_gradient_wrt_target():
    arrays = {"input": [[0.0, 1.0, 2.0]], "target": [[0.5, 0.5, 0.0]], "weight": [1.0, 2.0, 3.0]}
    g = grads("cross_entropy", arrays, target_kind="probability", label_smoothing=0.3)
    # ∂ℓ/∂t_c = −(1 − ε) w_c log p_c = 0.7·w_c·(L − c) = [0.7 L, 1.4 (L − 1), 2.1 (L − 2)]
    assert_close(g["target"], [[0.7 * L, 1.4 * (L - 1), 2.1 * (L - 2)]])


def test_cross_entropy_minus_inf_logit_on_another_class_is_finite():
    arrays = {"input": [[-math.inf, 0.0, 0.0]], "target": [1]}
    # softmax = [0, ½, ½]: −log ½ = log 2; the −inf class has q = 0 and contributes nothing
    assert_close(loss("cross_entropy", arrays), [LOG2])
    assert_exact(grads("cross_entropy", arrays)["input"], [[0.0, -0.5, 0.5]])  # softmax − onehot


def test_cross_entropy_minus_inf_logit_with_label_smoothing_is_infinite():
    # ε = 0.3 puts q = 0.1 on the class with p = 0: −0.1·log 0 = +inf
    arrays = {"input": [[-math.inf, 0.0, 0.0]], "target": [1]}
    assert_exact(loss("cross_entropy", arrays, label_smoothing=0.3), [math.inf])


def test_cross_entropy_zero_target_weights_with_label_smoothing_mean_is_infinite():
    arrays = {"input": [[0.0, 1.0, 2.0]], "target": [0], "weight": [0.0, 1.0, 1.0]}
    # q = [0.8, 0.1, 0.1]: ℓ = −(0·0.8·(−L) + 1·0.1·(1 − L) + 1·0.1·(2 − L)) = 0.1 (2L − 3)
    #   = 0.18152119288887606, but the mean divides by w_{y} = w_0 = 0: a positive number over 0
    assert_close(loss("cross_entropy", arrays, label_smoothing=0.3), [0.1 * (2 * L - 3)])
    mean = loss("cross_entropy", arrays, label_smoothing=0.3, reduction="mean")
    assert mean == math.inf


def test_cross_entropy_all_targets_ignored_mean_is_nan_sum_is_zero():
    arrays = {"input": ROWS, "target": [-100, -100]}
    assert_exact(loss("cross_entropy", arrays, ignore_index=-100), [0.0, 0.0])
    assert loss("cross_entropy", arrays, ignore_index=-100, reduction="sum") == 0.0
    assert np.isnan(loss("cross_entropy", arrays, ignore_index=-100, reduction="mean"))  # 0/0


# === nll_loss =====================================================================================

NLL = {"input": [[-1.0, -2.0, -3.0], [-0.5, -1.5, -2.5]], "target": [1, 0]}


def test_nll_loss_none_sum_mean():
    assert_exact(loss("nll_loss", NLL), [2.0, 0.5])  # −x[0, 1] = 2, −x[1, 0] = 0.5
    assert loss("nll_loss", NLL, reduction="sum") == 2.5
    assert loss("nll_loss", NLL, reduction="mean") == 1.25  # 2.5/2


def test_nll_loss_weighted_mean_divides_by_sum_of_target_weights():
    arrays = {**NLL, "weight": [1.0, 2.0, 3.0]}
    assert_exact(loss("nll_loss", arrays), [4.0, 0.5])  # [w_1·2, w_0·0.5]
    assert loss("nll_loss", arrays, reduction="mean") == 1.5  # 4.5/(w_1 + w_0) = 4.5/3, not 4.5/2


def test_nll_loss_mean_excludes_ignored_items_from_denominator():
    arrays = {**NLL, "target": [1, -100]}
    assert_exact(loss("nll_loss", arrays, ignore_index=-100), [2.0, 0.0])
    assert loss("nll_loss", arrays, ignore_index=-100, reduction="mean") == 2.0  # 2/1
    weighted = {**arrays, "weight": [1.0, 2.0, 3.0]}
    assert loss("nll_loss", weighted, ignore_index=-100, reduction="mean") == 2.0  # 4/w_1 = 4/2


def test_nll_loss_on_n_c_d1_input():
    # (1, 3, 2): position 0 holds [−1, −2, −3], position 1 holds [−0.5, −1.5, −2.5]
    x = np.array([[[-1.0, -0.5], [-2.0, -1.5], [-3.0, -2.5]]])
    arrays = {"input": x, "target": [[2, 0]], "weight": [1.0, 2.0, 3.0]}
    assert_exact(loss("nll_loss", {"input": x, "target": [[2, 0]]}), [[3.0, 0.5]])
    assert_exact(loss("nll_loss", arrays), [[9.0, 0.5]])  # [w_2·3, w_0·0.5]
    assert loss("nll_loss", arrays, reduction="mean") == 2.375  # 9.5/(3 + 1)


def test_nll_loss_weighted_mean_gradient():
    g = grads("nll_loss", {**NLL, "weight": [1.0, 2.0, 3.0]}, reduction="mean")
    # −w_{y_n} onehot(y_n) / (w_1 + w_0 = 3)
    assert_close(g["input"], [[0.0, -2 / 3, 0.0], [-1 / 3, 0.0, 0.0]])


def test_nll_loss_ignored_item_has_zero_gradient():
    g = grads("nll_loss", {**NLL, "target": [1, -100]}, ignore_index=-100, reduction="mean")
    assert_exact(g["input"], [[0.0, -1.0, 0.0], [0.0, 0.0, 0.0]])  # −onehot(1)/1 and nothing


# === multi_margin_loss ============================================================================

MULTI = {"input": [[1.5, 0.0, 2.0], [0.0, 3.0, 1.0]], "target": [0, 1]}
# row 0 (y = 0), margin 1: z_1 = 1 − 1.5 + 0 = −0.5 → 0; z_2 = 1 − 1.5 + 2 = 1.5
# row 1 (y = 1), margin 1: z_0 = 1 − 3 + 0 = −2 → 0; z_2 = 1 − 3 + 1 = −1 → 0 (beyond the margin)


def test_multi_margin_loss_none_sum_mean():
    assert_exact(loss("multi_margin_loss", MULTI), [0.5, 0.0])  # 1.5/C = 1.5/3; 0
    assert loss("multi_margin_loss", MULTI, reduction="sum") == 0.5
    assert loss("multi_margin_loss", MULTI, reduction="mean") == 0.25


def test_multi_margin_loss_p2_squares_each_hinge():
    assert_exact(loss("multi_margin_loss", MULTI, p=2), [0.75, 0.0])  # 1.5²/3 = 2.25/3


def test_multi_margin_loss_weight_multiplies_the_powered_hinge():
    arrays = {**MULTI, "weight": [2.0, 5.0, 7.0]}
    # torch docs: Σ_i w[y] max(0, margin − x[y] + x[i])^p / C; row 0 has w_y = w_0 = 2
    # p = 2: 2·1.5²/3 = 1.5  ((w·z)² would give (2·1.5)²/3 = 3)
    assert_exact(loss("multi_margin_loss", arrays, p=2), [1.5, 0.0])
    assert loss("multi_margin_loss", arrays, p=2, reduction="mean") == 0.75
    assert_exact(loss("multi_margin_loss", arrays), [1.0, 0.0])  # p = 1: 2·1.5/3


def test_multi_margin_loss_margin_half():
    # row 0: z_2 = 0.5 − 1.5 + 2 = 1 → 1/3; row 1: z_2 = 0.5 − 3 + 1 = −1.5 → 0
    assert_close(loss("multi_margin_loss", MULTI, margin=0.5), [1 / 3, 0.0])


def test_multi_margin_loss_unbatched_class_vector():
    value = loss("multi_margin_loss", {"input": [1.5, 0.0, 2.0], "target": np.int64(0)})
    assert value == 0.5  # shape (), 1.5/3


def test_multi_margin_loss_gradients():
    g1 = grads("multi_margin_loss", MULTI)
    # p = 1, row 0: active i = 2: ∂/∂x_2 = 1/C, ∂/∂x_y = −1/C; row 1 inactive
    assert_close(g1["input"], [[-1 / 3, 0.0, 1 / 3], [0.0, 0.0, 0.0]])
    g2 = grads("multi_margin_loss", {**MULTI, "weight": [2.0, 5.0, 7.0]}, p=2)
    # p = 2, w_y = 2: ∂/∂x_2 = w_y·2z/C = 2·2·1.5/3 = 2, ∂/∂x_y = −2
    assert_close(g2["input"], [[-2.0, 0.0, 2.0], [0.0, 0.0, 0.0]])


def test_multi_margin_loss_subgradient_at_the_hinge_is_zero():
    arrays = {"input": [[1.0, 0.0, 0.5]], "target": [0]}
    # z_1 = 1 − 1 + 0 = 0 (at the hinge: 0), z_2 = 1 − 1 + 0.5 = 0.5 (active)
    assert_close(loss("multi_margin_loss", arrays), [0.5 / 3])  # 0.16666666666666666
    assert_close(grads("multi_margin_loss", arrays)["input"], [[-1 / 3, 0.0, 1 / 3]])


def test_multilabel_soft_margin_loss_elementwise_weight():
    # logits 0: every label's term is log 2; per-element weights [[1, 0, 2], [0, 0, 3]] give
    # (1 + 0 + 2) log 2 / 3 = log 2 and 3 log 2 / 3 = log 2
    arrays = {
        "input": np.zeros((2, 3)),
        "target": [[1.0, 0.0, 0.5], [0.0, 1.0, 1.0]],
        "weight": [[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]],
    }
    assert_close(loss("multilabel_soft_margin_loss", arrays), [LOG2, LOG2])


# === multiclass_hinge_loss, multiclass_perceptron_loss ============================================

# Three items of three classes, targets 0, 1, 2:
#   [2, 0.5, −1], y = 0: best wrong 0.5, 1 + 0.5 − 2 = −0.5 → 0 (perceptron: 0.5 − 2 < 0 → 0)
#   [1, 0.25, 1], y = 1: wrong classes 0 and 2 tie at 1: 1 + 1 − 0.25 = 1.75 (perceptron 0.75)
#   [0, 3, 2], y = 2: best wrong 3: 1 + 3 − 2 = 2 (perceptron 1)
CRAMMER = {
    "input": [[2.0, 0.5, -1.0], [1.0, 0.25, 1.0], [0.0, 3.0, 2.0]],
    "target": np.array([0, 1, 2]),
}


def test_multiclass_hinge_loss_none_sum_mean():
    assert_exact(loss("multiclass_hinge_loss", CRAMMER), [0.0, 1.75, 2.0])
    assert loss("multiclass_hinge_loss", CRAMMER, reduction="sum") == 3.75
    assert loss("multiclass_hinge_loss", CRAMMER, reduction="mean") == 1.25  # 3.75 / 3


def test_multiclass_hinge_loss_gradient_splits_a_tie_evenly():
    g = grads("multiclass_hinge_loss", CRAMMER)["input"]
    # item 1: e_j − e_y averaged over the tied wrong classes 0 and 2 (the minimum-norm point)
    assert_exact(g, [[0.0, 0.0, 0.0], [0.5, -1.0, 0.5], [0.0, 1.0, -1.0]])


def test_multiclass_hinge_loss_differs_from_multi_margin_loss():
    # torch's multi_margin_loss sums a hinge per wrong class and divides by C: for item 1,
    # (1.75 + 1.75) / 3 = 7/6, not the best wrong class's 1.75
    one = {"input": [CRAMMER["input"][1]], "target": np.array([1])}
    assert_exact(loss("multiclass_hinge_loss", one), [1.75])
    assert_close(loss("multi_margin_loss", one), [3.5 / 3])


def test_multiclass_hinge_loss_at_the_hinge_takes_zero():
    # x_y = 1 exactly 1 above the best wrong class 0: the target ties at the top of
    # max_j(x_j + 1 − [j = y]), so 0 is a subgradient, the minimum-norm one
    at = {"input": [[1.0, 0.0, -3.0]], "target": np.array([0])}
    assert_exact(loss("multiclass_hinge_loss", at), [0.0])
    assert_exact(grads("multiclass_hinge_loss", at)["input"], [[0.0, 0.0, 0.0]])


def test_multiclass_hinge_loss_unbatched_and_single_class():
    assert loss("multiclass_hinge_loss", {"input": [0.0, 3.0, 2.0], "target": np.array(2)}) == 2.0
    # one class: no wrong class, so the loss is 0
    assert_exact(loss("multiclass_hinge_loss", {"input": [[5.0]], "target": np.array([0])}), [0])


def test_multiclass_perceptron_loss_values_and_gradient():
    assert_exact(loss("multiclass_perceptron_loss", CRAMMER), [0.0, 0.75, 1.0])
    g = grads("multiclass_perceptron_loss", CRAMMER)["input"]
    assert_exact(g, [[0.0, 0.0, 0.0], [0.5, -1.0, 0.5], [0.0, 1.0, -1.0]])


def test_multiclass_perceptron_loss_target_tied_at_the_top_takes_zero():
    tied = {"input": [[1.0, 1.0, -2.0]], "target": np.array([0])}
    assert_exact(loss("multiclass_perceptron_loss", tied), [0.0])
    assert_exact(grads("multiclass_perceptron_loss", tied)["input"], [[0.0, 0.0, 0.0]])


# === multilabel_margin_loss =======================================================================

# torch's documented example: scores [0.1, 0.2, 0.4, 0.8], labels [3, 0] then −1 (the 1 after it
# is not a label). Label 3 (0.8) against non-labels 1 (0.2) and 2 (0.4): 1 − 0.6 = 0.4 and
# 1 − 0.4 = 0.6; label 0 (0.1): 1 + 0.1 = 1.1 and 1 + 0.3 = 1.3; (0.4 + 0.6 + 1.1 + 1.3)/4 = 0.85.
# Dyadic scores for exact arithmetic: [0, 0.25, 0.5, 1], same labels: label 3: 1 − 0.75 = 0.25,
# 1 − 0.5 = 0.5; label 0: 1.25, 1.5; sum 3.5, over C = 4: 0.875.
MLM = {"input": [[0.0, 0.25, 0.5, 1.0]], "target": [[3, 0, -1, 1]]}


def test_multilabel_margin_loss_documented_example():
    value = loss(
        "multilabel_margin_loss", {"input": [[0.1, 0.2, 0.4, 0.8]], "target": [[3, 0, -1, 1]]}
    )
    assert_close(value, [0.85])
    assert_exact(loss("multilabel_margin_loss", MLM), [0.875])


def test_multilabel_margin_loss_labels_end_at_the_first_minus_one():
    # [3, 0, −1, 2]: class 2 after the −1 is not a label, so it stays a non-label: same 0.875
    assert_exact(loss("multilabel_margin_loss", {**MLM, "target": [[3, 0, -1, 2]]}), [0.875])
    # no label at all, and every class a label: nothing to compare, 0
    rows = {"input": [[0.0, 0.25, 0.5, 1.0]] * 2, "target": [[-1, 3, 0, 1], [0, 1, 2, 3]]}
    assert_exact(loss("multilabel_margin_loss", rows), [0.0, 0.0])


def test_multilabel_margin_loss_a_label_listed_twice_counts_twice():
    # [3, 3, −1, …]: label 3 against non-labels 0, 1, 2: 1 − 1 = 0, 1 − 0.75 = 0.25,
    # 1 − 0.5 = 0.5 → 0.75, listed twice: 1.5, over 4: 0.375
    assert_exact(loss("multilabel_margin_loss", {**MLM, "target": [[3, 3, -1, 0]]}), [0.375])


def test_multilabel_margin_loss_reductions_and_unbatched():
    two = {"input": [[0.0, 0.25, 0.5, 1.0]] * 2, "target": [[3, 0, -1, 1], [-1, 0, 0, 0]]}
    assert loss("multilabel_margin_loss", two, reduction="sum") == 0.875
    assert loss("multilabel_margin_loss", two, reduction="mean") == 0.4375
    unbatched = {"input": [0.0, 0.25, 0.5, 1.0], "target": [3, 0, -1, 1]}
    assert loss("multilabel_margin_loss", unbatched, reduction="none") == 0.875  # shape ()


def test_multilabel_margin_loss_gradients_and_the_hinge():
    # every pair of MLM is active (z > 0): each listed label −2/4, each non-label +2/4
    assert_exact(grads("multilabel_margin_loss", MLM)["input"], [[-0.5, 0.5, 0.5, -0.5]])
    # label 0 at 1 with non-labels at 0 (z = 1 − 1 = 0: the hinge, subgradient 0) and 0.5
    # (z = 0.5, active): loss 0.5/3, gradient −1/3 on the label, +1/3 on the active non-label
    at_hinge = {"input": [[1.0, 0.0, 0.5]], "target": [[0, -1, 2]]}
    assert_close(loss("multilabel_margin_loss", at_hinge), [0.5 / 3])
    assert_close(grads("multilabel_margin_loss", at_hinge)["input"], [[-1 / 3, 0.0, 1 / 3]])


# === multilabel_soft_margin_loss ==================================================================

MULTILABEL = {
    "input": [[0.0, LN3, -LN3], [0.0, 0.0, 0.0]],
    "target": [[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]],
}


def test_multilabel_soft_margin_loss_none_sum_mean():
    # row 0: [log 2, log(4/3), log(4/3)] averaged over C = 3: log(32/9)/3 = 0.42283710848783572
    # row 1: every label costs log 2: 3 log 2/3 = log 2
    row0 = math.log(32 / 9) / 3
    assert_close(loss("multilabel_soft_margin_loss", MULTILABEL), [row0, LOG2])
    assert_close(loss("multilabel_soft_margin_loss", MULTILABEL, reduction="sum"), row0 + LOG2)
    mean = loss("multilabel_soft_margin_loss", MULTILABEL, reduction="mean")
    assert_close(mean, (row0 + LOG2) / 2)  # 0.55799214452389051


def test_multilabel_soft_margin_loss_class_weights():
    arrays = {**MULTILABEL, "weight": [3.0, 1.0, 2.0]}
    # row 0: (3 log 2 + 1·log(4/3) + 2 log(4/3))/3 = log 2 + log(4/3) = log(8/3) = 0.98082925301172624
    # row 1: (3 + 1 + 2) log 2/3 = 2 log 2
    assert_close(loss("multilabel_soft_margin_loss", arrays), [math.log(8 / 3), 2 * LOG2])


def test_multilabel_soft_margin_loss_gradient():
    g = grads("multilabel_soft_margin_loss", MULTILABEL)
    # w_c (σ(x_c) − y_c)/C: row 0: [(½ − 1)/3, (¾ − 1)/3, (¼ − 0)/3]; row 1: [½/3, −½/3, ½/3]
    assert_close(g["input"], [[-1 / 6, -1 / 12, 1 / 12], [1 / 6, -1 / 6, 1 / 6]])


# === kl_div =======================================================================================

KL = {"input": np.log([[0.25, 0.75], [0.5, 0.5]]), "target": [[0.5, 0.5], [1.0, 0.0]]}
# t (log t − x): ½(log ½ − log ¼) = ½ log 2; ½(log ½ − log ¾) = ½ log(2/3); 1·(0 − log ½) = log 2; 0
KL_NONE = [[0.5 * LOG2, 0.5 * math.log(2 / 3)], [LOG2, 0.0]]
KL_SUM = 2 * LOG2 - 0.5 * LOG3  # ½ log 2 + ½ log 2 − ½ log 3 + log 2 = 0.83698821678583577


def test_kl_div_none_and_sum():
    assert_close(loss("kl_div", KL), KL_NONE)
    assert_close(loss("kl_div", KL, reduction="sum"), KL_SUM)


def test_kl_div_mean_divides_by_all_elements_batchmean_by_batch_size():
    assert_close(
        loss("kl_div", KL, reduction="mean"), KL_SUM / 4
    )  # 4 elements: 0.20924705419645894
    assert_close(
        loss("kl_div", KL, reduction="batchmean"), KL_SUM / 2
    )  # N = 2: 0.41849410839291789


def test_kl_div_log_target_takes_the_target_as_log_probability():
    arrays = {
        "input": KL["input"],
        "target": [[-LOG2, -LOG2], [0.0, -math.inf]],
    }  # log of KL target
    # e^s (s − x) with s = log t gives the same table; e^{−inf} = 0 removes the last term
    assert_close(loss("kl_div", arrays, log_target=True), KL_NONE)


def test_kl_div_zero_target_contributes_zero_even_at_minus_inf_input():
    arrays = {"input": [[math.log(0.5), -math.inf]], "target": [[1.0, 0.0]]}
    assert_close(loss("kl_div", arrays), [[LOG2, 0.0]])  # 0·(log 0 − (−inf)) is absent, not NaN


def test_kl_div_gradients():
    g = grads("kl_div", KL, reduction="batchmean")
    assert_close(g["input"], [[-0.25, -0.25], [-0.5, 0.0]])  # −t/N
    one = {"input": [[math.log(0.25)]], "target": [[0.5]]}
    # ∂ℓ/∂t = log t + 1 − x = log ½ + 1 − log ¼ = 1 + log 2 = 1.6931471805599453
    assert_close(grads("kl_div", one)["target"], [[1.0 + LOG2]])
    one_log = {"input": [[math.log(0.25)]], "target": [[-LOG2]]}
    # with log_target: e^s (s − x + 1) = ½ (log 2 + 1) = 0.84657359027997265
    assert_close(grads("kl_div", one_log, log_target=True)["target"], [[0.5 * (LOG2 + 1.0)]])


# === poisson_nll_loss =============================================================================

POISSON = {"input": [0.0, math.log(2.0), 1.0], "target": [1.0, 2.0, 0.0]}


def test_poisson_nll_loss_log_input_none_sum_mean():
    # e^x − y x: 1 − 0 = 1; 2 − 2 log 2 = 0.61370563888010938; e − 0 = e
    assert_close(loss("poisson_nll_loss", POISSON), [1.0, 2.0 - 2 * LOG2, E])
    total = 3.0 + E - 2 * LOG2  # 4.3319874673391546
    assert_close(loss("poisson_nll_loss", POISSON, reduction="sum"), total)
    assert_close(loss("poisson_nll_loss", POISSON, reduction="mean"), total / 3)


def test_poisson_nll_loss_rate_input_with_default_eps():
    arrays = {"input": [1.0, 2.0], "target": [1.0, 2.0]}
    # x − y log(x + 1e-8): 1 − log(1 + 1e-8) = 0.99999999000000005; 2 − 2 log(2 + 1e-8)
    expected = [1.0 - math.log1p(1e-8), 2.0 - 2 * math.log(2.0 + 1e-8)]
    assert_close(loss("poisson_nll_loss", arrays, log_input=False), expected)


def test_poisson_nll_loss_rate_input_with_eps_half():
    arrays = {"input": [0.5, 1.5, 0.0], "target": [2.0, 1.0, 0.0]}
    # x − y log(x + 0.5): 0.5 − 2 log 1 = 0.5; 1.5 − log 2 = 0.80685281944005469; 0 − 0 = 0
    assert_close(loss("poisson_nll_loss", arrays, log_input=False, eps=0.5), [0.5, 1.5 - LOG2, 0.0])
    # ∂ℓ/∂x = 1 − y/(x + eps): 1 − 2/1 = −1; 1 − 1/2 = 0.5; 1 − 0 = 1
    g = grads("poisson_nll_loss", arrays, log_input=False, eps=0.5)
    assert_exact(g["input"], [-1.0, 0.5, 1.0])


def test_poisson_nll_loss_zero_count_at_zero_rate_is_zero():
    # eps = 0, x = 0, y = 0: 0 − 0·log 0 = 0 (the y-term is absent)
    value = loss("poisson_nll_loss", {"input": [0.0], "target": [0.0]}, log_input=False, eps=0.0)
    assert_exact(value, [0.0])


def test_poisson_nll_loss_full_adds_stirling_only_where_target_exceeds_one():
    arrays = {"input": [0.0, 0.0, 0.0, 0.0], "target": [0.0, 1.0, 2.0, 3.0]}
    # e^0 − y·0 = 1, plus y log y − y + ½ log(2π y) for y > 1 and 0 for y ≤ 1:
    # y = 2: 2 log 2 − 2 + ½ log 4π = 0.65180648460453602
    # y = 3: 3 log 3 − 3 + ½ log 6π = 1.7640815435430567
    # (at y = 1 the formula would add −1 + ½ log 2π = −0.0811; the docs add 0)
    stirling2 = 2 * LOG2 - 2 + 0.5 * math.log(4 * math.pi)
    stirling3 = 3 * LOG3 - 3 + 0.5 * math.log(6 * math.pi)
    expected = [1.0, 1.0, 1.0 + stirling2, 1.0 + stirling3]
    assert_close(loss("poisson_nll_loss", arrays, full=True), expected)


def test_poisson_nll_loss_full_with_exact_log_factorial():
    arrays = {"input": [0.0, 0.0, 0.0, 0.0], "target": [0.0, 1.0, 2.0, 3.0]}
    # reference-only full_term = 'lgamma': log y! = [0, 0, log 2, log 6]
    value = loss("poisson_nll_loss", arrays, full=True, full_term="lgamma")
    assert_close(value, [1.0, 1.0, 1.0 + LOG2, 1.0 + math.log(6.0)])


def test_poisson_nll_loss_log_input_gradient():
    # e^x − y: 1 − 1 = 0; 2 − 2 = 0; e − 0 = e
    assert_close(grads("poisson_nll_loss", POISSON)["input"], [0.0, 0.0, E], rtol=1e-12)


# === gaussian_nll_loss ============================================================================

GAUSS = {
    "input": [[1.0, 2.0], [0.0, 0.0]],
    "target": [[0.0, 0.0], [0.0, 1.0]],
}  # d = [[1, 2], [0, −1]]


def test_gaussian_nll_loss_elementwise_var_none_sum_mean():
    arrays = {**GAUSS, "var": [[1.0, 4.0], [2.0, 0.5]]}
    # ½(log v + d²/v): ½(0 + 1) = ½; ½(log 4 + 1) = log 2 + ½; ½(log 2 + 0); ½(log ½ + 2) = 1 − ½ log 2
    expected = [[0.5, LOG2 + 0.5], [0.5 * LOG2, 1.0 - 0.5 * LOG2]]
    assert_close(loss("gaussian_nll_loss", arrays), expected)
    assert_close(
        loss("gaussian_nll_loss", arrays, reduction="sum"), 2.0 + LOG2
    )  # 2.6931471805599453
    assert_close(loss("gaussian_nll_loss", arrays, reduction="mean"), (2.0 + LOG2) / 4)


def test_gaussian_nll_loss_full_adds_half_log_two_pi():
    arrays = {**GAUSS, "var": [[1.0, 4.0], [2.0, 0.5]]}
    # + ½ log 2π = 0.91893853320467274 per element, 4 elements
    total = 2.0 + LOG2 + 2 * math.log(2 * math.pi)
    assert_close(loss("gaussian_nll_loss", arrays, full=True, reduction="sum"), total)


def test_gaussian_nll_loss_var_with_one_fewer_dimension():
    arrays = {**GAUSS, "var": [4.0, 2.0]}  # one variance per row
    # row 0, v = 4: ½(log 4 + 1/4) = log 2 + ⅛; ½(log 4 + 4/4) = log 2 + ½
    # row 1, v = 2: ½(log 2 + 0) = ½ log 2; ½(log 2 + 1/2) = ½ log 2 + ¼
    expected = [[LOG2 + 0.125, LOG2 + 0.5], [0.5 * LOG2, 0.5 * LOG2 + 0.25]]
    assert_close(loss("gaussian_nll_loss", arrays), expected)


def test_gaussian_nll_loss_var_with_trailing_dimension_one():
    arrays = {**GAUSS, "var": [[4.0], [2.0]]}  # same variances as above, shape (N, 1)
    expected = [[LOG2 + 0.125, LOG2 + 0.5], [0.5 * LOG2, 0.5 * LOG2 + 0.25]]
    assert_close(loss("gaussian_nll_loss", arrays), expected)


def test_gaussian_nll_loss_vector_input_with_scalar_var():
    arrays = {"input": [1.0, 3.0], "target": [0.0, 0.0], "var": 4.0}
    # ½(log 4 + 1/4) = log 2 + ⅛; ½(log 4 + 9/4) = log 2 + 9/8
    assert_close(loss("gaussian_nll_loss", arrays), [LOG2 + 0.125, LOG2 + 1.125])


def test_gaussian_nll_loss_clamps_var_at_eps():
    arrays = {"input": [0.5, 0.5], "target": [0.0, 0.0], "var": [0.1, 1.0]}
    # eps = 0.25: v = max(0.1, 0.25) = 0.25: ½(log ¼ + 0.25/0.25) = ½ − log 2; v = 1: ½(0 + ¼) = ⅛
    assert_close(loss("gaussian_nll_loss", arrays, eps=0.25), [0.5 - LOG2, 0.125])
    # the clamp is flat in var: ∂/∂var = 0 below eps; ½(1/v − d²/v²) = ½(1 − ¼) = ⅜ above it
    assert_exact(grads("gaussian_nll_loss", arrays, eps=0.25)["var"], [0.0, 0.375])


def test_gaussian_nll_loss_zero_var_uses_default_eps():
    arrays = {"input": [0.001], "target": [0.0], "var": [0.0]}
    # v = 1e-6: ½(log 1e-6 + 1e-6/1e-6) = ½(1 − 6 log 10) = −6.4077552789821371
    assert_close(loss("gaussian_nll_loss", arrays), [0.5 * (math.log(1e-6) + 1.0)], rtol=1e-12)


def test_gaussian_nll_loss_gradients():
    g = grads("gaussian_nll_loss", {**GAUSS, "var": [[1.0, 4.0], [2.0, 0.5]]})
    assert_close(g["input"], [[1.0, 0.5], [0.0, -2.0]])  # d/v
    # ½(1/v − d²/v²): ½(1 − 1) = 0; ½(¼ − 4/16) = 0; ½(½ − 0) = ¼; ½(2 − 4) = −1
    assert_close(g["var"], [[0.0, 0.0], [0.25, -1.0]])
    g_row = grads("gaussian_nll_loss", {**GAUSS, "var": [4.0, 2.0]})
    # summed over D: row 0: ½(¼ − 1/16) + ½(¼ − 4/16) = 3/32; row 1: ½(½) + ½(½ − ¼) = ⅜
    assert_close(g_row["var"], [3 / 32, 0.375])


# === triplet_margin_loss ==========================================================================

TRIPLET = {
    "anchor": [[0.0, 0.0], [0.0, 0.0]],
    "positive": [[0.0, 1.0], [3.0, 4.0]],
    "negative": [[0.0, 2.0], [0.0, 4.5]],
}
# eps = 0: row 0: d(a, p) = 1, d(a, n) = 2, d(p, n) = 1
#          row 1: d(a, p) = 5, d(a, n) = 4.5, d(p, n) = ‖(3, −0.5)‖ = √9.25 = 3.0413812651491098


def test_triplet_margin_loss_none_sum_mean():
    # max(0, 1 − 2 + 1) = 0; max(0, 5 − 4.5 + 1) = 1.5
    assert_exact(loss("triplet_margin_loss", TRIPLET, eps=0.0), [0.0, 1.5])
    assert loss("triplet_margin_loss", TRIPLET, eps=0.0, reduction="sum") == 1.5
    assert loss("triplet_margin_loss", TRIPLET, eps=0.0, reduction="mean") == 0.75


def test_triplet_margin_loss_swap_uses_the_closer_negative():
    # row 0: min(2, 1) = 1 → 1 − 1 + 1 = 1; row 1: min(4.5, √9.25) → 6 − √9.25 = 2.9586187348508902
    value = loss("triplet_margin_loss", TRIPLET, eps=0.0, swap=True)
    assert_close(value, [1.0, 6.0 - math.sqrt(9.25)])


def test_triplet_margin_loss_adds_eps_to_the_difference():
    arrays = {"anchor": [0.0, 0.0], "positive": [0.0, 0.0], "negative": [3.0, 4.0]}
    # eps = 0.5: d(a, p) = ‖(0.5, 0.5)‖ = √0.5; d(a, n) = ‖(−3 + 0.5, −4 + 0.5)‖ = √18.5
    # margin 4: √0.5 − √18.5 + 4 = 0.40594414766523414  (eps on n − a would give √32.5)
    value = loss("triplet_margin_loss", arrays, eps=0.5, margin=4.0)
    assert_close(value, math.sqrt(0.5) - math.sqrt(18.5) + 4.0)


def test_triplet_margin_loss_default_eps():
    arrays = {k: v[1] for k, v in TRIPLET.items()}  # row 1, unbatched (D)
    eps = 1e-6
    # ‖(−3 + ε, −4 + ε)‖ − ‖(ε, −4.5 + ε)‖ + 1 ≈ (5 − 1.4ε) − (4.5 − ε) + 1 = 1.5 − 0.4ε = 1.4999995999998929
    expected = math.hypot(-3 + eps, -4 + eps) - math.hypot(eps, -4.5 + eps) + 1.0
    assert_close(loss("triplet_margin_loss", arrays), expected)


def test_triplet_margin_loss_p1_and_margin():
    arrays = {"anchor": [[0.0, 0.0]], "positive": [[1.0, 2.0]], "negative": [[2.0, 2.0]]}
    # L1 distances: d(a, p) = 1 + 2 = 3, d(a, n) = 2 + 2 = 4
    assert_exact(
        loss("triplet_margin_loss", arrays, p=1.0, eps=0.0, margin=1.5), [0.5]
    )  # 3 − 4 + 1.5
    assert_exact(loss("triplet_margin_loss", arrays, p=1.0, eps=0.0, margin=0.5), [0.0])  # −0.5 → 0


def test_triplet_margin_loss_gradients():
    g = grads("triplet_margin_loss", TRIPLET, eps=0.0)
    # row 0 sits exactly at the hinge (1 − 2 + 1 = 0): subgradient 0
    # row 1: u_ap = (a − p)/5 = (−0.6, −0.8); u_an = (a − n)/4.5 = (0, −1)
    #   ∂/∂a = u_ap − u_an = (−0.6, 0.2); ∂/∂p = −u_ap = (0.6, 0.8); ∂/∂n = u_an = (0, −1)
    assert_close(g["anchor"], [[0.0, 0.0], [-0.6, 0.2]])
    assert_close(g["positive"], [[0.0, 0.0], [0.6, 0.8]])
    assert_close(g["negative"], [[0.0, 0.0], [0.0, -1.0]])


def test_triplet_margin_loss_swap_gradient_follows_positive_negative_distance():
    arrays = {k: v[:1] for k, v in TRIPLET.items()}  # row 0: a (0,0), p (0,1), n (0,2)
    g = grads("triplet_margin_loss", arrays, eps=0.0, swap=True)
    # ℓ = d(a, p) − d(p, n) + 1, u_ap = (a − p)/1 = (0, −1), u_pn = (p − n)/1 = (0, −1)
    # ∂/∂a = u_ap = (0, −1); ∂/∂p = −u_ap − u_pn = (0, 2); ∂/∂n = u_pn = (0, −1)
    assert_exact(g["anchor"], [[0.0, -1.0]])
    assert_exact(g["positive"], [[0.0, 2.0]])
    assert_exact(g["negative"], [[0.0, -1.0]])


def test_triplet_margin_loss_subgradient_of_zero_distance_is_zero():
    arrays = {"anchor": [[1.0, 2.0]], "positive": [[1.0, 2.0]], "negative": [[1.0, 0.0]]}
    # eps = 0, anchor == positive: d(a, p) = 0; margin 3: 0 − 2 + 3 = 1 (active)
    assert_exact(loss("triplet_margin_loss", arrays, eps=0.0, margin=3.0), [1.0])
    g = grads("triplet_margin_loss", arrays, eps=0.0, margin=3.0)
    # ‖·‖ at 0 takes subgradient 0, so only −d(a, n) moves: u_an = (0, 2)/2 = (0, 1)
    assert_exact(g["positive"], [[0.0, 0.0]])
    assert_exact(g["anchor"], [[0.0, -1.0]])  # −u_an
    assert_exact(g["negative"], [[0.0, 1.0]])  # +u_an


# === triplet_margin_with_distance_loss ============================================================

# torch's default distance: ‖u − v + ε‖₂ with ε = 1e-6 added to every component of the difference.
EPS = 1e-6
TRIPLET_DEFAULT = {
    "anchor": [[0.0, 0.0], [0.0, 0.0]],
    "positive": [[3.0, 4.0], [0.0, 2.0]],
    "negative": [[0.0, 4.5], [0.0, 3.0]],
}
# row 0: a − p + ε = (−3 + ε, −4 + ε), a − n + ε = (ε, −4.5 + ε), p − n + ε = (3 + ε, −0.5 + ε)
# row 1: a − p + ε = (ε, −2 + ε),      a − n + ε = (ε, −3 + ε),   p − n + ε = (ε, −1 + ε)
ROW0 = math.hypot(-3 + EPS, -4 + EPS) - math.hypot(EPS, -4.5 + EPS) + 1.0


def test_triplet_margin_with_distance_loss_none_sum_mean():
    # margin 1 would put row 1 a hair above its hinge: √((2 − ε)² + ε²) − √((3 − ε)² + ε²) + 1
    # = ε²/4 − ε²/6 + O(ε³) = ε²/12 ≈ 8e-14, a result made of float64 rounding; margin 0.5:
    # row 0: 5 − 4.5 + 0.5 − 0.4ε + O(ε²) = 0.9999995999998932; row 1: ≈ 2 − 3 + 0.5 < 0 → 0
    value = loss("triplet_margin_with_distance_loss", TRIPLET_DEFAULT, margin=0.5)
    assert_close(value, [ROW0 - 0.5, 0.0])
    assert_close(
        loss("triplet_margin_with_distance_loss", TRIPLET_DEFAULT, margin=0.5, reduction="sum"),
        ROW0 - 0.5,
    )
    assert_close(
        loss("triplet_margin_with_distance_loss", TRIPLET_DEFAULT, margin=0.5, reduction="mean"),
        (ROW0 - 0.5) / 2,
    )


def test_triplet_margin_with_distance_loss_swap_uses_the_closer_negative():
    # margin 0.5, row 1: d(a, p) ≈ 2, d(a, n) ≈ 3, d(p, n) ≈ 1 → without swap 2 − 3 + 0.5 < 0;
    # with swap 2 − 1 + 0.5 = 1.5 (exactly √((2−ε)² + ε²) − √((1−ε)² + ε²) + 0.5 = 1.5 − ε²/4)
    # row 0: d(p, n) = ‖(3 + ε, −0.5 + ε)‖ ≈ 3.04 < 4.5: 5 − 3.04 + 0.5 ≈ 2.46
    value = loss("triplet_margin_with_distance_loss", TRIPLET_DEFAULT, margin=0.5, swap=True)
    expected = [
        math.hypot(-3 + EPS, -4 + EPS) - math.hypot(3 + EPS, -0.5 + EPS) + 0.5,
        math.hypot(EPS, -2 + EPS) - math.hypot(EPS, -1 + EPS) + 0.5,
    ]
    assert_close(value, expected)


def test_triplet_margin_with_distance_loss_distance_of_equal_vectors_is_eps_root_d():
    # anchor == positive: d(a, p) = ‖(ε, ε, ε)‖ = ε√3, not 0; d(a, n) = ‖(ε, ε, −1 + ε)‖
    arrays = {"anchor": [1.0, 2.0, 3.0], "positive": [1.0, 2.0, 3.0], "negative": [1.0, 2.0, 4.0]}
    value = loss("triplet_margin_with_distance_loss", arrays)
    # unbatched (D) input: a 0-d result; ε√3 − √(2ε² + (1 − ε)²) + 1 ≈ ε(√3 + 1) = 2.732e-6
    assert np.shape(value) == ()
    expected = EPS * math.sqrt(3.0) - math.sqrt(2 * EPS**2 + (1 - EPS) ** 2) + 1.0
    assert_close(value, expected, rtol=1e-9)  # a difference of O(1) terms: 1e-16 absolute


def test_triplet_margin_with_distance_loss_gradients():
    g = grads("triplet_margin_with_distance_loss", TRIPLET_DEFAULT, margin=0.5)
    # row 0 active: u_ap = w_ap/‖w_ap‖, w_ap = (−3 + ε, −4 + ε); u_an = w_an/‖w_an‖,
    # w_an = (ε, −4.5 + ε): ∂/∂a = u_ap − u_an, ∂/∂p = −u_ap, ∂/∂n = u_an
    # (≈ (−0.6, 0.2), (0.6, 0.8), (0, −1), as at ε = 0, moved by O(ε)); row 1 inactive: 0
    w_ap, w_an = np.array([-3 + EPS, -4 + EPS]), np.array([EPS, -4.5 + EPS])
    u_ap, u_an = w_ap / math.hypot(*w_ap), w_an / math.hypot(*w_an)
    assert_close(g["anchor"][0], u_ap - u_an)
    assert_close(g["positive"][0], -u_ap)
    assert_close(g["negative"][0], u_an)
    for name in ("anchor", "positive", "negative"):
        assert_exact(g[name][1], [0.0, 0.0])


def test_triplet_margin_with_distance_loss_hinge_with_eps_is_exact_and_takes_subgradient_zero():
    # one feature, a − p = 2, a − n = 3: 2 + ε and 3 + ε lie in [2, 4), where float64's spacing is
    # 2⁻⁵¹, so both round ε to the same multiple of 2⁻⁵¹ and d(a, n) − d(a, p) = 1 exactly:
    # the hinge 1 − 1 = 0 is hit exactly, and the subgradient there is 0
    arrays = {"anchor": [[0.0]], "positive": [[-2.0]], "negative": [[-3.0]]}
    assert_exact(loss("triplet_margin_with_distance_loss", arrays), [0.0])
    g = grads("triplet_margin_with_distance_loss", arrays)
    for name in arrays:
        assert_exact(g[name], [[0.0]])
    # one spacing nearer the negative makes the hinge 2⁻⁵¹ > 0: active, gradient ±1 per argument
    inside = {**arrays, "negative": [[-3.0 + 2.0**-51]]}
    g = grads("triplet_margin_with_distance_loss", inside)
    assert_exact(g["anchor"], [[0.0]])  # u_ap − u_an = 1 − 1
    assert_exact(g["positive"], [[-1.0]])
    assert_exact(g["negative"], [[1.0]])


def test_triplet_margin_with_distance_loss_margin_must_be_positive():
    # torch raises ValueError for margin ≤ 0 (functional.py L6031-6032); the reference's domain
    # is margin > 0 as well
    with pytest.raises(R.InvalidInput, match="margin must be a real number > 0"):
        loss("triplet_margin_with_distance_loss", TRIPLET_DEFAULT, margin=0.0)


# === cosine_embedding_loss ========================================================================

COSINE = {
    "input1": [[1.0, 0.0], [0.0, 2.0], [1.0, 0.0]],
    "input2": [[1.0, 1.0], [3.0, 0.0], [1.0, 1.0]],
    "target": [1.0, -1.0, -1.0],
}
# cos = [1/√2, 0, 1/√2]


def test_cosine_embedding_loss_none_sum_mean():
    # y = 1: 1 − 1/√2 = 0.29289321881345248; y = −1: max(0, 0 − 0) = 0; max(0, 1/√2) = 0.7071…
    assert_close(loss("cosine_embedding_loss", COSINE), [1 - 1 / SQRT2, 0.0, 1 / SQRT2])
    assert_close(loss("cosine_embedding_loss", COSINE, reduction="sum"), 1.0)  # (1 − 1/√2) + 1/√2
    assert_close(loss("cosine_embedding_loss", COSINE, reduction="mean"), 1 / 3)


def test_cosine_embedding_loss_margin():
    # margin 0.5: max(0, 1/√2 − 0.5) = 0.20710678118654752; margin −0.5: [.., 0.5, 1/√2 + 0.5]
    value = loss("cosine_embedding_loss", COSINE, margin=0.5)
    assert_close(value, [1 - 1 / SQRT2, 0.0, 1 / SQRT2 - 0.5])
    value = loss("cosine_embedding_loss", COSINE, margin=-0.5)
    assert_close(value, [1 - 1 / SQRT2, 0.5, 1 / SQRT2 + 0.5])
    value = loss("cosine_embedding_loss", COSINE, margin=0.8)  # cos < 0.8 everywhere
    assert_close(value, [1 - 1 / SQRT2, 0.0, 0.0])


def test_cosine_embedding_loss_unbatched():
    arrays = {"input1": [1.0, 0.0], "input2": [1.0, 1.0], "target": 1.0}
    assert_close(loss("cosine_embedding_loss", arrays), 1 - 1 / SQRT2)  # shape ()


def test_cosine_embedding_loss_gradient_of_a_similar_pair():
    arrays = {"input1": [[1.0, 0.0]], "input2": [[1.0, 1.0]], "target": [1.0]}
    g = grads("cosine_embedding_loss", arrays)
    # ∂(1 − cos)/∂x1 = −[x2/(‖x1‖‖x2‖) − cos x1/‖x1‖²] = −[(1, 1)/√2 − (1, 0)/√2] = (0, −1/√2)
    assert_close(g["input1"], [[0.0, -1 / SQRT2]])
    # ∂(1 − cos)/∂x2 = −[x1/√2 − (1/√2)(1, 1)/2] = (−1/(2√2), 1/(2√2)) = ∓0.35355339059327376
    assert_close(g["input2"], [[-1 / (2 * SQRT2), 1 / (2 * SQRT2)]])


# === cosine_similarity, cosine_distance ===========================================================

# cos = [1/√2, 0, −1], norms [1, 2, 1] and [√2, 3, 1]: far above the default eps = 1e-8
COSINE_PAIRS = {
    "input1": [[1.0, 0.0], [0.0, 2.0], [0.0, 1.0]],
    "input2": [[1.0, 1.0], [3.0, 0.0], [0.0, -1.0]],
}


def test_cosine_similarity_none_sum_mean():
    assert_close(loss("cosine_similarity", COSINE_PAIRS), [1 / SQRT2, 0.0, -1.0])
    assert_close(loss("cosine_similarity", COSINE_PAIRS, reduction="sum"), 1 / SQRT2 - 1.0)
    assert_close(loss("cosine_similarity", COSINE_PAIRS, reduction="mean"), (1 / SQRT2 - 1) / 3)


def test_cosine_distance_is_one_minus_the_cosine():
    # 1 − [1/√2, 0, −1] = [0.29289321881345248, 1, 2]
    assert_close(loss("cosine_distance", COSINE_PAIRS), [1 - 1 / SQRT2, 1.0, 2.0])
    assert_close(loss("cosine_distance", COSINE_PAIRS, reduction="sum"), 4.0 - 1 / SQRT2)


def test_cosine_similarity_unbatched_and_scale_free():
    arrays = {"input1": [1.0, 0.0], "input2": [1.0, 1.0]}
    assert_close(loss("cosine_similarity", arrays), 1 / SQRT2)  # shape ()
    scaled = {"input1": [5.0, 0.0], "input2": [0.25, 0.25]}
    assert_close(loss("cosine_similarity", scaled), 1 / SQRT2)


def test_cosine_similarity_and_distance_gradients():
    arrays = {"input1": [[1.0, 0.0]], "input2": [[1.0, 1.0]]}
    # ∂cos/∂x1 = x2/(‖x1‖‖x2‖) − cos x1/‖x1‖² = (1, 1)/√2 − (1/√2)(1, 0) = (0, 1/√2)
    # ∂cos/∂x2 = x1/(‖x1‖‖x2‖) − cos x2/‖x2‖² = (1, 0)/√2 − (1/√2)(1, 1)/2 = ±1/(2√2)
    g = grads("cosine_similarity", arrays)
    assert_close(g["input1"], [[0.0, 1 / SQRT2]])
    assert_close(g["input2"], [[1 / (2 * SQRT2), -1 / (2 * SQRT2)]])
    d = grads("cosine_distance", arrays)
    assert_close(d["input1"], [[0.0, -1 / SQRT2]])
    assert_close(d["input2"], [[-1 / (2 * SQRT2), 1 / (2 * SQRT2)]])


def test_cosine_similarity_clamps_a_norm_below_eps():
    # ‖(3e-9, 4e-9)‖ = 5e-9 < eps = 1e-8, so it counts as 1e-8: cos = 8e-9 / (1e-8 · 2) = 0.4
    arrays = {"input1": [[3e-9, 4e-9]], "input2": [[0.0, 2.0]]}
    assert_close(loss("cosine_similarity", arrays), [0.4])
    g = grads("cosine_similarity", arrays)
    # the clamped norm is a constant: ∂cos/∂x1 = x2/(1e-8 · 2) = (0, 1e8)
    assert_close(g["input1"], [[0.0, 1e8]])
    # ∂cos/∂x2 = (v1 − cos v2)/‖x2‖ with v1 = x1/1e-8 = (0.3, 0.4), v2 = (0, 1): (0.15, 0)
    assert_close(g["input2"], [[0.15, 0.0]])
    # eps = 0: the exact cosine, 8e-9 / (5e-9 · 2) = 0.8
    assert_close(loss("cosine_similarity", arrays, eps=0.0), [0.8])


def test_cosine_similarity_of_a_zero_vector():
    arrays = {"input1": [[0.0, 0.0]], "input2": [[1.0, 1.0]]}
    assert np.isnan(loss("cosine_similarity", arrays, eps=0.0)).all()  # 0/0
    assert_exact(loss("cosine_similarity", arrays), [0.0])  # 0 / (1e-8 · √2)
    assert np.isnan(loss("cosine_distance", arrays, eps=0.0)).all()
    assert_exact(loss("cosine_distance", arrays), [1.0])


# === margin_ranking_loss ==========================================================================

RANKING = {"input1": [1.0, 2.0, 0.0], "input2": [2.0, 1.0, 0.0], "target": [1.0, 1.0, -1.0]}


def test_margin_ranking_loss_none_sum_mean():
    # max(0, −y(x1 − x2)): −(−1) = 1; −(1) = −1 → 0; 0 → 0
    assert_exact(loss("margin_ranking_loss", RANKING), [1.0, 0.0, 0.0])
    assert loss("margin_ranking_loss", RANKING, reduction="sum") == 1.0
    assert_close(loss("margin_ranking_loss", RANKING, reduction="mean"), 1 / 3)


def test_margin_ranking_loss_margin_half():
    # + 0.5: [1.5, −0.5 → 0, 0.5]
    assert_exact(loss("margin_ranking_loss", RANKING, margin=0.5), [1.5, 0.0, 0.5])
    assert loss("margin_ranking_loss", RANKING, margin=0.5, reduction="sum") == 2.0


def test_margin_ranking_loss_scalar_inputs():
    arrays = {"input1": 1.0, "input2": 2.0, "target": 1.0}
    assert loss("margin_ranking_loss", arrays) == 1.0  # max(0, −(1 − 2)) = 1, shape ()


def test_margin_ranking_loss_subgradient_at_the_hinge_is_zero():
    g = grads("margin_ranking_loss", RANKING)
    # element 0 active: ∂/∂x1 = −y = −1, ∂/∂x2 = 1; element 1 inactive; element 2 at z = 0: 0
    assert_exact(g["input1"], [-1.0, 0.0, 0.0])
    assert_exact(g["input2"], [1.0, 0.0, 0.0])


# === hinge_embedding_loss =========================================================================

HINGE = {"input": [0.25, 0.25, 2.0, 1.5], "target": [1.0, -1.0, -1.0, 1.0]}


def test_hinge_embedding_loss_none_sum_mean():
    # y = 1: x; y = −1: max(0, 1 − x): [0.25, 0.75, max(0, −1) = 0, 1.5]
    assert_exact(loss("hinge_embedding_loss", HINGE), [0.25, 0.75, 0.0, 1.5])
    assert loss("hinge_embedding_loss", HINGE, reduction="sum") == 2.5
    assert loss("hinge_embedding_loss", HINGE, reduction="mean") == 0.625


def test_hinge_embedding_loss_margin_half():
    # y = −1, x = 0.25: max(0, 0.5 − 0.25) = 0.25
    assert_exact(loss("hinge_embedding_loss", HINGE, margin=0.5), [0.25, 0.25, 0.0, 1.5])


def test_hinge_embedding_loss_gradient_and_zero_subgradient_at_the_hinge():
    assert_exact(grads("hinge_embedding_loss", HINGE)["input"], [1.0, -1.0, 0.0, 1.0])
    at_hinge = {"input": [1.0], "target": [-1.0]}  # margin − x = 0
    assert_exact(loss("hinge_embedding_loss", at_hinge), [0.0])
    assert_exact(grads("hinge_embedding_loss", at_hinge)["input"], [0.0])


# === soft_margin_loss =============================================================================

SOFT = {"input": [0.0, LN3, LN3], "target": [1.0, 1.0, -1.0]}


def test_soft_margin_loss_none_sum_mean():
    # log(1 + e^{−yx}): log 2; log(1 + ⅓) = log(4/3); log(1 + 3) = log 4
    assert_close(loss("soft_margin_loss", SOFT), [LOG2, math.log(4 / 3), 2 * LOG2])
    total = math.log(32 / 3)  # log(2·(4/3)·4) = 2.3671236141316169
    assert_close(loss("soft_margin_loss", SOFT, reduction="sum"), total)
    assert_close(loss("soft_margin_loss", SOFT, reduction="mean"), total / 3)  # 0.78904120471053895


def test_soft_margin_loss_gradient():
    # −y σ(−y x): −σ(0) = −½; −σ(−ln 3) = −¼; +σ(ln 3) = ¾
    assert_close(grads("soft_margin_loss", SOFT)["input"], [-0.5, -0.25, 0.75])


# === ctc_loss =====================================================================================
#
# Probabilities (½, ¼, ¼) for (blank, a, b) at every step. Target (a) in T = 2 steps: the
# alignments that collapse to it are (a, a), (blank, a), (a, blank): p = 1/16 + 1/8 + 1/8 = 5/16.
# Target (a, a) in T = 3 steps: only (a, blank, a), p = ¼·½·¼ = 1/32 (two equal labels need a
# blank between them); in T = 2 steps none at all.

CTC_P = [0.5, 0.25, 0.25]


def ctc(t_lens, targets, l_lens, steps=3, blank=0):
    probs = CTC_P if blank == 0 else [CTC_P[1], CTC_P[0], CTC_P[2]]  # the blank keeps ½
    x = np.log(np.broadcast_to(probs, (steps, len(t_lens), 3)))
    return {
        "input": x,
        "targets": np.array(targets, dtype=np.int64),
        "input_lengths": np.array(t_lens, dtype=np.int64),
        "target_lengths": np.array(l_lens, dtype=np.int64),
    }


CTC_TWO = ctc([2, 3], [[1, 2], [1, 1]], [1, 2])  # item 0: (a) in 2 steps; item 1: (a, a) in 3


def test_ctc_loss_counts_every_alignment():
    # −log(5/16) = log 3.2 = 1.1631508098056809; −log(1/32) = 5 log 2 = 3.4657359027997265
    assert_close(loss("ctc_loss", CTC_TWO), [math.log(3.2), 5 * LOG2])
    assert_close(loss("ctc_loss", CTC_TWO, reduction="sum"), math.log(102.4))


def test_ctc_loss_mean_divides_each_item_by_its_target_length():
    # torch: (ℓ_n / max(L_n, 1)).mean() = (log 3.2 / 1 + 5 log 2 / 2) / 2 = 1.4479408728...
    expected = (math.log(3.2) + 5 * LOG2 / 2) / 2
    assert_close(loss("ctc_loss", CTC_TWO, reduction="mean"), expected)


def test_ctc_loss_gradient_is_minus_the_alignment_posterior():
    # item 0: P(π_t = a) = (1/16 + 1/8)/(5/16) = 0.6 at both steps, P(π_t = blank) = 0.4; step 2
    # lies beyond its input length. Item 1: its one alignment has posterior 1.
    g = grads("ctc_loss", CTC_TWO)["input"]
    assert_close(g[:2, 0], [[-0.4, -0.6, 0.0], [-0.4, -0.6, 0.0]])
    assert_exact(g[2, 0], [0.0, 0.0, 0.0])
    assert_exact(g[:, 1], [[0.0, -1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


def test_ctc_loss_no_alignment_is_infinite_or_zero():
    short = ctc([2, 0, 0], [[1, 1], [1, 2], [1, 2]], [2, 0, 1])  # (a, a) in 2 steps; T_n = 0
    # item 1: an empty target in no steps has probability 1
    assert_exact(loss("ctc_loss", short), [math.inf, 0.0, math.inf])
    assert_exact(loss("ctc_loss", short, zero_infinity=True), [0.0, 0.0, 0.0])
    g = grads("ctc_loss", short)["input"]
    assert np.isnan(g[:2, 0]).all() and not g[2:, 0].any() and not g[:, 1:].any()
    assert_exact(grads("ctc_loss", short, zero_infinity=True)["input"], np.zeros((3, 3, 3)))


def test_ctc_loss_empty_target_and_other_blank():
    # an empty target is blank at every step: −2 log ½ = 2 log 2 in 2 steps
    empty = ctc([2], [[1, 2]], [0])
    assert_close(loss("ctc_loss", empty), [2 * LOG2])
    # blank = 1 with the blank's probability ½: the same numbers, labels 0 and 2
    assert_close(
        loss("ctc_loss", ctc([2, 3], [[0, 2], [0, 0]], [1, 2], blank=1), blank=1),
        [math.log(3.2), 5 * LOG2],
    )


# === negative_cosine_similarity (Keras CosineSimilarity) ==========================================


def test_negative_cosine_similarity_negates_the_cosine():
    # −[1/√2, 0, −1] on COSINE_PAIRS (norms far above eps = 1e-7)
    values = loss("negative_cosine_similarity", COSINE_PAIRS)
    assert_close(values, [-1 / SQRT2, 0.0, 1.0])
    assert_close(loss("negative_cosine_similarity", COSINE_PAIRS, reduction="sum"), 1 - 1 / SQRT2)
    mean = loss("negative_cosine_similarity", COSINE_PAIRS, reduction="mean")
    assert_close(mean, (1 - 1 / SQRT2) / 3)
    # x1 = (1, 0), x2 = (1, 1): ∂(−cos)/∂x1 = −(0, 1/√2), ∂(−cos)/∂x2 = −(1, −1)/(2√2)
    g = grads("negative_cosine_similarity", {"input1": [[1.0, 0.0]], "input2": [[1.0, 1.0]]})
    assert_close(g["input1"], [[0.0, -1 / SQRT2]])
    assert_close(g["input2"], [[-1 / (2 * SQRT2), 1 / (2 * SQRT2)]])


def test_negative_cosine_similarity_clamps_at_keras_epsilon():
    # ‖(3e-8, 4e-8)‖ = 5e-8 < eps = 1e-7 (the default), so it counts as 1e-7:
    # −cos = −8e-8 / (1e-7 · 2) = −0.4; the clamped norm is constant: ∂/∂x1 = −x2/(1e-7·2)
    arrays = {"input1": [[3e-8, 4e-8]], "input2": [[0.0, 2.0]]}
    assert_close(loss("negative_cosine_similarity", arrays), [-0.4])
    assert_close(grads("negative_cosine_similarity", arrays)["input1"], [[0.0, -1e7]])
    # a zero vector: 0 / (1e-7 · 2) = 0 (Keras' documented "0 regardless"); at eps = 0, 0/0
    zero = {"input1": [[0.0, 0.0]], "input2": [[0.0, 2.0]]}
    assert_close(loss("negative_cosine_similarity", zero), [0.0])
    assert np.isnan(loss("negative_cosine_similarity", zero, eps=0.0)).all()


# === categorical_hinge (Keras CategoricalHinge) ==================================================


def test_categorical_hinge_one_hot_differs_from_crammer_singer():
    # x = (−1, −2, 0.5), class 2: pos = 0.5, neg = max(−1, −2, 0·0.5) = 0 (the target's own
    # masked entry), ℓ = 1 + 0 − 0.5 = 0.5; the Crammer-Singer hinge is max(0, 1 − 1 − 0.5) = 0
    arrays = {"input": [[-1.0, -2.0, 0.5]], "target": [[0.0, 0.0, 1.0]]}
    assert_close(loss("categorical_hinge", arrays), [0.5])
    assert_close(loss("multiclass_hinge_loss", {"input": [[-1.0, -2.0, 0.5]], "target": [2]}), [0])
    # active, the max at the masked entry (weight 1 − t = 0): ∂ℓ/∂x = −t = (0, 0, −1)
    assert_close(grads("categorical_hinge", arrays)["input"], [[0.0, 0.0, -1.0]])


def test_categorical_hinge_values_reductions_and_gradient():
    # rows: x = (2, 0.5, 1), class 0: neg = 1, pos = 2, ℓ = 0 (exactly on the hinge);
    # x = (1, 3, −1), class 0: neg = 3, pos = 1, ℓ = 3; x = (−1, 1, 0), class 1: neg = 0, ℓ = 0
    arrays = {
        "input": [[2.0, 0.5, 1.0], [1.0, 3.0, -1.0], [-1.0, 1.0, 0.0]],
        "target": [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
    }
    assert_close(loss("categorical_hinge", arrays), [0.0, 3.0, 0.0])
    assert_close(loss("categorical_hinge", arrays, reduction="sum"), 3.0)
    assert_close(loss("categorical_hinge", arrays, reduction="mean"), 1.0)
    # only row 1 is active: e_1 − e_0; row 0 sits on the hinge (subgradient 0)
    g = grads("categorical_hinge", arrays)["input"]
    assert_close(g, [[0.0, 0.0, 0.0], [-1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])


def test_categorical_hinge_soft_labels_and_ties():
    # t = (0.5, 0.5, 0), x = (0.3, 0.7, −0.1): w = (0.15, 0.35, −0.1), neg = 0.35, pos = 0.5,
    # ℓ = 1 + 0.35 − 0.5 = 0.85; ∂ℓ/∂x = (1 − t)·e_1 − t = (−0.5, 0, 0)
    soft = {"input": [0.3, 0.7, -0.1], "target": [0.5, 0.5, 0.0]}
    assert_close(loss("categorical_hinge", soft), 0.85)
    assert_close(grads("categorical_hinge", soft)["input"], [-0.5, 0.0, 0.0])
    # two wrong scores tied at 1 (class 2, x_y = −2): ℓ = 1 + 1 + 2 = 4, the max's gradient
    # shared: (½, ½, −1)
    tied = {"input": [[1.0, 1.0, -2.0]], "target": [[0.0, 0.0, 1.0]]}
    assert_close(loss("categorical_hinge", tied), [4.0])
    assert_close(grads("categorical_hinge", tied)["input"], [[0.5, 0.5, -1.0]])


# === poly_loss_cross_entropy ======================================================================

# Logits [0, 1, 2]: p = [1, e, e²]/S, −log p = [L, L − 1, L − 2] (Poly-1, Leng et al. 2022, eq. 3:
# CE + ε Σ_c t_c (1 − p_c)).
POLY = {"input": [[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]], "target": [[0.0, 0.0, 1.0], [0.5, 0.0, 0.5]]}


def test_poly_loss_cross_entropy_none_sum_mean_default_epsilon():
    # item 0, one-hot class 2: (L − 2) + 2 (1 − e²/S) = L − 2 + 2 (1 + e)/S
    # item 1: ½L + ½(L − 2) + 2·[½(1 − 1/S) + ½(1 − e²/S)] = L − 1 + 2 − (1 + e²)/S
    first = L - 2.0 + 2.0 * (1.0 + E) / S
    second = L + 1.0 - (1.0 + E * E) / S
    assert_close(loss("poly_loss_cross_entropy", POLY), [first, second])
    assert_close(loss("poly_loss_cross_entropy", POLY, reduction="sum"), first + second)
    assert_close(loss("poly_loss_cross_entropy", POLY, reduction="mean"), (first + second) / 2)


def test_poly_loss_cross_entropy_negative_epsilon_lowers_the_first_term():
    # ε = −1 (the paper's detection setting): L − 2 − (1 + e)/S
    one = {"input": [0.0, 1.0, 2.0], "target": [0.0, 0.0, 1.0]}
    assert_close(loss("poly_loss_cross_entropy", one, epsilon=-1.0), L - 2.0 - (1.0 + E) / S)


def test_poly_loss_cross_entropy_gradients():
    # one-hot class 2, ε = 2: ∂/∂x_c = p_c − t_c + 2 p_c (p_2 − t_c);
    # ∂/∂t_c = −log p_c + 2 (1 − p_c)
    one = {"input": [[0.0, 1.0, 2.0]], "target": [[0.0, 0.0, 1.0]]}
    p = np.array([1.0, E, E * E]) / S
    dx = p - [0.0, 0.0, 1.0] + 2.0 * p * (p[2] - np.array([0.0, 0.0, 1.0]))
    dt = np.array([L, L - 1.0, L - 2.0]) + 2.0 * (1.0 - p)
    g = grads("poly_loss_cross_entropy", one, reduction="sum")
    assert_close(g["input"], [dx])
    assert_close(g["target"], [dt])


def test_poly_loss_cross_entropy_epsilon_zero_is_cross_entropy():
    ce = loss("cross_entropy", POLY, target_kind="probability", reduction="none")
    assert_close(ce, [L - 2.0, L - 1.0])
    assert_close(loss("poly_loss_cross_entropy", POLY, epsilon=0.0), ce)


def test_poly_loss_cross_entropy_zero_target_at_minus_inf_logit_is_absent():
    # class 0 has target 0 and logit −inf: p = [0, 1, e]/(1 + e); CE = log(1 + e) − 1 for class 2,
    # poly term 2·(1 − e/(1 + e)) = 2/(1 + e)
    row = {"input": [-math.inf, 0.0, 1.0], "target": [0.0, 0.0, 1.0]}
    expected = math.log1p(E) - 1.0 + 2.0 / (1.0 + E)
    assert_close(loss("poly_loss_cross_entropy", row), expected)


# === generalized_kl_divergence ====================================================================

# x = [0, ln 2] (predictions e^x = [1, 2]), t = [½, 1]: Σ_j t_j (log t_j − x_j) + e^{x_j} − t_j =
# ½(−ln 2) + 1 − ½ + (0 − ln 2) + 2 − 1 = 3/2 − (3/2) ln 2 = 0.4602810819...
GKL = {"input": [[0.0, LOG2], [-math.inf, 0.0]], "target": [[0.5, 1.0], [0.0, 1.0]]}


def test_generalized_kl_divergence_none_sum_mean():
    # item 1: the zero target at x = −inf is absent (e^−∞ = 0) and t = e^x = 1 gives 0
    first = 1.5 - 1.5 * LOG2
    assert_close(loss("generalized_kl_divergence", GKL), [first, 0.0])
    assert_close(loss("generalized_kl_divergence", GKL, reduction="sum"), first)
    assert_close(loss("generalized_kl_divergence", GKL, reduction="mean"), first / 2)


def test_generalized_kl_divergence_gradients():
    # ∂/∂x = e^x − t = [½, 1]; ∂/∂t = log t − x = [−ln 2, −ln 2]
    one = {"input": [0.0, LOG2], "target": [0.5, 1.0]}
    g = grads("generalized_kl_divergence", one, reduction="sum")
    assert_close(g["input"], [0.5, 1.0])
    assert_close(g["target"], [-LOG2, -LOG2])


def test_generalized_kl_divergence_of_distributions_is_kl_div():
    # both rows normalised: Σ (e^x − t) = 0, leaving kl_div's Σ t (log t − x)
    rows = {"input": np.log([[0.5, 0.5], [0.25, 0.75]]), "target": [[0.25, 0.75], [0.5, 0.5]]}
    kl = loss("kl_div", rows, reduction="sum")
    # ¼ ln ½ + ¾ ln(3/2) for row 0; ½ ln 2 + ½ ln(2/3) for row 1
    assert_close(kl, 0.25 * math.log(0.5) + 0.75 * math.log(1.5) + 0.5 * math.log(4.0 / 3.0))
    assert_close(loss("generalized_kl_divergence", rows, reduction="sum"), kl)


def test_generalized_kl_divergence_is_not_kl_div_for_unnormalised_predictions():
    # e^x = [1, 1] against t = [½, ½]: KL terms ½ ln ½ · 2 = −ln 2, plus Σ(e^x − t) = 1
    row = {"input": [0.0, 0.0], "target": [0.5, 0.5]}
    assert_close(loss("generalized_kl_divergence", row), 1.0 - LOG2)
    assert_close(
        loss("kl_div", {"input": [[0.0, 0.0]], "target": [[0.5, 0.5]]}, reduction="sum"), -LOG2
    )


# === sparsemax_loss ===============================================================================

# sparse_plus(s), s = x (label 0) or −x (label 1): 0 for s ≤ −1, (s + 1)²/4 inside, s for s ≥ 1.
# Inputs [−2, 0, 0.5, 3] with labels [0, 0, 1, 1]: s = [−2, 0, −0.5, −3] → [0, ¼, 1/16, 0];
# labels [1, 1, 0, 0]: s = [2, 0, 0.5, 3] → [2, ¼, 9/16, 3].
SPARSE = {"input": [-2.0, 0.0, 0.5, 3.0], "target": [0.0, 0.0, 1.0, 1.0]}


def test_sparsemax_loss_none_sum_mean():
    assert_exact(loss("sparsemax_loss", SPARSE), [0.0, 0.25, 0.0625, 0.0])
    flipped = {"input": SPARSE["input"], "target": [1.0, 1.0, 0.0, 0.0]}
    assert_exact(loss("sparsemax_loss", flipped), [2.0, 0.25, 0.5625, 3.0])
    assert loss("sparsemax_loss", flipped, reduction="sum") == 5.8125
    assert loss("sparsemax_loss", flipped, reduction="mean") == 5.8125 / 4


def test_sparsemax_loss_gradient_is_the_clipped_sparse_sigmoid():
    # ∂/∂x = ±clip((s + 1)/2, 0, 1): label 0 → +[0, ½, ¾·… ]: s = [−2, 0, 0.5, 3] → [0, ½, ¾, 1];
    # label 1 → −clip((−x + 1)/2): s = [2, 0, −0.5, −3] → −[1, ½, ¼, 0]
    zero = {"input": SPARSE["input"], "target": [0.0] * 4}
    one = {"input": SPARSE["input"], "target": [1.0] * 4}
    assert_exact(grads("sparsemax_loss", zero, reduction="sum")["input"], [0.0, 0.5, 0.75, 1.0])
    assert_exact(grads("sparsemax_loss", one, reduction="sum")["input"], [-1.0, -0.5, -0.25, -0.0])


def test_sparsemax_loss_is_continuously_differentiable_at_the_branch_points():
    # s = ±1: the neighbouring pieces meet with equal values (0 and 0, 1 and 1) and slopes (0, 1)
    at = {"input": [-1.0, 1.0], "target": [0.0, 0.0]}
    assert_exact(loss("sparsemax_loss", at), [0.0, 1.0])
    assert_exact(grads("sparsemax_loss", at, reduction="sum")["input"], [0.0, 1.0])


def test_sparsemax_loss_is_the_two_class_sparsemax_fenchel_young_loss():
    # Worked by hand from Martins & Astudillo 2016: scores z = (0, x), sparsemax p = (1 − q, q) with
    # q = clip((x + 1)/2, 0, 1); the loss of class k is ⟨p, z⟩ + ½(1 − ‖p‖²) − z_k. For x = ½:
    # q = ¾, ⟨p, z⟩ = 3/8, ‖p‖² = 1/16 + 9/16 = 5/8, so class 0 gives 3/8 + 3/16 = 9/16 and class 1
    # gives 9/16 − ½ = 1/16: sparse_plus(½) and sparse_plus(−½).
    row = {"input": [0.5, 0.5], "target": [0.0, 1.0]}
    assert_exact(loss("sparsemax_loss", row), [0.5625, 0.0625])


# === sampled_softmax_loss, nce_loss ===============================================================
#
# One feature x = 1 and weights (0, log 2, log 3) for classes (0, 1, 2), biases 0, expected counts
# 1 (log Q = 0): the logits are x·W[c] = 0, log 2, log 3, so e^logit = 1, 2, 3.


def sampled_case(labels, sampled, true_q=None, sampled_q=None):
    labels = np.array(labels, dtype=np.int64)
    sampled = np.array(sampled, dtype=np.int64)
    return {
        "inputs": np.ones((len(labels), 1)),
        "weights": np.array([[0.0], [math.log(2)], [math.log(3)]]),
        "biases": np.zeros(3),
        "labels": labels,
        "sampled": sampled,
        "true_expected_count": np.ones(labels.shape) if true_q is None else np.array(true_q),
        "sampled_expected_count": np.ones(len(sampled))
        if sampled_q is None
        else np.array(sampled_q),
    }


def test_sampled_softmax_loss_is_cross_entropy_over_the_true_and_sampled_logits():
    # −log(1 / (1 + 2 + 3)) = log 6
    assert_close(loss("sampled_softmax_loss", sampled_case([[0]], [1, 2])), [math.log(6)])
    # two true classes, target ½ each: −½ (log 1/6 + log 2/6) = ½ log 18
    assert_close(loss("sampled_softmax_loss", sampled_case([[0, 1]], [2])), [0.5 * math.log(18)])
    # log Q subtracted: the true logit 0 − log 2, sampled 2 and 3: log 2 + log(½ + 2 + 3) = log 11
    halved = sampled_case([[0]], [1, 2], true_q=[[2.0]])
    assert_close(loss("sampled_softmax_loss", halved), [math.log(11)])
    assert_close(loss("sampled_softmax_loss", halved, subtract_log_q=False), [math.log(6)])


def test_sampled_softmax_loss_removes_accidental_hits_and_counts_repeats():
    # class 0 sampled too: removed, log(1 + 2) = log 3; kept, log(1 + 1 + 2) = log 4
    hit = sampled_case([[0]], [0, 1])
    assert_close(loss("sampled_softmax_loss", hit, remove_accidental_hits=True), [math.log(3)])
    assert_close(loss("sampled_softmax_loss", hit), [math.log(4)])
    # class 1 sampled twice: log(1 + 2 + 2) = log 5, and its bias gathers both shares 2·⅖
    twice = sampled_case([[0]], [1, 1])
    assert_close(loss("sampled_softmax_loss", twice), [math.log(5)])
    assert_close(grads("sampled_softmax_loss", twice)["biases"], [-0.8, 0.8, 0.0])


def test_sampled_softmax_loss_gradient_is_softmax_minus_target():
    # softmax (1/6, 2/6, 3/6) minus target (1, 0, 0), chained to b (1 each), W (x = 1) and x (W)
    g = grads("sampled_softmax_loss", sampled_case([[0]], [1, 2]))
    assert_close(g["biases"], [-5 / 6, 1 / 3, 0.5])
    assert_close(g["weights"], [[-5 / 6], [1 / 3], [0.5]])
    assert_close(g["inputs"], [[math.log(2) / 3 + math.log(3) / 2]])


def test_nce_loss_is_one_logistic_loss_per_logit():
    # softplus(0) − 0 + softplus(log 2) + softplus(log 3) = log 2 + log 3 + log 4 = log 24
    assert_close(loss("nce_loss", sampled_case([[0]], [1, 2])), [math.log(24)])
    # the accidental hit's softplus(0) = log 2 is removed: log 2 + log 3 = log 6
    hit = sampled_case([[0]], [0, 1])
    assert_close(loss("nce_loss", hit, remove_accidental_hits=True), [math.log(6)])
    assert_close(loss("nce_loss", hit), [math.log(12)])
    # two true classes, target ½: softplus(0) + softplus(log 2) − ½ log 2 + softplus(log 3)
    expected = math.log(2) + math.log(3) - 0.5 * math.log(2) + math.log(4)
    assert_close(loss("nce_loss", sampled_case([[0, 1]], [2])), [expected])


def test_nce_loss_gradient_is_sigmoid_minus_target():
    # σ(0) − 1 = −½, σ(log 2) = ⅔, σ(log 3) = ¾
    g = grads("nce_loss", sampled_case([[0]], [1, 2]))
    assert_close(g["biases"], [-0.5, 2 / 3, 0.75])
    assert_close(g["inputs"], [[2 / 3 * math.log(2) + 0.75 * math.log(3)]])


# === categorical_focal_crossentropy ===============================================================

# logits [0, ln 3]: softmax [1/4, 3/4]. One-hot target 1: −α (1/4)² log(3/4) = α·log(4/3)/16;
# target 0: −α (3/4)² log(1/4) = α·(9/16)·2 ln 2.
FOCAL2 = {"input": [[0.0, LN3], [0.0, LN3]], "target": [[0.0, 1.0], [1.0, 0.0]]}


def test_categorical_focal_crossentropy_one_hot_values():
    expected = [math.log(4.0 / 3.0) / 64.0, 0.25 * (9.0 / 16.0) * 2.0 * LOG2]  # 0.004495, 0.194
    assert_close(loss("categorical_focal_crossentropy", FOCAL2), expected)
    assert_close(
        loss("categorical_focal_crossentropy", FOCAL2, alpha=1.0, reduction="mean"),
        (math.log(4.0 / 3.0) / 16.0 + (9.0 / 16.0) * 2.0 * LOG2) / 2.0,
    )


def test_categorical_focal_crossentropy_soft_target_weighs_each_class_by_its_own_factor():
    # t = [½, ½]: α [½ (3/4)² ln 4 + ½ (1/4)² ln(4/3)], each class with its own (1 − p_c)²
    soft = {"input": [[0.0, LN3]], "target": [[0.5, 0.5]]}
    expected = 0.25 * (0.5 * (9.0 / 16.0) * 2.0 * LOG2 + 0.5 * math.log(4.0 / 3.0) / 16.0)
    assert_close(loss("categorical_focal_crossentropy", soft), [expected])


def test_categorical_focal_crossentropy_gradient_two_classes():
    # ℓ = α m² (−log p), p = σ(d), m = 1 − p, d = x1 − x0: dℓ/dd = α (2 p m² log p − m³);
    # at p = 3/4: α (3/32 · log(3/4) − 1/64), and dℓ/dx0 = −dℓ/dd
    one = {"input": [[0.0, LN3]], "target": [[0.0, 1.0]]}
    dd = 0.25 * (3.0 / 32.0 * math.log(0.75) - 1.0 / 64.0)
    g = grads("categorical_focal_crossentropy", one)
    assert_close(g["input"], [[-dd, dd]])
    # ∂ℓ/∂t_c = −α (1 − p_c)² log p_c: [α (9/16) ln 4, α (1/16) ln(4/3)]
    assert_close(g["target"], [[0.25 * 9.0 / 8.0 * LOG2, 0.25 * math.log(4.0 / 3.0) / 16.0]])


def test_categorical_focal_crossentropy_gamma_0_alpha_1_is_cross_entropy():
    # logits [0, 1, 2], target 2: −log softmax = L − 2; gradient softmax − onehot
    one = {"input": [[0.0, 1.0, 2.0]], "target": [[0.0, 0.0, 1.0]]}
    assert_close(loss("categorical_focal_crossentropy", one, alpha=1.0, gamma=0.0), [L - 2.0])
    g = grads("categorical_focal_crossentropy", one, alpha=1.0, gamma=0.0)["input"]
    assert_close(g, [[1.0 / S, E / S, E * E / S - 1.0]])


def test_categorical_focal_crossentropy_certain_class_gives_zero():
    # p_y = 1 in float64 (logit 800 against 0: 1 − p = e^-800 underflows): (1 − p)^γ · log 1 = 0,
    # and a target row of zeros gives 0
    certain = {"input": [[800.0, 0.0], [1.0, 2.0]], "target": [[1.0, 0.0], [0.0, 0.0]]}
    assert_exact(loss("categorical_focal_crossentropy", certain), [0.0, 0.0])
    assert_exact(loss("categorical_focal_crossentropy", certain, gamma=0.0), [0.0, 0.0])


# === categorical_generalized_cross_entropy ========================================================

# p_y = 1/4 and 9/16, q = ½: (1 − ½)/½ = 1 and (1 − ¾)/½ = ½; ∂/∂p_y = −p_y^(−½) = −2, −4/3
GCE = {"input": [[0.5, 0.25, 0.25], [9.0 / 16.0, 0.25, 0.1875]], "target": np.array([1, 0])}


def test_categorical_generalized_cross_entropy_values_and_gradient():
    assert_close(loss("categorical_generalized_cross_entropy", GCE), [1.0, 0.5])
    assert_close(loss("categorical_generalized_cross_entropy", GCE, reduction="mean"), 0.75)
    g = grads("categorical_generalized_cross_entropy", GCE)["input"]
    assert_close(g, [[0.0, -2.0, 0.0], [-4.0 / 3.0, 0.0, 0.0]])


def test_categorical_generalized_cross_entropy_q_1_is_one_minus_p():
    assert_exact(loss("categorical_generalized_cross_entropy", GCE, q=1.0), [0.75, 7.0 / 16.0])
    g = grads("categorical_generalized_cross_entropy", GCE, q=1.0)["input"]
    assert_exact(g, [[0.0, -1.0, 0.0], [-1.0, 0.0, 0.0]])


def test_categorical_generalized_cross_entropy_at_zero_probability():
    # p_y = 0: the value is 1/q = 2, the gradient −0^(−½) = −inf (q = 1: −1)
    zero = {"input": [0.0, 1.0], "target": np.array(0)}
    assert loss("categorical_generalized_cross_entropy", zero) == 2.0
    assert_exact(grads("categorical_generalized_cross_entropy", zero)["input"], [-math.inf, 0.0])
    assert_exact(grads("categorical_generalized_cross_entropy", zero, q=1.0)["input"], [-1.0, 0.0])


# === dice_loss, tversky_loss ======================================================================

# Row 0: p = (½, ¼, 1), t = (1, 0, 1): I = 3/2, P = 7/4, T = 2, FP = Σp(1 − t) = ¼, FN = ½.
# Row 1: an all-zero prediction and mask. Row 2: disjoint, I = 0, P + T = 2.
OVERLAP = {
    "input": [[0.5, 0.25, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]],
    "target": [[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
}


def test_dice_loss_smooth_one_none_sum_mean():
    # row 0: 1 − (3 + 1)/(15/4 + 1) = 1 − 16/19 = 3/19; row 1: 1 − 1/1 = 0; row 2: 1 − 1/3
    assert_close(loss("dice_loss", OVERLAP), [3 / 19, 0.0, 2 / 3])
    assert_close(loss("dice_loss", OVERLAP, reduction="sum"), 47 / 57)
    assert_close(loss("dice_loss", OVERLAP, reduction="mean"), 47 / 171)


def test_dice_loss_without_smoothing_is_nan_on_an_empty_item():
    # row 0: 1 − 3/(15/4) = 1/5; row 1: 0/0; row 2: 1 − 0/2 = 1
    got = loss("dice_loss", OVERLAP, smooth=0.0)
    assert_close(got[[0, 2]], [0.2, 1.0])
    assert np.isnan(got[1])
    assert np.isnan(loss("dice_loss", OVERLAP, smooth=0.0, reduction="mean"))


def test_dice_loss_gradients():
    # row 0 at smooth 1: D = 19/4, q = 16/19; ∂ℓ/∂p_j = −(2t_j − q)/D, ∂ℓ/∂t_j = −(2p_j − q)/D
    one = {k: v[:1] for k, v in OVERLAP.items()}
    g = grads("dice_loss", one)
    assert_close(g["input"], [[-88 / 361, 64 / 361, -88 / 361]])
    assert_close(g["target"], [[-12 / 361, 26 / 361, -88 / 361]])


def test_dice_loss_on_logits():
    # σ(0) = ½ twice against t = (1, 0) at smooth 0: I = ½, P + T = 2, ℓ = 1 − 1/2 = ½;
    # ∂ℓ/∂x_j = −(2t_j − ½)/2 · σ'(0) with σ'(0) = ¼: (−3/16, 1/16)
    arrays = {"input": [[0.0, 0.0]], "target": [[1.0, 0.0]]}
    assert_close(loss("dice_loss", arrays, smooth=0.0, logits=True), [0.5])
    g = grads("dice_loss", arrays, smooth=0.0, logits=True)
    assert_close(g["input"], [[-3 / 16, 1 / 16]])
    # σ(ln 3) = ¾ against t = 1: 1 − (3/2 + 1)/(7/4 + 1) = 1 − 10/11
    assert_close(loss("dice_loss", {"input": [[LN3]], "target": [[1.0]]}, logits=True), [1 / 11])


def test_tversky_loss_weighs_false_positives_with_alpha():
    row = {k: v[:1] for k, v in OVERLAP.items()}
    # α = 0.3, β = 0.7, smooth 0: 1 − (3/2)/(3/2 + 0.3·¼ + 0.7·½) = 1 − 1.5/1.925 = 17/77
    assert_close(loss("tversky_loss", row, alpha=0.3, beta=0.7, smooth=0.0), [17 / 77])
    # α and β exchanged: 1 − 1.5/(1.5 + 0.7·¼ + 0.3·½) = 1 − 1.5/1.825 = 13/73
    assert_close(loss("tversky_loss", row, alpha=0.7, beta=0.3, smooth=0.0), [13 / 73])
    # smooth 1: 1 − 2.5/2.925 = 17/117
    assert_close(loss("tversky_loss", row, alpha=0.3, beta=0.7), [17 / 117])


def test_tversky_loss_gradient():
    # α = 0.3, β = 0.7, smooth 0: D = 1.925 = 77/40, q = 60/77; with D' = ∂D/∂p_j =
    # t_j + α(1 − t_j) − β t_j: ∂ℓ/∂p_j = −(t_j D − I D')/D²; t_j = 1: D' = 0.3, so
    # −(1.925 − 0.45)/1.925² = −2360/5929; t_j = 0: D' = 0.3, so 0.45/1.925² = 720/5929
    row = {k: v[:1] for k, v in OVERLAP.items()}
    g = grads("tversky_loss", row, alpha=0.3, beta=0.7, smooth=0.0)
    assert_close(g["input"], [[-2360 / 5929, 720 / 5929, -2360 / 5929]])


def test_tversky_at_one_half_is_dice_with_twice_the_smoothing():
    for smooth in (0.5, 1.0):
        tversky = loss("tversky_loss", OVERLAP, smooth=smooth)
        assert_close(tversky, loss("dice_loss", OVERLAP, smooth=2 * smooth))
    # at smooth 0 both are 0/0 on the empty item and equal elsewhere
    t0, d0 = loss("tversky_loss", OVERLAP, smooth=0.0), loss("dice_loss", OVERLAP, smooth=0.0)
    assert_close(t0[[0, 2]], d0[[0, 2]])
    assert np.isnan(t0[1]) and np.isnan(d0[1])


# === multiclass_sparsemax_loss ====================================================================

# Worked by hand from Martins & Astudillo 2016 (Alg. 1, eq. 20): z = (1, ½, −1) sorted is
# (1, ½, −1) with cumulative sums (1, 3/2, ½); 1 + k·u_k > Σ_{i≤k} u_i holds for k = 1 (2 > 1)
# and k = 2 (2 > 3/2), not k = 3 (−2 > ½): τ = (3/2 − 1)/2 = ¼, p = (¾, ¼, 0). ⟨p, z⟩ = 7/8,
# ‖p‖² = 5/8, so ⟨p, z⟩ + ½(1 − ‖p‖²) = 7/8 + 3/16 = 17/16, minus z_y: y = 0 → 1/16,
# y = 1 → 9/16, y = 2 → 33/16.
SPARSEMAX_ROWS = {"input": [[1.0, 0.5, -1.0]] * 3, "target": np.array([0, 1, 2])}


def test_multiclass_sparsemax_loss_none_sum_mean():
    assert_exact(loss("multiclass_sparsemax_loss", SPARSEMAX_ROWS), [0.0625, 0.5625, 2.0625])
    assert loss("multiclass_sparsemax_loss", SPARSEMAX_ROWS, reduction="sum") == 2.6875
    assert_close(loss("multiclass_sparsemax_loss", SPARSEMAX_ROWS, reduction="mean"), 2.6875 / 3)


def test_multiclass_sparsemax_loss_gradient_is_p_minus_the_one_hot_label():
    g = grads("multiclass_sparsemax_loss", SPARSEMAX_ROWS)["input"]
    assert_exact(g, [[-0.25, 0.25, 0.0], [0.75, -0.75, 0.0], [0.75, 0.25, -1.0]])


def test_multiclass_sparsemax_loss_uniform_and_one_hot_projections():
    # equal scores: p = ⅓ each, ℓ = ½(1 − ⅓) = ⅓; (0, 0, 3): p = e_2 (τ = 2), ℓ = 0 for y = 2 and
    # 3 − 0 = 3 for y = 0
    equal = {"input": [[0.0, 0.0, 0.0]], "target": np.array([1])}
    assert_close(loss("multiclass_sparsemax_loss", equal), [1.0 / 3.0])
    peaked = {"input": [[0.0, 0.0, 3.0]] * 2, "target": np.array([2, 0])}
    assert_exact(loss("multiclass_sparsemax_loss", peaked), [0.0, 3.0])


def test_multiclass_sparsemax_loss_of_two_classes_is_the_binary_sparsemax_loss():
    # The relation the colleague's plan names: on scores (0, x) the two-class loss of label y is
    # sparse_plus(x) for y = 0 and sparse_plus(−x) for y = 1 (worked in the sparsemax_loss test
    # above for x = ½: 9/16 and 1/16); checked against the binary reference on both branches
    xs = np.array([-3.0, -1.0, -0.25, 0.0, 0.5, 1.0, 2.5])
    for label in (0, 1):
        multi = {"input": np.stack([np.zeros_like(xs), xs], axis=-1), "target": np.full(7, label)}
        binary = {"input": xs, "target": np.full(7, float(label))}
        assert_exact(loss("multiclass_sparsemax_loss", multi), loss("sparsemax_loss", binary))


def test_multiclass_sparsemax_loss_ignores_a_minus_inf_score():
    # a −inf class never enters the support: (−inf, 1, ½) is (1, ½) with a third class absent;
    # p = (¾, ¼) there, ℓ = 7/8 + 3/16 − z_y; a −inf target score is an infinite loss
    row = {"input": [[-np.inf, 1.0, 0.5]] * 2, "target": np.array([1, 0])}
    assert_exact(loss("multiclass_sparsemax_loss", row), [0.0625, np.inf])


# === coverage of the catalogue ====================================================================


SOURCE = inspect.getsource(sys.modules[__name__])


@pytest.mark.parametrize("name", R.names())
def test_every_catalogue_loss_has_hand_worked_values_here(name):
    assert f'"{name}"' in SOURCE, (
        f"{name} has no hand-worked values: add tests of it, worked out from its documented "
        "formula, to tests/reference/test_hand_values.py"
    )


# === ntxent =======================================================================================
#
# x0 = x1 = (1, 0), x2 = (0, 1), labels (0, 0, 1), τ = 1: cos(x0, x1) = 1, cos(x_i, x2) = 0. The
# positive pairs are (0, 1) and (1, 0), each against the one negative x2:
# ℓ = −log(e¹/(e¹ + e⁰)) = log(1 + e⁻¹); x2 has no positive (L_2 = 0); mean over P = 2 pairs.
NTX = {"embeddings": [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], "labels": [0, 0, 1]}


def test_ntxent_hand_value():
    ell = math.log1p(math.exp(-1.0))
    out = loss("ntxent", NTX, temperature=1.0, reduction="none")
    np.testing.assert_allclose(out, [ell, ell, 0.0], rtol=1e-15, atol=0)
    assert loss("ntxent", NTX, temperature=1.0, reduction="mean") == pytest.approx(ell, rel=1e-15)
    assert loss("ntxent", NTX, temperature=1.0, reduction="sum") == pytest.approx(2 * ell, 1e-15)
    # τ = ½ doubles every similarity: log(1 + e⁻²)
    half = loss("ntxent", NTX, temperature=0.5, reduction="mean")
    assert half == pytest.approx(math.log1p(math.exp(-2)), rel=1e-15)


def test_ntxent_two_negatives_and_unequal_norms():
    # x0 = (3, 0), x1 = (2, 0) (group 0), x2 = (0, 5), x3 = (−1, 0) (group 1), τ = 1: only
    # directions count. Anchor 0: S01 = 1 against S02 = 0, S03 = −1: log(1 + e⁻¹ + e⁻²), anchor 1
    # the same; anchor 2: S23 = 0 against S20 = S21 = 0: log 3; anchor 3: S32 = 0 against
    # S30 = S31 = −1: log(1 + 2e⁻¹). Mean over P = 4.
    a = {"embeddings": [[3.0, 0.0], [2.0, 0.0], [0.0, 5.0], [-1.0, 0.0]], "labels": [0, 0, 1, 1]}
    first = math.log(1 + math.exp(-1) + math.exp(-2))
    want = [first, first, math.log(3.0), math.log(1 + 2 * math.exp(-1))]
    np.testing.assert_allclose(loss("ntxent", a, temperature=1.0, reduction="none"), want, 1e-15)
    mean = loss("ntxent", a, temperature=1.0, reduction="mean")
    assert mean == pytest.approx(sum(want) / 4, rel=1e-15)


def test_ntxent_gradient_by_hand():
    # ∂cos(x_i, x_j)/∂x_j = (u_i − cos·u_j)/‖x_j‖. ℓ_01 = softplus(S02 − S01), ∂/∂S02 = σ(−1) =
    # 1/(1 + e), ∂/∂S01 = −σ(−1); ℓ_10 likewise. x2: both terms pull along u0 = u1 = (1, 0) (cos 0:
    # no radial part), halved by the mean: (σ(−1), 0). x0: S01 moves nothing (u1 = u0: zero
    # tangential part), S02 moves along u2 = (0, 1) in ℓ_01 only: (0, σ(−1)/2); x1 the same.
    g = grads("ntxent", NTX, temperature=1.0, reduction="mean")["embeddings"]
    sig = 1.0 / (1.0 + math.e)
    np.testing.assert_allclose(g, [[0.0, sig / 2], [0.0, sig / 2], [sig, 0.0]], 1e-15, 1e-300)


def test_ntxent_every_label_distinct_is_nan_with_nan_gradient():
    # P = 0: the mean is 0/0, and its gradient an infinite cotangent times zero partials
    distinct = {"embeddings": NTX["embeddings"], "labels": [0, 1, 2]}
    assert math.isnan(float(loss("ntxent", distinct, reduction="mean")))
    assert np.all(np.isnan(grads("ntxent", distinct, reduction="mean")["embeddings"]))
    assert float(loss("ntxent", distinct, reduction="sum")) == 0.0
    assert_exact(grads("ntxent", distinct, reduction="sum")["embeddings"], np.zeros((3, 2)))


def test_ntxent_every_label_equal_is_zero():
    # no negative: ℓ_ij = −log(e^S/e^S) = 0 whatever the embeddings
    same = {"embeddings": [[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]], "labels": [4, 4, 4]}
    assert float(loss("ntxent", same, reduction="mean")) == 0.0
    assert_exact(grads("ntxent", same, reduction="mean")["embeddings"], np.zeros((3, 2)))


def test_ntxent_zero_embedding_is_nan_where_it_enters():
    # cos(0, x) = 0/0: NaN for the anchors whose terms hold it; anchor 3's terms (positive 2,
    # negatives 0 and 1) hold it too; only an anchor without a positive stays 0
    a = {"embeddings": [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], "labels": [0, 0, 1, 2]}
    out = loss("ntxent", a, temperature=1.0, reduction="none")
    assert np.isnan(out[0]) and np.isnan(out[1])
    assert out[2] == 0.0 and out[3] == 0.0


# === circle_loss ==================================================================================

# Rows (1, 0), (1, 0), (0, 1), (−1, 0) with labels 0, 0, 1, 2: items 0 and 1 are each other's
# positive (s = 1) and have negatives at s = 0 and s = −1; items 2 and 3 have no positive.
# γ = 80, m = 0.4: z_p = −80·0.4·(1 − 0.6) = −12.8; z_n(0) = 80·0.4·(0 − 0.4) = −12.8,
# z_n(−1) = 80·[−0.6]₊·(…) = 0; ℓ = log(1 + e^{−12.8}(e^{−12.8} + 1)).
CIRCLE = {"input": [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], "target": [0, 0, 1, 2]}


def test_circle_loss_defaults_none_sum_mean():
    item = math.log1p(math.exp(-12.8) + math.exp(-25.6))
    assert_close(loss("circle_loss", CIRCLE), [item, item, 0.0, 0.0])
    assert_close(loss("circle_loss", CIRCLE, reduction="sum"), 2 * item)
    # mean counts the two items that have a positive and a negative
    assert_close(loss("circle_loss", CIRCLE, reduction="mean"), item)


def test_circle_loss_small_gamma_and_margin():
    # γ = 2, m = ¼: z_p = −2·¼·¼ = −⅛, z_n(0) = 2·¼·(−¼) = −⅛, z_n(−1) = 0
    item = math.log(1.0 + math.exp(-0.25) + math.exp(-0.125))
    got = loss("circle_loss", CIRCLE, gamma=2.0, margin=0.25)
    assert_close(got, [item, item, 0.0, 0.0])


def test_circle_loss_without_any_valid_item_is_a_mean_over_nothing():
    distinct = {**CIRCLE, "target": [0, 1, 2, 3]}
    assert_close(loss("circle_loss", distinct, reduction="sum"), 0.0)
    assert np.isnan(loss("circle_loss", distinct, reduction="mean"))
