"""The one exception type the reference raises for bad input."""

from __future__ import annotations

import numpy as np


def describe_value(value: object, limit: int = 6) -> str:
    """A short, readable rendering of an offending value for an error message."""
    if isinstance(value, np.ndarray):
        flat = value.ravel()
        shown = ", ".join(repr(v.item()) for v in flat[:limit])
        more = f", … ({flat.size} values)" if flat.size > limit else ""
        return f"[{shown}{more}]"
    return repr(value)


_NO_VALUE = object()  # "no offending value to show" (a missing argument, a shape mismatch)


class InvalidInput(ValueError):
    """Raised when an argument breaks the loss's declared domain, shape relation or parameter rule.

    The message always names the loss, the argument, the rule and the offending value, on one line:
    ``cross_entropy: target must be a class index in [0, C) with C=3, or ignore_index=None; got [3]``.
    """

    def __init__(self, loss: str, argument: str, rule: str, value: object = _NO_VALUE):
        self.loss = loss
        self.argument = argument
        self.rule = rule
        self.value = None if value is _NO_VALUE else value
        # None is a value like any other (reduction=None): only an omitted value is left out
        got = "" if value is _NO_VALUE else f"; got {describe_value(value)}"
        super().__init__(f"{loss}: {argument} {rule}{got}")
