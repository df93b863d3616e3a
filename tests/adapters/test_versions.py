"""Version ranges of registry entries (framework-free): plain framework ranges, and ranges on
another package of the release ("optax>=0.2.6") read from an :class:`adapters.base.Release`."""

from __future__ import annotations

import copy as copy_module
import json

import numpy as np
import pytest

from adapters import Divergence
from adapters.base import Release, version_in
from reference import Case

JAX_NEW = Release("0.10.2", {"jax": "0.10.2", "jaxlib": "0.10.2", "optax": "0.2.8"})
JAX_OLD = Release("0.9.0", {"jax": "0.9.0", "jaxlib": "0.9.0", "optax": "0.2.4"})


@pytest.mark.parametrize(
    "version, spec, inside",
    [
        ("2.13.0+cpu", "", True),
        ("2.13.0+cpu", ">=2.0,<2.14", True),
        ("2.13.0+cpu", "<2.13", False),
        ("2.13.0", "==2.13.0", True),
        ("2.21.0", "!=2.21.0", False),
        ("0.10.2", ">0.9, <=0.10.2", True),
    ],
)
def test_plain_ranges_compare_the_framework_version(version, spec, inside):
    assert version_in(version, spec) is inside
    assert version_in(Release(version, {"x": "1.0"}), spec) is inside  # a Release is its string


@pytest.mark.parametrize(
    "spec, new, old",
    [
        ("optax>=0.2.6", True, False),
        ("optax<0.2.6", False, True),
        ("optax>=0.2.5,optax<0.3", True, False),
        ("jax>=0.10, optax>=0.2.6", True, False),
        (">=0.9, optax<=0.2.4", False, True),  # a plain clause is jax's, a named one optax's
        ("jaxlib==0.9.0", False, True),
    ],
)
def test_a_named_clause_compares_that_package_of_the_release(spec, new, old):
    assert version_in(JAX_NEW, spec) is new
    assert version_in(JAX_OLD, spec) is old


def test_a_named_clause_needs_a_release_that_carries_the_package():
    with pytest.raises(ValueError, match="carries no optax version"):
        version_in("0.10.2", "optax>=0.2.6")
    with pytest.raises(ValueError, match="carries no keras version"):
        version_in(JAX_NEW, "keras>=3")


@pytest.mark.parametrize("spec", ["0.2.6", "optax 0.2.6", "=>0.2", "optax>="])
def test_a_malformed_clause_is_an_error(spec):
    with pytest.raises(ValueError, match="malformed"):
        version_in(JAX_NEW, spec)


def test_a_release_is_its_version_string_wherever_one_goes():
    assert JAX_NEW == "0.10.2" and isinstance(JAX_NEW, str)
    assert hash(JAX_NEW) == hash("0.10.2")
    assert json.dumps({"framework_version": JAX_NEW}) == '{"framework_version": "0.10.2"}'
    assert f"jax-{JAX_NEW}" == "jax-0.10.2" and str(JAX_NEW) == "0.10.2"
    copy = copy_module.deepcopy(JAX_NEW)  # through __reduce__, as pickling would
    assert copy == JAX_NEW and copy.packages == JAX_NEW.packages
    with pytest.raises(TypeError):
        JAX_NEW.packages["optax"] = "9"  # read-only: a release does not change under a run


def test_divergence_applies_only_to_the_releases_it_names():
    entry = Divergence(
        id="test-optax-range",
        kind="known-bug",
        loss="mse_loss",
        description="a behaviour that optax 0.2.6 introduced",
        citation="https://example.org",
        versions="optax>=0.2.6",
    )
    case = Case("mse_loss", {"reduction": "mean"}, {"input": np.ones(2), "target": np.zeros(2)})
    assert entry.applies(case, JAX_NEW)
    assert not entry.applies(case, JAX_OLD)
    assert entry.as_record()["versions"] == "optax>=0.2.6"
