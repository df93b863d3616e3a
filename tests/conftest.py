"""Options shared by the whole test tree."""

import os
import sys

import pytest
from hypothesis import settings

# CI (.ci/run exports LOSSCONF_DERANDOMIZE=1) draws the unit tests' examples from a seed fixed by
# each test's source, so that a run is a function of the commit; elsewhere they explore afresh on
# every run (and keep failures in .hypothesis/), which is how three weak test tolerances were
# found. The conformance run's own profiles set derandomize themselves and are not affected.
if os.environ.get("LOSSCONF_DERANDOMIZE") == "1":
    settings.register_profile("lossconf-unit-ci", derandomize=True, database=None)
    settings.load_profile("lossconf-unit-ci")


def pytest_addoption(parser):
    group = parser.getgroup("lossconf")
    group.addoption(
        "--framework",
        default=None,
        help="framework whose adapter to test: torch, tensorflow or jax "
        "(default: $LOSSCONF_FRAMEWORK)",
    )
    group.addoption(
        "--profile",
        default=None,
        help="hypothesis profile: ci, default or thorough (default: $LOSSCONF_PROFILE or ci)",
    )


def pytest_runtest_setup(item):
    """Give a parametrised @given test its decorated settings back before each call.

    hypothesis' pytest plugin (6.170.17, ``_hypothesis_pytestplugin.py`` ``pytest_runtest_call``)
    replaces a parametrised test's settings with ``settings(parent=<the current ones>, ...)`` on
    every call, so the chain grows by one per parametrisation a worker runs; past about a thousand
    (test_mpmath has more) reading ``settings.database`` walks the chain and overflows the
    recursion limit, and every later parametrisation fails on that worker. Restoring the
    decorated settings keeps the chain one link long and changes nothing else the plugin does.
    """
    obj = getattr(item, "obj", None)
    fn = getattr(obj, "__func__", obj)
    current = getattr(fn, "_hypothesis_internal_use_settings", None)
    if current is None:
        return
    decorated = fn.__dict__.setdefault("_lossconf_decorated_settings", current)
    fn._hypothesis_internal_use_settings = decorated


FRAMEWORKS = {"jax", "tensorflow", "torch"}


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """A pytest-xdist worker that loaded a framework ends here, without the framework's teardown.

    JAX's exit handler (``jax/_src/api.py`` ``clean_up``, registered with ``atexit``) clears its
    backends and caches, freeing every executable the process compiled or loaded: in a worker of
    the jax conformance run that is thousands, and the controller waited for both workers 12 s
    after their last test (``jax.clear_caches()`` alone took 3.3 s after a few hundred eager
    calls); TensorFlow's workers took 2.7 s, their controller included, after a Keras run of two
    losses. By now the worker has sent the controller everything (its results part is written and
    closed, "workerfinished" sent, after which xdist takes the end of the connection as a normal
    one); the rest of a normal exit only returns memory the operating system takes back anyway.
    The controller, and any process that is not an xdist worker, exits normally (its status is
    the run's).
    """
    leave_without_teardown(config)


def leave_without_teardown(config, modules=sys.modules, leave=os._exit) -> None:
    """In an xdist worker (``config.workerinput``) that imported one of :data:`FRAMEWORKS`:
    flush the standard streams and ``leave(0)``; anywhere else, return."""
    if not hasattr(config, "workerinput") or not FRAMEWORKS & set(modules):
        return
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    leave(0)
