"""``lossconf``: one command in front of the suite's command lines.

    lossconf run FRAMEWORK [pytest options]   the conformance run (pytest tests/conformance
                                              --framework FRAMEWORK …), e.g. --loss mse_loss
    lossconf reference …                      python -m reference … (catalogue, show LOSS)
    lossconf cases …                          python -m cases … (freeze, check, budget)
    lossconf reports …                        python -m reports … (html, diff, summary)

A user error (an unknown command or framework) is one line on stderr and exit status 2. The
``python -m`` forms keep working; this module only dispatches to them.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

PROG = "lossconf"
CHECKOUT = Path(__file__).resolve().parent.parent
CONFORMANCE = CHECKOUT / "tests" / "conformance"

COMMANDS = {
    "run": "the conformance run of one framework: lossconf run FRAMEWORK [pytest options]",
    "reference": "the float64 reference: catalogue, show LOSS (python -m reference)",
    "cases": "the frozen corpus and the profile budget: freeze, check, budget (python -m cases)",
    "reports": "results files: html, diff, summary (python -m reports)",
}
# the extra (pyproject.toml) that brings what a command needs beyond numpy
EXTRAS = {"reports": "report", "cases": "conformance", "run": "conformance"}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [
        f"usage: {PROG} COMMAND [ARGS …]",
        "",
        "commands:",
        *(f"  {name:<{width}}  {what}" for name, what in COMMANDS.items()),
        "",
        f"{PROG} COMMAND --help describes one command; {PROG} run FRAMEWORK --help lists the",
        "conformance options (--loss, --dtype, --mode, --device, --profile, --corpus, --results,",
        "--timings) among pytest's.",
    ]
    return "\n".join(lines)


def _error(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def _frameworks() -> list[str]:
    from adapters import FRAMEWORKS  # names only: no framework is imported here

    return list(FRAMEWORKS)


def run(argv: list[str]) -> int:
    """pytest on this checkout's conformance run, in a fresh interpreter, from the current
    directory (so relative --results and --corpus paths mean what they say)."""
    known = _frameworks()
    if not argv:
        return _error(f"run: no framework given (choose from {', '.join(known)})")
    if argv[0] in ("-h", "--help"):
        print(
            f"usage: {PROG} run FRAMEWORK [pytest options]\n\n"
            f"FRAMEWORK: {', '.join(known)}. The options are pytest's and the conformance "
            f"plugin's;\n{PROG} run FRAMEWORK --help lists them."
        )
        return 0
    framework, rest = argv[0], argv[1:]
    if framework not in known:
        return _error(f"run: unknown framework {framework!r} (choose from {', '.join(known)})")
    if not CONFORMANCE.is_dir():
        return _error(
            f"run: {CONFORMANCE} is missing; run from a checkout installed with pip install -e ."
        )
    missing = [m for m in ("pytest", "hypothesis") if importlib.util.find_spec(m) is None]
    if missing:
        return _error(f"run: {', '.join(missing)} not installed (pip install -e '.[{framework}]')")
    command = [sys.executable, "-m", "pytest", str(CONFORMANCE), "--framework", framework, *rest]
    return subprocess.call(command)


def _pass_through(name: str, argv: list[str]) -> int:
    try:
        if name == "reference":
            from reference.__main__ import main
        elif name == "cases":
            from cases.__main__ import main
        else:
            from reports.cli import main
    except ImportError as exc:
        extra = EXTRAS.get(name, "conformance")
        return _error(f"{name}: {exc} (install it with pip install -e '.[{extra}]')")
    return main(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        print(usage(), file=sys.stderr)
        return 2
    if argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        return _error(f"unknown command {command!r} (choose from {', '.join(COMMANDS)})")
    if command == "run":
        return run(rest)
    return _pass_through(command, rest)


if __name__ == "__main__":
    sys.exit(main())
