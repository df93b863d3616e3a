"""Invariants of the reference: relations between reductions, parameters, layouts and losses.

Hypothesis draws the loss, its configuration (every parameter grid and optional array), the layout,
the symbol sizes and a seed; :func:`cases.sampling.sample_arrays` turns them into valid arrays of
bounded magnitude. Each test states one relation that the documented formulas imply.

Comparisons are exact (``==``) where both sides do the same float64 arithmetic. Where they do not,
``assert_tight`` allows ``TIGHT`` relative error; a relation that involves a difference of larger
terms (σ(x) − y, log t − x) is measured against the size of those terms, which is said at the call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import reference as R
from cases import tolerance
from cases.sampling import sample_arrays
from reference import shapes
from reference.spec import ELEMENT_KINDS, Layout

# Relative error allowed where two sides compute the same number by different float64 arithmetic:
# some hundreds of ulps (2.2e-16 each), far below anything a formula mistake produces.
TIGHT = 1e-13

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

WEIGHTED = ("weight", "pos_weight")
LOSSES = R.names()


# --- drawing problems -----------------------------------------------------------------------------


@dataclass
class Problem:
    """One loss call: its parameters (reduction left open), arrays and the layout they were drawn in."""

    name: str
    params: dict[str, Any]
    arrays: dict[str, np.ndarray]
    layout: Layout
    sizes: dict[str, int] = field(default_factory=dict)

    @property
    def spec(self):
        return R.get(self.name)

    def value(self, reduction: str, **changes) -> np.ndarray:
        arrays, params = self._with(changes)
        return R.evaluate(self.name, arrays, {**params, "reduction": reduction})

    def grads(self, reduction: str, cotangent=None, **changes) -> dict[str, np.ndarray]:
        arrays, params = self._with(changes)
        return R.value_and_vjp(self.name, arrays, {**params, "reduction": reduction}, cotangent)[1]

    def _with(self, changes):
        arrays = {**self.arrays}
        params = {**self.params}
        for key, val in changes.items():
            if key in {a.name for a in self.spec.arrays}:
                if val is None:
                    arrays.pop(key, None)
                else:
                    arrays[key] = val
            else:
                params[key] = val
        return arrays, params

    def batched(self, name: str) -> bool:
        """Whether ``name`` carries the batch dimension N first in this layout."""
        shape = self.layout.shapes.get(name, ())
        return bool(shape) and shape[0] == "N"

    def batch_axis(self, name: str) -> int | None:
        """The axis of the batch dimension N in ``name`` (ctc_loss's (T, N, K) input: 1)."""
        shape = self.layout.shapes.get(name, ())
        return shape.index("N") if "N" in shape else None


def _configs(name: str) -> list[dict[str, Any]]:
    """Every configuration of the loss (reference-only variants included), reduction left out."""
    spec = R.get(name)
    out, seen = [], set()
    for config in R.all_configs(spec, reference_only=True):
        config = {k: v for k, v in config.items() if k != "reduction"}
        key = repr(sorted(config.items(), key=lambda kv: kv[0]))
        if key not in seen:
            seen.add(key)
            out.append(config)
    return out


CONFIGS = {name: _configs(name) for name in LOSSES}


@st.composite
def problems(
    draw,
    names=LOSSES,
    config_filter: Callable[[dict], bool] = lambda c: True,
    layout_filter: Callable[[Layout], bool] = lambda lay: True,
    min_n: int = 1,
) -> Problem:
    # (a loss with no layout the filter keeps is not drawn: ctc_loss's batch is not its first axis)
    names = [n for n in names if any(layout_filter(lay) for lay in R.get(n).layouts)]
    name = draw(st.sampled_from(tuple(names)))
    spec = R.get(name)
    config = draw(st.sampled_from([c for c in CONFIGS[name] if config_filter(c)]))
    params, present = R.split(spec, config)
    full = {**spec.defaults(), **params}
    wanted = set(spec.required_arrays) | present
    layouts = [
        lay
        for lay in shapes.layouts_for(spec.layouts, full)
        if wanted <= set(lay.shapes) and layout_filter(lay)
    ]
    layout = draw(st.sampled_from(layouts))
    sizes = {
        "N": draw(st.integers(min_n, 4)),
        **{sym: draw(st.integers(1, 4)) for sym in ("C", "D", "E", "d1", "d2")},
    }
    # ctc_loss's time steps, target length and alphabet (K ≥ 2), drawn only for its layout so that
    # the other losses' draws stay as they were
    # (T ≥ 2S, so that every drawn item has an alignment: the relations here are between finite
    # numbers; the infinite loss of an item without one is an edge case)
    used = {sym for shape in layout.shapes.values() for sym in shape}
    if "T" in used:
        sizes["S"] = draw(st.integers(1, 3))
        sizes["T"] = draw(st.integers(2 * sizes["S"], 2 * sizes["S"] + 2))
        sizes["K"] = draw(st.integers(2, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    arrays = sample_arrays(
        spec, {**config, "reduction": "none"}, np.random.default_rng(seed), layout, sizes
    )
    return Problem(name, dict(params), arrays, layout, sizes)


def _has_batch(layout: Layout) -> bool:
    """The layout's first array (input, input1 or anchor) carries the batch dimension N."""
    first = next(iter(layout.shapes.values()))
    return bool(first) and first[0] == "N"


# --- comparisons ----------------------------------------------------------------------------------


def assert_exact(actual, expected) -> None:
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert not np.isnan(expected).any(), "NaN on the expected side"
    np.testing.assert_array_equal(actual, expected)


def assert_tight(actual, expected, scale=None) -> None:
    """|actual − expected| ≤ TIGHT · scale elementwise; scale defaults to |expected| (relative)."""
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert np.isfinite(expected).all() and np.isfinite(actual).all()
    scale = np.abs(expected) if scale is None else np.asarray(scale, float)
    bad = np.abs(actual - expected) > TIGHT * scale
    assert not bad.any(), (
        f"actual {actual[bad]} expected {expected[bad]} (scale {np.broadcast_to(scale, bad.shape)[bad]})"
    )


def declared_grad_terms(p, cotangent, name: str) -> np.ndarray:
    """G of ``name``'s gradient of ``none`` under ``cotangent``: the loss's declared size of the
    terms that gradient adds up (its term scale), which rounding is relative to where the terms
    cancel and the result is small."""
    with np.errstate(all="ignore"):
        s = tolerance.scales(p.name, p.arrays, {**p.params, "reduction": "none"}, cotangent)
    return np.broadcast_to(s.grads[name], p.arrays[name].shape)


def assert_grads_exact(actual: dict, expected: dict) -> None:
    assert set(actual) == set(expected)
    for name in expected:
        assert_exact(actual[name], expected[name])


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softplus(x):
    return np.logaddexp(0.0, x)


def log_softmax(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


# --- the documented mean denominators -------------------------------------------------------------


def documented_denominator(p: Problem, reduction: str, none: np.ndarray) -> float:
    """What torch documents each averaging reduction to divide by, computed from the arrays.

    cross_entropy with index targets and nll_loss: Σ w_{y_n} over items not ignored; kl_div
    ``batchmean``: input.shape[0]; every other ``mean`` (cross_entropy with probability targets
    included, whatever its weights): the number of elements of the ``none`` result. ctc_loss's
    ``mean`` also divides each item by its target length first (:func:`documented_mean_terms`).
    ntxent's ``mean`` (optax's form): the number of ordered positive pairs (i ≠ j, equal labels).
    """
    if reduction == "batchmean":
        return float(p.arrays["input"].shape[0])
    if p.name == "ntxent":
        labels = p.arrays["labels"]
        return float(np.sum(labels[:, None] == labels[None, :]) - labels.size)
    index_target = p.name == "nll_loss" or (
        p.name == "cross_entropy" and p.params.get("target_kind", "index") == "index"
    )
    if index_target:
        target = p.arrays["target"]
        n_classes = p.arrays["input"].shape[1 if p.arrays["input"].ndim > 1 else 0]
        weight = p.arrays.get("weight", np.ones(n_classes))
        ignore = p.params.get("ignore_index")
        kept = target[target != ignore] if ignore is not None else target.ravel()
        return float(sum(weight[int(t)] for t in np.ravel(kept)))
    if p.name == "circle_loss":
        # Keras' Circle: the items with a positive (besides themselves when remove_diagonal) and
        # a negative, the ones its mask counts
        y = p.arrays["target"]
        same = y[:, None] == y[None, :]
        if p.params.get("remove_diagonal", True):
            same = same & ~np.eye(len(y), dtype=bool)
        return float(np.sum(same.any(axis=1) & (y[:, None] != y[None, :]).any(axis=1)))
    return float(none.size)


def documented_mean_terms(p: Problem, reduction: str, none: np.ndarray) -> np.ndarray:
    """The ``none`` elements as the averaging reduction adds them up: torch's CTC mean divides
    each item's loss by max(target length, 1) (``(res / target_lengths.clamp_min(1)).mean()``)."""
    if p.name == "ctc_loss" and reduction == "mean":
        return none / np.maximum(p.arrays["target_lengths"], 1)
    return none


def averaging(name: str) -> tuple[str, ...]:
    return tuple(r for r in R.get(name).reductions if r in ("mean", "batchmean"))


# === reductions ===================================================================================


@SETTINGS
@given(problems())
def test_sum_equals_sum_of_none(p: Problem):
    assert_exact(p.value("sum"), np.sum(p.value("none")))


@SETTINGS
@given(problems())
def test_mean_equals_sum_of_none_over_documented_denominator(p: Problem):
    none = p.value("none")
    for reduction in averaging(p.name):
        den = documented_denominator(p, reduction, none)
        if den == 0:  # a mean over nothing (ntxent without a positive pair): 0/0
            assert np.isnan(p.value(reduction))
            continue
        terms = documented_mean_terms(p, reduction, none)
        assert_tight(
            p.value(reduction), np.sum(terms) / den, scale=np.sum(np.abs(terms)) / abs(den)
        )


@SETTINGS
@given(problems(names=["kl_div"]))
def test_kl_div_batchmean_equals_sum_over_batch_size(p: Problem):
    assert_exact(p.value("batchmean"), p.value("sum") / p.arrays["input"].shape[0])


@SETTINGS
@given(problems())
def test_mean_gradient_is_sum_gradient_over_documented_denominator(p: Problem):
    none = p.value("none")
    g_sum = p.grads("sum")
    for reduction in averaging(p.name):
        den = documented_denominator(p, reduction, none)
        g_avg = p.grads(reduction)
        if den == 0:  # 0/0: the chain rule's infinite cotangent times zero partials
            assert all(np.isnan(g).all() for g in g_avg.values())
            continue
        terms = documented_mean_terms(p, reduction, np.ones_like(none))
        if not np.array_equal(terms, np.ones_like(none)):
            # items weighted before the average: the gradient of none with those weights
            g_sum = p.grads("none", terms)
        for name, g in g_sum.items():
            if den == 0:  # a mean over nothing is 0/0
                assert np.isnan(g_avg[name]).all(), (name, g_avg[name])
                continue
            assert_tight(g_avg[name], g / den)


# === parameters and optional arrays ===============================================================


@SETTINGS
@given(problems(names=["cross_entropy"], config_filter=lambda c: c["label_smoothing"] == 0.0))
def test_cross_entropy_without_label_smoothing_is_minus_weighted_log_softmax(p: Problem):
    x = p.arrays["input"]
    axis = 1 if x.ndim > 1 else 0
    logp = log_softmax(x, axis)
    n_classes = x.shape[axis]
    w = p.arrays.get("weight", np.ones(n_classes)).reshape(
        (n_classes,) + (1,) * (x.ndim - axis - 1)
    )
    if p.params["target_kind"] == "index":
        t = np.expand_dims(p.arrays["target"], axis)
        expected = -np.squeeze(np.take_along_axis(w * logp, t, axis), axis)
        scale = np.squeeze(
            np.take_along_axis(np.abs(w) * (np.abs(logp) + np.abs(x)), t, axis), axis
        )
    else:
        expected = -np.sum(w * p.arrays["target"] * logp, axis=axis)
        scale = np.sum(np.abs(w * p.arrays["target"]) * (np.abs(logp) + np.abs(x)), axis=axis)
    # log softmax is x − logsumexp(x): measured against the size of those two terms
    assert_tight(p.value("none"), expected, scale=scale)


@SETTINGS
@given(
    problems(
        names=["cross_entropy"],
        config_filter=lambda c: c["target_kind"] == "index" and c["label_smoothing"] == 0.0,
    )
)
def test_cross_entropy_without_label_smoothing_equals_nll_of_log_softmax(p: Problem):
    # torch documents cross_entropy as log_softmax followed by nll_loss, weights, ignore_index and
    # the weighted mean included
    x = p.arrays["input"]
    axis = 1 if x.ndim > 1 else 0
    logp = log_softmax(x, axis)
    nll = Problem(
        "nll_loss",
        {"ignore_index": p.params["ignore_index"]},
        {**p.arrays, "input": logp},
        p.layout,
    )
    for reduction in p.spec.reductions:
        none = np.abs(nll.value("none"))
        den = documented_denominator(p, reduction, none) if reduction == "mean" else 1.0
        # log softmax is x − logsumexp(x): measured against |x| + max|x| + |log p| per item
        terms = np.abs(logp) + np.abs(x) + np.max(np.abs(x), axis=axis, keepdims=True)
        item_scale = np.max(terms, axis=axis) * np.max(p.arrays.get("weight", np.ones(1)))
        scale = item_scale if reduction == "none" else np.sum(item_scale) / den
        assert_tight(p.value(reduction), nll.value(reduction), scale=scale)


@SETTINGS
@given(
    problems(
        names=["cross_entropy"],
        config_filter=lambda c: c["target_kind"] == "index" and not c["weight"],
    ),
    st.floats(0.0, 1.0),
)
def test_cross_entropy_label_smoothing_mixes_hard_and_uniform_targets(p: Problem, eps: float):
    # ℓ_ε = (1 − ε) ℓ(onehot) + ε ℓ(uniform 1/C): smoothing moves ε of the mass to all C classes
    x = p.arrays["input"]
    axis = 1 if x.ndim > 1 else 0
    uniform = np.full(x.shape, 1.0 / x.shape[axis])
    hard = p.value("none", label_smoothing=0.0)
    spread = R.evaluate(
        "cross_entropy",
        {"input": x, "target": uniform},
        {"target_kind": "probability", "reduction": "none"},
    )
    smoothed = p.value("none", label_smoothing=eps)
    assert_tight(smoothed, (1 - eps) * hard + eps * spread, scale=hard + spread)


@SETTINGS
@given(problems(names=[n for n in R.names() if set(WEIGHTED) & set(R.get(n).optional_arrays)]))
def test_all_ones_weight_equals_unweighted(p: Problem):
    present = [k for k in WEIGHTED if k in p.arrays]
    assume(present)
    ones = {k: np.ones_like(p.arrays[k]) for k in present}
    without = dict.fromkeys(present)
    for reduction in p.spec.reductions:
        assert_exact(p.value(reduction, **ones), p.value(reduction, **without))
        cot = np.ones_like(p.value("none")) if reduction == "none" else None
        assert_grads_exact(p.grads(reduction, cot, **ones), p.grads(reduction, cot, **without))


@SETTINGS
@given(
    problems(
        names=["cross_entropy", "nll_loss"],
        config_filter=lambda c: (
            c.get("target_kind", "index") == "index" and c["ignore_index"] == -100
        ),
        layout_filter=lambda lay: lay.name == "(N, C)",
        min_n=2,
    ),
    st.data(),
)
def test_ignored_item_equals_dropping_it(p: Problem, data):
    n = p.arrays["input"].shape[0]
    k = data.draw(st.integers(0, n - 1), label="ignored row")
    target = p.arrays["target"].copy()
    target[k] = -100
    keep = np.arange(n) != k
    dropped = {**p.arrays, "input": p.arrays["input"][keep], "target": p.arrays["target"][keep]}
    q = Problem(p.name, p.params, dropped, p.layout)
    none = p.value("none", target=target)
    assert none[k] == 0.0
    assert_exact(none[keep], q.value("none"))
    for reduction in ("sum", "mean"):
        assert_exact(p.value(reduction, target=target), q.value(reduction))
        g = p.grads(reduction, target=target)["input"]
        assert_exact(g[k], np.zeros_like(g[k]))
        assert_exact(g[keep], q.grads(reduction)["input"])


@SETTINGS
@given(
    problems(names=["smooth_l1_loss"]),
    st.floats(0.05, 4.0),
)
def test_smooth_l1_equals_huber_over_beta(p: Problem, beta: float):
    huber = Problem("huber_loss", {"delta": beta}, p.arrays, p.layout)
    for reduction in p.spec.reductions:
        assert_tight(p.value(reduction, beta=beta), huber.value(reduction) / beta)
    cot = np.ones_like(p.value("none"))
    g_smooth, g_huber = p.grads("none", cot, beta=beta), huber.grads("none", cot)
    for name in g_smooth:
        assert_tight(g_smooth[name], g_huber[name] / beta)


@SETTINGS
@given(problems(names=["cross_entropy"], config_filter=lambda c: c["target_kind"] == "index"))
def test_cross_entropy_one_hot_probabilities_equal_index_targets(p: Problem):
    x = p.arrays["input"]
    axis = 1 if x.ndim > 1 else 0
    onehot = np.moveaxis(np.eye(x.shape[axis])[p.arrays["target"]], -1, axis)
    as_prob = {"target": onehot, "target_kind": "probability", "ignore_index": None}
    # Without weights every reduction agrees; with weights the index `mean` divides by Σ w_{y_n}
    # and the probability `mean` by N, so only `none` and `sum` agree.
    reductions = ("none", "sum") if "weight" in p.arrays else p.spec.reductions
    for reduction in reductions:
        assert_exact(p.value(reduction, **as_prob), p.value(reduction))
        cot = np.ones_like(p.value("none")) if reduction == "none" else None
        assert_exact(p.grads(reduction, cot, **as_prob)["input"], p.grads(reduction, cot)["input"])


@SETTINGS
@given(problems(names=["sigmoid_focal_loss"]))
def test_focal_with_gamma_zero_and_no_alpha_equals_bce_with_logits(p: Problem):
    bce = Problem("binary_cross_entropy_with_logits", {}, p.arrays, p.layout)
    focal = {"gamma": 0.0, "alpha": None}
    for reduction in p.spec.reductions:
        assert_exact(p.value(reduction, **focal), bce.value(reduction))
    x, y = p.arrays["input"], p.arrays["target"]
    cot = np.ones_like(x)
    g_focal, g_bce = p.grads("none", cot, **focal), bce.grads("none", cot)
    # σ(x) − y and −x are differences of terms of size σ(x) + y and softplus(±x)
    assert_tight(g_focal["input"], g_bce["input"], scale=sigmoid(x) + y)
    assert_tight(g_focal["target"], g_bce["target"], scale=softplus(x) + softplus(-x))


@SETTINGS
@given(problems(names=["binary_cross_entropy_with_logits"]), st.floats(0.05, 5.0))
def test_bce_of_sigmoid_equals_bce_with_logits_where_unsaturated(p: Problem, width: float):
    # logits in [−width, width] keep σ away from 0 and 1, so rounding σ costs < 1e-14 relative
    x = np.clip(p.arrays["input"], -width, width)
    y = p.arrays["target"]
    prob = sigmoid(x)
    logits = {
        "input": x,
        "target": y,
        **({"weight": p.arrays["weight"]} if "weight" in p.arrays else {}),
    }
    plain = {**logits, "input": prob}
    lg = Problem(p.name, {}, logits, p.layout)
    bce = Problem("binary_cross_entropy", {}, plain, p.layout)
    for reduction in p.spec.reductions:
        assert_tight(bce.value(reduction), lg.value(reduction))
    cot = np.ones_like(x)
    g_bce, g_lg = bce.grads("none", cot), lg.grads("none", cot)
    w = np.abs(logits.get("weight", 1.0))
    # chain rule: ∂/∂x = ∂/∂p · σ'(x) = ∂/∂p · p(1 − p); both equal w(σ(x) − y)
    assert_tight(g_bce["input"] * prob * (1 - prob), g_lg["input"], scale=w * (prob + y))
    # ∂/∂y = −w·x both ways, as log p − log(1 − p) and softplus(−x) − softplus(x)
    assert_tight(g_bce["target"], g_lg["target"], scale=w * (softplus(x) + softplus(-x)))


@SETTINGS
@given(problems(names=["kl_div"], config_filter=lambda c: not c["log_target"]))
def test_kl_div_log_target_on_log_t_equals_kl_div_on_t(p: Problem):
    x, t = p.arrays["input"], p.arrays["target"]
    log_t = np.log(t)
    as_log = {"target": log_t, "log_target": True}
    # t (log t − x) is a difference of terms of size t(|log t| + |x|)
    scale = t * (np.abs(log_t) + np.abs(x))
    assert_tight(p.value("none", **as_log), p.value("none"), scale=scale)
    for reduction in ("sum", "mean", "batchmean"):
        total = np.sum(scale) / (np.size(t) if reduction == "mean" else 1)
        total = total / (x.shape[0] if reduction == "batchmean" else 1)
        assert_tight(p.value(reduction, **as_log), p.value(reduction), scale=total)
    cot = np.ones_like(t)
    g_log, g = p.grads("none", cot, **as_log), p.grads("none", cot)
    assert_tight(g_log["input"], g["input"])  # −e^{log t} and −t
    # chain rule: ∂/∂(log t) = t ∂/∂t = t (log t + 1 − x)
    assert_tight(g_log["target"], t * g["target"], scale=t * (np.abs(log_t) + 1 + np.abs(x)))


@SETTINGS
@given(
    problems(names=["gaussian_nll_loss"], layout_filter=lambda lay: lay.name == "(N, D), var (N)")
)
def test_gaussian_nll_var_shapes_agree_when_var_is_constant_along_d(p: Problem):
    var_n = p.arrays["var"]  # (N,)
    n, d = p.arrays["input"].shape
    forms = {"(N)": var_n, "(N, 1)": var_n[:, None], "(N, D)": np.repeat(var_n[:, None], d, axis=1)}
    results = {
        k: (p.value("none", var=v), p.grads("none", np.ones((n, d)), var=v))
        for k, v in forms.items()
    }
    none, grads = results["(N, D)"]
    for key in ("(N)", "(N, 1)"):
        assert_exact(results[key][0], none)
        assert_exact(results[key][1]["input"], grads["input"])
        assert_exact(results[key][1]["target"], grads["target"])
    # the (N) and (N, 1) gradients of var are the (N, D) gradient summed over D
    diff = p.arrays["input"] - p.arrays["target"]
    v = np.maximum(var_n, p.params.get("eps", 1e-6))[:, None]
    scale = np.sum(0.5 * (1 / v + diff**2 / v**2), axis=1)
    assert_tight(results["(N)"][1]["var"], grads["var"].sum(axis=1), scale=scale)
    assert_tight(
        results["(N, 1)"][1]["var"], grads["var"].sum(axis=1, keepdims=True), scale=scale[:, None]
    )


@SETTINGS
@given(problems(names=["multilabel_soft_margin_loss"]))
def test_multilabel_soft_margin_equals_class_mean_of_bce_with_logits(p: Problem):
    bce = Problem("binary_cross_entropy_with_logits", {}, p.arrays, p.layout)
    x, y = p.arrays["input"], p.arrays["target"]
    n_classes = x.shape[1]
    assert_tight(p.value("none"), bce.value("none").mean(axis=1))
    cot = np.ones(x.shape[0])
    g, g_bce = p.grads("none", cot), bce.grads("none", np.ones_like(x) / n_classes)
    w = np.abs(p.arrays.get("weight", 1.0)) / n_classes
    assert_tight(g["input"], g_bce["input"], scale=w * (sigmoid(x) + y))
    assert_tight(g["target"], g_bce["target"], scale=w * (softplus(x) + softplus(-x)))


@SETTINGS
@given(problems(names=["l2_loss"]))
def test_l2_loss_is_half_mse_and_no_target_is_target_zero(p: Problem):
    x = p.arrays["input"]
    target = p.arrays.get("target", np.zeros_like(x))
    mse = Problem("mse_loss", {}, {"input": x, "target": target}, p.layout)
    zero = {"target": np.zeros_like(x)} if "target" not in p.arrays else {}
    for reduction in p.spec.reductions:
        # ½·d² is d² scaled by a power of two: exact
        assert_exact(p.value(reduction), mse.value(reduction) / 2)
        assert_exact(p.value(reduction, **zero), p.value(reduction))
    cot = np.ones_like(x)
    assert_exact(p.grads("none", cot)["input"], mse.grads("none", cot)["input"] / 2)


@SETTINGS
@given(problems(names=["hinge_loss", "squared_hinge"]))
def test_binary_labels_equal_their_signs(p: Problem):
    # labels='binary' reads y ∈ {0, 1} as s = 2y − 1: the same numbers as those signs
    labels = p.params.get("labels", "sign")
    y = p.arrays["target"]
    signs = 2.0 * y - 1.0 if labels == "binary" else y
    binary = (signs + 1.0) / 2.0
    for reduction in p.spec.reductions:
        as_signs = p.value(reduction, target=signs, labels="sign")
        assert_exact(p.value(reduction, target=binary, labels="binary"), as_signs)


@SETTINGS
@given(problems(names=["hinge_loss"]))
def test_squared_hinge_is_the_square_of_the_hinge(p: Problem):
    sq = Problem("squared_hinge", p.params, p.arrays, p.layout)
    h = p.value("none")
    assert_exact(sq.value("none"), h * h)
    cot = np.ones_like(h)
    # d(h²)/dx = 2h·dh/dx: exact (h is exact, the slopes are ±1 or 0)
    assert_exact(sq.grads("none", cot)["input"], 2.0 * h * p.grads("none", cot)["input"])


@SETTINGS
@given(problems(names=["perceptron_loss"]))
def test_hinge_is_the_perceptron_moved_by_the_margin(p: Problem):
    # max(0, 1 − y·x) = max(0, −y·(x − y)) for y = ±1: the same single rounding of 1 − y·x
    y = p.arrays["target"]
    hinge = Problem("hinge_loss", {}, p.arrays, p.layout)
    moved = p.arrays["input"] - y
    for reduction in p.spec.reductions:
        assert_exact(p.value(reduction, input=moved), hinge.value(reduction))
    cot = np.ones_like(y)
    assert_exact(p.grads("none", cot, input=moved)["input"], hinge.grads("none", cot)["input"])


@SETTINGS
@given(problems(names=["multiclass_hinge_loss"], layout_filter=lambda lay: lay.name == "(N, C)"))
def test_two_class_crammer_singer_is_the_binary_hinge_of_the_score_difference(p: Problem):
    # C = 2: max(0, 1 + x_other − x_y) = hinge(x_y − x_other, s = 1)
    x, y = p.arrays["input"], p.arrays["target"]
    assume(x.shape[1] == 2)
    rows = np.arange(x.shape[0])
    margin = x[rows, y] - x[rows, 1 - y]
    hinge = R.evaluate(
        "hinge_loss", {"input": margin, "target": np.ones_like(margin)}, {"reduction": "none"}
    )
    assert_tight(p.value("none"), hinge, scale=1.0 + np.abs(x).sum(axis=1))


@SETTINGS
@given(
    problems(
        names=["multiclass_hinge_loss", "multiclass_perceptron_loss"],
        layout_filter=lambda lay: lay.name == "(N, C)",
    )
)
def test_crammer_singer_losses_bound_the_sum_of_hinges(p: Problem):
    # the best wrong class's hinge ≤ the sum over wrong classes ≤ (C − 1)· it: multi_margin_loss
    # (p = 1, margin m, ÷ C) sums what multiclass_hinge_loss (m = 1) and the perceptron (m = 0)
    # take the maximum of
    x = p.arrays["input"]
    n_classes = x.shape[1]
    margin = 1.0 if p.name == "multiclass_hinge_loss" else 0.0
    summed = (
        R.evaluate("multi_margin_loss", p.arrays, {"margin": margin, "reduction": "none"})
        * n_classes
    )
    best = p.value("none")
    slack = 1e-12 * (1.0 + np.abs(x).sum(axis=1))
    assert np.all(best <= summed + slack)
    assert np.all(summed <= (n_classes - 1) * best + slack)


# === margins ======================================================================================


def _beyond_hinge_embedding(draw, params):
    margin = params.get("margin", 1.0)
    n = draw(st.integers(1, 4))
    gap = np.array(draw(st.lists(st.floats(1e-3, 3.0), min_size=n, max_size=n)))
    return {"input": margin + gap, "target": -np.ones(n)}


def _beyond_margin_ranking(draw, params):
    margin = params.get("margin", 0.0)
    n = draw(st.integers(1, 4))
    x2 = np.array(draw(st.lists(st.floats(-3, 3), min_size=n, max_size=n)))
    gap = np.array(draw(st.lists(st.floats(1e-3, 3.0), min_size=n, max_size=n)))
    y = np.array(draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=n, max_size=n)))
    # −y (x1 − x2) + margin = −gap < 0
    return {"input1": x2 + y * (margin + gap), "input2": x2, "target": y}


def _beyond_multi_margin(draw, params):
    margin = params.get("margin", 1.0)
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    x = np.array(draw(st.lists(st.floats(-3, 3), min_size=n * c, max_size=n * c))).reshape(n, c)
    y = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), dtype=np.int64)
    gap = draw(st.floats(1e-3, 3.0))
    others = np.where(np.arange(c) == y[:, None], -np.inf, x).max(axis=1)
    # x_y beyond every other score by more than the margin
    x[np.arange(n), y] = np.where(np.isfinite(others), others, 0.0) + margin + gap
    return {"input": x, "target": y}


