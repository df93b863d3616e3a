"""Three pytest-xdist 3.8.0 faults of ``--dist loadgroup`` after a worker crashed, worked around.

A native call can take its worker down (seen: jax 0.10.2 segfaulting when a process ran out of
memory mappings, three times in one jax ``--profile default`` run; ``adapters/jax_setup.py`` now
releases compiled code before that). The run is built to lose only that item
(``Run.merge_parts`` names it). With xdist's group scheduler it lost the run instead: the session
hung with every worker idle, for good.

- The crashed worker's *whole* workload goes back on the queue, completed groups included
  (pytest-dev/pytest-xdist#1378, #1323): they come back as empty work units, each of which uses up
  a reschedule, and once the queue holds nothing else every worker waits for an item that never
  comes. The crashed test itself stays pending and is run again by the replacement (#1371).
- A worker runs an item only when it holds the next one or has been told there is none; a
  (replacement) worker handed a one-item group waits for a second (#1327).
- Two workers that crash close together: the second removal reschedules every node, the first's
  replacement included, whose collection has not arrived yet (``KeyError`` in
  ``_assign_work_unit``: seen when both workers of a jax ``--profile default`` ctc_loss run
  crashed within a second). Such a node gets its work when its collection arrives.

Upstream merged fixes after 3.8.0 (#1324, #1328) and has #1371 open; :func:`install` patches
``LoadScopeScheduling`` (whose subclass loadgroup is) of a release without them, in the
controller, and does nothing on a release that has them.
"""

from __future__ import annotations

from importlib import metadata

FIXED_IN = (3, 9)  # the first release after the merged fixes (#1324, #1328)


def _release(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.split(".")[:2]:
        digits = "".join(c for c in part if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def needed() -> bool:
    try:
        return _release(metadata.version("pytest-xdist")) < FIXED_IN
    except metadata.PackageNotFoundError:
        return False


def remove_node(self, node):
    """As xdist's, but the crashed test counts as done (it was reported failed) and only groups
    with tests still to run go back on the queue."""
    workload = self.assigned_work.pop(node)
    if not self._pending_of(workload):
        return None
    crashitem = next(
        nodeid for unit in workload.values() for nodeid, done in unit.items() if not done
    )
    for scope, unit in workload.items():
        if crashitem in unit:
            unit[crashitem] = True
        if not all(unit.values()):
            self.workqueue[scope] = unit
    for other in self.assigned_work:
        self._reschedule(other)
    return crashitem


def reschedule(self, node) -> None:
    """As xdist's, but a node is topped up until it holds two tests to run (a worker needs the
    next one to run the first), told to stop as soon as the queue is empty, and left alone until
    its collection has arrived (``schedule`` reschedules every node when it does)."""
    if node.shutting_down or node not in self.registered_collections:
        return
    if self.workqueue and self._pending_of(self.assigned_work.get(node, {})) <= 2:
        self._assign_work_unit(node)
        while self.workqueue and self._pending_of(self.assigned_work[node]) < 2:
            self._assign_work_unit(node)
    if not self.workqueue:
        node.shutdown()


def install() -> bool:
    """Patch xdist's group scheduler where the installed release needs it; whether it did."""
    if not needed():
        return False
    from xdist.scheduler.loadscope import LoadScopeScheduling

    LoadScopeScheduling.remove_node = remove_node
    LoadScopeScheduling._reschedule = reschedule
    return True
