"""The JAX/Optax adapter: optax's losses, differentiated by JAX's own autodiff, eager or ``jax.jit``.

Importing this module imports jax and optax and turns on ``jax_enable_x64`` (float64 cases need
it) and JAX's persistent compilation cache (:mod:`adapters.jax_setup`). With x64 on, a Python
float or an array built without a dtype would become float64, so every array is created with
the case's dtype explicitly and every result's dtype is checked.

Each mapped configuration is one Python expression, exactly as a JAX user writes it
(``jnp.mean(optax.losses.huber_loss(input, target, delta=0.5))``). The expression is compiled into
a small module source — ``loss_fn`` and ``value_and_grads`` (the value and the VJP through
``jax.vjp``) — and that same source is what :meth:`JaxAdapter.run` executes and what
:meth:`JaxAdapter.snippet` prints, so a reproducer cannot drift from the run.

Modes: ``eager`` calls ``value_and_grads`` directly, so JAX runs it op by op (that is what eager
means in JAX: ``jax.vjp`` traces the Python function on concrete values every call); ``jit`` keeps
one ``jax.jit(value_and_grads)`` per (loss, configuration, dtype, device), and JAX caches one
compilation per argument shape.

Several native forms per configuration (:data:`ALTERNATIVES`, :meth:`JaxAdapter.alternatives`):
``optax.losses.safe_softmax_cross_entropy`` beside ``softmax_cross_entropy`` (cross_entropy) and
``ctc_loss_with_forward_probs`` beside ``ctc_loss``; each runs as its own item with its ``api``,
and its own compiled source.

The mapping describes the installed jax/optax release (``tox -e upgrade-jax`` runs two): every
framework call in a recipe is checked against the installed functions' signatures, and behaviours
no signature shows are probed (:func:`offered`); what the release lacks is not-offered, with the
release named ("optax 0.2.4's smooth_labels has no axis argument").
"""

from __future__ import annotations

import ast
import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax

from .jax_setup import CodeBudget, configure

configure(jax)  # x64 and the persistent compilation cache, before any array exists

import jax.numpy as jnp  # noqa: E402  (after enabling x64, before any array exists)
import jaxlib  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

import reference as R  # noqa: E402
from reference import Case, configs  # noqa: E402

from .base import (  # noqa: E402
    Adapter,
    Divergence,
    FirstCalls,
    FrameworkError,
    Native,
    NotOffered,
    Outcome,
    Release,
    dtype_name,
    signature_of,
)
from .known import jax as jax_known  # noqa: E402

# NumPy dtypes for the arrays handed to JAX (bfloat16 from ml_dtypes, through jax.numpy).
NUMPY_DTYPES = {
    "float64": np.float64,
    "float32": np.float32,
    "float16": np.float16,
    "bfloat16": jnp.bfloat16,
}