def _beyond_cosine(draw, params):
    margin = params.get("margin", 0.0)
    n, d = draw(st.integers(1, 4)), draw(st.integers(2, 4))
    x1 = np.array(draw(st.lists(st.floats(-3, 3), min_size=n * d, max_size=n * d))).reshape(n, d)
    x1[:, 0] = 1.0 + np.abs(x1[:, 0])  # ‖x1‖ ≥ 1, so the noise (‖·‖ ≤ 0.2) cannot turn it around
    noise = np.array(draw(st.lists(st.floats(-0.1, 0.1), min_size=n * d, max_size=n * d)))
    x2 = -x1 + noise.reshape(n, d)  # nearly opposite: cos near −1, below any margin in [0, 1)
    cos = np.sum(x1 * x2, axis=1) / (np.linalg.norm(x1, axis=1) * np.linalg.norm(x2, axis=1))
    assume(np.all(cos < margin - 1e-6))
    return {"input1": x1, "input2": x2, "target": -np.ones(n)}


def _beyond_triplet(draw, params):
    margin = params.get("margin", 1.0)
    n, d = draw(st.integers(1, 4)), draw(st.integers(1, 4))

    def vecs(lo, hi):
        return np.array(draw(st.lists(st.floats(lo, hi), min_size=n * d, max_size=n * d))).reshape(
            n, d
        )

    a, p = vecs(-1, 1), vecs(-1, 1)
    neg = (
        a + 10.0 + margin + vecs(0, 3)
    )  # every component 10 + margin away: far beyond d(a, p) + margin
    return {"anchor": a, "positive": p, "negative": neg}


