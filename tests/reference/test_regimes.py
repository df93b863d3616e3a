"""Input regimes (reference/regimes.py): one behaviour per test, on hand-built cases."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import reference as R
from cases import edges, profiles, selection
from reference import Case, registry
from reference.regimes import REGIMES, RegimeRules, regime_of

INF, NAN = math.inf, math.nan
F16_MAX = 65504.0


def case(loss, arrays, dtype="float64", cotangent=None, **params):
    spec = R.get(loss)
    typed = {
        name: np.asarray(
            value,
            dtype=np.int64
            if spec.array(name).domain_for({**spec.defaults(), **params}).integer
            else np.float64,
        )
        for name, value in arrays.items()
    }
    cot = None if cotangent is None else np.asarray(cotangent, np.float64)
    return Case(loss, {"reduction": "mean", **params}, typed, dtype, cotangent=cot)


def test_the_regimes_in_display_order():
    assert REGIMES == ("ordinary", "boundary", "kink", "range", "special", "invalid")


# --- ordinary --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
def test_plain_mse_values_are_ordinary(dtype):
    assert regime_of(case("mse_loss", {"input": [0.5, -1.5], "target": [0.25, 1.0]}, dtype)) == (
        "ordinary"
    )


def test_hard_labels_of_binary_cross_entropy_are_ordinary_not_boundary():
    c = case("binary_cross_entropy", {"input": [0.25, 0.75], "target": [0.0, 1.0]})
    assert regime_of(c) == "ordinary"


def test_one_hot_probability_targets_of_cross_entropy_are_ordinary():
    c = case(
        "cross_entropy",
        {"input": [[0.5, -1.0, 2.0]], "target": [[0.0, 1.0, 0.0]]},
        target_kind="probability",
    )
    assert regime_of(c) == "ordinary"


# --- invalid and special ------------------------------------------------------------------------


def test_an_input_the_reference_rejects_is_invalid():
    c = case("binary_cross_entropy", {"input": [1.25, 0.5], "target": [0.0, 1.0]})
    assert regime_of(c) == "invalid"


@pytest.mark.parametrize("bad", [INF, -INF, NAN])
def test_a_non_finite_input_is_special(bad):
    assert regime_of(case("mse_loss", {"input": [bad, 1.0], "target": [0.0, 0.0]})) == "special"


def test_a_value_that_rounds_to_inf_in_the_dtype_is_special_there():
    arrays = {"input": [1e5, 1.0], "target": [0.0, 0.0]}
    assert regime_of(case("l1_loss", arrays, "float16")) == "special"
    assert regime_of(case("l1_loss", arrays, "float32")) == "ordinary"


def test_a_non_finite_cotangent_is_special():
    c = case(
        "mse_loss",
        {"input": [0.5, 1.0], "target": [0.0, 0.0]},
        cotangent=[INF, 1.0],
        reduction="none",
    )
    assert regime_of(c) == "special"


def test_a_log_probability_of_minus_inf_is_special_even_where_its_term_is_absent():
    c = case("kl_div", {"input": [-INF, -1.0], "target": [0.0, 1.0]})
    assert regime_of(c) == "special"


# --- range ---------------------------------------------------------------------------------------


def test_a_subnormal_input_is_range():
    """kl_div's target 5e-324: torch's target gradient loses the "+1" there (issue 11)."""
    c = case(
        "kl_div",
        {"input": [-1.0, -0.5], "target": [5e-324, 0.5]},
        reduction="none",
        cotangent=[1.0, 1.0],
    )
    assert regime_of(c) == "range"


def test_mse_float16_whose_sum_before_the_mean_overflows_is_range():
    """Issue 11: mse_loss[mean] float16 is inf where the exact mean (17 822) is representable."""
    arrays = {"input": [133.5] * 4, "target": [0.0] * 4}
    assert regime_of(case("mse_loss", arrays, "float16")) == "range"
    assert regime_of(case("mse_loss", arrays, "float32")) == "ordinary"


def test_a_square_beyond_float16_is_range_even_unreduced():
    c = case(
        "mse_loss",
        {"input": [300.0], "target": [0.0]},
        "float16",
        reduction="none",
        cotangent=[1.0],
    )
    assert regime_of(c) == "range"


@pytest.mark.parametrize("arrays", [{"input": [300.0]}, {"input": [299.75], "target": [0.0]}])
def test_the_square_l2_loss_halves_beyond_float16_is_range(arrays):
    """jax default profile: optax l2_loss float16 at an error of 299.75 is inf, since the square
    89 850 overflows before the half (44 925) is taken; tf.nn.l2_loss forms t² too."""
    c = case("l2_loss", arrays, "float16", reduction="none", cotangent=[0.0])
    assert regime_of(c) == "range"
    assert regime_of(case("l2_loss", arrays, "float32", reduction="none", cotangent=[0.0])) == (
        "ordinary"
    )
    small = {name: [v / 2 for v in values] for name, values in arrays.items()}
    assert regime_of(case("l2_loss", small, "float16", reduction="none", cotangent=[0.0])) == (
        "ordinary"
    )


def test_weighted_cross_entropy_float16_whose_weighted_terms_overflow_is_range():
    """Issue 11: weighted cross_entropy float16 is inf where the exact value is ~1e3."""
    logits = [[0.0, -100.0, 0.0], [0.0, 0.0, 0.0]]
    c = case(
        "cross_entropy",
        {"input": logits, "target": [1, 0], "weight": [1.0, 1024.0, 1.0]},
        "float16",
    )
    assert regime_of(c) == "range"


def test_gaussian_nll_float16_with_a_variance_whose_reciprocal_overflows_is_range():
    """Issue 11: gaussian_nll_loss float16 gradients inf/NaN: the backward multiplies by 1/v."""
    arrays = {"input": [1.0, 0.5], "target": [0.0, 0.25], "var": [2.0**-20, 1.0]}
    assert regime_of(case("gaussian_nll_loss", arrays, "float16")) == "range"
    assert regime_of(case("gaussian_nll_loss", arrays, "float32")) == "ordinary"


def test_gaussian_nll_float16_whose_var_gradient_quotient_overflows_is_range_at_cotangent_0():
    """torch default profile: error 1, var 2⁻⁸, cotangent 0: (d²/v)/v = 65 536 overflows float16
    before the cotangent multiplies it (inf·0 = NaN) where the reference's gradient is −0."""
    arrays = {"input": [[0.0]], "target": [[1.0]], "var": [[2.0**-8]]}
    params = {"reduction": "none", "full": True}
    assert regime_of(case("gaussian_nll_loss", arrays, "float16", [[0.0]], **params)) == "range"
    assert regime_of(case("gaussian_nll_loss", arrays, "float32", [[0.0]], **params)) == "ordinary"


