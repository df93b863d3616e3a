"""The shared machinery of the reference: validation messages, layouts, reductions, dtypes."""

import numpy as np
import pytest

import reference as R
from reference.dtypes import round_to, spacing
from reference.reduction import elementwise_cotangent, reduce
from reference.spec import Elementwise


def test_every_loss_declares_a_docstring_with_formula_domain_and_subgradient():
    for spec in R.REGISTRY.values():
        doc = spec.doc
        assert "=" in doc, spec.name  # a formula
        assert "Domain:" in doc, spec.name
        assert any(
            w in doc for w in ("ubgradient", "Smooth", "smooth", "differentiable", "Linear")
        ), spec.name


def test_unknown_loss_names_the_known_ones():
    with pytest.raises(KeyError, match="mse_loss"):
        R.get("msee_loss")


def test_unknown_reduction_is_invalid_input_naming_argument_rule_and_value():
    with pytest.raises(R.InvalidInput) as info:
        R.evaluate("mse_loss", {"input": np.zeros(2), "target": np.zeros(2)}, {"reduction": "avg"})
    assert str(info.value) == "mse_loss: reduction must be one of 'mean', 'none', 'sum'; got 'avg'"


def test_class_index_out_of_range_names_value_and_bound():
    with pytest.raises(R.InvalidInput) as info:
        R.evaluate("cross_entropy", {"input": np.zeros((2, 3)), "target": np.array([0, 3])}, {})
    msg = str(info.value)
    assert msg.startswith("cross_entropy: target must be a class index in [0, C)")
    assert "C=3" in msg and "got [3]" in msg


def test_shape_mismatch_lists_the_allowed_layouts():
    with pytest.raises(R.InvalidInput, match=r"input \(3, 4\), target \(3, 5\) fit no allowed"):
        R.evaluate("mse_loss", {"input": np.zeros((3, 4)), "target": np.zeros((3, 5))}, {})


def test_reduction_wrapper_divides_by_declared_denominator_and_zero_gives_nan():
    el = Elementwise(np.array([1.0, 2.0, 3.0]), {"mean": 2.0})
    assert reduce(el, "sum") == 6.0
    assert reduce(el, "mean") == 3.0
    assert np.array_equal(elementwise_cotangent(el, "mean"), np.full(3, 0.5))
    assert np.isnan(reduce(Elementwise(np.zeros(2), {"mean": 0.0}), "mean"))


@pytest.mark.parametrize(
    "x, dtype, expected",
    [
        (1.0 + 2.0**-8, "bfloat16", 1.0),  # tie, rounds to even
        (1.0 + 3 * 2.0**-8, "bfloat16", 1.0 + 2.0**-6),  # tie, rounds to even (up)
        (
            1.0 + 2.0**-8 + 2.0**-30,
            "bfloat16",
            1.0 + 2.0**-7,
        ),  # just above the tie: no double rounding
        (70000.0, "float16", np.inf),
        (3.5e38, "bfloat16", np.inf),
    ],
)
def test_round_to_is_round_to_nearest_even_once(x, dtype, expected):
    assert round_to(np.array([x]), dtype)[0] == expected


def test_spacing_matches_numpy_for_native_formats():
    x = np.array([1.0, 3.0, 1e-3, 1e30])
    assert np.array_equal(spacing(x, "float32"), np.spacing(x.astype(np.float32)).astype(float))
    assert spacing(np.array([1.0]), "bfloat16")[0] == 2.0**-7
