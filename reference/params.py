"""Parameter declarations shared by several losses (named as torch.nn.functional names them)."""

from __future__ import annotations

import math
from typing import Any

from .spec import Param


def reduction(*extra: str) -> Param:
    choices = ("mean", "none", "sum", *extra)
    return Param(
        "reduction",
        "mean",
        f"be one of {', '.join(repr(c) for c in choices)}",
        lambda v: v in choices,
        grid=choices,
        description="how the elementwise loss is reduced",
    )


def flag(name: str, default: bool, description: str, **kw: Any) -> Param:
    return Param(
        name,
        default,
        "be True or False",
        lambda v: isinstance(v, bool),
        grid=(default, not default),
        description=description,
        **kw,
    )


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def real(name: str, default: float, grid: tuple, description: str, **kw: Any) -> Param:
    return Param(name, default, "be a finite real number", _is_real, grid, description, **kw)


def positive(name: str, default: float, grid: tuple, description: str, **kw: Any) -> Param:
    return Param(
        name,
        default,
        "be a real number > 0",
        lambda v: _is_real(v) and v > 0,
        grid,
        description,
        **kw,
    )


def nonnegative(name: str, default: float, grid: tuple, description: str, **kw: Any) -> Param:
    return Param(
        name,
        default,
        "be a real number ≥ 0",
        lambda v: _is_real(v) and v >= 0,
        grid,
        description,
        **kw,
    )


def interval(
    name: str, default: float, low: float, high: float, grid: tuple, description: str, **kw: Any
) -> Param:
    return Param(
        name,
        default,
        f"be a real number in [{low:g}, {high:g}]",
        lambda v: _is_real(v) and low <= v <= high,
        grid,
        description,
        **kw,
    )


def ignore_index(**kw: Any) -> Param:
    return Param(
        "ignore_index",
        None,
        "be None or an integer class value whose targets are skipped",
        lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
        grid=(None, -100),
        description=(
            "target value whose items are skipped and excluded from the mean's denominator; "
            "None = nothing is ignored (torch's default -100 with no target equal to it)"
        ),
        **kw,
    )
