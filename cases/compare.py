"""The raw comparison of one framework outcome with the reference: a verdict and its figures.

Two steps. :func:`expected` evaluates the reference on the case's inputs as rounded to its dtype
(what the framework receives), with the term scales the tolerance needs. :func:`compare` then
judges a framework :class:`~reference.contract.Outcome` against it:

- the reference raises :class:`reference.InvalidInput` and the framework raises → ``match``;
- the reference raises and the framework returns a number → ``error-mismatch`` (the number kept);
- the reference returns and the framework raises → ``crash`` (type and message kept);
- both return → the dtypes the framework returned (result fidelity: a value or gradient in another
  dtype than the case's is the failed part ``dtype``), shapes (a difference is a ``mismatch``),
  then values, then every gradient both sides have, each against its bound
  (:mod:`cases.tolerance`). A gradient the framework could not produce is noted
  (``missing_grads``), not a mismatch.

Each failed part has one *kind* of difference (:data:`KINDS`), and ``"<part>|<kind>"`` is its
*signature* (``"grad:input|nan-where-finite"``): what the records count unexplained
non-matches by, and what a registry entry may narrow itself to (``Divergence.kinds``).

The registry of known divergences is applied later, by :mod:`cases.judge`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import reference as R
from reference import Case
from reference.contract import FrameworkError, Outcome

from . import tolerance
from .tolerance import Check, Scales

VALUE = "value"
SHAPE = "shape"
DTYPE = "dtype"
ERROR = "error"
GRAD = "grad:"  # prefix: "grad:input"

# The kinds of difference of a failed part (the results format's vocabulary).
BEYOND_TOLERANCE = "beyond-tolerance"  # both finite, the error above the bound
NAN_WHERE_FINITE = "nan-where-finite"
INF_WHERE_FINITE = "inf-where-finite"
FINITE_WHERE_NONFINITE = "finite-where-nonfinite"
NONFINITE_DIFFERS = "nonfinite-differs"  # NaN vs ±inf, +inf vs −inf
SHAPE_KIND = "shape"
DTYPE_KIND = "dtype"
ACCEPTED_INVALID = "accepted-invalid"  # error-mismatch: a number where the reference raises
RAISED_ON_VALID = "raised-on-valid"  # crash
KINDS = (
    BEYOND_TOLERANCE,
    NAN_WHERE_FINITE,
    INF_WHERE_FINITE,
    FINITE_WHERE_NONFINITE,
    NONFINITE_DIFFERS,
    SHAPE_KIND,
    DTYPE_KIND,
    ACCEPTED_INVALID,
    RAISED_ON_VALID,
)
NONFINITE_KINDS = (NAN_WHERE_FINITE, INF_WHERE_FINITE, FINITE_WHERE_NONFINITE, NONFINITE_DIFFERS)


@dataclass(frozen=True)
class Expected:
    """The reference's answer for a case: value and gradients, or the InvalidInput it raised.

    ``n_reduced`` is the fan-in: how many input numbers feed each number of the result (the whole
    input for a scalar reduction); ``scales`` what the tolerance needs (None when it raised).
    """

    value: np.ndarray | None
    grads: dict[str, np.ndarray]
    error: R.InvalidInput | None
    n_reduced: int
    scales: Scales | None = None


# Stands in for a framework error when an outcome holds neither a value nor an error.
NO_RESULT = FrameworkError("NoResult", "the adapter returned neither a value nor an error")


@dataclass(frozen=True)
class Comparison:
    """One outcome against the reference.

    ``verdict``: match | mismatch | error-mismatch | crash. ``part``: the first part that failed —
    "shape", "value", "grad:<name>" or "error" — or None; ``failed`` lists every failed part (the
    judge needs them all: a registry entry must explain each). ``value_ulp``/``value_rel`` and
    ``grad_ulp``/``grad_rel`` are the error at the critical element (largest error/bound ratio;
    over all gradients for the grad figures), in ULPs of the dtype at the reference value and
    relative; infinite for a NaN/inf disagreement or a shape difference, None where nothing was
    compared. ``bound_value_ulp``/``bound_grad_ulp`` are the bounds there, in the same ULPs.
    ``expected_shown``/``got_shown`` are the arrays of the part the detail line describes.
    """

    verdict: str
    part: str | None
    value_ulp: float | None
    value_rel: float | None
    grad_ulp: float | None
    grad_rel: float | None
    bound_value_ulp: float | None
    bound_grad_ulp: float | None
    n_reduced: int
    detail: str
    got_value: np.ndarray | None = None
    error: FrameworkError | None = None  # what the framework raised
    failed: tuple[str, ...] = ()
    expected_value: np.ndarray | None = None
    expected_shown: np.ndarray | None = None
    got_shown: np.ndarray | None = None
    missing_grads: dict[str, str] = field(default_factory=dict)
    reference_error: str | None = None
    kinds: dict[str, str] = field(default_factory=dict)  # failed part -> kind of difference

    @property
    def failed_parts(self) -> tuple[str, ...]:
        """Every part that failed (none for a match): what a registry entry must explain."""
        if self.verdict == "match":
            return ()
        return tuple(self.failed) or (self.part,)

    def kind(self, part: str) -> str | None:
        """The kind of difference of a failed ``part`` (None where it is not known)."""
        return self.kinds.get(part)

    def signature(self, part: str) -> str:
        """``"<part>|<kind>"``, e.g. ``"grad:input|nan-where-finite"``."""
        return f"{part}|{self.kind(part) or 'unknown'}"


def expected(case: Case) -> Expected:
    """The reference value and gradients for ``case``, computed on ``case.rounded()`` with
    ``case.rounded_cotangent()``, or the :class:`reference.InvalidInput` the reference raised."""
    arrays = case.rounded()
    try:
        value, grads = case.reference()  # computed once per case, shared with the registry
        scales = tolerance.case_scales(case)
    except R.InvalidInput as exc:
        return Expected(None, {}, exc, tolerance.fan_in(arrays, 1))
    value = np.asarray(value, dtype=np.float64)
    return Expected(value, grads, None, scales.n, scales)


# --- formatting ---------------------------------------------------------------------------------

# Significant digits that tell two numbers of the dtype apart.
DIGITS = {"float64": 17, "float32": 9, "float16": 5, "bfloat16": 4}


def number(x: float, dtype: str = "float64") -> str:
    return f"{x:.{DIGITS.get(dtype, 17)}g}"


def _ulps(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.3g}"


def _where(index: tuple[int, ...]) -> str:
    return f"[{', '.join(map(str, index))}]" if index else ""


def _describe(what: str, chk: Check, dtype: str) -> str:
    head = f"{what}{_where(chk.index)} {number(chk.got, dtype)} vs reference "
    head += number(chk.expected, dtype)
    if chk.nonfinite:
        return f"{head}: NaN/inf must agree exactly"
    sign = "≤" if chk.ok else ">"
    return f"{head}: {_ulps(chk.ulp)} ULP {sign} {_ulps(chk.bound_ulp)} ULP"


def _message(error: FrameworkError) -> str:
    return f"{error.type}: {error.message}"


def _first(values: np.ndarray | None, limit: int = 16) -> str:
    if values is None:
        return "nothing"
    flat = np.ravel(values)[:limit]
    text = ", ".join(number(float(v)) for v in flat)
    return text if np.size(values) <= limit else f"[{text}, …]"


# --- comparing ----------------------------------------------------------------------------------


def _error_verdict(
    case: Case, exp: Expected, outcome: Outcome, got: np.ndarray | None
) -> Comparison:
    """The verdicts where at least one side raised."""
    fw_error = outcome.error
    if fw_error is None and got is None:
        fw_error = NO_RESULT
    ref_error = None if exp.error is None else str(exp.error)
    common = {"n_reduced": exp.n_reduced, "error": fw_error, "reference_error": ref_error}
    if exp.error is not None and fw_error is not None:
        detail = f"both raise: reference InvalidInput ({exp.error}); framework {_message(fw_error)}"
        return Comparison(
            "match", None, None, None, None, None, None, None, detail=detail, **common
        )
    if exp.error is not None:
        detail = f"reference raises InvalidInput ({exp.error}); framework returned {_first(got)}"
        return Comparison(
            "error-mismatch",
            ERROR,
            None,
            None,
            None,
            None,
            None,
            None,
            detail=detail,
            got_value=got,
            failed=(ERROR,),
            got_shown=got,
            kinds={ERROR: ACCEPTED_INVALID},
            **common,
        )
    detail = f"framework raised {_message(fw_error)}; reference returns {_first(exp.value)}"
    return Comparison(
        "crash",
        ERROR,
        None,
        None,
        None,
        None,
        None,
        None,
        detail=detail,
        failed=(ERROR,),
        expected_value=exp.value,
        expected_shown=exp.value,
        kinds={ERROR: RAISED_ON_VALID},
        **common,
    )


def _as_array(x: Any) -> np.ndarray | None:
    return None if x is None else np.asarray(x, dtype=np.float64)


@dataclass
class _Part:
    name: str
    ok: bool
    detail: str
    check: Check | None  # None: a shape difference
    expected: np.ndarray
    got: np.ndarray


def _compare_array(name: str, got, ref, scale, floor, case, n, constant) -> _Part:
    what = "value" if name == VALUE else f"grad of {name[len(GRAD) :]}"
    if got.shape != ref.shape:
        detail = f"{what} shape {got.shape} vs reference shape {ref.shape}"
        return _Part(SHAPE if name == VALUE else name, False, detail, None, ref, got)
    spacing = R.spacing(ref, case.dtype)
    allowed = tolerance.bound(ref, scale, floor, case.dtype, n, constant, spacing)
    chk = tolerance.check(got, ref, allowed, case.dtype, spacing)
    return _Part(name, chk.ok, _describe(what, chk, case.dtype), chk, ref, got)


def _kind(part: _Part) -> str:
    """The kind of difference of a failed part, read at its critical element."""
    chk = part.check
    if chk is None:
        return SHAPE_KIND
    if not chk.nonfinite:
        return BEYOND_TOLERANCE
    got, expected = chk.got, chk.expected
    if math.isfinite(expected):
        return NAN_WHERE_FINITE if math.isnan(got) else INF_WHERE_FINITE
    return FINITE_WHERE_NONFINITE if math.isfinite(got) else NONFINITE_DIFFERS


def _dtype_part(case: Case, outcome: Outcome) -> _Part | None:
    """Result fidelity: the value or a gradient returned in another dtype than the case's."""
    returned = {"value": outcome.value_dtype}
    returned.update({f"grad of {k}": v for k, v in sorted(outcome.grad_dtypes.items())})
    wrong = {k: v for k, v in returned.items() if v is not None and v != case.dtype}
    if not wrong:
        return None
    listed = ", ".join(f"{k} {v}" for k, v in wrong.items())
    detail = f"{listed} returned for a {case.dtype} case"
    empty = np.zeros(0)
    return _Part(DTYPE, False, detail, None, empty, empty)


