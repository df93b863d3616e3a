"""The TensorFlow adapter: TensorFlow's own loss ops, ``tf.nn.*``.

Each configuration maps to a :class:`Recipe`: a few lines of Python *source*, the body of
``native(...)``, which calls the op. The same text is executed by :meth:`TensorFlowAdapter.run`
and printed by :meth:`TensorFlowAdapter.snippet`, so a reproducer is the run, not a paraphrase of
it.

Native APIs: ``tf.nn.*`` (reduced by the user-level ``tf.reduce_mean`` / ``tf.reduce_sum``,
declared as composition). ``keras.losses`` — on TensorFlow or any other backend — is the keras
adapter's (:mod:`adapters.keras_adapter`), so this column is one API family; a configuration
TensorFlow has no op for is not offered here, and the reason names the Keras loss. The
differences are registered in :mod:`adapters.known.tensorflow`.

Modes: ``eager``, and ``jit`` = ``tf.function(forward_backward, jit_compile=True)``, one function
per (loss, configuration, dtype, device), traced once per input shape.
"""

from __future__ import annotations

import linecache
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

import reference as R
from reference import Case

from .base import (
    Adapter,
    FrameworkError,
    Native,
    NotOffered,
    Outcome,
    dtype_name,
    signature_of,
    tensorflow_error,
    to_numpy,
)
from .known.tensorflow import DIVERGENCES


