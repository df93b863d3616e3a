"""One invocation of a loss: the plain data that flows from the cases to the reference and adapters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .dtypes import round_to


@dataclass(frozen=True)
class Case:
    """A loss, its canonical parameters (reduction included), its input arrays, and where it runs.

    ``arrays`` are float64 master copies (int64 for class indices); ``dtype``, ``device`` and
    ``mode`` say how a framework is to run it. ``cotangent`` is the vector of the vector-Jacobian
    product for reduction ``none`` (None: gradients are of the scalar result).
    """

    loss: str
    params: Mapping[str, Any]
    arrays: Mapping[str, np.ndarray]
    dtype: str = "float64"
    device: str = "cpu"
    mode: str = "eager"
    cotangent: np.ndarray | None = None
    label: str = ""  # where the case came from: "hypothesis", "edge:probability at 0", "corpus:…"
    meta: Mapping[str, Any] = field(default_factory=dict)

    def rounded(self) -> dict[str, np.ndarray]:
        """The arrays as the framework sees them: floats rounded to ``dtype``, indices untouched."""
        return {
            k: (v if np.issubdtype(v.dtype, np.integer) else round_to(v, self.dtype))
            for k, v in self.arrays.items()
        }

    def rounded_cotangent(self) -> np.ndarray | None:
        return None if self.cotangent is None else round_to(self.cotangent, self.dtype)
