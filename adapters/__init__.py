"""Framework adapters. Each framework lives in its own module and is imported only when asked for,
so an environment with one framework (or none, for the unit tests) never imports the others.
"""

from __future__ import annotations

import importlib

from .base import Adapter, Divergence, FrameworkError, Native, NotOffered, Outcome

# framework name -> module holding an ``ADAPTER`` class
FRAMEWORKS = {
    "torch": "adapters.torch_adapter",
    "tensorflow": "adapters.tf_adapter",
    "jax": "adapters.jax_adapter",
    # keras.losses on the backend KERAS_BACKEND names (tensorflow, jax, torch)
    "keras": "adapters.keras_adapter",
}

__all__ = [
    "FRAMEWORKS",
    "Adapter",
    "Divergence",
    "FrameworkError",
    "Native",
    "NotOffered",
    "Outcome",
    "load",
]


def load(name: str) -> Adapter:
    """An adapter instance for a framework name; a clear error for an unknown name."""
    if name not in FRAMEWORKS:
        raise KeyError(f"unknown framework {name!r}; known: {', '.join(FRAMEWORKS)}")
    module = importlib.import_module(FRAMEWORKS[name])
    return module.ADAPTER()
