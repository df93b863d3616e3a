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


def test_a_case_validates_and_evaluates_once_for_reference_tolerance_and_regime(monkeypatch):
    """Case.derived: the reference's value and vjp, the tolerance's term scales and the regime
    share one validation and one elementwise evaluation of the rounded inputs, and agree with
    the functions that form them afresh."""
    import dataclasses

    from cases import tolerance
    from reference import core, registry
    from reference.regimes import regime_of

    spec = R.get("mse_loss")
    case = R.Case(
        "mse_loss",
        {"reduction": "mean"},
        {"input": np.array([0.5, -1.25, 3.0]), "target": np.array([0.0, 1.0, 2.5])},
        dtype="float32",
    )
    calls = {"validate": 0, "elementwise": 0, "terms": 0, "grad terms": 0}
    validate, elementwise, ts = core.validate, spec.elementwise, spec.term_scale

    def counted(name, function):
        def call(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)

        return call

    monkeypatch.setattr(core, "validate", counted("validate", validate))
    counted_spec = dataclasses.replace(
        spec,
        elementwise=counted("elementwise", elementwise),
        term_scale=dataclasses.replace(
            ts, value=counted("terms", ts.value), grads=counted("grad terms", ts.grads)
        ),
    )
    monkeypatch.setitem(registry.REGISTRY, "mse_loss", counted_spec)
    value, grads = case.reference()
    scales = tolerance.case_scales(case)
    regime = regime_of(case)
    assert calls == {"validate": 1, "elementwise": 1, "terms": 1, "grad terms": 1}
    monkeypatch.undo()

    fresh_value, fresh_grads = core.value_and_vjp(spec, case.rounded(), case.params)
    fresh_scales = tolerance.scales("mse_loss", case.rounded(), case.params)
    assert np.array_equal(value, fresh_value) and regime == "ordinary"
    assert all(np.array_equal(grads[k], fresh_grads[k]) for k in fresh_grads)
    assert np.array_equal(scales.value, fresh_scales.value) and scales.n == fresh_scales.n
    assert scales.floor == fresh_scales.floor and scales.grad_floor == fresh_scales.grad_floor
    assert all(np.array_equal(scales.grads[k], fresh_scales.grads[k]) for k in fresh_scales.grads)


def test_a_float64_case_validates_once_for_its_rejection_and_its_reference(monkeypatch):
    """At float64 the rounded arrays are the case's own numbers, so the reference's verdict on
    them (Case.rejection) and the validation its value starts from (Case.derived) are one call;
    at float32 the rejection judges the unrounded arrays, a second call."""
    from reference import core

    arrays = {"input": np.array([0.5, -1.25, 3.0]), "target": np.array([0.0, 1.0, 2.5])}
    validate = core.validate
    calls = []

    def counted_validate(*args, **kwargs):
        calls.append(1)
        return validate(*args, **kwargs)

    monkeypatch.setattr(core, "validate", counted_validate)
    for dtype, expected_calls in (("float64", 1), ("float32", 2)):
        calls.clear()
        case = R.Case("mse_loss", {"reduction": "mean"}, arrays, dtype=dtype)
        case.reference()
        assert case.rejection() is None
        assert len(calls) == expected_calls, dtype


def test_a_float64_case_is_rejected_for_its_arrays_as_given_not_as_rounded():
    """A boolean input is no real number (the reference rejects it), though its rounding to
    float64 would be: the shared validation is only for arrays that rounding leaves alone."""
    case = R.Case(
        "mse_loss",
        {"reduction": "mean"},
        {"input": np.array([True, False]), "target": np.array([0.0, 1.0])},
    )
    assert case.rejection() is not None and case.rejection().argument == "input"
