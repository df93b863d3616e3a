"""JAX/Optax divergences in the embedding family: optax.losses.triplet_margin_loss, and
optax.losses.cosine_similarity / cosine_distance (the other embedding losses are not offered by
optax)."""

from __future__ import annotations

import numpy as np

import reference as R
from reference import Case
from reference.contract import Divergence, Example, Prediction, predict
from reference.spec import Elementwise
from reference.terms import NEAR_HINGE, TermScale

from ._common import (
    GRAD_ULPS,
    OPTAX,
    TRIPLET_SOURCE,
    VALUE_ULPS,
    full_params,
    visible,
)

# --- triplet_margin_loss: optax's formula, recomputed in float64 ------------------------------
#
# optax 0.2.8: d(a, x) = (Σ (a − x)^p + eps)^(1/p), no absolute value, eps once inside the root;
# loss = max(d(a, p) − d(a, n) + margin, 0). ``signed=False`` is the same with |a − x|, which
# isolates the eps placement from the missing absolute value.


def _optax_pair(diff: np.ndarray, order: float, eps: float, signed: bool):
    """optax's distance over the last axis and its gradient with respect to ``diff``."""
    base = diff if signed else np.abs(diff)
    total = np.sum(base**order, axis=-1, keepdims=True) + eps
    dist = total ** (1.0 / order)
    slope = 1.0 if signed else np.sign(diff)
    grad = total ** (1.0 / order - 1.0) * base ** (order - 1.0) * slope
    return dist[..., 0], grad


def _triplet_optax(case: Case, signed: bool):
    """Per-item value and the anchor/positive/negative gradients (cotangent 1 per item), the
    hinge argument z, and the size of the terms z is computed from: the distances of the absolute
    differences (a signed sum can be far smaller than its terms, or negative, while its rounding
    is that of the terms)."""
    a, p = case.rounded(), full_params(case)
    with np.errstate(all="ignore"):
        d_ap, g_ap = _optax_pair(a["anchor"] - a["positive"], p["p"], p["eps"], signed)
        d_an, g_an = _optax_pair(a["anchor"] - a["negative"], p["p"], p["eps"], signed)
        size_ap, _ = _optax_pair(a["anchor"] - a["positive"], p["p"], p["eps"], False)
        size_an, _ = _optax_pair(a["anchor"] - a["negative"], p["p"], p["eps"], False)
        z = d_ap - d_an + p["margin"]
        on = (z > 0)[..., None]
        grads = {
            "anchor": np.where(on, g_ap - g_an, 0.0),
            "positive": np.where(on, -g_ap, 0.0),
            "negative": np.where(on, g_an, 0.0),
        }
    return np.maximum(z, 0.0), grads, z, size_ap + size_an + abs(p["margin"])


def _triplet_reference(case: Case):
    params = {**full_params(case), "reduction": "none"}
    ones = np.ones(np.shape(case.arrays["anchor"])[:-1])
    return R.value_and_vjp(case.loss, case.arrays, params, ones)


def _triplet_differs(ours, ref, dtype: str) -> bool:
    (value, grads), (ref_value, ref_grads) = ours, ref
    return visible(value, ref_value, dtype, VALUE_ULPS) or any(
        visible(grads[k], ref_grads[k], dtype, GRAD_ULPS) for k in ref_grads
    )


def triplet_eps_visible(case: Case) -> bool:
    """eps > 0, and adding it once inside the root (optax, with a true p-norm) instead of to
    every component of the difference (reference) moves some item's loss by more than VALUE_ULPS
    ULPs of the dtype, or a gradient by more than GRAD_ULPS (at a zero difference the reference's
    gradient is a unit vector along eps, optax's is 0)."""
    if full_params(case)["eps"] == 0:
        return False
    value, grads, _, _ = _triplet_optax(case, signed=False)
    return _triplet_differs((value, grads), _triplet_reference(case), case.dtype)


