"""What the TensorFlow family modules share: citations, input predicates, and the builders of
entries that several losses carry with the same description (each call names its entry's id and
example literally).

Predicates read the case's arrays as TensorFlow sees them (rounded to the case dtype) and use only
NumPy: this package never imports TensorFlow. Citations point at the Keras source of the installed
version (tag v3.15.1, the "View source" link of the tensorflow.org Keras pages), the tensorflow.org
API pages, or GitHub issues.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import reference as R
from reference import Case
from reference.contract import Prediction, predict
from reference.terms import TermScale

from ...base import Accepts, Divergence, Example

Predicate = Callable[[Case], bool]

KERAS_EPSILON = 1e-7  # keras.config.epsilon(), the fuzz factor of Keras' clips
KERAS_SRC = "https://github.com/keras-team/keras/tree/v3.15.1/keras/src"
KERAS_LOSSES = f"{KERAS_SRC}/losses/losses.py"
KERAS_LOSS_BASE = f"{KERAS_SRC}/losses/loss.py"
KERAS_TF_NN = f"{KERAS_SRC}/backend/tensorflow/nn.py"
KERAS_RANK_FIX = f"{KERAS_LOSS_BASE}#L119-L137"
KERAS_BIT64_TO_BIT32 = (
    f"{KERAS_SRC}/backend/common/dtypes.py#L235-L243 and #L274-L276 (result_type forces a 64-bit "
    "result to 32 bits on every backend but TensorFlow)"
)
KERAS_MEAN = (
    f"{KERAS_SRC}/backend/jax/numpy.py#L226-L263; {KERAS_SRC}/backend/torch/numpy.py#L165-L197 "
    "(ops.mean computes in result_type(x.dtype, 'float32'))"
)
KERAS_TORCH_DIVIDE_NO_NAN = (
    f"{KERAS_LOSS_BASE}#L140-L161 (reduce_values: ops.divide_no_nan(sum, count)); "
    f"{KERAS_SRC}/backend/torch/numpy.py#L2137-L2146 (divide_no_nan casts both operands to "
    "result_type(x1, x2, float))"
)
SOFTMAX_XENT_OP = "https://tensorflow.org/api_docs/python/tf/raw_ops/SoftmaxCrossEntropyWithLogits"
SPARSE_XENT = (
    "https://TensorFlow.org/versions/r2.6/api_docs/python/tf/nn/"
    "sparse_softmax_cross_entropy_with_logits"
)
SIGMOID_XENT_INF = "https://github.com/tensorflow/tensorflow/issues/75256"
SIGMOID_XENT = (
    "https://tensorflow.org/versions/r2.10/api_docs/python/tf/nn/sigmoid_cross_entropy_with_logits"
)
WHERE_NAN_GRADIENT = "https://www.github.com/tensorflow/tensorflow/issues/20091"


# Validity: a value or gradient divergence exists only where the reference returns a value; the
# matcher (reference.contract.Divergence.matches_inputs) never asks such a predicate about an input
# the reference rejects. A predicate that raises on a valid input is a bug, and it propagates.


# --- input predicates -----------------------------------------------------------------------------


def array(case: Case, name: str) -> np.ndarray | None:
    return case.rounded().get(name)


def in_dtype(value: float, case: Case) -> float:
    """A Python float as TensorFlow turns it into a constant of the case dtype."""
    return float(R.round_to(np.asarray(value), case.dtype))


def rank_is(name: str, rank: int) -> Predicate:
    def pred(case):
        x = array(case, name)
        return x is not None and x.ndim == rank

    return pred


def rank_at_least(name: str, rank: int) -> Predicate:
    def pred(case):
        x = array(case, name)
        return x is not None and x.ndim >= rank

    return pred


def last_axis_longer_than_one(name: str) -> Predicate:
    """Keras' mean over the last axis changes a sum only when that axis holds more than one item."""

    def pred(case):
        x = array(case, name)
        return x is not None and x.ndim >= 1 and x.shape[-1] > 1

    return pred


