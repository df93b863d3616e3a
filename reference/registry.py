"""The registry: the one place where every loss, its parameters and its arguments are named.

Each family module (regression, binary, classification, distribution, embedding, sequence) declares a tuple
``LOSSES`` of :class:`~reference.spec.LossSpec`; this module collects them. Adding a loss means
adding a spec to one family module (and, if it is a new family, its module name below).
"""

from __future__ import annotations

import importlib

from .spec import ByParam, LossSpec

FAMILIES = (
    "regression",
    "binary",
    "classification",
    "distribution",
    "embedding",
    "sequence",
    "sampled",
    "overlap",
    "circle",
)


def _collect() -> dict[str, LossSpec]:
    out: dict[str, LossSpec] = {}
    for family in FAMILIES:
        module = importlib.import_module(f"{__package__}.{family}")
        for spec in getattr(module, "LOSSES", ()):
            if spec.name in out:
                raise RuntimeError(f"loss {spec.name!r} is declared twice")
            if spec.family != family:
                raise RuntimeError(f"{spec.name} declares family {spec.family!r} in {family}.py")
            out[spec.name] = spec
    return out


REGISTRY: dict[str, LossSpec] = _collect()


def get(name: str) -> LossSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown loss {name!r}; known: {', '.join(sorted(REGISTRY))}") from None


def names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def _fmt(value) -> str:
    return "None" if value is None else repr(value) if isinstance(value, str) else str(value)


def _domain_names(domain) -> str:
    if isinstance(domain, ByParam):
        return "/".join(str(d) for d in domain.choices.values())
    return str(domain)


def catalogue_markdown() -> str:
    """The catalogue as a Markdown table, generated for the README (a test keeps them equal)."""
    rows = [
        "| loss | family | arguments | parameters (default) | reductions |",
        "|---|---|---|---|---|",
    ]
    for spec in REGISTRY.values():
        args = ", ".join(
            f"`{a.name}`{'?' if a.optional else ''} ({_domain_names(a.domain)})"
            for a in spec.arrays
        )
        params = ", ".join(
            f"`{p.name}`={_fmt(p.default)}" for p in spec.params if p.name != "reduction" and p.api
        )
        rows.append(
            f"| `{spec.name}` | {spec.family} | {args} | {params or '—'} | "
            f"{', '.join(spec.reductions)} |"
        )
    return "\n".join(rows)