def triplet_signed_l1(case: Case) -> bool:
    """p = 1, and on an item whose hinge is active, some component d of anchor − positive or
    anchor − negative is negative (signed sum ≠ L1 norm, slope 1 ≠ −1), or is 0 with eps = 0
    (optax's slope 1 against the reference's subgradient 0)."""
    p = full_params(case)
    if p["p"] != 1:
        return False
    a = case.rounded()
    _, _, z_optax, _ = _triplet_optax(case, signed=True)
    _, _, z_abs, _ = _triplet_optax(case, signed=False)
    active = (z_optax > 0) | (z_abs > 0)
    wrong = np.zeros(active.shape, bool)
    for other in ("positive", "negative"):
        d = a["anchor"] - a[other]
        wrong |= np.any((d < 0) | ((d == 0) & (p["eps"] == 0)), axis=-1)
    return bool(np.any(active & wrong))


def triplet_zero_difference(case: Case) -> bool:
    """Some anchor equals its positive or its negative exactly (a zero difference vector)."""
    a = case.rounded()
    return any(
        bool(np.any(np.all(a["anchor"] - a[other] == 0, axis=-1)))
        for other in ("positive", "negative")
    )


def triplet_hinge_tie(case: Case) -> bool:
    """Some item's hinge argument d(a, p) − d(a, n) + margin (optax's formula) is 0, or so close
    to 0 that the dtype's arithmetic can round it to 0: within 2u of its terms (or below the
    smallest normal number, which XLA on CPU flushes to 0)."""
    _, _, z, terms = _triplet_optax(case, signed=True)
    fmt = R.FORMATS[case.dtype]
    with np.errstate(all="ignore"):
        near = (np.abs(z) <= 2.0 * fmt.eps * terms) | (np.abs(z) < fmt.tiny)
    return bool(np.any(near & np.isfinite(z)))


def triplet_squares_out_of_range(case: Case) -> bool:
    """p = 2 and some item's Σ (a − x)² leaves the dtype's normal range: above its largest value
    (optax's squares overflow to inf) or nonzero below its smallest normal number (flushed to 0
    by XLA on CPU, or subnormal with few significant bits in float16)."""
    if full_params(case)["p"] != 2:
        return False
    a = case.rounded()
    fmt = R.FORMATS[case.dtype]
    for other in ("positive", "negative"):
        with np.errstate(all="ignore"):
            total = np.sum((a["anchor"] - a[other]) ** 2, axis=-1)
        if np.any((total > fmt.max_value) | ((total > 0) & (total < fmt.tiny))):
            return True
    return False


# --- models: what optax returns where an entry applies --------------------------------------


def _extra_component(a, p) -> dict[str, np.ndarray]:
    """anchor, positive and negative with one component appended, eps^(1/p) to the anchor and 0
    to the others: ‖[a − x, eps^(1/p)]‖_p = (Σ|a − x|^p + eps)^(1/p), optax's distance, is the
    reference's distance of the extended vectors with eps = 0."""

    def column(x, value):
        return np.full((*np.shape(x)[:-1], 1), value)

    root = p["eps"] ** (1.0 / p["p"])
    out = dict(a)
    for name, value in (("anchor", root), ("positive", 0.0), ("negative", 0.0)):
        out[name] = np.concatenate([a[name], column(a[name], value)], axis=-1)
    return out


def _drop_extra(grads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: g[..., :-1] for name, g in grads.items()}


def triplet_eps_inside_root_model(case: Case) -> Prediction:
    """The reference's triplet_margin_loss, value, gradients and term scales, of the vectors
    extended by eps^(1/p) (:func:`_extra_component`) with eps = 0."""
    spec = R.get("triplet_margin_loss")
    ts = spec.term_scale
    eps = full_params(case)["eps"]

    def at(p):
        return {**p, "eps": eps}  # the extension needs the case's eps; the formula gets 0

    def extended(a, p):
        return _extra_component(a, at(p))

    return predict(
        case,
        elementwise=lambda a, p: spec.elementwise(extended(a, p), p),
        elementwise_vjp=lambda a, p, g: _drop_extra(spec.elementwise_vjp(extended(a, p), p, g)),
        term_scale=TermScale(
            lambda a, p, loss: ts.value(extended(a, p), p, loss),
            lambda a, p, c: _drop_extra(ts.grads(extended(a, p), p, c)),
            None
            if ts.grad_floor is None
            else lambda a, p, c: _drop_extra_floor(ts.grad_floor(extended(a, p), p, c)),
        ),
        params={"eps": 0.0},
    )


