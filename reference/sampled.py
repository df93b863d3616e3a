"""Sampled losses: a softmax or logistic loss over the true classes and a sample of the others
(TensorFlow's candidate-sampling losses, tf.nn.sampled_softmax_loss and tf.nn.nce_loss).

Shapes: inputs x (N, D), the output layer's weights W (C, D) and biases b (C), the true classes
``labels`` (N, E) of each item (E = num_true), the sampled classes ``sampled`` (S), and the
expected counts Q of the true classes (N, E) and of the sampled ones (S) under the sampler. The
sample is an argument of the case (drawn by the strategies), so the loss is deterministic.

The logits of item n are those of its true classes and of the sampled ones,

    t_{n,e} = x_n·W[labels_{n,e}] + b[labels_{n,e}] − log Q_true[n, e],
    s_{n,j} = x_n·W[sampled_j]    + b[sampled_j]    − log Q_sampled[j],

without the − log Q terms when ``subtract_log_q`` is off, and with s_{n,j} = −inf (the class is
taken out of the sample) where ``remove_accidental_hits`` is on and sampled_j is one of the
item's true classes. The targets are 1/E on each true logit and 0 on each sampled one.
"""

from __future__ import annotations

import numpy as np

from . import params as P
from ._math import log_softmax, sigmoid, softmax_complement, softplus
from .domains import CLASS_INDEX, EXPECTED_COUNT, REAL
from .edges import Edge
from .spec import ArraySpec, Elementwise, Layout, LossSpec
from .terms import TermScale


def accidental_hits(a) -> np.ndarray:
    """(N, S): sampled class j is one of item n's true classes."""
    return np.any(a["sampled"][None, None, :] == a["labels"][:, :, None], axis=1)


def _logits(a, p, hits=accidental_hits):
    """(true logits (N, E), sampled logits (N, S), their scales, the removed hits (N, S));
    ``hits`` finds the accidental hits (a registry model may substitute another rule)."""
    x, w, b = a["inputs"], a["weights"], a["biases"]
    labels, sampled = a["labels"], a["sampled"]
    w_true, w_samp = w[labels], w[sampled]  # (N, E, D), (S, D)
    with np.errstate(invalid="ignore", over="ignore"):
        true = np.einsum("nd,ned->ne", x, w_true) + b[labels]
        # einsum, not a matrix product: BLAS may sum an item's D products in another order for
        # another N, and an item's loss must not depend on the other items
        samp = np.einsum("nd,sd->ns", x, w_samp) + b[sampled]
        # each logit adds D products, a bias and a log: the size of its terms
        true_scale = np.einsum("nd,ned->ne", np.abs(x), np.abs(w_true)) + np.abs(b[labels])
        samp_scale = np.einsum("nd,sd->ns", np.abs(x), np.abs(w_samp)) + np.abs(b[sampled])
        if p["subtract_log_q"]:
            log_qt, log_qs = np.log(a["true_expected_count"]), np.log(a["sampled_expected_count"])
            true, samp = true - log_qt, samp - log_qs
            true_scale, samp_scale = true_scale + np.abs(log_qt), samp_scale + np.abs(log_qs)
    hits = hits(a) if p["remove_accidental_hits"] else np.zeros((len(x), len(sampled)), bool)
    samp = np.where(hits, -np.inf, samp)
    samp_scale = np.where(hits, 0.0, samp_scale)
    return true, samp, true_scale, samp_scale, hits


def _backprop(a, dt, ds):
    """Gradients of x, W, b from those of the true (N, E) and sampled (N, S) logits."""
    x, w = a["inputs"], a["weights"]
    labels, sampled = a["labels"], a["sampled"]
    with np.errstate(invalid="ignore", over="ignore"):
        dx = np.einsum("ne,ned->nd", dt, w[labels]) + np.einsum("ns,sd->nd", ds, w[sampled])
        dw = np.zeros_like(w)
        np.add.at(dw, labels.reshape(-1), (dt[:, :, None] * x[:, None, :]).reshape(-1, x.shape[1]))
        np.add.at(dw, sampled, np.einsum("ns,nd->sd", ds, x))
    db = np.zeros_like(a["biases"])
    np.add.at(db, labels.reshape(-1), dt.reshape(-1))
    np.add.at(db, sampled, np.sum(ds, axis=0))
    return {"inputs": dx, "weights": dw, "biases": db}


