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

    # Derived once per case and kept on the instance (a frozen dataclass: set through object),
    # because the run asks for them many times per example — the reference, the adapter and
    # every registry predicate. ``dataclasses.replace`` makes a new case, which derives afresh.

    def rounded(self) -> dict[str, np.ndarray]:
        """The arrays as the framework sees them: floats rounded to ``dtype``, indices untouched.

        The arrays are shared between calls and read-only (an in-place change raises)."""
        cached = self.__dict__.get("_rounded")
        if cached is None:
            cached = {k: _read_only(self._round(v)) for k, v in self.arrays.items()}
            object.__setattr__(self, "_rounded", cached)
        return dict(cached)

    def _round(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values)
        return values if np.issubdtype(values.dtype, np.integer) else round_to(values, self.dtype)

    def rejection(self):
        """The reference's :class:`InvalidInput` for these inputs, or None where it accepts them
        (checked once per case)."""
        if "_rejection" not in self.__dict__:
            from . import core, registry
            from .errors import InvalidInput

            try:
                if self._rounding_is_identity():
                    self.derived()  # the same validation, of the same numbers, shared
                else:
                    core.validate(registry.get(self.loss), self.arrays, self.params)
                rejection = None
            except InvalidInput as exc:
                rejection = exc
            object.__setattr__(self, "_rejection", rejection)
        return self.__dict__["_rejection"]

    def _rounding_is_identity(self) -> bool:
        """Whether ``rounded()`` holds exactly the arrays' numbers in their own dtypes: a float64
        case whose arrays are float64 or integer (a bool or object array is rounded into float64,
        which the reference judges differently)."""
        return self.dtype == "float64" and all(
            isinstance(v, np.ndarray) and (v.dtype == np.float64 or v.dtype.kind in "iu")
            for v in self.arrays.values()
        )

    def derived(self) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, int], Any]:
        """What the reference derives from the rounded inputs before it reduces or
        differentiates: ``core.validate``'s float64 arrays, full parameters and bound sizes, and
        the unreduced loss ``spec.elementwise(arrays, parameters)``. Computed once and shared by
        the reference's value and gradients, the tolerance's term scales and the regime (each
        formed them anew: three validations and three evaluations per example). Raises the
        reference's :class:`InvalidInput` where it rejects the rounded inputs."""
        from . import core, registry

        def derive():
            spec = registry.get(self.loss)
            arrs, full, bound = core.validate(spec, self.rounded(), self.params)
            with np.errstate(all="ignore"):
                return arrs, full, bound, spec.elementwise(arrs, full)

        return self._once("_derived", derive)

    def reference(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The reference's value and vector-Jacobian product for this case: on the rounded
        inputs, with its parameters and the rounded cotangent, i.e. what the comparison measures
        the framework against. Computed once and shared by the comparison and every registry
        predicate that needs it (treat the arrays as read-only). Raises the reference's
        :class:`InvalidInput` where it rejects the inputs."""
        from . import core, registry

        def evaluate():
            arrs, full, _, el = self.derived()
            return core.value_and_vjp_of(
                registry.get(self.loss), arrs, full, el, self.rounded_cotangent()
            )

        return self._once("_reference", evaluate)

    def terms(self):
        """The reference's term scales evaluated on this case (a :class:`reference.terms.Terms`:
        T, G and the cotangent each elementwise loss receives), or None where the loss declares
        no term scale. Computed once and shared by the tolerance
        (:func:`cases.tolerance.case_scales`) and the regime (:func:`reference.regimes.regime_of`),
        which formed the same terms each. Raises the reference's :class:`InvalidInput` where it
        rejects the inputs."""
        from . import registry
        from .terms import evaluate_terms

        def compute():
            arrs, full, _, el = self.derived()
            ts = registry.get(self.loss).term_scale
            if ts is None:
                return None
            return evaluate_terms(ts, arrs, full, el, self.rounded_cotangent())

        return self._once("_terms", compute)

    def _once(self, key: str, compute):
        """``compute()``, or the reference's :class:`InvalidInput` it raised, kept on the
        instance under ``key`` and given (or raised) again on every later call."""
        if key not in self.__dict__:
            from .errors import InvalidInput

            try:
                result = compute()
            except InvalidInput as exc:
                result = exc
            object.__setattr__(self, key, result)
        result = self.__dict__[key]
        if isinstance(result, Exception):
            raise result
        return result

    def pointwise(self) -> np.ndarray:
        """The reference's unreduced loss (reduction ``none``) on the rounded inputs, computed once
        (registry predicates read the terms an averaging reduction adds up)."""
        if "_pointwise" not in self.__dict__:
            from . import core, registry

            params = {**self.params, "reduction": "none"}
            value = core.evaluate(registry.get(self.loss), self.rounded(), params)
            object.__setattr__(self, "_pointwise", _read_only(np.asarray(value, np.float64)))
        return self.__dict__["_pointwise"]

    def rounded_cotangent(self) -> np.ndarray | None:
        return None if self.cotangent is None else round_to(self.cotangent, self.dtype)


def _read_only(values: np.ndarray) -> np.ndarray:
    values = np.array(values, copy=True) if values.flags.writeable else values
    values.flags.writeable = False
    return values
