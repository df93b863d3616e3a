"""Units in the last place, per floating-point format, computed from the formats' bits.

``reports`` reads plain data only, so it cannot borrow ``reference.dtypes``; the definition is
the same: the spacing of ``dtype`` at ``|x|``, with subnormal spacing below the smallest normal.
"""

from __future__ import annotations

import math

# name: (explicit mantissa bits, exponent of the smallest normal number)
FORMATS = {
    "float64": (52, -1022),
    "float32": (23, -126),
    "float16": (10, -14),
    "bfloat16": (7, -126),
}


def ulp(x: float, dtype: str) -> float:
    """The gap between ``|x|`` and the next larger number of ``dtype`` (nan for nan/inf)."""
    try:
        mantissa_bits, min_exponent = FORMATS[dtype]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}; known: {', '.join(FORMATS)}") from None
    if not math.isfinite(x):
        return math.nan
    # frexp is exact: |x| = m * 2**e with 0.5 <= m < 1, so the leading exponent is e - 1.
    exponent = math.frexp(abs(x))[1] - 1 if x != 0 else min_exponent
    return math.ldexp(1.0, max(exponent, min_exponent) - mantissa_bits)


def ulps_apart(old: float, new: float, dtype: str) -> float:
    """How far ``new`` lies from ``old``, in ULPs of ``dtype`` at ``old``.

    Non-finite values are 0 apart when they are the same (nan and nan, inf and inf), else inf.
    """
    if not (math.isfinite(old) and math.isfinite(new)):
        same = (math.isnan(old) and math.isnan(new)) or old == new
        return 0.0 if same else math.inf
    return abs(new - old) / ulp(old, dtype)
