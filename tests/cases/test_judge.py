"""The judge: registry entries turn raw comparisons into final verdicts, and go stale."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cases.compare import compare, expected
from cases.judge import Judge, covers
from reference import Case
from reference.contract import Divergence, FrameworkError, Outcome

X = np.array([0.25, 0.75, 0.5])
Y = np.array([0.0, 1.0, 1.0])


def bce(dtype="float32", **params) -> Case:
    return Case(
        "binary_cross_entropy", {"reduction": "mean", **params}, {"input": X, "target": Y}, dtype
    )


def matching(case: Case):
    exp = expected(case)
    return compare(case, exp, Outcome(value=exp.value, grads=dict(exp.grads)))


def off_value(case: Case, factor=1.01):
    exp = expected(case)
    return compare(case, exp, Outcome(value=exp.value * factor, grads=dict(exp.grads)))


def off_grad(case: Case):
    exp = expected(case)
    grads = {k: -g for k, g in exp.grads.items()}
    return compare(case, exp, Outcome(value=exp.value, grads=grads))


def crashing(case: Case):
    return compare(case, expected(case), Outcome(error=FrameworkError("RuntimeError", "boom")))


def entry(kind="convention", affects=("value", "grad"), **kw) -> Divergence:
    fields = {
        "id": f"test-{kind}",
        "kind": kind,
        "loss": "binary_cross_entropy",
        "description": "a test entry",
        "citation": "https://example.org/docs",
        "affects": affects,
        **kw,
    }
    return Divergence(**fields)


def test_no_registry_a_mismatch_is_unexpected():
    j = Judge([], "2.13.0").judge(bce(), off_value(bce()))
    assert (j.verdict, j.known, j.unexpected, j.divergence) == ("mismatch", False, True, None)


def test_a_match_stays_a_match():
    j = Judge([entry()], "2.13.0").judge(bce(), matching(bce()))
    assert (j.verdict, j.known, j.unexpected) == ("match", False, False)


def test_a_convention_turns_the_verdict_and_carries_the_citation():
    j = Judge([entry()], "2.13.0").judge(bce(), off_value(bce()))
    assert j.verdict == "convention"
    assert j.divergence["citation"] == "https://example.org/docs"
    assert j.known and not j.unexpected


def test_a_known_bug_keeps_the_verdict_marked_known():
    j = Judge([entry("known-bug")], "2.13.0").judge(bce(), off_value(bce()))
    assert j.verdict == "mismatch"
    assert j.known and not j.unexpected
    assert j.divergence["kind"] == "known-bug"


def test_a_known_bug_covering_a_crash_keeps_the_crash():
    j = Judge([entry("known-bug", affects=("error",))], "2.13.0").judge(bce(), crashing(bce()))
    assert (j.verdict, j.known, j.unexpected) == ("crash", True, False)


@pytest.mark.parametrize(
    "affects, part, expected_cover",
    [
        (("value",), "value", True),
        (("value",), "shape", True),
        (("value",), "grad:input", False),
        (("grad",), "grad:input", True),
        (("grad",), "value", False),
        (("error",), "error", True),
        (("value", "grad"), "error", False),
    ],
)
def test_what_an_entry_covers(affects, part, expected_cover):
    assert covers(affects, part) is expected_cover


def test_a_value_entry_does_not_explain_a_gradient_mismatch():
    j = Judge([entry(affects=("value",))], "2.13.0").judge(bce(), off_grad(bce()))
    assert j.verdict == "mismatch" and j.unexpected


def test_every_failed_part_must_be_explained():
    exp = expected(bce())
    both = compare(
        bce(),
        exp,
        Outcome(value=exp.value * 1.01, grads={k: -g for k, g in exp.grads.items()}),
    )
    assert set(both.failed) == {"value", "grad:input", "grad:target"}
    value_only = Judge([entry(affects=("value",))], "2.13.0")
    assert value_only.judge(bce(), both).unexpected
    two = Judge([entry(affects=("value",)), entry("known-bug", affects=("grad",), id="g")], "2")
    j = two.judge(bce(), both)
    assert (j.verdict, j.known, j.unexpected) == ("mismatch", True, False)


def test_an_entry_applies_only_where_its_configuration_dtype_and_version_say():
    only_float16 = entry(dtypes=("float16",))
    assert Judge([only_float16], "2.13.0").judge(bce("float32"), off_value(bce())).unexpected
    old = entry(versions="<2.0")
    assert Judge([old], "2.13.0").judge(bce(), off_value(bce())).unexpected
    assert Judge([old], "1.13.1").judge(bce(), off_value(bce())).verdict == "convention"
    summed = entry(where={"reduction": "sum"})
    assert Judge([summed], "2.13.0").judge(bce(), off_value(bce())).unexpected
    other = entry(loss="mse_loss")
    assert Judge([other], "2.13.0").judge(bce(), off_value(bce())).unexpected
    everywhere = entry(loss="*")
    assert Judge([everywhere], "2.13.0").judge(bce(), off_value(bce())).verdict == "convention"


def test_an_inputs_predicate_restricts_the_entry():
    at_zero = entry(inputs=lambda case: bool(np.any(case.rounded()["input"] == 0)))
    assert Judge([at_zero], "2.13.0").judge(bce(), off_value(bce())).unexpected


def test_registry_status_applied_stale_unexercised():
    diverging = entry(id="diverging")
    no_longer = entry(id="no-longer", affects=("error",))
    elsewhere = entry(id="elsewhere", loss="mse_loss")
    judge = Judge([diverging, no_longer, elsewhere], "2.13.0")
    judge.judge(bce(), off_value(bce()))
    judge.judge(bce(), matching(bce()))
    judge.judge(bce(), matching(bce()))
    status = {e["id"]: e for e in judge.registry_status()}
    assert status["diverging"]["status"] == "applied"
    assert (status["diverging"]["applied"], status["diverging"]["diverged"]) == (3, 1)
    assert status["no-longer"]["status"] == "stale"
    assert (status["no-longer"]["applied"], status["no-longer"]["diverged"]) == (3, 0)
    assert status["elsewhere"]["status"] == "unexercised"
    assert status["elsewhere"]["examples"] == 0
    assert [e["id"] for e in judge.stale()] == ["no-longer"]
    for record in status.values():
        assert {"id", "kind", "loss", "description", "citation", "status", "examples"} <= set(
            record
        )


def test_an_entry_whose_divergence_is_gone_after_an_upgrade_is_stale():
    """Both sides raise now: an entry expecting an error-mismatch no longer reproduces."""
    invalid = Case(
        "binary_cross_entropy", {}, {"input": np.array([1.5]), "target": np.array([1.0])}
    )
    expects_number = entry(affects=("error",))
    judge = Judge([expects_number], "2.14.0")
    result = compare(invalid, expected(invalid), Outcome(error=FrameworkError("ValueError", "no")))
    assert judge.judge(invalid, result).verdict == "match"
    assert judge.stale()[0]["id"] == expects_number.id


def invalid_bce() -> Case:
    """An input the reference rejects (a probability of 1.5)."""
    return Case(
        "binary_cross_entropy",
        {"reduction": "mean"},
        {"input": np.array([1.5, 0.5]), "target": np.array([1.0, 0.0])},
        "float32",
    )


def test_a_value_or_gradient_entry_never_applies_to_an_input_the_reference_rejects():
    asked = []

    def everywhere(case):
        asked.append(case.label)
        return True

    value = entry(id="value", affects=("value", "grad"), inputs=everywhere)
    error = entry(id="error", affects=("error",), inputs=everywhere)
    unconditional = entry(id="unconditional", affects=("value",))
    judge = Judge([value, error, unconditional], "2.13.0")
    assert invalid_bce().rejection() is not None
    assert judge.applicable(invalid_bce()) == [1]
    assert len(asked) == 1, "the value entry's predicate is not even asked on a rejected input"
    assert judge.applicable(bce()) == [0, 1, 2]
    for e in (value, error, unconditional):
        assert e.applies(invalid_bce(), "2.13.0") is (e is error)


def test_a_predicate_that_raises_fails_loudly():
    def broken(case):
        return case.rounded()["no such array"] > 0

    judge = Judge([entry(inputs=broken)], "2.13.0")
    with pytest.raises(KeyError, match="no such array"):
        judge.judge(bce(), off_value(bce()))
    with pytest.raises(KeyError):
        entry(inputs=broken).applies(bce(), "2.13.0")


def test_predicates_run_with_floating_point_warnings_off():
    def overflowing(case):
        return bool(np.any(np.exp(case.rounded()["input"] * 1e6) == np.inf))

    judge = Judge([entry(inputs=overflowing)], "2.13.0")
    with np.errstate(all="raise"):  # the caller's setting must not turn an overflow into a raise
        assert judge.applicable(bce()) == [0]
        assert entry(inputs=overflowing).applies(bce(), "2.13.0")


class CountingDivergence(Divergence):
    """Counts the calls of the two parts of ``applies``."""

    def matches_config(self, *args):
        CALLS["config"] += 1
        return super().matches_config(*args)

    def matches_inputs(self, case):
        CALLS["inputs"] += 1
        return super().matches_inputs(case)


CALLS = {"config": 0, "inputs": 0}


def test_the_judge_asks_the_configuration_once_per_configuration_and_the_inputs_per_example():
    CALLS.update(config=0, inputs=0)
    fields = dataclasses.asdict(entry())
    counting = CountingDivergence(**{**fields, "id": "counting"})
    elsewhere = CountingDivergence(**{**fields, "id": "sum-only", "where": {"reduction": "sum"}})
    judge = Judge([counting, elsewhere], "2.13.0")
    for factor in (1.0, 1.01, 1.02):
        judge.judge(bce(), off_value(bce(), factor))
    assert CALLS == {"config": 2, "inputs": 3}  # the sum-only entry is never asked its inputs
    judge.judge(bce("float16"), off_value(bce("float16")))
    assert CALLS == {"config": 4, "inputs": 4}  # another dtype: another configuration key
    assert judge.applied == [4, 0]


def test_the_judge_and_applies_agree_on_configuration_dtype_and_version():
    """One path: ``applies`` is matches_config then matches_inputs, and so is the judge."""
    entries = [
        entry(id="float16", dtypes=("float16",)),
        entry(id="old", versions="<2.0"),
        entry(id="sum", where={"reduction": "sum"}),
        entry(id="mse", loss="mse_loss"),
        entry(id="all", loss="*"),
        entry(id="eager", modes=("eager",), devices=("cpu",)),
    ]
    judge = Judge(entries, "2.13.0")
    for case in (bce("float32"), bce("float16"), bce(reduction="sum"), invalid_bce()):
        assert judge.applicable(case) == [
            i for i, e in enumerate(entries) if e.applies(case, "2.13.0")
        ]
    assert [entries[i].id for i in judge.applicable(bce("float16", reduction="sum"))] == [
        "float16",
        "sum",
        "all",
        "eager",
    ]


def test_the_judge_takes_divergences_only():
    with pytest.raises(TypeError, match="Divergence"):
        Judge([{"id": "a dict", "loss": "*"}], "2.13.0")


def test_an_entry_narrowed_to_non_finite_kinds_does_not_explain_a_finite_error():
    nonfinite = ("nan-where-finite", "inf-where-finite")
    only = entry("known-bug", kinds=nonfinite)
    j = Judge([only], "2.13.0").judge(bce(), off_value(bce()))
    assert j.unexpected and j.signature == "value|beyond-tolerance"
    exp = expected(bce())
    nan = compare(bce(), exp, Outcome(value=exp.value * np.nan, grads=dict(exp.grads)))
    j = Judge([only], "2.13.0").judge(bce(), nan)
    assert j.known and not j.unexpected


def test_a_dtype_difference_is_explained_only_by_an_entry_affecting_dtype():
    exp = expected(bce())
    outcome = Outcome(value=exp.value, grads=dict(exp.grads), value_dtype="float64")
    wrong = compare(bce(), exp, outcome)
    j = Judge([entry("convention")], "2.13.0").judge(bce(), wrong)
    assert j.unexpected and j.signature == "dtype|dtype"
    j = Judge([entry("convention", affects=("dtype",))], "2.13.0").judge(bce(), wrong)
    assert j.verdict == "convention" and not j.unexpected


# --- entries that predict -----------------------------------------------------------------------


def scaled_by(factor):
    """A model: the reference's loss times ``factor`` (a documented change of the definition)."""
    from reference import get
    from reference.contract import predict
    from reference.spec import Elementwise

    spec = get("binary_cross_entropy")

    def model(case):
        def elementwise(a, p):
            el = spec.elementwise(a, p)
            return Elementwise(el.loss * factor, el.denominators)

        return predict(case, elementwise=elementwise)

    return model


