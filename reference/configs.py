"""Configurations: a loss's API parameters plus which optional arrays are present.

A configuration is what a framework's mapping depends on and what a results record is keyed by:
``{"target_kind": "index", "ignore_index": -100, "label_smoothing": 0.1, "weight": True,
"reduction": "mean"}``. Its id reads ``cross_entropy[index-target,weight,ignore_index=-100,
label_smoothing=0.1,mean]``: the target kind, the optional arrays present, every non-default
parameter, and the reduction last.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from .core import _checked_params
from .errors import InvalidInput
from .spec import LossSpec


def config_of(spec: LossSpec, params: Mapping[str, Any], present: set[str] | frozenset[str]):
    """The configuration of a call: API parameters (defaults filled) and optional-array flags."""
    config = spec.api_params({**spec.defaults(), **params})
    for name in spec.optional_arrays:
        config[name] = name in present
    return config


def split(spec: LossSpec, config: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Back from a configuration to (parameters, names of the optional arrays present)."""
    optional = set(spec.optional_arrays)
    params = {k: v for k, v in config.items() if k not in optional}
    return params, {k for k in optional if config.get(k)}


def _fmt(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def config_id(spec: LossSpec, config: Mapping[str, Any]) -> str:
    parts = []
    if "target_kind" in config:
        parts.append("index-target" if config["target_kind"] == "index" else "prob-target")
    parts += [name for name in spec.optional_arrays if config.get(name)]
    for p in spec.params:
        if p.name in ("reduction", "target_kind") or p.name not in config:
            continue
        value = config[p.name]
        if value == p.default and type(value) is type(p.default):
            continue
        parts.append(p.name if value is True else f"{p.name}={_fmt(value)}")
    parts.append(config.get("reduction", "mean"))
    return f"{spec.name}[{','.join(parts)}]"


def all_configs(spec: LossSpec, reference_only: bool = False) -> Iterator[dict[str, Any]]:
    """Every combination of the parameter grids and optional arrays that the loss accepts.

    Parameters that do not apply (``ignore_index`` with probability targets) appear once, at their
    default, and are dropped from the configuration. ``reference_only`` adds the reference-only
    variants (``full_term``), which no framework sees.
    """
    params = [p for p in spec.params if p.api or reference_only]
    grids = [[(p.name, v) for v in p.grid] for p in params]
    flags = [[(name, False), (name, True)] for name in spec.optional_arrays]
    seen = set()
    for combo in itertools.product(*grids, *flags):
        chosen = dict(combo)
        raw = {k: v for k, v in chosen.items() if k not in spec.optional_arrays}
        try:
            _checked_params(spec, raw)
        except InvalidInput:
            continue
        config = config_of(spec, raw, {k for k in spec.optional_arrays if chosen[k]})
        if reference_only:
            config.update(
                {
                    p.name: raw[p.name]
                    for p in params
                    if not p.api
                    and p.name in raw
                    and all(raw.get(k) == v for k, v in p.applies_when.items())
                }
            )
        key = tuple(sorted((k, repr(v)) for k, v in config.items()))
        if key not in seen:
            seen.add(key)
            yield config
