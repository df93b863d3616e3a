"""The float64 reference against independent 40-digit mpmath implementations (mp_losses.py).

Every loss × configuration (reference-only variants included) × layout is evaluated on
hypothesis-drawn inputs that mix ordinary values with stress values (logits of ±30 and ±700,
probabilities of 1e-300 and 1 − 2⁻⁵³, zero counts, tiny variances, pairs that differ in the last
bits), and a table of hand-picked stress inputs runs through every reduction.

Agreement, per element of the result:
- where the exact value is NaN or ±inf, the reference must give exactly that;
- where it is finite but beyond float64's range, the reference must give the correctly rounded
  ±inf;
- elsewhere |reference − exact| ≤ RTOL · max(|exact|, scale) + FLOOR, where scale is the sum of the
  absolute values of the terms the documented formula adds (see mp_losses: a float64 sum has an
  error of order u·Σ|terms| that nothing removes, so near-zero results of cancelling terms are
  judged against the terms, while a single well-conditioned term is judged against itself).
"""

from __future__ import annotations

import math
import os

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import reference as R
from reference import shapes
from tests.reference import mp_losses as M

# 1e-13 ≈ 450 u: room for a few dozen roundings in a formula and a short reduction, far below the
# 1e-8 … 1e-3 errors of a log(1 + tiny) where log1p was due.
RTOL = 1e-13
# Below the smallest normal float64 only absolute spacing (2⁻¹⁰⁷⁴) remains, and a correct formula
# whose intermediate underflows (e^{−745}, (e^{−700})³) returns 0 or a subnormal.
FLOOR = 2.0**-1022

# Examples per (loss, configuration, layout) item: 3 keeps the whole run near 10 s on 2 cores;
# LOSSCONF_REFERENCE_EXAMPLES=50 makes a soak run.
EXAMPLES = int(os.environ.get("LOSSCONF_REFERENCE_EXAMPLES", "3"))

SIZES = {"N": (1, 3), "C": (1, 4), "D": (1, 3), "E": (1, 2), "d1": (1, 2), "d2": (1, 2)}
# time steps, target length, alphabet with the blank (≥ 2: one label besides the blank)
SEQUENCE_SIZES = {"T": (1, 4), "S": (1, 3), "K": (2, 3)}

# --- what is drawn, per domain -----------------------------------------------------------------

U = 2.0**-53
ORDINARY = st.floats(-20.0, 20.0, allow_subnormal=False)
STRESS_REAL = (0.0, -0.0, 1.0, -1.0, 0.5, 1e-300, -1e-300, 30.0, -30.0, 700.0, -700.0, 1e-8)
STRESS_PROBABILITY = (0.0, 1.0, 0.5, 1e-300, 1e-16, U, 1.0 - U, 1.0 - 2 * U, 0.25)


def _mix(ordinary, stress):
    return st.one_of(ordinary, st.sampled_from(stress))


ELEMENTS = {
    "real": _mix(ORDINARY, (*STRESS_REAL, -math.inf)),
    "logit": _mix(ORDINARY, (*STRESS_REAL, -math.inf, math.inf)),
    "log-probability": _mix(
        st.floats(-20.0, 0.0, allow_subnormal=False),
        (0.0, -1e-300, -1e-16, -30.0, -700.0, -math.inf),
    ),
    "probability": _mix(st.floats(0.0, 1.0, allow_subnormal=False), STRESS_PROBABILITY),
    "count": _mix(
        st.integers(0, 40).map(float), (0.0, 1.0, 2.0, 0.5, 1.5, 1e-300, 1e-10, 1e5, 12345.678)
    ),
    "rate": _mix(st.floats(0.0, 10.0, allow_subnormal=False), (0.0, 1e-300, 1e-8, 1.0, 700.0)),
    "variance": _mix(
        st.floats(1e-3, 5.0, allow_subnormal=False), (0.0, 1e-300, 1e-7, 1e-6, 1e-5, 1.0)
    ),
    "log1p argument": _mix(
        st.floats(-0.999, 20.0, allow_subnormal=False),
        (0.0, 1e-300, 1e-10, -0.5, -1.0 + 2.0**-40, 1.0, 700.0, 1e300, math.inf),
    ),
    "nonzero real": _mix(
        ORDINARY.filter(lambda v: v != 0.0),
        (1.0, -1.0, 0.5, 1e-300, -1e-300, 30.0, -700.0, 1e-8, 1e300, -math.inf),
    ),
    "±1 label": st.sampled_from((-1.0, 1.0)),
    "{0, 1} label": st.sampled_from((0.0, 1.0)),
    # Rescaling weights are O(1) or exactly 0: a weight of 1e-250 makes w·ℓ underflow before the
    # weighted mean divides by Σw, an artefact of any float64 evaluation, not of a formula.
    "weight": _mix(st.floats(1e-3, 2.0), (0.0, 1.0)),
    # a sampler's expected counts: positive, from the rare class (1e-300: log Q = −690.8) to many
    "expected count": _mix(st.floats(1e-3, 10.0), (1e-300, 0.5, 1.0, 1e10)),
    # circle_loss's embeddings: any reals (unit rows are the intended use, not a requirement)
    "embedding": _mix(ORDINARY, STRESS_REAL),
}

# The smallest value of each integer domain (the largest is C − 1): −1 ends a multilabel row.
INTEGER_LOW = {"class index": 0, "multilabel target": -1, "group label": 0}

