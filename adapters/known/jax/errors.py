"""JAX/Optax's error-only divergences: the inputs the reference rejects and JAX computes, as a
table keyed by (loss, argument).

One table for the whole framework rather than one per family module, because JAX's error-only
behaviour comes from two mechanisms that cut across every family: optax checks no label value
(and JAX cannot raise on a value-dependent condition inside compiled code), and optax's losses
apply NumPy broadcasting to their arguments. Each row is an :class:`Accepts`: it applies where the
reference's own check rejects ``argument``; the rows for "shapes" are narrowed to the shapes JAX
takes (NumPy broadcasting, or, for cross_entropy, a replay of optax's calls on the shapes), and
cross_entropy's index rows to integer indices, the subset of rejected targets JAX computes with.
Rows of one loss keep the order the judge reads them in.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from reference import Case
from reference.contract import Accepts, Divergence, Example

from ._common import (
    JAX_DOCS,
    OPTAX,
    REGRESSION_SOURCE,
    SAFE_SOFTMAX_XENT,
    SHARP_BITS,
    class_axis,
    full_params,
    uses_log_softmax,
)

# optax/losses/_classification.py at v0.2.8: ctc_loss's one-hot gather of the labels, and its
# docstring's paddings ("1.0 denotes that logits[b, t, :] are padded values").
CTC_ONE_HOT = OPTAX.format("_classification.py#L739-L740")
CTC_PADDINGS = OPTAX.format("_classification.py#L688-L697")

# --- narrowing predicates: the rejected inputs JAX computes with ------------------------------


def class_index_out_of_range(case: Case) -> bool:
    """Some index target lies outside [0, C) and is not ignore_index."""
    x, t = case.arrays.get("input"), case.arrays.get("target")
    if x is None or t is None or x.ndim == 0 or not np.issubdtype(t.dtype, np.integer):
        return False
    n_classes = x.shape[class_axis(x)]
    ignore = full_params(case)["ignore_index"]
    bad = (t < 0) | (t >= n_classes)
    if ignore is not None:
        bad &= t != ignore
    return bool(np.any(bad))


def broadcasts_together(case: Case) -> bool:
    """NumPy broadcasting joins the arrays' shapes."""
    try:
        np.broadcast_shapes(*(np.shape(v) for v in case.arrays.values()))
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


def optax_computes_ce(case: Case) -> bool:
    """optax's forward call, replayed on the shapes (broadcasting, take_along_axis, one_hot,
    smooth_labels' class count), returns a value."""
    x, t = np.shape(case.arrays["input"]), np.shape(case.arrays["target"])
    p = full_params(case)
    try:
        out = _ce_item_shape(x, t, p)
        masked = p["target_kind"] == "index" and p["ignore_index"] is not None
        if masked and p["reduction"] == "mean" and _joint(t, out) != out:
            return False  # jnp.mean(…, where=kept) counts jnp.broadcast_to(kept, out): one way
    except _Raises:
        return False
    return True


def log_softmax_path_computes(case: Case) -> bool:
    """On the log_softmax path (optax.losses.softmax_cross_entropy: probability targets or label
    smoothing), optax's calls compute for these shapes."""
    return uses_log_softmax(full_params(case)) and optax_computes_ce(case)


def _safe_item_shape(x: Shape, t: Shape, p: dict[str, Any]) -> Shape:
    """The shape of safe_softmax_cross_entropy's per-item losses in the adapter's alternative
    form: jnp.moveaxis(input, class_axis, -1) and the labels class-last (probability targets
    moved the same way, one-hot rows of index targets appended last), then
    −Σ_{-1} jnp.where(labels != 0, labels · log_softmax(logits), 0); _Raises if it raises."""
    if not x:
        raise _Raises  # moveaxis(…, 0, -1) of a 0-d array
    axis = 1 if len(x) > 1 else 0
    logits = (*x[:axis], *x[axis + 1 :], x[axis])
    if p["target_kind"] == "index":
        labels = (*t, x[axis])
    elif axis >= len(t):
        raise _Raises  # moveaxis(target, class_axis, -1) needs the class axis
    else:
        labels = (*t[:axis], *t[axis + 1 :], t[axis])
    return _joint(labels, logits)[:-1]


