"""The judge: registry entries turn raw comparisons into final verdicts, and go stale."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import reference as R
from adapters import Divergence, FrameworkError, Outcome
from cases.compare import compare, expected
from cases.judge import Judge, covers
from reference import Case

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


@pytest.mark.parametrize(
    "registry", ["adapters.torch_known", "adapters.tf_known", "adapters.known.jax"]
)
def test_the_judge_applies_entries_exactly_as_divergence_applies(registry):
    """The judge splits ``applies`` into its configuration and input parts to go fast (see
    cases/judge.py); on every registered entry it must agree with ``Divergence.applies``."""
    import importlib

    from adapters.base import Release
    from cases import edges, invalid, profiles, selection, strategies

    known = importlib.import_module(registry)
    version = Release("2.13.0", {"optax": "0.2.8"})
    judge = Judge(known.DIVERGENCES, version)
    rng = np.random.default_rng(0)
    ci = profiles.get("ci")
    checked = 0
    for loss in sorted({e.loss for e in known.DIVERGENCES} - {"*"}):
        spec = R.get(loss)
        for config in selection.configs(spec, ci):
            for dtype in ("float32", "float16"):
                cases = [
                    *edges.edge_cases(spec, config, dtype),
                    *invalid.invalid_cases(spec, config, dtype),
                    strategies.seeded_case(rng, spec, config, dtype, ci),
                ]
                for case in cases:
                    case = dataclasses.replace(case, dtype=dtype)
                    want = [
                        i for i, e in enumerate(judge.entries) if e.applies(case, judge.version)
                    ]
                    assert judge.applicable(case) == want, (loss, case.label)
                    checked += 1
    assert checked > 100