def outside_clip(name: str, low: float, high: float, log_space: bool = False) -> Predicate:
    """Some element lies outside Keras' clip [low, high] (bounds as constants of the case dtype);
    ``log_space``: the array holds logs of the clipped quantity (Keras gets tf.exp of it)."""

    def pred(case):
        x = array(case, name)
        if x is None:
            return False
        v = np.exp(x) if log_space else x
        lo, hi = in_dtype(low, case), in_dtype(high, case)
        return bool(np.any((v < lo) | (v > hi)))

    return pred


def any_infinite(name: str) -> Predicate:
    def pred(case):
        return bool(np.any(np.isinf(array(case, name))))

    return pred


def positive_infinite(name: str) -> Predicate:
    def pred(case):
        x = array(case, name)
        return x is not None and bool(np.any(x == np.inf))

    return pred


def infinite_logit_products(labels: Callable[[np.ndarray], np.ndarray]) -> Predicate:
    """tf.nn.sigmoid_cross_entropy_with_logits evaluates max(x, 0) − x·z + log1p(e^−|x|): NaN at
    x = +inf (inf − inf, or inf·0) and at x = −inf with z = 0 (−inf·0)."""

    def pred(case):
        x = array(case, "input")
        z = labels(array(case, "target"))
        return bool(np.any((x == np.inf) | ((x == -np.inf) & (z == 0))))

    return pred


def identity(z):
    return z


def in_dtype_arithmetic(dtype: str) -> Callable[[np.ndarray], np.ndarray]:
    """Rounding to ``dtype`` after each operation: NumPy float64 arithmetic emulating the dtype's."""
    return lambda v: R.round_to(np.asarray(v, dtype=np.float64), dtype)


# --- Keras' per-sample losses: the last axis is reduced before the reduction ----------------------


@dataclass(frozen=True)
class KerasPerSample:
    """A loss whose configurations ``where`` run a Keras per-sample loss function, which averages
    the last axis (source lines ``lines`` of losses.py)."""

    function: str
    lines: str
    where: Mapping[str, Any] = field(default_factory=dict)
    # whether the per-sample entries predict (PerSampleModel). False where another of the loss's
    # modelled conventions (an ε clamp, the hinge's gradient split, a float32 ε) meets them on
    # the same examples: the judge takes one entry per part and the two models do not compose
    # yet, so there the per-sample entries keep excusing the shape and the /D as they did
    predicts: bool = True

    @property
    def citation(self) -> str:
        return f"{KERAS_LOSSES}#{self.lines}"


KERAS_PER_SAMPLE = {
    "mse_loss": KerasPerSample("mean_squared_error", "L1752-L1790"),
    "l1_loss": KerasPerSample("mean_absolute_error", "L1791-L1827"),
    "huber_loss": KerasPerSample("huber", "L1961-L2010"),
    "smooth_l1_loss": KerasPerSample("huber / mean_absolute_error", "L1961-L2010"),
    "log_cosh": KerasPerSample("log_cosh", "L2011-L2057"),
    "mean_squared_logarithmic_error": KerasPerSample(
        "mean_squared_logarithmic_error", "L1874-L1918", predicts=False
    ),
    "mean_absolute_percentage_error": KerasPerSample(
        "mean_absolute_percentage_error", "L1828-L1871", predicts=False
    ),
    "binary_cross_entropy": KerasPerSample("binary_crossentropy", "L2374-L2419", {"weight": False}),
    "sigmoid_focal_loss": KerasPerSample("binary_focal_crossentropy", "L2420-L2524"),
    "poisson_nll_loss": KerasPerSample("poisson", "L2109-L2147", {"log_input": False}),
    "hinge_loss": KerasPerSample("hinge", "L1636-L1670", predicts=False),
    "squared_hinge": KerasPerSample("squared_hinge", "L1673-L1708", predicts=False),
}


