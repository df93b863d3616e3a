"""optax's known divergences for the overlap losses (dice_loss, tversky_loss).

optax.losses.binary_dice_loss and dice_loss (optax/losses/_segmentation.py at 0.2.8) check the
shapes (``utils.check_shapes_equal``) but not the range of the targets, and take the sigmoid of
a logit with jax.nn.sigmoid, whose 1/(1 + exp(−x)) is 0 wherever exp(−x) overflows the dtype.
"""

from __future__ import annotations

import numpy as np

import reference as R
from reference import Case
from reference.contract import Accepts, Divergence, Example, Prediction, predict

from ._common import OPTAX

JAX_LOGISTIC = (
    "https://github.com/jax-ml/jax/blob/jax-v0.10.2/jax/_src/lax/lax.py#L4531-L4539 "
    "(logistic_impl: one / (one + exp(−x)), with the TODO on the LogisticOp lowering's "
    "numerical problems)"
)


def _overflows(x: np.ndarray, dtype: str) -> np.ndarray:
    """Where exp(−x), rounded to ``dtype``, is beyond its finite range (float16: x below −11.09;
    float32 and bfloat16: −88.72; float64: −709.78)."""
    with np.errstate(over="ignore"):
        return np.isinf(R.round_to(np.exp(-x), dtype)) & ~np.isinf(x)


def jax_sigmoid_underflow(case: Case) -> Prediction:
    spec = R.get(case.loss)
    dtype = case.dtype

    def as_jax(a):
        # σ = 1/(1 + inf) = 0: the reference's σ at x = −inf, where its σ(x)σ(−x) is 0 too
        x = a["input"]
        return {**a, "input": np.where(_overflows(x, dtype), -np.inf, x)}

    return predict(
        case,
        elementwise=lambda a, p: spec.elementwise(as_jax(a), p),
        elementwise_vjp=lambda a, p, g: spec.elementwise_vjp(as_jax(a), p, g),
    )


SEGMENTATION_SOURCE = OPTAX.format("_segmentation.py#L37-L205")

ACCEPTS: list[Accepts] = [
    Accepts(
        id=f"{loss}/optax-no-target-range-check",
        loss=loss,
        argument="target",
        description=(
            f"optax.losses.{api} does not check that the targets lie in [0, 1]: a target outside "
            "enters the sums as it is, so a number comes back where the reference rejects it"
        ),
        citation=SEGMENTATION_SOURCE,
        where={"logits": True},
        example=Example({"logits": True}, {"input": [[0.5, -1.0]], "target": [[1.0, -0.25]]}),
    )
    for loss, api in (("dice_loss", "binary_dice_loss"), ("tversky_loss", "dice_loss"))
]

DIVERGENCES: list[Divergence] = [
    Divergence(
        id=f"{loss}/jax-sigmoid-exp-overflow",
        kind="known-bug",
        loss=loss,
        description=(
            f"optax.losses.{api} takes jax.nn.sigmoid of the logits, which JAX evaluates as "
            "1/(1 + exp(−x)) in the input dtype: where exp(−x) overflows (float16: a logit below "
            "−11.09) the probability is 0 and so is its derivative, although σ(x) is a float16 "
            "number there (σ(−11.25) = 1.3e-5; the gradient of p = (σ(−11.25), σ(8)) against "
            "t = (1, 0) at smooth 0 is 0 instead of −1.3e-5)"
        ),
        citation=f"{JAX_LOGISTIC}; {SEGMENTATION_SOURCE}",
        where={"logits": True},
        inputs=lambda case: bool(np.any(_overflows(case.rounded()["input"], case.dtype))),
        inputs_text="some logit x (finite) whose exp(−x) is beyond the dtype's finite range",
        model=jax_sigmoid_underflow,
        model_text="the reference with σ = 0 (and its derivative 0) at those logits",
        example=Example(
            {"logits": True, "smooth": 0.0},
            {"input": [[-11.25, 8.0]], "target": [[1.0, 0.0]]},
            dtype="float16",
        ),
    )
    for loss, api in (("dice_loss", "binary_dice_loss"), ("tversky_loss", "dice_loss"))
]
DIVERGENCES += [row.as_divergence() for row in ACCEPTS]
