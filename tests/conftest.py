"""Options shared by the whole test tree."""

import os

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