@dataclass(frozen=True)
class PerSampleModel:
    """What a Keras per-sample function (the mean of the elementwise losses over the last axis)
    returns where the reference's ``reduction`` keeps the elementwise losses (``none``: one value
    per sample, shape input.shape[:-1], no elementwise gradient to compare) or adds them up
    (``sum``: Σℓ / D, D = input.shape[-1], gradients divided by D as well).

    ``float32``: the backend averages a float64 case in float32 (jax and torch: Keras forces a
    64-bit result type to 32 bits, see :func:`keras_float64_mean_in_float32`): each elementwise
    loss is rounded to float32 and the bound is float32's. The registry binds it per backend
    (:meth:`for_backend`), so the one entry predicts the combined behaviour on every backend.
    """

    reduction: str  # "none", "sum", or "case": the case's own (mean: the overall mean)
    float32: bool = False
    # a documented change of each elementwise loss that Keras makes on top (log_cosh's shift)
    change: Callable[[np.ndarray], np.ndarray] | None = None

    def for_backend(self, backend: str) -> PerSampleModel:
        return dataclasses.replace(self, float32=backend in ("jax", "torch"))

    def __call__(self, case: Case) -> Prediction:
        spec = R.get(case.loss)
        ts = spec.term_scale
        in32 = self.float32 and case.dtype == "float64"
        # a 0-d input (torch's backend reduces its "last axis", which leaves the scalar as it is)
        shape = np.shape(case.arrays["input"])
        size, axis = (shape[-1], -1) if shape else (1, None)
        reduction = self.reduction
        if reduction == "case":
            reduction = {**spec.defaults(), **case.params}["reduction"]

        def losses(a, p):
            loss = spec.elementwise(a, p).loss
            loss = loss if self.change is None else self.change(loss)
            return R.round_to(loss, "float32") if in32 else loss

        def bound(scale: TermScale) -> TermScale:
            return float32_term_scale(scale) if in32 else scale

        if reduction not in ("none", "sum"):  # the mean of the per-sample means: the mean
            return predict(
                case,
                elementwise=lambda a, p: R.Elementwise(
                    losses(a, p), spec.elementwise(a, p).denominators
                ),
                term_scale=bound(ts),
            )
        if reduction == "sum":
            scaled = TermScale(
                lambda a, p, loss: ts.value(a, p, spec.elementwise(a, p).loss) / size,
                lambda a, p, c: ts.grads(a, p, c / size),
                None if ts.grad_floor is None else lambda a, p, c: ts.grad_floor(a, p, c / size),
            )
            return predict(
                case,
                elementwise=lambda a, p: R.Elementwise(
                    losses(a, p) / size, spec.elementwise(a, p).denominators
                ),
                elementwise_vjp=lambda a, p, g: spec.elementwise_vjp(a, p, g / size),
                term_scale=bound(scaled),
            )
        # none: the result has another shape than the reference's, so no cotangent applies and
        # nothing is pulled back; the prediction carries the value alone
        per_sample = TermScale(
            lambda a, p, loss: np.mean(ts.value(a, p, spec.elementwise(a, p).loss), axis=axis),
            lambda a, p, c: {},
        )
        changed = dataclasses.replace(
            spec,
            elementwise=lambda a, p: R.Elementwise(np.mean(losses(a, p), axis=axis)),
            term_scale=bound(per_sample),
        )
        arrays, full, _ = R.validate(case.loss, case.rounded(), case.params)
        with np.errstate(all="ignore"):
            value = changed.elementwise(arrays, full).loss
        return Prediction(np.asarray(value, dtype=np.float64), {}, changed, None)


PER_SAMPLE_MODEL_TEXT = {
    "none": "the mean of the reference's elementwise losses over the last axis, per sample "
    "(float64 cases on the jax and torch backends: each loss rounded to float32, float32's bound)",
    "sum": "the reference's sum and gradients divided by input.shape[-1] (float64 cases on the "
    "jax and torch backends: each loss rounded to float32, float32's bound)",
}


def _per_sample_model(loss: str, reduction: str) -> dict[str, Any]:
    if not KERAS_PER_SAMPLE[loss].predicts:
        return {}
    return {"model": PerSampleModel(reduction), "model_text": PER_SAMPLE_MODEL_TEXT[reduction]}


