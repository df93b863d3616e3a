"""Known divergences between JAX/Optax and the reference, each cited.

Written against jax 0.10.2 with optax 0.2.8 and checked on jax 0.9.0 with optax 0.2.4 (the pair
``tox -e upgrade-jax`` compares). An entry about a behaviour that changed between releases names
the releases it holds for, as ``versions="optax>=0.2.6"`` (read against the adapter's
:class:`adapters.base.Release`, which carries the optax version): the bounds come from the released
wheels' source, 0.2.4 to 0.2.8. An entry about a configuration an older release does not offer at
all (triplet_margin_loss before optax 0.2.5, ignore_index before 0.2.6, label smoothing before
0.2.7) needs no range: the mapping says not-offered there and the entry never applies.

Every entry was reproduced before it was registered: ``tests/adapters/test_jax.py`` builds one
concrete case per entry and checks that its predicate holds *and* that JAX differs from the
reference there. Predicates are narrow: they name the inputs where the difference shows, so an
entry never hides an unrelated mismatch and turns *stale* as soon as an upgrade changes the
behaviour.

Kinds: ``convention`` for behaviour JAX or optax documents (an API docstring or docs page);
``known-bug`` for behaviour that gives another number than the function's own definition (0·inf =
NaN where a term is absent, a gradient that is not the gradient of the value) — with the issue or
pull request that reports it where one exists, else the line of optax's source at the tag.

This module imports no framework: predicates are NumPy functions of the case, reading the arrays
as JAX saw them (``case.rounded()``). Where a difference is small (an epsilon placed elsewhere),
the predicate recomputes optax's formula in float64 and says the difference is *visible* when it
exceeds two units in the last place of the case's dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import reference as R
from reference import Case, shapes

from .base import Divergence
from .predicates import kl_incoming_gradient

# --- citations (each one read with the search tool) ---------------------------------------------

OPTAX = "https://github.com/google-deepmind/optax/blob/v0.2.8/optax/losses/{}"
TRIPLET_SOURCE = OPTAX.format("_self_supervised.py#L174-L177")
REGRESSION_SOURCE = OPTAX.format("_regression.py#L75-L106")
OPTAX_ISSUE = "https://github.com/google-deepmind/optax/issues/{}"
OPTAX_PULL = "https://github.com/google-deepmind/optax/pull/{}"
JAX_ISSUE = "https://github.com/jax-ml/jax/issues/{}"
JAX_DOCS = "https://docs.jax.dev/en/latest/_autosummary/{}.html"
SHARP_BITS = "https://jax.readthedocs.io/en/latest/notebooks/Common_Gotchas_in_JAX.html"


# --- small helpers -------------------------------------------------------------------------------

Predicate = Callable[[Case], bool]


def _params(case: Case) -> dict[str, Any]:
    return {**R.get(case.loss).defaults(), **case.params}


def _valid_only(pred: Predicate) -> Predicate:
    """A value or gradient divergence exists only where the reference returns a value: on an input
    the reference rejects (a generated invalid case) the predicate is false."""

    def guarded(case: Case) -> bool:
        try:
            R.validate(case.loss, case.arrays, case.params)
        except R.InvalidInput:
            return False
        return pred(case)

    guarded.__name__ = pred.__name__
    guarded.__doc__ = pred.__doc__
    return guarded


# Below these many ULPs the tolerance policy (cases/tolerance.py: K = 4 for values, K_GRAD = 8 for
# gradients) always passes, so a smaller difference is no divergence.
VALUE_ULPS, GRAD_ULPS = 4.0, 8.0


def _visible(got: np.ndarray, ref: np.ndarray, dtype: str, ulps: float) -> bool:
    """Some element differs by more than ``ulps`` ULPs of ``dtype`` at the reference value (NaN
    against a number counts; NaN against NaN does not)."""
    got, ref = np.asarray(got, float), np.asarray(ref, float)
    with np.errstate(all="ignore"):
        gap = np.abs(got - ref)
        off = np.where(
            np.isnan(gap), np.isnan(got) != np.isnan(ref), gap > ulps * R.spacing(ref, dtype)
        )
    return bool(np.any(off))


def _class_axis(x: np.ndarray) -> int:
    return 1 if x.ndim >= 2 else 0


# JAX sets flush-to-zero / denormals-are-zero on CPU (jax-ml/jax#16200): a subnormal float64,
# float32 or bfloat16 operand counts as 0 there (float16 is computed in float32 and keeps them).
FLUSHING = ("float64", "float32", "bfloat16")


def _zero_for_jax(values: np.ndarray, case: Case) -> np.ndarray:
    """Where ``values`` is 0 as JAX's arithmetic sees it: exactly 0, or subnormal on CPU."""
    values = np.asarray(values, dtype=np.float64)
    if case.device == "cpu" and case.dtype in FLUSHING:
        return np.abs(values) < R.FORMATS[case.dtype].tiny
    return values == 0


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
    """Per-item value and the anchor/positive/negative gradients (cotangent 1 per item)."""
    a, p = case.rounded(), _params(case)
    with np.errstate(all="ignore"):
        d_ap, g_ap = _optax_pair(a["anchor"] - a["positive"], p["p"], p["eps"], signed)
        d_an, g_an = _optax_pair(a["anchor"] - a["negative"], p["p"], p["eps"], signed)
        z = d_ap - d_an + p["margin"]
        on = (z > 0)[..., None]
        grads = {
            "anchor": np.where(on, g_ap - g_an, 0.0),
            "positive": np.where(on, -g_ap, 0.0),
            "negative": np.where(on, g_an, 0.0),
        }
    return np.maximum(z, 0.0), grads, z, d_ap + d_an + abs(p["margin"])