class _ExpectedRetracing(logging.Filter):
    """Drops TensorFlow's "triggered tf.function retracing" advice: the adapter keeps one
    tf.function per configuration and traces it once per input shape on purpose (XLA compiles per
    shape in any case), so varying shapes retrace by design."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


tf.get_logger().addFilter(_ExpectedRetracing())

# --- recipes: the native call of one configuration, as source ----------------------------------


@dataclass(frozen=True)
class Recipe:
    """How the native call of one configuration is built.

    ``setup``: statements run once per dtype (they may use ``DTYPE``, the tested dtype's name);
    ``body``: the statements of ``native(<arrays>)``, ending in ``return``; ``call``,
    ``composition`` and ``conversions`` are what :class:`Native` shows in the mapping table.
    """

    call: str
    body: str
    setup: str = ""
    composition: str | None = None
    conversions: tuple[str, ...] = ()

    def native(self) -> Native:
        return Native(self.call, self.composition, self.conversions)


Builder = Callable[[Mapping[str, Any]], "Recipe | NotOffered"]

# The user-level reduction written around an elementwise tf.nn result.
TF_REDUCTION = {"mean": "tf.reduce_mean", "sum": "tf.reduce_sum", "none": None}

# Layout helpers a user porting torch code writes: torch's class axis is dim 1 (dim 0 unbatched).
CLASS_LAST = '''
def class_last(x):
    """torch's class dimension 1 moved to TensorFlow's last axis (no-op for (C) and (N, C))."""
    return x if x.shape.rank <= 2 else tf.experimental.numpy.moveaxis(x, 1, -1)
'''
CLASS_AXIS = '''
def class_axis(x):
    """torch's class dimension: 1, or 0 for an unbatched (C) input."""
    return 1 if x.shape.rank >= 2 else 0
'''
AXIS_NOTE = "axis = torch's class dimension (1; 0 for an unbatched (C) input)"
MOVEAXIS_NOTE = (
    "tf.experimental.numpy.moveaxis(input, 1, -1) for (N, C, d1, …): TF's class axis is last"
)


def tf_nn_recipe(
    expr: str,
    config: Mapping[str, Any],
    setup: str = "",
    composition: str | None = None,
    conversions: tuple[str, ...] = (),
) -> Recipe:
    """An elementwise ``tf.nn`` call, reduced with tf.reduce_mean / tf.reduce_sum as users do."""
    reduce = TF_REDUCTION[config["reduction"]]
    parts = [f"{reduce}(…) over the elementwise result"] if reduce else []
    if composition:
        parts.append(composition)
    return Recipe(
        call=expr if reduce is None else f"{reduce}({expr})",
        setup=setup,
        body=f"return {expr}" if reduce is None else f"return {reduce}({expr})",
        composition="; ".join(parts) or None,
        conversions=conversions,
    )


def not_offered_if(config: Mapping[str, Any], reasons: Mapping[str, str]) -> NotOffered | None:
    """NotOffered for the first optional array present in ``config`` that has a reason."""
    for name, reason in reasons.items():
        if config.get(name):
            return NotOffered(reason)
    return None


# --- the mapping, loss by loss --------------------------------------------------------------------

NO_WEIGHT = (
    "tf.nn has no weight argument (only the deprecated TF1 API tf.compat.v1.losses has "
    "elementwise weights); keras.losses' sample_weight is per sample, in the keras columns"
)
NO_CLASS_WEIGHT = (
    "tf.nn's softmax cross-entropies have no per-class weight argument; gathering weight[target] "
    "and dividing by its sum would re-implement torch's weighted mean"
)


def keras_only(loss: str, keras_call: str) -> Builder:
    """A loss TensorFlow has no op for: Keras' ``keras_call`` is the native form (keras columns)."""
    return not_offered(
        f"TensorFlow has no tf.nn op for {loss}; {keras_call} computes it (the keras columns)"
    )


def binary_cross_entropy_with_logits(config):
    refused = not_offered_if(config, {"weight": NO_WEIGHT})
    if refused:
        return refused
    if config["pos_weight"]:
        expr = (
            "tf.nn.weighted_cross_entropy_with_logits("
            "labels=target, logits=input, pos_weight=pos_weight)"
        )
    else:
        expr = "tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=input)"
    return tf_nn_recipe(expr, config)


def cross_entropy(config):
    refused = not_offered_if(config, {"weight": NO_CLASS_WEIGHT})
    if refused:
        return refused
    if config["label_smoothing"]:
        return NotOffered(
            "tf.nn's softmax cross-entropies have no label smoothing; "
            "keras.losses.CategoricalCrossentropy(label_smoothing=…) has it (the keras columns)"
        )
    if config["target_kind"] == "probability":
        return tf_nn_recipe(
            "tf.nn.softmax_cross_entropy_with_logits("
            "labels=target, logits=input, axis=class_axis(input))",
            config,
            setup=CLASS_AXIS,
            conversions=(AXIS_NOTE,),
        )
    if config.get("ignore_index") is not None:
        return NotOffered(
            "tf.nn.sparse_softmax_cross_entropy_with_logits has no ignore index (and masking the "
            "items and dividing by their count would re-implement the mean); "
            "keras.losses.SparseCategoricalCrossentropy(ignore_class=…) has it (the keras columns)"
        )
    return tf_nn_recipe(
        "tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target, logits=class_last(input))",
        config,
        setup=CLASS_LAST,
        composition=MOVEAXIS_NOTE,
    )


def poisson_nll_loss(config):
    if config["log_input"]:
        return tf_nn_recipe(
            "tf.nn.log_poisson_loss(targets=target, log_input=input, "
            f"compute_full_loss={config['full']})",
            config,
        )
    return NotOffered(
        "tf.nn.log_poisson_loss takes the log-rate: feeding it tf.math.log(input + eps) would "
        "re-implement torch's eps; keras.losses.Poisson takes the rate (the keras columns)"
    )


def soft_margin_loss(config):
    return tf_nn_recipe(
        "tf.nn.sigmoid_cross_entropy_with_logits(labels=(target + 1) / 2, logits=input)",
        config,
        conversions=("labels = (target + 1) / 2: torch's ±1 labels as TF's {0, 1} labels",),
    )


def l2_loss(config):
    if config["target"]:
        return NotOffered(
            "tf.nn.l2_loss takes one tensor, sum(t²)/2: the difference input − target would be "
            "formed before the call (mapped here without a target)"
        )
    if config["reduction"] != "sum":
        return NotOffered(
            "tf.nn.l2_loss returns the sum Σ t²/2 as a scalar: it has no elementwise or mean form"
        )
    return Recipe(call="tf.nn.l2_loss(input)", body="return tf.nn.l2_loss(input)")


CTC_REDUCTIONS = {
    "mean": (
        "tf.nn.ctc_loss returns the per-item losses and has no reduction; the canonical mean "
        "divides each by its target length (torch's), and writing that division would "
        "re-implement the reduction (keras.losses.CTC has its own, in the keras columns)"
    ),
}


def ctc_loss(config):
    if config["zero_infinity"]:
        return NotOffered(
            "tf.nn.ctc_loss has no zero_infinity: an item without an alignment costs a large "
            "finite number there (log 1e-307 ≈ −706.9 stands for log 0), never +inf, so there is "
            "no infinity to zero"
        )
    refused = CTC_REDUCTIONS.get(config["reduction"])
    if refused:
        return NotOffered(refused)
    # logits: tf.nn.ctc_loss applies log_softmax itself, and log_softmax of a vector of
    # log-probabilities is that vector, so passing them is a composition, not loss math
    return tf_nn_recipe(
        "tf.nn.ctc_loss(labels=targets, logits=input, label_length=target_lengths, "
        f"logit_length=input_lengths, logits_time_major=True, blank_index={config['blank']!r})",
        config,
        composition=(
            "logits = the log-probabilities: tf.nn.ctc_loss takes log_softmax of its logits, "
            "the identity on normalised log-probabilities"
        ),
        conversions=(
            "labels = targets (dense, padded), label_length = target_lengths, "
            "logit_length = input_lengths, blank_index = blank; time-major (T, N, K) as TF's "
            "default logits_time_major=True",
        ),
    )


def sampled(function: str) -> Builder:
    """tf.nn's candidate-sampling losses with the case's sample passed as ``sampled_values``, so
    that no sampler runs: num_sampled, num_classes and num_true are the arrays' sizes."""

    def build(config):
        if not config["subtract_log_q"]:
            return NotOffered(
                f"tf.nn.{function} always subtracts log Q from the logits (subtract_log_q=True "
                "in its call of the private _compute_sampled_logits); it has no argument to keep it"
            )
        return tf_nn_recipe(
            f"tf.nn.{function}(weights=weights, biases=biases, labels=labels, inputs=inputs, "
            "num_sampled=sampled.shape[0], num_classes=weights.shape[0], "
            "num_true=labels.shape[1], sampled_values=(sampled, true_expected_count, "
            f"sampled_expected_count), remove_accidental_hits={config['remove_accidental_hits']})",
            config,
            conversions=(
                "sampled_values = (sampled, true_expected_count, sampled_expected_count): the "
                "case's sample in place of a sampler's draw",
            ),
        )

    return build


def not_offered(reason: str) -> Builder:
    return lambda config: NotOffered(reason)


MAPPINGS: dict[str, Builder] = {
    "mse_loss": keras_only("mse_loss", "keras.losses.MeanSquaredError"),
    "l1_loss": keras_only("l1_loss", "keras.losses.MeanAbsoluteError"),
    "huber_loss": keras_only("huber_loss", "keras.losses.Huber"),
    "smooth_l1_loss": keras_only("smooth_l1_loss", "keras.losses.Huber (beta = 1)"),
    "log_cosh": keras_only("log_cosh", "keras.losses.LogCosh"),
    "binary_cross_entropy": keras_only(
        "binary_cross_entropy (of probabilities)", "keras.losses.BinaryCrossentropy"
    ),
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "sigmoid_focal_loss": keras_only(
        "sigmoid_focal_loss", "keras.losses.BinaryFocalCrossentropy(from_logits=True)"
    ),
    "cross_entropy": cross_entropy,
    "nll_loss": not_offered(
        "tf.nn has no negative log-likelihood of log-probabilities: "
        "sparse_softmax_cross_entropy_with_logits renormalises its input with a softmax (equal to "
        "nll only for normalised log-probabilities)"
    ),
    "multi_margin_loss": not_offered(
        "tf.nn has no multi-class margin loss (Keras CategoricalHinge is the Crammer-Singer hinge, "
        "not torch's sum of hinges over the wrong classes)"
    ),
    "multilabel_soft_margin_loss": not_offered(
        "tf.nn.sigmoid_cross_entropy_with_logits is elementwise; its mean over the classes is "
        "keras.losses.BinaryCrossentropy(from_logits=True) (the keras columns), and writing "
        "that mean by hand would re-implement the loss"
    ),
    "multilabel_margin_loss": not_offered("TensorFlow has no multilabel margin loss"),
    "kl_div": keras_only("kl_div", "keras.losses.KLDivergence"),
    "poisson_nll_loss": poisson_nll_loss,
    "gaussian_nll_loss": not_offered(
        "TensorFlow ships no Gaussian negative log-likelihood loss (TensorFlow Probability's "
        "distributions are a separate package)"
    ),
    "triplet_margin_loss": not_offered(
        "TensorFlow ships no triplet margin loss (TF Addons' TripletSemiHardLoss mines triplets in "
        "a batch and is a separate, deprecated package)"
    ),
    "triplet_margin_with_distance_loss": not_offered(
        "TensorFlow ships no triplet margin loss, with or without a distance function"
    ),
    "cosine_embedding_loss": not_offered(
        "TensorFlow has no cosine embedding loss (1 − cos / max(0, cos − margin) with ±1 labels)"
    ),
    "margin_ranking_loss": not_offered(
        "TensorFlow ships no pairwise ranking loss max(0, −y (x1 − x2) + margin)"
    ),
    "hinge_embedding_loss": not_offered(
        "TensorFlow has no hinge embedding loss (x for y = 1, max(0, margin − x) for y = −1)"
    ),
    "soft_margin_loss": soft_margin_loss,
    "l2_loss": l2_loss,
    "hinge_loss": keras_only("hinge_loss", "keras.losses.Hinge"),
    "squared_hinge": keras_only("squared_hinge", "keras.losses.SquaredHinge"),
    "mean_squared_logarithmic_error": keras_only(
        "mean_squared_logarithmic_error", "keras.losses.MeanSquaredLogarithmicError"
    ),
    "mean_absolute_percentage_error": keras_only(
        "mean_absolute_percentage_error", "keras.losses.MeanAbsolutePercentageError"
    ),
    "perceptron_loss": not_offered(
        "TensorFlow has no perceptron loss max(0, −y·x) (neither tf.nn nor keras.losses)"
    ),
    "multiclass_hinge_loss": not_offered(
        "tf.nn has no multi-class hinge; keras.losses.CategoricalHinge takes one-hot targets and "
        "computes max(0, 1 + max_j (1 − t_j)·x_j − Σ t_j x_j), whose masked target entry is 0, "
        "not −inf: it differs from this Crammer-Singer hinge where every wrong score is negative"
    ),
    "multiclass_perceptron_loss": not_offered(
        "TensorFlow has no multiclass perceptron loss (neither tf.nn nor keras.losses)"
    ),
    "ctc_loss": ctc_loss,
    "negative_cosine_similarity": keras_only(
        "negative_cosine_similarity", "keras.losses.CosineSimilarity"
    ),
    "categorical_hinge": keras_only("categorical_hinge", "keras.losses.CategoricalHinge"),
    "poly_loss_cross_entropy": not_offered("TensorFlow has no poly loss (tf.nn nor keras.losses)"),
    "generalized_kl_divergence": not_offered("TensorFlow has no generalized KL divergence"),
    "sparsemax_loss": not_offered("tf.nn has no sparsemax loss (TF Addons' is a separate package)"),
    "multiclass_sparsemax_loss": not_offered(
        "tf.nn has no sparsemax loss (TF Addons' is a separate package)"
    ),
    "sampled_softmax_loss": sampled("sampled_softmax_loss"),
    "nce_loss": sampled("nce_loss"),
    "categorical_focal_crossentropy": keras_only(
        "categorical_focal_crossentropy", "keras.losses.CategoricalFocalCrossentropy"
    ),
    "categorical_generalized_cross_entropy": keras_only(
        "categorical_generalized_cross_entropy",
        "keras.losses.CategoricalGeneralizedCrossEntropy",
    ),
    "dice_loss": keras_only("dice_loss", "keras.losses.Dice"),
    "tversky_loss": keras_only("tversky_loss", "keras.losses.Tversky"),
    "ntxent": not_offered(
        "tf.nn has no NT-Xent (contrastive) loss: optax.losses.ntxent is its home"
    ),
    "circle_loss": keras_only("circle_loss", "keras.losses.Circle"),
}

# --- the source executed by run and printed by snippet --------------------------------------------

RUNNER = '''
def forward_backward(args, cotangent):
    """The loss and its vector-Jacobian product for every watched argument (None: no path)."""
    with tf.GradientTape() as tape:
        for name in WATCH:
            tape.watch(args[name])
        value = native(**args)
    if cotangent is not None and value.shape != cotangent.shape:
        return value, None  # the loss's shape differs from the reference's: nothing to pull back
    sources = [args[name] for name in WATCH]
    grads = tape.gradient(value, sources, output_gradients=cotangent)
    # a gather's gradient comes back as IndexedSlices (rows and their indices): made dense
    return value, [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads]


def forward(args):
    return native(**args)
'''


def tf_device(device: str) -> str:
    """Canonical device ("cpu", "cuda:N") → TensorFlow device string."""
    if device == "cpu":
        return "/CPU:0"
    kind, _, index = device.partition(":")
    if kind != "cuda":
        raise ValueError(f"unknown device {device!r}")
    return f"/GPU:{index or 0}"


def _source(recipe: Recipe, arrays: list[str], watch: list[str], dtype: str) -> str:
    body = "\n".join("    " + line for line in recipe.body.splitlines())
    return (
        f"DTYPE = {dtype!r}\n"
        f"{recipe.setup.strip()}\n\n\n"
        f"def native({', '.join(arrays)}):\n{body}\n\n\n"
        f"WATCH = {tuple(watch)!r}  # the differentiable arguments\n"
        f"{RUNNER}"
    )


@dataclass
class Compiled:
    """One (loss, configuration, dtype, device, mode): the functions run calls, and their source."""

    source: str
    forward_backward: Callable
    forward: Callable
    watch: tuple[str, ...]
    integer: frozenset[str]


class TensorFlowAdapter(Adapter):
    name = "tensorflow"
    modes = ("eager", "jit")
    dtypes = ("float64", "float32", "float16", "bfloat16")

    def __init__(self):
        self._recipes: dict[tuple, Recipe | NotOffered] = {}
        self._compiled: dict[tuple, Compiled] = {}

    # -- identity ---------------------------------------------------------------------------------

    def version(self) -> str:
        return tf.__version__

    def devices(self) -> list[str]:
        gpus = tf.config.list_physical_devices("GPU")
        return ["cpu", *(f"cuda:{i}" for i in range(len(gpus)))]

    def divergences(self):
        return list(DIVERGENCES)

    # -- mapping ----------------------------------------------------------------------------------

    def recipe(self, loss: str, config: Mapping[str, Any]) -> Recipe | NotOffered:
        key = (loss, tuple(sorted(config.items())))
        if key not in self._recipes:
            build = MAPPINGS.get(loss)
            self._recipes[key] = (
                build(config)
                if build is not None
                else NotOffered(f"the TensorFlow adapter maps no native form of {loss}")
            )
        return self._recipes[key]

    def mapping(self, loss: str, config: Mapping[str, Any]) -> Native | NotOffered:
        recipe = self.recipe(loss, config)
        return recipe if isinstance(recipe, NotOffered) else recipe.native()

    # -- running ----------------------------------------------------------------------------------

    def _compile(self, case: Case, config: Mapping[str, Any], recipe: Recipe) -> Compiled:
        key = (case.loss, tuple(sorted(config.items())), case.dtype, case.device, case.mode)
        compiled = self._compiled.get(key)
        if compiled is None:
            spec = R.get(case.loss)
            params = {**spec.defaults(), **case.params}
            arrays = [a.name for a in spec.arrays if a.name in case.arrays]
            integer = frozenset(a for a in arrays if spec.array(a).domain_for(params).integer)
            watch = self.differentiable_arguments(case)
            source = _source(recipe, arrays, watch, case.dtype)
            scope: dict[str, Any] = {"tf": tf, "np": np}
            filename = f"<lossconf {case.loss} {len(self._compiled)}>"
            # AutoGraph reads a function's source through linecache, as for a function in a file.
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            exec(compile(source, filename, "exec"), scope)
            fb, fwd = scope["forward_backward"], scope["forward"]
            if case.mode == "jit":
                fb = tf.function(fb, jit_compile=True)
                fwd = tf.function(fwd, jit_compile=True)
            compiled = Compiled(source, fb, fwd, tuple(watch), integer)
            self._compiled[key] = compiled
        return compiled

    def traces(self, case: Case) -> int:
        """How often the jit function of this case's (loss, configuration, dtype, device) has been
        traced so far (0 before its first call): one trace per input shape is the design."""
        config = R.config_of(case)
        recipe = self.recipe(case.loss, config)
        if isinstance(recipe, NotOffered) or case.mode != "jit":
            return 0
        return self._compile(case, config, recipe).forward_backward.experimental_get_tracing_count()

    def run(self, case: Case) -> Outcome:
        config = R.config_of(case)
        recipe = self.recipe(case.loss, config)
        if isinstance(recipe, NotOffered):
            return Outcome(error=FrameworkError("NotOffered", recipe.reason))
        compiled = self._compile(case, config, recipe)
        dtype = tf.as_dtype(case.dtype)
        with tf.device(tf_device(case.device)):
            args = {
                name: tf.constant(value, dtype=tf.int64 if name in compiled.integer else dtype)
                for name, value in case.rounded().items()
            }
            cot = case.rounded_cotangent()
            cot = None if cot is None else tf.constant(cot, dtype=dtype)

            def call():
                value, grads = compiled.forward_backward(args, cot)
                # .numpy() waits for the device: part of the timed call
                grads = None if grads is None else [g if g is None else g.numpy() for g in grads]
                return value.numpy(), grads

            compiles = self.compiles_per_shape(case.mode)
            signature = signature_of(compiled, [*args.values(), cot]) if compiles else None
            try:
                (value, grads), seconds, compiling = self.first_calls.run(call, signature)
            except Exception as exc:  # the framework raised: data, never a crash of the suite
                return self._forward_only(compiled, args, exc)
        out = self._outcome(compiled, value, grads, seconds)
        out.compile_seconds = compiling
        return out

    def _forward_only(self, compiled: Compiled, args, exc: Exception) -> Outcome:
        """forward_backward raised: if the forward alone runs, only the gradients failed."""
        value, forward_exc, seconds = self.first_calls.after_raise(
            lambda: compiled.forward(args).numpy()
        )
        if forward_exc is not None:
            return Outcome(error=tensorflow_error(forward_exc), seconds=seconds)
        error = tensorflow_error(exc)
        return Outcome(
            value=to_numpy(value),
            grad_errors={n: f"{error.type}: {error.message}" for n in compiled.watch},
            seconds=seconds,
            value_dtype=dtype_name(value),
        )

    @staticmethod
    def _outcome(compiled: Compiled, value, grads, seconds: float) -> Outcome:
        out = Outcome(value=to_numpy(value), seconds=seconds, value_dtype=dtype_name(value))
        for i, name in enumerate(compiled.watch):
            if grads is None:
                out.grad_errors[name] = (
                    f"the loss has shape {tuple(value.shape)}, not the reference's: the cotangent "
                    "does not apply, no vector-Jacobian product to compare"
                )
            elif grads[i] is None:
                out.grad_errors[name] = (
                    f"tf.GradientTape returned None for {name}: no differentiable path from it to "
                    "the loss in the native call"
                )
            else:
                out.grads[name] = to_numpy(grads[i])
                out.grad_dtypes[name] = dtype_name(grads[i])
        return out

    # -- reproducer -------------------------------------------------------------------------------

    def snippet(self, case: Case) -> str:
        config = R.config_of(case)
        recipe = self.recipe(case.loss, config)
        if isinstance(recipe, NotOffered):
            return f"# {case.loss} is not offered by tf.nn: {recipe.reason}\n"
        compiled = self._compile(case, config, recipe)
        wrap = (
            "tf.function(forward_backward, jit_compile=True)"
            if case.mode == "jit"
            else "forward_backward"
        )
        return (
            f"# lossconf reproducer: TensorFlow {tf.__version__}, "
            f"{case.dtype} on {case.device}, mode {case.mode}\n"
            "import traceback\n\nimport numpy as np\nimport tensorflow as tf\n\n"
            f"{compiled.source}\n\n"
            f"INTEGER = {tuple(sorted(compiled.integer))!r}  # class indices\n"
            "value, grads, error = None, {}, None\n"
            f"with tf.device({tf_device(case.device)!r}):\n"
            "    args = {\n"
            "        name: tf.constant(x, dtype=tf.int64 if name in INTEGER else DTYPE)\n"
            "        for name, x in arrays.items()\n"
            "    }\n"
            "    cot = None if cotangent is None else tf.constant(cotangent, dtype=DTYPE)\n"
            "    try:\n"
            f"        value_t, grads_t = {wrap}(args, cot)\n"
            "    except Exception as exc:  # as in lossconf's run: the exception is the result\n"
            "        error = exc\n"
            "        traceback.print_exc()\n"
            "    else:\n"
            "        value = np.asarray(value_t, dtype=np.float64)\n"
            "        pairs = zip(WATCH, grads_t or [None] * len(WATCH))\n"
            "        grads = {n: np.asarray(g, np.float64) for n, g in pairs if g is not None}\n"
        )


ADAPTER = TensorFlowAdapter