def _keras_per_sample(
    id: str, loss: str, example: Example, description: str, where: Mapping[str, Any], **fields
) -> Divergence:
    """A convention of the Keras per-sample function behind ``loss`` (``{function}`` in the
    description names it), in its configurations narrowed by ``where``."""
    keras = KERAS_PER_SAMPLE[loss]
    return Divergence(
        id=id,
        kind="convention",
        loss=loss,
        description=description.format(function=keras.function),
        citation=keras.citation,
        where={**keras.where, **where},
        example=example,
        **fields,
    )


def keras_per_sample_none(id: str, loss: str, example: Example) -> Divergence:
    return _keras_per_sample(
        id,
        loss,
        example,
        "keras.losses.{function} returns one value per sample, the mean over the last axis "
        "(shape [batch, d0, .. dN-1]): reduction=None gives input.shape[:-1], not the elementwise "
        "loss; the reduced-away axis leaves no elementwise gradient to compare",
        {"reduction": "none"},
        inputs=rank_at_least("input", 1),
        inputs_text="input of rank ≥ 1",
        affects=("value",),
        **_per_sample_model(loss, "none"),
    )


def keras_per_sample_sum(id: str, loss: str, example: Example) -> Divergence:
    return _keras_per_sample(
        id,
        loss,
        example,
        "keras.losses.{function} averages the last axis before reduction='sum' adds the "
        "per-sample values: the result (and gradient) is the elementwise sum divided by "
        "input.shape[-1]",
        {"reduction": "sum"},
        inputs=last_axis_longer_than_one("input"),
        inputs_text="last axis longer than 1",
        **_per_sample_model(loss, "sum"),
    )


def keras_rank_0_rejected(id: str, loss: str, example: Example) -> Divergence:
    return _keras_per_sample(
        id,
        loss,
        example,
        "keras.losses.{function} takes the mean over axis -1, which a 0-d input lacks: "
        "TensorFlow raises 'Invalid reduction dimension -1 for input with 0 dimensions' where the "
        "reference returns the scalar loss",
        {},
        # an error entry: the matcher asks it about rejected inputs too, and a 0-d input the
        # reference rejects for its shapes is still one Keras cannot reduce
        inputs=rank_is("input", 0),
        inputs_text="0-d (scalar) input",
        affects=("error",),
    )


# --- float64 on the JAX and torch backends: computed in float32 -----------------------------------

F32, F64 = R.FORMATS["float32"], R.FORMATS["float64"]
# The float32 bound of cases.tolerance, k·(u₃₂·S + η₃₂·F), written as the float64 bound the judge
# applies to a float64 case, k·(u₆₄·S' + η₆₄·F'): every term scale grows by u₃₂/u₆₄ = 2^29 and
# takes η₃₂/u₆₄ per term for float32's underflow; the gradient floor grows by η₃₂/η₆₄.
U32_OVER_U64 = F32.eps / F64.eps
ETA32_OVER_U64 = F32.tiny / (F64.eps / 2)
ETA32_OVER_ETA64 = F32.tiny / F64.tiny


def float32_term_scale(ts: TermScale) -> TermScale:
    """``ts`` as float32 arithmetic makes errors (see :data:`U32_OVER_U64`)."""

    def value(a, p, loss):
        return U32_OVER_U64 * np.asarray(ts.value(a, p, loss), dtype=np.float64) + ETA32_OVER_U64

    def grads(a, p, c):
        return {k: U32_OVER_U64 * np.asarray(g) for k, g in ts.grads(a, p, c).items()}

    def grad_floor(a, p, c):
        share = 1.0 + (float(np.max(np.abs(c))) if np.size(c) else 0.0)
        if ts.grad_floor is not None:
            share = share + np.asarray(ts.grad_floor(a, p, c), dtype=np.float64)
        # The cotangent passes through float32 (the cast's VJP) and is scaled there (ops.mean's
        # 1/n): where that underflows float32, the η₃₂ lost is multiplied by the rest of the
        # chain, the gradient per unit cotangent (its terms: ts.grads at c = 1).
        per_unit = [
            np.abs(np.asarray(g, dtype=np.float64))
            for g in ts.grads(a, p, np.ones_like(c)).values()
        ]
        try:
            share = share + np.maximum.reduce(np.broadcast_arrays(*per_unit))
        except ValueError:  # arguments of different shapes: the largest term of any
            share = share + max((float(np.max(g)) for g in per_unit if g.size), default=0.0)
        return ETA32_OVER_ETA64 * np.asarray(share, dtype=np.float64)

    return TermScale(value, grads, grad_floor)