def _triplet_reference(case: Case):
    params = {**_params(case), "reduction": "none"}
    ones = np.ones(np.shape(case.arrays["anchor"])[:-1])
    return R.value_and_vjp(case.loss, case.arrays, params, ones)


def _triplet_differs(ours, ref, dtype: str) -> bool:
    (value, grads), (ref_value, ref_grads) = ours, ref
    return _visible(value, ref_value, dtype, VALUE_ULPS) or any(
        _visible(grads[k], ref_grads[k], dtype, GRAD_ULPS) for k in ref_grads
    )


@_valid_only
def triplet_eps_visible(case: Case) -> bool:
    """eps > 0, and adding it once inside the root (optax, with a true p-norm) instead of to
    every component of the difference (reference) moves some item's loss by more than 4 ULPs of
    the dtype, or a gradient by more than 8 (at a zero difference the reference's gradient is a
    unit vector along eps, optax's is 0)."""
    if _params(case)["eps"] == 0:
        return False
    value, grads, _, _ = _triplet_optax(case, signed=False)
    return _triplet_differs((value, grads), _triplet_reference(case), case.dtype)


@_valid_only
def triplet_signed_l1(case: Case) -> bool:
    """p = 1, and on an item whose hinge is active, some component d of anchor − positive or
    anchor − negative is negative (signed sum ≠ L1 norm, slope 1 ≠ −1), or is 0 with eps = 0
    (optax's slope 1 against the reference's subgradient 0)."""
    p = _params(case)
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


@_valid_only
def triplet_zero_difference(case: Case) -> bool:
    """Some anchor equals its positive or its negative exactly (a zero difference vector)."""
    a = case.rounded()
    return any(
        bool(np.any(np.all(a["anchor"] - a[other] == 0, axis=-1)))
        for other in ("positive", "negative")
    )


@_valid_only
def triplet_hinge_tie(case: Case) -> bool:
    """Some item's hinge argument d(a, p) − d(a, n) + margin (optax's formula) is 0, or so close
    to 0 that the dtype's arithmetic can round it to 0: within 2u of its terms (or below the
    smallest normal number, which XLA on CPU flushes to 0)."""
    _, _, z, terms = _triplet_optax(case, signed=True)
    fmt = R.FORMATS[case.dtype]
    with np.errstate(all="ignore"):
        near = (np.abs(z) <= 2.0 * fmt.eps * terms) | (np.abs(z) < fmt.tiny)
    return bool(np.any(near & np.isfinite(z)))


@_valid_only
def triplet_squares_out_of_range(case: Case) -> bool:
    """p = 2 and some item's Σ (a − x)² leaves the dtype's normal range: above its largest value
    (optax's squares overflow to inf) or nonzero below its smallest normal number (flushed to 0
    by XLA on CPU, or subnormal with few significant bits in float16)."""
    if _params(case)["p"] != 2:
        return False
    a = case.rounded()
    fmt = R.FORMATS[case.dtype]
    for other in ("positive", "negative"):
        with np.errstate(all="ignore"):
            total = np.sum((a["anchor"] - a[other]) ** 2, axis=-1)
        if np.any((total > fmt.max_value) | ((total > 0) & (total < fmt.tiny))):
            return True
    return False


def _absent_term_at_infinite_logit(case: Case) -> bool:
    a = case.rounded()
    x, y = a["input"], a["target"]
    return bool(np.any(((x == np.inf) & (y == 1)) | ((x == -np.inf) & _zero_for_jax(y, case))))


@_valid_only
def infinite_logit_absent_term(case: Case) -> bool:
    """A logit +inf with label 1 or −inf with label 0: the term optax still multiplies by the zero
    label weight is log σ(∓inf) = −inf."""
    return _absent_term_at_infinite_logit(case)


@_valid_only
def focal_infinite_logit(case: Case) -> bool:
    """An infinite logit: with gamma = 0 where the label makes a term absent (as in BCE), with
    gamma > 0 anywhere (the focal weight's log-space gradient is NaN there)."""
    if _params(case)["gamma"] == 0:
        return _absent_term_at_infinite_logit(case)
    return bool(np.any(np.isinf(case.rounded()["input"])))


@_valid_only
def focal_label_gradient_dropped(case: Case) -> bool:
    """gamma > 0, a finite logit with a hard label y ∈ {0, 1}, and the target-gradient term that
    JAX's logsumexp drops there is visible (> 2 ULPs of the dtype at the reference gradient).

    optax computes log(1 − p_t) = logsumexp([log p, log(1 − p)], b=[1 − y, y]); JAX's logsumexp
    replaces the entry with b = 0 by −inf, so ∂/∂b of that entry is lost. The lost term of
    ∂ℓ/∂y is α_t·γ·CE·(1 − p_t)^(γ−1)·p_t (times the item's cotangent).
    """
    p = _params(case)
    gamma, alpha = p["gamma"], p["alpha"]
    if gamma == 0:
        return False
    a = case.rounded()
    x, y = a["input"], a["target"]
    y = np.where(_zero_for_jax(y, case), 0.0, y)  # a subnormal label is 0 to JAX on CPU
    hard = np.isfinite(x) & ((y == 0) | (y == 1))
    if not np.any(hard):
        return False
    with np.errstate(all="ignore"):
        p_t = np.where(y == 1, 1.0 / (1.0 + np.exp(-x)), 1.0 / (1.0 + np.exp(x)))
        ce = np.logaddexp(0.0, np.where(y == 1, -x, x))
        alpha_t = 1.0 if alpha is None else alpha * y + (1.0 - alpha) * (1.0 - y)
        lost = alpha_t * gamma * ce * (1.0 - p_t) ** (gamma - 1.0) * p_t
        ones = np.ones(np.shape(x))
        _, grads = R.value_and_vjp(case.loss, case.arrays, {**p, "reduction": "none"}, ones)
        ref = grads["target"]
        spacing = R.spacing(ref, case.dtype)
    return bool(np.any(hard & np.isfinite(ref) & (np.abs(lost) > 2.0 * spacing)))


