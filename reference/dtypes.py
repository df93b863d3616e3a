"""The floating-point formats the suite tests, described by their bits, and rounding into them.

NumPy has no bfloat16, so rounding to it scales by the exact power of two of each value's last
place and rounds half to even there (one rounding, no detour through float32).
The values come back as float64 arrays holding numbers exactly representable in the target
format: the reference evaluates on them, and handing them to a framework is then exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FloatFormat:
    name: str
    mantissa_bits: int  # explicit fraction bits
    min_exponent: int  # exponent of the smallest normal number
    max_value: float

    @property
    def eps(self) -> float:
        return 2.0**-self.mantissa_bits

    @property
    def tiny(self) -> float:
        """Smallest positive normal number."""
        return 2.0**self.min_exponent

    @property
    def smallest_subnormal(self) -> float:
        return 2.0 ** (self.min_exponent - self.mantissa_bits)


FORMATS = {
    "float64": FloatFormat("float64", 52, -1022, float(np.finfo(np.float64).max)),
    "float32": FloatFormat("float32", 23, -126, float(np.finfo(np.float32).max)),
    "float16": FloatFormat("float16", 10, -14, 65504.0),
    "bfloat16": FloatFormat("bfloat16", 7, -126, float.fromhex("0x1.fep127")),
}
DTYPES = tuple(FORMATS)


def _leading_exponent(ax: np.ndarray) -> np.ndarray:
    """Exponent e with 2**e <= ax < 2**(e+1), exactly (frexp, not a rounded log2)."""
    _, e = np.frexp(ax)
    return e.astype(np.float64) - 1.0


def _round_generic(x: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    # Scaling by a power of two is exact, so np.rint (ties to even) rounds exactly once.
    ax = np.abs(x)
    finite = np.isfinite(x) & (ax > 0)
    exponent = np.maximum(_leading_exponent(np.where(finite, ax, 1.0)), fmt.min_exponent)
    ulp = np.exp2(exponent - fmt.mantissa_bits)
    rounded = np.where(finite, np.rint(np.where(finite, x, 0.0) / ulp) * ulp, x)
    return np.where(np.abs(rounded) > fmt.max_value, np.copysign(np.inf, x), rounded)


def round_to(x: np.ndarray, dtype: str) -> np.ndarray:
    """``x`` rounded to ``dtype`` (round to nearest even), returned as float64."""
    x = np.asarray(x, dtype=np.float64)
    if dtype == "float64":
        return x.copy()
    with np.errstate(over="ignore"):
        if dtype == "float32":
            return x.astype(np.float32).astype(np.float64)
        if dtype == "float16":
            return x.astype(np.float16).astype(np.float64)
        if dtype == "bfloat16":
            return _round_generic(x, FORMATS["bfloat16"])
    raise ValueError(f"unknown dtype {dtype!r}; known: {', '.join(DTYPES)}")


def spacing(x: np.ndarray, dtype: str) -> np.ndarray:
    """The unit in the last place of ``dtype`` at ``|x|`` (the gap to the next larger magnitude).

    Below the smallest normal number the spacing is that of the subnormals.
    """
    fmt = FORMATS[dtype]
    ax = np.abs(np.asarray(x, dtype=np.float64))
    exponent = np.maximum(_leading_exponent(np.where(ax > 0, ax, 1.0)), fmt.min_exponent)
    exponent = np.where(ax > 0, exponent, fmt.min_exponent)
    return np.where(np.isfinite(ax), np.exp2(exponent - fmt.mantissa_bits), np.inf)