def sampled_softmax_loss(a, p, hits=accidental_hits) -> Elementwise:
    """ℓ_n = −(1/E) Σ_e t_{n,e} + log(Σ_e exp t_{n,e} + Σ_j exp s_{n,j}): the softmax
    cross-entropy of the logits (t_n, s_n) against the targets (1/E, …, 1/E, 0, …, 0) (Jean et
    al. 2015; tf.nn.sampled_softmax_loss with sampled_values given).

    Domain: x, W, b real; labels and sampled class indices in [0, C) (enforced); expected counts
    positive (enforced). Smooth: ∂ℓ_n/∂t_{n,e} = softmax_e − 1/E, ∂ℓ_n/∂s_{n,j} = softmax_j (0 at a
    removed accidental hit), chained through the logits to x, W and b (a class sampled twice, or
    both true and sampled, collects every share).
    """
    true, samp, *_ = _logits(a, p, hits)
    z = np.concatenate([true, samp], axis=1)
    e = true.shape[1]
    return Elementwise(-np.sum(log_softmax(z, axis=1)[:, :e], axis=1) / e)


def sampled_softmax_loss_vjp(a, p, g, hits=accidental_hits):
    true, samp, *_ = _logits(a, p, hits)
    z = np.concatenate([true, samp], axis=1)
    e = true.shape[1]
    dz = np.exp(log_softmax(z, axis=1))
    # one true class: softmax − 1 as minus the others' share, not 1 minus a number near 1
    dz[:, :e] = -softmax_complement(z, axis=1)[:, :1] if e == 1 else dz[:, :e] - 1.0 / e
    dz = dz * g[:, None]
    return _backprop(a, dz[:, :e], dz[:, e:])


def nce_loss(a, p, hits=accidental_hits) -> Elementwise:
    """ℓ_n = Σ_e [softplus(t_{n,e}) − t_{n,e}/E] + Σ_j softplus(s_{n,j}): one logistic loss per
    logit, target 1/E on the true ones and 0 on the sampled ones (noise-contrastive estimation,
    Gutmann & Hyvärinen 2010; tf.nn.nce_loss with sampled_values given).

    Domain: as sampled_softmax_loss. A removed accidental hit (s = −inf) costs softplus(−inf) = 0.
    Smooth: ∂ℓ_n/∂t_{n,e} = σ(t_{n,e}) − 1/E, ∂ℓ_n/∂s_{n,j} = σ(s_{n,j}), chained as there.
    """
    true, samp, *_ = _logits(a, p, hits)
    e = true.shape[1]
    # softplus(t) − t/E, for t > 0 written as softplus(−t) + (1 − 1/E)·t: the same number, two
    # non-negative terms, where softplus(t) − t/E cancels (for E = 1 to 0 in place of e^−t: t =
    # 54.8 gave 0 for 1.6e-24, beside a loss of 4e-20); for t ≤ 0 both terms of the first form
    # are non-negative already (t = −inf gives +inf, not 0·−inf; t = +inf keeps the first form's
    # inf − inf = NaN, as the mpmath twin defines it)
    with np.errstate(invalid="ignore"):
        kept = np.where(
            np.isfinite(true) & (true > 0),
            softplus(-true) + (1.0 - 1.0 / e) * true,
            softplus(true) - true / e,
        )
    return Elementwise(np.sum(kept, axis=1) + np.sum(softplus(samp), axis=1))


def nce_loss_vjp(a, p, g, hits=accidental_hits):
    true, samp, *_ = _logits(a, p, hits)
    e = true.shape[1]
    # one true class: σ(t) − 1 = −σ(−t), without the cancellation near t ≫ 0
    dt = -sigmoid(-true) if e == 1 else sigmoid(true) - 1.0 / e
    return _backprop(a, dt * g[:, None], sigmoid(samp) * g[:, None])


def _value_scale(softmax: bool):
    def value(a, p, loss):
        _, _, ts, ss, _ = _logits(a, p)
        if softmax:
            # −mean of the true logits, then a log-sum-exp as large as the largest logit, + log(E + S)
            both = np.concatenate([ts, ss], axis=1)
            return np.mean(ts, axis=1) + np.max(both, axis=1) + 1.0 + np.log(both.shape[1])
        # one softplus and one product per logit, each as large as its logit
        return 2.0 * np.sum(ts, axis=1) + np.sum(ss, axis=1) + ts.shape[1] + ss.shape[1]

    return value