@_valid_only
def ce_lse_cancels(case: Case) -> bool:
    """Index targets without smoothing, and a kept item where optax's logsumexp(x) − x_y,
    rounded in the dtype, is further from the loss than the tolerance allows.

    optax's softmax_cross_entropy_with_integer_labels returns logsumexp(x) − x_y, and
    logsumexp adds the maximum back (max + log Σ e^(x − max)) before x_y is subtracted: that sum
    is rounded at the size of |max x|, an absolute error up to ½ ulp(logsumexp) where the loss
    is (x_max − x_y) + log Σ. The predicate rounds those two operations in the dtype and flags an
    error beyond ½ ulp(loss) + (K + log2 C)·u·(1 + |x_y − max x| + log Σ) (the tolerance's bound
    for one item, K = 4). Its gradient (softmax − one-hot) uses the shifted logits: accurate.
    """
    p = _params(case)
    if _uses_log_softmax(p):
        return False
    x = np.moveaxis(case.rounded()["input"], _class_axis(case.arrays["input"]), -1)
    t = np.asarray(case.arrays["target"])
    kept = np.ones(t.shape, bool) if p["ignore_index"] is None else t != p["ignore_index"]
    safe = np.where(kept, t, 0)[..., None]
    dtype, n_classes = case.dtype, x.shape[-1]
    with np.errstate(all="ignore"):
        m = np.max(x, axis=-1)
        log_sum = np.log(np.sum(np.exp(x - m[..., None]), axis=-1))
        x_y = np.take_along_axis(x, safe, axis=-1)[..., 0]
        optax = R.round_to(R.round_to(m + R.round_to(log_sum, dtype), dtype) - x_y, dtype)
        loss = (m - x_y) + log_sum
        terms = 1.0 + np.abs(x_y - m) + log_sum
        u = R.FORMATS[dtype].eps / 2.0
        allowed = 0.5 * R.spacing(loss, dtype) + (4.0 + np.log2(n_classes)) * u * terms
        off = np.isfinite(loss) & (np.abs(optax - loss) > allowed)
    return bool(np.any(kept & off))


def _uses_log_softmax(p: dict[str, Any]) -> bool:
    """Probability targets or label smoothing: optax.losses.softmax_cross_entropy (log_softmax)."""
    return p["target_kind"] == "probability" or bool(p["label_smoothing"])


@_valid_only
def ce_neginf_logit_zero_label(case: Case) -> bool:
    """A −inf logit at a class whose (probability) target is 0: optax computes 0·(−inf)."""
    a = case.rounded()
    return bool(np.any((a["input"] == -np.inf) & _zero_for_jax(a["target"], case)))


@_valid_only
def ce_posinf_logit_in_softmax_path(case: Case) -> bool:
    """On the log_softmax path, an item with a +inf logit and at least one other class below it."""
    if not _uses_log_softmax(_params(case)):
        return False
    x = case.rounded()["input"]
    axis = _class_axis(x)
    return bool(np.any(np.any(x == np.inf, axis=axis) & np.any(x != np.inf, axis=axis)))


@_valid_only
def ce_posinf_logit_absent_class(case: Case) -> bool:
    """Probability targets without smoothing, and an item whose +inf logits all sit at classes
    with target 0 while some class has a positive target: the reference's loss is +inf there
    (the terms with t > 0 have log-probability −inf; the +inf classes' terms are absent)."""
    p = _params(case)
    if p["target_kind"] != "probability" or p["label_smoothing"]:
        return False
    a = case.rounded()
    axis = _class_axis(a["input"])
    x, zero = a["input"], _zero_for_jax(a["target"], case)
    posinf = x == np.inf
    absent = np.all(~posinf | zero, axis=axis) & np.any(posinf, axis=axis)
    return bool(np.any(absent & np.any(~zero & (a["target"] > 0), axis=axis)))


@_valid_only
def every_target_ignored(case: Case) -> bool:
    ignore = _params(case)["ignore_index"]
    return ignore is not None and bool(np.all(case.arrays["target"] == ignore))


def _item_cotangent_nonzero(case: Case, shape: tuple[int, ...]) -> np.ndarray:
    """Where the cotangent reaching each element is nonzero (reduction none draws it; 0·NaN and
    0·inf are NaN on both sides)."""
    if case.cotangent is None:
        return np.ones(shape, bool)
    return np.broadcast_to(case.rounded_cotangent() != 0, shape)


@_valid_only
def zero_target_finite_slope(case: Case) -> bool:
    """A zero target (or a subnormal one, 0 to JAX on CPU) where the reference's target gradient
    log t + 1 − x is not NaN (x ≠ −inf), reached by a nonzero cotangent."""
    a = case.rounded()
    t, x = a["target"], a["input"]
    zero = _zero_for_jax(t, case)
    return bool(np.any(zero & (x != -np.inf) & _item_cotangent_nonzero(case, t.shape)))


