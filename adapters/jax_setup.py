"""How lossconf configures JAX before the first array exists: the jax adapter and the Keras adapter
on the jax backend both call :func:`configure`.

- ``jax_enable_x64``: float64 is a tested dtype; without x64 JAX silently computes it in float32.
- JAX's persistent compilation cache, in ``$LOSSCONF_JAX_CACHE`` (default ``.cache/jax`` in the
  checkout; ``off`` disables it). Why: a jax run compiles constantly, and much of it is the same
  program again. Optax's ``ctc_loss`` builds its ``lax.scan`` body as a fresh closure on every call,
  so an eager call re-traces and re-compiles the scan each time (0.42 s a call at T = 5, N = 4,
  K = 3 on this 2-core machine; 0.09 s with the cache, which finds the identical program by its
  fingerprint); and every process (each pytest-xdist worker, each tox environment, the next run)
  starts with an empty in-memory cache. Every compilation is cached (the minimum compile time
  and entry size are 0), because the small primitive compilations of eager mode are most of them.

The cache changes no result: an entry is keyed by the program, the jax/jaxlib version, the backend
and the compile options, and holds the executable XLA would build again
(``tests/adapters/test_jax_setup.py`` compares a cold and a warm run bit for bit).
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "LOSSCONF_JAX_CACHE"
DEFAULT_CACHE = Path(__file__).resolve().parents[1] / ".cache" / "jax"
OFF = ("0", "off", "none", "false", "no")


def cache_dir(environ=os.environ) -> Path | None:
    """The persistent compilation cache's folder, or None when ``$LOSSCONF_JAX_CACHE`` turns it
    off."""
    value = environ.get(CACHE_ENV, "").strip()
    if value.lower() in OFF:
        return None
    return Path(value).expanduser() if value else DEFAULT_CACHE


def configure(jax, environ=os.environ) -> Path | None:
    """Turn on x64 and the persistent compilation cache; return the cache folder (None: off)."""
    jax.config.update("jax_enable_x64", True)
    folder = cache_dir(environ)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        jax.config.update("jax_compilation_cache_dir", str(folder))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder
