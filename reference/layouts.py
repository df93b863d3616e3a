"""Layouts shared by several losses."""

from __future__ import annotations

from .spec import Layout

_SAME = {"scalar": (), "(N)": ("N",), "(N, D)": ("N", "D"), "(N, D, E)": ("N", "D", "E")}


def same_shape(*names: str, scalar: bool = True) -> tuple[Layout, ...]:
    """Every named array has one common shape, of rank 0 to 3."""
    return tuple(
        Layout(label, {n: shape for n in names})
        for label, shape in _SAME.items()
        if scalar or shape
    )


def class_layouts(index_target: bool = True, prob_target: bool = False) -> tuple[Layout, ...]:
    """(C), (N, C), (N, C, d1), (N, C, d1, d2): the class dimension is dim 1, or dim 0 unbatched.

    Index targets drop the class dimension; probability targets have the input's shape; ``weight``
    is one number per class.
    """
    inputs = {
        "(C)": ("C",),
        "(N, C)": ("N", "C"),
        "(N, C, d1)": ("N", "C", "d1"),
        "(N, C, d1, d2)": ("N", "C", "d1", "d2"),
    }
    out = []
    for label, shape in inputs.items():
        index_shape = tuple(s for s in shape if s != "C")
        if index_target:
            when = {"target_kind": "index"} if prob_target else {}
            out.append(
                Layout(label, {"input": shape, "target": index_shape, "weight": ("C",)}, when)
            )
        if prob_target:
            out.append(
                Layout(
                    label,
                    {"input": shape, "target": shape, "weight": ("C",)},
                    {"target_kind": "probability"},
                )
            )
    return tuple(out)