@_valid_only
def kl_target_grad_product_flushed(case: Case) -> bool:
    """A normal target t and a normal incoming gradient g whose product g·t, formed in the dtype,
    loses the digits of g: flushed to 0 below the smallest normal number (XLA on CPU, float64,
    float32, bfloat16), or rounded on float16's subnormal grid with more than a unit roundoff of
    relative error. (A subnormal t or g is 0 to JAX already: another mechanism.)"""
    t = case.rounded()["target"]
    g = kl_incoming_gradient(case)
    gt = g * t  # exact in float64: two numbers of the dtype
    fmt = R.FORMATS[case.dtype]
    normal = (t >= fmt.tiny) & np.isfinite(t) & (g >= fmt.tiny)
    if case.device == "cpu" and case.dtype in FLUSHING:
        lost = (gt != 0) & (np.abs(gt) < fmt.tiny)
    else:
        lost = np.abs(R.round_to(gt, case.dtype) - gt) > 0.5 * fmt.eps * np.abs(gt)
    return bool(np.any(normal & lost))


@_valid_only
def zero_target_at_neginf_input(case: Case) -> bool:
    a = case.rounded()
    return bool(np.any(_zero_for_jax(a["target"], case) & (a["input"] == -np.inf)))


@_valid_only
def neginf_log_target(case: Case) -> bool:
    return bool(np.any(case.rounded()["target"] == -np.inf))


@_valid_only
def log_target_exp_underflows(case: Case) -> bool:
    """A finite log-target t whose probability e^t lies below the dtype's smallest normal number
    and is rounded there (to 0, or on float16's subnormal grid; flushed to 0 on CPU for float64,
    float32 and bfloat16), where optax's e^t·(t − x), recomputed in float64 with that rounded
    e^t, moves the value by more than 4 ULPs of the dtype or the target gradient
    g·e^t·(t − x + 1) by more than 8, and by more than as many times the tolerance's underflow
    floor η·F (η the smallest normal number, float16's smallest subnormal; F = 1 + Σ c_i for a
    value, 1 + max c_i for a gradient). A large |t − x| brings the lost probability back into
    range; at x = −inf the flushed e^t gives 0·inf = NaN.
    """
    a, p = case.rounded(), _params(case)
    t, x = np.broadcast_arrays(a["target"], a["input"])
    fmt, dtype = R.FORMATS[case.dtype], case.dtype
    with np.errstate(all="ignore"):
        q = np.exp(t)
        q_jax = R.round_to(q, dtype)
        q_jax = np.where(_zero_for_jax(q_jax, case), 0.0, q_jax)
        changed = np.isfinite(t) & (q < fmt.tiny) & (q_jax != q)
        if not np.any(changed):
            return False
        d = t - x
        g = kl_incoming_gradient(case)
        value_shift = np.where(changed, q_jax * d - q * d, 0.0)
        grad_shift = g * np.where(changed, q_jax * (d + 1.0) - q * (d + 1.0), 0.0)
        cot = case.rounded_cotangent() if p["reduction"] == "none" else None
        value, grads = R.value_and_vjp(case.loss, a, p, cot)
        eta = fmt.smallest_subnormal if dtype == "float16" else fmt.tiny
        if p["reduction"] == "none":
            value_floor = 2.0
        else:
            value_shift, value_floor = np.sum(g * value_shift), 1.0 + np.sum(g)
        moved = (
            (value, value_shift, VALUE_ULPS, value_floor),
            (grads["target"], grad_shift, GRAD_ULPS, 1.0 + np.max(g)),
        )
        for ref, shift, ulps, floor in moved:
            got, gap = ref + shift, np.abs(shift)
            beyond = (gap > ulps * R.spacing(ref, dtype)) & (gap > ulps * eta * floor)
            if np.any(
                np.where(np.isnan(got) | np.isnan(ref), np.isnan(got) != np.isnan(ref), beyond)
            ):
                return True
    return False


# --- predicates: inputs the reference rejects --------------------------------------------------


def class_index_out_of_range(case: Case) -> bool:
    """Some index target lies outside [0, C) and is not ignore_index."""
    x, t = case.arrays.get("input"), case.arrays.get("target")
    if x is None or t is None or x.ndim == 0 or not np.issubdtype(t.dtype, np.integer):
        return False
    n_classes = x.shape[_class_axis(x)]
    ignore = _params(case)["ignore_index"]
    bad = (t < 0) | (t >= n_classes)
    if ignore is not None:
        bad &= t != ignore
    return bool(np.any(bad))


def target_outside_unit_interval(case: Case) -> bool:
    """Some target is not a probability in [0, 1] (NaN included)."""
    t = case.arrays.get("target")
    if t is None:
        return False
    t = np.asarray(t, dtype=np.float64)
    return bool(np.any(~((t >= 0) & (t <= 1))))


def broadcastable_mismatched_shapes(case: Case) -> bool:
    """The shapes fit none of the loss's layouts, but NumPy broadcasting joins them."""
    spec = R.get(case.loss)
    given = {k: np.shape(v) for k, v in case.arrays.items()}
    if shapes.match(spec.layouts, given, _params(case)) is not None:
        return False
    try:
        np.broadcast_shapes(*given.values())
    except ValueError:
        return False
    return True


# --- cross_entropy shapes: where optax's calls compute instead of raising ----------------------
#
# A shape-level replay of the adapter's cross_entropy compositions, following jax.numpy's rules:
# elementwise operations and jnp.where broadcast both ways; a reduction with where= first does
# jnp.where(where, array, init) (so the array grows to the joint shape) and then removes the axis;
# jnp.take_along_axis wants equal ranks and broadcasts the other axes. (A cotangent of another
# shape than the output stops only the gradient: the adapter still returns the value, so the
# forward call is what counts.) The optax v0.2.8 lines replayed: softmax_cross_entropy,
# _classification.py#L292-L296; the integer-label path, #L377-L406; smooth_labels,
# _smoothing.py#L50-L55. Same shapes accepted by optax 0.2.4 to 0.2.8 on jax 0.9.0 to 0.10.2.


class _Raises(Exception):
    """The replayed call raises here."""