def _grad_scale(softmax: bool):
    value = _value_scale(softmax)

    def grads(a, p, c):
        # each logit's gradient in [−1, 1] has the absolute error of the value's terms
        t = np.abs(c) * (1.0 + value(a, p, None))
        e, s = a["labels"].shape[1], a["sampled"].shape[0]
        out = _backprop(
            {**a, "inputs": np.abs(a["inputs"]), "weights": np.abs(a["weights"])},
            np.broadcast_to(t[:, None], (t.shape[0], e)).copy(),
            np.broadcast_to(t[:, None], (t.shape[0], s)).copy(),
        )
        return {k: np.abs(v) for k, v in out.items()}

    return grads


def _edge_arrays(c, sampled):
    """The ci canonical shape (a compiled item compiles once for its drawn and edge cases): N = 4
    items of D = 3 features, C = 3 classes, E = 2 true classes each, S = 2 sampled classes."""
    return {
        "inputs": np.array(
            [[1.0, -0.5, 0.0], [0.25, 2.0, -1.0], [-1.5, 0.5, 0.75], [0.0, 1.0, 0.5]]
        ),
        "weights": np.array([[0.5, 1.0, -0.25], [-1.0, 0.5, 0.0], [2.0, 0.0, 1.0]]),
        "biases": np.array([0.0, 0.5, -0.25]),
        "labels": np.array([[0, 1], [1, 2], [2, 0], [0, 1]], dtype=np.int64),
        "sampled": np.array(sampled, dtype=np.int64),
        "true_expected_count": np.array([[0.5, 0.25], [0.25, 0.75], [0.75, 0.5], [0.5, 0.25]]),
        "sampled_expected_count": np.full(len(sampled), 0.5),
    }


_EDGES = (
    # class 1 is a true class of items 0, 1 and 3, class 2 of items 1 and 2
    Edge("a sampled class that is an item's true class", lambda c: _edge_arrays(c, [1, 2])),
    # items 0 and 3 have no hit, items 1 and 2 the same one twice
    Edge("one class sampled twice", lambda c: _edge_arrays(c, [2, 2])),
)


def _spec(name: str, summary: str, formula, vjp, softmax: bool) -> LossSpec:
    return LossSpec(
        name,
        "sampled",
        summary,
        (
            ArraySpec("inputs", REAL, differentiable=True, description="input features (N, D)"),
            ArraySpec("weights", REAL, differentiable=True, description="class weights (C, D)"),
            ArraySpec("biases", REAL, differentiable=True, description="class biases (C)"),
            ArraySpec("labels", CLASS_INDEX, differentiable=False, description="true classes"),
            ArraySpec("sampled", CLASS_INDEX, differentiable=False, description="sampled classes"),
            ArraySpec("true_expected_count", EXPECTED_COUNT, differentiable=False),
            ArraySpec("sampled_expected_count", EXPECTED_COUNT, differentiable=False),
        ),
        (
            P.flag(
                "remove_accidental_hits", False, "a sampled class equal to a true one is removed"
            ),
            P.flag(
                "subtract_log_q", True, "the log expected counts are subtracted from the logits"
            ),
            P.reduction(),
        ),
        (
            Layout(
                "(N, D)",
                {
                    "inputs": ("N", "D"),
                    "weights": ("C", "D"),
                    "biases": ("C",),
                    "labels": ("N", "E"),
                    "sampled": ("S",),
                    "true_expected_count": ("N", "E"),
                    "sampled_expected_count": ("S",),
                },
            ),
        ),
        formula,
        vjp,
        term_scale=TermScale(_value_scale(softmax), _grad_scale(softmax)),
        edges=_EDGES,
        element_kind="per_vector",
    )


LOSSES = (
    _spec(
        "sampled_softmax_loss",
        "softmax cross-entropy over the true classes and a given sample of the others",
        sampled_softmax_loss,
        sampled_softmax_loss_vjp,
        softmax=True,
    ),
    _spec(
        "nce_loss",
        "noise-contrastive estimation: a logistic loss per true and sampled class",
        nce_loss,
        nce_loss_vjp,
        softmax=False,
    ),
)