def computed_in_float32(round_elements: bool) -> Callable[[Case], Prediction]:
    """The model of a float64 loss the backend evaluates (partly) in float32: the reference's
    value and gradients, held to float32's error bound on the reference's own terms;
    ``round_elements``: the elementwise losses themselves pass through float32 (ops.mean casts
    them), so one beyond float32's range is ±inf and the result with it."""

    def model(case: Case) -> Prediction:
        spec = R.get(case.loss)
        elementwise = None
        if round_elements:

            def elementwise(a, p):
                el = spec.elementwise(a, p)
                return R.Elementwise(R.round_to(el.loss, "float32"), el.denominators)

        return predict(
            case,
            elementwise=elementwise,
            term_scale=float32_term_scale(spec.term_scale),
        )

    return model


def nan_items_per_sample(case: Case, items: np.ndarray) -> Prediction:
    """The reference's result with NaN at the masked items of a per-sample Keras loss, computed
    as Keras computes it on the JAX and torch backends: a float64 case in float32 (ops.mean,
    see :func:`computed_in_float32`), so the other items keep float32's error bound."""
    spec = R.get(case.loss)
    mask = np.asarray(items, dtype=bool)

    def elementwise(a, p):
        el = spec.elementwise(a, p)
        loss = np.where(np.broadcast_to(mask, el.loss.shape), np.nan, el.loss)
        return R.Elementwise(loss, el.denominators)

    in_float32 = case.dtype == "float64"
    return predict(
        case,
        elementwise=elementwise,
        term_scale=float32_term_scale(spec.term_scale) if in_float32 else None,
    )


FLOAT32_MODEL_TEXT = (
    "the reference's value and gradients within float32's error bound on the reference's terms "
    "(k·(u₃₂·S + η₃₂·F) instead of float64's)"
)


def keras_float64_mean_in_float32(
    id: str, loss: str, example: Example, where: Mapping[str, Any] | None = None
) -> Divergence:
    """A per-sample Keras loss (``ops.mean`` over the last axis) in float64 on the JAX or torch
    backend: the mean runs in float32."""
    keras = KERAS_PER_SAMPLE.get(loss)
    function = keras.function if keras else "binary_crossentropy"
    return Divergence(
        id=id,
        kind="known-bug",
        loss=loss,
        description=(
            f"keras.losses.{function} averages the last axis with ops.mean, which on the JAX and "
            "torch backends computes in result_type(dtype, 'float32'), and Keras' type promotion "
            "forces a 64-bit result to 32 bits there (BIT64_TO_BIT32_DTYPE: 'to be aligned with "
            "JAX's default behavior'): float64 elementwise losses are cast to float32, averaged "
            "in float32 and cast back, so a float64 result carries float32's rounding (mse_loss "
            "mean of errors 1 + 2^-30 and 0: 0.5 + 2^-30 + 2^-61 comes back 0.5), a loss beyond "
            "3.4e38 is inf, and the gradient's 1/n is a float32 number"
        ),
        citation=f"{KERAS_MEAN}; {KERAS_BIT64_TO_BIT32}",
        where={**(keras.where if keras else {}), **(where or {})},
        dtypes=("float64",),
        model=computed_in_float32(round_elements=True),
        model_text=FLOAT32_MODEL_TEXT + ", each elementwise loss rounded to float32 (±inf beyond "
        "its range)",
        example=example,
    )