Shape = tuple[int, ...]


def _joint(*given: Shape) -> Shape:
    try:
        return tuple(np.broadcast_shapes(*given))
    except ValueError:
        raise _Raises from None


def _reduced_shape(shape: Shape, axis: int, where: Shape | None, keepdims: bool = False) -> Shape:
    if axis >= len(shape):
        raise _Raises
    full = shape if where is None else _joint(where, shape)
    return full[:axis] + ((1,) if keepdims else ()) + full[axis + 1 :]


def _inserted(shape: Shape, axis: int, size: int = 1) -> Shape:
    """jnp.expand_dims (size 1) or jax.nn.one_hot (size C) at ``axis``."""
    if axis > len(shape):
        raise _Raises
    return (*shape[:axis], size, *shape[axis:])


def _log_softmax_shape(x: Shape, axis: int, where: Shape | None) -> Shape:
    """jax.nn.log_softmax(x, axis, where): max with keepdims, x − max, log Σ exp, then where."""
    shifted = _joint(x if where is None else _joint(where, x), _reduced_shape(x, axis, where, True))
    result = _joint(shifted, _reduced_shape(shifted, axis, where, True))
    return result if where is None else _joint(where, result)


def _ce_item_shape(x: Shape, t: Shape, p: dict[str, Any]) -> Shape:
    """The shape of optax's per-item losses in the adapter's composition; _Raises if it raises."""
    if not x:
        raise _Raises  # no class axis to normalise over
    axis = 1 if len(x) > 1 else 0
    kept = t if p["target_kind"] == "index" and p["ignore_index"] is not None else None
    if kept is not None and len(kept) != len(x):
        kept = _inserted(kept, axis)  # optax: where = jnp.expand_dims(where, axis)
    if p["target_kind"] == "index" and not p["label_smoothing"]:
        # softmax_cross_entropy_with_integer_labels: take_along_axis − logsumexp
        index = _inserted(t, axis)
        if len(index) != len(x):
            raise _Raises
        picked = _joint(index, (*x[:axis], 1, *x[axis + 1 :]))
        picked = picked[:axis] + picked[axis + 1 :]
        out = _joint(_reduced_shape(x, axis, kept), picked)
        if kept is not None:  # jnp.where(jnp.any(where, axis), out, 0.0)
            out = _joint(_reduced_shape(kept, axis, None), out)
        return out
    labels = _inserted(t, axis, x[axis]) if p["target_kind"] == "index" else t
    if p["label_smoothing"] and axis >= len(labels):
        raise _Raises  # smooth_labels: jnp.size(labels, axis)
    # softmax_cross_entropy: −(labels · log_softmax(logits)).sum(axis, where=where)
    product = _joint(labels, _log_softmax_shape(x, axis, kept))
    return _reduced_shape(product, axis, kept)


def _optax_computes_ce(case: Case) -> bool:
    """optax's forward call returns a value for these shapes."""
    x, t = np.shape(case.arrays["input"]), np.shape(case.arrays["target"])
    p = _params(case)
    try:
        out = _ce_item_shape(x, t, p)
        masked = p["target_kind"] == "index" and p["ignore_index"] is not None
        if masked and p["reduction"] == "mean" and _joint(t, out) != out:
            return False  # jnp.mean(…, where=kept) counts jnp.broadcast_to(kept, out): one way
    except _Raises:
        return False
    return True


def ce_broadcastable_mismatched_shapes(case: Case) -> bool:
    """cross_entropy shapes that fit no layout, where optax's calls, replayed on the shapes
    (broadcasting, take_along_axis, one_hot, smooth_labels' class count), still compute."""
    spec = R.get(case.loss)
    given = {k: np.shape(v) for k, v in case.arrays.items()}
    if shapes.match(spec.layouts, given, _params(case)) is not None:
        return False
    return _optax_computes_ce(case)


def ce_log_softmax_broadcasts(case: Case) -> bool:
    """As :func:`ce_broadcastable_mismatched_shapes`, on the log_softmax path
    (optax.losses.softmax_cross_entropy: probability targets or label smoothing)."""
    return _uses_log_softmax(_params(case)) and ce_broadcastable_mismatched_shapes(case)


# --- the registry -------------------------------------------------------------------------------

