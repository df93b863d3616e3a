"""cases/xdist_loadgroup.py: a worker that crashes under ``--dist loadgroup`` loses its test, not
the run (pytest-xdist 3.8.0 hung for good, or ran the crashed test again)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cases import xdist_loadgroup

ROOT = Path(__file__).resolve().parents[2]

TESTS = """
import os
import pytest

@pytest.mark.parametrize("group", range({groups}))
@pytest.mark.parametrize("index", range({size}))
def test_item(group, index):
    marker = os.path.join(os.path.dirname(__file__), "crashed")
    if (group, index) == ({crash_group}, {crash_index}) and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)  # as a segfault in a native call does
"""

CONFTEST = """
import sys
import pytest

sys.path.insert(0, {root!r})
from cases import xdist_loadgroup

def pytest_configure(config):
    xdist_loadgroup.install()

def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.xdist_group(f"g{{item.callspec.params['group']}}"))
"""


@pytest.mark.skipif(not xdist_loadgroup.needed(), reason="this pytest-xdist has the fixes")
@pytest.mark.parametrize(
    "groups, size, crash",
    [
        (12, 3, (9, 1)),  # completed groups of the crashed worker used to come back empty: hang
        (12, 1, (10, 0)),  # one-test groups: the replacement waited for a second test: hang
        (4, 3, (0, 0)),  # the crashed test used to run again on the replacement
    ],
)
def test_a_crashed_worker_loses_its_test_and_the_run_ends(tmp_path, groups, size, crash):
    (tmp_path / "test_crash.py").write_text(
        textwrap.dedent(
            TESTS.format(groups=groups, size=size, crash_group=crash[0], crash_index=crash[1])
        )
    )
    (tmp_path / "conftest.py").write_text(textwrap.dedent(CONFTEST.format(root=str(ROOT))))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2"]
    done = subprocess.run(
        [*command, "--dist", "loadgroup", str(tmp_path / "test_crash.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    last = done.stdout.strip().splitlines()[-1]
    assert f"1 failed, {groups * size - 1} passed" in last, done.stdout[-2000:]
    assert "crashed while running" in done.stdout


@pytest.mark.skipif(not xdist_loadgroup.needed(), reason="this pytest-xdist has the fixes")
def test_a_replacement_worker_gets_no_work_before_its_collection_arrives():
    # The second of two crashes close together reschedules the first one's replacement, which has
    # not reported its collection yet: xdist 3.8.0 raised KeyError there and the session ended.
    from collections import OrderedDict

    from xdist.scheduler.loadscope import LoadScopeScheduling

    class Replacement:
        shutting_down = False
        sent = None

        def send_runtest_some(self, indices):
            self.sent = indices

        def shutdown(self):
            self.shutting_down = True

    scheduler = LoadScopeScheduling.__new__(LoadScopeScheduling)
    node = Replacement()
    scheduler.workqueue = OrderedDict(g1={"test_x.py::a": False, "test_x.py::b": False})
    scheduler.assigned_work = {node: {}}
    scheduler.registered_collections = {}
    xdist_loadgroup.reschedule(scheduler, node)
    assert node.sent is None and not node.shutting_down and list(scheduler.workqueue) == ["g1"]
    scheduler.registered_collections[node] = ["test_x.py::a", "test_x.py::b"]
    xdist_loadgroup.reschedule(scheduler, node)
    assert node.sent == [0, 1] and node.shutting_down  # all work handed out, nothing left


def test_a_release_after_the_upstream_fixes_is_left_alone(monkeypatch):
    monkeypatch.setattr(xdist_loadgroup.metadata, "version", lambda name: "3.9.0")
    assert not xdist_loadgroup.needed() and not xdist_loadgroup.install()
    monkeypatch.setattr(xdist_loadgroup.metadata, "version", lambda name: "3.8.0")
    assert xdist_loadgroup.needed()