# --- the mapping ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """One configuration as JAX code: an expression over the argument names.

    ``setup`` holds assignments the expression uses (``class_axis = …``); ``composition`` says
    what around the optax call is the user's own composition; ``conversions`` what was converted
    (parameters, layout) on the way; ``needs`` names the behaviours of the installed release it
    relies on that no signature shows (keys of :data:`CAPABILITIES`).
    """

    expression: str
    composition: str | None = None
    conversions: tuple[str, ...] = ()
    setup: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()

    def native(self) -> Native:
        return Native(self.expression, self.composition, self.conversions)


# The installed release, as the not-offered reasons name it.
OPTAX = f"optax {optax.__version__}"

REDUCE = {"mean": "jnp.mean({})", "sum": "jnp.sum({})", "none": "{}"}
COMPOSITION = {
    "mean": "jnp.mean(…) over optax's elementwise losses",
    "sum": "jnp.sum(…) over optax's elementwise losses",
    "none": None,
}

# torch puts classes on dim 1 (dim 0 unbatched); optax takes the class axis as ``axis=``.
CLASS_AXIS = "class_axis = 1 if input.ndim > 1 else 0"
CLASS_AXIS_NOTE = (
    "axis=class_axis: torch's class dimension (1, or 0 for an unbatched (C) input) is passed as "
    "optax's axis= instead of moving it last"
)


def _reduced(config, call: str, conversions: tuple[str, ...] = (), setup=()) -> Recipe:
    reduction = config["reduction"]
    return Recipe(REDUCE[reduction].format(call), COMPOSITION[reduction], conversions, setup)


def _not_offered(reason: str) -> Callable[[Mapping[str, Any]], NotOffered]:
    return lambda config: NotOffered(reason)


def _mse_loss(c):
    return _reduced(c, "optax.losses.squared_error(input, target)")


def _huber_loss(c):
    return _reduced(c, f"optax.losses.huber_loss(input, target, delta={c['delta']!r})")


def _smooth_l1_loss(c):
    if c["beta"] != 1.0:
        return NotOffered(
            "smooth_l1(β) = huber(δ=β)/β and optax has only huber_loss: for β ≠ 1 the result "
            "would have to be divided by β (β = 0 is the absolute error, which optax lacks)"
        )
    return _reduced(
        c,
        "optax.losses.huber_loss(input, target, delta=1.0)",
        ("delta = beta = 1.0: smooth_l1(β) = huber(δ=β)/β is huber itself at β = 1",),
    )


def _log_cosh(c):
    return _reduced(c, "optax.losses.log_cosh(input, target)")


def _bce_with_logits(c):
    if c["weight"] or c["pos_weight"]:
        return NotOffered(
            "optax.losses.sigmoid_binary_cross_entropy has no weight or pos_weight argument; "
            "multiplying the loss terms by hand would re-implement the loss"
        )
    return _reduced(c, "optax.losses.sigmoid_binary_cross_entropy(input, target)")


def _sigmoid_focal_loss(c):
    return _reduced(
        c,
        f"optax.losses.sigmoid_focal_loss(input, target, alpha={c['alpha']!r}, "
        f"gamma={c['gamma']!r})",
    )


def _cross_entropy(c):
    if c["weight"]:
        return NotOffered(
            "optax's softmax cross-entropy losses have no class-weight argument; weighting the "
            "per-class terms (and torch's weighted mean) by hand would re-implement the loss"
        )
    setup = [CLASS_AXIS]
    conversions = [CLASS_AXIS_NOTE]
    composition = []
    where = ""
    mean = "jnp.mean({})"
    if c["target_kind"] == "index" and c.get("ignore_index") is not None:
        setup.append(f"kept = target != {c['ignore_index']!r}")
        where = ", where=kept"
        mean = "jnp.mean({}, where=kept)"
        composition.append(
            "ignore_index → optax's where=kept (kept = target != ignore_index): ignored items "
            "give 0"
            + (
                ", and jnp.mean(…, where=kept) divides by the number of kept items, as torch does"
                if c["reduction"] == "mean"
                else ""
            )
        )
    if c["target_kind"] == "index" and not c["label_smoothing"]:
        call = (
            "optax.losses.softmax_cross_entropy_with_integer_labels("
            f"input, target, axis=class_axis{where})"
        )
    else:
        labels = "target"
        if c["target_kind"] == "index":
            labels = "jax.nn.one_hot(target, input.shape[class_axis], dtype=input.dtype, axis=class_axis)"
            composition.append(
                "jax.nn.one_hot(target, C, dtype=input.dtype) turns indices into the one-hot "
                "labels optax's label smoothing needs"
            )
        if c["label_smoothing"]:
            labels = f"optax.smooth_labels({labels}, {c['label_smoothing']!r}, axis=class_axis)"
            composition.append(
                "optax.smooth_labels(labels, ε) (optax's own label smoothing: (1 − ε)·labels + ε/C)"
            )
        call = f"optax.losses.softmax_cross_entropy(input, {labels}, axis=class_axis{where})"
    reduction = c["reduction"]
    expression = mean.format(call) if reduction == "mean" else REDUCE[reduction].format(call)
    if reduction != "none":
        composition.insert(0, f"jnp.{reduction}(…) over optax's per-item losses")
    needs = ("item-where",) if where else ()
    return Recipe(
        expression, "; ".join(composition) or None, tuple(conversions), tuple(setup), needs
    )


def _safe_cross_entropy(c):
    """optax.losses.safe_softmax_cross_entropy, in the configurations cross_entropy maps to
    softmax_cross_entropy (probability targets, or label smoothing): it takes the classes on
    the last axis (no ``axis``) and has no ``where``."""
    if c["weight"]:
        return NotOffered("optax.losses.safe_softmax_cross_entropy has no class-weight argument")
    if c["target_kind"] == "index" and not c["label_smoothing"]:
        return NotOffered(
            "index targets without smoothing map to softmax_cross_entropy_with_integer_labels, "
            "which has no safe form; one-hot labels for safe_softmax_cross_entropy would be a "
            "composition the native mapping does not need"
        )
    if c["target_kind"] == "index" and c.get("ignore_index") is not None:
        return NotOffered(
            "optax.losses.safe_softmax_cross_entropy has no where= argument: ignore_index has no "
            "per-item mask to map to"
        )
    setup = [CLASS_AXIS]
    composition = []
    if c["target_kind"] == "index":
        labels = "jax.nn.one_hot(target, input.shape[class_axis], dtype=input.dtype)"
        composition.append(
            "jax.nn.one_hot(target, C, dtype=input.dtype) turns indices into the one-hot "
            "labels optax's label smoothing needs"
        )
    else:
        labels = "jnp.moveaxis(target, class_axis, -1)"
    if c["label_smoothing"]:
        labels = f"optax.smooth_labels({labels}, {c['label_smoothing']!r})"
        composition.append(
            "optax.smooth_labels(labels, ε) (optax's own label smoothing: (1 − ε)·labels + ε/C)"
        )
    call = f"optax.losses.safe_softmax_cross_entropy(jnp.moveaxis(input, class_axis, -1), {labels})"
    reduction = c["reduction"]
    if reduction != "none":
        composition.insert(0, f"jnp.{reduction}(…) over optax's per-item losses")
    conversions = (
        "jnp.moveaxis(…, class_axis, -1): torch's class dimension (1, or 0 for an unbatched (C) "
        "input) moved last, where safe_softmax_cross_entropy (no axis argument) takes it",
    )
    return Recipe(
        REDUCE[reduction].format(call), "; ".join(composition) or None, conversions, tuple(setup)
    )


def _multilabel_soft_margin_loss(c):
    if c["weight"]:
        return NotOffered(
            "optax.losses.sigmoid_binary_cross_entropy has no per-class weight argument"
        )
    per_item = "jnp.mean(optax.losses.sigmoid_binary_cross_entropy(input, target), axis=-1)"
    recipe = _reduced(c, per_item)
    items = "jnp.mean(…, axis=-1) over the C labels (torch's per-item average of C logistic losses)"
    outer = COMPOSITION[c["reduction"]]
    return Recipe(recipe.expression, items + (f"; {outer}" if outer else ""))


def _kl_div(c):
    api = "kl_divergence_with_log_targets" if c["log_target"] else "kl_divergence"
    reduction = c["reduction"]
    if reduction == "batchmean":
        return Recipe(
            f"jnp.mean(optax.losses.{api}(input, target, axis=rest_axes))",
            "jnp.mean(…) over the batch of per-item divergences",
            ("axis=rest_axes: every axis but the batch axis 0, so optax sums each item's terms",),
            ("rest_axes = tuple(range(1, input.ndim))",),
        )
    pointwise = f"optax.losses.{api}(input, target, axis=())"
    return Recipe(
        REDUCE[reduction].format(pointwise),
        COMPOSITION[reduction],
        (
            "axis=(): optax sums over the last axis by default (a per-distribution KL); an empty "
            "axis keeps torch's pointwise terms",
        ),
    )


def _triplet_margin_loss(c):
    # swap=True is written as torch spells it: no optax release so far takes it, so the signature
    # check (offered, below) makes it not-offered, naming the release.
    swap = ", swap=True" if c["swap"] else ""
    return _reduced(
        c,
        "optax.losses.triplet_margin_loss(anchor, positive, negative, "
        f"norm_degree={c['p']!r}, margin={c['margin']!r}, eps={c['eps']!r}{swap})",
        ("norm_degree = p",),
    )


def _cosine(api: str):
    """optax.losses.cosine_similarity / cosine_distance over the last axis (optax's default)."""

    def recipe(c):
        return _reduced(
            c,
            f"optax.losses.{api}(input1, input2, epsilon={c['eps'] ** 2!r})",
            (
                "epsilon = eps²: optax clips the squared norm, √max(Σx², ε) = max(‖x‖, √ε) "
                "(optax/losses/_regression.py:177-180 at 0.2.8; its docstring calls ε a minimum "
                "norm)",
            ),
        )

    return recipe


def _hinge_loss(c):
    if c["labels"] == "binary":
        return _reduced(
            c,
            "optax.losses.hinge_loss(input, 2 * target - 1)",
            ("targets = 2·target − 1: {0, 1} labels as the ±1 labels optax takes",),
        )
    return _reduced(c, "optax.losses.hinge_loss(input, target)")


def _ctc_loss(c, api: str = "ctc_loss"):
    if c["zero_infinity"]:
        return NotOffered(
            "optax.losses.ctc_loss has no zero_infinity: an item without an alignment costs a "
            "large finite number there (log_epsilon = −1e5 stands for log 0), never +inf, so "
            "there is no infinity to zero"
        )
    # ctc_loss_with_forward_probs returns (per-sequence loss, log α of the blank, log α of the
    # labels): ctc_loss is its first output (optax/losses/_classification.py:831-839 at 0.2.8)
    first = "[0]" if api == "ctc_loss_with_forward_probs" else ""
    call = (
        f"optax.losses.{api}(jnp.transpose(input, (1, 0, 2)), logit_paddings, targets, "
        f"label_paddings, blank_id={c['blank']!r}){first}"
    )
    setup = (
        "logit_paddings = (jnp.arange(input.shape[0])[None, :] >= input_lengths[:, None])"
        ".astype(input.dtype)",
        "label_paddings = (jnp.arange(targets.shape[1])[None, :] >= target_lengths[:, None])"
        ".astype(input.dtype)",
    )
    conversions = (
        "jnp.transpose(input, (1, 0, 2)): torch's time-major (T, N, K) as optax's (B, T, K)",
        "input_lengths, target_lengths → logit_paddings, label_paddings (1.0 at t ≥ T_n, at "
        "positions ≥ L_n)",
        "blank_id = blank",
    )
    reduction = c["reduction"]
    if reduction == "mean":
        expression = f"jnp.mean({call} / jnp.maximum(target_lengths, 1).astype(input.dtype))"
        composition = (
            "jnp.mean(… / jnp.maximum(target_lengths, 1)): torch's mean divides each item's loss "
            "by its target length, then averages the items"
        )
        return Recipe(expression, composition, conversions, setup)
    return Recipe(REDUCE[reduction].format(call), COMPOSITION[reduction], conversions, setup)


MAPPINGS: dict[str, Callable[[Mapping[str, Any]], Recipe | NotOffered]] = {
    "mse_loss": _mse_loss,
    "l1_loss": _not_offered(
        f"{OPTAX} has no absolute-error loss (huber_loss(delta=0) is identically 0, l2_loss "
        "and squared_error are squares); jnp.abs(input - target) would re-implement the loss"
    ),
    "huber_loss": _huber_loss,
    "smooth_l1_loss": _smooth_l1_loss,
    "log_cosh": _log_cosh,
    "binary_cross_entropy": _not_offered(
        "optax has no binary cross-entropy of probabilities, only of logits "
        "(sigmoid_binary_cross_entropy); converting probabilities to logits would change the loss"
    ),
    "binary_cross_entropy_with_logits": _bce_with_logits,
    "sigmoid_focal_loss": _sigmoid_focal_loss,
    "cross_entropy": _cross_entropy,
    "nll_loss": _not_offered(
        "optax has no negative log-likelihood of given log-probabilities: "
        "softmax_cross_entropy_with_integer_labels renormalises its input (it equals nll_loss only "
        "where logsumexp(input) = 0)"
    ),
    "multi_margin_loss": _not_offered(
        "optax.losses.multiclass_hinge_loss is the Crammer-Singer hinge max_j(x_j + 1 − [j = y]) − "
        "x_y (a max over classes, margin 1), not torch's Σ_{i≠y} max(0, margin − x_y + x_i)^p / C; "
        "optax has no p, margin or class weight"
    ),
    "multilabel_margin_loss": _not_offered(
        f"{OPTAX} has no multilabel margin loss (multiclass_hinge_loss is the Crammer-Singer "
        "hinge with one integer label per item, a different definition)"
    ),
    "multilabel_soft_margin_loss": _multilabel_soft_margin_loss,
    "kl_div": _kl_div,
    "poisson_nll_loss": _not_offered(f"{OPTAX} has no Poisson negative log-likelihood loss"),
    "gaussian_nll_loss": _not_offered(f"{OPTAX} has no Gaussian negative log-likelihood loss"),
    "mean_squared_logarithmic_error": _not_offered(
        f"{OPTAX} has no squared logarithmic error (Keras' MeanSquaredLogarithmicError is its home)"
    ),
    "mean_absolute_percentage_error": _not_offered(
        f"{OPTAX} has no percentage error (Keras' MeanAbsolutePercentageError is its home)"
    ),
    "triplet_margin_loss": _triplet_margin_loss,
    "triplet_margin_with_distance_loss": _not_offered(
        "optax has no triplet loss that takes a distance function; optax.losses."
        "triplet_margin_loss (its own norm and eps) is mapped under triplet_margin_loss"
    ),
    "cosine_embedding_loss": _not_offered(
        "optax.losses.cosine_distance is 1 − cos(x1, x2) with no ±1 label and no margin; the "
        "y = −1 branch max(0, cos − margin) has no optax form"
    ),
    "margin_ranking_loss": _not_offered(
        "optax has no ranking hinge of two scores: hinge_loss(s, y) = max(0, 1 − s·y) fixes the "
        "margin at 1 and perceptron_loss at 0, and both take one score, not x1 and x2"
    ),
    "hinge_embedding_loss": _not_offered(
        "optax has no hinge embedding loss: hinge_loss(x, y) = max(0, 1 − x·y) differs for y = 1 "
        "(torch's loss is x itself there) and has no margin"
    ),
    "soft_margin_loss": _not_offered(
        "optax has no logistic loss on ±1 labels: sigmoid_binary_cross_entropy takes labels in "
        "[0, 1], and rewriting the labels as (y + 1)/2 is a change of the input, not a native call"
    ),
    "ctc_loss": _ctc_loss,
    "l2_loss": lambda c: _reduced(
        c, "optax.losses.l2_loss(input, target)" if c["target"] else "optax.losses.l2_loss(input)"
    ),
    "hinge_loss": _hinge_loss,
    "squared_hinge": _not_offered(
        f"{OPTAX} has no squared hinge loss (hinge_loss is max(0, 1 − s·x), unsquared); "
        "keras.losses.SquaredHinge computes it (the keras columns)"
    ),
    "perceptron_loss": lambda c: _reduced(c, "optax.losses.perceptron_loss(input, target)"),
    "multiclass_hinge_loss": lambda c: _reduced(
        c, "optax.losses.multiclass_hinge_loss(input, target)"
    ),
    "multiclass_perceptron_loss": lambda c: _reduced(
        c, "optax.losses.multiclass_perceptron_loss(input, target)"
    ),
    "cosine_similarity": _cosine("cosine_similarity"),
    "cosine_distance": _cosine("cosine_distance"),
    "negative_cosine_similarity": _not_offered(
        "optax.losses.cosine_similarity is +cos (mapped under cosine_similarity) and "
        "cosine_distance is 1 − cos (its own loss); optax has no −cos, and negating either "
        "would be a composition no optax API names (keras.losses.CosineSimilarity is its home)"
    ),
    "categorical_hinge": _not_offered(
        "optax.losses.multiclass_hinge_loss (mapped under multiclass_hinge_loss) takes integer "
        "labels and is the Crammer-Singer hinge: it excludes the target from its max, where "
        "this loss keeps its masked entry 0, and it takes no soft labels (keras.losses."
        "CategoricalHinge is its home)"
    ),
    # issue 13: optax's own losses, classes (or the distribution) on optax's default last axis
    "poly_loss_cross_entropy": lambda c: _reduced(
        c, f"optax.losses.poly_loss_cross_entropy(input, target, epsilon={c['epsilon']!r})"
    ),
    "generalized_kl_divergence": lambda c: _reduced(
        c, "optax.losses.generalized_kl_divergence(input, target)"
    ),
    "sparsemax_loss": lambda c: _reduced(c, "optax.losses.sparsemax_loss(input, target)"),
    "multiclass_sparsemax_loss": lambda c: _reduced(
        c, "optax.losses.multiclass_sparsemax_loss(input, target)"
    ),
    "sampled_softmax_loss": _not_offered(
        "optax has no sampled softmax loss (no candidate sampling)"
    ),
    "nce_loss": _not_offered(
        "optax has no noise-contrastive estimation loss (no candidate sampling)"
    ),
    "categorical_focal_crossentropy": _not_offered(
        f"{OPTAX} has no softmax focal loss (sigmoid_focal_loss is the binary one, mapped under "
        "its own name); Keras' CategoricalFocalCrossentropy is its home"
    ),
    "categorical_generalized_cross_entropy": _not_offered(
        f"{OPTAX} has no generalized cross-entropy; Keras' CategoricalGeneralizedCrossEntropy is "
        "its home"
    ),
    "dice_loss": lambda c: _dice_loss(c),
    "tversky_loss": lambda c: _tversky_loss(c),
    "ntxent": lambda c: _ntxent(c),
    "circle_loss": _not_offered(
        f"{OPTAX} has no circle loss (its metric-learning losses are ntxent and "
        "triplet_margin_loss); Keras' Circle is its home"
    ),
}


# Further native forms of a configuration (issue 12): api name -> builder, run and recorded as
# items of their own beside MAPPINGS' form. Registry entries apply to every form of a
# configuration (a case does not carry its api): an entry about one form's behaviour is told
# apart by its model or its predicate, and the other form, agreeing with the reference there,
# leaves it unexplaining; a difference no entry explains is a visible mismatch.
ALTERNATIVES: dict[str, dict[str, Callable[[Mapping[str, Any]], Recipe | NotOffered]]] = {
    "cross_entropy": {"optax.losses.safe_softmax_cross_entropy": _safe_cross_entropy},
    "ctc_loss": {
        "optax.losses.ctc_loss_with_forward_probs": lambda c: _ctc_loss(
            c, "ctc_loss_with_forward_probs"
        )
    },
    # convex_kl_divergence is generalized_kl_divergence under its pre-0.2.5 name, kept as a
    # deprecated alias that calls it (optax/losses/_classification.py:641-653 at 0.2.8)
    "generalized_kl_divergence": {
        "optax.losses.convex_kl_divergence": lambda c: _reduced(
            c, "optax.losses.convex_kl_divergence(input, target)"
        )
    },
}


# optax's dice losses (optax/losses/_segmentation.py at 0.2.8) are the Tversky form
# 1 − (I + s)/(I + α(P − I) + β(T − I) + s) per class, on logits through a sigmoid (one class) or
# a softmax; with apply_softmax/apply_sigmoid=False they insist that the predictions sum to 1
# along the class axis (lines 153-162), which a single-class probability never does but at 1.
OPTAX_PROBABILITIES = (
    "optax's dice losses with apply_sigmoid/apply_softmax=False check that the predictions sum "
    "to 1 along the class axis (optax/losses/_segmentation.py:153-162 at 0.2.8): a binary mask's "
    "single class of probabilities fails that check unless every probability is 1 (and under "
    "jax.jit the check cannot run at all)"
)
SEGMENTATION_AXIS = (
    "input[..., None], target[..., None]: one class on a trailing axis, so optax sums over the "
    "D axis (its default axis, all but the first and the last) and applies the sigmoid"
)


def _dice_loss(c):
    if not c["logits"]:
        return NotOffered(OPTAX_PROBABILITIES)
    return _reduced(
        c,
        f"optax.losses.binary_dice_loss(input, target, smooth={c['smooth'] / 2!r})",
        (
            "smooth = canonical smooth / 2: optax's ratio (I + s)/(I + ½(P − I) + ½(T − I) + s) "
            "= (2I + 2s)/(P + T + 2s)",
        ),
    )


def _tversky_loss(c):
    if not c["logits"]:
        return NotOffered(OPTAX_PROBABILITIES)
    return _reduced(
        c,
        "optax.losses.dice_loss(input[..., None], target[..., None], "
        f"alpha={c['alpha']!r}, beta={c['beta']!r}, smooth={c['smooth']!r})",
        (SEGMENTATION_AXIS,),
    )


def _ntxent(c):
    if c["reduction"] != "mean":
        return NotOffered(
            "optax.losses.ntxent returns only the mean over the ordered positive pairs (a scalar): "
            "no per-anchor losses to sum or to weight"
        )
    return Recipe(f"optax.losses.ntxent(embeddings, labels, temperature={c['temperature']!r})")


# --- what the installed release offers ----------------------------------------------------------
#
# The upgrade workflow runs this adapter on two jax/optax releases, so the mapping describes the
# one installed, by feature detection rather than version numbers: a recipe is offered when every
# jax/jnp/optax call in its source exists and takes the arguments it passes (read from the
# installed functions' signatures), and when the release has each behaviour in ``needs`` that no
# signature shows (probed once). What is missing is not-offered, with the release named.

NAMESPACE = {"jax": jax, "jnp": jnp, "optax": optax}
RELEASES = {
    "jax": f"jax {jax.__version__}",
    "jnp": f"jax {jax.__version__}",
    "optax": f"optax {optax.__version__}",
}


def _dotted(node: ast.expr) -> str | None:
    """``optax.losses.huber_loss`` for an attribute chain rooted at jax, jnp or optax."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id in NAMESPACE and parts:
        return ".".join([node.id, *reversed(parts)])
    return None


def _calls(recipe: Recipe) -> list[tuple[str, int, tuple[str, ...]]]:
    """(function, positional count, keyword names) of each framework call in the recipe's source."""
    tree = ast.parse("\n".join([*recipe.setup, recipe.expression]))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (name := _dotted(node.func)):
            keywords = tuple(k.arg for k in node.keywords if k.arg is not None)
            found.append((name, len(node.args), keywords))
    return found


@functools.cache
def _call_problem(name: str, positional: int, keywords: tuple[str, ...]) -> str | None:
    """Why the installed release cannot make this call (None: it can)."""
    root, *path = name.split(".")
    release = RELEASES[root]
    target = NAMESPACE[root]
    for attribute in path:
        target = getattr(target, attribute, None)
        if target is None:
            return f"{release} has no {name}"
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):  # no introspectable signature: nothing more to check
        return None
    kinds = {p.kind for p in parameters}
    named = {p.name for p in parameters if p.kind not in (p.POSITIONAL_ONLY, p.VAR_POSITIONAL)}
    if inspect.Parameter.VAR_KEYWORD not in kinds:
        for keyword in keywords:
            if keyword not in named:
                return f"{release}'s {path[-1]} has no {keyword} argument"
    room = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)
    if inspect.Parameter.VAR_POSITIONAL not in kinds and positional > room:
        return f"{release}'s {path[-1]} takes {room} positional arguments, not {positional}"
    return None