def torch_mean_divides(case: Case) -> bool:
    """Keras' sum_over_batch_size divides (reduce_values) unless the per-sample losses are a
    scalar or empty: input of rank ≥ 2 (one axis, the class or last axis, is reduced per sample)
    that is not (0, C)."""
    if case.params.get("reduction", "mean") not in ("mean", "batchmean"):
        return False
    # a pair loss (input1, input2) reduces its vectors as the others reduce input
    x = array(case, "input") if "input" in case.arrays else array(case, "input1")
    return x is not None and x.ndim >= 2 and not (x.ndim == 2 and x.shape[0] == 0)


TORCH_MEAN_DIVIDES_TEXT = (
    "reduction mean (batchmean) over per-sample losses that are neither a scalar nor empty "
    "(input of rank ≥ 2, not (0, C))"
)


def keras_torch_float64_mean_in_float32(id: str, loss: str, example: Example) -> Divergence:
    """A float64 ``sum_over_batch_size`` on the torch backend: the final division is float32."""
    return Divergence(
        id=id,
        kind="known-bug",
        loss=loss,
        description=(
            "Keras' sum_over_batch_size sums the per-sample losses and divides with "
            "ops.divide_no_nan, which on the torch backend casts both operands to "
            "result_type(x1, x2, float) — float32 for float64 operands, Keras forcing a 64-bit "
            "result to 32 bits: the float64 mean is the float64 sum rounded to float32 and "
            "divided in float32, and its gradient 1/n is a float32 number (the result itself "
            "comes back float32: */keras-torch-float64-mean-returns-float32)"
        ),
        citation=f"{KERAS_TORCH_DIVIDE_NO_NAN}; {KERAS_BIT64_TO_BIT32}",
        dtypes=("float64",),
        inputs=torch_mean_divides,
        inputs_text=TORCH_MEAN_DIVIDES_TEXT,
        model=computed_in_float32(round_elements=False),
        model_text=FLOAT32_MODEL_TEXT,
        example=example,
    )


# --- entries every loss carries -------------------------------------------------------------------


def subnormal_input(case: Case) -> bool:
    """Some floating-point input or cotangent is subnormal in the case dtype."""
    tiny = R.FORMATS[case.dtype].tiny
    arrays = [v for v in case.rounded().values() if np.issubdtype(v.dtype, np.floating)]
    cot = case.rounded_cotangent()
    if cot is not None:
        arrays.append(np.asarray(cot))
    return any(bool(np.any((a != 0) & (np.abs(a) < tiny))) for a in arrays)


def tf_flushes_subnormal_inputs(id: str, loss: str, example: Example) -> Divergence:
    return Divergence(
        id=id,
        kind="convention",
        loss=loss,
        description=(
            "TensorFlow runs CPU kernels with denormals-are-zero / flush-to-zero: a subnormal "
            "input or cotangent is read as 0 (a cotangent of 2.2e-309 times a logit of 724 gives "
            "a target gradient of −0 instead of −1.6e-306)"
        ),
        citation="https://github.com/tensorflow/tensorflow/issues/11902",
        inputs=subnormal_input,
        inputs_text="a subnormal input or cotangent in the case dtype",
        example=example,
    )


def float16_sum_of_losses_overflows(case: Case) -> bool:
    """The values an averaging reduction adds up (per-sample means for Keras' per-sample losses,
    elementwise losses otherwise) sum to more than float16's 65504 in magnitude."""
    if case.params.get("reduction", "mean") not in ("mean", "batchmean"):
        return False
    el = np.abs(case.pointwise())
    x = array(case, "input")
    keras = KERAS_PER_SAMPLE.get(case.loss)
    config = R.config_of(case)
    if keras is not None and all(config.get(k) == v for k, v in keras.where.items()) and x.ndim:
        el = el / x.shape[-1]  # Keras sums the per-sample means
    total = np.sum(el)
    return bool(np.isfinite(total) and total > R.FORMATS["float16"].max_value)