def _beyond_hinge(draw, params):
    n = draw(st.integers(1, 4))
    gap = np.array(draw(st.lists(st.floats(1e-3, 3.0), min_size=n, max_size=n)))
    s = np.array(draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=n, max_size=n)))
    y = (s + 1.0) / 2.0 if params.get("labels", "sign") == "binary" else s
    return {"input": s * (1.0 + gap), "target": y}  # s·x = 1 + gap > 1


def _beyond_perceptron(draw, params):
    n = draw(st.integers(1, 4))
    gap = np.array(draw(st.lists(st.floats(1e-3, 3.0), min_size=n, max_size=n)))
    s = np.array(draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=n, max_size=n)))
    return {"input": s * gap, "target": s}


def _beyond_crammer_singer(margin):
    return lambda draw, params: _beyond_multi_margin(draw, {"margin": margin})


BEYOND_MARGIN = {
    "hinge_loss": _beyond_hinge,
    "squared_hinge": _beyond_hinge,
    "perceptron_loss": _beyond_perceptron,
    "multiclass_hinge_loss": _beyond_crammer_singer(1.0),
    "multiclass_perceptron_loss": _beyond_crammer_singer(0.0),
    "hinge_embedding_loss": _beyond_hinge_embedding,
    "margin_ranking_loss": _beyond_margin_ranking,
    "multi_margin_loss": _beyond_multi_margin,
    "cosine_embedding_loss": _beyond_cosine,
    "triplet_margin_loss": _beyond_triplet,
}


