"""Hand-picked edge cases and generated invalid inputs: the reference accepts every edge case and
rejects every invalid one, and each case is what its label says."""

import numpy as np
import pytest

import reference as R
from cases import edges, invalid
from reference.domains import DOMAINS
from reference.edges import BIG

ALL = [(spec, config) for spec in R.REGISTRY.values() for config in R.all_configs(spec)]
IDS = [R.config_id(spec, config) for spec, config in ALL]


def _edge_cases(dtype="float64"):
    for spec, config in ALL:
        for case in edges.edge_cases(spec, config, dtype):
            yield spec, config, case


@pytest.mark.parametrize("dtype", R.DTYPES)
def test_every_edge_case_is_accepted_by_the_reference(dtype):
    for _spec, config, case in _edge_cases(dtype):
        value, _grads = R.value_and_vjp(
            case.loss, case.rounded(), case.params, case.rounded_cotangent()
        )
        assert R.config_of(case) == config, case.label
        assert (case.dtype, case.device, case.mode) == (dtype, "cpu", "eager")
        assert (case.cotangent is not None) == (config["reduction"] == "none"), case.label
        if case.cotangent is not None:
            assert case.cotangent.shape == np.shape(value)


def test_every_configuration_has_edge_cases_with_distinct_labels():
    for spec, config in ALL:
        labels = [c.label for c in edges.edge_cases(spec, config, "float64")]
        assert len(labels) >= 2, R.config_id(spec, config)
        assert len(set(labels)) == len(labels), labels
        assert all(label.startswith("edge:") and len(label) > len("edge:") + 3 for label in labels)


@pytest.mark.parametrize("name", R.names())
def test_every_loss_declares_edge_cases(name):
    spec = R.get(name)
    assert spec.edges, (
        f"{name} declares no edge cases: add edges=(Edge(...), ...) to its LossSpec in "
        f"reference/{spec.family}.py (its kinks, saturations, infinities, zero weights)"
    )


def test_every_edge_row_applies_somewhere():
    used = {(c.loss, c.label) for _, _, c in _edge_cases()}
    unused = [
        (spec.name, e.what)
        for spec in R.REGISTRY.values()
        for e in spec.edges
        if (spec.name, f"edge:{e.what}") not in used
    ]
    assert not unused


@pytest.mark.parametrize("dtype", R.DTYPES)
def test_edge_values_are_exact_in_the_dtype_unless_the_row_says_why(dtype):
    declared = {
        (spec.name, f"edge:{e.what}"): e.inexact for spec in R.REGISTRY.values() for e in spec.edges
    }
    for _, _, case in _edge_cases(dtype):
        reason = declared[(case.loss, case.label)]
        if not case.meta["exact"]:
            assert reason, f"{case.loss} {case.label}: inexact in {dtype} without a reason"
            assert case.meta["inexact"] == reason
    assert R.round_to(np.array(BIG), "bfloat16") == BIG


def test_edge_cases_mostly_share_the_compiled_ci_shape():
    """So that a compiled ci item compiles once for its drawn and its edge cases."""
    from cases import profiles, strategies

    sizes = {k: v[0] for k, v in profiles.get("ci").compiled_sizes.items()}
    same = total = 0
    for spec, config, case in _edge_cases():
        layout = strategies.canonical_layout(spec, config)
        want = R.shapes.concrete(layout, sizes, list(case.arrays))
        same += {k: v.shape for k, v in case.arrays.items()} == want
        total += 1
    assert same >= 0.95 * total, f"{same} of {total}"


def _diff(case):
    x = case.rounded()
    return x["input"] - x["target"]


def _targets(case):
    """The target classes as a mask of the input's shape: an index target's entry per row, or,
    for a target of the input's shape (one-hot or soft labels), the classes of positive mass."""
    x, t = case.rounded()["input"], case.arrays["target"]
    if np.shape(t) == np.shape(x):
        return x, t > 0
    mask = np.zeros(x.shape, bool)
    mask[np.arange(len(t)), t] = True
    return x, mask