def safe_computes_ce(case: Case) -> bool:
    """The alternative form's forward call (optax.losses.safe_softmax_cross_entropy), replayed
    on the shapes, returns a value."""
    x, t = np.shape(case.arrays["input"]), np.shape(case.arrays["target"])
    p = full_params(case)
    if not uses_log_softmax(p):
        return False
    try:
        _safe_item_shape(x, t, p)
    except _Raises:
        return False
    return True


# --- the margin losses on scores: hinge, perceptron, Crammer-Singer -----------------------------

HINGE_SOURCE = OPTAX.format("_classification.py#L93-L124")
CRAMMER_SINGER_SOURCE = OPTAX.format("_classification.py#L421-L465")


def score_class_out_of_range(case: Case) -> bool:
    """Some integer label of a score row (class axis last) lies outside [0, C)."""
    x, t = case.arrays.get("input"), case.arrays.get("target")
    if x is None or t is None or x.ndim == 0 or not np.issubdtype(t.dtype, np.integer):
        return False
    return bool(np.any((t < 0) | (t >= x.shape[-1])))


def one_hot_broadcasts(case: Case) -> bool:
    """optax's multiclass losses compute for these shapes: scores + 1 − one_hot(labels, C) and
    dot(scores, one_hot) broadcast the scores (…, C) with the one-hot labels (labels' shape, C)."""
    x, t = np.shape(case.arrays["input"]), np.shape(case.arrays["target"])
    if not x:
        return False
    try:
        np.broadcast_shapes(x, (*t, x[-1]))
    except ValueError:
        return False
    return True


# --- the table --------------------------------------------------------------------------------

# optax validates no label value: a target outside [0, 1] is put through the formula.
unchecked_labels = partial(
    Accepts,
    argument="target",
    description=(
        "optax does not check that labels are probabilities, and JAX raises no error on a "
        "value-dependent condition (errors cannot be raised from compiled accelerator code): "
        "a target outside [0, 1] is put through the formula and returns a number, or NaN."
    ),
    citation=SHARP_BITS,
)
# Every optax loss but squared_error (which checks shapes) documents its targets as "broadcastable
# to predictions" and broadcasts; a shape mismatch only raises where broadcasting fails.
broadcasts = partial(
    Accepts,
    argument="shapes",
    description=(
        "optax documents its targets as 'a vector with shape broadcastable to that of "
        "predictions' and applies NumPy broadcasting: arrays whose shapes fit none of the "
        "loss's layouts but broadcast together are computed, not rejected."
    ),
    citation=REGRESSION_SOURCE,
    accepts=broadcasts_together,
    accepts_text="the shapes broadcast together",
)
# cross_entropy's index targets: JAX computes with the integer ones the reference rejects.
INDEX_TEXT = "an integer index target outside [0, C) that is not ignore_index"

# Example inputs: two items of three elements against one row of three (broadcastable, no layout).
TWO_ROWS = [[0.25, 1.25, 1.0], [0.0, 0.75, -0.5]]
ROWS_AGAINST_A_ROW = Example(
    {"reduction": "mean"}, {"input": TWO_ROWS, "target": [-0.25, 0.0, 0.75]}
)
ROWS_AGAINST_PROBABILITIES = Example(
    {"reduction": "mean"}, {"input": TWO_ROWS, "target": [0.25, 0.0, 0.5]}
)
# A label of 1.5, outside [0, 1], for the losses of one element per label.
LABEL_OUTSIDE = Example({"reduction": "mean"}, {"input": [0.3, -0.2], "target": [1.5, 0.5]})

