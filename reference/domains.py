"""The domains array arguments live in.

Enforced domains are those where the formula is undefined outside them (a log of a negative
probability, a class index that selects nothing, a negative variance, a label that is neither
class): the reference raises :class:`reference.InvalidInput` there. The others describe the values
a loss is meant for and steer the case strategies, but the formula is defined everywhere and the
reference computes it (``nll_loss`` is ``-input[target]`` whatever ``input`` holds).
"""

from __future__ import annotations

import numpy as np

from .spec import Domain


def _finite(x, ctx):
    return np.isfinite(x)


def _probability(x, ctx):
    return (x >= 0.0) & (x <= 1.0)


def _class_index(t, ctx):
    ok = (t >= 0) & (t < ctx["C"])
    ignore = ctx.get("ignore_index")
    if ignore is not None:
        ok |= t == ignore
    return ok


def _nonnegative(x, ctx):
    return x >= 0.0


def _sign_label(y, ctx):
    return (y == 1.0) | (y == -1.0)


REAL = Domain("real", "be a real number (±inf allowed)")
LOGIT = Domain("logit", "be a real-valued logit (±inf allowed)")
LOG_PROBABILITY = Domain(
    "log-probability",
    "be a log-probability (≤ 0; not enforced: the formula is defined for any real)",
)
PROBABILITY = Domain("probability", "be a probability in [0, 1]", _probability, enforced=True)
CLASS_INDEX = Domain(
    "class index",
    "be a class index in [0, C), or equal ignore_index",
    _class_index,
    enforced=True,
    integer=True,
)
COUNT = Domain("count", "be a count ≥ 0 (not enforced: the formula is defined for any real target)")
RATE = Domain("rate", "be a rate ≥ 0 (not enforced: the formula is defined for any real)")
VARIANCE = Domain("variance", "be a variance ≥ 0", _nonnegative, enforced=True)
SIGN_LABEL = Domain("±1 label", "be a label in {-1, 1}", _sign_label, enforced=True)
# A weight scales a term; an infinite one makes 0·inf of every term it does not select.
WEIGHT = Domain("weight", "be a finite rescaling weight (usually ≥ 0)", _finite, enforced=True)
