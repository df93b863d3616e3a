"""Records: what one loss × configuration × dtype × device × mode puts into the results file."""

from __future__ import annotations

import json
import math

import numpy as np

import reference as R
from adapters import Divergence, FrameworkError, Native, NotOffered, Outcome
from cases.compare import compare, expected
from cases.judge import Judge
from cases.records import RecordBuilder
from reports import schema

LOSS = "mse_loss"
CONFIG = {"reduction": "mean"}
NATIVE = Native("torch.nn.functional.mse_loss(input, target, reduction='mean')")


def builder(native=NATIVE, dtype="float32") -> RecordBuilder:
    spec = R.get(LOSS)
    return RecordBuilder(
        LOSS, spec.family, CONFIG, R.config_id(spec, CONFIG), dtype, "cpu", "eager", native
    )


def case(n=3, seed=0, dtype="float32", **meta) -> R.Case:
    rng = np.random.default_rng(seed)
    arrays = {"input": rng.standard_normal(n), "target": rng.standard_normal(n)}
    return R.Case(LOSS, dict(CONFIG), arrays, dtype, label=f"hypothesis #{seed}", meta=meta)


def run(b: RecordBuilder, c: R.Case, factor=1.0, judge=None, outcome=None):
    exp = expected(c)
    outcome = outcome or Outcome(value=exp.value * factor, grads=dict(exp.grads))
    cmp = compare(c, exp, outcome)
    j = (judge or Judge([], "2.13.0")).judge(c, cmp)
    b.add(c, cmp, j)
    return cmp, j


def test_a_clean_record_has_every_schema_field():
    b = builder()
    for seed in range(5):
        run(b, case(seed=seed))
    rec = b.to_dict()
    assert set(schema.RECORD_REQUIRED) <= set(rec)
    assert set(schema.RECORD_DEFAULTS) <= set(rec)
    assert rec["verdict"] == "match" and rec["examples"] == 5 and rec["verdicts"] == {"match": 5}
    assert rec["native"] == NATIVE.call and rec["composition"] is None
    assert rec["params"] == CONFIG and rec["config_id"] == "mse_loss[mean]"
    assert not rec["known"] and not rec["unexpected"]
    assert rec["tolerance"]["value_ulp"] > 0
    assert set(rec["worst"]) >= {
        "value_ulp", "value_rel", "grad_ulp", "grad_rel", "reduced_elements", "label",
        "example", "expected", "got", "part", "detail",
    }  # fmt: skip
    assert list(rec["ulp_hist"]) == list(schema.ULP_BUCKETS)
    assert sum(rec["ulp_hist"].values()) == 5
    assert len(rec["samples"]) == 5 and all(len(s) == 2 for s in rec["samples"])
    json.dumps(schema.encode(rec), allow_nan=False)


def test_a_non_match_outranks_a_larger_matching_error():
    b = builder()
    run(b, case(seed=1), factor=1.01)  # mismatch
    big = case(n=50, seed=2)
    run(b, big)
    rec = b.to_dict()
    assert rec["verdict"] == "mismatch" and rec["unexpected"]
    assert rec["worst"]["label"] == "hypothesis #1"
    assert rec["worst"]["part"] == "value"
    assert " ULP > " in rec["worst"]["detail"]
    assert rec["worst"]["value_ulp"] > rec["tolerance"]["value_ulp"]


def test_verdict_precedence_crash_mismatch_error_mismatch_convention_match():
    conv = Divergence(
        "c", "convention", LOSS, "d", "https://example.org", where={"reduction": "mean"}
    )
    judge = Judge([conv], "1")
    b = builder()
    run(b, case(seed=0))
    assert b.to_dict()["verdict"] == "match"
    run(b, case(seed=1), factor=1.01, judge=judge)
    rec = b.to_dict()
    assert rec["verdict"] == "convention" and rec["divergence"]["id"] == "c" and rec["known"]
    invalid = R.Case(LOSS, dict(CONFIG), {"input": np.ones(2), "target": np.ones(3)}, "float32")
    run(b, invalid, outcome=Outcome(value=np.asarray(0.5)))
    rec = b.to_dict()
    assert rec["verdict"] == "error-mismatch" and rec["error_value"] == 0.5
    run(b, case(seed=3), factor=1.01)
    assert b.to_dict()["verdict"] == "mismatch"
    run(b, case(seed=4), outcome=Outcome(error=FrameworkError("RuntimeError", "boom")))
    rec = b.to_dict()
    assert rec["verdict"] == "crash"
    assert rec["verdicts"] == {
        "match": 1, "convention": 1, "error-mismatch": 1, "mismatch": 1, "crash": 1
    }  # fmt: skip
    assert rec["errors"][0] == {"type": "RuntimeError", "message": "boom", "label": "hypothesis #4"}
    assert rec["worst"]["part"] == "error"


