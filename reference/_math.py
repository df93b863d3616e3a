"""Numerically careful float64 building blocks shared by the loss modules (NumPy only).

These are exact formulas written to avoid overflow and cancellation, not safety clamps: a value
that is mathematically infinite stays infinite.
"""

from __future__ import annotations

import math

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)) = -log(sigmoid(-x)), exact for all x (softplus(-inf) = 0, (+inf) = inf)."""
    return np.logaddexp(0.0, x)


def xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x * log(y), with the information-theory convention 0 * log(anything) = 0."""
    return np.where(x == 0, 0.0, x * np.log(np.where(x == 0, 1.0, y)))


def times_or_zero(weight: np.ndarray, value: np.ndarray) -> np.ndarray:
    """weight * value, where a zero weight removes the term even if value is ±inf or NaN.

    Used where a formula *selects* a term by multiplying with a 0/1 label or a 0 probability: the
    term is absent, not 0 * inf.
    """
    return np.where(weight == 0, 0.0, weight * value)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """x - logsumexp(x) along ``axis``; -inf logits give -inf, all -inf gives NaN.

    With a finite maximum m, logsumexp(x) - m = log1p(sum of e^(x_k - m) over all but one maximal
    k): that term is exactly 1, and log1p keeps log p of a dominant class accurate where
    log(1 + 1e-13) would keep three digits.
    """
    m = np.max(x, axis=axis, keepdims=True)
    finite = np.isfinite(m)
    shifted = x - np.where(finite, m, 0.0)
    e = np.exp(shifted)
    others = e.copy()
    np.put_along_axis(others, np.argmax(x, axis=axis, keepdims=True), 0.0, axis=axis)
    lse = np.where(
        finite,
        np.log1p(np.sum(others, axis=axis, keepdims=True)),
        np.log(np.sum(e, axis=axis, keepdims=True)),
    )
    return shifted - lse


def softmax_complement(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """1 - softmax(x) along ``axis``, accurate where softmax is near 1.

    For a maximal class (finite maximum m) it is the others' share, the sum of e^(x_k - m) over the
    other classes divided by the total, not 1 minus a number near 1; every other class has
    softmax ≤ ½, where 1 - softmax loses nothing.
    """
    m = np.max(x, axis=axis, keepdims=True)
    finite = np.isfinite(m)
    e = np.exp(x - np.where(finite, m, 0.0))
    total = np.sum(e, axis=axis, keepdims=True)
    top = np.argmax(x, axis=axis, keepdims=True)
    others = e.copy()
    np.put_along_axis(others, top, 0.0, axis=axis)
    complement = 1.0 - e / total
    at_top = np.where(
        finite,
        np.sum(others, axis=axis, keepdims=True) / total,
        np.take_along_axis(complement, top, axis=axis),
    )
    np.put_along_axis(complement, top, at_top, axis=axis)
    return complement


def sum_to_shape(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a broadcast gradient back to the shape of the argument that was broadcast."""
    g = np.asarray(g)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def lgamma_positive(z: np.ndarray) -> np.ndarray:
    """log Γ(z) for z ≥ 1 (enough for log(y!) = lgamma(y + 1) with y ≥ 0).

    The C library's lgamma (via ``math``; NumPy has none) is exact at z = 1 and 2, so log(0!) and
    log(1!) are 0, and stays within a few units of 1e-16 of |log Γ| elsewhere.
    """
    z = np.asarray(z, dtype=np.float64)
    return np.vectorize(math.lgamma, otypes=[np.float64])(z) if z.size else z.copy()


def pnorm(v: np.ndarray, p: float, axis: int = -1) -> np.ndarray:
    """The p-norm (sum |v|^p)^(1/p) along ``axis``, scaled to avoid overflow and underflow."""
    a = np.abs(v)
    scale = np.max(a, axis=axis, keepdims=True)
    safe = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
    inner = np.sum((a / safe) ** p, axis=axis) ** (1.0 / p)
    out = np.squeeze(safe, axis=axis) * inner
    return np.where(np.isinf(np.squeeze(scale, axis=axis)), np.inf, out)


def pnorm_grad(v: np.ndarray, norm: np.ndarray, p: float, axis: int = -1) -> np.ndarray:
    """d‖v‖_p/dv = sign(v) |v|^(p-1) / ‖v‖^(p-1); at v = 0 the minimum-norm subgradient, 0."""
    n = np.expand_dims(norm, axis)
    safe = np.where(n > 0, n, 1.0)
    g = np.sign(v) * (np.abs(v) / safe) ** (p - 1.0)
    return np.where(n > 0, g, 0.0)