@pytest.mark.parametrize("name", sorted(BEYOND_MARGIN))
@SETTINGS
@given(data=st.data())
def test_margin_losses_are_zero_beyond_the_margin(name, data):
    config = data.draw(st.sampled_from(CONFIGS[name]), label="config")
    params, _ = R.split(R.get(name), config)  # no optional arrays: weights would not change a 0
    arrays = BEYOND_MARGIN[name](data.draw, params)
    value, grads = R.value_and_vjp(
        name, arrays, {**params, "reduction": "none"}, np.ones(len(next(iter(arrays.values()))))
    )
    assert_exact(value, np.zeros_like(value))
    for g in grads.values():
        assert_exact(g, np.zeros_like(g))


# === vector-Jacobian products ======================================================================

# How one element of the `none` result depends on the arguments is declared by each loss
# (LossSpec.element_kind, one of reference.spec.ELEMENT_KINDS, explained there).


@pytest.mark.parametrize("name", LOSSES)
def test_every_loss_declares_its_element_kind(name):
    spec = R.get(name)
    assert spec.element_kind in ELEMENT_KINDS, (
        f"{name} declares no element_kind: add element_kind= (one of {', '.join(ELEMENT_KINDS)}) "
        f"to its LossSpec in reference/{spec.family}.py"
    )


