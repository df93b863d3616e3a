"""The conformance run as a pytest plugin: options, the header, parametrisation, the results file.

    pytest tests/conformance --framework torch [--device cpu|cuda:0|all] [--dtype float32,…|all]
        [--mode eager|jit|all] [--loss cross_entropy,…] [--profile ci|default|thorough]
        [--corpus DIR] [--results PATH-or-DIR]

One test item per loss × configuration × dtype × device × mode. Each item runs the hand-picked
edge cases, the invalid inputs, and either hypothesis-drawn cases or, with ``--corpus``, exactly
the frozen corpus's inputs; every comparison goes into one record of the results file, which is
written as the run goes (see reports/schema.py).
"""

from __future__ import annotations

import os
import platform
import socket
import sys
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest

import adapters
import reference as R
from cases import profiles, selection
from cases.judge import Judge
from reports.progress import Progress
from reports.schema import ResultsWriter

ALL = "all"


def pytest_addoption(parser):
    group = parser.getgroup("lossconf conformance")
    group.addoption("--device", default=ALL, help="cpu, cuda:0, … or all (default: all found)")
    group.addoption("--dtype", default=ALL, help="comma-separated dtypes, or all (default)")
    group.addoption("--mode", default=ALL, help="eager, jit or all (default)")
    group.addoption("--loss", default=ALL, help="comma-separated loss names, or all (default)")
    group.addoption("--corpus", default=None, help="replay the frozen corpus in DIR")
    group.addoption(
        "--timings",
        default=None,
        help="write per-example stage timings (JSON) for the benchmark to PATH",
    )
    group.addoption(
        "--results",
        default=None,
        help="results file, or a directory to write <framework>-<version>-<devices>.json into",
    )


def _choose(option: str, available, what: str) -> list[str]:
    if option == ALL:
        return list(available)
    chosen = [x.strip() for x in option.split(",") if x.strip()]
    unknown = [x for x in chosen if x not in available]
    if unknown:
        raise pytest.UsageError(
            f"--{what} {','.join(unknown)}: not available here (available: {', '.join(available)})"
        )
    return chosen


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{socket.gethostname()} / {cpu} / {os.cpu_count()} cores"


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in ".-_" else "_" for c in text)


class StageTimer:
    """Seconds per example for each stage of the harness; the benchmark reads them."""

    STAGES = ("generate", "reference", "native", "adapter", "compare", "record")

    def __init__(self):
        self.samples: dict[str, list[float]] = {stage: [] for stage in self.STAGES}
        self.items: list[tuple[float, int]] = []  # (wall seconds, examples) per item

    def add(self, **seconds: float) -> None:
        for stage in self.STAGES:
            self.samples[stage].append(seconds.get(stage, 0.0))

    def write(self, path: str, meta: dict) -> None:
        import json

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps({**meta, "stages": self.samples, "items": self.items}))


@dataclass
class Run:
    """Everything the conformance items share for one session."""

    framework: str
    adapter: adapters.Adapter
    profile: profiles.Profile
    devices: list[str]
    dtypes: list[str]
    modes: list[str]
    losses: list[str]
    corpus: object | None
    judge: Judge
    writer: ResultsWriter | None = None
    progress: Progress | None = None
    mapping: dict = field(default_factory=dict)  # config id -> mapping row
    timer: StageTimer = field(default_factory=StageTimer)
    results_path: Path | None = None


def _framework(config) -> str | None:
    return config.getoption("--framework") or os.environ.get("LOSSCONF_FRAMEWORK")


def pytest_configure(config):
    name = _framework(config)
    if not name:
        config._lossconf = None
        return
    if name not in adapters.FRAMEWORKS:
        raise pytest.UsageError(
            f"--framework {name}: unknown (known: {', '.join(adapters.FRAMEWORKS)})"
        )
    adapter = adapters.load(name)
    profile = profiles.get(config.getoption("--profile") or os.environ.get("LOSSCONF_PROFILE"))
    corpus = None
    if config.getoption("--corpus"):
        from cases import corpus as corpus_module

        corpus = corpus_module.load(config.getoption("--corpus"))
    run = Run(
        framework=name,
        adapter=adapter,
        profile=profile,
        devices=_choose(config.getoption("--device"), adapter.devices(), "device"),
        dtypes=_choose(config.getoption("--dtype"), adapter.dtypes, "dtype"),
        modes=_choose(config.getoption("--mode"), adapter.modes, "mode"),
        losses=_choose(config.getoption("--loss"), R.names(), "loss"),
        corpus=corpus,
        judge=Judge(adapter.divergences(), adapter.version()),
    )
    config._lossconf = run


def _results_path(run: Run, option: str) -> Path:
    path = Path(option)
    if path.suffix == ".json":
        return path
    name = f"{run.framework}-{_slug(run.adapter.version())}-{'+'.join(run.devices)}.json"
    return path / name.replace(":", "")