def _cross_entropy_masks_items() -> bool:
    """Whether optax's softmax cross-entropies take ``where=`` per item (the labels' shape,
    expanded along ``axis``) and give 0 for a masked item — what ignore_index maps to. optax
    0.2.4 reads ``where`` as a mask of the logits' elements, where a per-item mask fails to
    broadcast (or, were C = N, would mask classes)."""
    logits = jnp.zeros((2, 3), jnp.float32)
    labels, kept = jnp.array([0, 1]), jnp.array([True, False])
    try:
        losses = (
            optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels, where=kept),
            optax.losses.softmax_cross_entropy(logits, jax.nn.one_hot(labels, 3), where=kept),
        )
    except Exception:  # any refusal (a failed broadcast, a chex assertion) means no
        return False
    return all(
        loss.shape == (2,) and np.isfinite(float(loss[0])) and float(loss[1]) == 0.0
        for loss in losses
    )


@dataclass(frozen=True)
class Capability:
    """A behaviour a recipe relies on that no signature shows: a probe, and the reason given
    (with the release named) when the installed release lacks it."""

    probe: Callable[[], bool]
    missing: str


CAPABILITIES = {
    "item-where": Capability(
        _cross_entropy_masks_items,
        f"{OPTAX}'s softmax cross-entropy losses take where= as a mask of the logits' elements, "
        "not of items: ignore_index has no per-item mask to map to",
    ),
}


