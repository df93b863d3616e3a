"""Divergence registries: ``adapters/known/<framework>/``, one module per loss family."""