def pytest_sessionstart(session):
    run = session.config._lossconf
    if run is None:
        return
    results = session.config.getoption("--results")
    if results:
        path = _results_path(run, results)
        path.parent.mkdir(parents=True, exist_ok=True)
        run.writer = ResultsWriter(
            path,
            {
                "framework": run.framework,
                "framework_version": run.adapter.version(),
                "versions": run.adapter.versions(),
                "lossconf_version": "0.1.0",
                "python": platform.python_version(),
                "platform": platform.platform(),
                "machine": _machine(),
                "devices": run.devices,
                "dtypes": run.dtypes,
                "modes": run.modes,
                "profile": run.profile.name,
                "seed": run.profile.seed,
                "corpus": session.config.getoption("--corpus"),
                "command": " ".join(["pytest", *sys.argv[1:]]),
                "started": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )
        run.results_path = path


def pytest_report_header(config):
    run = getattr(config, "_lossconf", None)
    if run is None:
        return "lossconf: no framework selected (--framework or LOSSCONF_FRAMEWORK)"
    versions = ", ".join(f"{k} {v}" for k, v in run.adapter.versions().items())
    return [
        f"lossconf: framework {run.framework} ({versions})",
        f"lossconf: devices {', '.join(run.devices)}; dtypes {', '.join(run.dtypes)}; "
        f"modes {', '.join(run.modes)}",
        f"lossconf: profile {run.profile.name}, seed {run.profile.seed}, "
        f"corpus {config.getoption('--corpus') or 'none (hypothesis)'}",
    ]


KNOWN_FAILURES = Path(__file__).with_name("known_failures.txt")


def known_failures(framework: str) -> dict[str, str]:
    """Items of ``framework`` that fail for a reason not yet registered: item id -> what was seen.

    Each line of known_failures.txt is ``framework item-id reason``. Such an item is a strict
    xfail: its records (mismatches included) go to the results file and the report as usual, and
    the run turns red when it passes, so the line goes once the divergence is registered or fixed.
    """
    found = {}
    for number, line in enumerate(KNOWN_FAILURES.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) != 3:
            raise pytest.UsageError(
                f"{KNOWN_FAILURES}:{number}: expected 'framework item-id reason', got {line!r}"
            )
        if parts[0] == framework:
            found[parts[1]] = parts[2]
    return found


def pytest_generate_tests(metafunc):
    if "item" not in metafunc.fixturenames:
        return
    run = metafunc.config._lossconf
    if run is None:
        metafunc.parametrize(
            "item",
            [
                pytest.param(
                    None,
                    marks=pytest.mark.skip(
                        reason="no framework selected (--framework or LOSSCONF_FRAMEWORK)"
                    ),
                )
            ],
        )
        return
    params = []
    expected_failures = known_failures(run.framework)
    for loss in run.losses:
        spec = R.get(loss)
        for config in selection.configs(spec, run.profile):
            for dtype in run.dtypes:
                for device in run.devices:
                    for mode in run.modes:
                        item_id = selection.item_id(spec, config, dtype, device, mode)
                        marks = []
                        if item_id in expected_failures:
                            reason = expected_failures.pop(item_id)
                            marks.append(pytest.mark.xfail(strict=True, reason=reason))
                        params.append(
                            pytest.param(
                                (spec, config, dtype, device, mode), id=item_id, marks=marks
                            )
                        )
    stale = [i for i in expected_failures if i.split("[", 1)[0] in run.losses]
    whole = set(run.dtypes) == set(run.adapter.dtypes) and set(run.modes) == set(run.adapter.modes)
    if stale and whole and run.profile.name == "ci":  # written for the ci profile's items
        warnings.warn(
            f"{KNOWN_FAILURES.name}: {len(stale)} {run.framework} entries match no item: "
            + ", ".join(stale),
            stacklevel=1,
        )
    metafunc.parametrize("item", params)


@pytest.fixture(scope="session")
def run(request) -> Run:
    return request.config._lossconf


def pytest_collection_finish(session):
    run = session.config._lossconf
    if run is not None:
        # sys.__stderr__: progress is for the person watching, past pytest's output capture
        run.progress = Progress(sys.__stderr__, total_items=len(session.items))


def pytest_sessionfinish(session, exitstatus):
    run = getattr(session.config, "_lossconf", None)
    if run is None:
        return
    timings = session.config.getoption("--timings")
    if timings:
        run.timer.write(
            timings,
            {
                "framework": run.framework,
                "version": run.adapter.version(),
                "profile": run.profile.name,
                "items": len(session.items),
            },
        )
    if run.writer is None:
        return
    run.writer.mapping(list(run.mapping.values()))
    run.writer.registry(run.judge.registry_status())
    run.writer.close()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"lossconf: results written to {run.results_path}")