@functools.cache
def _has(capability: str) -> bool:
    return bool(CAPABILITIES[capability].probe())


def offered(recipe: Recipe | NotOffered) -> Recipe | NotOffered:
    """The recipe if the installed jax/optax can run it, else why not."""
    if isinstance(recipe, NotOffered):
        return recipe
    for call in _calls(recipe):
        problem = _call_problem(*call)
        if problem:
            return NotOffered(problem)
    for capability in recipe.needs:
        if not _has(capability):
            return NotOffered(CAPABILITIES[capability].missing)
    return recipe


# --- compiled configurations ------------------------------------------------------------------


def module_source(recipe: Recipe, names: tuple[str, ...], differentiable: tuple[str, ...]) -> str:
    """``loss_fn`` and ``value_and_grads`` for one configuration, as Python source.

    The gradients come from one ``jax.vjp`` of the native call with respect to the differentiable
    arguments (the others are closed over): with the case's cotangent for reduction ``none``,
    with 1 for a scalar result.
    """
    args = ", ".join(names)
    diff = ", ".join(differentiable)
    body = [f"    {line}" for line in recipe.setup] + [f"    return {recipe.expression}"]
    return "\n".join(
        [
            f"def loss_fn({args}):",
            *body,
            "",
            "",
            f"def value_and_grads({args}, cotangent=None):",
            f"    value, pullback = jax.vjp(lambda {diff}: loss_fn({args}), {diff})",
            "    seed = jnp.ones_like(value) if cotangent is None else cotangent",
            f"    return value, dict(zip({differentiable!r}, pullback(seed)))",
            "",
        ]
    )