def tf_float16_mean_accumulates_in_float16(id: str, loss: str, example: Example) -> Divergence:
    return Divergence(
        id=id,
        kind="known-bug",
        loss=loss,
        description=(
            "Eager tf.reduce_mean (and Keras' sum_over_batch_size, which sums first) adds float16 "
            "values in float16: once the sum passes 65504 the mean is inf although it is "
            "representable (thirty losses of 3000: inf instead of 3000); under jit_compile XLA "
            "accumulates in a wider type and is right (the cited issue: CPU float16 reductions "
            "keep their intermediates in float16)"
        ),
        citation="https://github.com/tensorflow/tensorflow/issues/115732",
        inputs=float16_sum_of_losses_overflows,
        inputs_text="mean or batchmean whose summed losses exceed 65504 in magnitude",
        dtypes=("float16",),
        devices=("cpu",),
        modes=("eager",),
        example=example,
    )


# --- error-only conventions: TensorFlow returns a number where the reference rejects shapes ------


def broadcast(*shapes: tuple) -> bool:
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True


def input_and_target_broadcast(case: Case) -> bool:
    """Elementwise losses: input and target broadcast (Keras first squeezes a trailing 1)."""
    return broadcast(np.shape(case.arrays["input"]), np.shape(case.arrays["target"]))


def _shapes_row(id: str, loss: str, example: Example, where: Mapping | None, **fields) -> Accepts:
    """A row for shapes the reference rejects and TensorFlow takes."""
    return Accepts(
        id=id, loss=loss, argument="shapes", where=where or {}, example=example, **fields
    )


BROADCASTS_INPUT_AND_TARGET = (
    "TensorFlow broadcasts input and target (NumPy's rules; Keras first squeezes a trailing "
    "dimension of 1) instead of rejecting shapes no layout allows: a number comes back where the "
    "reference raises"
)


def broadcasts_input_and_target(
    id: str, loss: str, example: Example, citation: str | None = None, where: Mapping | None = None
) -> Accepts:
    """``citation``: the Keras per-sample function's source unless given."""
    return _shapes_row(
        id,
        loss,
        example,
        where,
        description=BROADCASTS_INPUT_AND_TARGET,
        citation=citation or KERAS_PER_SAMPLE[loss].citation,
        accepts=input_and_target_broadcast,
        accepts_text="input and target broadcast",
    )


def keras_rank_fix(y_true: tuple, y_pred: tuple) -> tuple[tuple, tuple]:
    """The shapes after keras.losses.loss.squeeze_or_expand_to_same_rank(y_true, y_pred), which
    LossFunctionWrapper.call applies before every Keras loss function: where the ranks differ by
    one and the longer shape ends in 1, a rank-1 other side gets a trailing 1, else the 1 goes."""
    if len(y_true) == len(y_pred) + 1 and y_true[-1:] == (1,):
        return (y_true, (*y_pred, 1)) if len(y_pred) == 1 else (y_true[:-1], y_pred)
    if len(y_pred) == len(y_true) + 1 and y_pred[-1:] == (1,):
        return ((*y_true, 1), y_pred) if len(y_true) == 1 else (y_true, y_pred[:-1])
    return y_true, y_pred


KERAS_RANK_FIX_DOES = (
    "Keras' LossFunctionWrapper.call passes y_true and y_pred through "
    "squeeze_or_expand_to_same_rank: where their ranks differ by one and the longer ends in a "
    "dimension of 1, that 1 is squeezed away (or, against a rank-1 argument, the rank-1 one gets "
    "a trailing 1), pairing the elements one to one"
)


def keras_rank_fix_squeezes_trailing_one(
    id: str,
    loss: str,
    function: str,
    shown_by: str,
    accepts: Predicate,
    shapes: str,
    example: Example,
    where: Mapping[str, Any] | None = None,
) -> Accepts:
    """``shown_by``: the example in words; ``shapes``: which argument loses its trailing 1."""
    return _shapes_row(
        id,
        loss,
        example,
        where,
        description=(
            f"{KERAS_RANK_FIX_DOES}, so keras.losses.{function} computes its loss on those pairs "
            "where the reference rejects the shapes (and NumPy broadcasting would pair every "
            f"element with every other): {shown_by}"
        ),
        citation=KERAS_RANK_FIX,
        accepts=accepts,
        accepts_text=f"the shapes are equal once {shapes} loses its trailing dimension of 1",
    )
