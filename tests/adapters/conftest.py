"""Adapter tests run for the framework named by ``--framework`` or ``LOSSCONF_FRAMEWORK``.

Without one (``tox -e tests``) only the framework-free tests here run.
"""

import importlib.util
import os

import pytest

import adapters

# The python package each framework adapter needs.
PACKAGES = {"torch": "torch", "tensorflow": "tensorflow", "jax": "jax", "keras": "keras"}


def framework_name(config) -> str | None:
    return config.getoption("--framework", default=None) or os.environ.get("LOSSCONF_FRAMEWORK")


@pytest.fixture(scope="session")
def adapter(request):
    name = framework_name(request.config)
    if not name:
        pytest.skip("no framework selected (--framework or LOSSCONF_FRAMEWORK)")
    if importlib.util.find_spec(PACKAGES[name]) is None:
        pytest.fail(f"framework {name} selected but the package {PACKAGES[name]} is not installed")
    return adapters.load(name)