def test_cosine_embedding_float16_whose_squared_norms_overflow_is_range():
    """Issue 11: cosine_embedding_loss float16 gradients NaN: ‖x1‖²·‖x2‖² overflows."""
    arrays = {"input1": [[200.0, 1.0]], "input2": [[1.0, 300.0]], "target": [1.0]}
    assert regime_of(case("cosine_embedding_loss", arrays, "float16")) == "range"
    assert regime_of(case("cosine_embedding_loss", arrays, "float32")) == "ordinary"


def test_tversky_logits_whose_squared_denominator_underflows_float64_is_range():
    """The jax default profile: logits ±724 against an empty mask; one item's denominator
    α·Σσ(x) ≈ 2e-289 is normal, its square (the quotient rule's D²) underflows float64 to 0 and
    optax's input gradient is 0/0 = NaN where the reference's is −0."""
    row = [-724.08, -724.08, -663.99]
    arrays = {"input": [[724.08] * 3] * 3 + [row], "target": [[0.0] * 3] * 4}
    params = {"logits": True, "smooth": 0.0}
    assert regime_of(case("tversky_loss", arrays, "float64", **params)) == "range"
    away = {"input": [[724.08] * 3] * 3 + [[-3.0, -3.0, -2.0]], "target": arrays["target"]}
    assert regime_of(case("tversky_loss", away, "float64", **params)) == "ordinary"


def test_a_square_that_underflows_float64_stays_below_every_normal_range():
    from reference.regimes import nonzero_square

    squares = nonzero_square(np.array([1e-200, 0.0, -3.0, 1e-100]))
    assert squares[0] == np.nextafter(0.0, 1.0) and squares[1] == 0.0
    assert squares[2] == 9.0 and squares[3] == 1e-200