def single_element(p: Problem, index: tuple[int, ...], out_shape: tuple[int, ...]):
    """The problem made of the one `none` element at ``index`` alone, and for each array a function
    placing that sub-problem's gradient where it belongs in the full problem's gradient."""
    kind = p.spec.element_kind
    sub: dict[str, np.ndarray] = {}
    place: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
    if not out_shape:  # an unbatched problem is its own single element
        return dict(p.arrays), {k: (lambda g: g) for k in p.arrays}
    for name, arr in p.arrays.items():
        if kind == "elementwise":
            # gaussian var with one fewer dimension gains a trailing axis, then all broadcast
            view = arr[..., None] if name == "var" and arr.ndim == len(out_shape) - 1 else arr
            positions = np.broadcast_to(np.arange(view.size).reshape(view.shape), out_shape)
            flat = int(positions[index])
            sub[name] = arr.reshape(-1)[flat : flat + 1]

            def put(g, flat=flat, shape=arr.shape):
                out = np.zeros(int(np.prod(shape)))
                out[flat] = g[0]
                return out.reshape(shape)

        elif kind == "per_vector":
            axis = p.batch_axis(name)
            if axis is None:
                # shared by every item (the sampled losses' class weights): the other items'
                # cotangent is 0, so the whole gradient is the one item's
                sub[name] = arr
                place[name] = lambda g: g
                continue
            n = index[0]
            sub[name] = np.take(arr, [n], axis=axis)

            def put(g, n=n, shape=arr.shape, axis=axis):
                out = np.zeros(shape)
                np.moveaxis(out, axis, 0)[n] = np.moveaxis(g, axis, 0)[0]
                return out

        else:  # per_class_slice: input[n, :, j…] is an unbatched (C) problem
            if name == "weight":
                sub[name] = arr
                continue
            where = (index[0], slice(None), *index[1:]) if arr.ndim > len(out_shape) else index
            sub[name] = arr[where]

            def put(g, where=where, shape=arr.shape):
                out = np.zeros(shape)
                out[where] = g
                return out

        place[name] = put
    return sub, place