DIVERGENCES: list[Divergence] = [
    # regression family: none. optax's huber_loss / log_cosh / squared_error agree with the
    # reference on every valid input tried, including d = 0 (jnp.abs's gradient there is 1, but
    # huber_loss's min/linear split cancels it), ±8192 and inf. Their rounding is not ours to
    # register: huber_loss's gradient rounds q·g against δ·g and log_cosh cancels log 2 at small
    # d, and the tolerance policy counts those terms (cases/tolerance.py).
    #
    # triplet_margin_loss
    Divergence(
        id="jax-triplet-eps-inside-root",
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
        inputs_text="eps > 0 and the two placements differ by > 4 ULPs (value) or > 8 ULPs (gradient)",
    ),
    Divergence(
        id="jax-triplet-l1-without-abs",
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
    ),
    Divergence(
        id="jax-triplet-zero-distance-nan-grad",
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
    ),
    Divergence(
        id="jax-triplet-hinge-tie-half-gradient",
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
    ),
    Divergence(
        id="jax-triplet-squares-out-of-range",
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
    ),
    # sigmoid cross-entropy family
    Divergence(
        id="jax-bce-logits-infinite-logit-nan",
        kind="known-bug",
        loss="binary_cross_entropy_with_logits",
        description=(
            "optax.losses.sigmoid_binary_cross_entropy computes −y·log σ(x) − (1 − y)·log σ(−x) "
            "without removing absent terms: at x = +inf with y = 1 (or −inf with y = 0) it "
            "evaluates 0·(−inf) = NaN where the loss is 0. Gradients are unaffected."
        ),
        citation=OPTAX_PULL.format(431),
        inputs=infinite_logit_absent_term,
        inputs_text="a logit +inf with label 1, or −inf with label 0",
        affects=("value",),
    ),
    Divergence(
        id="jax-multilabel-infinite-logit-nan",
        kind="known-bug",
        loss="multilabel_soft_margin_loss",
        description=(
            "Built on optax.losses.sigmoid_binary_cross_entropy: at x = +inf with y = 1 (or −inf "
            "with y = 0) the absent term is 0·(−inf) = NaN, so the item's loss is NaN where it is "
            "finite. Gradients are unaffected."
        ),
        citation=OPTAX_PULL.format(431),
        inputs=infinite_logit_absent_term,
        inputs_text="a logit +inf with label 1, or −inf with label 0",
        affects=("value",),
    ),
    Divergence(
        id="jax-focal-infinite-logit-nan",
        kind="known-bug",
        loss="sigmoid_focal_loss",
        description=(
            "optax's sigmoid_focal_loss multiplies sigmoid_binary_cross_entropy (NaN for an "
            "infinite logit whose term is absent: 0·(−inf)) by exp(γ·logsumexp(...)), whose "
            "gradient is NaN at an infinite logit: the value is NaN where the reference has 0, "
            "and gradients are NaN where the reference has 0 or ±inf."
        ),
        citation=OPTAX_PULL.format(431),
        inputs=focal_infinite_logit,
        inputs_text="gamma = 0: a logit +inf with label 1 or −inf with label 0; gamma > 0: any infinite logit",
    ),
    Divergence(
        id="jax-focal-hard-label-target-grad",
        kind="known-bug",
        loss="sigmoid_focal_loss",
        description=(
            "optax computes log(1 − p_t) as jax.scipy.special.logsumexp([log p, log(1 − p)], "
            "b=[1 − y, y]); JAX replaces an entry whose b is exactly 0 by −inf, so its derivative "
            "with respect to b is lost. For a hard label (y = 0 or 1) and gamma > 0 the gradient "
            "with respect to target misses α_t·γ·CE·(1 − p_t)^(γ−1)·p_t. Value and input "
            "gradient are right. Since optax 0.2.6 (the log-space focal weight); up to 0.2.5 "
            "optax computed (1 − p_t)^γ directly and this gradient is right."
        ),
        citation=JAX_ISSUE.format(22398),
        versions="optax>=0.2.6",
        inputs=focal_label_gradient_dropped,
        inputs_text="gamma > 0, a finite logit, target 1 or 0 (or subnormal, on CPU), dropped term > 2 ULPs",
        affects=("grad",),
    ),
    # cross_entropy
    Divergence(
        id="jax-ce-neginf-logit-zero-label-nan",
        kind="convention",
        loss="cross_entropy",
        description=(
            "optax.losses.softmax_cross_entropy computes −Σ labels·log_softmax(logits): a −inf "
            "logit whose label is 0 gives 0·(−inf) = NaN. optax documents this and offers "
            "safe_softmax_cross_entropy (no axis argument) for the 0·log 0 = 0 convention. "
            "Gradients are unaffected."
        ),
        citation=OPTAX_ISSUE.format(896),
        where={"target_kind": "probability", "label_smoothing": 0.0},
        inputs=ce_neginf_logit_zero_label,
        inputs_text="a −inf logit at a class whose target probability is 0",
        affects=("value",),
    ),
    Divergence(
        id="jax-ce-posinf-logit-nan-grad",
        kind="convention",
        loss="cross_entropy",
        description=(
            "jax.nn.log_softmax documents that an item with a +inf logit gives NaN at every "
            "class, so the whole item's input gradient is NaN; the reference keeps the "
            "limit −w_c·q_c at the finite classes and is NaN only at the +inf class. The value is "
            "NaN on both sides. Only the log_softmax path (probability targets or label "
            "smoothing) is affected."
        ),
        citation=JAX_DOCS.format("jax.nn.log_softmax"),
        inputs=ce_posinf_logit_in_softmax_path,
        inputs_text="probability targets or label smoothing, and an item with a +inf logit",
        affects=("grad",),
    ),
    Divergence(
        id="jax-ce-posinf-logit-nan-value",
        kind="convention",
        loss="cross_entropy",
        description=(
            "jax.nn.log_softmax documents that an item with a +inf logit gives NaN at every "
            "class, so optax.losses.softmax_cross_entropy's value for that item is NaN. Where "
            "every +inf logit's target probability is 0 (an absent term) and some other class "
            "has a positive target, the reference's loss is +inf (that class's log-probability "
            "is −inf). With label smoothing no target is 0 and both sides are NaN."
        ),
        citation=JAX_DOCS.format("jax.nn.log_softmax"),
        where={"target_kind": "probability", "label_smoothing": 0.0},
        inputs=ce_posinf_logit_absent_class,
        inputs_text="an item whose +inf logits all have target 0, with a positive target elsewhere",
        affects=("value",),
    ),
    Divergence(
        id="jax-ce-integer-labels-lse-cancellation",
        kind="known-bug",
        loss="cross_entropy",
        description=(
            "softmax_cross_entropy_with_integer_labels returns logsumexp(x) − x_y (its comment: "
            "it avoids subtracting the normaliser from every logit). logsumexp adds the maximum "
            "logit back before x_y is subtracted, so the loss has an absolute error ~u·|max x| "
            "instead of ~u·(loss + 1): with large logits (float32 logits ~100, or any dtype at "
            "±8192) a confident or tied item loses log2|max x| bits. The log_softmax path "
            "(probability targets, label smoothing) and the gradient are accurate. Since optax "
            "0.2.6; up to 0.2.5 optax subtracted stop_gradient(max x) from the logits first, "
            "which keeps the error ~u·(loss + 1)."
        ),
        citation=OPTAX.format("_classification.py#L397-L406"),
        versions="optax>=0.2.6",
        where={"target_kind": "index", "label_smoothing": 0.0},
        inputs=ce_lse_cancels,
        inputs_text="a kept item where (max x + log Σ e^(x − max)) − x_y, rounded in the dtype, is beyond the tolerance",
        affects=("value",),
    ),
    Divergence(
        id="jax-ce-every-target-ignored-zero-grad",
        kind="convention",
        loss="cross_entropy",
        description=(
            "ignore_index maps to jnp.mean(…, where=target != ignore_index). With every target "
            "ignored the mean is 0/0 = NaN on both sides, but jnp.mean's gradient gives the "
            "excluded elements a zero cotangent, so JAX's gradient is 0 where the reference's "
            "is NaN."
        ),
        citation=JAX_DOCS.format("jax.numpy.mean"),
        where={"target_kind": "index", "ignore_index": -100, "reduction": "mean"},
        inputs=every_target_ignored,
        inputs_text="every target equals ignore_index",
        affects=("grad",),
    ),
    # kl_div
    Divergence(
        id="jax-kl-zero-target-nan-grad",
        kind="known-bug",
        loss="kl_div",
        description=(
            "optax.losses.kl_divergence guards log(target) with jnp.where(target == 0, 0, "
            "log(target)), but the untaken branch is still differentiated: the gradient with "
            "respect to a zero target is NaN (the JAX FAQ's where-gradient pitfall); the "
            "reference's is log 0 + 1 − x = −inf."
        ),
        citation=OPTAX_PULL.format(1786),
        where={"log_target": False},
        inputs=zero_target_finite_slope,
        inputs_text="a target probability 0 or subnormal (input not −inf, nonzero cotangent)",
        affects=("grad",),
    ),
    Divergence(
        id="jax-kl-target-grad-product-flushed",
        kind="known-bug",
        loss="kl_div",
        where={"log_target": False},
        description=(
            "optax.losses.kl_divergence computes t·(log t − x), and JAX's product rule hands "
            "log's backward the product g·t, which it divides by t to form the +1 of "
            "log t + 1 − x. Where g·t falls below the smallest normal number, XLA on CPU flushes "
            "it to 0 (flush-to-zero, jax-ml/jax#26658; in float16 it rounds on the subnormal "
            "grid), so the target gradient misses g entirely (float32, t = 2^-15, x = 0, cotangent 2^-112: JAX −2.0024e-33 = g·log t, "
            "reference g·(log t + 1) = −1.8098e-33). The same mechanism as torch's xlogy "
            "backward (kl-div-target-grad-underflow)."
        ),
        citation=OPTAX.format("_classification.py#L528-L563"),
        inputs=kl_target_grad_product_flushed,
        inputs_text="a normal target and a normal incoming gradient whose product is below the "
        "dtype's smallest normal number (flushed to 0 on CPU; float16: rounded off)",
        affects=("grad",),
    ),
    Divergence(
        id="jax-kl-zero-target-neginf-input-nan",
        kind="known-bug",
        loss="kl_div",
        description=(
            "optax.losses.kl_divergence multiplies target·(0 − log_predictions): a zero target "
            "at a −inf log-prediction gives 0·inf = NaN where the term is absent (0)."
        ),
        citation=OPTAX_PULL.format(1786),
        where={"log_target": False},
        inputs=zero_target_at_neginf_input,
        inputs_text="a target probability 0 where the input log-probability is −inf",
        affects=("value",),
    ),
    Divergence(
        id="jax-kl-log-target-neginf-nan",
        kind="known-bug",
        loss="kl_div",
        description=(
            "optax.losses.kl_divergence_with_log_targets computes exp(t)·(t − x): a −inf log "
            "target gives 0·(−inf) = NaN in the value and a NaN target gradient, where the term "
            "is absent (value 0, gradient 0)."
        ),
        citation=OPTAX_PULL.format(1786),
        where={"log_target": True},
        inputs=neginf_log_target,
        inputs_text="some log-target is −inf (probability 0)",
    ),
    Divergence(
        id="jax-kl-log-target-exp-underflow",
        kind="known-bug",
        loss="kl_div",
        description=(
            "optax.losses.kl_divergence_with_log_targets computes jnp.exp(log_targets)·"
            "(log_targets − log_predictions) in the input dtype: a target probability e^t below "
            "the smallest normal number is rounded to 0 (flushed on CPU in float64, float32 and "
            "bfloat16, jax-ml/jax#16200) or, in float16, to a few-bit subnormal, and a large "
            "t − x multiplies that loss back into the normal range. The term, and its target "
            "gradient e^t·(t − x + 1), vanish or carry the subnormal's error (float16, mean of "
            "4, t = −18.3125, x = −6128, e^t = 1.1e-8 < 2^-25: JAX 0 and target gradient 0, "
            "reference 1.7019e-05 = e^t·(t − x)/4 and 1.7022e-05; float32, t = −88, x = −1e30: "
            "JAX 0, reference 6.0546e-09). At x = −inf the flushed e^t gives 0·inf = NaN where "
            "the reference's term is +inf."
        ),
        citation=OPTAX.format("_classification.py#L566-L594"),
        where={"log_target": True},
        inputs=log_target_exp_underflows,
        inputs_text="a finite log-target whose e^t is below the smallest normal number (rounded to "
        "0 or a subnormal) and a large t − x, moving value or target gradient beyond 4 / 8 ULPs",
        affects=("value", "grad"),
    ),
    # --- invalid inputs: JAX never raises on a value-dependent condition -----------------------
    Divergence(
        id="jax-ce-index-out-of-range-gather",
        kind="convention",
        loss="cross_entropy",
        description=(
            "softmax_cross_entropy_with_integer_labels gathers the target logit with "
            "jnp.take_along_axis, which does not raise: an index ≥ C (or < −C) gives NaN (mode "
            "'fill'), and −C ≤ index < 0 wraps to class C + index (NumPy negative indexing), a "
            "finite loss for the wrong class. The gradient drops the out-of-range target term. "
            "Same in eager and jit."
        ),
        citation=JAX_DOCS.format("jax.numpy.take_along_axis"),
        where={"target_kind": "index", "label_smoothing": 0.0},
        inputs=class_index_out_of_range,
        inputs_text="an index target outside [0, C) that is not ignore_index",
        affects=("error",),
    ),
    Divergence(
        id="jax-ce-index-out-of-range-one-hot",
        kind="convention",
        loss="cross_entropy",
        description=(
            "With label smoothing the index goes through jax.nn.one_hot, which encodes an index "
            "outside [0, C) (negative ones included) as an all-zero row: the item's loss is the "
            "smoothing term alone, a finite number, with no error."
        ),
        citation=JAX_DOCS.format("jax.nn.one_hot"),
        where={"target_kind": "index", "label_smoothing": 0.1},
        inputs=class_index_out_of_range,
        inputs_text="an index target outside [0, C) that is not ignore_index",
        affects=("error",),
    ),
]