# ctc_loss's integer arguments: labels of the alphabet other than the blank, lengths up to T and S
# (0 included: an empty input, an empty target).
SEQUENCE_INTEGERS = {
    "CTC label": lambda sizes, full: st.integers(0, sizes["K"] - 2).map(
        lambda v: v + (v >= full["blank"])
    ),
    "input length": lambda sizes, full: st.integers(0, sizes["T"]),
    "target length": lambda sizes, full: st.integers(0, sizes["S"]),
    # ntxent's group labels: fewer groups than items, so that positive pairs occur
    "group label": lambda sizes, full: st.integers(0, max(1, (sizes["N"] + 1) // 2)),
}

# Where a domain's stress values make the *definition* an ∞ − ∞ or ∞/∞ limit, not a number, the
# draw leaves them out (the reason is the documented formula, not a disagreement):
NOT_DRAWN = {
    # softmax at a +inf logit is e^∞ / e^∞: its limit (1 at the one +inf class) is a convention
    # (the reference gives NaN there, as torch does: a recorded torch convention, issue #6864)
    ("cross_entropy", "input"): (math.inf,),
    ("poly_loss_cross_entropy", "input"): (math.inf,),  # the same softmax, the same limit
}


def _focal_factor_underflows(arrays, params) -> bool:
    """At an infinite logit the focal factor (1 − p_t)^γ is y^γ or (1 − y)^γ; where that is below
    2⁻¹⁰⁷⁴ float64 holds 0 for it, and 0 · ∞ (CE) is NaN while the exact product is ∞."""
    x, y = arrays["input"], arrays["target"]
    side = np.where(x > 0, 1.0 - y, y)
    return bool(np.any(np.isinf(x) & (side > 0) & (side ** params["gamma"] == 0)))


# Inputs whose exact value needs a float64 intermediate the format cannot hold (not a formula
# error): the draw skips them.
UNREPRESENTABLE = {"sigmoid_focal_loss": _focal_factor_underflows}

# Pairs whose difference matters: one of them is sometimes set to the other plus a few ulps, so
# the formula meets d = x − y tiny (log cosh, Huber, cos ≈ 1, hinges at 0).
NEAR_PAIRS = (("input", "target"), ("input1", "input2"), ("anchor", "positive"))
NUDGES = (U, 4 * U, 1e-13, 1e-9, 1e-5, -U, -1e-9, -1e-5)


def _nudgeable(spec, full, *names) -> bool:
    """Both arrays hold unconstrained reals, so a nudge cannot leave an enforced domain."""
    return all(spec.array(n).domain_for(full).name in ("real", "logit") for n in names)


def _elements(spec, name, domain):
    if domain.name not in ELEMENTS:
        raise LookupError(
            f"domain {domain.name!r} ({spec.name}'s {name}) has no mpmath draw: add its ordinary "
            "and stress values to ELEMENTS in tests/reference/test_mpmath.py"
        )
    base = ELEMENTS[domain.name]
    banned = NOT_DRAWN.get((spec.name, name), ())
    return base.filter(lambda v: v not in banned) if banned else base


@st.composite
def loss_inputs(draw, spec, config, layout):
    """Arrays for ``layout`` under ``config``, from each argument's domain."""
    params, present = R.split(spec, config)
    full = {**spec.defaults(), **params}
    sizes = {k: draw(st.integers(lo, hi), label=k) for k, (lo, hi) in SIZES.items()}
    # ctc_loss's symbols, drawn only for its layout so that the other losses' draws stay as they were
    used = {sym for shape in layout.shapes.values() for sym in shape}
    sizes.update(
        {
            k: draw(st.integers(lo, hi), label=k)
            for k, (lo, hi) in SEQUENCE_SIZES.items()
            if k in used
        }
    )
    names = [a.name for a in spec.arrays if not a.optional or a.name in present]
    concrete = shapes.concrete(layout, sizes, names)
    arrays = {}
    for name in names:
        domain = spec.array(name).domain_for(full)
        shape = concrete[name]
        if domain.name in SEQUENCE_INTEGERS:
            elements = SEQUENCE_INTEGERS[domain.name](sizes, full)
            arrays[name] = draw(hnp.arrays(np.int64, shape, elements=elements), label=name)
        elif domain.integer:
            classes = st.integers(INTEGER_LOW[domain.name], sizes["C"] - 1)
            if full.get("ignore_index") is not None:
                classes = st.one_of(classes, st.just(full["ignore_index"]))
            arrays[name] = draw(hnp.arrays(np.int64, shape, elements=classes), label=name)
        else:
            elements = _elements(spec, name, domain)
            arrays[name] = draw(hnp.arrays(np.float64, shape, elements=elements), label=name)
    for first, second in NEAR_PAIRS:
        if first in arrays and second in arrays and _nudgeable(spec, full, first, second):
            if draw(st.booleans(), label=f"{second} near {first}"):
                nudge = draw(st.sampled_from(NUDGES), label="nudge")
                x = arrays[first]
                near = np.where(x == 0, nudge, x * (1.0 + nudge))
                arrays[second] = np.where(np.isfinite(near), near, arrays[second])
    return arrays, full


def _all_cases():
    for name in R.names():
        spec = R.get(name)
        for config in R.all_configs(spec, reference_only=True):
            params, _ = R.split(spec, config)
            for layout in shapes.layouts_for(spec.layouts, {**spec.defaults(), **params}):
                yield pytest.param(
                    name, config, layout, id=f"{R.config_id(spec, config)}-{layout.name}"
                )


# --- the comparison ----------------------------------------------------------------------------


def element_error(ref: float, exact, scale) -> float:
    """The error of one reference element against the exact value, in units of the tolerance
    (≤ 1 passes); inf when a NaN, an infinity or a sign does not match."""
    if mpmath.isnan(exact):
        return 0.0 if math.isnan(ref) else math.inf
    rounded = float(exact)  # the nearest float64; ±inf beyond its range
    if math.isinf(rounded):
        return 0.0 if ref == rounded else math.inf
    if not math.isfinite(ref):
        return math.inf
    err = abs(mpmath.mpf(ref) - exact)
    return float(err / (RTOL * max(abs(exact), scale) + FLOOR))


def errors(ref, ex: M.Exact) -> np.ndarray:
    ref = np.asarray(ref, dtype=np.float64)
    values = np.asarray(ex.value, dtype=object)
    scales = np.asarray(ex.scale, dtype=object)
    assert ref.shape == values.shape, f"shape {ref.shape}, exact {values.shape}"
    return np.array(
        [
            element_error(float(r), e, s)
            for r, e, s in zip(ref.reshape(-1), values.reshape(-1), scales.reshape(-1), strict=True)
        ]
    )


def assert_agrees(name, arrays, params):
    ref = R.evaluate(name, arrays, params)
    ex = M.exact(name, arrays, params)
    err = errors(ref, ex)
    worst = int(np.argmax(err)) if err.size else 0
    assert err.size == 0 or err[worst] <= 1.0, (
        f"{name} {params}: element {worst}: reference {np.asarray(ref).reshape(-1)[worst]!r}, "
        f"exact {mpmath.nstr(np.asarray(ex.value, dtype=object).reshape(-1)[worst], 20)}, "
        f"error {err[worst]:.3g} × tolerance; arrays {arrays}"
    )
    return err


# --- tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, config, layout", list(_all_cases()))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_value_agrees_with_mpmath(name, config, layout, data):
    spec = R.get(name)
    arrays, full = data.draw(loss_inputs(spec, config, layout))
    assume(not UNREPRESENTABLE.get(name, lambda a, p: False)(arrays, full))
    assert_agrees(name, arrays, full)


def f(*values) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def idx(*values) -> np.ndarray:
    return np.array(values, dtype=np.int64)


INF = math.inf
TINY_STEP = 2.0**-52

# (id, loss, parameters other than reduction, arrays): inputs chosen to break a careless formula.
STRESS = [
    (
        "mse-last-bit",
        "mse_loss",
        {},
        dict(input=f(1.0, 1e-300, 700.0), target=f(1 + TINY_STEP, 0.0, -700.0)),
    ),
    (
        # half of 1e-300² underflows; ½(1 + 2⁻⁵² − 1)² = 2⁻¹⁰⁵; ½·(1e200)² overflows to +inf
        "l2-tiny-and-huge",
        "l2_loss",
        {},
        dict(input=f(1e-300, 1.0, 1e200, -3.0), target=f(0.0, 1 + TINY_STEP, 0.0, 0.5)),
    ),
    ("l2-no-target", "l2_loss", {}, dict(input=f(1e-160, -700.0, 1.5, 0.0))),
    ("l1-last-bit", "l1_loss", {}, dict(input=f(1.0, 1e-300), target=f(1 + TINY_STEP, -1e-300))),
    (
        "huber-at-delta",
        "huber_loss",
        {"delta": 0.5},
        dict(input=f(0.5, 0.5 + 1e-16, 1e-300, 30.0), target=f(0.0, 0.0, 0.0, -700.0)),
    ),
    (
        "smooth-l1-beta0",
        "smooth_l1_loss",
        {"beta": 0.0},
        dict(input=f(1e-300, -3.0), target=f(0.0, 1e-300)),
    ),
    (
        "smooth-l1-at-beta",
        "smooth_l1_loss",
        {"beta": 1.0},
        dict(input=f(1.0, 1.0 - 1e-16, 1e-8), target=f(0.0, 0.0, 0.0)),
    ),
    (
        "log-cosh-small-d",
        "log_cosh",
        {},
        dict(
            input=f(1e-300, 1e-8, 1e-5, 0.01, 0.1, 1.0),
            target=f(0.0, 0.0, 0.0, 0.0, 0.0, 1.0 + TINY_STEP),
        ),
    ),
    (
        "log-cosh-large-d",
        "log_cosh",
        {},
        dict(input=f(30.0, 700.0, -800.0, 1e300), target=f(0.0, -700.0, 0.0, 0.0)),
    ),
    (
        # log(1 + x) at tiny x (log1p, not the log of a rounded 1 + x), near −1, and far out
        "msle-near-zero-and-minus-one",
        "mean_squared_logarithmic_error",
        {},
        dict(
            input=f(1e-300, 1e-10, -1.0 + 2.0**-40, 1e300, 0.5),
            target=f(0.0, 2e-10, 0.0, 1e-5, 0.5 + 1e-15),
        ),
    ),
    (
        # tiny and huge targets, and errors far below the target (cancellation in x − y)
        "mape-tiny-and-huge-targets",
        "mean_absolute_percentage_error",
        {},
        dict(input=f(1.0, 0.0, 1.0 + 1e-15, -1e300, 3.0), target=f(1e-300, 1e300, 1.0, 1e-8, -3.0)),
    ),
    (
        "bce-edges",
        "binary_cross_entropy",
        {},
        dict(input=f(1e-300, 1 - U, U, 0.5, 0.0, 1.0), target=f(0.0, 1.0, 0.0, 1e-300, 0.0, 1.0)),
    ),
    (
        "bce-infinite",
        "binary_cross_entropy",
        {},
        dict(input=f(0.0, 1.0, 0.5), target=f(1.0, 0.5, 0.5)),
    ),
    (
        "bce-logits-large",
        "binary_cross_entropy_with_logits",
        {},
        dict(
            input=f(30.0, -30.0, 700.0, -700.0, INF, -INF), target=f(1.0, 0.0, 1.0, 0.0, 1.0, 0.0)
        ),
    ),
    (
        "bce-logits-wrong-side",
        "binary_cross_entropy_with_logits",
        {},
        dict(
            input=f(30.0, -30.0, 700.0, -700.0, 1e-300),
            target=f(0.0, 1.0, 0.5, 1.0, 0.5),
            pos_weight=f(3.0),
        ),
    ),
    (
        "bce-logits-infinite",
        "binary_cross_entropy_with_logits",
        {},
        dict(input=f(INF, -INF), target=f(0.5, 1.0)),
    ),
    (
        "focal-large-logits",
        "sigmoid_focal_loss",
        {},
        dict(input=f(30.0, -30.0, 700.0, -700.0, 37.0), target=f(1.0, 0.0, 1.0, 0.0, 1.0)),
    ),
    (
        "focal-no-alpha",
        "sigmoid_focal_loss",
        {"alpha": None},
        dict(input=f(30.0, -30.0, -700.0, 1e-300), target=f(1.0, 0.0, 1.0, 0.5)),
    ),
    (
        "focal-gamma0",
        "sigmoid_focal_loss",
        {"gamma": 0.0},
        dict(input=f(30.0, -INF, INF), target=f(1.0, 0.0, 1.0)),
    ),
    (
        "ce-dominant-class",
        "cross_entropy",
        {},
        dict(
            input=np.array([[30.0, 0.0, -30.0], [700.0, -700.0, 0.0], [20.0, 0.0, 1.0]]),
            target=idx(0, 0, 0),
        ),
    ),
    (
        "ce-large-loss",
        "cross_entropy",
        {},
        dict(input=np.array([[30.0, 0.0, -30.0], [700.0, -700.0, 0.0]]), target=idx(2, 1)),
    ),
    (
        "ce-minus-inf-logit",
        "cross_entropy",
        {},
        dict(input=np.array([[-INF, 0.0, 1.0], [-INF, 0.0, 1.0]]), target=idx(1, 0)),
    ),
    (
        "ce-smoothing",
        "cross_entropy",
        {"label_smoothing": 0.1},
        dict(input=np.array([[30.0, 0.0, -30.0]]), target=idx(0), weight=f(1.0, 0.0, 2.0)),
    ),
    (
        "ce-prob-target",
        "cross_entropy",
        {"target_kind": "probability"},
        dict(input=np.array([[30.0, 0.0, -INF]]), target=np.array([[1.0 - U, U, 0.0]])),
    ),
    (
        "ce-all-ignored",
        "cross_entropy",
        {"ignore_index": -100},
        dict(input=np.array([[1.0, 2.0]]), target=idx(-100)),
    ),
    (
        "nll-minus-inf",
        "nll_loss",
        {},
        dict(input=np.array([[-INF, 0.0], [-1e-300, -700.0]]), target=idx(0, 0)),
    ),
    (
        "multi-margin-at-hinge",
        "multi_margin_loss",
        {"p": 2},
        dict(input=np.array([[1.0, 1e-16, -1.0], [700.0, 0.0, 699.5]]), target=idx(2, 0)),
    ),
    (
        "multilabel-margin-at-hinge",
        "multilabel_margin_loss",
        {},
        dict(
            input=np.array([[1.0, 1e-16, -1.0, 700.0], [700.0, 0.0, 699.0, -700.0]]),
            target=np.array([[0, 2, -1, 3], [0, 2, 0, -1]]),
        ),
    ),
    (
        "multilabel-large",
        "multilabel_soft_margin_loss",
        {},
        dict(
            input=np.array([[30.0, -30.0, 700.0, -700.0]]), target=np.array([[1.0, 0.0, 1.0, 0.0]])
        ),
    ),
    (
        "kl-near-equal",
        "kl_div",
        {},
        dict(input=np.log(f(1e-300, 0.5, 1 - U, 1e-16)), target=f(1e-300, 0.5, 1 - U, 1e-16)),
    ),
    ("kl-zero-target", "kl_div", {}, dict(input=f(-INF, -700.0, 0.0), target=f(0.0, 0.0, 1.0))),
    (
        "kl-log-target",
        "kl_div",
        {"log_target": True},
        dict(input=f(-700.0, 0.0, -1e-300, -30.0), target=f(-700.0, -1e-16, 0.0, -INF)),
    ),
    (
        "poisson-zero-count-minus-inf",
        "poisson_nll_loss",
        {},
        dict(input=f(-INF, -700.0, 700.0, 0.0), target=f(0.0, 0.0, 1.0, 0.0)),
    ),
    (
        "poisson-count-minus-inf",
        "poisson_nll_loss",
        {},
        dict(input=f(-INF, 1.0), target=f(2.0, np.e)),
    ),
    (
        "poisson-rate",
        "poisson_nll_loss",
        {"log_input": False},
        dict(input=f(0.0, 1e-300, 1.0, 700.0), target=f(0.0, 3.0, 0.0, 2.0)),
    ),
    (
        "poisson-stirling",
        "poisson_nll_loss",
        {"full": True},
        dict(input=f(-INF, 0.0, 2.0, 11.5), target=f(0.0, 1.0, 1.5, 1e5)),
    ),
    (
        "poisson-lgamma",
        "poisson_nll_loss",
        {"full": True, "full_term": "lgamma"},
        dict(input=f(-700.0, 0.0, 0.5, 11.5, -30.0), target=f(0.0, 1.0, 2.5, 1e5, 1e-10)),
    ),
    (
        "poisson-lgamma-rate",
        "poisson_nll_loss",
        {"full": True, "full_term": "lgamma", "log_input": False},
        dict(input=f(1e-300, 1.0, 3.0), target=f(0.0, 1.0, 2.0)),
    ),
    (
        "gaussian-tiny-var",
        "gaussian_nll_loss",
        {},
        dict(
            input=np.array([[1.0, 1e-300], [0.0, 2.0]]),
            target=np.array([[1.0 + TINY_STEP, 0.0], [0.0, 2.0]]),
            var=np.array([[1e-300, 0.0], [1e-7, 1e-6]]),
        ),
    ),
    (
        "gaussian-full",
        "gaussian_nll_loss",
        {"full": True},
        dict(input=f(0.0, 30.0), target=f(0.0, -30.0), var=f(1.0, 1e-5)),
    ),
    (
        "triplet-identical",
        "triplet_margin_loss",
        {},
        dict(
            anchor=np.array([[1.0, 2.0]]),
            positive=np.array([[1.0, 2.0]]),
            negative=np.array([[1.0, 2.0 + 1e-12]]),
        ),
    ),
    (
        "triplet-eps0-swap",
        "triplet_margin_loss",
        {"eps": 0.0, "swap": True, "p": 1.0},
        dict(
            anchor=np.array([[0.0, 0.0], [1.0, 1.0]]),
            positive=np.array([[0.0, 0.0], [1.0, 3.0]]),
            negative=np.array([[3.0, 4.0], [1.0, 1.5]]),
        ),
    ),
    (
        # eps dominates d(a, p) ≈ 1e-6·√2 (anchor equal to, or 1e-12 from, positive); row 0 is a
        # swap tie (d(a, n) = d(p, n)), and in row 1 the hinge 1e-6·√2 − (0.5 − 1e-6) + 0.5
        # cancels to ≈ 2.4e-6 out of terms of 0.5
        "triplet-default-distance",
        "triplet_margin_with_distance_loss",
        {"swap": True, "margin": 0.5},
        dict(
            anchor=np.array([[1.0, 2.0], [0.0, 0.0]]),
            positive=np.array([[1.0, 2.0], [0.0, 1e-12]]),
            negative=np.array([[1.0, 2.0 + 1e-12], [0.5, 0.0]]),
        ),
    ),
    (
        "cosine-parallel",
        "cosine_embedding_loss",
        {},
        dict(
            input1=np.array([[1.0, 2.0, 3.0], [1.0, 1e-300, 0.0]]),
            input2=np.array([[2.0, 4.0, 6.0 + 1e-12], [3.0, 0.0, 0.0]]),
            target=f(1.0, 1.0),
        ),
    ),
    (
        "cosine-zero-vector",
        "cosine_embedding_loss",
        {"margin": 0.5},
        dict(
            input1=np.array([[0.0, 0.0], [1.0, 1.0]]),
            input2=np.array([[1.0, 2.0], [1.0, 1.0 + 1e-9]]),
            target=f(1.0, -1.0),
        ),
    ),
    (  # huge and tiny components (a naive Σx² overflows or underflows), a norm below eps
        "cosine-similarity-scales",
        "cosine_similarity",
        {"eps": 1e-8},
        dict(
            input1=np.array([[1e200, 2e200, 3e200], [1e-300, 0.0, 1e-300], [3e-9, 4e-9, 0.0]]),
            input2=np.array([[2.0, 4.0, 6.0 + 1e-12], [1.0, 1.0, 1e-12], [0.0, 2.0, 0.0]]),
        ),
    ),
    (  # nearly parallel (1 − cos tiny: cancellation) and a zero vector at eps = 0 (0/0)
        "cosine-distance-parallel",
        "cosine_distance",
        {"eps": 0.0},
        dict(
            input1=np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [1e150, -1e150, 0.0]]),
            input2=np.array([[2.0, 4.0, 6.0 + 1e-12], [1.0, 2.0, 3.0], [1.0, -1.0, 1e-300]]),
        ),
    ),
    (
        "ranking-at-hinge",
        "margin_ranking_loss",
        {"margin": 0.5},
        dict(
            input1=f(1.0, 700.0, 1e-300),
            input2=f(0.5, 699.5 + 1e-13, 0.0),
            target=f(1.0, 1.0, -1.0),
        ),
    ),
    (
        "hinge-at-margin",
        "hinge_embedding_loss",
        {},
        dict(input=f(1.0, 1.0 - 1e-16, -700.0, 1e-300), target=f(-1.0, -1.0, 1.0, -1.0)),
    ),
    (
        # paths of log-probability −700·2 beside paths of −1e-16: logaddexp of far-apart terms;
        # item 1 needs (a, blank, a), item 2 has no alignment in 2 steps, item 3 is an empty
        # target read over 3 steps
        "ctc-far-apart-paths",
        "ctc_loss",
        {},
        dict(
            input=np.array(
                [
                    [[-700.0, -1e-16, -30.0], [-1e-300, -700.0, -1.0], [-1.0, -1.0, -1.0]] * 1
                    + [[-0.5, -2.0, -INF]],
                    [[-1e-16, -700.0, -30.0], [-700.0, -1e-300, -1.0], [-1.0, -1.0, -1.0]] * 1
                    + [[-0.5, -2.0, -INF]],
                    [[-700.0, -30.0, -1e-16], [-1e-300, -700.0, -1.0], [-1.0, -1.0, -1.0]] * 1
                    + [[-0.5, -2.0, -INF]],
                ]
            ),
            targets=idx(1, 2, 1, 1, 1, 1, 2, 1).reshape(4, 2),
            input_lengths=idx(3, 3, 2, 3),
            target_lengths=idx(2, 2, 2, 0),
        ),
    ),
    (
        # on the hinge exactly, one ulp inside it, far past it, and a score of 1e-300
        "hinge-at-margin",
        "hinge_loss",
        {},
        dict(input=f(1.0, 1.0 - U, -700.0, 1e-300, -1.0), target=f(1.0, 1.0, 1.0, -1.0, -1.0)),
    ),
    (
        "hinge-binary-labels",
        "hinge_loss",
        {"labels": "binary"},
        dict(input=f(1.0, -1.0 + 1e-16, 30.0, 1e-300), target=f(1.0, 0.0, 0.0, 0.0)),
    ),
    (
        # h = 2⁻⁵³ squared (1.2e-32) beside h² of 1e300 (beyond float64: +inf)
        "squared-hinge-tiny-and-huge",
        "squared_hinge",
        {},
        dict(input=f(1.0 - U, 1e200, -1e-300, 0.5), target=f(1.0, -1.0, 1.0, -1.0)),
    ),
    (
        "perceptron-at-zero",
        "perceptron_loss",
        {},
        dict(input=f(0.0, -0.0, 1e-300, -1e-300, 700.0), target=f(1.0, -1.0, -1.0, -1.0, -1.0)),
    ),
    (
        # a tie one ulp from the hinge, a huge and a tiny score, every class but one far below
        "multiclass-hinge-near-ties",
        "multiclass_hinge_loss",
        {},
        dict(
            input=np.array([[1.0, 1e-16, -1.0], [700.0, 0.0, 699.0], [1e-300, -1e-300, 0.0]]),
            target=idx(0, 0, 2),
        ),
    ),
    (
        "multiclass-perceptron-ties",
        "multiclass_perceptron_loss",
        {},
        dict(
            input=np.array([[1.0, 1.0, -1.0], [700.0, 0.0, 700.0 + 2**-43], [1e-300, 0.0, -1.0]]),
            target=idx(0, 0, 2),
        ),
    ),
    (
        "soft-margin-large",
        "soft_margin_loss",
        {},
        dict(input=f(30.0, -30.0, 700.0, -700.0, 1e-300), target=f(1.0, 1.0, -1.0, -1.0, 1.0)),
    ),
    (  # Keras' ε = 1e-7: a norm of 5e-8 below it, huge components, a nearly parallel pair
        "negative-cosine-keras-eps",
        "negative_cosine_similarity",
        {"eps": 1e-7},
        dict(
            input1=np.array([[3e-8, 4e-8, 0.0], [1e200, 2e200, 3e200], [1.0, 2.0, 3.0]]),
            input2=np.array([[0.0, 2.0, 0.0], [2.0, 4.0, 6.0 + 1e-12], [2.0, 4.0, 6.0 + 1e-12]]),
        ),
    ),
    (  # one ulp off the hinge, huge scores, soft labels whose terms cancel, tiny scores
        "categorical-hinge-near-hinge",
        "categorical_hinge",
        {},
        dict(
            input=np.array(
                [[0.5, -1.0, 1.5 - 2**-52], [700.0, 1e-300, 699.0], [0.3, 0.7, -0.1], [1e-300] * 3]
            ),
            target=np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0], [1.0, 0.0, 0.0]]),
        ),
    ),
    (
        # a confident correct class (1 − p tiny: no 1 − p), logits ±700 and −inf at a zero target
        "poly-confident-and-far",
        "poly_loss_cross_entropy",
        {"epsilon": 2.0},
        dict(
            input=np.array([[40.0, 0.0, -1.0], [700.0, -700.0, 0.0], [-INF, 1e-300, 30.0]]),
            target=np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.0, U, 1.0 - U]]),
        ),
    ),
    (
        "poly-negative-epsilon",
        "poly_loss_cross_entropy",
        {"epsilon": -1.0},
        dict(
            input=np.array([[30.0, -30.0, 0.0], [1e-300, 0.0, -1e-300]]),
            target=np.array([[1.0, 0.0, 0.0], [0.25, 0.25, 0.5]]),
        ),
    ),
    (
        # prediction equal to the target (ℓ = 0 by cancellation), tiny targets, e^x large
        "generalized-kl-cancelling",
        "generalized_kl_divergence",
        {},
        dict(
            input=np.array([[math.log(0.5), math.log(0.25), -700.0], [30.0, -INF, 1e-300]]),
            target=np.array([[0.5, 0.25, 1e-300], [1.0, 0.0, 1.0 - U]]),
        ),
    ),
    (
        # similarities 1/τ = 100 apart (a log-sum-exp of far-apart terms at τ = 0.01), tiny and
        # huge embeddings (the norm scaled, not squared), an anchor with two positives
        "ntxent-far-apart",
        "ntxent",
        {"temperature": 0.01},
        dict(
            embeddings=f(1e-300, 0.0, 1e300, 1e300, -1.0, 1e-8, 0.5, -0.25, 3.0, 3.0).reshape(5, 2),
            labels=idx(0, 0, 1, 0, 1),
        ),
    ),
    (
        # on both branch points, one ulp inside the quadratic, far out on both sides, tiny scores
        "sparsemax-branches",
        "sparsemax_loss",
        {},
        dict(
            input=f(-1.0, 1.0, -1.0 + 2 * U, 1.0 - U, 700.0, -700.0, 1e-300, 1e300),
            target=f(0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0),
        ),
    ),
    (
        # logits 700 apart (a log-sum-exp of far-apart terms), log Q of 1e-300 (+690.8), a true
        # class also sampled twice, and two true classes of the second item
        "sampled-far-apart-logits",
        "sampled_softmax_loss",
        {"remove_accidental_hits": True},
        dict(
            inputs=f(1.0, -1.0, 30.0, 0.5).reshape(2, 2),
            weights=f(700.0, 0.0, -700.0, 1e-300, 0.5, 0.5).reshape(3, 2),
            biases=f(0.0, 1e-8, -30.0),
            labels=idx(0, 2, 1, 2).reshape(2, 2),
            sampled=idx(1, 0, 1),
            true_expected_count=f(1e-300, 1.0, 0.5, 1e10).reshape(2, 2),
            sampled_expected_count=f(1.0, 1e-300, 0.5),
        ),
    ),
    (
        # softplus of logits ±700 and of a logit near 0 beside a product of 1e-300
        "nce-far-apart-logits",
        "nce_loss",
        {},
        dict(
            inputs=f(1.0, -1.0, 30.0, 0.5).reshape(2, 2),
            weights=f(700.0, 0.0, -700.0, 1e-300, 0.5, 0.5).reshape(3, 2),
            biases=f(0.0, 1e-8, -30.0),
            labels=idx(0, 2).reshape(2, 1),
            sampled=idx(1, 0),
            true_expected_count=f(1e-300, 1.0).reshape(2, 1),
            sampled_expected_count=f(1.0, 0.5),
        ),
    ),
    (
        # a confident class (1 − p of 1e-300 and 2⁻⁵³), logits of ±700, a −inf logit with a 0
        # target, and soft labels
        "focal-confident-and-far",
        "categorical_focal_crossentropy",
        {},
        dict(
            input=np.array([[690.0, 0.0, -700.0], [30.0, 30.0 - 36.7, -1e-300], [0.0, -INF, 1.0]]),
            target=np.array([[1.0, 0.0, 0.0], [0.25, 0.75, 0.0], [0.5, 0.0, 0.5]]),
        ),
    ),
    (
        "focal-as-cross-entropy",
        "categorical_focal_crossentropy",
        {"alpha": 1.0, "gamma": 0.0},
        dict(
            input=np.array([[700.0, -700.0, 0.0], [1e-300, 0.0, -1e-300]]),
            target=np.array([[0.0, 1.0, 0.0], [U, 1.0 - U, 0.0]]),
        ),
    ),
    (
        # p_y one ulp below 1 (1 − p^q = q·2⁻⁵³ by cancellation), 1e-300, 0 and 1
        "gce-near-one-and-zero",
        "categorical_generalized_cross_entropy",
        {},
        dict(
            input=np.array([[1.0 - U, U], [1e-300, 1.0], [0.0, 0.5], [0.5, 1.0]]),
            target=idx(0, 0, 0, 1),
        ),
    ),
    (
        "gce-mae",
        "categorical_generalized_cross_entropy",
        {"q": 1.0},
        dict(input=np.array([[1.0 - U, U], [1e-300, 1.0], [0.0, 0.5]]), target=idx(0, 0, 0)),
    ),
    (  # a near-perfect overlap (ℓ ≈ 1e-16: 1 − q cancels), tiny sums, an all-zero item (0/0)
        "dice-overlap",
        "dice_loss",
        {"smooth": 0.0},
        dict(
            input=np.array([[1.0, 1.0 - 2**-52, 0.0], [1e-300, 0.0, 1e-300], [0.0, 0.0, 0.0]]),
            target=np.array([[1.0, 1.0, 0.0], [1e-300, 0.0, 0.0], [0.0, 0.0, 0.0]]),
        ),
    ),
    (  # saturated logits (σ(±40) within 4e-18 of 0 and 1) against hard and soft masks
        "dice-logits",
        "dice_loss",
        {"logits": True},
        dict(
            input=np.array([[40.0, -40.0, 40.0], [700.0, -700.0, 0.0], [-40.0, -40.0, -40.0]]),
            target=np.array([[1.0, 0.0, 1.0], [0.25, 0.0, 0.5], [0.0, 0.0, 0.0]]),
        ),
    ),
    (  # α + β > 1 (the intersection's coefficient 1 − α − β < 0), near-perfect overlap, 0/0
        "tversky-weights",
        "tversky_loss",
        {"alpha": 0.3, "beta": 0.9, "smooth": 0.0},
        dict(
            input=np.array([[1.0, 1.0 - 2**-52, 0.0], [0.25, 0.75, 0.5], [0.0, 0.0, 0.0]]),
            target=np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.5], [0.0, 0.0, 0.0]]),
        ),
    ),
    (
        # a class at the support's edge, one an ulp inside it, a tie, far-apart and tiny scores
        "multiclass-sparsemax-support",
        "multiclass_sparsemax_loss",
        {},
        dict(
            input=np.array(
                [
                    [1.0, 0.0, -1.0],
                    [1.0, 0.5, 0.25 + U],
                    [700.0, -700.0, 700.0],
                    [1e-300, -1e-300, 0.0],
                    [1e8, 1e8 + 0.5, 0.0],
                ]
            ),
            target=np.array([2, 2, 1, 0, 2]),
        ),
    ),
    (
        # a pair at s = 1 exactly and one an ulp below, s = −m (α_n = 0), tiny and large rows,
        # an item without a negative (label 3 alone has no positive)
        "circle-clamps",
        "circle_loss",
        {},
        dict(
            input=np.array(
                [
                    [1.0, 0.0],
                    [1.0, 0.0],
                    [1.0 - U, 0.0],
                    [-0.4, 0.0],
                    [1e-300, 1e-300],
                    [30.0, -30.0],
                ]
            ),
            target=np.array([0, 1, 0, 1, 3, 0]),
        ),
    ),
]