def outcome_of(case: Case, factor: float) -> Outcome:
    exp = expected(case)
    return Outcome(value=exp.value * factor, grads=dict(exp.grads))


def judged(entries, case, factor):
    exp = expected(case)
    out = outcome_of(case, factor)
    return Judge(entries, "2.13.0").judge(case, compare(case, exp, out), out, exp)


def predicting(**kw) -> Divergence:
    return entry(affects=("value",), model=scaled_by(1.01), model_text="the loss × 1.01", **kw)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_predicting_entry_explains_only_what_agrees_with_its_prediction(dtype):
    agreeing = judged([predicting()], bce(dtype), 1.01)
    assert (agreeing.verdict, agreeing.unexpected) == ("convention", False)
    assert agreeing.prediction["value_ulp"] <= 1 and agreeing.prediction["grad_ulp"] is None
    # 2e-6 off the prediction: the entry applies, and no longer hides it
    off = judged([predicting()], bce(dtype), 1.01 * (1 + 2e-6) if dtype == "float64" else 1.02)
    assert (off.verdict, off.unexpected, off.divergence) == ("mismatch", True, None)
    assert off.prediction["value_ulp"] > 100


def test_an_entry_without_a_model_still_explains_wherever_it_applies():
    assert judged([entry(affects=("value",))], bce(), 1.02).verdict == "convention"


