"""JAX's persistent compilation cache (adapters/jax_setup.py): where it lives, how it is turned off,
and that a run served from it returns the same bits as one that compiled everything itself."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from adapters import jax_setup

ROOT = Path(__file__).resolve().parents[2]


def test_cache_folder_defaults_to_the_checkout():
    assert jax_setup.cache_dir({}) == ROOT / ".cache" / "jax"


def test_cache_folder_from_the_environment(tmp_path):
    assert jax_setup.cache_dir({jax_setup.CACHE_ENV: str(tmp_path)}) == tmp_path


@pytest.mark.parametrize("value", ["off", "0", "OFF", " none "])
def test_cache_turned_off(value):
    assert jax_setup.cache_dir({jax_setup.CACHE_ENV: value}) is None


# An eager optax ctc_loss value and gradient: its lax.scan is compiled anew on every call, so a
# warm cache serves the executables this run would otherwise compile.
PROBE = """
import json, sys
import jax
from adapters.jax_setup import configure
configure(jax)
import jax.numpy as jnp, numpy as np, optax
rng = np.random.default_rng(7)
out = {}
for dtype in ("float64",):
    logits = jnp.asarray(rng.normal(size=(4, 5, 3)), dtype=dtype)
    pad = jnp.zeros((4, 5), dtype=dtype)
    labels = jnp.asarray([[1, 2], [2, 2], [1, 1], [2, 1]], dtype=jnp.int32)
    lpad = jnp.zeros((4, 2), dtype=dtype)
    f = lambda x: optax.losses.ctc_loss(x, pad, labels, lpad)
    value, vjp = jax.vjp(f, logits)
    (grad,) = vjp(jnp.ones_like(value))
    out[dtype] = [np.asarray(value).tobytes().hex(), np.asarray(grad).tobytes().hex()]
json.dump(out, sys.stdout)
"""


def _probe(cache: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", jax_setup.CACHE_ENV: cache, "JAX_PLATFORMS": "cpu"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


needs_jax = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None or importlib.util.find_spec("optax") is None,
    reason="jax and optax are not installed here",
)


@needs_jax
def test_a_cache_entry_appears_whole_or_not_at_all(tmp_path, monkeypatch):
    # Another worker reads an entry as soon as its name exists: the bytes must already be there.
    from jax._src import lru_cache

    assert jax_setup.publish_entries_whole()
    cache = lru_cache.LRUCache(str(tmp_path), max_size=-1)
    final = tmp_path / f"key{lru_cache._CACHE_SUFFIX}"
    writes = []
    write_bytes = Path.write_bytes

    def watched(self, data):
        writes.append((self.name, final.exists()))
        return write_bytes(self, data)

    monkeypatch.setattr(Path, "write_bytes", watched)
    cache.put("key", b"executable" * 100)
    assert writes, "the entry was not written"
    assert all(name != final.name and not existed for name, existed in writes), writes
    assert final.read_bytes() == b"executable" * 100
    assert [path.name for path in tmp_path.iterdir()] == [final.name]  # no temporary left
    cache.put("key", b"another")
    assert final.read_bytes() == b"executable" * 100  # a present entry is kept, as JAX does


@needs_jax
def test_cold_warm_and_uncached_runs_agree_bit_for_bit(tmp_path):
    folder = tmp_path / "cache"
    cold = _probe(str(folder))
    assert any(folder.iterdir()), "the cold run wrote no cache entry"
    warm = _probe(str(folder))
    uncached = _probe("off")
    assert cold == warm == uncached


class _Jax:
    """Stands in for the jax module: counts clear_caches calls."""

    def __init__(self):
        self.cleared = 0

    def clear_caches(self):
        self.cleared += 1


def _budget(tmp_path, jax, lines: int, limit: str = "100\n", every: int = 2):
    maps, limit_file = tmp_path / "maps", tmp_path / "max_map_count"
    maps.write_text("mapping\n" * lines)
    limit_file.write_text(limit)
    return jax_setup.CodeBudget(jax, every=every, share=0.5, maps=maps, limit=limit_file), maps


def test_code_budget_leaves_caches_alone_below_half_the_mapping_limit(tmp_path):
    jax = _Jax()
    budget, _ = _budget(tmp_path, jax, lines=49)
    assert not any(budget.tick() for _ in range(10)) and jax.cleared == 0


def test_code_budget_clears_caches_at_half_the_limit_on_every_nth_call(tmp_path):
    jax = _Jax()
    budget, _ = _budget(tmp_path, jax, lines=50)
    assert [budget.tick() for _ in range(6)] == [False, True] * 3
    assert jax.cleared == budget.clears == 3


@pytest.mark.parametrize("limit", [None, "", "many\n"])
def test_code_budget_without_a_readable_limit_does_nothing(tmp_path, limit):
    jax = _Jax()
    budget, _ = _budget(tmp_path, jax, lines=10_000, limit=limit or "")
    if limit is None:
        budget = jax_setup.CodeBudget(jax, every=1, limit=tmp_path / "absent")
    assert not any(budget.tick() for _ in range(4)) and jax.cleared == 0


@needs_jax
@pytest.mark.skipif(not jax_setup.MAPS.exists(), reason="no /proc/self/maps here")
def test_eager_ctc_code_is_released_before_the_mapping_limit(tmp_path):
    # Each eager optax ctc_loss call loads a new executable (its scan body is a fresh closure):
    # without the budget the mappings only grow, and at vm.max_map_count the process segfaults.
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    def mappings():
        return jax_setup._lines(jax_setup.MAPS)

    rng = np.random.default_rng(7)
    logits = jnp.asarray(rng.normal(size=(4, 5, 3)), dtype=jnp.float32)
    pad = jnp.zeros((4, 5), dtype=jnp.float32)
    labels = jnp.asarray([[1, 2], [2, 2], [1, 1], [2, 1]], dtype=jnp.int32)
    lpad = jnp.zeros((4, 2), dtype=jnp.float32)

    def call():
        value, vjp = jax.vjp(lambda x: optax.losses.ctc_loss(x, pad, labels, lpad), logits)
        vjp(jnp.ones_like(value))

    call()
    start = mappings()
    for _ in range(3):
        call()
    per_call = (mappings() - start) / 3
    assert per_call > 10, f"an eager ctc call added {per_call} mappings: the premise is gone"
    limit = tmp_path / "max_map_count"
    limit.write_text(f"{int(2 * (mappings() + 4 * per_call))}\n")  # half of it: 4 calls away
    budget = jax_setup.CodeBudget(jax, every=1, share=0.5, limit=limit)
    for _ in range(8):
        call()
        budget.tick()
    assert budget.clears >= 1
    assert mappings() < budget.threshold