def _stress_cases():
    for case_id, name, params, arrays in STRESS:
        for reduction in R.get(name).reductions:
            yield pytest.param(
                name, {**params, "reduction": reduction}, arrays, id=f"{case_id}-{reduction}"
            )


@pytest.mark.parametrize("name, params, arrays", list(_stress_cases()))
def test_stress_input_agrees_with_mpmath(name, params, arrays):
    full = {**R.get(name).defaults(), **params}
    assert_agrees(name, arrays, full)


@pytest.mark.parametrize("name", R.names())
def test_every_loss_has_an_mpmath_twin_and_a_stress_case(name):
    assert name in M.LOSSES, (
        f"{name} has no mpmath twin: write its formula in tests/reference/mp_losses.py and add it "
        "to LOSSES there"
    )
    assert any(loss == name for _, loss, _, _ in STRESS), (
        f"{name} has no stress case: add inputs that break a careless formula to STRESS in "
        "tests/reference/test_mpmath.py"
    )


def test_every_mpmath_twin_is_a_registered_loss():
    assert set(M.LOSSES) <= set(R.names()), set(M.LOSSES) - set(R.names())


def test_a_missing_mpmath_twin_says_where_to_write_it():
    with pytest.raises(LookupError, match=r"no_such_loss has no mpmath twin: .*mp_losses\.py"):
        M.exact("no_such_loss", {}, {"reduction": "sum"})