def _drop_extra_floor(floor):
    floor = np.asarray(floor)
    return floor[..., :-1] if floor.ndim else floor


def _signed_triplet(a, p):
    """optax's p = 1 distances, Σ(a − x) + eps (no absolute value), their hinge argument and
    their slopes."""
    d_ap, g_ap = _optax_pair(a["anchor"] - a["positive"], 1.0, p["eps"], signed=True)
    d_an, g_an = _optax_pair(a["anchor"] - a["negative"], 1.0, p["eps"], signed=True)
    return d_ap - d_an + p["margin"], g_ap, g_an


def triplet_signed_l1_model(case: Case) -> Prediction:
    """max(Σ(a − p) − Σ(a − n) + margin, 0) with slope 1 per component, jnp.maximum's half
    gradient at a tie (as triplet_margin_loss/hinge-tie-half-gradient)."""

    def elementwise(a, p):
        z, _, _ = _signed_triplet(a, p)
        return Elementwise(np.maximum(z, 0.0))

    def vjp(a, p, g):
        z, g_ap, g_an = _signed_triplet(a, p)
        s = (g * np.where(z > 0, 1.0, np.where(z == 0, 0.5, 0.0)))[..., None]
        shape = np.shape(a["anchor"])
        return {
            "anchor": np.broadcast_to(s * (g_ap - g_an), shape),
            "positive": np.broadcast_to(-s * g_ap, np.shape(a["positive"])),
            "negative": np.broadcast_to(s * g_an, np.shape(a["negative"])),
        }

    def terms(a, p):
        """The sizes optax's p = 1 arithmetic adds up on an item whose signed hinge is active or
        near 0: Σ|a − p| + Σ|a − n| + eps + |margin| (the signed sums cancel, so the result can
        be far smaller than its terms; the reference's own term scale is 0 on items its L1 hinge
        leaves inactive, which would allow no rounding at all). Slopes are ±1: exact."""
        z, _, _ = _signed_triplet(a, p)
        size = (
            np.sum(np.abs(a["anchor"] - a["positive"]), axis=-1)
            + np.sum(np.abs(a["anchor"] - a["negative"]), axis=-1)
            + p["eps"]
            + abs(p["margin"])
        )
        return size, z >= -NEAR_HINGE * size

    def term_value(a, p, loss):
        size, near = terms(a, p)
        return np.where(near, size, 0.0)

    def term_grads(a, p, c):
        _, near = terms(a, p)
        scale = np.where(near, c, 0.0)[..., None]
        return {
            "anchor": np.broadcast_to(2.0 * scale, np.shape(a["anchor"])),
            "positive": np.broadcast_to(scale, np.shape(a["positive"])),
            "negative": np.broadcast_to(scale, np.shape(a["negative"])),
        }

    return predict(
        case,
        elementwise=elementwise,
        elementwise_vjp=vjp,
        term_scale=TermScale(term_value, term_grads),
    )