def test_known_bug_record_is_known_not_unexpected():
    bug = Divergence("b", "known-bug", LOSS, "d", "https://example.org/issue/1")
    b = builder()
    run(b, case(seed=1), factor=1.01, judge=Judge([bug], "1"))
    rec = b.to_dict()
    assert (rec["verdict"], rec["known"], rec["unexpected"]) == ("mismatch", True, False)
    assert rec["divergence"]["citation"] == "https://example.org/issue/1"


def test_small_examples_are_inline_with_nonfinite_numbers_as_strings():
    b = builder()
    c = R.Case(
        LOSS,
        {"reduction": "none"},
        {"input": np.array([np.nan, np.inf, 0.1]), "target": np.array([0.0, -np.inf, 0.5])},
        "float32",
        cotangent=np.ones(3),
    )
    run(b, c)
    example = b.to_dict()["worst"]["example"]
    assert example["input"] == ["nan", "inf", float(np.float32(0.1))]
    assert example["target"] == [0.0, "-inf", 0.5]
    assert example["cotangent"] == [1.0, 1.0, 1.0]


def test_large_examples_go_by_corpus_id_else_by_summary():
    b = builder()
    run(b, case(n=100, seed=5, corpus_id="mse_loss/17"), factor=1.01)
    assert b.to_dict()["worst"]["example"] == {"corpus_id": "mse_loss/17"}
    b = builder()
    run(b, case(n=100, seed=5), factor=1.01)
    example = b.to_dict()["worst"]["example"]
    assert example["shapes"] == {"input": [100], "target": [100]}
    assert set(example["summary"]["input"]) == {"min", "max", "nonfinite"}


def test_expected_and_got_show_at_most_16_numbers():
    b = builder()
    c = R.Case(LOSS, {"reduction": "none"}, case(n=40).arrays, "float32", cotangent=np.ones(40))
    run(b, c, factor=1.01)
    worst = b.to_dict()["worst"]
    assert len(worst["expected"]) == 16 and len(worst["got"]) == 16


def test_samples_are_capped_and_outputs_follow_corpus_cases():
    b = builder()
    for seed in range(300):
        run(b, case(seed=seed, corpus_id=f"mse_loss/{seed}"))
    rec = b.to_dict()
    assert len(rec["samples"]) == 64
    assert len(rec["outputs"]) == 200
    first = rec["outputs"][0]
    assert set(first) == {
        "id",
        "regime",
        "value",
        "expected",
        "value_ulp",
        "grad_ulp",
        "tolerance",
        "prediction",
    }
    assert first["id"] == "mse_loss/0" and set(first["tolerance"]) == {"value_ulp", "grad_ulp"}
    assert sum(rec["ulp_hist"].values()) == 300


def test_errors_are_capped_at_five():
    b = builder()
    for seed in range(8):
        run(b, case(seed=seed), outcome=Outcome(error=FrameworkError("E", f"m{seed}")))
    assert len(b.to_dict()["errors"]) == 5


def test_not_offered_record():
    spec = R.get(LOSS)
    rec = RecordBuilder.not_offered(
        LOSS, spec.family, CONFIG, "mse_loss[mean]", "float32", "cpu", "eager",
        NotOffered("no native mse here"),
    )  # fmt: skip
    assert rec["verdict"] == "not-offered" and rec["examples"] == 0
    assert (
        rec["native"] is None
        and rec["worst"] is None
        and rec["not_offered"] == "no native mse here"
    )
    assert rec["duration_s"] == 0.0


def test_reproducer_and_duration_are_carried():
    b = builder()
    run(b, case(), factor=1.01)
    b.set_reproducer("print('hello')")
    b.duration_s = 1.5
    rec = b.to_dict()
    assert rec["reproducer"] == "print('hello')" and rec["duration_s"] == 1.5
    assert b.worst[0].label == "hypothesis #0"


