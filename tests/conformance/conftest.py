"""The conformance run as pytest glue: options, parametrisation, the verdict of the session.

    pytest tests/conformance --framework torch [--device cpu|cuda:0|all] [--dtype float32,…|all]
        [--mode eager|jit|all] [--loss cross_entropy,…] [--profile ci|default|thorough]
        [--corpus DIR [--corpus-every K] [--corpus-configs K] [--corpus-pairs K]] [--results PATH-or-DIR]
        [--timings PATH] [--strict | --no-strict] [--shard i/n]

The engine (``cases.run``) does the work; this plugin resolves the framework to an adapter, turns
the engine's items into test items, and fails the session on stale registry entries.

Strictness: a strict run fails an item on every unexplained non-match; a run that is not strict
fails it only on an unexplained non-match on ordinary inputs or an unexplained crash, and lists
the other unexplained non-matches (boundary, kink, range, special or invalid inputs) as findings
to triage in the terminal summary, with their reproducers. ``--strict`` (pytest's own option,
which also makes pytest's configuration checks strict) or ``--no-strict`` decide; else
``$LOSSCONF_STRICT`` (1/0); else the profile: ``ci`` is strict, ``default`` and ``thorough`` are
not.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import pytest

from cases import oracles
from cases.run import ALL, Run, RunError, known_failures

KNOWN_FAILURES = Path(__file__).with_name("known_failures.txt")


def pytest_addoption(parser):
    group = parser.getgroup("lossconf conformance")
    group.addoption("--device", default=ALL, help="cpu, cuda:0, … or all (default: all found)")
    group.addoption("--dtype", default=ALL, help="comma-separated dtypes, or all (default)")
    group.addoption("--mode", default=ALL, help="eager, jit or all (default)")
    group.addoption("--loss", default=ALL, help="comma-separated loss names, or all (default)")
    group.addoption("--corpus", default=None, help="replay the frozen corpus in DIR")
    group.addoption(
        "--corpus-every",
        default="1",
        help="K: replay every K-th corpus case of each configuration (CI's quick upgrade diff)",
    )
    group.addoption(
        "--corpus-configs",
        default="1",
        help="K: replay every K-th configuration of each loss, at every dtype and mode (a replay "
        "compiles per item, so this is the share that shortens it)",
    )
    group.addoption(
        "--corpus-pairs",
        default="1",
        help="K: replay every K-th (dtype, mode) pair of each configuration, the first pair "
        "rotating from one configuration to the next so that every dtype and mode still runs",
    )
    group.addoption("--timings", default=None, help="write per-example stage timings to PATH")
    group.addoption(
        "--seed",
        default=os.environ.get("LOSSCONF_SEED"),
        help="N: draw every item's examples from N and the item alone, without hypothesis' "
        "example database, so that a default or thorough run can be repeated (or compared "
        "across workers); the ci profile is seeded with 0 already ($LOSSCONF_SEED)",
    )
    group.addoption(
        "--no-strict",
        action="store_true",
        default=False,
        help="fail only on unexplained non-matches on ordinary inputs and on crashes; list the "
        "others as findings to triage (the default for profiles other than ci; pytest's own "
        "--strict makes every unexplained non-match fail)",
    )
    group.addoption(
        "--shard",
        default=None,
        help="i/n: run every n-th item from the i-th on (machines of a CI matrix each run one; "
        "python -m reports merge joins their results files and judges the registry)",
    )
    group.addoption(
        "--results",
        default=None,
        help="results file, or a directory to write <framework>-<version>-<devices>.json into",
    )


def _strict(config) -> bool | None:
    """--no-strict, then pytest's own --strict, else None (the environment or the profile)."""
    if config.getoption("--no-strict"):
        return False
    try:
        asked = bool(config.getini("strict"))
    except ValueError:  # a pytest without the "strict" setting: look for the flag itself
        asked = False
    if asked or "--strict" in config.invocation_params.args:
        return True
    return None


