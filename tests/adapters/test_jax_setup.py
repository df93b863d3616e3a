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


@pytest.mark.skipif(
    importlib.util.find_spec("jax") is None or importlib.util.find_spec("optax") is None,
    reason="jax and optax are not installed here",
)
def test_cold_warm_and_uncached_runs_agree_bit_for_bit(tmp_path):
    folder = tmp_path / "cache"
    cold = _probe(str(folder))
    assert any(folder.iterdir()), "the cold run wrote no cache entry"
    warm = _probe(str(folder))
    uncached = _probe("off")
    assert cold == warm == uncached
