"""The oracles hold on the reference, and their relations notice a broken result."""

from types import SimpleNamespace

import numpy as np
import pytest

import reference as R
from cases import oracles


def _outcome(case):
    value, grads = R.value_and_vjp(case.loss, case.rounded(), case.params, case.rounded_cotangent())
    return SimpleNamespace(value=value, grads=grads, error=None)


def _applicable(oracle):
    return [
        (spec, config)
        for spec in R.REGISTRY.values()
        for config in R.all_configs(spec)
        if oracle.applies(spec, config)
    ]


@pytest.mark.parametrize("oracle", oracles.ORACLES, ids=[o.name for o in oracles.ORACLES])
def test_oracle_holds_on_the_reference_and_detects_a_change(oracle):
    pairs = _applicable(oracle)
    assert pairs, f"{oracle.name} applies to no configuration"
    rng = np.random.default_rng(0)
    for spec, config in pairs:
        a, b, relation = oracle.build(spec, config, rng)
        for case in (a, b):
            R.validate(case.loss, case.arrays, case.params)
        out_a, out_b = _outcome(a), _outcome(b)
        assert relation.violation(out_a, out_b) is None, R.config_id(spec, config)
        shifted = SimpleNamespace(
            value=np.asarray(out_b.value) * 1.01 + 0.01, grads=out_b.grads, error=None
        )
        assert relation.violation(out_a, shifted), (
            f"{R.config_id(spec, config)}: blind to the value"
        )
        if out_b.grads:
            name = next(iter(out_b.grads))
            bent = {**out_b.grads, name: out_b.grads[name] + 0.01}
            broken = SimpleNamespace(value=out_b.value, grads=bent, error=None)
            assert relation.violation(out_a, broken), f"{R.config_id(spec, config)}: blind to grads"


def test_oracles_cover_the_cases_the_issue_names():
    names = {o.name for o in oracles.ORACLES}
    assert {
        "focal-gamma-0-is-bce-with-logits",
        "ignored-items-are-sliced-out",
        "batch-of-one-is-unbatched",
        "batch-permutation-permutes-results",
    } <= names
    covered = {spec.name for spec, _ in _applicable(oracles.get("ignored-items-are-sliced-out"))}
    assert covered == {"cross_entropy", "nll_loss"}
    one = {spec.name for spec, _ in _applicable(oracles.get("batch-of-one-is-unbatched"))}
    # the oracle finds its layout pairs itself; the losses declare theirs (LossSpec.unbatched)
    declared = {name for name in R.names() if R.get(name).unbatched}
    assert {"cross_entropy", "triplet_margin_loss", "mse_loss"} <= declared
    assert one == declared, one ^ declared


def test_relation_requires_ignored_items_to_be_exactly_zero_and_nan_to_face_nan():
    relation = oracles.Relation("t", oracles.Map("take", 0, (0, 2), rest_zero=True))
    ok = SimpleNamespace(value=np.array([1.0, 0.0, 2.0]), grads={}, error=None)
    b = SimpleNamespace(value=np.array([1.0, 2.0]), grads={}, error=None)
    assert relation.violation(ok, b) is None
    leaky = SimpleNamespace(value=np.array([1.0, 1e-30, 2.0]), grads={}, error=None)
    assert "contribute nothing" in relation.violation(leaky, b)
    nan_b = SimpleNamespace(value=np.array([np.nan, 2.0]), grads={}, error=None)
    assert "NaN" in relation.violation(ok, nan_b)
    raised = SimpleNamespace(value=None, grads={}, error=SimpleNamespace(type="E", message="m"))
    assert relation.violation(ok, raised) == "case b raised E: m"


def test_focal_with_gamma_0_is_compared_with_bce_with_logits():
    spec = R.get("sigmoid_focal_loss")
    config = next(c for c in R.all_configs(spec) if c["gamma"] == 0 and c["alpha"] is None)
    a, b, _ = oracles.get("focal-gamma-0-is-bce-with-logits").build(
        spec, config, np.random.default_rng(1)
    )
    assert (a.loss, b.loss) == ("sigmoid_focal_loss", "binary_cross_entropy_with_logits")
    assert all(np.array_equal(a.arrays[k], b.arrays[k]) for k in a.arrays)