DIVERGENCES: list[Divergence] = [
    Divergence(
        id="triplet_margin_loss/eps-inside-root",
        kind="convention",
        loss="triplet_margin_loss",
        description=(
            "optax adds eps once inside the root: d(a, x) = (Σ (a − x)^p + eps)^(1/p). The "
            "reference, like torch's pairwise_distance, adds eps to every component: ‖a − x + "
            "eps‖_p. Values and gradients differ by O(eps) (and d(a, a) is eps^(1/p), not "
            "eps·D^(1/p)); the effect is below float16/bfloat16 resolution."
        ),
        citation=TRIPLET_SOURCE,
        inputs=triplet_eps_visible,
        inputs_text=f"eps > 0 and the two placements differ by > {VALUE_ULPS:g} ULPs (value) or "
        f"> {GRAD_ULPS:g} ULPs (gradient)",
        model=triplet_eps_inside_root_model,
        model_text="the reference's loss and gradients with eps added once inside the root, (Σ|a − x|^p + eps)^(1/p)",
        example=Example(
            {"eps": 1e-6, "reduction": "sum"},
            {"anchor": [[0.0, 0.0]], "positive": [[1.0, 0.0]], "negative": [[0.0, 1.5]]},
        ),
    ),
    Divergence(
        id="triplet_margin_loss/l1-without-abs",
        kind="known-bug",
        loss="triplet_margin_loss",
        description=(
            "With norm_degree=1 optax computes jnp.power(a − x, 1).sum() — the signed sum of the "
            "differences, not the L1 norm Σ|a − x| (there is no absolute value in its distance). "
            "Loss and gradient differ wherever a component of a − p or a − n is negative, and the "
            "gradient where one is 0 (slope 1 instead of the subgradient 0) with eps = 0."
        ),
        citation=TRIPLET_SOURCE,
        where={"p": 1.0},
        inputs=triplet_signed_l1,
        inputs_text="an active item with a component of a − p or a − n below 0 (or at 0 with eps = 0)",
        model=triplet_signed_l1_model,
        model_text="max(Σ(a − p) − Σ(a − n) + eps − eps + margin, 0) with slope 1 per component (half at a tie)",
        example=Example(
            {"p": 1.0, "eps": 0.0, "reduction": "sum"},
            {"anchor": [0.5, -0.5], "positive": [1.0, 0.0], "negative": [2.0, 1.0]},
        ),
    ),
    Divergence(
        id="triplet_margin_loss/zero-distance-nan-grad",
        kind="known-bug",
        loss="triplet_margin_loss",
        description=(
            "With eps = 0 and p = 2, d = (Σ (a − x)²)^(1/2) has an infinite derivative at a zero "
            "difference, so the gradient of anchor and of the equal vector is NaN (even when the "
            "hinge is inactive: 0·inf). The reference takes the minimum-norm subgradient, 0."
        ),
        citation=TRIPLET_SOURCE,
        where={"p": 2.0, "eps": 0.0},
        inputs=triplet_zero_difference,
        inputs_text="an anchor equals its positive or its negative exactly",
        affects=("grad",),
        example=Example(
            {"eps": 0.0, "reduction": "sum"},
            {"anchor": [1.0, 2.0], "positive": [1.0, 2.0], "negative": [0.0, 0.0]},
        ),
    ),
    Divergence(
        id="triplet_margin_loss/hinge-tie-half-gradient",
        kind="convention",
        loss="triplet_margin_loss",
        description=(
            "optax's hinge is jnp.maximum(z, 0), and JAX differentiates max at a tie "
            "symmetrically: at z = 0 each side gets half the gradient. The reference takes the "
            "minimum-norm subgradient, 0. In float16/bfloat16 (and for z below the smallest "
            "normal number, flushed to 0 on CPU) z rounds to 0 near the hinge as well."
        ),
        citation="https://github.com/jax-ml/jax/pull/2342",
        inputs=triplet_hinge_tie,
        inputs_text="some item's hinge argument is 0 in the dtype's arithmetic (|z| ≤ 2u·terms)",
        affects=("grad",),
        example=Example(  # d(a, p) = 1, d(a, n) = 1.5, margin 0.5: z = 0 exactly
            {"eps": 0.0, "margin": 0.5, "reduction": "sum"},
            {
                "anchor": [[0.0, 0.0, 0.0]],
                "positive": [[1.0, 0.0, 0.0]],
                "negative": [[1.5, 0.0, 0.0]],
            },
        ),
    ),
    Divergence(
        id="triplet_margin_loss/squares-out-of-range",
        kind="known-bug",
        loss="triplet_margin_loss",
        description=(
            "optax squares the differences in the input dtype before the root, without scaling: "
            "Σ (a − x)² overflows to inf once |a − x| ≳ √max (256 in float16), giving an "
            "infinite distance and NaN (inf − inf) loss and gradients, and underflows for tiny "
            "differences (flushed to 0 on CPU: distance 0, NaN gradient with eps = 0). The "
            "reference computes the norm scaled by the largest component."
        ),
        citation=TRIPLET_SOURCE,
        where={"p": 2.0},
        inputs=triplet_squares_out_of_range,
        inputs_text="some item's Σ (a − x)² is above the dtype's maximum or below its smallest normal",
        example=Example(
            {"reduction": "sum"},
            {"anchor": [300.0, 0.0], "positive": [0.0, 0.0], "negative": [0.0, 10.0]},
            dtype="float16",
        ),
    ),
]