def test_an_exp_the_definition_forms_beyond_the_dtype_is_range():
    arrays = {"input": [-12.0, 0.5], "target": [1.0, 1.0]}
    assert regime_of(case("soft_margin_loss", arrays, "float16")) == "range"
    assert regime_of(case("soft_margin_loss", arrays, "float32")) == "ordinary"


def test_a_float64_result_that_is_zero_up_to_its_own_rounding_is_not_range():
    """Identical vectors: the gradient is 0 up to float64 rounding, no float16 underflow."""
    v = [[0.5, -1.0, 2.0], [1.0, 1.0, 1.0]]
    c = case("cosine_embedding_loss", {"input1": v, "input2": v, "target": [1.0, 1.0]}, "float16")
    assert regime_of(c) == "ordinary"


# --- boundary ------------------------------------------------------------------------------------


def test_every_target_ignored_is_boundary():
    """Issue 11: cross_entropy with every item ignored (zero total weight)."""
    c = case(
        "cross_entropy",
        {"input": [[0.5, -1.0, 2.0], [0.0, 1.0, 0.0]], "target": [-100, -100]},
        ignore_index=-100,
    )
    assert regime_of(c) == "boundary"
    assert regime_of(dataclasses.replace(c, params={**c.params, "reduction": "sum"})) == (
        "boundary"
    )


def test_a_zero_total_weight_is_boundary():
    """Issue 11: cross_entropy[index-target,weight,ignore_index=-100,mean] at zero total weight."""
    c = case(
        "cross_entropy",
        {"input": [[0.5, -1.0, 2.0], [0.0, 1.0, 0.0]], "target": [0, -100], "weight": [0.0, 1, 1]},
        ignore_index=-100,
    )
    assert regime_of(c) == "boundary"


def test_an_input_probability_of_zero_is_boundary():
    c = case("binary_cross_entropy", {"input": [0.0, 0.5], "target": [0.0, 1.0]})
    assert regime_of(c) == "boundary"


def test_a_kl_div_target_of_zero_is_boundary():
    c = case("kl_div", {"input": [-1.0, -0.5], "target": [0.0, 0.5]})
    assert regime_of(c) == "boundary"


def test_a_zero_vector_is_boundary():
    arrays = {
        "input1": [[0.0, 0.0], [1.0, 2.0]],
        "input2": [[1.0, 1.0], [1.0, 0.5]],
        "target": [1.0, -1.0],
    }
    assert regime_of(case("cosine_embedding_loss", arrays)) == "boundary"


def test_a_variance_of_zero_is_boundary():
    arrays = {"input": [1.0, 0.5], "target": [0.0, 0.25], "var": [0.0, 1.0]}
    assert regime_of(case("gaussian_nll_loss", arrays)) == "boundary"


# --- kink ----------------------------------------------------------------------------------------


def test_an_error_of_zero_is_the_kink_of_l1_but_not_of_mse():
    arrays = {"input": [0.5, 1.0], "target": [0.5, 0.0]}
    assert regime_of(case("l1_loss", arrays)) == "kink"
    assert regime_of(case("mse_loss", arrays)) == "ordinary"


def test_an_error_of_exactly_delta_is_a_kink_of_huber():
    assert regime_of(case("huber_loss", {"input": [1.5, 0.0], "target": [0.5, 0.25]})) == "kink"


def test_triplet_p1_at_its_hinge_within_rounding_is_kink():
    """Issue 11: triplet_margin_loss[p=1.0,sum] gradients 1 vs 0 at the hinge."""
    arrays = {
        "anchor": [[0.0, 0.0, 0.0]],
        "positive": [[1.0, 0.0, 0.0]],
        "negative": [[2.0, 0.0, 0.0]],
    }
    for dtype in ("float64", "float32"):
        assert regime_of(case("triplet_margin_loss", arrays, dtype, p=1.0, reduction="sum")) == (
            "kink"
        )


def test_triplet_p1_at_a_zero_component_of_a_difference_is_kink():
    arrays = {
        "anchor": [[0.5, 1.0, 2.0]],
        "positive": [[0.5, 3.0, -1.0]],
        "negative": [[4.0, 0.0, 1.0]],
    }
    assert regime_of(case("triplet_margin_loss", arrays, p=1.0, eps=0.0)) == "kink"
    assert regime_of(case("triplet_margin_loss", arrays, p=2.0, eps=0.0)) == "ordinary"


