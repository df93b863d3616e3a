"""Every gradient of the reference against central finite differences of its own value, in float64.

For every loss × configuration (reference-only variants included) × layout, hypothesis draws a
valid point away from kinks (the spec's ``smooth_at``) and, for reduction ``none``, a cotangent c;
the scalar differentiated is then Σ c·ℓ, so what is checked is the vector-Jacobian product, and
for the other reductions the gradient of the reduced value. Each element of each gradient is
compared with a Richardson-extrapolated central difference.

Step and tolerance. Element x_j moves by h_j = 2^(e_j − 13), where 2^e_j ≤ max(1, |x_j|) < 2^(e_j+1)
(h ≈ 1.2e-4 relative, a power of two so that x ± h, x ± h/2, x ± h/4 are exact in float64). With
D(h) = (F(x + h) − F(x − h)) / 2h, the extrapolation R(h) = (4 D(h/2) − D(h)) / 3 cancels the h²
error term, leaving O(h⁴) ≈ 2e-16 (relative to the fifth derivative) of truncation and
≈ 3 ε / h of rounding, ε being the float64 error of one evaluation of F (≈ 2e-12 of F's scale).
Both are estimated from the data rather than guessed: R(h/2) has a 16× smaller truncation error
and only a 2× larger rounding error, so |R(h) − R(h/2)| measures R(h)'s error; the bound allows
four times that, plus the rounding floor 3·16u·S/h for S the size of F's terms (sixteen roundings
per evaluation), plus 1e-10 of the gradient's largest entry against a coincidentally tiny estimate.
The vjp is never part of its own tolerance, and the meta-tests below show that a change of one
element by 1e-6 of the gradient's scale is caught.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import reference as R
from cases import tolerance
from cases.sampling import output_shape, sample_arrays
from reference import binary, classification, shapes

U = 2.0**-53
STEP_BITS = 13  # h = 2^-13 ≈ 1.2e-4 of max(1, |x|)
ROUNDINGS = 16  # roundings per evaluation allowed for in the floor
REL_FLOOR = 1e-10  # of the gradient's largest entry

# Examples per (loss, configuration, layout) item; LOSSCONF_REFERENCE_EXAMPLES=50 makes a soak run.
EXAMPLES = int(os.environ.get("LOSSCONF_REFERENCE_EXAMPLES", "3"))
# Small symbol sizes keep the per-element differences cheap (6 evaluations per element).
SIZES = {"N": (1, 2), "C": (1, 3), "D": (1, 3), "E": (1, 2), "d1": (1, 2), "d2": (1, 2)}
# time steps, target length, alphabet with the blank (≥ 2: one label besides the blank)
SEQUENCE_SIZES = {"T": (1, 4), "S": (1, 2), "K": (2, 3)}


def steps(x: np.ndarray) -> np.ndarray:
    """2^(e − STEP_BITS) with 2^e ≤ max(1, |x|) < 2^(e+1), elementwise."""
    _, e = np.frexp(np.maximum(1.0, np.abs(x)))
    return np.ldexp(1.0, e - 1 - STEP_BITS)


@dataclass(frozen=True)
class Discrepancy:
    array: str
    index: tuple[int, ...]
    vjp: float
    fd: float
    tolerance: float

    def __str__(self) -> str:
        return (
            f"d/d{self.array}{list(self.index)}: vjp {self.vjp!r}, finite difference {self.fd!r} "
            f"(|diff| {abs(self.vjp - self.fd):.3g} > tolerance {self.tolerance:.3g})"
        )


class Scalar:
    """F(arrays): the reduced loss, or Σ c·ℓ for reduction ``none`` (differences are taken
    elementwise before the sum, so elements a perturbation does not touch cancel exactly)."""

    def __init__(self, name, arrays, params, cotangent):
        self.name, self.arrays, self.params, self.cotangent = name, arrays, params, cotangent

    def __call__(self, arrays):
        return R.evaluate(self.name, arrays, self.params)

    def difference(self, name, index, h) -> float:
        plus, minus = dict(self.arrays), dict(self.arrays)
        plus[name] = self.arrays[name].copy()
        minus[name] = self.arrays[name].copy()
        plus[name][index] += h
        minus[name][index] -= h
        delta = self(plus) - self(minus)
        if self.cotangent is not None:
            return float(np.sum(self.cotangent * delta))
        return float(delta)

    def size(self) -> float:
        """S: the magnitude of F's terms, which its float64 rounding is relative to: the larger of
        |F| and the loss's declared term scale (a loss that cancels, cosine_distance's 1 − cos of
        4e-4, rounds relative to its terms of size 1, not to its value)."""
        value = np.abs(self(self.arrays))
        with np.errstate(all="ignore"):
            terms = tolerance.scales(self.name, self.arrays, self.params).value
        value = np.fmax(value, np.abs(terms))
        if self.cotangent is not None:
            return float(np.sum(np.abs(self.cotangent) * value))
        return float(value)


def derivative(f: Scalar, name, index, h) -> tuple[float, float]:
    """Richardson-extrapolated central difference at step h, and its error estimate."""
    d = [f.difference(name, index, h / 2**k) / (2 * h / 2**k) for k in range(3)]
    coarse = (4 * d[1] - d[0]) / 3
    fine = (4 * d[2] - d[1]) / 3
    return coarse, abs(coarse - fine)


def discrepancies(name, arrays, params, cotangent, grads) -> list[Discrepancy]:
    """Every element of ``grads`` that its finite difference does not confirm."""
    f = Scalar(name, arrays, params, cotangent)
    size = f.size()
    out = []
    for arg, grad in grads.items():
        h_all = steps(arrays[arg])
        scale = float(np.max(np.abs(grad))) if grad.size else 0.0
        for index in np.ndindex(*grad.shape):
            h = float(h_all[index])
            fd, err = derivative(f, arg, index, h)
            tolerance = 4 * err + 3 * ROUNDINGS * U * size / h + REL_FLOOR * scale
            if not abs(grad[index] - fd) <= tolerance:
                out.append(Discrepancy(arg, index, float(grad[index]), fd, tolerance))
    return out


# --- drawing a point ---------------------------------------------------------------------------


def _all_items():
    for name in R.names():
        spec = R.get(name)
        for config in R.all_configs(spec, reference_only=True):
            params, _ = R.split(spec, config)
            for layout in shapes.layouts_for(spec.layouts, {**spec.defaults(), **params}):
                yield pytest.param(
                    name, config, layout, id=f"{R.config_id(spec, config)}-{layout.name}"
                )


@st.composite
def points(draw, spec, config, layout):
    """A valid point (cases/sampling.py), a cotangent for ``none``, and the loss's parameters."""
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    low = {k: max(lo, spec.min_sizes.get(k, lo)) for k, (lo, _) in SIZES.items()}
    sizes = {k: draw(st.integers(low[k], max(hi, low[k])), label=k) for k, (_, hi) in SIZES.items()}
    # ctc_loss's symbols, drawn only for its layout so that the other losses' draws stay as they were
    used = {sym for shape in layout.shapes.values() for sym in shape}
    sizes.update(
        {
            k: draw(st.integers(lo, hi), label=k)
            for k, (lo, hi) in SEQUENCE_SIZES.items()
            if k in used
        }
    )
    scale = draw(st.sampled_from((2.0, 0.5, 5.0)), label="scale")
    rng = np.random.default_rng(seed)
    arrays = sample_arrays(spec, config, rng, layout=layout, sizes=sizes, scale=scale)
    params, _ = R.split(spec, config)
    full = {**spec.defaults(), **params}
    cotangent = None
    if full["reduction"] == "none":
        cotangent = rng.standard_normal(output_shape(spec, arrays, params))
    return arrays, params, full, cotangent