def pytest_configure(config):
    config._lossconf, config._lossconf_lost = None, False
    if config.pluginmanager.hasplugin("xdist"):
        from cases import xdist_loadgroup

        xdist_loadgroup.install()  # a crashed worker must not hang a --dist loadgroup run
    name = config.getoption("--framework") or os.environ.get("LOSSCONF_FRAMEWORK")
    if not name:
        return
    import adapters  # only the glue resolves a framework name, and only when one is asked for

    if name not in adapters.FRAMEWORKS:
        known = ", ".join(adapters.FRAMEWORKS)
        raise pytest.UsageError(f"--framework {name}: unknown (known: {known})")
    try:
        adapter = adapters.load(name)
    except ImportError as exc:
        raise pytest.UsageError(f"--framework {name}: not installed here ({exc})") from None
    opt = config.getoption
    try:
        config._lossconf = Run.start(
            adapter,
            framework=name,
            profile=opt("--profile"),
            strict=_strict(config),
            **{
                key: opt(f"--{key}")
                for key in ("device", "dtype", "mode", "loss", "corpus", "shard")
            },
            corpus_every=opt("--corpus-every"),
            corpus_configs=opt("--corpus-configs"),
            corpus_pairs=opt("--corpus-pairs"),
            seed=opt("--seed"),
        )
        if opt("--timings"):  # the benchmark: the frameworks' compilation as its own stage
            adapter.time_compilations()
        config._lossconf_known = known_failures(KNOWN_FAILURES, name)
        config._lossconf.known_failures = set(config._lossconf_known)
    except RunError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_sessionstart(session):
    run, option = session.config._lossconf, session.config.getoption("--results")
    if run is not None and option:
        command, corpus = " ".join(["pytest", *sys.argv[1:]]), session.config.getoption("--corpus")
        # an xdist worker streams into its own part file; only the controller writes the results
        worker = getattr(session.config, "workerinput", {}).get("workerid")
        run.open_results(option, corpus=corpus, command=command, worker=worker)


def pytest_report_header(config):
    run = getattr(config, "_lossconf", None)
    if run is None:
        return "lossconf: no framework selected (--framework or LOSSCONF_FRAMEWORK)"
    return run.describe(config.getoption("--corpus"))


def pytest_generate_tests(metafunc):
    if "oracle" in metafunc.fixturenames:
        parametrize_oracles(metafunc)
    if "item" not in metafunc.fixturenames:
        return
    run = metafunc.config._lossconf
    if run is None:
        why = "no framework selected (--framework or LOSSCONF_FRAMEWORK)"
        metafunc.parametrize("item", [pytest.param(None, marks=pytest.mark.skip(reason=why))])
        return
    known, items = metafunc.config._lossconf_known, run.items()
    params = [pytest.param(item, id=item.id, marks=marks(run, item, known)) for item in items]
    unmatched = run.unmatched_known_failures(known, items)
    if unmatched:
        warnings.warn(
            f"{KNOWN_FAILURES.name}: {len(unmatched)} {run.framework} entries match no item: "
            + ", ".join(unmatched),
            stacklevel=1,
        )
    metafunc.parametrize("item", params)


def parametrize_oracles(metafunc) -> None:
    """One test per oracle and loss it applies to. Whole, an oracle ran every configuration of
    the run as one test of up to 25 s (JAX, float64 eager), and the last of them kept one worker
    busy 22 s after the other had finished: xdist's group scheduling does not share out what a
    worker holds."""
    run = metafunc.config._lossconf
    pairs = (
        []
        if run is None
        else [(oracle, loss) for oracle in oracles.ORACLES for loss in run.oracle_losses(oracle)]
    )
    if not pairs:
        why = "no framework selected" if run is None else "no oracle applies to the run's losses"
        skipped = pytest.param(None, None, marks=pytest.mark.skip(reason=why))
        metafunc.parametrize("oracle, oracle_loss", [skipped])
        return
    metafunc.parametrize(
        "oracle, oracle_loss", pairs, ids=[f"{oracle.name}-{loss}" for oracle, loss in pairs]
    )


