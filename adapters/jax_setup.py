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

Entries are published whole. JAX's file cache without a size limit (``jax/_src/lru_cache.py``,
``LRUCache.put``, the same in 0.9.0 and 0.10.2) writes an entry in place with
``Path.write_bytes``, taking its file lock only when eviction is on; the pytest-xdist workers of
one run and the tox environments of one machine share the folder, so one process can read an entry
another is still writing, and two that compiled the same program at once truncate each other's
file. :func:`publish_entries_whole` writes to a private temporary name and renames it into place,
so a reader sees a whole entry or none (the pattern POSIX ``rename`` guarantees).

Compiled code is released before the process runs out of memory mappings. Every XLA CPU executable
a process loads (compiled or read from the persistent cache) maps its code into the process, and
JAX keeps each one alive in its in-memory caches. An eager call of optax's ``ctc_loss`` builds its
``lax.scan`` body as a fresh closure, so every call adds an executable: 92 mappings a call,
measured (400 eager value-and-gradient calls: 777 → 37 593 lines in ``/proc/self/maps``, with the
persistent cache on or off). Linux refuses a process more than ``vm.max_map_count`` (65 530 by
default) and the next load segfaults inside XLA: three pytest-xdist workers of one jax
``--profile default`` run died that way (in the executable's serialisation or deserialisation),
and two runs of the jax ctc_loss items lost the same two items each. :class:`CodeBudget` counts
the mappings every few calls and clears JAX's in-memory caches
(``jax.clear_caches``: 37 593 → 523 lines) before half of the limit is used; what is cleared is
compiled again or read from the persistent cache, bit for bit the same.
"""

from __future__ import annotations

import functools
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
        publish_entries_whole()
    return folder


def publish_entries_whole() -> bool:
    """Make JAX's unbounded file cache write each entry to a temporary file and rename it into
    place; return whether the patch is in place (False where this JAX has no such cache class)."""
    try:
        from jax._src import lru_cache
    except ImportError:
        return False
    cls = getattr(lru_cache, "LRUCache", None)
    suffix = getattr(lru_cache, "_CACHE_SUFFIX", None)
    if cls is None or suffix is None or not hasattr(cls, "put"):
        return False
    if getattr(cls.put, "lossconf_whole", False):
        return True
    in_place = cls.put

    @functools.wraps(in_place)
    def put(self, key, value):
        # A bounded cache holds its file lock around reads and writes already; a remote one has
        # no rename to rely on.
        if getattr(self, "eviction_enabled", True) or "://" in str(self.path):
            return in_place(self, key, value)
        if not key:
            raise ValueError("key cannot be empty")
        final = Path(str(self.path)) / f"{key}{suffix}"
        if final.exists():
            return None
        temporary = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        try:
            temporary.write_bytes(value)
            os.replace(temporary, final)
        finally:
            temporary.unlink(missing_ok=True)
        return None

    put.lossconf_whole = True
    cls.put = put
    return True


MAPS = Path("/proc/self/maps")
MAP_LIMIT = Path("/proc/sys/vm/max_map_count")


def _lines(path: Path) -> int | None:
    try:
        with path.open("rb") as f:
            return f.read().count(b"\n")
    except OSError:  # not Linux, or /proc not mounted: nothing to guard
        return None


def _limit(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class CodeBudget:
    """Clear JAX's in-memory caches when this process's memory mappings pass ``share`` of the
    kernel's limit; checked every ``every`` calls of :meth:`tick` (reading the mappings costs
    about 1 ms per 1 000 lines)."""

    def __init__(self, jax, every: int = 32, share: float = 0.5, maps=MAPS, limit=MAP_LIMIT):
        self.jax = jax
        self.every = every
        self.maps = maps
        found = _limit(limit)
        self.threshold = None if found is None else int(found * share)
        self.calls = 0
        self.clears = 0

    def tick(self) -> bool:
        """Count one call; whether this one cleared the caches."""
        self.calls += 1
        if self.threshold is None or self.calls % self.every:
            return False
        used = _lines(self.maps)
        if used is None or used < self.threshold:
            return False
        self.jax.clear_caches()
        self.clears += 1
        return True