def _stays_in_domain(spec, arrays, full, grads) -> bool:
    """x ± h keeps every differentiated argument inside its enforced domain (probabilities)."""
    for name in grads:
        domain = spec.array(name).domain_for(full)
        if domain.enforced:
            x, h = arrays[name], steps(arrays[name])
            if not (np.all(domain.valid(x + h, full)) and np.all(domain.valid(x - h, full))):
                return False
    return True


@pytest.mark.parametrize("name, config, layout", list(_all_items()))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_vjp_matches_finite_differences(name, config, layout, data):
    spec = R.get(name)
    arrays, params, full, cotangent = data.draw(points(spec, config, layout))
    h = max((float(np.max(steps(v))) for v in arrays.values() if v.dtype.kind == "f"), default=0)
    assume(spec.smooth_at(arrays, full, h))
    _, grads = R.value_and_vjp(name, arrays, params, cotangent)
    assume(_stays_in_domain(spec, arrays, full, grads))
    # a smooth interior point has a finite gradient; NaN or inf there is a bug, not a skip
    assert all(np.all(np.isfinite(g)) for g in grads.values()), grads
    bad = discrepancies(name, arrays, params, cotangent, grads)
    assert not bad, "; ".join(map(str, bad[:5]))


# --- the checker catches wrong gradients -------------------------------------------------------


def _smooth_point(name: str, reduction: str = "sum"):
    """A deterministic valid point of ``name`` (first configuration with ``reduction``, batched
    layout) away from kinks, where the first differentiated argument has a nonzero gradient."""
    spec = R.get(name)
    config = next(c for c in R.all_configs(spec) if c["reduction"] == reduction)
    params, _ = R.split(spec, config)
    full = {**spec.defaults(), **params}
    # a batch of 2 first (as before); then 4, for a contrastive loss (ntxent), which needs both a
    # positive and a negative pair for a nonzero gradient
    for n, seed in [(n, seed) for n in (2, 4) for seed in range(100)]:
        rng = np.random.default_rng(seed)
        sizes = {k: max(v, spec.min_sizes.get(k, v)) for k, v in {"N": n, "C": 3, "D": 2}.items()}
        arrays = sample_arrays(spec, config, rng, sizes=sizes)
        h = max(float(np.max(steps(v))) for v in arrays.values() if v.dtype.kind == "f")
        cotangent = None
        if reduction == "none":
            cotangent = rng.standard_normal(output_shape(spec, arrays, params))
        if not spec.smooth_at(arrays, full, h):
            continue
        _, grads = R.value_and_vjp(name, arrays, params, cotangent)
        first = sorted(grads)[0]
        if _stays_in_domain(spec, arrays, full, grads) and np.any(grads[first] != 0):
            return arrays, params, cotangent, grads
    raise AssertionError(f"no smooth point found for {name}")


@pytest.mark.parametrize("name", R.names())
def test_checker_accepts_the_reference_gradient_at_a_fixed_point(name):
    arrays, params, cotangent, grads = _smooth_point(name)
    assert discrepancies(name, arrays, params, cotangent, grads) == []


@pytest.mark.parametrize("name", R.names())
def test_checker_catches_one_element_off_by_a_millionth(name):
    """One element of one gradient moved by 1e-6 of the gradient's largest entry is reported, and
    it is the only element reported."""
    arrays, params, cotangent, grads = _smooth_point(name)
    arg = sorted(grads)[0]
    index = np.unravel_index(int(np.argmax(np.abs(grads[arg]))), grads[arg].shape)
    planted = {k: v.copy() for k, v in grads.items()}
    planted[arg][index] += 1e-6 * np.max(np.abs(grads[arg]))
    bad = discrepancies(name, arrays, params, cotangent, planted)
    assert [(d.array, d.index) for d in bad] == [(arg, tuple(int(i) for i in index))]


def _focal_without_modulating_derivative(a, p, g):
    """A classic focal-loss mistake: (1 − p_t)^γ treated as a constant in the input gradient."""
    x, y, alpha, gamma = a["input"], a["target"], p["alpha"], p["gamma"]
    prob = 1.0 / (1.0 + np.exp(-x))
    at = 1.0 if alpha is None else alpha * y + (1.0 - alpha) * (1.0 - y)
    m = prob * (1.0 - y) + (1.0 - prob) * y
    right = binary.sigmoid_focal_loss_vjp(a, p, g)
    return {"input": g * at * (prob - y) * m**gamma, "target": right["target"]}


def _smooth_l1_without_beta(a, p, g):
    """Another: the quadratic zone's slope d/β written as d."""
    d = a["input"] - a["target"]
    gd = g * np.clip(d, -1.0, 1.0)
    return {"input": gd, "target": -gd}


def _mean_as_sum(a, p, g):
    """And a reduction slip: the weighted mean's 1/Σw undone in the vjp (g holds 1/Σw here)."""
    w = a.get("weight", np.ones(a["input"].shape[1]))  # batched layout: classes on dim 1
    total = float(np.sum(w[a["target"]]))  # ignore_index is None in this configuration
    return {"input": classification.nll_loss_vjp(a, p, g)["input"] * total}


@pytest.mark.parametrize(
    "name, params, wrong_vjp",
    [
        ("sigmoid_focal_loss", {"reduction": "sum"}, _focal_without_modulating_derivative),
        ("smooth_l1_loss", {"beta": 0.5, "reduction": "none"}, _smooth_l1_without_beta),
        ("nll_loss", {"reduction": "mean"}, _mean_as_sum),
    ],
    ids=["focal-constant-modulation", "smooth-l1-slope-without-beta", "nll-mean-without-1/sum-w"],
)
def test_checker_catches_a_planted_wrong_vjp(monkeypatch, name, params, wrong_vjp):
    spec = R.get(name)
    rng = np.random.default_rng(7)
    config = {**spec.defaults(), **params}
    arrays = sample_arrays(spec, config, rng, sizes={"N": 3, "C": 3, "D": 2}, scale=0.6)
    cotangent = None
    if params["reduction"] == "none":
        cotangent = rng.standard_normal(output_shape(spec, arrays, params))
    right = R.value_and_vjp(name, arrays, params, cotangent)[1]
    assert discrepancies(name, arrays, params, cotangent, right) == []
    monkeypatch.setitem(R.REGISTRY, name, dataclasses.replace(spec, elementwise_vjp=wrong_vjp))
    wrong = R.value_and_vjp(name, arrays, params, cotangent)[1]
    assert discrepancies(name, arrays, params, cotangent, wrong) != []