def test_a_part_the_prediction_misses_falls_through_to_the_next_entry():
    fallback = entry("known-bug", affects=("value",), id="test-fallback")
    j = judged([predicting(), fallback], bce("float64"), 1.02)
    assert (j.verdict, j.known, j.divergence["id"]) == ("mismatch", True, "test-fallback")
    assert j.prediction is None  # the entry that explained it predicts nothing


def test_a_model_needs_the_outcome_to_hold_against():
    case = bce()
    with pytest.raises(TypeError, match="needs the outcome"):
        Judge([predicting()], "2.13.0").judge(case, off_value(case))


def test_an_entry_about_errors_has_no_model():
    with pytest.raises(ValueError, match="predicts no value"):
        entry(affects=("error",), model=scaled_by(2.0), model_text="twice")


def test_a_nonfinite_prediction_places_nan_before_the_reduction():
    from reference.contract import predict_nonfinite

    mask = np.array([False, True, False])
    summed = predict_nonfinite(bce("float64", reduction="sum"), value=mask)
    assert np.isnan(summed.value)
    none = bce("float64", reduction="none")
    none = dataclasses.replace(none, cotangent=np.ones(3))
    each = predict_nonfinite(none, value=mask, grads={"input": mask}, grad_fill=np.inf)
    ref, grads = none.reference()
    assert np.isnan(each.value[1]) and np.array_equal(each.value[[0, 2]], ref[[0, 2]])
    assert np.isinf(each.grads["input"][1]) and each.grads["target"][1] == grads["target"][1]


def test_an_entry_scoped_to_one_api_explains_only_that_native_form():
    """optax's safe_softmax_cross_entropy beside softmax_cross_entropy: an entry about the
    alternative form does not excuse the main call, and one about the main call (MAIN_API) does
    not excuse the alternative; an unscoped entry holds for both."""
    from reference.contract import MAIN_API

    safe = "optax.losses.safe_softmax_cross_entropy"
    judge = Judge([entry(apis=(safe,))], "2.13.0")
    assert judge.judge(bce(), off_value(bce()), api=safe).verdict == "convention"
    assert judge.judge(bce(), off_value(bce())).unexpected
    main = Judge([entry(apis=(MAIN_API,))], "2.13.0")
    assert main.judge(bce(), off_value(bce())).verdict == "convention"
    assert main.judge(bce(), off_value(bce()), api=safe).unexpected
    both = Judge([entry()], "2.13.0")
    assert not both.judge(bce(), off_value(bce()), api=safe).unexpected
    assert entry(apis=(safe,)).as_record()["apis"] == [safe]