def _figures(part: _Part | None) -> tuple[float | None, float | None, float | None]:
    if part is None:
        return None, None, None
    if part.check is None:
        return math.inf, math.inf, None
    return part.check.ulp, part.check.rel, part.check.bound_ulp


def _worst(parts: list[_Part]) -> _Part | None:
    def ratio(p: _Part) -> float:
        return math.inf if p.check is None else p.check.ratio

    return max(parts, key=ratio, default=None)


def compare(case: Case, expected: Expected, outcome: Outcome) -> Comparison:
    """Judge an adapter's ``outcome`` against ``expected`` for ``case``."""
    got = _as_array(outcome.value)
    if expected.error is not None or outcome.error is not None or got is None:
        return _error_verdict(case, expected, outcome, got)
    sc = expected.scales
    n = expected.n_reduced
    value = _compare_array(
        VALUE, got, expected.value, sc.value, sc.floor, case, n, tolerance.K_VALUE
    )
    grads: list[_Part] = []
    missing: dict[str, str] = {}
    got_grads = outcome.grads
    grad_errors = outcome.grad_errors
    for name in sorted(expected.grads):
        if name not in got_grads or got_grads[name] is None:
            missing[name] = grad_errors.get(name, "the framework returned no gradient")
            continue
        grads.append(
            _compare_array(
                GRAD + name,
                np.asarray(got_grads[name], dtype=np.float64),
                expected.grads[name],
                sc.grads[name],
                sc.grad_floor,
                case,
                n,
                tolerance.K_GRAD,
            )
        )
    fidelity = _dtype_part(case, outcome)
    failed = ([fidelity] if fidelity is not None else []) + [p for p in (value, *grads) if not p.ok]
    worst_grad = _worst(grads)
    value_ulp, value_rel, bound_value = _figures(value)
    grad_ulp, grad_rel, bound_grad = _figures(worst_grad)
    shown = next((p for p in failed if p is not fidelity), value)
    detail = failed[0].detail if failed else value.detail
    if len(failed) > 1:
        detail += f" (also {', '.join(p.name for p in failed[1:])})"
    if not failed and worst_grad is not None:
        detail += f"; {worst_grad.detail}"
    if missing:
        detail += "; no gradient for " + ", ".join(f"{k} ({v})" for k, v in missing.items())
    return Comparison(
        "mismatch" if failed else "match",
        failed[0].name if failed else None,
        value_ulp,
        value_rel,
        grad_ulp,
        grad_rel,
        bound_value,
        bound_grad,
        n,
        detail,
        got_value=got,
        failed=tuple(p.name for p in failed),
        expected_value=expected.value,
        expected_shown=shown.expected,
        got_shown=shown.got,
        missing_grads=missing,
        kinds={p.name: DTYPE_KIND if p is fidelity else _kind(p) for p in failed},
    )
