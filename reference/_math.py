"""Numerically careful float64 building blocks shared by the loss modules (NumPy only).

These are exact formulas written to avoid overflow and cancellation, not safety clamps: a value
that is mathematically infinite stays infinite.
"""

from __future__ import annotations

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
    """x - logsumexp(x) along ``axis``; -inf logits give -inf, all -inf gives NaN."""
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    shifted = x - m
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def sum_to_shape(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum a broadcast gradient back to the shape of the argument that was broadcast."""
    g = np.asarray(g)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


# Lanczos approximation (g = 7, n = 9), relative error below 2e-15 for positive arguments;
# NumPy has no vectorised lgamma and the reference may import nothing else.
_LANCZOS_G = 7.0
_LANCZOS = (
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
)


def lgamma_positive(z: np.ndarray) -> np.ndarray:
    """log Γ(z) for z ≥ 1 (enough for log(y!) = lgamma(y + 1) with y ≥ 0)."""
    z = np.asarray(z, dtype=np.float64) - 1.0
    acc = np.full_like(z, _LANCZOS[0])
    for k, c in enumerate(_LANCZOS[1:], start=1):
        acc = acc + c / (z + k)
    t = z + _LANCZOS_G + 0.5
    return 0.5 * np.log(2.0 * np.pi) + (z + 0.5) * np.log(t) - t + np.log(acc)


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
