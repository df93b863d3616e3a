"""Each framework's registry of known divergences: a package per framework, a module per loss
family (as :data:`reference.registry.FAMILIES`), every entry written out with its literal
``<loss>/<slug>`` id and the example that shows it."""