@SETTINGS
@given(problems(), st.data())
def test_none_vjp_with_one_hot_cotangent_is_the_gradient_of_that_element(p: Problem, data):
    none = p.value("none")
    index = tuple(
        data.draw(st.integers(0, s - 1), label=f"axis {i}") for i, s in enumerate(none.shape)
    )
    one_hot = np.zeros(none.shape)
    one_hot[index] = 1.0
    full = p.grads("none", one_hot)
    if p.spec.element_kind == "batch" and none.shape:
        # every element reads the whole batch, so no smaller problem is that element alone: the
        # one-hot vjp and the rest of the batch's add up to the `sum` gradient (the element's own
        # derivative is the finite-difference test's, which draws a cotangent for `none`)
        rest = p.grads("none", 1.0 - one_hot)
        total = p.grads("sum")
        for name, g in total.items():
            scale = max(np.max(np.abs(g)), np.max(np.abs(full[name])), np.max(np.abs(rest[name])))
            assert_tight(full[name] + rest[name], g, scale)
        return
    sub, place = single_element(p, index, none.shape)
    value, sub_grads = R.value_and_vjp(p.name, sub, {**p.params, "reduction": "sum"})
    assert_exact(value, none[index])
    for name, g in full.items():
        assert_exact(g, place[name](sub_grads[name]))