def _picked(case, value):
    x, mask = _targets(case)
    return x[mask] == value


def _off_target(case, value):
    x, mask = _targets(case)
    return np.any(x[~mask] == value)


# Label text -> what must be true of the case's arrays (as the framework sees them). This is
# how "the label names what it covers" is checked, for the points the issue lists.
CLAIMS = {
    "error 0 (input = target)": lambda c: np.all(_diff(c) == 0),
    "errors exactly ±delta": lambda c: np.all(np.abs(_diff(c)) == c.params["delta"]),
    "errors exactly ±beta": lambda c: np.all(np.abs(_diff(c)) == c.params["beta"]),
    "input probabilities exactly 0 and 1": lambda c: {0.0, 1.0} <= set(c.rounded()["input"]),
    "input 2^-16 where the label is 1": lambda c: np.any(
        (c.rounded()["input"] == 2.0**-16) & (c.arrays["target"] == 1)
    ),
    "-inf logit at the target class": lambda c: (
        c.params.get("target_kind") == "probability" or np.all(_picked(c, -np.inf))
    ),
    "-inf logit at a non-target class": lambda c: (
        c.params.get("target_kind") == "probability"
        or (_off_target(c, -np.inf) and not np.any(_picked(c, -np.inf)))
    ),
    "-inf log-probability at the target class": lambda c: np.all(_picked(c, -np.inf)),
    "+inf logit at a non-target class": lambda c: (
        c.params.get("target_kind") == "probability"
        or (_off_target(c, np.inf) and not np.any(_picked(c, np.inf)))
    ),
    "-inf logit at a zero-weight target class": lambda c: _neginf_only_at_zero_weight_target(c),
    "-inf log-probability at a zero-weight target class": lambda c: (
        _neginf_only_at_zero_weight_target(c)
    ),
    "every target ignored": lambda c: np.all(c.arrays["target"] == c.params["ignore_index"]),
    "every class weight 0": lambda c: np.all(c.arrays["weight"] == 0),
    "every weight 0": lambda c: np.all(c.arrays["weight"] == 0),
    "pos_weight 0": lambda c: np.all(c.arrays["pos_weight"] == 0),
    "zero vector": lambda c: np.any(np.all(c.arrays["input1"] == 0, axis=-1)),
    "identical vectors": lambda c: np.array_equal(c.arrays["input1"], c.arrays["input2"]),
    "anchor equal to positive": lambda c: np.array_equal(c.arrays["anchor"], c.arrays["positive"]),
    "anchor equal to negative": lambda c: np.array_equal(c.arrays["anchor"], c.arrays["negative"]),
    "variance 0": lambda c: np.all(c.arrays["var"] == 0),
    "tiny variance": lambda c: np.all((c.arrays["var"] > 0) & (c.arrays["var"] < c.params["eps"])),
    "count 0 at rate 0": lambda c: np.any((c.arrays["input"] == 0) & (c.arrays["target"] == 0)),
    "count 0 at log-rate -inf": lambda c: np.any(
        (c.arrays["input"] == -np.inf) & (c.arrays["target"] == 0)
    ),
    "input exactly at the margin": lambda c: np.any(c.rounded()["input"] == c.params["margin"]),
    "score difference exactly ±margin": lambda c: np.all(
        np.abs(c.rounded()["input1"] - c.rounded()["input2"]) == c.params["margin"]
    ),
    "hinge exactly at the margin": lambda c: _triplet_hinge_is_zero(c),
    "every label distinct": lambda c: len(set(_groups(c).tolist())) == len(_groups(c)),
    "every label equal": lambda c: len(set(_groups(c).tolist())) == 1,
    "an item without a positive": lambda c: np.any(
        np.sum(_groups(c)[:, None] == _groups(c)[None, :], axis=1) == 1
    ),
    "positive pairs identical": lambda c: _positive_pairs(c, lambda u, v: np.array_equal(u, v)),
    "positive pairs opposite": lambda c: _positive_pairs(c, lambda u, v: np.array_equal(u, -v)),
    "a zero embedding": lambda c: np.any(np.all(c.rounded()["embeddings"] == 0, axis=-1)),
    "target score exactly margin above another class": lambda c: _margin_hit(c),
}