def test_non_finite_exact_values_are_exercised():
    """The stress table reaches the inf/NaN branch of the comparison, so it is not vacuous."""
    bce = M.exact("binary_cross_entropy", {"input": f(0.0), "target": f(1.0)}, {"reduction": "sum"})
    assert bce.value == mpmath.inf
    cos = M.exact(
        "cosine_embedding_loss",
        {"input1": f(0.0, 0.0), "input2": f(1.0, 2.0), "target": f(1.0)},
        {"margin": 0.0, "reduction": "sum"},
    )
    assert mpmath.isnan(cos.value)


def test_comparison_rejects_a_wrong_sign_infinity_and_a_last_digit_error():
    assert element_error(-math.inf, mpmath.inf, 0) == math.inf
    assert element_error(1.0, mpmath.nan, 0) == math.inf
    assert element_error(math.nan, mpmath.mpf(1), 1) == math.inf
    assert element_error(1.0 + 1e-12, mpmath.mpf(1), 1) > 1.0
    assert element_error(1.0 + 2e-16, mpmath.mpf(1), 1) <= 1.0


@pytest.mark.parametrize("case_id, name, params, arrays", STRESS, ids=[c[0] for c in STRESS])
def test_mpmath_value_is_stable_under_more_digits(case_id, name, params, arrays):
    """40 digits are enough: doubling them moves no exact value beyond 1e-30 of its scale."""
    full = {**R.get(name).defaults(), **params, "reduction": "none"}
    at40 = M.exact(name, arrays, full)
    saved = M.DPS
    try:
        M.DPS = 80
        at80 = M.exact(name, arrays, full)
    finally:
        M.DPS = saved
    for a, b, s in zip(
        np.ravel(at40.value), np.ravel(at80.value), np.ravel(at40.scale), strict=True
    ):
        if mpmath.isfinite(b):
            assert abs(a - b) <= mpmath.mpf(10) ** -30 * max(abs(b), s, mpmath.mpf(2) ** -1022)
        else:
            assert (mpmath.isnan(a) and mpmath.isnan(b)) or a == b


