"""What every framework's ctc_loss entries read from a case, written once: the hand-picked
example's log-probabilities and each item's columns with its reference loss."""

from __future__ import annotations

import math

import numpy as np

from reference import Case

LOG_P = [math.log(0.5), math.log(0.25), math.log(0.25)]  # blank ½, labels ¼ and ¼
# T = 2 steps of LOG_P, one item, the one label 1: an ordinary case the entries' examples vary
CTC_EXAMPLE = {
    "input": [[LOG_P], [LOG_P]],
    "targets": [[1]],
    "input_lengths": [2],
    "target_lengths": [1],
}


def items(case: Case):
    """Per item: its whole input column (T, K), its first T_n steps, and its reference loss."""
    a = case.rounded()
    x = a["input"]
    loss = np.atleast_1d(case.pointwise())
    for n in range(x.shape[1]):
        yield x[:, n, :], x[: int(a["input_lengths"][n]), n, :], loss[n]


def minus_inf_in_an_item(case: Case) -> bool:
    return any(np.any(column == -math.inf) for column, _, _ in items(case))


def item_without_alignment(case: Case) -> bool:
    return any(loss == math.inf for _, _, loss in items(case))