def _neginf_only_at_zero_weight_target(case):
    """Some -inf, each at a class with weight 0 that is its row's target (index) or has target
    probability > 0."""
    x, t, w = case.rounded()["input"], case.arrays["target"], case.arrays["weight"]
    if case.params.get("target_kind") == "probability":
        is_target = t > 0
    else:
        is_target = np.zeros(x.shape, bool)
        is_target[np.arange(len(t)), t] = True
    at = np.isneginf(x)
    return bool(np.any(at) and np.all(is_target[at] & (np.broadcast_to(w, x.shape)[at] == 0)))


def _triplet_hinge_is_zero(case):
    a, p, n = (case.rounded()[k] for k in ("anchor", "positive", "negative"))
    order = case.params["p"]
    dist = lambda u, v: np.sum(np.abs(u - v) ** order, axis=-1) ** (1 / order)  # noqa: E731
    return np.all(dist(a, p) - dist(a, n) + case.params["margin"] == 0)


def _groups(case) -> np.ndarray:
    """The batch's group labels (ntxent's labels, circle_loss's target): its group-label array."""
    spec = R.get(case.loss)
    (name,) = [a.name for a in spec.arrays if a.domain.name == "group label"]
    return np.asarray(case.arrays[name])


def _positive_pairs(case, related):
    """Some positive pair (i ≠ j, equal labels), and every one of them related as claimed."""
    x, y = case.rounded()["embeddings"], case.arrays["labels"]
    pairs = [(i, j) for i in range(len(y)) for j in range(len(y)) if i != j and y[i] == y[j]]
    return bool(pairs) and all(related(x[i], x[j]) for i, j in pairs)


def _margin_hit(case):
    x, t = case.rounded()["input"], case.arrays["target"]
    gap = x[np.arange(len(t)), t][:, None] - x
    return np.all(np.any(gap == case.params["margin"], axis=1))


@pytest.mark.parametrize("dtype", R.DTYPES)
def test_edge_cases_hold_what_their_labels_claim(dtype):
    checked = set()
    for _, _, case in _edge_cases(dtype):
        for claim, holds in CLAIMS.items():
            if claim in case.label:
                assert holds(case), f"{case.loss} {case.params} {case.label} in {dtype}"
                checked.add(claim)
    assert checked == set(CLAIMS), set(CLAIMS) - checked


# --- invalid inputs ------------------------------------------------------------------------------


def _nothing_to_break(spec, config) -> bool:
    """A lone argument of an unenforced domain (l2_loss without its optional target): every value
    is valid, and a lone array of one more element along any axis fits the same layout."""
    arrays = invalid.base_case(spec, config).arrays
    params, _ = R.split(spec, config)
    full = {**spec.defaults(), **params}
    return len(arrays) == 1 and not any(spec.array(n).domain_for(full).enforced for n in arrays)


@pytest.mark.parametrize("dtype", R.DTYPES)
def test_every_invalid_case_makes_the_reference_raise(dtype):
    for spec, config in ALL:
        cases = invalid.invalid_cases(spec, config, dtype)
        assert cases or _nothing_to_break(spec, config), R.config_id(spec, config)
        for case in cases:
            assert case.label.startswith("invalid:") and case.dtype == dtype
            with pytest.raises(R.InvalidInput) as info:
                R.value_and_vjp(case.loss, case.rounded(), case.params, case.rounded_cotangent())
            expected = "shapes" if "fit no layout" in case.label else case.meta["argument"]
            assert info.value.argument == expected, (case.label, str(info.value))