@dataclass
class Compiled:
    """One configuration ready to run: its source, and the callables built from that source."""

    names: tuple[str, ...]
    differentiable: tuple[str, ...]
    source: str
    loss_fn: Callable
    value_and_grads: Callable  # jax.jit-wrapped in jit mode
    jitted: bool

    def compilations(self) -> int:
        """Distinct compilations so far (jit mode; one per argument shape and dtype)."""
        return self.value_and_grads._cache_size() if self.jitted else 0


def _compile(recipe: Recipe, names, differentiable, jitted: bool) -> Compiled:
    source = module_source(recipe, names, differentiable)
    namespace = {"jax": jax, "jnp": jnp, "optax": optax}
    exec(compile(source, f"<lossconf jax: {recipe.expression[:60]}>", "exec"), namespace)
    fn = namespace["value_and_grads"]
    return Compiled(
        names,
        differentiable,
        source,
        namespace["loss_fn"],
        jax.jit(fn) if jitted else fn,
        jitted,
    )


# --- the adapter ------------------------------------------------------------------------------


class Configured(NamedTuple):
    config_id: str
    config: dict[str, Any]
    recipe: Recipe | NotOffered


class JaxAdapter(Adapter):
    name = "jax"
    modes = ("eager", "jit")

    def compiles_per_shape(self, mode: str) -> bool:
        """Both modes: op-by-op dispatch compiles each primitive with XLA once per shape and dtype
        on first use (``jax._src.dispatch.apply_primitive``), which dominated the eager run when
        shapes were drawn freely."""
        return True

    dtypes = ("float64", "float32", "float16", "bfloat16")

    def __init__(self):
        self._compiled: dict[tuple, Compiled] = {}
        self._configs: dict[tuple, Configured] = {}
        self._code = CodeBudget(jax)  # eager scans load code on every call (jax_setup)

    # identity

    def version(self) -> Release:
        """jax's version, carrying jaxlib's and optax's: registry entries about an optax
        behaviour name their range as ``versions="optax>=…"``."""
        return Release(jax.__version__, self.versions())

    def versions(self) -> dict[str, str]:
        return {"jax": jax.__version__, "jaxlib": jaxlib.__version__, "optax": optax.__version__}

    def devices(self) -> list[str]:
        return ["cpu"] + [f"cuda:{i}" for i in range(len(_gpus()))]

    def divergences(self) -> list[Divergence]:
        return list(jax_known.DIVERGENCES)

    # mapping

    def mapping(self, loss: str, config: Mapping[str, Any]) -> Native | NotOffered:
        recipe = self.recipe(loss, config)
        return recipe if isinstance(recipe, NotOffered) else recipe.native()

    def recipe(
        self, loss: str, config: Mapping[str, Any], api: str | None = None
    ) -> Recipe | NotOffered:
        """The recipe for a configuration (``api``: one of its :data:`ALTERNATIVES`, None for
        the mapping's own); parameters it leaves out take their defaults."""
        build = MAPPINGS.get(loss) if api is None else ALTERNATIVES.get(loss, {}).get(api)
        if build is None:
            named = "native form" if api is None else f"{api} form"
            return NotOffered(f"the JAX adapter maps no {named} of {loss}")
        return offered(build({**configs.config_of(R.get(loss), {}, set()), **config}))

    def alternatives(self, loss: str, config: Mapping[str, Any]) -> dict[str, Native]:
        """The offered :data:`ALTERNATIVES` of a configuration, whether or not its mapping's own
        form is offered (optax 0.2.4 lacks smooth_labels' axis, not the safe form's call)."""
        out = {}
        for api in ALTERNATIVES.get(loss, {}):
            recipe = self.recipe(loss, config, api)
            if isinstance(recipe, Recipe):
                out[api] = recipe.native()
        return out

    # running

    def run(self, case: Case, api: str | None = None) -> Outcome:
        configured = self._configured(case, api)
        if isinstance(configured.recipe, NotOffered):
            return Outcome(error=FrameworkError("NotOffered", configured.recipe.reason))
        self._code.tick()
        compiled = self.compiled(case, api)
        arrays = case.rounded()
        host = [_host(arrays[name], case.dtype) for name in compiled.names]
        cotangent = case.rounded_cotangent()
        if cotangent is not None:
            host.append(_host(cotangent, case.dtype))
        # One device_put for every array: per-array calls cost ~0.1 ms each.
        args = jax.device_put(host, _device(case.device))
        if cotangent is not None:
            cotangent = args.pop()
        signature = signature_of(compiled, [*args, cotangent])
        try:
            (value, grads), seconds, compiling = self.first_calls.run(
                lambda: jax.block_until_ready(compiled.value_and_grads(*args, cotangent)),
                signature,
            )
        except Exception as exc:  # the framework's exception is data
            return _forward_only(compiled, args, exc, self.first_calls)
        # a result in another dtype than the case's (x64 promotion) is compared as such
        # (cases.compare: the failed part "dtype"), so the dtypes travel with the numbers
        return Outcome(
            value=np.asarray(value, dtype=np.float64),
            grads={k: np.asarray(v, dtype=np.float64) for k, v in grads.items()},
            seconds=seconds,
            value_dtype=dtype_name(value),
            grad_dtypes={k: dtype_name(v) for k, v in grads.items()},
            compile_seconds=compiling,
        )

    def compiled(self, case: Case, api: str | None = None) -> Compiled:
        """The compiled form of a mapped case: one per (loss, config, api, dtype, device, mode)."""
        configured = self._configured(case, api)
        if isinstance(configured.recipe, NotOffered):
            raise ValueError(f"{configured.config_id} is not offered: {configured.recipe.reason}")
        key = (configured.config_id, api, case.dtype, case.device, case.mode)
        found = self._compiled.get(key)
        if found is None:
            spec = R.get(case.loss)
            names = tuple(a.name for a in spec.arrays if a.name in case.arrays)
            differentiable = tuple(self.differentiable_arguments(case))
            found = _compile(configured.recipe, names, differentiable, case.mode == "jit")
            self._compiled[key] = found
        return found

    def _configured(self, case: Case, api: str | None = None) -> Configured:
        # Memoised per (loss, params, arrays present, api): config_of, config_id and the mapping
        # are pure functions of these, and recomputing them is most of the harness's per-call cost.
        key = (case.loss, tuple(sorted(case.params.items())), tuple(sorted(case.arrays)), api)
        found = self._configs.get(key)
        if found is None:
            config = R.config_of(case)
            config_id = R.config_id(R.get(case.loss), config)
            found = Configured(config_id, config, self.recipe(case.loss, config, api))
            self._configs[key] = found
        return found

    # reproducer

    def snippet(self, case: Case, api: str | None = None) -> str:
        recipe = self._configured(case, api).recipe
        if isinstance(recipe, NotOffered):
            return f"# {case.loss}: not offered by JAX/Optax: {recipe.reason}\n"
        compiled = self.compiled(case, api)
        platform, index = _platform_and_index(case.device)
        put = [
            f"    {name!r}: jax.device_put(np.asarray(arrays[{name!r}], dtype="
            f"{'np.int64' if np.issubdtype(case.arrays[name].dtype, np.integer) else 'dtype'}), "
            "device),"
            for name in compiled.names
        ]
        lines = [
            "import jax",
            "",
            'jax.config.update("jax_enable_x64", True)  # for float64; arrays get explicit dtypes',
            "import jax.numpy as jnp",
            "import numpy as np",
            "import optax",
            "",
            compiled.source,
            *(["value_and_grads = jax.jit(value_and_grads)"] if compiled.jitted else []),
            f"device = jax.devices({platform!r})[{index}]",
            f"dtype = jnp.{case.dtype}",
            "inputs = {",
            *put,
            "}",
            "seed = None if cotangent is None else jax.device_put("
            "np.asarray(cotangent, dtype=dtype), device)",
            "value_, grads_ = value_and_grads(**inputs, cotangent=seed)",
            "value = np.asarray(value_, dtype=np.float64)",
            "grads = {k: np.asarray(v, dtype=np.float64) for k, v in grads_.items()}",
            'print("jax value:", value)',
            'print("jax grads:", grads)',
            "",
        ]
        return "\n".join(lines)


