"""The Keras 3 adapter: ``keras.losses`` on the backend ``KERAS_BACKEND`` names (tensorflow, jax or
torch), differentiated by that backend's own autodiff.

Each configuration maps to a :class:`Recipe`, as in the TensorFlow adapter: source text that builds
the Keras loss object once per dtype (``keras.losses.<Class>(…, dtype=DTYPE)``) and the body of
``native(...)``, written with ``keras.ops`` only, so the same recipe runs on every backend. The
backend supplies the rest — tensors, the vector-Jacobian product (``tf.GradientTape``,
``jax.vjp``, ``torch.autograd.grad``) and the compiled mode a Keras user gets on it
(``tf.function(jit_compile=True)``, ``jax.jit``; the torch backend runs eagerly, see
:data:`TORCH_COMPILE`). :meth:`KerasAdapter.run` executes that text and
:meth:`KerasAdapter.snippet` prints it.

Keras' semantics — the class axis is last, per-sample losses average the last axis before the
reduction, probabilities are clipped to [ε, 1 − ε] — are left as they are; the differences they
make are registered in :mod:`adapters.known.keras`, some on every backend, some on one backend
only (the backends implement ``keras.ops`` differently).

Several native forms per configuration (:meth:`KerasAdapter.alternatives`): each class is a
wrapper of a loss function (``keras.losses.mean_squared_error`` behind ``MeanSquaredError``,
:data:`FUNCTIONS`), which a user calls directly on the same arguments; it returns the per-sample
losses without the class's reduction, so it is a second native form of the reduction-``none``
configurations, its own item with its ``api``. What the function does differently from its class
(the class casts the function's result to the loss dtype; the class squeezes a trailing 1 where
the ranks differ, some functions do not) shows as the function's own divergences.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

import reference as R
from reference import Case

from .base import (
    Adapter,
    FrameworkError,
    Native,
    NotOffered,
    Outcome,
    signature_of,
    tensorflow_error,
    to_numpy,
)
from .known.keras import divergences_for

BACKEND = keras.backend.backend()

# torch.compile over Keras' torch backend, measured on this project's 2-core CPU machine (torch
# 2.13.0+cpu, Keras 3.15.1; forward + torch.autograd.grad of MeanSquaredError,
# BinaryFocalCrossentropy and SparseCategoricalCrossentropy(ignore_class) in float64, float32 and
# bfloat16 at three shapes each): it runs, but it is not offered as a mode. Each new (loss, dtype,
# shape) compiles for 4-20 s; after 8 recompilations of one function Dynamo silently falls back to
# eager (torch._dynamo's recompile limit), so a ci run would mostly test eager under another name;
# and in bfloat16 the compiled MeanSquaredError differs from eager (Inductor keeps bfloat16
# intermediates in float32), which would be a second, compiler-made column.
TORCH_COMPILE = False

if BACKEND == "jax":
    import jax

    from .jax_setup import CodeBudget, configure

    configure(jax)  # x64 (float64 is a tested dtype) and the persistent compilation cache
    import jax.numpy as jnp
elif BACKEND == "tensorflow":
    import logging

    import tensorflow as tf

    class _ExpectedRetracing(logging.Filter):
        """One tf.function per configuration, traced once per input shape by design."""

        def filter(self, record: logging.LogRecord) -> bool:
            return "triggered tf.function retracing" not in record.getMessage()

    tf.get_logger().addFilter(_ExpectedRetracing())
elif BACKEND == "torch":
    import torch
else:  # pragma: no cover
    raise ImportError(f"KERAS_BACKEND={BACKEND!r}: lossconf runs Keras on tensorflow, jax, torch")


# --- recipes: the native call of one configuration, as source ----------------------------------


@dataclass(frozen=True)
class Recipe:
    """How the native call of one configuration is built (see the TensorFlow adapter's Recipe):
    ``setup`` runs once per dtype, ``body`` is the body of ``native(<arrays>)``."""

    call: str
    body: str
    setup: str = ""
    composition: str | None = None
    conversions: tuple[str, ...] = ()
    # the same configuration through the class's loss function (its alternative API), if offered
    function: Recipe | None = None
    # an alternative's API name (``keras.losses.<function>``); None for a class's recipe
    api: str | None = None

    def native(self) -> Native:
        return Native(self.call, self.composition, self.conversions)


Builder = Callable[[Mapping[str, Any]], "Recipe | NotOffered"]

# Keras reduction argument for each canonical reduction (None: no aggregation).
KERAS_REDUCTION = {
    "mean": '"sum_over_batch_size"',
    "batchmean": '"sum_over_batch_size"',
    "sum": '"sum"',
    "none": "None",
}

CLASS_LAST = '''
def class_last(x):
    """torch's class dimension 1 moved to Keras' last axis (no-op for (C) and (N, C))."""
    return x if len(x.shape) <= 2 else keras.ops.moveaxis(x, 1, -1)
'''
CLASS_AXIS = '''
def class_axis(x):
    """torch's class dimension: 1, or 0 for an unbatched (C) input."""
    return 1 if len(x.shape) >= 2 else 0
'''
AXIS_NOTE = "axis = torch's class dimension (1; 0 for an unbatched (C) input)"
MOVEAXIS_NOTE = "keras.ops.moveaxis(input, 1, -1) for (N, C, d1, …): Keras' class axis is last"


def _kwargs(pairs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in pairs.items())


class _Raw(str):
    """A keyword value written into the source as code, not as a literal."""

    def __repr__(self) -> str:
        return str(self)


# The loss function behind each class: every class below is a LossFunctionWrapper of it
# (keras/src/losses/losses.py at 3.15.1), passed the same keyword arguments but reduction and
# dtype. The function returns the per-sample losses unreduced, so it is an alternative API of the
# class's reduction-none configurations only; a reduced configuration would need the adapter to
# write the reduction (loss math), so there the function is not offered.
FUNCTIONS = {
    "MeanSquaredError": "mean_squared_error",
    "MeanAbsoluteError": "mean_absolute_error",
    "MeanSquaredLogarithmicError": "mean_squared_logarithmic_error",
    "MeanAbsolutePercentageError": "mean_absolute_percentage_error",
    "Huber": "huber",
    "LogCosh": "log_cosh",
    "Hinge": "hinge",
    "SquaredHinge": "squared_hinge",
    "BinaryCrossentropy": "binary_crossentropy",
    "BinaryFocalCrossentropy": "binary_focal_crossentropy",
    "CategoricalCrossentropy": "categorical_crossentropy",
    "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
    "KLDivergence": "kl_divergence",
    "CosineSimilarity": "cosine_similarity",
    "CategoricalHinge": "categorical_hinge",
    # one configuration, poisson_nll_loss[log_input=False, full=False, none]: a triple of options
    # pairwise covering need not reach, which cases.selection.REQUIRED adds to the ci subset
    "Poisson": "poisson",
    "CategoricalGeneralizedCrossEntropy": "categorical_generalized_cross_entropy",
    "Dice": "dice",
    "CategoricalFocalCrossentropy": "categorical_focal_crossentropy",
}

# Functions also offered at reduction "sum", as keras.ops.sum of their per-sample values: the
# mapping issue 12 introduced for the sparse cross-entropy, whose per-sample values are the
# canonical elements (one per item, the class axis reduced by the loss itself), so the sum is the
# canonical sum. Every other function averages or sums the last axis of elementwise losses, where
# a sum of its values is not the canonical sum.
SUMMED_FUNCTIONS = frozenset({"sparse_categorical_crossentropy"})
# keras.losses.dice at axis=-1 returns one ratio per item, the canonical elements too; the ci
# profile reaches its mapped configurations only at sum (dice_loss[smooth=0.0,sum]).
# keras.losses.tversky is left out as poisson is: its smooth = 0 probability configurations at
# none or sum are triples the pairwise selection does not reach, so CI would never run it.
SUMMED_FUNCTIONS |= {"dice"}


def keras_recipe(
    cls: str,
    config: Mapping[str, Any],
    y_true: str = "target",
    y_pred: str = "input",
    setup: str = "",
    composition: str | None = None,
    conversions: tuple[str, ...] = (),
    per_call: bool = False,
    **kwargs: Any,
) -> Recipe:
    """``keras.losses.<cls>(**kwargs, reduction=…, dtype=DTYPE)(y_true, y_pred)``; the object is
    built once per dtype, or inside ``native`` (``per_call``) when an argument depends on the
    input (the class axis). Its ``function`` is the class's loss function on the same arguments
    (:data:`FUNCTIONS`), where it computes the configuration."""
    args = ", ".join(
        filter(None, (_kwargs(kwargs), f"reduction={KERAS_REDUCTION[config['reduction']]}"))
    )
    construct = f"loss_object = keras.losses.{cls}({args}, dtype=DTYPE)"
    call = f"return loss_object({y_true}, {y_pred})"
    function = FUNCTIONS.get(cls)
    return Recipe(
        call=f"keras.losses.{cls}({args})({y_true}, {y_pred})",
        setup=setup if per_call else f"{setup}\n{construct}\n",
        body=f"{construct}\n{call}" if per_call else call,
        composition=composition,
        conversions=conversions,
        function=function
        and function_recipe(
            function,
            config,
            y_true=y_true,
            y_pred=y_pred,
            setup=setup,
            composition=composition,
            conversions=conversions,
            **kwargs,
        ),
    )


def function_recipe(
    function: str,
    config: Mapping[str, Any],
    y_true: str = "target",
    y_pred: str = "input",
    setup: str = "",
    composition: str | None = None,
    conversions: tuple[str, ...] = (),
    **kwargs: Any,
) -> Recipe | None:
    """``keras.losses.<function>(y_true, y_pred, **kwargs)``, the per-sample loss function, at
    reduction ``none``; summed with ``keras.ops.sum`` at ``sum`` for :data:`SUMMED_FUNCTIONS`;
    None (not offered) otherwise."""
    reduction = config["reduction"]
    if reduction != "none" and not (reduction == "sum" and function in SUMMED_FUNCTIONS):
        return None
    args = ", ".join(filter(None, (f"{y_true}, {y_pred}", _kwargs(kwargs))))
    expr = f"keras.losses.{function}({args})"
    parts = [composition] if composition else []
    if reduction == "sum":
        expr = f"keras.ops.sum({expr})"
        parts.insert(0, "keras.ops.sum(…) over the per-sample result")
    return Recipe(
        call=expr,
        body=f"return {expr}",
        setup=setup,
        composition="; ".join(parts) or None,
        conversions=conversions,
        api=f"keras.losses.{function}",
    )


def not_offered_if(config: Mapping[str, Any], reasons: Mapping[str, str]) -> NotOffered | None:
    for name, reason in reasons.items():
        if config.get(name):
            return NotOffered(reason)
    return None


def not_offered(reason: str) -> Builder:
    return lambda config: NotOffered(reason)


# --- the mapping, loss by loss --------------------------------------------------------------------

SAMPLE_WEIGHT_IS_PER_SAMPLE = (
    "Keras losses take sample_weight, which weights the per-sample loss after the mean over the "
    "last axis, not each element before it"
)
NO_CLASS_WEIGHT = (
    "Keras cross-entropies have no per-class weight argument; sample_weight = "
    "ops.take(weight, target) would re-implement torch's weighted mean (divided by the summed "
    "weights), which Keras does not compute"
)


def keras_regression(cls: str, **params: str) -> Builder:
    """Keras' elementwise-mean regression losses; ``params`` maps Keras keyword → canonical name."""

    def build(config):
        return keras_recipe(cls, config, **{k: config[v] for k, v in params.items()})

    return build


def smooth_l1(config):
    beta = config["beta"]
    if beta == 1.0:
        return keras_recipe(
            "Huber",
            config,
            delta=1.0,
            conversions=(
                "delta = beta = 1.0: smooth_l1(β) = huber(δ=β)/β is huber itself at β = 1",
            ),
        )
    if beta == 0.0:
        return keras_recipe(
            "MeanAbsoluteError",
            config,
            conversions=("beta = 0: smooth_l1 is |input − target|, i.e. MeanAbsoluteError",),
        )
    return NotOffered(
        f"Keras has Huber(delta) but no smooth L1: smooth_l1(beta={beta}) = Huber(delta={beta}) / "
        f"{beta}, and dividing the result by beta would be result scaling, not a parameter "
        "conversion"
    )


def binary_cross_entropy(config):
    return not_offered_if(config, {"weight": SAMPLE_WEIGHT_IS_PER_SAMPLE}) or keras_recipe(
        "BinaryCrossentropy", config, from_logits=False
    )


def sigmoid_focal_loss(config):
    alpha = config["alpha"]
    balancing = (
        {"apply_class_balancing": True, "alpha": alpha}
        if alpha is not None
        else {"apply_class_balancing": False}
    )
    return keras_recipe(
        "BinaryFocalCrossentropy",
        config,
        conversions=() if alpha is not None else ("alpha=None → apply_class_balancing=False",),
        **balancing,
        gamma=config["gamma"],
        from_logits=True,
    )


def cross_entropy(config):
    refused = not_offered_if(config, {"weight": NO_CLASS_WEIGHT})
    if refused:
        return refused
    smoothing = config["label_smoothing"]
    ignore = config.get("ignore_index")
    if config["target_kind"] == "probability" or smoothing:
        if config["target_kind"] == "index" and ignore is not None:
            return NotOffered(
                "no Keras loss has both ignore_class and label_smoothing: "
                "SparseCategoricalCrossentropy has no label_smoothing, CategoricalCrossentropy "
                "(one-hot targets) no ignore_class"
            )
        one_hot = config["target_kind"] == "index"
        return keras_recipe(
            "CategoricalCrossentropy",
            config,
            y_true=(
                "keras.ops.one_hot(target, input.shape[class_axis(input)], "
                "axis=class_axis(input), dtype=DTYPE)"
                if one_hot
                else "target"
            ),
            setup=CLASS_AXIS,
            composition=(
                "keras.ops.one_hot(target, C): Keras label smoothing needs one-hot targets"
                if one_hot
                else None
            ),
            conversions=(AXIS_NOTE,),
            from_logits=True,
            **({"label_smoothing": smoothing} if smoothing else {}),
            axis=_Raw("class_axis(input)"),
            per_call=True,
        )
    kwargs = {"from_logits": True, **({"ignore_class": ignore} if ignore is not None else {})}
    composition = MOVEAXIS_NOTE + " (the TensorFlow backend supports only axis=-1)"
    return keras_recipe(
        "SparseCategoricalCrossentropy",
        config,
        y_pred="class_last(input)",
        setup=CLASS_LAST,
        composition=composition,
        **kwargs,
    )


def multilabel_soft_margin_loss(config):
    return not_offered_if(
        config,
        {
            "weight": "Keras BinaryCrossentropy has no per-class weight (sample_weight weights "
            "samples)"
        },
    ) or keras_recipe("BinaryCrossentropy", config, from_logits=True)


def kl_div(config):
    y_true = "keras.ops.exp(target)" if config["log_target"] else "target"
    note = "keras.ops.exp(input)" + (" and keras.ops.exp(target)" if config["log_target"] else "")
    return keras_recipe(
        "KLDivergence",
        config,
        y_true=y_true,
        y_pred="keras.ops.exp(input)",
        composition=f"{note}: Keras takes probabilities where torch takes log-probabilities",
    )


def poisson_nll_loss(config):
    if config["log_input"]:
        return NotOffered(
            "Keras Poisson takes the rate, not its log (log_input=True is tf.nn.log_poisson_loss, "
            "in the tf.nn column); feeding it keras.ops.exp(input) would add Keras' ε to a "
            "different formula"
        )
    if config["full"]:
        return NotOffered("Keras Poisson (rate input) has no Stirling term")
    return keras_recipe("Poisson", config)


# How each labels setting of the margin losses reaches Keras: Hinge and SquaredHinge convert y_true
# to 2y − 1 when every value is 0 or 1 and leave it as it is otherwise
# (convert_binary_labels_to_hinge, keras/src/losses/losses.py:1616-1633 at 3.15.1).
HINGE_LABELS = {
    "sign": (
        "labels='sign': the ±1 target passed as it is (Keras leaves a tensor holding −1 "
        "unconverted, and converts a tensor of 1s to itself, 2·1 − 1)"
    ),
    "binary": (
        "labels='binary': the {0, 1} target passed as it is, and Keras converts it to 2y − 1 "
        "because every value is 0 or 1"
    ),
}


def keras_margin(cls: str) -> Builder:
    """Keras' Hinge / SquaredHinge: max(0, 1 − s·x) (squared), s = y or 2y − 1 as ``labels``."""

    def build(config):
        return keras_recipe(cls, config, conversions=(HINGE_LABELS[config["labels"]],))

    return build


# Keras' Dice and Tversky (keras/src/losses/losses.py:2564-2654 at 3.15.1) take probabilities and
# add no smoothing to the numerator; their denominator adds keras.config.epsilon(), registered as
# a convention (adapters/known/keras/overlap.py). axis=-1 gives the canonical per-item ratio of an
# (N, D) batch; Keras' default axis=None would pool the whole batch into one ratio.
OVERLAP_NOT_OFFERED = {
    "logits": (
        "keras.losses.Dice and Tversky take probabilities and have no from_logits; the sigmoid "
        "would be the adapter's"
    ),
    "smooth": (
        "Keras' Dice and Tversky have no smoothing argument: the numerator gets none and the "
        "denominator keras.config.epsilon() (keras/src/losses/losses.py:2604-2610, 2649-2652 at "
        "3.15.1), which is smooth = 0 up to that ε"
    ),
}


def keras_overlap(cls: str, config, **kwargs: Any) -> Recipe | NotOffered:
    return not_offered_if(config, OVERLAP_NOT_OFFERED) or keras_recipe(
        cls,
        config,
        conversions=("axis=-1: one ratio per item of (N, D), as the canonical loss",),
        axis=-1,
        **kwargs,
    )


MAPPINGS: dict[str, Builder] = {
    "mse_loss": keras_regression("MeanSquaredError"),
    "l1_loss": keras_regression("MeanAbsoluteError"),
    "huber_loss": keras_regression("Huber", delta="delta"),
    "smooth_l1_loss": smooth_l1,
    "log_cosh": keras_regression("LogCosh"),
    "mean_squared_logarithmic_error": keras_regression("MeanSquaredLogarithmicError"),
    "mean_absolute_percentage_error": keras_regression("MeanAbsolutePercentageError"),
    "hinge_loss": keras_margin("Hinge"),
    "squared_hinge": keras_margin("SquaredHinge"),
    "binary_cross_entropy": binary_cross_entropy,
    "binary_cross_entropy_with_logits": not_offered(
        "not mapped in the keras columns yet: keras.losses.BinaryCrossentropy(from_logits=True) "
        "is the native form (it runs for multilabel_soft_margin_loss); the tf.nn column maps "
        "tf.nn.sigmoid_cross_entropy_with_logits"
    ),
    "sigmoid_focal_loss": sigmoid_focal_loss,
    "cross_entropy": cross_entropy,
    "nll_loss": not_offered(
        "Keras has no negative log-likelihood of log-probabilities: SparseCategoricalCrossentropy "
        "takes probabilities (or logits, renormalised by a softmax) and clips them, equal to nll "
        "only for normalised log-probabilities above log ε"
    ),
    "multi_margin_loss": not_offered(
        "Keras CategoricalHinge is max(0, 1 + max_j (1 − t_j)·x_j − Σ t_j x_j) on one-hot "
        "targets (mapped under categorical_hinge), not torch's sum of hinges over the wrong "
        "classes divided by C; it has no margin or p"
    ),
    "multilabel_soft_margin_loss": multilabel_soft_margin_loss,
    "multilabel_margin_loss": not_offered(
        "Keras has no multilabel margin loss: CategoricalHinge takes the single worst wrong class "
        "against the summed true scores, with no pairwise sum over labels and non-labels"
    ),
    "kl_div": kl_div,
    "poisson_nll_loss": poisson_nll_loss,
    "gaussian_nll_loss": not_offered("Keras ships no Gaussian negative log-likelihood loss"),
    "triplet_margin_loss": not_offered("Keras ships no triplet margin loss"),
    "triplet_margin_with_distance_loss": not_offered(
        "Keras ships no triplet margin loss, with or without a distance function"
    ),
    "cosine_embedding_loss": not_offered(
        "Keras CosineSimilarity returns −cos(x1, x2) with an ε in the normalisation; there is no "
        "1 − cos / max(0, cos − margin) loss with ±1 labels"
    ),
    "margin_ranking_loss": not_offered(
        "Keras ships no pairwise ranking loss max(0, −y (x1 − x2) + margin)"
    ),
    "hinge_embedding_loss": not_offered(
        "Keras Hinge is max(0, 1 − y·x) averaged over the last axis, not torch's x for y = 1 and "
        "max(0, margin − x) for y = −1"
    ),
    "soft_margin_loss": not_offered(
        "not mapped in the keras columns yet: keras.losses.BinaryCrossentropy(from_logits=True) "
        "on (target + 1) / 2 is the native form; the tf.nn column maps "
        "tf.nn.sigmoid_cross_entropy_with_logits"
    ),
    "poly_loss_cross_entropy": not_offered("Keras ships no poly loss (CE + ε·Σ t (1 − p))"),
    "generalized_kl_divergence": not_offered("KLDivergence is Σ t log(t/p), without Σ(p − t)"),
    "sparsemax_loss": not_offered("keras.losses has none (keras.ops.sparse_plus is an activation)"),
    "multiclass_sparsemax_loss": not_offered(
        "keras.losses has no sparsemax loss (keras.ops.sparsemax is an activation)"
    ),
    "sampled_softmax_loss": not_offered("keras.losses has no sampled softmax (the tf.nn column)"),
    "nce_loss": not_offered("keras.losses has no noise-contrastive estimation (the tf.nn column)"),
    "dice_loss": lambda config: keras_overlap("Dice", config),
    "tversky_loss": lambda config: keras_overlap(
        "Tversky", config, alpha=config["alpha"], beta=config["beta"]
    ),
    "ntxent": not_offered("keras.losses has no NT-Xent (contrastive) loss"),
}

# Keras' ε (keras.config.epsilon()): the lower bound of the norm in its L2 normalisation,
# normalize(x) = x · min(rsqrt(Σx²), 1/ε) = x / max(‖x‖, ε) (keras/src/ops/nn.py:2722-2730 at
# 3.15.1), which CosineSimilarity applies to both arguments (keras/src/losses/losses.py:1956-1958).
KERAS_EPSILON = keras.config.epsilon()


def negative_cosine_similarity(config):
    if config["eps"] != KERAS_EPSILON:
        return NotOffered(
            f"Keras CosineSimilarity clamps each norm at keras.config.epsilon() = {KERAS_EPSILON} "
            f"and takes no eps: eps = {config['eps']} would need keras.config.set_epsilon, a "
            "global setting every other Keras loss reads too"
        )
    return keras_recipe(
        "CosineSimilarity",
        config,
        y_true="input1",
        y_pred="input2",
        conversions=(
            f"eps = keras.config.epsilon() = {KERAS_EPSILON}: normalize(x) = x·min(rsqrt(Σx²), "
            "1/ε) = x / max(‖x‖, ε)",
            "(y_true, y_pred) = (input1, input2): the cosine is symmetric",
        ),
        axis=-1,
    )


MAPPINGS["negative_cosine_similarity"] = negative_cosine_similarity
MAPPINGS["categorical_hinge"] = lambda config: keras_recipe("CategoricalHinge", config)
MAPPINGS["multiclass_hinge_loss"] = not_offered(
    "keras.losses.CategoricalHinge (mapped under categorical_hinge) takes one-hot targets and "
    "keeps the target's own entry in its max as (1 − 1)·x_y = 0: max(0, 1 + max(0, max_{j≠y} "
    "x_j) − x_y), which differs from this Crammer-Singer hinge where every wrong score is "
    "negative; one_hot(target) into it would be a different loss, not a conversion"
)


def categorical_focal_crossentropy(config):
    return keras_recipe(
        "CategoricalFocalCrossentropy",
        config,
        alpha=config["alpha"],
        gamma=config["gamma"],
        from_logits=True,
    )


def categorical_generalized_cross_entropy(config):
    if config["q"] >= 1:
        return NotOffered(
            "keras.losses.CategoricalGeneralizedCrossEntropy raises ValueError for q outside "
            "(0, 1) (keras/src/losses/losses.py:1595 at 3.15.1): q = 1, the MAE end, is refused"
        )
    return keras_recipe("CategoricalGeneralizedCrossEntropy", config, q=config["q"])


MAPPINGS.update(
    {
        "categorical_generalized_cross_entropy": categorical_generalized_cross_entropy,
        "categorical_focal_crossentropy": categorical_focal_crossentropy,
    }
)


# keras.losses.CTC / keras.losses.ctc (keras/src/losses/losses.py:1275-1299 and 2526-2560 at
# 3.15.1): ops.ctc_loss(y_true, y_pred, label_length, input_length, mask_index=0), where
# mask_index is fixed at 0, input_length is y_pred's full time axis for every item, and
# label_length counts the entries of y_true that are not 0.
FUNCTIONS["CTC"] = "ctc"
# one value per item, the canonical ℓ_n: their keras.ops.sum is the canonical sum
SUMMED_FUNCTIONS = SUMMED_FUNCTIONS | {"ctc"}
CTC_TARGETS = '''
def keras_targets(targets, target_lengths):
    """torch's padded targets as Keras reads them: 0 (the mask index) after each item's length."""
    position = keras.ops.arange(targets.shape[1], dtype="int32")[None, :]
    lengths = keras.ops.cast(target_lengths, "int32")[:, None]
    return keras.ops.where(position < lengths, targets, 0)
'''


def ctc_loss(config):
    if config["blank"] != 0:
        return NotOffered(
            "keras.losses.ctc fixes the blank (mask_index) at 0 and takes no blank argument "
            "(keras/src/losses/losses.py:2550 at 3.15.1)"
        )
    if config["zero_infinity"]:
        return NotOffered(
            "Keras CTC has no zero_infinity: an item without an alignment keeps what the "
            "backend's kernel returns for it (+inf, or the JAX backend's finite log_epsilon cost)"
        )
    if config["reduction"] == "mean":
        return NotOffered(
            "Keras' sum_over_batch_size divides the summed item losses by N; torch's mean "
            "divides each item's loss by its target length first, a weighting Keras does not "
            "offer"
        )
    return keras_recipe(
        "CTC",
        config,
        y_true="keras_targets(targets, target_lengths)",
        y_pred="keras.ops.moveaxis(input, 0, 1)",
        setup=CTC_TARGETS,
        composition=(
            "keras.ops.moveaxis(input, 0, 1): torch's time-major (T, N, K) as Keras' (N, T, K); "
            "the log-probabilities passed as Keras' logits (its log_softmax maps normalised "
            "log-probabilities to themselves)"
        ),
        conversions=(
            "target_lengths → y_true padded with 0 (Keras' mask index) after each item's length: "
            "Keras counts an item's labels as its entries ≠ 0",
            "blank = 0: Keras' fixed mask index",
        ),
    )


MAPPINGS["ctc_loss"] = ctc_loss

# keras.losses.Circle / keras.losses.circle (keras/src/losses/losses.py:1443-1530 and 2658-2741 at
# 3.15.1): y_true the integer labels, y_pred the embeddings, ref_labels and ref_embeddings left at
# None (the batch against itself, as the canonical loss). The function returns one value per item,
# the canonical ℓ_i: their keras.ops.sum is the canonical sum. Circle's sum_over_batch_size divides
# by the number of items whose loss is > 0 (the function's Keras mask), registered in
# adapters/known/keras/circle.py.
FUNCTIONS["Circle"] = "circle"
SUMMED_FUNCTIONS = SUMMED_FUNCTIONS | {"circle"}
MAPPINGS["circle_loss"] = lambda config: keras_recipe(
    "Circle",
    config,
    gamma=config["gamma"],
    margin=config["margin"],
    remove_diagonal=config["remove_diagonal"],
)

# --- the source executed by run and printed by snippet, per backend -------------------------------

RUNNERS = {
    "tensorflow": '''
def forward_backward(args, cotangent):
    """The loss and its vector-Jacobian product for every watched argument (None: no path)."""
    with tf.GradientTape() as tape:
        for name in WATCH:
            tape.watch(args[name])
        value = native(**args)
    if cotangent is not None and value.shape != cotangent.shape:
        return value, None  # the loss's shape differs from the reference's: nothing to pull back
    sources = [args[name] for name in WATCH]
    return value, tape.gradient(value, sources, output_gradients=cotangent)


def forward(args):
    return native(**args)
''',
    "jax": '''
def forward_backward(args, cotangent):
    """The loss and its vector-Jacobian product for every watched argument (jax.vjp)."""
    fixed = {name: x for name, x in args.items() if name not in WATCH}

    def loss(*watched):
        return native(**fixed, **dict(zip(WATCH, watched)))

    value, pullback = jax.vjp(loss, *[args[name] for name in WATCH])
    if cotangent is not None and value.shape != cotangent.shape:
        return value, None  # the loss's shape differs from the reference's: nothing to pull back
    return value, list(pullback(jnp.ones_like(value) if cotangent is None else cotangent))


def forward(args):
    return native(**args)
''',
    "torch": '''
def forward_backward(args, cotangent):
    """The loss and its vector-Jacobian product for every watched argument (torch.autograd)."""
    args = {
        name: x.detach().requires_grad_(True) if name in WATCH else x for name, x in args.items()
    }
    value = native(**args)
    if cotangent is not None and value.shape != cotangent.shape:
        return value.detach(), None  # the loss's shape differs: nothing to pull back
    sources = [args[name] for name in WATCH]
    if not value.requires_grad:
        return value.detach(), [None] * len(sources)
    grads = torch.autograd.grad(
        value,
        sources,
        grad_outputs=torch.ones_like(value) if cotangent is None else cotangent,
        allow_unused=True,
    )
    return value.detach(), list(grads)


def forward(args):
    with torch.no_grad():
        return native(**args)
''',
}

COMPILERS = {
    "tensorflow": "tf.function({}, jit_compile=True)",
    "jax": "jax.jit({})",
}
BACKEND_IMPORT = {
    "tensorflow": "import tensorflow as tf\n",
    "jax": 'import jax\nimport jax.numpy as jnp\n\njax.config.update("jax_enable_x64", True)\n',
    "torch": "import torch\n",
}


def keras_device(device: str) -> str:
    """Canonical device ("cpu", "cuda:N") → keras.device() name."""
    if device == "cpu":
        return "cpu:0"
    kind, _, index = device.partition(":")
    if kind != "cuda":
        raise ValueError(f"unknown device {device!r}")
    return f"gpu:{index or 0}"


def _source(recipe: Recipe, arrays: list[str], watch: list[str], dtype: str) -> str:
    body = "\n".join("    " + line for line in recipe.body.splitlines())
    return (
        f"DTYPE = {dtype!r}\n"
        f"{recipe.setup.strip()}\n\n\n"
        f"def native({', '.join(arrays)}):\n{body}\n\n\n"
        f"WATCH = {tuple(watch)!r}  # the differentiable arguments\n"
        f"{RUNNERS[BACKEND]}"
    )


@dataclass
class Compiled:
    source: str
    forward_backward: Callable
    forward: Callable
    watch: tuple[str, ...]
    integer: frozenset[str]


class KerasAdapter(Adapter):
    name = "keras"
    dtypes = ("float64", "float32", "float16", "bfloat16")

    def __init__(self):
        self.backend = BACKEND
        self.modes = ("eager", "jit") if BACKEND in COMPILERS else ("eager",)
        self._recipes: dict[tuple, Recipe | NotOffered] = {}
        self._compiled: dict[tuple, Compiled] = {}
        self._divergences = divergences_for(BACKEND)
        # eager scans (ctc) load code on every call on the jax backend (adapters/jax_setup.py)
        self._code = CodeBudget(jax) if BACKEND == "jax" else None

    def compiles_per_shape(self, mode: str) -> bool:
        """Compiled modes, and eager on the jax backend: JAX's op-by-op dispatch compiles each
        primitive once per shape and dtype (as in the jax adapter), and Keras' losses are many
        primitives, so freely drawn eager shapes cost a compilation per op per example (measured,
        keras-jax ci: 152 ms per eager example against 33 ms per jit example)."""
        return mode != "eager" or BACKEND == "jax"

    # -- identity ---------------------------------------------------------------------------------

    def version(self) -> str:
        return keras.__version__

    def backend_version(self) -> str:
        module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[BACKEND]
        return __import__(module).__version__

    def versions(self) -> dict[str, str]:
        return {"keras": keras.__version__, BACKEND: self.backend_version()}

    def identity(self) -> dict[str, str]:
        return {"backend": BACKEND, "backend_version": self.backend_version()}

    def devices(self) -> list[str]:
        if BACKEND == "tensorflow":
            count = len(tf.config.list_physical_devices("GPU"))
        elif BACKEND == "jax":
            count = sum(1 for d in jax.devices() if d.platform == "gpu")
        else:
            count = torch.cuda.device_count()
        return ["cpu", *(f"cuda:{i}" for i in range(count))]

    def divergences(self):
        return list(self._divergences)

    # -- mapping ----------------------------------------------------------------------------------

    def recipe(self, loss: str, config: Mapping[str, Any], api: str | None = None):
        """The class's recipe of a configuration (``api`` None), or its loss function's where
        ``api`` names it; NotOffered otherwise."""
        key = (loss, tuple(sorted(config.items())))
        if key not in self._recipes:
            build = MAPPINGS.get(loss)
            self._recipes[key] = (
                build(config)
                if build is not None
                else NotOffered(f"the Keras adapter maps no native form of {loss}")
            )
        recipe = self._recipes[key]
        if api is None:
            return recipe
        function = recipe.function if isinstance(recipe, Recipe) else None
        if function is None or function.api != api:
            return NotOffered(f"{api} is not an alternative API of this configuration")
        return function

    def mapping(self, loss: str, config: Mapping[str, Any]) -> Native | NotOffered:
        recipe = self.recipe(loss, config)
        return recipe if isinstance(recipe, NotOffered) else recipe.native()

    def alternatives(self, loss: str, config: Mapping[str, Any]) -> dict[str, Native]:
        recipe = self.recipe(loss, config)
        function = recipe.function if isinstance(recipe, Recipe) else None
        return {} if function is None else {function.api: function.native()}

    # -- running ----------------------------------------------------------------------------------

    def _compile(self, case: Case, config, recipe: Recipe, api: str | None) -> Compiled:
        key = (case.loss, tuple(sorted(config.items())), api, case.dtype, case.device, case.mode)
        compiled = self._compiled.get(key)
        if compiled is None:
            spec = R.get(case.loss)
            params = {**spec.defaults(), **case.params}
            arrays = [a.name for a in spec.arrays if a.name in case.arrays]
            integer = frozenset(a for a in arrays if spec.array(a).domain_for(params).integer)
            watch = self.differentiable_arguments(case)
            source = _source(recipe, arrays, watch, case.dtype)
            scope: dict[str, Any] = {"keras": keras, "np": np}
            scope.update({"tf": tf} if BACKEND == "tensorflow" else {})
            scope.update({"jax": jax, "jnp": jnp} if BACKEND == "jax" else {})
            scope.update({"torch": torch} if BACKEND == "torch" else {})
            filename = f"<lossconf keras {case.loss} {len(self._compiled)}>"
            if BACKEND == "tensorflow":  # AutoGraph reads a function's source through linecache
                import linecache

                linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            exec(compile(source, filename, "exec"), scope)
            fb, fwd = scope["forward_backward"], scope["forward"]
            if case.mode == "jit":
                if BACKEND == "tensorflow":
                    fb = tf.function(fb, jit_compile=True)
                    fwd = tf.function(fwd, jit_compile=True)
                else:
                    fb, fwd = jax.jit(fb), jax.jit(fwd)
            compiled = Compiled(source, fb, fwd, tuple(watch), integer)
            self._compiled[key] = compiled
        return compiled

    def run(self, case: Case, api: str | None = None) -> Outcome:
        config = R.config_of(case)
        recipe = self.recipe(case.loss, config, api)
        if not isinstance(recipe, Recipe):
            return Outcome(error=FrameworkError("NotOffered", recipe.reason))
        if self._code is not None:
            self._code.tick()
        compiled = self._compile(case, config, recipe, api)
        with keras.device(keras_device(case.device)):
            args = {
                name: _tensor(value, "int64" if name in compiled.integer else case.dtype)
                for name, value in case.rounded().items()
            }
            cot = case.rounded_cotangent()
            cot = None if cot is None else _tensor(cot, case.dtype)

            def call():
                value, grads = compiled.forward_backward(args, cot)
                dtypes = (
                    _dtype_name(value),
                    [None if g is None else _dtype_name(g) for g in grads or ()],
                )
                value = _numpy(value)  # waits for the device: part of the timed call
                grads = None if grads is None else [None if g is None else _numpy(g) for g in grads]
                return value, grads, dtypes

            compiles = self.compiles_per_shape(case.mode)
            signature = signature_of(compiled, [*args.values(), cot]) if compiles else None
            try:
                (value, grads, dtypes), seconds, compiling = self.first_calls.run(call, signature)
            except Exception as exc:  # the framework raised: data, never a crash of the suite
                return self._forward_only(compiled, args, exc)
        out = self._outcome(compiled, value, grads, seconds, dtypes)
        out.compile_seconds = compiling
        return out

    def _forward_only(self, compiled: Compiled, args, exc: Exception) -> Outcome:
        """forward_backward raised: if the forward alone runs, only the gradients failed."""

        def forward():
            raw = compiled.forward(args)
            return raw, _numpy(raw)

        found, forward_exc, seconds = self.first_calls.after_raise(forward)
        if forward_exc is not None:
            return Outcome(error=tensorflow_error(forward_exc), seconds=seconds)
        raw, value = found
        error = tensorflow_error(exc)
        return Outcome(
            value=to_numpy(value),
            grad_errors={n: f"{error.type}: {error.message}" for n in compiled.watch},
            seconds=seconds,
            value_dtype=_dtype_name(raw),
        )

    @staticmethod
    def _outcome(compiled: Compiled, value, grads, seconds: float, dtypes) -> Outcome:
        value_dtype, grad_dtypes = dtypes
        out = Outcome(value=to_numpy(value), seconds=seconds, value_dtype=value_dtype)
        for i, name in enumerate(compiled.watch):
            if grads is None:
                out.grad_errors[name] = (
                    f"the loss has shape {tuple(value.shape)}, not the reference's: the cotangent "
                    "does not apply, no vector-Jacobian product to compare"
                )
            elif grads[i] is None:
                out.grad_errors[name] = (
                    f"the {BACKEND} backend's autodiff returned no gradient for {name}: no "
                    "differentiable path from it to the loss in the native call"
                )
            else:
                out.grads[name] = to_numpy(grads[i])
                out.grad_dtypes[name] = grad_dtypes[i]
        return out

    # -- reproducer -------------------------------------------------------------------------------

    def snippet(self, case: Case, api: str | None = None) -> str:
        config = R.config_of(case)
        recipe = self.recipe(case.loss, config, api)
        if not isinstance(recipe, Recipe):
            return f"# {case.loss} ({api or 'class'}) is not offered by Keras: {recipe.reason}\n"
        compiled = self._compile(case, config, recipe, api)
        wrap = (
            COMPILERS[BACKEND].format("forward_backward")
            if case.mode == "jit"
            else "forward_backward"
        )
        return (
            f"# lossconf reproducer: Keras {keras.__version__} on the {BACKEND} backend "
            f"{self.backend_version()}, {case.dtype} on {case.device}, mode {case.mode}\n"
            f"import os\n\nos.environ['KERAS_BACKEND'] = {BACKEND!r}\n\n"
            "import traceback\n\nimport keras\nimport numpy as np\n"
            f"{BACKEND_IMPORT[BACKEND]}\n"
            f"{compiled.source}\n\n"
            f"INTEGER = {tuple(sorted(compiled.integer))!r}  # class indices\n"
            "value, grads, error = None, {}, None\n"
            f"with keras.device({keras_device(case.device)!r}):\n"
            "    def tensor(x, dtype):\n"
            f"        return {TENSOR[BACKEND]}\n\n"
            "    args = {\n"
            "        name: tensor(x, 'int64' if name in INTEGER else DTYPE)\n"
            "        for name, x in arrays.items()\n"
            "    }\n"
            "    cot = None if cotangent is None else tensor(cotangent, DTYPE)\n"
            "    try:\n"
            f"        value_t, grads_t = {wrap}(args, cot)\n"
            "    except Exception as exc:  # as in lossconf's run: the exception is the result\n"
            "        error = exc\n"
            "        traceback.print_exc()\n"
            "    else:\n"
            "        def numpy(x):\n"
            "            return np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(x, 'float64')))\n\n"
            "        value = numpy(value_t)\n"
            "        pairs = zip(WATCH, grads_t or [None] * len(WATCH))\n"
            "        grads = {\n"
            "            n: numpy(g)\n"
            "            for n, g in pairs\n"
            "            if g is not None\n"
            "        }\n"
        )


def _dtype_name(x) -> str:
    """The dtype a backend tensor came back in, as the suite names dtypes (result fidelity:
    read before :func:`_numpy` widens it)."""
    return keras.backend.standardize_dtype(x.dtype)


def _numpy(x) -> np.ndarray:
    """A backend tensor as float64 NumPy (widened exactly on the backend: the TensorFlow
    backend's convert_to_numpy cannot hand bfloat16 to NumPy)."""
    return np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(x, "float64")), dtype=np.float64)


# How a NumPy array becomes a backend tensor of the tested dtype (the TensorFlow backend's
# convert_to_tensor fails on a bfloat16 target: tf.constant converts directly).
TENSOR = {
    "tensorflow": "tf.constant(x, dtype=dtype)",
    "jax": "keras.ops.convert_to_tensor(x, dtype=dtype)",
    "torch": "keras.ops.convert_to_tensor(x, dtype=dtype)",
}


def _tensor(x: np.ndarray, dtype: str):
    if BACKEND == "tensorflow":
        return tf.constant(x, dtype=dtype)
    return keras.ops.convert_to_tensor(x, dtype=dtype)


ADAPTER = KerasAdapter