def test_invalid_cases_break_every_enforced_domain_and_the_shapes():
    enforced = set()
    for spec, config in ALL:
        params, _ = R.split(spec, config)
        full = {**spec.defaults(), **params}
        labels = [c.label for c in invalid.invalid_cases(spec, config, "float64")]
        if _nothing_to_break(spec, config):
            assert not labels, labels
            continue
        assert any("fit no layout" in label for label in labels), labels
        for name in invalid.base_case(spec, config).arrays:
            domain = spec.array(name).domain_for(full)
            if domain.enforced:
                enforced.add(domain.name)
                assert any(label.startswith(f"invalid:{name} ") for label in labels), (
                    R.config_id(spec, config),
                    name,
                    labels,
                )
    assert enforced == {d.name for d in DOMAINS if d.enforced}


@pytest.mark.parametrize("domain", DOMAINS, ids=[d.name for d in DOMAINS])
def test_enforced_domains_and_only_those_declare_violations(domain):
    if domain.enforced:
        assert domain.violations, (
            f"enforced domain {domain.name!r} declares no violations: add violations=(...) to it "
            "in reference/domains.py"
        )
        # each violation leaves the domain (the sizes bound: C = 3 classes, ctc_loss's T = 5 steps,
        # S = 2 labels, K = 3 symbols; nothing ignored, blank 0)
        sizes = {"C": 3, "T": 5, "S": 2, "K": 3}
        bad = np.array([value(sizes) for _, value in domain.violations])
        bad = bad.astype(np.int64 if domain.integer else np.float64)
        context = {**sizes, "ignore_index": None, "blank": 0}
        assert not np.any(domain.valid(bad, context)), domain.name
    else:
        assert not domain.violations, f"{domain.name!r} is not enforced: nothing can violate it"


def test_broadcastable_shape_breaks_broadcast_but_fit_no_layout():
    """The silent-broadcasting pitfall is generated for every loss: shapes NumPy broadcasts
    together (mse_loss of (N, 1) against (N,)) that no layout of the loss accepts."""
    losses = set()
    for spec, config in ALL:
        for case in invalid.invalid_cases(spec, config, "float64"):
            if "broadcasts" not in case.label:
                continue
            losses.add(spec.name)
            given = [a.shape for a in case.arrays.values()]
            np.broadcast_shapes(*given)  # raises if they did not broadcast
            base = invalid.base_case(spec, config).arrays[case.meta["argument"]]
            assert case.arrays[case.meta["argument"]].shape != base.shape
    # ctc_loss's arguments have unrelated shapes, (T, N, K), (N, S), (N,), (N,), and so have the
    # sampled losses', (N, D), (C, D), (C,), (N, E), (S,): no change of one argument makes them
    # broadcast together
    assert losses == set(R.names()) - {"ctc_loss", "sampled_softmax_loss", "nce_loss"}
    spec = R.get("mse_loss")
    config = {"reduction": "mean"}
    labels = {c.label: c for c in invalid.invalid_cases(spec, config, "float64")}
    outer = labels[
        "invalid:target trailing dimension of 1 added (broadcasts to an outer product), "
        "shapes fit no layout"
    ]
    assert outer.arrays["target"].shape == (*outer.arrays["input"].shape, 1)


def test_invalid_class_indices_are_c_and_minus_one():
    spec = R.get("nll_loss")
    config = next(c for c in R.all_configs(spec) if c["ignore_index"] is None)
    cases = {c.label: c for c in invalid.invalid_cases(spec, config, "float32")}
    c_bad = cases["invalid:target class index = C"].arrays["target"]
    n_classes = cases["invalid:target class index = C"].arrays["input"].shape[1]
    assert n_classes in c_bad and -1 in cases["invalid:target class index = -1"].arrays["target"]
