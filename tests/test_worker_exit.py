"""The quick exit of a pytest-xdist worker that loaded a framework (tests/conftest.py)."""

import importlib.util
import types
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def root_conftest():
    # loaded from its path under a name of its own: every conftest of the tree is "conftest"
    spec = importlib.util.spec_from_file_location("lossconf_root_conftest", HERE / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Left(Exception):
    pass


def leave(status):
    raise Left(status)


@pytest.mark.parametrize("framework", ["jax", "tensorflow", "torch"])
def test_a_worker_that_loaded_a_framework_leaves_at_once(root_conftest, framework):
    worker = types.SimpleNamespace(workerinput={"workerid": "gw0"})
    with pytest.raises(Left) as left:
        root_conftest.leave_without_teardown(worker, {framework: object()}, leave)
    assert left.value.args == (0,)


def test_a_worker_without_a_framework_exits_normally(root_conftest):
    worker = types.SimpleNamespace(workerinput={"workerid": "gw0"})
    assert root_conftest.leave_without_teardown(worker, {"numpy": object()}, leave) is None


def test_the_controller_or_a_serial_run_exits_normally(root_conftest):
    # its exit status is the run's: it must go through pytest's own exit
    controller = types.SimpleNamespace()
    assert root_conftest.leave_without_teardown(controller, {"jax": object()}, leave) is None
