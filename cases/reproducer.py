"""Standalone reproducer scripts: the exact inputs, the framework's native call, the reference.

:func:`reproducer` writes a Python script that runs from the repository root with nothing but
NumPy, the framework and ``reference``. It rebuilds the case's inputs bit for bit (every float
written as a ``float.fromhex`` literal, so no decimal rounding intervenes), runs the adapter's
snippet (which binds ``value`` and ``grads`` exactly as the conformance run computed them), then
the reference on the same arrays, and prints both numbers and the error in ULPs of the dtype::

    torch: 1.23456788  reference: 1.23456013  (12.5 ULP of float32)
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

import numpy as np

from reference import Case

from .compare import DIGITS

PER_LINE = 3  # hex literals per line


def _hex_list(values: np.ndarray) -> str:
    literals = [repr(float(v).hex()) for v in np.ravel(values)]
    if len(literals) <= PER_LINE:
        return "[" + ", ".join(literals) + "]"
    rows = [", ".join(literals[i : i + PER_LINE]) for i in range(0, len(literals), PER_LINE)]
    return "[\n" + textwrap.indent(",\n".join(rows), " " * 8) + ",\n    ]"


def array_literal(value: np.ndarray) -> str:
    """Python source that rebuilds ``value`` exactly: int64 as integers, floats from hex."""
    value = np.asarray(value)
    shape = tuple(value.shape)
    if np.issubdtype(value.dtype, np.integer):
        return f"np.array({value.ravel().tolist()!r}, dtype=np.int64).reshape({shape!r})"
    return f"_floats({_hex_list(value.astype(np.float64))}, {shape!r})"


def _params_literal(params: Mapping[str, Any]) -> str:
    # repr of a float round-trips exactly; the parameters are floats, ints, bools, str, None.
    items = ", ".join(f"{k!r}: {v!r}" for k, v in sorted(params.items()))
    return "{" + items + "}"


_COMPARE = '''
# --- both numbers ---
def _ulps(got, ref):
    """|got − ref| in ULPs of DTYPE at ref; NaN/inf must agree exactly (else inf)."""
    got, ref = np.asarray(got, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if got.shape != ref.shape:
        return np.full(ref.shape, np.inf)
    with np.errstate(all="ignore"):
        finite = np.isfinite(got) & np.isfinite(ref)
        agree = (np.isnan(got) & np.isnan(ref)) | (got == ref)
        err = np.abs(got - ref) / R.spacing(np.where(finite, ref, 1.0), DTYPE)
    return np.where(finite, err, np.where(agree, 0.0, np.inf))


def _show(what, got, ref):
    got, ref = np.asarray(got, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if got.shape != ref.shape:
        print(f"{what}: {FRAMEWORK} shape {got.shape}, reference shape {ref.shape}")
        return
    ulps = _ulps(got, ref)
    at = np.unravel_index(int(np.argmax(ulps)), ref.shape) if ref.ndim else ()
    where = f"[{', '.join(map(str, at))}]" if at else ""
    print(
        f"{what}{where}  {FRAMEWORK}: {got[at]:.{DIGITS}g}  reference: {ref[at]:.{DIGITS}g}"
        f"  ({ulps[at]:.3g} ULP of {DTYPE})"
    )


if reference_error is not None:
    print(f"{FRAMEWORK}: returned {np.asarray(value)!r} where the reference raises")
else:
    _show("value", value, reference_value)
    for name in sorted(reference_grads):
        if name in grads:
            _show(f"grad of {name}", grads[name], reference_grads[name])
        else:
            print(f"grad of {name}: {FRAMEWORK} gives none")
'''


def reproducer(case: Case, framework: str, snippet: str) -> str:
    """A standalone script reproducing ``case`` with ``framework``'s ``snippet``.

    ``snippet`` is ``Adapter.snippet(case)``: source that, with ``arrays`` and ``cotangent``
    defined, binds ``value`` and ``grads``. Run the script from the repository root.
    """
    arrays = case.rounded()
    cotangent = case.rounded_cotangent()
    array_lines = "\n".join(f"    {name!r}: {array_literal(v)}," for name, v in arrays.items())
    cot = "None" if cotangent is None else array_literal(cotangent)
    label = f" ({case.label})" if case.label else ""
    head = f'''"""lossconf reproducer: {framework} against the float64 reference.

{case.loss} {_params_literal(case.params)}
dtype {case.dtype}, device {case.device}, mode {case.mode}{label}

Run from the repository root: python <this file>. The inputs below are exactly those the
framework received (the case's inputs rounded to {case.dtype}, written as hex floats).
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.getcwd())  # run from the repository root, where `reference` lives
import reference as R  # noqa: E402

FRAMEWORK = {framework!r}
LOSS = {case.loss!r}
PARAMS = {_params_literal(case.params)}
DTYPE = {case.dtype!r}
DIGITS = {DIGITS.get(case.dtype, 17)}


def _floats(hexes, shape):
    return np.array([float.fromhex(h) for h in hexes], dtype=np.float64).reshape(shape)


arrays = {{
{array_lines}
}}
cotangent = {cot}

# --- the reference (first, so that a framework crash below still shows it) ---
try:
    reference_value, reference_grads = R.value_and_vjp(LOSS, arrays, PARAMS, cotangent)
    reference_error = None
except R.InvalidInput as exc:
    reference_value, reference_grads, reference_error = None, {{}}, exc
    print(f"reference: raises InvalidInput: {{exc}}")
else:
    print(f"reference value: {{np.asarray(reference_value)!r}}")

# --- {framework}: the native call, exactly as the conformance run made it ---
'''
    return head + snippet.rstrip("\n") + "\n" + _COMPARE
