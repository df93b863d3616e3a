"""Keras' known divergences for the overlap losses (dice_loss, tversky_loss).

``keras.losses.Dice``/``dice`` and ``Tversky``/``tversky`` (keras/src/losses/losses.py:2564-2654
at 3.15.1) add no smoothing to the numerator and ``keras.config.epsilon()`` (1e-7) to the
denominator, so they are mapped at smooth = 0 only and differ from it by that ε; Tversky's code
puts α on the false negatives and β on the false positives, the other way round from its own
docstring (and from Salehi et al., and optax). The models below are the reference's own ratio
(:func:`reference.overlap.overlap_ratio`) with those coefficients.
"""

from __future__ import annotations

import numpy as np

import reference as R
from reference import Case
from reference.contract import Prediction, predict
from reference.overlap import Ratio, overlap_ratio, overlap_vjp
from reference.spec import Elementwise

from ...base import Accepts, Divergence, Example
from ._common import (
    KERAS_BIT64_TO_BIT32,
    KERAS_EPSILON,
    KERAS_LOSSES,
    KERAS_TORCH_DIVIDE_NO_NAN,
    TORCH_MEAN_DIVIDES_TEXT,
    broadcasts_input_and_target,
    float32_term_scale,
    in_dtype,
    torch_mean_divides,
)

DICE_SOURCE = f"{KERAS_LOSSES}#L2564-L2612 (keras.losses.dice at 3.15.1)"
TVERSKY_SOURCE = f"{KERAS_LOSSES}#L2616-L2654 (keras.losses.tversky at 3.15.1)"


def _keras_ratio(loss: str, params, eps: float) -> Ratio:
    if loss == "dice_loss":
        return Ratio(2.0, 0.0, 1.0, 1.0, 0.0, eps)
    alpha, beta = params["alpha"], params["beta"]
    # Keras: I + α·Σ(1 − p)t + β·Σp(1 − t) = (1 − α − β)·I + β·P + α·T
    return Ratio(1.0, 1.0 - alpha - beta, beta, alpha, 0.0, eps)


def _symmetric(case: Case) -> bool:
    """α = β, the defaults filled in (a case names only the parameters it sets)."""
    params = {**R.get(case.loss).defaults(), **case.params}
    return params["alpha"] == params["beta"]


def keras_overlap(case: Case, in_float32: bool = False) -> Prediction:
    """The reference's ratio with Keras' coefficients: no smoothing in the numerator, ε (in the
    case dtype) in the denominator, Tversky's α and β on FN and FP; ``in_float32``: held to
    float32's error bound on the reference's terms (the torch backend's float64 mean)."""
    eps = in_dtype(KERAS_EPSILON, case)

    def ratio(p) -> Ratio:
        return _keras_ratio(case.loss, p, eps)

    def vjp(a, p, g):
        grads = overlap_vjp(a, p, g, ratio(p))
        # An all-zero item's denominator is ε alone, and autodiff's quotient rule forms ε²,
        # which is 0 in float16 (1.4e-14 < 6e-8): 0/0 gives that item NaN gradients.
        size = np.sum(a["input"], axis=-1) + np.sum(a["target"], axis=-1)
        empty = (size == 0) & (R.round_to(np.asarray(eps * eps), case.dtype) == 0)
        return {k: np.where(empty[..., None], np.nan, v) for k, v in grads.items()}

    return predict(
        case,
        elementwise=lambda a, p: Elementwise(1.0 - overlap_ratio(a, p, ratio(p))),
        elementwise_vjp=vjp,
        term_scale=float32_term_scale(R.get(case.loss).term_scale) if in_float32 else None,
    )


def keras_torch_overlap_mean(case: Case) -> Prediction:
    return keras_overlap(case, in_float32=True)


# p = (½, ¼, 1) against t = (1, 0, 1): Dice 1 − 3/3.75 = 0.2 at smooth 0, Keras
# 1 − 3/(3.75 + 1e-7) = 0.2 + 2.1e-8; Tversky(α = 0.3, β = 0.7) 17/77 = 0.22078, Keras
# 1 − 1.5/(1.5 + 0.3·½ + 0.7·¼) = 13/73 = 0.17808
COTANGENT = [1.0, -0.5]
ROW = {"input": [[0.5, 0.25, 1.0], [0.25, 0.5, 0.0]], "target": [[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]]}

DIVERGENCES: list[Divergence] = [
    Divergence(
        id="dice_loss/keras-epsilon-denominator",
        kind="convention",
        loss="dice_loss",
        description=(
            "keras.losses.Dice / dice compute 1 − 2·Σ y_true·y_pred / (Σ y_true + Σ y_pred + ε) "
            "with ε = keras.config.epsilon() = 1e-7 and nothing added to the numerator: the "
            "canonical smooth = 0 up to that ε (p = (½, ¼, 1), t = (1, 0, 1): 0.2 + 2.1e-8 "
            "instead of 0.2), and an all-zero prediction and mask give 1 − 0/ε = 1 where the "
            "reference's 0/0 is NaN"
        ),
        citation=DICE_SOURCE,
        where={"smooth": 0.0, "logits": False},
        model=keras_overlap,
        model_text="the reference's ratio with ε (1e-7 in the case dtype) added to the denominator",
        example=Example({"smooth": 0.0, "reduction": "none"}, ROW, cotangent=COTANGENT),
    ),
    Divergence(
        id="tversky_loss/keras-epsilon-denominator",
        kind="convention",
        loss="tversky_loss",
        description=(
            "keras.losses.Tversky / tversky compute 1 − I / (I + α·FN + β·FP + ε) with "
            "ε = keras.config.epsilon() = 1e-7 and nothing added to the numerator: at α = β the "
            "canonical smooth = 0 up to that ε, and an all-zero prediction and mask give "
            "1 − 0/ε = 1 where the reference's 0/0 is NaN"
        ),
        citation=TVERSKY_SOURCE,
        where={"smooth": 0.0, "logits": False},
        inputs=lambda case: _symmetric(case),
        inputs_text="α = β (where exchanging them changes nothing)",
        model=keras_overlap,
        model_text="the reference's ratio with ε (1e-7 in the case dtype) added to the denominator",
        example=Example({"smooth": 0.0, "reduction": "none"}, ROW, cotangent=COTANGENT),
    ),
    Divergence(
        id="tversky_loss/keras-alpha-on-false-negatives",
        kind="known-bug",
        loss="tversky_loss",
        description=(
            "keras.losses.Tversky / tversky document α as the weight of the false positives and β "
            "of the false negatives (as Salehi et al. and optax.losses.dice_loss define them), but "
            "the code weighs fp = Σ(1 − y_pred)·y_true, the false negatives, with α and "
            "fn = Σ y_pred·(1 − y_true), the false positives, with β (and adds ε = 1e-7 to the "
            "denominator, as Dice does): the Tversky loss with α and β exchanged (p = (½, ¼, 1) "
            "against t = (1, 0, 1), α = 0.3, β = 0.7: 13/73 = 0.17808 instead of 17/77 = "
            "0.22078)"
        ),
        citation=f"{TVERSKY_SOURCE}; docstring of keras.losses.Tversky ({KERAS_LOSSES}#L1377-L1398)",
        where={"smooth": 0.0, "logits": False},
        inputs=lambda case: not _symmetric(case),
        inputs_text="α ≠ β",
        model=keras_overlap,
        model_text=(
            "the reference's ratio with α weighing FN and β weighing FP, and ε (1e-7 in the case "
            "dtype) added to the denominator"
        ),
        example=Example(
            {"alpha": 0.3, "beta": 0.7, "smooth": 0.0, "reduction": "none"},
            ROW,
            cotangent=COTANGENT,
        ),
    ),
]

# The judge credits the first entry that explains a part: these come after the ones above, so they
# take only the float64 means whose float32 division those models' float64 bound cannot hold.
DIVERGENCES += [
    Divergence(
        id=f"{loss}/keras-torch-float64-mean-in-float32",
        kind="known-bug",
        loss=loss,
        description=(
            f"keras.losses.{cls} with reduction sum_over_batch_size on the torch backend: the "
            "per-item losses (with Keras' ε in the denominator"
            + (", and α on the false negatives" if loss == "tversky_loss" else "")
            + ") are summed in float64 and divided with ops.divide_no_nan, which casts both "
            "operands to result_type(x1, x2, float) — float32 for float64, Keras forcing a 64-bit "
            "result to 32 bits: the float64 mean carries float32's rounding (p = (½, ¼, 1), "
            "(¼, ½, 0) against t = (1, 0, 1), (1, 0, 0): the float64 mean's error is of float32's "
            "size, 1e-8, not 1e-16) and its gradient's 1/n is a float32 number"
        ),
        citation=f"{source}; {KERAS_TORCH_DIVIDE_NO_NAN}; {KERAS_BIT64_TO_BIT32}",
        where={"smooth": 0.0, "logits": False},
        dtypes=("float64",),
        inputs=torch_mean_divides,
        inputs_text=TORCH_MEAN_DIVIDES_TEXT,
        model=keras_torch_overlap_mean,
        model_text=(
            "the Keras ratio of the entries above (ε in the denominator"
            + (", α weighing FN and β FP" if loss == "tversky_loss" else "")
            + ") within float32's error bound on the reference's terms"
        ),
        example=Example({"smooth": 0.0, **params}, ROW),
    )
    for loss, cls, source, params in (
        ("dice_loss", "Dice", DICE_SOURCE, {}),
        ("tversky_loss", "Tversky", TVERSKY_SOURCE, {"alpha": 0.3, "beta": 0.7}),
    )
]

# Entries that hold on some backends only (the others: every backend).
BACKENDS: dict[str, tuple[str, ...]] = {
    "dice_loss/keras-torch-float64-mean-in-float32": ("torch",),
    "tversky_loss/keras-torch-float64-mean-in-float32": ("torch",),
}

ACCEPTS: list[Accepts] = [
    Accepts(
        id=f"{loss}/keras-no-domain-check-{argument}",
        loss=loss,
        argument=argument,
        description=(
            f"keras.losses.{cls} checks no range: a {argument} outside [0, 1] enters the sums as "
            "it is, so a number comes back where the reference rejects it"
        ),
        citation=source,
        where={"smooth": 0.0, "logits": False},
        example=Example(
            {"smooth": 0.0, **params},
            {
                "input": [[1.25 if argument == "input" else 0.5, 0.5]],
                "target": [[1.0, -0.25 if argument == "target" else 0.0]],
            },
        ),
    )
    for loss, cls, source, params in (
        ("dice_loss", "Dice", DICE_SOURCE, {}),
        ("tversky_loss", "Tversky", TVERSKY_SOURCE, {}),
    )
    for argument in ("input", "target")
]
ACCEPTS += [
    broadcasts_input_and_target(
        f"{loss}/broadcasts-mismatched-shapes",
        loss,
        Example({"smooth": 0.0}, {"input": ROW["input"], "target": [ROW["target"][0]]}),
        citation=source,
        where={"smooth": 0.0, "logits": False},
    )
    for loss, source in (("dice_loss", DICE_SOURCE), ("tversky_loss", TVERSKY_SOURCE))
]