# --- cosine_similarity, cosine_distance ------------------------------------------------------
#
# optax 0.2.8 (_regression.py#L177-L183): a_norm2 = Σ a² (keepdims), a_norm = √clip(a_norm2, ε),
# a_unit = a / a_norm, the same for b, and Σ a_unit·b_unit; cosine_distance is 1 − that. The
# mapping passes ε = eps², the same clamp as the reference's max(‖x‖, eps) in real arithmetic.

COSINE_SOURCE = OPTAX.format("_regression.py#L177-L183")
COSINE_LOSSES = ("cosine_similarity", "cosine_distance")


def _norms_below_eps(case: Case) -> bool:
    """eps > 0 and some vector whose norm (as the dtype holds the vector) is below it: the clamp
    decides."""
    eps = full_params(case)["eps"]
    a = case.rounded()
    return bool(eps) and any(
        bool(np.any(np.sqrt(np.sum(a[n] ** 2, axis=-1)) < eps)) for n in ("input1", "input2")
    )


def _epsilon_in_dtype(case: Case) -> Prediction:
    """The reference's cosine with the clamp optax applies: √ε with ε = eps² as the dtype holds
    it (0 in float16, so no clamp: 0/0 = NaN at a zero vector)."""
    eps = full_params(case)["eps"]
    held = float(R.round_to(np.float64(eps) ** 2, case.dtype))
    return predict(case, params={"eps": float(np.sqrt(held))})


def cosine_squares_out_of_range(case: Case) -> bool:
    """Some vector's Σx² leaves the dtype's normal range: above its largest value (the norm is
    inf, the unit vector 0 or NaN) or nonzero below its smallest normal number (a subnormal with
    few bits, or flushed to 0 on CPU)."""
    a = case.rounded()
    fmt = R.FORMATS[case.dtype]
    for name in ("input1", "input2"):
        with np.errstate(all="ignore"):
            total = np.sum(a[name] ** 2, axis=-1)
        if np.any((total > fmt.max_value) | ((total > 0) & (total < fmt.tiny))):
            return True
    return False


for _loss in COSINE_LOSSES:
    DIVERGENCES += [
        Divergence(
            id=f"{_loss}/epsilon-squared-underflows",
            kind="convention",
            loss=_loss,
            description=(
                "optax clips the squared norm at epsilon (√max(Σx², ε); its docstring calls "
                "epsilon a minimum norm), so eps maps to epsilon = eps², which optax applies in "
                "the input dtype: in float16 eps² = 1e-16 rounds to 0 and the clamp is gone, so "
                "a zero vector gives 0/0 = NaN where the reference, clamping the norm at 1e-8, "
                "gives cos = 0 (a finite gradient x2/(eps‖x2‖))."
            ),
            citation=COSINE_SOURCE,
            where={"eps": 1e-8},
            dtypes=("float16",),
            inputs=_norms_below_eps,
            inputs_text="some vector's norm is below eps",
            model=_epsilon_in_dtype,
            model_text="the reference with eps = √(eps² rounded to the dtype): 0 in float16",
            example=Example(
                {"reduction": "sum"},
                {"input1": [[0.0, 0.0, 0.0], [1.0, 2.0, 0.5]], "input2": [[1.0, 0.5, -1.0]] * 2},
                dtype="float16",
            ),
        ),
        Divergence(
            id=f"{_loss}/squares-out-of-range",
            kind="known-bug",
            loss=_loss,
            description=(
                "optax squares the components in the input dtype before the root, without "
                "scaling: Σx² overflows to inf once ‖x‖ ≳ √max (256 in float16), so the unit "
                "vector x/inf is 0 (or NaN at an infinite component) and the cosine 0 where the "
                "reference's is, e.g., 1 for parallel vectors; Σx² below the smallest normal "
                "loses bits (or is flushed to 0 on CPU, a zero vector). The reference scales the "
                "norm by the largest component."
            ),
            citation=COSINE_SOURCE,
            inputs=cosine_squares_out_of_range,
            inputs_text="some vector's Σx² is above the dtype's maximum or below its smallest "
            "normal",
            example=Example(
                {"reduction": "sum"},
                {"input1": [[300.0, 0.0]], "input2": [[1.0, 0.0]]},
                dtype="float16",
            ),
        ),
    ]
