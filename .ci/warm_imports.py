"""Import what a run in this tox environment imports, so that Python writes their .pyc files once.

CI installs the environments without byte-compiling them (``PIP_COMPILE=0`` in ``.ci/run``): pip
would compile every module of every package, most of which no run imports. This script, run once
per environment with the environment's interpreter (and ``PYTHONDONTWRITEBYTECODE`` unset), imports
the modules a run of that environment starts with (the framework through its adapter), and Python
caches each one it compiles. Without it, the first pytest controller and both of its workers would
compile the same modules at the same moment.

    python .ci/warm_imports.py [FRAMEWORK]

FRAMEWORK is an adapter name (torch, tensorflow, jax, keras; Keras' backend from KERAS_BACKEND) or
empty for an environment without one. A module the environment lacks is left out: each
environment has its own packages.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

# What the test environments, the conformance run and the report commands import besides the
# framework (tox's environments have different subsets of these).
COMMON = (
    "numpy",
    "mpmath",
    "pytest",
    "xdist",
    "hypothesis",
    "hypothesis.extra.numpy",
    "reference",
    "cases.run",
    "cases.strategies",
    "cases.corpus",
    "reports.cli",
    "reports.html",
    "reports.diff",
    "reports.plots",
    "matplotlib.pyplot",
    "selenium.webdriver",
    "tox",
)


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    for name in COMMON:
        try:
            importlib.import_module(name)
        except ImportError:
            continue
    framework = argv[1] if len(argv) > 1 else ""
    if framework:
        import adapters

        adapters.load(framework)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
