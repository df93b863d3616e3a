"""Keras against the reference: CategoricalFocalCrossentropy and CategoricalGeneralizedCrossEntropy
(the softmax focal loss and the generalized cross-entropy, reference/categorical.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import reference as R
from reference import Case
from reference._math import log_softmax, times_or_zero
from reference.contract import Prediction, predict, predict_nonfinite
from reference.terms import TermScale

from ...base import Accepts, Divergence, Example
from ._common import (
    KERAS_EPSILON,
    KERAS_LOSSES,
    KERAS_RANK_FIX,
    KERAS_SRC,
    array,
    broadcasts_input_and_target,
    float32_term_scale,
    in_dtype,
    keras_torch_float64_mean_in_float32,
    torch_mean_divides,
)

GCE_SOURCE = f"{KERAS_LOSSES}#L2746-L2792"
GCE_FUNCTION = "keras.losses.categorical_generalized_cross_entropy"  # the adapter's second API


FOCAL_SOURCE = f"{KERAS_LOSSES}#L2284-L2304"
FOCAL_M_ERROR = 3.0  # 1 − p from a rounded probability: an absolute error of a few u


# --- categorical_focal_crossentropy: softmax, then p / Σp clipped to [ε, 1 − ε] ------------------


def _softmax(x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.exp(log_softmax(x))


def _focal_clip_bounds(case: Case, backend: str | None = None) -> tuple[float, float]:
    """ε and 1 − ε as the backend's clip compares them: constants of the case dtype, except on
    the torch backend in float64, where convert_to_tensor makes them float32 tensors (floatx)
    that torch.clip compares exactly: ε = 1.0000000117e-7, 1 − ε = 1 − 1.19e-7."""
    if backend == "torch" and case.dtype == "float64":
        return float(np.float32(KERAS_EPSILON)), float(np.float32(1 - KERAS_EPSILON))
    return in_dtype(KERAS_EPSILON, case), in_dtype(1 - KERAS_EPSILON, case)


def _focal_rounded_softmax(case: Case) -> np.ndarray:
    return R.round_to(_softmax(array(case, "input")), case.dtype)


@dataclass(frozen=True)
class _FocalBound:
    """A predicate or model of the focal clip bound to a backend (the registry calls
    :meth:`for_backend`; unbound: the case dtype's bounds, a correctly rounded softmax and
    JAX's NaN-row conditions)."""

    what: Callable[[Case, str | None], object]
    backend: str | None = None

    def for_backend(self, backend: str) -> _FocalBound:
        return dataclasses.replace(self, backend=backend)

    def __call__(self, case: Case):
        return self.what(case, self.backend)


def _focal_outside_clip(case: Case, backend: str | None) -> bool:
    """Some softmax probability, in the case dtype, lies outside Keras' [ε, 1 − ε] (the bounds
    as the backend compares them): its term's value, and the target's gradient even where the
    target is 0, change."""
    prob = _focal_rounded_softmax(case)
    lo, hi = _focal_clip_bounds(case, backend)
    return bool(np.any((prob < lo) | (prob > hi)))


focal_probability_outside_clip = _FocalBound(_focal_outside_clip)


FLOAT16_OVERFLOW = 65520.0  # from here on a magnitude rounds to inf in float16


def _focal_item_cotangent(case: Case) -> np.ndarray | float:
    """|The cotangent of each item's loss|: the reduction's 1 (sum), 1/n (mean) or the case's."""
    reduction = {**R.get(case.loss).defaults(), **case.params}["reduction"]
    if reduction == "sum":
        return 1.0
    if reduction == "none":
        cot = case.rounded_cotangent()
        return 1.0 if cot is None else np.abs(np.asarray(cot, dtype=np.float64))
    items = int(np.prod(np.shape(array(case, "input"))[:-1]))
    return 1.0 / max(items, 1)


def _focal_backend_softmax(case: Case, backend: str | None) -> np.ndarray:
    """ops.softmax in the case dtype: correctly rounded (TensorFlow's eager kernel, torch), or as
    XLA evaluates it (JAX, TensorFlow under jit_compile): e = exp(x − max) and Σe each rounded to
    the dtype, then e/Σe (bfloat16 logits [3.78, −5, 9.69]: Σe = 1.0027 rounds to 1 and the
    largest probability is 1, where the correctly rounded one is 0.9961)."""
    if backend == "jax" or (backend == "tensorflow" and case.mode == "jit"):
        x = array(case, "input")
        with np.errstate(all="ignore"):
            e = R.round_to(np.exp(x - np.max(x, axis=-1, keepdims=True)), case.dtype)
            total = R.round_to(np.sum(e, axis=-1, keepdims=True), case.dtype)
            return R.round_to(e / total, case.dtype)
    return _focal_rounded_softmax(case)


def _focal_nan_gradient_rows(case: Case, backend: str | None) -> np.ndarray:
    """Rows whose input gradient a backend makes NaN in float16/bfloat16 (one inf or NaN in a
    row spreads over it through the renormalisation's and the softmax's VJPs, inf − inf):

    - JAX and TensorFlow, γ = 0: a renormalised probability o = p/Σp that rounds to 1 where
      1 − ε does too, so the clip leaves it and d(1 − o)^0/do = 0·0^−1 (torch's pow backward
      gives 0 for a 0 exponent);
    - float16, the log's VJP overflowing: TensorFlow forms g·(1/o), inf for any unclipped
      o < 1/65520 whatever the target (0·inf = NaN at a zero target); torch and JAX form g/o,
      g = −t·c·α(1 − o)^γ (c the item's cotangent), inf where |g|/o ≥ 65520 — on JAX at a
      clipped class too (o = ε), since its clip's VJP multiplies by a 0/1 mask (inf·0), where
      TensorFlow's and torch's select 0."""
    prob = _focal_backend_softmax(case, backend)
    t = array(case, "target")
    lo, hi = _focal_clip_bounds(case, backend)
    params = {**R.get(case.loss).defaults(), **case.params}
    rows = np.zeros(prob.shape[:-1], dtype=bool)
    if params["gamma"] == 0 and hi == 1.0 and backend in (None, "jax", "tensorflow"):
        # output = p / Σp in the dtype: a p just below 1 over a sum just below 1 rounds to 1
        total = R.round_to(np.sum(prob, axis=-1, keepdims=True), case.dtype)
        with np.errstate(all="ignore"):
            output = R.round_to(prob / total, case.dtype)
        rows |= np.any(output == 1.0, axis=-1)
    if case.dtype == "float16":
        inside = (prob >= lo) & (prob <= hi)
        out = np.clip(prob, lo, hi)
        with np.errstate(all="ignore"):
            if backend == "tensorflow":
                over = inside & (1.0 / out >= FLOAT16_OVERFLOW)
            else:
                c = np.asarray(_focal_item_cotangent(case))[..., None]
                g = np.abs(t) * c * abs(params["alpha"]) * (1.0 - out) ** params["gamma"]
                over = g / out >= FLOAT16_OVERFLOW
                if backend == "torch":
                    over &= inside
        rows |= np.any(over, axis=-1)
    return rows


focal_nan_gradient_rows = _FocalBound(
    lambda case, backend: bool(np.any(_focal_nan_gradient_rows(case, backend)))
)


def _focal_nan_rows(case: Case, backend: str | None) -> Prediction:
    found = _focal_clipped(case, backend)
    rows = _focal_nan_gradient_rows(case, backend)
    grads = dict(found.grads)
    grads["input"] = np.where(rows[..., None], np.nan, grads["input"])
    return Prediction(found.value, grads, found.spec, found.params)


_focal_nan_rows_model = _FocalBound(_focal_nan_rows)


def _focal_clipped(case: Case, backend: str | None) -> Prediction:
    """The reference's focal loss on p clipped to [ε, 1 − ε]: value α Σ t (1 − p̂)^γ (−log p̂),
    p̂ = clip(softmax(x)); no gradient through a clipped probability. The renormalisation by Σp
    is the identity in exact arithmetic (its Jacobian composed with the softmax's is the
    softmax's), so it changes nothing the model can see."""
    lo, hi = _focal_clip_bounds(case, backend)
    fmt = R.FORMATS[case.dtype]
    eta = fmt.smallest_subnormal if case.dtype == "float16" else fmt.tiny
    unit = fmt.eps / 2

    def parts(a, p):
        x, t = a["input"], a["target"]
        prob = _softmax(x)
        inside = (prob >= lo) & (prob <= hi)
        pc = np.clip(prob, lo, hi)
        return t, prob, inside, pc, np.log(pc), 1.0 - pc, p["alpha"], p["gamma"]

    def dpow(m, gamma, order=1):
        if gamma == 0 or (order == 2 and gamma == 1):
            return np.zeros_like(m)
        coef = gamma if order == 1 else gamma * abs(gamma - 1.0)
        return coef * m ** (gamma - order)  # m ≥ ε > 0: no 0 to a negative power

    def elementwise(a, p):
        t, _, _, _, logp, m, alpha, gamma = parts(a, p)
        return R.Elementwise(alpha * np.sum(times_or_zero(t, -logp * m**gamma), axis=-1))

    def vjp(a, p, g):
        t, prob, inside, pc, logp, m, alpha, gamma = parts(a, p)
        # ∂ℓ/∂p_c inside the clip, 0 outside; the softmax's VJP p ⊙ (G − Σ p G)
        dp = alpha * times_or_zero(t, dpow(m, gamma) * logp - m**gamma / pc)
        dp = np.where(inside, dp, 0.0)
        dx = prob * (dp - np.sum(prob * dp, axis=-1, keepdims=True))
        g = np.asarray(g)[..., None]
        return {"input": g * dx, "target": g * alpha * -logp * m**gamma}

    def sizes(a, p):
        t, prob, inside, pc, logp, m, alpha, gamma = parts(a, p)
        x = a["input"]
        top = np.max(x, axis=-1, keepdims=True)
        z = np.abs(x - np.where(np.isfinite(top), top, 0.0))
        with np.errstate(all="ignore"):
            lse = np.log(np.sum(np.exp(-z), axis=-1, keepdims=True))
        # a probability inside the clip carries the softmax's error (its log: |z| + |L| + 1
        # units) and, below the normal range (float16's subnormals from 6e-8), the absolute
        # error η of its rounding, η/p relative (η/(p·u) units); a clipped one is the constant
        # ε or 1 − ε
        with np.errstate(all="ignore"):
            under = np.where(inside, eta / (np.where(inside, prob, 1.0) * unit), 0.0)
        size = np.where(inside, z + np.abs(lse) + 1.0 + under, 1.0)
        return np.abs(t), prob, size, pc, np.abs(logp), m, abs(alpha), gamma

    def value_scale(a, p, loss):
        t, _, size, pc, alog, m, alpha, gamma = sizes(a, p)
        per_class = size * m**gamma + alog * dpow(m, gamma) * (pc * size + FOCAL_M_ERROR)
        return alpha * np.sum(times_or_zero(t, per_class), axis=-1)

    def grad_scale(a, p, c):
        t, prob, size, pc, alog, m, alpha, gamma = sizes(a, p)
        d1, d2 = dpow(m, gamma), dpow(m, gamma, 2)
        b = alpha * times_or_zero(
            t,
            (m**gamma + d1 * pc * alog) * size + FOCAL_M_ERROR * (d1 * (1.0 + alog) + d2),
        )
        cc = np.asarray(c)[..., None]
        # two passes of p ⊙ (G − Σ p G): the renormalisation's VJP and the softmax's
        dx = cc * (2.0 * prob * np.sum(b, axis=-1, keepdims=True) * size + b)
        dt = cc * alpha * (size * m**gamma + alog * d1 * FOCAL_M_ERROR)
        return {"input": dx, "target": dt}

    term_scale = TermScale(value_scale, grad_scale)
    if backend == "torch" and case.dtype == "float64" and torch_mean_divides(case):
        # the mean divides in float32 (categorical_focal_crossentropy/keras-torch-float64-mean-
        # in-float32): float32's bound on the same terms
        term_scale = float32_term_scale(term_scale)
    return predict(
        case,
        elementwise=elementwise,
        elementwise_vjp=vjp,
        term_scale=term_scale,
    )


_focal_clipped_model = _FocalBound(_focal_clipped)


def _focal_posinf_items(case: Case) -> np.ndarray:
    return np.any(np.isposinf(array(case, "input")), axis=-1)


def focal_posinf_logit(case: Case) -> bool:
    return bool(np.any(_focal_posinf_items(case)))


def _focal_posinf_model(case: Case) -> Prediction:
    items = _focal_posinf_items(case)[..., None]
    return predict_nonfinite(case, value=items[..., 0], grads={"input": items, "target": items})


def _gce_true_probability_zero(case: Case) -> bool:
    x, y = array(case, "input"), array(case, "target")
    if x is None or y is None or case.params.get("q", 0.5) >= 1:
        return False
    py = np.take_along_axis(x, np.asarray(y, dtype=np.int64)[..., None], axis=-1)[..., 0]
    return bool(np.any(py == 0))


def _gce_nan_at_other_classes(case: Case):
    x, y = array(case, "input"), np.asarray(array(case, "target"), dtype=np.int64)
    py = np.take_along_axis(x, y[..., None], axis=-1)
    others = np.arange(x.shape[-1]) != y[..., None]
    return predict_nonfinite(case, grads={"input": (py == 0) & others})


def _gce_single_class_batched(case: Case) -> bool:
    """Input (N, 1), target (N,), reduction sum or none: Keras' rank fix gives the target a
    trailing 1, its one-hot is (N, 1, 1), and the product with the (N, 1) input is (N, N, 1).
    The mean divides the N·N copies by N·N and is the reference's mean."""
    x = array(case, "input")
    return (
        x is not None
        and x.ndim == 2
        and x.shape[-1] == 1
        and case.params.get("reduction", "mean") in ("sum", "none")
    )


def _gce_single_class_outer(case: Case) -> Prediction:
    """Every item's loss N times: the sum (and its gradient) times N; at reduction none an
    (N, N) result whose every row holds the N losses (a C = 1 target can only be class 0)."""
    spec = R.get(case.loss)
    ts = spec.term_scale
    n = np.shape(case.arrays["input"])[0]
    if case.params.get("reduction") == "sum":
        return predict(
            case,
            elementwise=lambda a, p: R.Elementwise(n * spec.elementwise(a, p).loss),
            elementwise_vjp=lambda a, p, g: spec.elementwise_vjp(a, p, n * np.asarray(g)),
            term_scale=TermScale(
                lambda a, p, loss: n * ts.value(a, p, loss),
                lambda a, p, c: ts.grads(a, p, n * np.asarray(c)),
            ),
        )
    changed = dataclasses.replace(
        spec,
        elementwise=lambda a, p: R.Elementwise(
            np.broadcast_to(spec.elementwise(a, p).loss, (n, n)).copy()
        ),
        term_scale=TermScale(
            lambda a, p, loss: np.broadcast_to(ts.value(a, p, loss), (n, n)).copy(),
            lambda a, p, c: {},
        ),
    )
    arrays, full, _ = R.validate(case.loss, case.rounded(), case.params)
    with np.errstate(all="ignore"):
        value = changed.elementwise(arrays, full).loss
    return Prediction(np.asarray(value, dtype=np.float64), {}, changed, None)


def unbatched_input(case: Case) -> bool:
    x = array(case, "input")
    return x is not None and x.ndim == 1


def _gce_single_class_unbatched(case: Case) -> bool:
    x = array(case, "input")
    return x is not None and x.shape == (1,)


DIVERGENCES: list[Divergence] = [
    Divergence(
        id="categorical_focal_crossentropy/keras-clip-epsilon",
        kind="convention",
        loss="categorical_focal_crossentropy",
        description=(
            "keras.losses.categorical_focal_crossentropy(from_logits=True) takes ops.softmax, "
            "divides by its sum and clips the probabilities to [ε, 1 − ε] (ε = 1e-7) before "
            "log and (1 − p)^γ: a class of nonzero target whose softmax is below ε costs "
            "α (1 − ε)^γ (−log ε) ≈ α·16.12 whatever its logit (logits [−30, 0], one-hot target "
            "[1, 0], α = 1, γ = 0: 16.118 instead of 30), a −inf logit there a finite loss, and "
            "no gradient passes through a clipped probability. On the torch backend a float64 "
            "case is clipped at float32 bounds: convert_to_tensor makes ε and 1 − ε float32 "
            "(floatx) tensors, which torch.clip compares exactly (ε = 1.0000000117e-7, "
            "1 − ε = 1 − 1.19e-7; −log ε = 16.1180956 instead of 16.1180957)"
        ),
        citation=f"{FOCAL_SOURCE}; {KERAS_SRC}/backend/torch/numpy.py#L604-L617",
        inputs=focal_probability_outside_clip,
        inputs_text="a softmax probability, in the case dtype, outside [ε, 1 − ε] (ε = 1e-7 as "
        "a constant of the dtype; of float32 on the torch backend in float64)",
        model=_focal_clipped_model,
        model_text="the reference's loss and gradients on softmax probabilities clipped to "
        "[ε, 1 − ε] (the bounds as the backend compares them), with no gradient through a "
        "clipped probability (torch, float64 mean: float32's bound, its mean dividing in "
        "float32)",
        example=Example(
            {"alpha": 1.0, "gamma": 0.0, "reduction": "sum"},
            {"input": [[-30.0, 0.0]], "target": [[1.0, 0.0]]},
        ),
    ),
    Divergence(
        id="categorical_focal_crossentropy/keras-low-precision-nan-gradient",
        kind="known-bug",
        loss="categorical_focal_crossentropy",
        description=(
            "In float16 and bfloat16 categorical_focal_crossentropy's input gradient is NaN for "
            "a whole row (the renormalisation's and softmax's VJPs spread one inf over it, "
            "inf − inf): on JAX and TensorFlow where (γ = 0) a softmax probability rounds to 1, "
            "since 1 − ε rounds to 1 and the clip leaves it, and the derivative of (1 − o)^0 at "
            "0 is 0·0^−1 (torch's pow backward gives 0 for a 0 exponent; logits [8192, −8192, "
            "0], target class 2, γ = 0: [NaN, NaN, NaN]); in float16 where the log's VJP "
            "overflows: TensorFlow's is g·(1/o), inf for any unclipped probability below "
            "1/65520 (a zero target too: 0·inf), torch's and JAX's g/o, inf where "
            "|t·c·α(1 − o)^γ|/o ≥ 65520 — on JAX at a clipped class too, its clip's VJP "
            "multiplying inf by a 0 mask"
        ),
        citation=(
            f"{FOCAL_SOURCE}; https://github.com/jax-ml/jax/blob/jax-v0.10.2/jax/_src/lax/lax.py; "
            "https://github.com/tensorflow/tensorflow/blob/v2.21.0/tensorflow/python/ops/"
            "math_grad.py (_LogGrad: grad · reciprocal(x); _PowGrad: grad · y · x^(y − 1))"
        ),
        dtypes=("float16", "bfloat16"),
        inputs=focal_nan_gradient_rows,
        inputs_text="(JAX, TensorFlow) γ = 0 and a probability that rounds to 1; or float16 and a "
        "log VJP beyond 65504 (TensorFlow: 1/o of an unclipped probability; torch, JAX: "
        "|t·c·α(1 − o)^γ|/o, JAX at clipped classes too)",
        affects=("grad",),
        model=_focal_nan_rows_model,
        model_text="the clipped model (categorical_focal_crossentropy/keras-clip-epsilon) with "
        "NaN input gradients in those rows",
        # p_1 = 1.79e-7 ≥ ε: 0.5/p_1 overflows on every backend
        example=Example(
            {"reduction": "sum"},
            {"input": [[0.0, -15.5]], "target": [[0.5, 0.5]]},
            dtype="float16",
        ),
    ),
    Divergence(
        id="categorical_focal_crossentropy/keras-positive-infinite-logit",
        kind="known-bug",
        loss="categorical_focal_crossentropy",
        description=(
            "ops.softmax subtracts the row maximum on every backend: a +inf logit makes its row "
            "inf − inf = NaN, so the item's loss is NaN where the reference's is +inf (a class "
            "of nonzero target with a finite logit has probability 0) or finite, and the item's "
            "input and target gradients are NaN (logits [+inf, 0, 1], target class 2: NaN, "
            "reference +inf)"
        ),
        citation=f"{FOCAL_SOURCE}; https://github.com/pytorch/pytorch/issues/6864",
        inputs=focal_posinf_logit,
        inputs_text="some logit +inf",
        model=_focal_posinf_model,
        model_text="NaN for each item holding a +inf logit, and NaN input and target gradients "
        "over each such item",
        example=Example({}, {"input": [[np.inf, 0.0, 1.0]], "target": [[0.0, 0.0, 1.0]]}),
    ),
    Divergence(
        id="categorical_generalized_cross_entropy/keras-one-hot-product-nan-gradient",
        kind="known-bug",
        loss="categorical_generalized_cross_entropy",
        description=(
            "keras.losses.categorical_generalized_cross_entropy picks p_y as "
            "ops.sum(y_pred * one_hot(y_true)): where p_y = 0 the cotangent of power(p_y, q) is "
            "−q·0^(q−1) = −inf, and the product with the one-hot row sends 0·inf = NaN to every "
            "other class, whose gradient the reference gives as 0 (q = ½, input [[0, 1]], "
            "target [0]: gradient [−inf, NaN] instead of [−inf, 0])"
        ),
        citation=GCE_SOURCE,
        inputs=_gce_true_probability_zero,
        inputs_text="a probability of 0 at the target class (q < 1)",
        affects=("grad",),
        model=_gce_nan_at_other_classes,
        model_text="the reference's gradient with NaN at the other classes of items with p_y = 0",
        example=Example({"reduction": "sum"}, {"input": [[0.0, 1.0]], "target": [0]}),
    ),
    Divergence(
        id="categorical_generalized_cross_entropy/keras-rank-fix-single-class-outer-product",
        kind="known-bug",
        loss="categorical_generalized_cross_entropy",
        description=(
            "With one class, input (N, 1) and target (N,) differ in rank by one and the input ends "
            "in 1, so LossFunctionWrapper's squeeze_or_expand_to_same_rank gives the target a "
            "trailing 1; ops.one_hot of that (N, 1) target is (N, 1, 1), and y_pred · one_hot "
            "broadcasts to (N, N, 1): every item's loss comes N times. Reduction none returns "
            "(N, N); sum is N times the reference's (input [[1], [1], [1], [1]] gives the input "
            "gradient −4 instead of −1 per item); sum_over_batch_size divides by N·N and agrees"
        ),
        citation=f"{KERAS_RANK_FIX}; {GCE_SOURCE}",
        inputs=_gce_single_class_batched,
        inputs_text="input (N, 1) (one class), reduction sum or none",
        model=_gce_single_class_outer,
        model_text="sum: the reference's value and gradients times N; none: an (N, N) result, "
        "each row the reference's N losses (no gradient to compare)",
        example=Example({"reduction": "sum"}, {"input": [[0.5], [0.25]], "target": [0, 0]}),
    ),
    Divergence(
        id="categorical_generalized_cross_entropy/keras-rank-fix-single-class-unbatched-raises",
        kind="known-bug",
        loss="categorical_generalized_cross_entropy",
        description=(
            "With one class and no batch, input (1,) and a 0-d target, squeeze_or_expand_to_same_"
            "rank squeezes the input's trailing 1 away (the target has no axis to receive one), "
            "and the loss function's num_classes=ops.shape(y_pred)[-1] of the 0-d input raises "
            "IndexError: tuple index out of range, where the reference returns (1 − p^q)/q"
        ),
        citation=f"{KERAS_RANK_FIX}; {KERAS_LOSSES}#L2783-L2785",
        inputs=_gce_single_class_unbatched,
        inputs_text="unbatched input of one class, shape (1,)",
        affects=("error",),
        example=Example({}, {"input": [0.25], "target": 0}),
    ),
    Divergence(
        id="categorical_generalized_cross_entropy/keras-torch-unbatched-power-float32",
        kind="known-bug",
        loss="categorical_generalized_cross_entropy",
        description=(
            "On the torch backend ops.power(p, q) converts q to a float32 tensor; for an "
            "unbatched (C,) input p is 0-d too, and torch promotes two 0-d tensors to the wider "
            "dtype: keras.losses.categorical_generalized_cross_entropy returns a float32 loss "
            "(and gradient) for a float16 or bfloat16 input (the class converts its result back "
            "to the loss dtype)"
        ),
        citation=(
            f"{GCE_SOURCE}; {KERAS_SRC}/backend/torch/numpy.py#L2153-L2155; "
            "https://pytorch.org/docs/2.13/tensor_attributes.html#type-promotion-doc"
        ),
        dtypes=("float16", "bfloat16"),
        apis=(GCE_FUNCTION,),
        inputs=unbatched_input,
        inputs_text="an unbatched (C,) input (the loss function, not the class)",
        affects=("dtype",),
        example=Example(
            {"reduction": "none"},
            {"input": [0.25, 0.75], "target": 1},
            dtype="float16",
            api=GCE_FUNCTION,
            cotangent=1.0,
        ),
    ),
    # --- float64 on the torch backend: sum_over_batch_size divides in float32
    keras_torch_float64_mean_in_float32(
        "categorical_generalized_cross_entropy/keras-torch-float64-mean-in-float32",
        "categorical_generalized_cross_entropy",
        Example({}, {"input": [[0.3, 0.7], [0.9, 0.1]], "target": [1, 0]}),
    ),
    keras_torch_float64_mean_in_float32(
        "categorical_focal_crossentropy/keras-torch-float64-mean-in-float32",
        "categorical_focal_crossentropy",
        Example(
            {}, {"input": [[0.3, -1.1, 2.2], [0.7, 0.1, -0.6]], "target": [[0, 0, 1], [1, 0, 0]]}
        ),
    ),
]


def _negative_labels_only(case: Case) -> bool:
    x, t = array(case, "input"), np.asarray(case.arrays["target"])
    n_classes = x.shape[-1] if x is not None and x.ndim else 0
    return bool(np.any(t < 0)) and not bool(np.any(t >= n_classes))


ACCEPTS: list[Accepts] = [
    broadcasts_input_and_target(
        "categorical_focal_crossentropy/broadcasts-mismatched-shapes",
        "categorical_focal_crossentropy",
        Example({}, {"input": [[0.5, -1.0, 2.0]], "target": [[0, 0, 1], [1, 0, 0]]}),
        citation=FOCAL_SOURCE,
    ),
    Accepts(
        id="categorical_focal_crossentropy/keras-no-target-check",
        loss="categorical_focal_crossentropy",
        argument="target",
        description=(
            "Keras does not check that y_true holds probabilities: −y_true·log(output) is "
            "computed for any real target (a negative one gives a negative term)"
        ),
        citation=FOCAL_SOURCE,
        example=Example({}, {"input": [[0.5, -1.0, 2.0]], "target": [[-0.25, 0.0, 1.0]]}),
    ),
    Accepts(
        id="categorical_generalized_cross_entropy/keras-no-domain-check-input",
        loss="categorical_generalized_cross_entropy",
        argument="input",
        description=(
            "Keras does not check that y_pred holds probabilities: (1 − p^q)/q is computed for any "
            "p (NaN for a negative one under a fractional power, a number above 1)"
        ),
        citation=GCE_SOURCE,
        example=Example({}, {"input": [[1.25, 0.5]], "target": [0]}),
    ),
    Accepts(
        id="categorical_generalized_cross_entropy/keras-one-hot-of-out-of-range-label",
        loss="categorical_generalized_cross_entropy",
        argument="target",
        description=(
            "Keras does not check the labels: ops.one_hot of a label outside [0, C) is a row of "
            "zeros, so p_y = 0 and the item's loss is 1/q"
        ),
        citation=GCE_SOURCE,
        example=Example({}, {"input": [[0.25, 0.75]], "target": [2]}),
    ),
    Accepts(
        id="categorical_generalized_cross_entropy/keras-torch-one-hot-negative-zero-row",
        loss="categorical_generalized_cross_entropy",
        argument="target",
        description=(
            "Keras' torch one_hot maps a negative label to a row of zeros (F.one_hot of "
            "max(x, 0), then where(x ≥ 0, …, 0)) without raising, so p_y = 0 and the item's loss "
            "is 1/q; a label ≥ C raises in F.one_hot"
        ),
        citation=f"{GCE_SOURCE}; {KERAS_SRC}/backend/torch/nn.py#L811-L834",
        accepts=_negative_labels_only,
        accepts_text="the invalid labels are negative (none ≥ C)",
        example=Example({}, {"input": [[0.25, 0.75]], "target": [-1]}),
    ),
    Accepts(
        id="categorical_generalized_cross_entropy/keras-broadcasts-shapes",
        loss="categorical_generalized_cross_entropy",
        argument="shapes",
        description=(
            "Keras broadcasts y_pred against one_hot(y_true) in ops.multiply: a target whose "
            "shape fits no layout but broadcasts gives a number"
        ),
        citation=GCE_SOURCE,
        example=Example({}, {"input": [[0.25, 0.75], [0.5, 0.5]], "target": [1]}),
    ),
]

# Entries that hold on some backends only (the others: every backend).
BACKENDS: dict[str, tuple[str, ...]] = {
    # torch's F.one_hot, behind Keras' torch backend, raises for a label ≥ C
    "categorical_generalized_cross_entropy/keras-one-hot-of-out-of-range-label": (
        "tensorflow",
        "jax",
    ),
    "categorical_generalized_cross_entropy/keras-torch-one-hot-negative-zero-row": ("torch",),
    "categorical_generalized_cross_entropy/keras-torch-unbatched-power-float32": ("torch",),
    "categorical_generalized_cross_entropy/keras-torch-float64-mean-in-float32": ("torch",),
    "categorical_focal_crossentropy/keras-torch-float64-mean-in-float32": ("torch",),
}
