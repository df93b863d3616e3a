"""lossconf's float64 NumPy reference: what each loss and its gradient *are*.

NumPy only. Public surface::

    from reference import REGISTRY, get, evaluate, value_and_vjp, validate, InvalidInput, Case

``evaluate(name, arrays, params)`` returns the reduced loss; ``value_and_vjp(name, arrays, params,
cotangent)`` also returns the vector-Jacobian product for every differentiable argument present.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from . import core
from .case import Case
from .configs import all_configs, config_id, split
from .dtypes import DTYPES, FORMATS, round_to, spacing
from .errors import InvalidInput
from .registry import REGISTRY, catalogue_markdown, get, names
from .spec import ArraySpec, Domain, Elementwise, Layout, LossSpec, Param

__all__ = [
    "DTYPES",
    "FORMATS",
    "REGISTRY",
    "ArraySpec",
    "Case",
    "Domain",
    "Elementwise",
    "InvalidInput",
    "Layout",
    "LossSpec",
    "Param",
    "all_configs",
    "catalogue_markdown",
    "config_id",
    "config_of",
    "evaluate",
    "get",
    "names",
    "round_to",
    "spacing",
    "split",
    "validate",
    "value_and_vjp",
]


def validate(name: str, arrays: Mapping[str, Any], params: Mapping[str, Any]):
    return core.validate(get(name), arrays, params)


def evaluate(name: str, arrays: Mapping[str, Any], params: Mapping[str, Any]) -> np.ndarray:
    return core.evaluate(get(name), arrays, params)


def value_and_vjp(name: str, arrays, params, cotangent=None):
    return core.value_and_vjp(get(name), arrays, params, cotangent)


def config_of(case: Case) -> dict[str, Any]:
    """The configuration a case runs under (see :mod:`reference.configs`)."""
    from .configs import config_of as _config_of

    return _config_of(get(case.loss), case.params, set(case.arrays))
