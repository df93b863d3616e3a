"""torch's own shape checks, per loss: which of the shape combinations the reference rejects torch
takes anyway (it broadcasts, or checks only ranks or element counts). Measured on 2.13.0 by
perturbing every argument of every layout of every configuration: size 1, dropped/added leading
and trailing dimensions, N ± 1; 9951 cases agree. Each family module's ``broadcasts-shapes`` rows
narrow the reference's own shape rejection with one of these rules.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import reference as R
from adapters.base import Accepts, Example
from reference import Case

from ._common import BROADCASTING_DOCS, params_of

# What torch does, in the words of the rows' descriptions.
BROADCASTS = "broadcasts the arguments against each other"
WEIGHTS = "requires target.shape == input.shape but broadcasts weight/pos_weight to it"
CLASS_INDEX = (
    "also takes a (1,) target with an unbatched (C) input and, for (N, C, d1, …) inputs, a class "
    "weight of any shape holding C numbers"
)
SAME_RANK = "checks equal ranks only, then broadcasts"
# The narrowing, in the words of the rows' inputs text.
SHAPES_CHECKED = "they pass torch's own shape checks"


def _broadcast(*shapes: tuple[int, ...]) -> tuple[int, ...] | None:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


def _float_shapes(case: Case, optional: bool = False) -> list[tuple[int, ...]]:
    spec, p = R.get(case.loss), params_of(case)
    return [
        case.arrays[a.name].shape
        for a in spec.arrays
        if a.name in case.arrays and (optional or not a.optional) and not a.domain_for(p).integer
    ]


def all_broadcast(case: Case) -> bool:
    return _broadcast(*_float_shapes(case)) is not None


def all_broadcast_with_weight(case: Case) -> bool:
    return _broadcast(*_float_shapes(case, optional=True)) is not None


def broadcast_to_input(case: Case) -> bool:
    return _broadcast(*_float_shapes(case)) == case.arrays["input"].shape


def same_rank_and_broadcast(case: Case) -> bool:
    shapes = _float_shapes(case)
    return len({len(s) for s in shapes}) == 1 and _broadcast(*shapes) is not None


def target_like_input_weights_broadcast(case: Case) -> bool:
    """bce losses: target must have the input's shape; weight/pos_weight broadcast to it."""
    x = case.arrays["input"].shape
    weights = [case.arrays[n].shape for n in ("weight", "pos_weight") if n in case.arrays]
    return case.arrays["target"].shape == x and _broadcast(x, *weights) == x


def cosine_shapes(case: Case) -> bool:
    """torch checks only ranks: 1-D target with 2-D inputs or 0-D with 1-D, then broadcasts."""
    x1, x2, y = (case.arrays[n].shape for n in ("input1", "input2", "target"))
    ranks_ok = len(x1) == len(x2) == len(y) + 1 and len(y) in (0, 1)
    rows = _broadcast(x1, x2)
    return ranks_ok and rows is not None and _broadcast(rows[:-1], y) is not None


def gaussian_shapes(case: Case) -> bool:
    """torch 2.13's var rule: the input's shape, that shape less its last dimension, or the same
    rank with mismatched dimensions summing to 1 (one dimension of size 1); target unchecked."""
    x, y, v = (case.arrays[n].shape for n in ("input", "target", "var"))
    if v != x:
        if v == x[:-1]:
            v = (*v, 1)
        elif not (len(v) == len(x) and sum(b for a, b in zip(x, v, strict=True) if a != b) == 1):
            return False
    return _broadcast(x, y, v) is not None


def _validates_after(case: Case, normalize: Callable[[dict], dict]) -> bool:
    """torch accepts what the reference accepts once torch's own reshaping is applied."""
    arrays = normalize(dict(case.arrays))
    if all(arrays[k].shape == v.shape for k, v in case.arrays.items()):
        return False
    try:
        R.validate(case.loss, arrays, case.params)
    except R.InvalidInput:
        return False
    return True


def _flat_class_weight(arrays: dict) -> dict:
    """K-dimensional index targets go through nll_loss2d, which checks only weight.numel() == C."""
    x = arrays["input"]
    if x.ndim >= 3 and "weight" in arrays and arrays["weight"].size == x.shape[1]:
        arrays["weight"] = arrays["weight"].reshape(-1)
    return arrays


def _unbatched_target_of_one(arrays: dict) -> dict:
    """cross_entropy/nll_loss: an unbatched (C) input also takes a target of shape (1,)."""
    arrays = _flat_class_weight(arrays)
    if arrays["input"].ndim == 1 and arrays["target"].shape == (1,):
        arrays["target"] = arrays["target"].reshape(())
    return arrays


def _multi_margin_frames(arrays: dict) -> dict:
    """multi_margin_loss: ≤1-D input is one frame (0-D: C = 1); target needs numel == frames."""
    x, t = arrays["input"], arrays["target"]
    if x.ndim == 0:
        arrays["input"] = x.reshape(1)
    if x.ndim <= 1 and t.shape == (1,):
        arrays["target"] = t.reshape(())
    if x.ndim == 2 and x.shape[0] == 1 and t.ndim == 0:
        arrays["target"] = t.reshape(1)
    return arrays


def _smoothing_weight_column(arrays: dict) -> dict:
    """The label-smoothing path broadcasts the weight against (N, C, d1, …): a (C, 1) column passes."""
    x = arrays["input"]
    if x.ndim >= 3 and "weight" in arrays and arrays["weight"].shape == (x.shape[1], 1):
        arrays["weight"] = arrays["weight"].reshape(-1)
    return arrays


def class_index_shapes(case: Case) -> bool:
    p = params_of(case)
    if p.get("target_kind", "index") == "probability":
        return False  # probability targets need the input's shape and a 1-D weight
    if p.get("label_smoothing", 0.0) > 0:
        # the smoothed mean gathers weights by target and checks shapes strictly
        return p["reduction"] != "mean" and _validates_after(case, _smoothing_weight_column)
    return _validates_after(case, _unbatched_target_of_one)


def multi_margin_shapes(case: Case) -> bool:
    return _validates_after(case, _multi_margin_frames)


def broadcasting(
    id: str,
    loss: str,
    what: str,
    accepts: Callable[[Case], bool],
    example: Example,
    citation: str = BROADCASTING_DOCS,
) -> Accepts:
    """The ``broadcasts-shapes`` row of a loss: where the reference rejects the shapes and torch's
    own check (``accepts``, one of the rules above) passes them, torch returns a number; ``what``
    says what torch does."""
    return Accepts(
        id=id,
        loss=loss,
        argument="shapes",
        description=(
            f"{what}: shapes outside the documented ones (which the reference enforces) give "
            "a number instead of an error"
        ),
        citation=citation,
        accepts=accepts,
        accepts_text=SHAPES_CHECKED,
        example=example,
    )