# === layouts ======================================================================================


@SETTINGS
@given(problems(layout_filter=_has_batch, min_n=2), st.data())
def test_permuting_the_batch_permutes_none(p: Problem, data):
    n = p.sizes["N"]
    perm = np.array(data.draw(st.permutations(range(n)), label="permutation"))
    permuted = {k: (v[perm] if p.batched(k) else v) for k, v in p.arrays.items()}
    q = Problem(p.name, p.params, permuted, p.layout)
    none = p.value("none")
    assert_exact(q.value("none"), none[perm])
    # a cotangent distinct per item, so that it must move with the items
    cot = np.arange(1.0, none.size + 1).reshape(none.shape)
    g, g_q = p.grads("none", cot), q.grads("none", cot[perm])
    for name in g:
        if p.batched(name) and p.spec.element_kind == "batch":
            # every item's gradient adds up contributions from the whole batch, in the batch's
            # order: measured against the sum of the items' contributions' sizes
            items = [
                p.grads("none", np.where(_row(none.shape, i), cot, 0.0))[name] for i in range(n)
            ]
            scale = np.fmax(np.sum(np.abs(items), axis=0), declared_grad_terms(p, cot, name))
            assert_tight(g_q[name], g[name][perm], scale=scale[perm])
        elif p.batched(name):
            assert_exact(g_q[name], g[name][perm])
        else:
            # an argument shared by all items (gaussian var ()) sums their contributions, and the
            # order of that sum changes: measured against the sum of the contributions' sizes, or
            # the terms within them where those cancel (sampled_softmax_loss's weights: 4.4e-16
            # against 0 from contributions of size 5.6e-17)
            items = [
                p.grads("none", np.where(_row(none.shape, i), cot, 0.0))[name] for i in range(n)
            ]
            scale = np.fmax(np.sum(np.abs(items), axis=0), declared_grad_terms(p, cot, name))
            assert_tight(g_q[name], g[name], scale=scale)