def test_a_hinge_reached_only_within_rounding_is_kink_and_far_from_it_ordinary():
    near = {"input": [1.0 + 2.0**-30, 3.0], "target": [-1.0, 1.0]}
    far = {"input": [1.25, 3.0], "target": [-1.0, 1.0]}
    assert regime_of(case("hinge_embedding_loss", near, "float32")) == "kink"
    assert regime_of(case("hinge_embedding_loss", far, "float32")) == "ordinary"


def test_a_loss_without_kink_rules_has_kinks_at_its_kink_parameters(monkeypatch):
    spec = R.get("hinge_embedding_loss")
    monkeypatch.setitem(registry.REGISTRY, spec.name, dataclasses.replace(spec, regimes=None))
    at_margin = {"input": [1.0, 3.0], "target": [-1.0, 1.0]}
    assert regime_of(case("hinge_embedding_loss", at_margin)) == "kink"
    away = {"input": [0.25, 3.0], "target": [-1.0, 1.0]}
    assert regime_of(case("hinge_embedding_loss", away)) == "ordinary"


# --- precedence and memoisation ------------------------------------------------------------------


def test_special_comes_before_range():
    c = case("mse_loss", {"input": [INF, 300.0], "target": [0.0, 0.0]}, "float16")
    assert regime_of(c) == "special"


def test_range_comes_before_boundary():
    c = case(
        "binary_cross_entropy",
        {"input": [2.0**-16, 0.0], "target": [1.0, 0.0], "weight": [1.0, 0.0]},
        "float16",
    )
    assert regime_of(c) == "range"


def test_boundary_comes_before_kink():
    """The target's score exactly the margin above class 1 (a hinge), and a zero class weight."""
    arrays = {"input": [[1.0, 0.0, -4.0]], "target": [0]}
    assert regime_of(case("multi_margin_loss", arrays)) == "kink"
    weighted = {**arrays, "weight": [1.0, 0.0, 1.0]}
    assert regime_of(case("multi_margin_loss", weighted)) == "boundary"


def test_the_regime_is_computed_once_per_case(monkeypatch):
    c = case("mse_loss", {"input": [0.5], "target": [0.0]})
    assert regime_of(c) == "ordinary"
    monkeypatch.setattr("reference.regimes._classify", lambda case: pytest.fail("recomputed"))
    assert regime_of(c) == "ordinary"


def test_a_case_made_for_another_dtype_is_classified_afresh():
    c = case("mse_loss", {"input": [133.5] * 4, "target": [0.0] * 4}, "float32")
    assert regime_of(c) == "ordinary"
    assert regime_of(dataclasses.replace(c, dtype="float16")) == "range"


# --- every loss ----------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", R.names())
def test_every_loss_classifies_its_edge_cases_in_every_dtype(loss):
    spec = R.get(loss)
    seen = set()
    for config in selection.configs(spec, profiles.get("default")):
        for dtype in R.DTYPES:
            for c in edges.edge_cases(spec, config, dtype):
                seen.add(regime_of(dataclasses.replace(c, dtype=dtype)))
    assert seen <= set(REGIMES)
    assert "invalid" not in seen  # edge cases are valid inputs


def test_the_loss_rules_are_data_on_the_spec():
    assert isinstance(R.get("triplet_margin_loss").regimes, RegimeRules)
    assert R.get("mse_loss").regimes is None


def test_a_result_that_overflows_even_float64_is_range():
    """poisson_nll_loss at log-rate 4096: e^4096 is inf in float64 too (no boundary there)."""
    c = case("poisson_nll_loss", {"input": [4096.0], "target": [16.0]}, "float16", full=True)
    assert regime_of(c) == "range"


def test_bce_float16_whose_weighted_input_gradient_before_the_mean_overflows_is_range():
    """torch forms w·(x − y)/(x(1 − x)) before dividing by N: 512·256 overflows float16 while
    the gradient, 16384, does not."""
    arrays = {
        "input": [2.0**-8, *[0.5] * 7],
        "target": [1.0, *[0.0] * 7],
        "weight": [512.0, *[1.0] * 7],
    }
    assert regime_of(case("binary_cross_entropy", arrays, "float16")) == "range"
    assert regime_of(case("binary_cross_entropy", arrays, "float32")) == "ordinary"