ACCEPTS: list[Accepts] = [
    # regression family (squared_error, mse_loss, checks its shapes)
    broadcasts(
        id="huber_loss/broadcasts-mismatched-shapes", loss="huber_loss", example=ROWS_AGAINST_A_ROW
    ),
    broadcasts(
        id="smooth_l1_loss/broadcasts-mismatched-shapes",
        loss="smooth_l1_loss",
        example=ROWS_AGAINST_A_ROW,
    ),
    broadcasts(
        id="log_cosh/broadcasts-mismatched-shapes", loss="log_cosh", example=ROWS_AGAINST_A_ROW
    ),
    # binary family
    unchecked_labels(
        id="binary_cross_entropy_with_logits/target-outside-unit-interval",
        loss="binary_cross_entropy_with_logits",
        example=LABEL_OUTSIDE,
    ),
    broadcasts(
        id="binary_cross_entropy_with_logits/broadcasts-mismatched-shapes",
        loss="binary_cross_entropy_with_logits",
        example=ROWS_AGAINST_PROBABILITIES,
    ),
    unchecked_labels(
        id="sigmoid_focal_loss/target-outside-unit-interval",
        loss="sigmoid_focal_loss",
        example=LABEL_OUTSIDE,
    ),
    broadcasts(
        id="sigmoid_focal_loss/broadcasts-mismatched-shapes",
        loss="sigmoid_focal_loss",
        example=ROWS_AGAINST_PROBABILITIES,
    ),
    # classification family
    Accepts(
        id="cross_entropy/index-out-of-range-gather",
        loss="cross_entropy",
        argument="target",
        description=(
            "softmax_cross_entropy_with_integer_labels gathers the target logit with "
            "jnp.take_along_axis, which does not raise: an index ≥ C (or < −C) gives NaN (mode "
            "'fill'), and −C ≤ index < 0 wraps to class C + index (NumPy negative indexing), a "
            "finite loss for the wrong class. The gradient drops the out-of-range target term. "
            "Same in eager and jit."
        ),
        citation=JAX_DOCS.format("jax.numpy.take_along_axis"),
        where={"target_kind": "index", "label_smoothing": 0.0},
        accepts=class_index_out_of_range,
        accepts_text=INDEX_TEXT,
        example=Example(
            {"reduction": "mean"},
            {"input": [[-1.0, 0.5, 0.75], [1.0, -1.0, 0.0]], "target": [0, 3]},
        ),
    ),
    Accepts(
        id="cross_entropy/index-out-of-range-one-hot",
        loss="cross_entropy",
        argument="target",
        description=(
            "With label smoothing the index goes through jax.nn.one_hot, which encodes an index "
            "outside [0, C) (negative ones included) as an all-zero row: the item's loss is the "
            "smoothing term alone, a finite number, with no error."
        ),
        citation=JAX_DOCS.format("jax.nn.one_hot"),
        where={"target_kind": "index", "label_smoothing": 0.1},
        accepts=class_index_out_of_range,
        accepts_text=INDEX_TEXT,
        example=Example(
            {"label_smoothing": 0.1, "reduction": "mean"},
            {"input": [[-0.5, 2.25, 1.25], [-1.75, 1.25, 1.0]], "target": [0, -1]},
        ),
    ),
    unchecked_labels(
        id="cross_entropy/target-outside-unit-interval",
        loss="cross_entropy",
        where={"target_kind": "probability"},
        example=Example(
            {"target_kind": "probability", "reduction": "mean"},
            {"input": [[0.3, -0.2]], "target": [[1.5, -0.5]]},
        ),
    ),
    Accepts(
        id="cross_entropy/broadcasts-mismatched-shapes",
        loss="cross_entropy",
        argument="shapes",
        description=(
            "softmax_cross_entropy_with_integer_labels gathers the target logit with "
            "jnp.take_along_axis, which broadcasts every axis but the class axis (and, with "
            "ignore_index, the where=kept mask broadcasts against the logits): an index target of "
            "shape (1,) for an (N, C) input, or an (N, C) input with N = 1 against a target of "
            "shape (M,), is broadcast over the batch instead of rejected."
        ),
        citation=JAX_DOCS.format("jax.numpy.take_along_axis"),
        where={"target_kind": "index", "label_smoothing": 0.0},
        accepts=optax_computes_ce,
        accepts_text="take_along_axis and logsumexp broadcast the shapes",
        example=Example({"reduction": "mean"}, {"input": TWO_ROWS, "target": [1]}),
    ),
    Accepts(
        id="cross_entropy/log-softmax-broadcasts-mismatched-shapes",
        loss="cross_entropy",
        argument="shapes",
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
        accepts=log_softmax_path_computes,
        accepts_text="probability targets or label smoothing, and labels · log_softmax(logits) "
        "broadcasts the shapes",
        example=Example(  # one item's logits against two probability rows: two items
            {"target_kind": "probability", "reduction": "mean"},
            {"input": TWO_ROWS[:1], "target": [[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]},
        ),
    ),
    Accepts(
        id="cross_entropy/safe-broadcasts-mismatched-shapes",
        loss="cross_entropy",
        argument="shapes",
        description=(
            "optax.losses.safe_softmax_cross_entropy (the alternative form beside "
            "softmax_cross_entropy; no axis argument, so the mapping moves the classes last) "
            "returns −Σ jnp.where(labels != 0, labels · log_softmax(logits), 0) over the last "
            "axis: labels and logits broadcast both ways. An index target with a trailing 1, "
            "(N, 1), becomes (N, 1, C) one-hot rows against (N, C) logits: an (N, N) outer "
            "product of items, computed, not rejected. (softmax_cross_entropy's own shapes are "
            "the row above; each row holds for the form it names, and on the other form the "
            "shapes it alone takes are rejected, as the reference rejects them.)"
        ),
        citation=OPTAX.format("_classification.py#L203-L224")
        + " (weighted_logsoftmax: #L176-L181)",
        where={"ignore_index": None},
        accepts=safe_computes_ce,
        accepts_text="probability targets or label smoothing, and safe_softmax_cross_entropy's "
        "labels · log_softmax(logits), classes last, broadcasts the shapes",
        apis=(SAFE_SOFTMAX_XENT,),
        example=Example(  # two one-hot rows per item: a (2, 2) outer product of items
            {"label_smoothing": 0.1, "reduction": "sum"},
            {"input": TWO_ROWS, "target": [[1], [2]]},
            api=SAFE_SOFTMAX_XENT,
        ),
    ),
    unchecked_labels(
        id="multilabel_soft_margin_loss/target-outside-unit-interval",
        loss="multilabel_soft_margin_loss",
        example=Example({"reduction": "mean"}, {"input": [[0.3, -0.2]], "target": [[1.5, 0.5]]}),
    ),
    broadcasts(
        id="multilabel_soft_margin_loss/broadcasts-mismatched-shapes",
        loss="multilabel_soft_margin_loss",
        example=ROWS_AGAINST_PROBABILITIES,
    ),
    # distribution family
    unchecked_labels(
        id="kl_div/target-outside-unit-interval",
        loss="kl_div",
        where={"log_target": False},
        example=Example({"reduction": "mean"}, {"input": [[-0.3, -0.2]], "target": [[1.5, -0.5]]}),
    ),
    broadcasts(
        id="kl_div/broadcasts-mismatched-shapes",
        loss="kl_div",
        example=Example(
            {"reduction": "mean"},
            {"input": [[-0.25, -1.25, -1.0], [0.0, -0.75, -0.5]], "target": [0.25, 0.0, 0.5]},
        ),
    ),
    # embedding family
    broadcasts(
        id="triplet_margin_loss/broadcasts-mismatched-shapes",
        loss="triplet_margin_loss",
        example=Example(
            {"reduction": "mean"},
            {"anchor": TWO_ROWS, "positive": [-0.25, 0.0, 0.75], "negative": TWO_ROWS[::-1]},
        ),
    ),
    *(
        broadcasts(
            id=f"{loss}/broadcasts-mismatched-shapes",
            loss=loss,
            citation=OPTAX.format("_regression.py#L177-L183"),
            example=Example(
                {"reduction": "mean"}, {"input1": TWO_ROWS, "input2": [-0.25, 0.0, 0.75]}
            ),
        )
        for loss in ("cosine_similarity", "cosine_distance")
    ),
    # sequence family: optax.losses.ctc_loss takes paddings, not lengths, and checks no label
    Accepts(
        id="ctc_loss/targets-unchecked",
        loss="ctc_loss",
        argument="targets",
        description=(
            "ctc_loss checks no label: it gathers emissions with jax.nn.one_hot(labels, K), whose "
            "row for a label outside [0, K) is all zeros, so that label is emitted with "
            "log-probability 0 (probability 1); a label equal to blank_id is used as a label; "
            "padded labels are not read"
        ),
        citation=CTC_ONE_HOT,
        example=Example(
            {"reduction": "sum"},
            {
                "input": [[[-0.75, -1.0, -1.5]], [[-0.75, -1.0, -1.5]]],
                "targets": [[3]],
                "input_lengths": [2],
                "target_lengths": [1],
            },
        ),
    ),
    Accepts(
        id="ctc_loss/input-lengths-as-paddings",
        loss="ctc_loss",
        argument="input_lengths",
        description=(
            "optax takes logit_paddings, not lengths: the mapping's paddings (t ≥ T_n) of a "
            "length above T pad no step and of a negative length pad every step, so there is "
            "no length to reject"
        ),
        citation=CTC_PADDINGS,
        example=Example(
            {"reduction": "sum"},
            {
                "input": [[[-0.75, -1.0, -1.5]], [[-0.75, -1.0, -1.5]]],
                "targets": [[1]],
                "input_lengths": [3],
                "target_lengths": [1],
            },
        ),
    ),
    Accepts(
        id="ctc_loss/target-lengths-as-paddings",
        loss="ctc_loss",
        argument="target_lengths",
        description=(
            "optax takes label_paddings, not lengths: the mapping's paddings (positions ≥ L_n) "
            "of a negative length pad every label (an empty target), and of a length above S "
            "pad none"
        ),
        citation=CTC_PADDINGS,
        example=Example(
            {"reduction": "sum"},
            {
                "input": [[[-0.75, -1.0, -1.5]], [[-0.75, -1.0, -1.5]]],
                "targets": [[1]],
                "input_lengths": [2],
                "target_lengths": [-1],
            },
        ),
    ),
    # the margin losses on scores (new rows at the end of the table)
    Accepts(
        id="hinge_loss/labels-unchecked",
        loss="hinge_loss",
        argument="target",
        description=(
            "optax's hinge_loss documents targets 'strictly in the set {-1, 1}' and checks "
            "nothing (JAX cannot raise on a value inside compiled code): a label of 0 gives "
            "max(0, 1 − 0·x) = 1, a label of 2 doubles the slope; with labels='binary' the "
            "mapping's 2·target − 1 turns a label of −1 into −3 and ½ into 0."
        ),
        citation=HINGE_SOURCE,
        example=Example({"reduction": "mean"}, {"input": [0.5, -2.0], "target": [0.0, 2.0]}),
    ),
    Accepts(
        id="hinge_loss/broadcasts-mismatched-shapes",
        loss="hinge_loss",
        argument="shapes",
        description=(
            "optax's hinge_loss is jnp.maximum(0, 1 − predictor_outputs * targets), NumPy "
            "broadcasting included: scores and labels whose shapes broadcast together are "
            "computed (an outer product for (N) against (N, 1)), not rejected."
        ),
        citation=HINGE_SOURCE,
        accepts=broadcasts_together,
        accepts_text="the shapes broadcast together",
        example=Example({"reduction": "mean"}, {"input": TWO_ROWS, "target": [1.0, -1.0, 1.0]}),
    ),
    Accepts(
        id="perceptron_loss/labels-unchecked",
        loss="perceptron_loss",
        argument="target",
        description=(
            "optax's perceptron_loss documents targets 'strictly in the set {-1, 1}' and checks "
            "only their shape: a label of 0 gives max(0, −0·x) = 0, a label of 2 doubles the loss."
        ),
        citation=HINGE_SOURCE,
        example=Example({"reduction": "mean"}, {"input": [-0.5, -2.0], "target": [0.0, 2.0]}),
    ),
    *(
        Accepts(
            id=f"{loss}/label-out-of-range-one-hot",
            loss=loss,
            argument="target",
            description=(
                "the label goes through jax.nn.one_hot(labels, C), which encodes a label outside "
                "[0, C) (negative ones included) as an all-zero row: the target's score drops "
                "out of the loss (max_j(x_j + 1) − 0 for the hinge, max_j x_j for the "
                "perceptron), a number, no error."
            ),
            citation=f"{CRAMMER_SINGER_SOURCE} ({JAX_DOCS.format('jax.nn.one_hot')})",
            accepts=score_class_out_of_range,
            accepts_text="an integer label outside [0, C)",
            example=Example(
                {"reduction": "mean"},
                {"input": [[0.5, 1.5, -1.0], [2.0, 1.0, 0.0]], "target": [3, -1]},
            ),
        )
        for loss in ("multiclass_hinge_loss", "multiclass_perceptron_loss")
    ),
    *(
        Accepts(
            id=f"{loss}/broadcasts-mismatched-shapes",
            loss=loss,
            argument="shapes",
            description=(
                "scores (…, C) meet the one-hot labels (labels' shape, C) in an elementwise "
                "operation and a vectorised dot product, both NumPy-broadcasting: labels of shape "
                "(1,) for N items, or scores (1, C) against N labels, are computed, not rejected."
            ),
            citation=CRAMMER_SINGER_SOURCE,
            accepts=one_hot_broadcasts,
            accepts_text="scores and the one-hot labels broadcast together",
            example=Example({"reduction": "mean"}, {"input": TWO_ROWS, "target": [1]}),
        )
        for loss in ("multiclass_hinge_loss", "multiclass_perceptron_loss")
    ),
]

DIVERGENCES: list[Divergence] = [row.as_divergence() for row in ACCEPTS]