def _row(shape: tuple[int, ...], i: int) -> np.ndarray:
    """A mask of batch item i in an array of ``shape`` whose first axis is the batch."""
    mask = np.zeros(shape, bool)
    mask[i] = True
    return mask


def _unbatched(layout: Layout) -> bool:
    """No array of the layout carries the batch symbol N."""
    return not any("N" in shape for shape in layout.shapes.values())


# Losses that accept an input without a batch dimension declare (unbatched layout, batched layout)
# in LossSpec.unbatched.
UNBATCHED = sorted(name for name in LOSSES if R.get(name).unbatched)


@pytest.mark.parametrize("name", LOSSES)
def test_every_loss_with_an_unbatched_layout_declares_its_batched_form(name):
    spec = R.get(name)
    has_unbatched = [lay.name for lay in spec.layouts if _unbatched(lay)]
    if not has_unbatched:
        assert spec.unbatched is None, f"{name}: no layout of {spec.unbatched} is unbatched"
        return
    assert spec.unbatched is not None, (
        f"{name} has the unbatched layout {has_unbatched[0]} but no unbatched=(unbatched layout, "
        f"batched layout) in its LossSpec in reference/{spec.family}.py"
    )
    unbatched_name, batched_name = spec.unbatched
    assert unbatched_name in has_unbatched, f"{name}: {unbatched_name} carries the batch N"
    batched = next(lay for lay in spec.layouts if lay.name == batched_name)
    assert _has_batch(batched), f"{name}: {batched_name} is not batched"


@SETTINGS
@given(problems(names=UNBATCHED, layout_filter=_unbatched))
def test_batch_of_one_equals_the_unbatched_input(p: Problem):
    unbatched_name, batched_name = p.spec.unbatched
    assert p.layout.name == unbatched_name
    spec = p.spec
    full = {**spec.defaults(), **p.params}
    batched_layout = next(
        lay for lay in shapes.layouts_for(spec.layouts, full) if lay.name == batched_name
    )
    one = {
        k: (v[None] if len(batched_layout.shapes[k]) > v.ndim else v) for k, v in p.arrays.items()
    }
    q = Problem(p.name, p.params, one, batched_layout)
    assert_exact(q.value("none"), p.value("none")[None])
    for reduction in spec.reductions:
        if reduction != "none":
            assert_exact(q.value(reduction), p.value(reduction))
    g, g_one = p.grads("sum"), q.grads("sum")
    for name in g:
        assert_exact(g_one[name], g[name][None] if g_one[name].ndim > g[name].ndim else g[name])


# === the softmax focal loss and the generalized cross-entropy =====================================


@SETTINGS
@given(problems(names=["categorical_focal_crossentropy"]))
def test_softmax_focal_loss_with_gamma_0_is_alpha_times_cross_entropy(p: Problem):
    # (1 − p)^0 = 1: −α Σ t_c log p_c, the probability-target cross-entropy scaled by α (class axis
    # last here, dim 1 there: the same for (C) and (N, C)), gradients included
    ce = {"target_kind": "probability", "label_smoothing": 0.0, "ignore_index": None}
    focal = p.value("none", gamma=0.0)
    plain = R.evaluate("cross_entropy", p.arrays, {**ce, "reduction": "none"})
    assert_tight(focal, p.params["alpha"] * plain, scale=1.0 + np.abs(plain))
    cot = np.ones_like(focal)
    g = p.grads("none", cot, gamma=0.0)
    g_ce = R.value_and_vjp("cross_entropy", p.arrays, {**ce, "reduction": "none"}, cot)[1]
    for name in ("input", "target"):
        assert_tight(g[name], p.params["alpha"] * g_ce[name], scale=1.0 + np.abs(g_ce[name]))


@SETTINGS
@given(problems(names=["categorical_focal_crossentropy"]))
def test_softmax_focal_loss_is_at_most_alpha_times_cross_entropy(p: Problem):
    # 0 ≤ (1 − p_c)^γ ≤ 1 on each nonnegative term
    ce = {"target_kind": "probability", "label_smoothing": 0.0, "ignore_index": None}
    plain = R.evaluate("cross_entropy", p.arrays, {**ce, "reduction": "none"})
    focal = p.value("none")
    assert np.all(focal >= 0)
    assert np.all(focal <= p.params["alpha"] * plain * (1 + 1e-13) + 1e-300)


@SETTINGS
@given(problems(names=["categorical_generalized_cross_entropy"]))
def test_generalized_cross_entropy_spans_mae_and_cross_entropy(p: Problem):
    x, y = p.arrays["input"], p.arrays["target"]
    py = np.take_along_axis(x, y[..., None], axis=-1)[..., 0]
    # q = 1: 1 − p_y exactly (MAE on the true-class probability)
    assert_tight(p.value("none", q=1.0), 1.0 - py, scale=1.0)
    # q → 0: (1 − p^q)/q = −log p − q log²p/2 + …; at q = 1e-9 within 1e-9·log²p of −log p
    assume(np.all(py > 1e-3))
    small = p.value("none", q=1e-9)
    assert np.all(np.abs(small + np.log(py)) <= 1e-9 * np.log(py) ** 2 + 1e-12)
    # decreasing in q for p in (0, 1): the MAE end is the smallest
    assert np.all(p.value("none", q=1.0) <= p.value("none", q=0.5) + 1e-15)
