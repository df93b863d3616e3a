"""torch's known divergences in the regression family: mse_loss, l1_loss, huber_loss and
smooth_l1_loss agree with the reference on every valid input; they differ only in broadcasting
shapes the reference rejects (torch has no log_cosh: the adapter says why).
"""

from __future__ import annotations

from adapters.base import Accepts, Divergence, Example

from ._shapes import BROADCASTS, all_broadcast, broadcasting

DIVERGENCES: list[Divergence] = []

# Inputs the reference rejects and torch computes anyway, keyed by (loss, argument). The four
# elementwise losses broadcast alike: (3, 2) against (1, 2) is a 3-row loss, with a UserWarning.
WITH_WARNING = BROADCASTS + " with a UserWarning"
ROWS_AGAINST_ONE = Example(
    {"reduction": "none"}, {"input": [[1.0, 1.0]] * 3, "target": [[0.0, 0.0]]}
)

ACCEPTS: list[Accepts] = [
    broadcasting(
        "mse_loss/broadcasts-shapes", "mse_loss", WITH_WARNING, all_broadcast, ROWS_AGAINST_ONE
    ),
    broadcasting(
        "l1_loss/broadcasts-shapes", "l1_loss", WITH_WARNING, all_broadcast, ROWS_AGAINST_ONE
    ),
    broadcasting(
        "huber_loss/broadcasts-shapes", "huber_loss", WITH_WARNING, all_broadcast, ROWS_AGAINST_ONE
    ),
    broadcasting(
        "smooth_l1_loss/broadcasts-shapes",
        "smooth_l1_loss",
        WITH_WARNING,
        all_broadcast,
        ROWS_AGAINST_ONE,
    ),
]