# --- gradients at stress points ----------------------------------------------------------------
#
# Finite differences (test_gradients.py) cannot see the last digits of a gradient of 1e-40. Here
# mpmath differentiates the exact value (mp_losses.derivative) at points where every gradient
# entry is one well-conditioned term or a sum of same-signed terms (labels 0 or 1, not soft; no
# minimum of the loss nearby), so it is judged relative to itself.

GRAD_STRESS = [
    (
        "bce-logits",
        "binary_cross_entropy_with_logits",
        {},
        dict(input=f(30.0, -30.0, 700.0, -700.0, 5.0), target=f(1.0, 0.0, 1.0, 0.0, 0.0)),
    ),
    (
        "focal",
        "sigmoid_focal_loss",
        {},
        dict(input=f(30.0, -30.0, 20.0, -25.0, 3.0), target=f(1.0, 0.0, 1.0, 0.0, 0.0)),
    ),
    (
        "focal-gamma0",
        "sigmoid_focal_loss",
        {"gamma": 0.0, "alpha": None},
        dict(input=f(30.0, -30.0, 3.0), target=f(1.0, 0.0, 0.0)),
    ),
    (
        "multilabel",
        "multilabel_soft_margin_loss",
        {},
        # one label per row: a row's loss adds its labels' terms, and the derivative of a 1e-305
        # term is lost beside a term of 30 at any fixed number of digits
        dict(
            input=np.array([[30.0], [-30.0], [25.0], [-700.0]]),
            target=np.array([[1.0], [0.0], [1.0], [0.0]]),
        ),
    ),
    (
        "ce-dominant",
        "cross_entropy",
        {},
        dict(input=np.array([[30.0, 0.0, -30.0], [20.0, 0.0, 1.0]]), target=idx(0, 0)),
    ),
    (
        "ce-prob-dominant",
        "cross_entropy",
        {"target_kind": "probability"},
        dict(input=np.array([[30.0, 0.0, -30.0]]), target=np.array([[1.0, 0.0, 0.0]])),
    ),
    (
        "soft-margin",
        "soft_margin_loss",
        {},
        dict(input=f(30.0, -30.0, 700.0, 2.0), target=f(1.0, -1.0, 1.0, -1.0)),
    ),
    (
        "log-cosh",
        "log_cosh",
        {},
        dict(input=f(1e-8, 1e-5, 0.1, 30.0), target=f(0.0, 0.0, 0.0, 0.0)),
    ),
    (
        "msle",
        "mean_squared_logarithmic_error",
        {},
        dict(input=f(1e-8, -0.5, 3.0, 0.25), target=f(0.0, 0.25, 1e-5, -0.75)),
    ),
    (
        "mape",
        "mean_absolute_percentage_error",
        {},
        dict(input=f(1e-8, -0.5, 3.0, 0.25), target=f(1e-3, 0.25, -2.0, -0.75)),
    ),
    (
        "bce-edges",
        "binary_cross_entropy",
        {},
        dict(input=f(1e-300, 1 - U, 0.25), target=f(1.0, 0.0, 1.0)),
    ),
    ("poisson", "poisson_nll_loss", {}, dict(input=f(-700.0, 30.0, -3.0), target=f(0.0, 2.0, 5.0))),
    (
        "gaussian-tiny-var",
        "gaussian_nll_loss",
        {},
        dict(input=f(0.0, 1.0), target=f(0.0, 0.0), var=f(1e-5, 1e-5)),
    ),
    (
        # every entry of −γ is a sum of same-signed path shares; shares of e^-30 beside ones of 1
        "ctc",
        "ctc_loss",
        {"blank": 1},
        dict(
            input=np.array([[[-30.0, -0.5, -1.0]], [[-1.0, -2.0, -30.0]], [[-0.25, -1.0, -4.0]]]),
            targets=idx(0, 2).reshape(1, 2),
            input_lengths=idx(3),
            target_lengths=idx(2),
        ),
    ),
    (
        "dice-logits",
        "dice_loss",
        {"logits": True, "smooth": 0.5},
        dict(
            input=np.array([[30.0, -2.0, 0.5], [-30.0, 1.0, 3.0]]),
            target=np.array([[1.0, 0.25, 0.0], [0.0, 1.0, 1.0]]),
        ),
    ),
    (
        "tversky",
        "tversky_loss",
        {"alpha": 0.3, "beta": 0.7, "smooth": 0.0},
        dict(
            input=np.array([[0.9, 0.125, 0.5], [0.25, 1.0, 0.75]]),
            target=np.array([[1.0, 0.25, 0.0], [0.0, 1.0, 1.0]]),
        ),
    ),
]


def _grad_cases():
    for case_id, name, params, arrays in GRAD_STRESS:
        spec = R.get(name)
        full = {**spec.defaults(), **params, "reduction": "sum"}
        for a in spec.arrays:
            if a.differentiable and a.name in arrays and not a.domain_for(full).integer:
                yield pytest.param(name, full, arrays, a.name, id=f"{case_id}-{a.name}")


@pytest.mark.parametrize("name, params, arrays, arg", list(_grad_cases()))
def test_gradient_at_stress_point_agrees_with_mpmath(name, params, arrays, arg):
    _, grads = R.value_and_vjp(name, arrays, params)
    got = grads[arg]
    for index in np.ndindex(*got.shape):
        exact = M.derivative(name, arrays, params, arg, index)
        err = element_error(float(got[index]), exact, abs(exact))
        assert err <= 1.0, (
            f"d{name}/d{arg}{list(index)}: reference {got[index]!r}, exact "
            f"{mpmath.nstr(exact, 20)}, error {err:.3g} × tolerance"
        )
