"""Matching concrete array shapes against a loss's symbolic layouts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .spec import Layout, Shape


def bind(symbolic: Shape, actual: tuple[int, ...], bound: dict[str, int]) -> bool:
    """Unify one symbolic shape with an actual shape, extending ``bound``; False on conflict."""
    if len(symbolic) != len(actual):
        return False
    for sym, size in zip(symbolic, actual, strict=True):
        if isinstance(sym, int):
            if sym != size:
                return False
        elif bound.setdefault(sym, size) != size:
            return False
    return True


def layouts_for(layouts: tuple[Layout, ...], params: Mapping[str, Any]) -> list[Layout]:
    return [lay for lay in layouts if all(params.get(k) == v for k, v in lay.when.items())]


def match(
    layouts: tuple[Layout, ...], shapes: Mapping[str, tuple[int, ...]], params: Mapping[str, Any]
) -> tuple[Layout, dict[str, int]] | None:
    """The first layout the given shapes fit, with the symbol sizes it binds; None if none fits.

    A layout fits when every present array has a symbolic shape there and all symbols unify.
    """
    for layout in layouts_for(layouts, params):
        if not set(shapes) <= set(layout.shapes):
            continue
        bound: dict[str, int] = {}
        if all(bind(layout.shapes[name], shape, bound) for name, shape in shapes.items()):
            return layout, bound
    return None


def concrete(layout: Layout, sizes: Mapping[str, int], names) -> dict[str, tuple[int, ...]]:
    """The concrete shapes of ``names`` in ``layout`` for the given symbol sizes."""
    return {
        name: tuple(s if isinstance(s, int) else sizes[s] for s in layout.shapes[name])
        for name in names
    }


def describe(layouts: tuple[Layout, ...], params: Mapping[str, Any]) -> str:
    parts = []
    for lay in layouts_for(layouts, params):
        inner = ", ".join(
            f"{n} ({', '.join(map(str, s))})" if s else f"{n} ()" for n, s in lay.shapes.items()
        )
        parts.append(f"{lay.name}: {inner}")
    return "; ".join(parts)
