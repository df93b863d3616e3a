"""Each framework's registry of known divergences: one package per framework, one module per
family of losses (``reference.registry.FAMILIES``)."""