ADAPTER = JaxAdapter


# --- helpers ----------------------------------------------------------------------------------


def _gpus() -> list:
    try:
        return jax.devices("gpu")
    except RuntimeError:  # no GPU backend in this jaxlib, or no GPU
        return []


def _platform_and_index(device: str) -> tuple[str, int]:
    if device == "cpu":
        return "cpu", 0
    if device.startswith("cuda:"):
        return "gpu", int(device.split(":", 1)[1])
    raise ValueError(f"unknown device {device!r}; the JAX adapter knows 'cpu' and 'cuda:N'")


@functools.cache
def _device(device: str):
    platform, index = _platform_and_index(device)
    return jax.devices(platform)[index]


def _host(x: np.ndarray, dtype: str) -> np.ndarray:
    """A host array in the tested dtype (class indices stay int64), exact: x is already rounded."""
    if np.issubdtype(x.dtype, np.integer):
        return np.asarray(x, dtype=np.int64)
    return np.asarray(x, dtype=NUMPY_DTYPES[dtype])


def _forward_only(compiled: Compiled, args, exc: Exception, first_calls: FirstCalls) -> Outcome:
    """After value_and_grads raised: did the forward call raise, or only the gradient? The
    forward's dtype travels with it (optax's ctc_loss under x64 returns float64, and then the
    VJP's cotangent of the case's dtype is what failed): cases.compare holds it to the case's."""
    forward = jax.jit(compiled.loss_fn) if compiled.jitted else compiled.loss_fn
    value, forward_exc, seconds = first_calls.after_raise(
        lambda: jax.block_until_ready(forward(*args))
    )
    if forward_exc is not None:
        return Outcome(error=FrameworkError.of(forward_exc), seconds=seconds)
    message = str(FrameworkError.of(exc).message)
    return Outcome(
        value=np.asarray(value, dtype=np.float64),
        grad_errors={name: f"{type(exc).__name__}: {message}" for name in compiled.differentiable},
        seconds=seconds,
        value_dtype=dtype_name(value),
    )