def marks(run: Run, item, known: dict[str, str]) -> list:
    """A known failure is a strict xfail. Under ``-n N --dist loadgroup`` (pytest-xdist), the
    items of one loss, dtype and mode go to one worker when the adapter compiles per shape (JAX
    compiles each primitive once per shape and dtype, in eager mode too): they share shapes, so
    the worker compiles them once instead of every worker compiling them all."""
    out = [pytest.mark.xfail(strict=True, reason=known[item.id])] if item.id in known else []
    if run.adapter.compiles_per_shape(item.mode):
        out.append(pytest.mark.xdist_group(f"{item.spec.name}-{item.dtype}-{item.mode}"))
    return out


@pytest.fixture(scope="session")
def run(request) -> Run | None:
    return request.config._lossconf


def pytest_collection_finish(session):
    run = session.config._lossconf
    if run is not None:
        # sys.__stderr__: progress is for the person watching, past pytest's output capture
        run.start_progress(sys.__stderr__, total_items=len(session.items))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist: the controller merges each worker's part file (a restart gets a new id)."""
    if node.config._lossconf is not None:
        node.config._lossconf.workers.append(node.workerinput["workerid"])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist: the controller adds up its workers' registry counts and timings to judge
    them as one; a worker that died took its counts along, so the registry cannot be judged."""
    config, output = node.config, getattr(node, "workeroutput", {}).get("lossconf")
    if config._lossconf is not None and output is None:
        config._lossconf_lost = True
    elif config._lossconf is not None:
        config._lossconf.add_worker_output(output)


def pytest_sessionfinish(session, exitstatus):
    config, run = session.config, getattr(session.config, "_lossconf", None)
    if run is None:
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    worker = getattr(config, "workeroutput", None)
    if worker is not None:  # an xdist worker saw only part of the run: its controller judges
        worker["lossconf"] = run.worker_output()
    # Judged here, after every item, so that -k, --deselect, any order or a subset cannot skip
    # it; a run that stopped early (-x, Ctrl-C) did not see every divergence, so it cannot tell.
    finished = exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
    stopped = session.shouldstop or session.shouldfail or worker or config._lossconf_lost
    in_flight = run.merge_parts() if run.workers and run.writer else []
    stale = run.stale_message() if finished and not stopped else None
    if stale and run.shard is not None:
        # a shard saw a share of the examples: an entry that applied here without diverging may
        # diverge in another shard, so the merge of all shards judges the registry
        stale = None
    if stale:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_sep("=", "lossconf: registry check failed", red=True)
            reporter.write_line(stale)
    timings = None if worker is not None else config.getoption("--timings")
    in_flight = ", ".join(in_flight)
    path = run.finish(items=len(session.items), timings=timings, stopped_at=in_flight)
    if path is not None and reporter is not None:
        reporter.write_line(f"lossconf: results written to {path}")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Findings to triage: unexplained non-matches outside ordinary inputs that a run that is not
    strict lists instead of failing on, one line each with its reproducer."""
    run = getattr(config, "_lossconf", None)
    if run is None or not run.findings or hasattr(config, "workerinput"):
        return
    findings = run.findings
    regimes: dict[str, int] = {}
    for finding in findings:
        regimes[finding["regime"]] = regimes.get(finding["regime"], 0) + finding["count"]
    counts = ", ".join(f"{regime} {n}" for regime, n in sorted(regimes.items()))
    terminalreporter.write_sep(
        "=", f"lossconf: {len(findings)} findings to triage ({counts} examples)", yellow=True
    )
    terminalreporter.write_line(
        "unexplained by the registry outside ordinary inputs: not failures of this run (not "
        "strict); --strict fails on them. Register (with a citation) or fix each one."
    )
    for finding in findings:
        signatures = ", ".join(f"{k} ×{v}" for k, v in finding["signatures"].items())
        terminalreporter.write_line(
            f"- {finding['item']} [{finding['regime']}] {signatures}: {finding['detail']}"
        )
        if finding["reproducer"]:
            for line in finding["reproducer"].rstrip().splitlines():
                terminalreporter.write_line(f"    {line}")