def test_records_round_trip_through_the_results_file(tmp_path):
    b = builder()
    run(b, case(seed=1), factor=1.01)
    run(
        b,
        R.Case(
            LOSS, {"reduction": "none"}, {"input": np.array([np.nan]), "target": np.zeros(1)},
            "float32", cotangent=np.ones(1),
        ),
        outcome=Outcome(value=np.array([0.0]), grads={}),
    )  # fmt: skip
    rec = b.to_dict()
    path = tmp_path / "run.json"
    with schema.ResultsWriter(path, {"framework": "torch", "framework_version": "2.13.0",
                                     "devices": ["cpu"]}) as writer:  # fmt: skip
        writer.record(rec)
    loaded = schema.load(path).records[0]
    assert loaded["verdict"] == "mismatch"
    assert loaded["ulp_hist"]["nonfinite"] == 1
    assert rec["worst"]["value_ulp"] == "inf"  # 0 where the reference is NaN: the worst
    assert loaded["worst"]["value_ulp"] == math.inf
    assert loaded["worst"]["example"]["input"][0] != loaded["worst"]["example"]["input"][0]  # NaN


# --- regimes -----------------------------------------------------------------------------------


def regime_case(values, dtype="float32", seed=0) -> R.Case:
    arrays = {"input": np.asarray(values, np.float64), "target": np.zeros(len(values))}
    return R.Case(LOSS, dict(CONFIG), arrays, dtype, label=f"case {seed}")


def test_a_record_counts_its_examples_per_regime_and_its_headline_is_the_ordinary_verdict():
    b = builder(dtype="float16")
    run(b, regime_case([0.5, 1.0], "float16"))
    run(b, regime_case([np.inf, 1.0], "float16"))  # special: inf where the reference is inf
    run(b, regime_case([133.5] * 4, "float16"), factor=np.inf)  # range: unexplained
    rec = b.to_dict()
    assert rec["regime_headline"] == "match"
    assert set(rec["regimes"]) == {"ordinary", "special", "range"}
    assert list(rec["regimes"]) == ["ordinary", "range", "special"]  # display order
    rng = rec["regimes"]["range"]
    assert rng["examples"] == 1 and rng["verdicts"] == {"mismatch": 1} and rng["unexpected"] == 1
    assert rng["signatures"] == {"value|inf-where-finite": 1}
    assert rng["worst"]["verdict"] == "mismatch" and rng["worst"]["unexpected"]
    assert rng["worst"]["signature"] == "value|inf-where-finite"
    assert rec["triage"] == 1 and not rec["failing"]
    assert rec["unexpected"]  # the record still says something no entry explains


def test_an_unexplained_ordinary_mismatch_fails_and_sets_the_headline():
    b = builder()
    run(b, case(seed=1), factor=1.01)
    rec = b.to_dict()
    assert rec["regime_headline"] == "mismatch" and rec["failing"] and rec["triage"] == 0
    assert rec["regimes"]["ordinary"]["signatures"] == {"value|beyond-tolerance": 1}


def test_an_unexplained_crash_fails_in_any_regime():
    b = builder(dtype="float16")
    crash = Outcome(error=FrameworkError("RuntimeError", "boom"))
    run(b, regime_case([133.5] * 4, "float16"), outcome=crash)
    rec = b.to_dict()
    assert rec["failing"] and rec["triage"] == 0
    assert rec["regimes"]["range"]["signatures"] == {"error|raised-on-valid": 1}
    assert rec["regime_headline"] is None  # no ordinary example


def test_explained_examples_are_counted_by_entry_and_regime():
    entry = Divergence(
        id="mse_loss/test", kind="known-bug", loss=LOSS, description="d", citation="c"
    )
    b = builder()
    run(b, case(seed=2), factor=1.01, judge=Judge([entry], "2.13.0"))
    share = b.to_dict()["regimes"]["ordinary"]
    assert share["explained_by"] == {"mse_loss/test": 1} and share["unexpected"] == 0
    assert share["worst"]["divergence_id"] == "mse_loss/test"


def test_a_not_offered_record_has_the_not_offered_headline():
    rec = RecordBuilder.not_offered(
        LOSS, "regression", CONFIG, "mse_loss[mean]", "float32", "cpu", "eager", NotOffered("no")
    )
    assert rec["regime_headline"] == "not-offered" and rec["regimes"] == {}
    assert rec["triage"] == 0 and rec["failing"] is False and rec["api"] is None