# optax validates no label value (and JAX could not raise on one inside jit): a target outside
# [0, 1] is put through the formula, giving a number (or NaN from a log of a negative).
_PROBABILITY_TARGETS = (
    ("binary_cross_entropy_with_logits", {}),
    ("sigmoid_focal_loss", {}),
    ("cross_entropy", {"target_kind": "probability"}),
    ("multilabel_soft_margin_loss", {}),
    ("kl_div", {"log_target": False}),
)
DIVERGENCES += [
    Divergence(
        id=f"jax-{loss}-target-outside-unit-interval",
        kind="convention",
        loss=loss,
        description=(
            "optax does not check that labels are probabilities, and JAX raises no error on a "
            "value-dependent condition (errors cannot be raised from compiled accelerator code): "
            "a target outside [0, 1] is put through the formula and returns a number, or NaN."
        ),
        citation=SHARP_BITS,
        where=where,
        inputs=target_outside_unit_interval,
        inputs_text="some target is outside [0, 1]",
        affects=("error",),
    )
    for loss, where in _PROBABILITY_TARGETS
]

# Every optax loss but squared_error (which checks shapes) documents its targets as "broadcastable
# to predictions" and broadcasts; a shape mismatch only raises where broadcasting fails.
_BROADCASTING = (
    "huber_loss",
    "smooth_l1_loss",
    "log_cosh",
    "binary_cross_entropy_with_logits",
    "sigmoid_focal_loss",
    "multilabel_soft_margin_loss",
    "kl_div",
    "triplet_margin_loss",
)
DIVERGENCES += [
    Divergence(
        id=f"jax-{loss}-broadcasts-mismatched-shapes",
        kind="convention",
        loss=loss,
        description=(
            "optax documents its targets as 'a vector with shape broadcastable to that of "
            "predictions' and applies NumPy broadcasting: arrays whose shapes fit none of the "
            "loss's layouts but broadcast together are computed, not rejected."
        ),
        citation=REGRESSION_SOURCE,
        inputs=broadcastable_mismatched_shapes,
        inputs_text="shapes that fit no layout but broadcast together",
        affects=("error",),
    )
    for loss in _BROADCASTING
]
DIVERGENCES += [
    Divergence(
        id="jax-cross_entropy-broadcasts-mismatched-shapes",
        kind="convention",
        loss="cross_entropy",
        description=(
            "softmax_cross_entropy_with_integer_labels gathers the target logit with "
            "jnp.take_along_axis, which broadcasts every axis but the class axis (and, with "
            "ignore_index, the where=kept mask broadcasts against the logits): an index target of "
            "shape (1,) for an (N, C) input, or an (N, C) input with N = 1 against a target of "
            "shape (M,), is broadcast over the batch instead of rejected."
        ),
        citation=JAX_DOCS.format("jax.numpy.take_along_axis"),
        where={"target_kind": "index", "label_smoothing": 0.0},
        inputs=ce_broadcastable_mismatched_shapes,
        inputs_text="shapes that fit no layout but that take_along_axis and logsumexp broadcast",
        affects=("error",),
    ),
    Divergence(
        id="jax-cross_entropy-log-softmax-broadcasts-mismatched-shapes",
        kind="convention",
        loss="cross_entropy",
        description=(
            "optax.losses.softmax_cross_entropy (probability targets, and index targets with "
            "label smoothing, made one-hot) returns −(labels · log_softmax(logits)).sum(axis): "
            "the product broadcasts labels and logits both ways. Logits of shape (1, C) against "
            "(N, C) targets give N copies of one item's loss, a (1, C) or (C,) target is applied "
            "to every item, and an index target of shape (1,) becomes a (1, C) one-hot row; "
            "optax.smooth_labels only needs the labels to have the class axis. Computed, not "
            "rejected."
        ),
        citation=OPTAX.format("_classification.py#L292-L296"),
        inputs=ce_log_softmax_broadcasts,
        inputs_text="probability targets or label smoothing, and shapes that fit no layout but "
        "that labels · log_softmax(logits) broadcasts",
        affects=("error",),
    ),
]
