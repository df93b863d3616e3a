"""What the torch registry's family modules share: citations, small array helpers, the validity
wrapper of value and gradient predicates, and the texts of the error-only rows.

Predicates read the arrays as torch saw them (``case.rounded()``). Where torch's result depends on
its own arithmetic in the dtype (an overflow, an epsilon that vanishes, a tie or kink that exists
only after rounding), the predicate repeats the few operations concerned with each result rounded
to the dtype (``reference.round_to``); that only locates inputs, it never produces a loss value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

import reference as R
from adapters.base import Accepts, Example
from reference import Case

# --- citations (each one read with the search tool) ---------------------------------------------

_STABLE = "https://pytorch.org/docs/stable/"
_DOCS_ORG = "https://docs.pytorch.org/docs/stable/generated/"
# torch/nn/modules/loss.py docstrings (the source of the docs pages), for classes whose rendered
# page the search tool does not hold: NLLLoss (ignore_index=-100), Hinge/SoftMargin (labels ±1).
LOSS_PY = (
    "https://github.com/pytorch/pytorch/blob/60ceafb3839ed350e1cf028c6888a28fdad246dd/"
    "torch/nn/modules/loss.py"
)
DOCS = {
    "BCELoss": _STABLE + "generated/torch.nn.BCELoss.html",
    "BCEWithLogitsLoss": _STABLE + "generated/torch.nn.BCEWithLogitsLoss.html",
    "CrossEntropyLoss": _STABLE + "generated/torch.nn.CrossEntropyLoss.html",
    "cross_entropy": _STABLE + "generated/torch.nn.functional.cross_entropy.html",
    "KLDivLoss": _STABLE + "generated/torch.nn.KLDivLoss.html",
    "GaussianNLLLoss": _STABLE + "generated/torch.nn.GaussianNLLLoss.html",
    "CosineEmbeddingLoss": _DOCS_ORG + "torch.nn.CosineEmbeddingLoss.html",
    "MarginRankingLoss": _DOCS_ORG + "torch.nn.modules.loss.MarginRankingLoss.html",
    "MultiLabelSoftMarginLoss": _DOCS_ORG + "torch.nn.modules.loss.MultiLabelSoftMarginLoss.html",
    "MultiMarginLoss": _STABLE + "generated/torch.nn.MultiMarginLoss.html",
    "NLLLoss": LOSS_PY,
    "nll_loss": LOSS_PY,
    "HingeEmbeddingLoss": LOSS_PY,
    "SoftMarginLoss": LOSS_PY,
}
BROADCASTING_DOCS = "https://pytorch.org/docs/stable/notes/broadcasting.html"
# aten/src/ATen/native/Loss.cpp: binary_cross_entropy (log clamp -100, backward EPSILON 1e-12),
# cosine_embedding_loss (EPSILON added to squared norms), margin losses via clamp_min, poisson.
LOSS_CPP = (
    "https://github.com/pytorch/pytorch/blob/008af87c5f0d6652418bf0d884e63a3a06682e1d/"
    "aten/src/ATen/native/Loss.cpp"
)
MULTI_MARGIN_CPP = (
    "https://github.com/pytorch/pytorch/blob/9e27943f9bcf06c174d3a45ff95e678eb965c65c/"
    "aten/src/ATen/native/LossMultiMargin.cpp"
)
ISSUE = "https://github.com/pytorch/pytorch/issues/{}"
# torch/csrc/autograd/FunctionsManual.cpp: binary_cross_entropy_target_backward is
# −logit(input)·grad·weight, the weight applied last.
FUNCTIONS_MANUAL = (
    "https://github.com/pytorch/pytorch/blob/002ca6715ba1ab4d2369262b487eeb30bf249911/"
    "torch/csrc/autograd/FunctionsManual.cpp"
)

# torch/nn/functional.py at v2.13.0 (the installed 2.13.0+cpu): multilabel_soft_margin_loss forms
# −(y·logsigmoid(x) + (1 − y)·logsigmoid(−x))·weight, sums over the labels, then divides by C.
FUNCTIONAL_MULTILABEL = (
    "https://github.com/pytorch/pytorch/blob/v2.13.0/torch/nn/functional.py#L4541-L4548"
)

# Loss.cpp's `constexpr float EPSILON = 1e-12`: a float, 9.99999996e-13 (cosine_embedding_loss adds
# it to the squared norms, binary_cross_entropy's backward divides by at least it), then cast to
# the input dtype (float16 holds no such number: 0).
EPSILON = float(np.float32(1e-12))

# --- small helpers -------------------------------------------------------------------------------

VALUE_GRAD = ("value", "grad")
inf, nan = math.inf, math.nan
# log(1/3): log-probabilities (and logits) of three equally likely classes, for examples
LOG_THIRD = math.log(1 / 3)


def params_of(case: Case) -> dict[str, Any]:
    return {**R.get(case.loss).defaults(), **case.params}


# A value or gradient divergence exists only where the reference returns a value: the matcher
# (reference.contract.Divergence.matches_inputs) never asks such a predicate about an input the
# reference rejects, and runs predicates with floating-point warnings silenced.


def elementwise_cotangent(case: Case, count: int) -> np.ndarray | float:
    """|cotangent| reaching each element of the unreduced loss: the case's cotangent for none,
    1/count for mean (count = the elements the mean divides by), 1 for sum."""
    reduction = params_of(case)["reduction"]
    if reduction == "none":
        return np.abs(case.rounded_cotangent())
    return 1.0 / count if reduction == "mean" else 1.0


def reduce_rounded(case: Case, per_element: np.ndarray) -> np.ndarray:
    """The case's reduction of exact per-element losses, rounded to the dtype."""
    reduction = params_of(case)["reduction"]
    if reduction != "none":
        per_element = np.mean(per_element) if reduction == "mean" else np.sum(per_element)
    return R.round_to(per_element, case.dtype)


def logsigmoid(z: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -z)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(logsigmoid(z))


# --- the error-only rows: what torch does not validate -------------------------------------------


def target_unchecked(page: str) -> str:
    return (
        f"{page} documents targets in [0, 1] but does not check them: other values "
        "give a number (possibly NaN), not an error"
    )


def label_unchecked(page: str) -> str:
    return (
        f"{page} documents labels 1 or −1 but does not check them: any other value selects "
        "a branch (or none) and gives a number, not an error"
    )


def weight_unchecked(page: str) -> str:
    return (
        f"{page} documents a rescaling weight but does not check its values: a NaN or "
        "infinite weight gives a number (NaN or inf), not an error"
    )


def unchecked(
    id: str,
    loss: str,
    argument: str,
    text: Callable[[str], str],
    page: str,
    example: Example,
    where: Mapping[str, Any] | None = None,
) -> Accepts:
    """The row of an argument whose documented values torch does not check: wherever the
    reference rejects ``argument``, torch returns a number. ``text(page)`` describes it, and the
    docs page ``page`` documents the values torch expects."""
    return Accepts(
        id=id,
        loss=loss,
        argument=argument,
        description=text(page),
        citation=DOCS[page],
        where=where or {},
        example=example,
    )
