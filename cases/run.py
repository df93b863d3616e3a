"""The conformance engine: one framework's run, from the items it holds to the results file.

    run = Run.start(adapter, profile="ci", loss="mse_loss")    # any object with the Adapter API
    run.open_results("reports/results", command="…")           # optional: the results file
    for item in run.items():
        result = run.run_item(item)                            # record written, verdict known
    failures = [run.check_oracle(oracle) for oracle in oracles.ORACLES]
    problem = run.stale_message()                              # after every item, in any order
    run.finish(items=…, timings=None)

Per item (loss × configuration × dtype × device × mode) the pipeline is: the hand-picked edge
cases, the invalid inputs, then hypothesis-drawn cases (or, with a frozen corpus, exactly the
corpus's cases); each case goes expected (reference) → native (adapter) → compare → judge
(divergence registry) → record, and the time of each stage goes to :class:`StageTimer`.

The engine receives an adapter object and never imports :mod:`adapters` (which framework to load
is the caller's business: the pytest plugin in ``tests/conformance``, or ``lossconf run``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import socket
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from hypothesis import HealthCheck, Phase, given, seed, settings, target

import reference as R
from reference.contract import NotOffered
from reference.regimes import regime_of
from reference.spec import LossSpec
from reports.progress import Progress
from reports.schema import ResultsWriter, read_document, record_key

from . import edges, invalid, profiles, selection, strategies, tolerance
from .compare import compare, expected
from .judge import Judge, explains
from .records import RecordBuilder, fails_non_strict, native_fields
from .reproducer import reproducer

ALL = "all"
LOSSCONF_VERSION = "0.1.0"
STRICT_ENV = "LOSSCONF_STRICT"
STRICT_PROFILES = ("ci",)  # profiles whose runs are strict unless told otherwise


def strict_default(profile: str, environ=os.environ) -> bool:
    """Whether a run fails on every unexplained non-match: ``$LOSSCONF_STRICT`` (1/0, true/false)
    if set, else strict for the ci profile (what CI runs) and not for default/thorough."""
    value = environ.get(STRICT_ENV, "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    if value:
        raise RunError(f"${STRICT_ENV}={value!r}: expected 1 or 0 (true/false)")
    return profile in STRICT_PROFILES


class RunError(ValueError):
    """A choice the run cannot honour (an unknown dtype, a malformed known-failures line): the
    message is one line naming the bad value and the allowed ones."""


def choose(option: str, available: Iterable[str], what: str) -> list[str]:
    """``all`` or a comma-separated subset of ``available``, in the order given."""
    available = list(available)
    if option == ALL:
        return available
    chosen = [x.strip() for x in option.split(",") if x.strip()]
    unknown = [x for x in chosen if x not in available]
    if unknown:
        raise RunError(
            f"--{what} {','.join(unknown)}: not available here (available: {', '.join(available)})"
        )
    return chosen


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{socket.gethostname()} / {cpu} / {os.cpu_count()} cores"


def slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in ".-_" else "_" for c in text)


def results_path(
    framework: str,
    version: str,
    devices: list[str],
    option: str,
    shard: tuple[int, int] | None = None,
) -> Path:
    """``option`` itself when it names a ``.json`` file, else
    ``option/<framework>-<version>-<devices>.json`` (the name ``reports`` and tox rely on); a
    shard's file in a directory ends ``.shard-<i>-of-<n>.json``, so the shards of one run sit
    side by side until ``python -m reports merge`` joins them."""
    path = Path(option)
    if path.suffix == ".json":
        return path
    suffix = f".shard-{shard[0]}-of-{shard[1]}" if shard else ""
    name = f"{framework}-{slug(version)}-{'+'.join(devices)}{suffix}.json"
    return path / name.replace(":", "")


def parse_every(value: int | str, option: str = "--corpus-every", what: str = "case") -> int:
    """``--corpus-every K`` (or ``--corpus-configs K``): a positive whole number, else a one-line
    :class:`RunError`."""
    try:
        every = int(value)
    except (TypeError, ValueError):
        every = 0
    if every < 1:
        raise RunError(f"{option} {value}: expected a whole number >= 1 (every K-th {what})")
    return every


def parse_seed(value: int | str | None) -> int | None:
    """``--seed N`` (or ``$LOSSCONF_SEED``): a whole number >= 0, None or empty for the profile's
    own; else a one-line :class:`RunError`."""
    if value is None or str(value).strip() == "":
        return None
    try:
        chosen = int(str(value).strip())
    except ValueError:
        chosen = -1
    if chosen < 0:
        raise RunError(f"--seed {value}: expected a whole number >= 0")
    return chosen


def parse_shard(option: str | None) -> tuple[int, int] | None:
    """``--shard i/n`` (1 ≤ i ≤ n) as (i, n); None or empty means the whole run."""
    if not option:
        return None
    try:
        index, count = (int(part) for part in option.split("/"))
    except ValueError:
        raise RunError(f"--shard {option}: expected i/n with whole numbers, e.g. 1/4") from None
    if not 1 <= index <= count:
        raise RunError(f"--shard {option}: i must be between 1 and n (got {index} of {count})")
    return index, count


def in_shard(index: int, shard: tuple[int, int] | None) -> bool:
    """Item ``index`` (its place in the whole run's order) belongs to ``shard``: items are dealt
    round-robin, so every shard gets a share of each loss, dtype and mode (losses differ ten-fold
    in cost; contiguous blocks would not balance)."""
    return shard is None or index % shard[1] == shard[0] - 1


def known_failures(path: str | os.PathLike[str], framework: str) -> dict[str, str]:
    """Items of ``framework`` that fail for a reason not yet registered: item id -> what was seen.

    Each line of the file is ``framework item-id reason``. Such an item is a strict xfail: its
    records (mismatches included) go to the results file and the report as usual, and the run
    turns red when it passes, so the line goes once the divergence is registered or fixed.
    """
    found = {}
    text = Path(path).read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) != 3:
            raise RunError(f"{path}:{number}: expected 'framework item-id reason', got {line!r}")
        if parts[0] == framework:
            found[parts[1]] = parts[2]
    return found


class StageTimer:
    """Seconds per example for each stage of the harness; the benchmark reads them."""

    STAGES = ("generate", "reference", "native", "compile", "adapter", "compare", "record")

    def __init__(self):
        self.samples: dict[str, list[float]] = {stage: [] for stage in self.STAGES}
        self.items: list[tuple[float, int]] = []  # (wall seconds, examples) per item

    def add(self, **seconds: float) -> None:
        for stage in self.STAGES:
            self.samples[stage].append(seconds.get(stage, 0.0))

    def write(self, path: str | os.PathLike[str], meta: dict) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps({**meta, "stages": self.samples, "items": self.items}))


class ItemSpec(NamedTuple):
    """One conformance item: a loss configuration in one dtype, on one device, in one mode."""

    spec: LossSpec
    config: dict[str, Any]
    dtype: str
    device: str
    mode: str
    id: str
    # which of the adapter's native forms of the configuration (None: the one ``mapping`` gives;
    # else a key of ``adapter.alternatives``), part of the record's identity
    api: str | None = None
    # the item's place in the whole run's order (shards and xdist workers restore it)
    index: int = 0


def alternatives(adapter, loss: str, config) -> dict[str, Any]:
    """The adapter's further native forms of a configuration (API name -> Native), if it has any:
    each is run as its own item and recorded with its ``api``."""
    further = getattr(adapter, "alternatives", None)
    return dict(further(loss, config)) if further is not None else {}


@dataclass
class ItemResult:
    """What one item came to: not offered (``not_offered`` is the reason), or its record, and
    ``failure`` (the message) when some example was unexpected."""

    item: ItemSpec
    not_offered: str | None = None
    record: dict[str, Any] | None = None
    unexpected: int = 0
    failure: str | None = None
    # unexplained non-matches the run does not fail on (not strict): per regime, to triage
    findings: list[dict[str, Any]] = field(default_factory=list)


def mapping_row(spec: LossSpec, config, native, api: str | None = None) -> dict:
    row = {"loss": spec.name, "config_id": R.config_id(spec, config), "params": dict(config)}
    return {**row, **native_fields(native), **({"api": api} if api else {})}


@dataclass
class Run:
    """Everything one framework's conformance items share."""

    framework: str
    adapter: Any  # an adapters.Adapter; received, never imported here
    profile: profiles.Profile
    devices: list[str]
    dtypes: list[str]
    modes: list[str]
    losses: list[str]
    corpus: Any | None
    judge: Judge
    writer: ResultsWriter | None = None
    progress: Progress | None = None
    mapping: dict = field(default_factory=dict)  # (config id, api) -> mapping row
    timer: StageTimer = field(default_factory=StageTimer)
    results_path: Path | None = None
    # item ids listed as known failures (strict xfails): their examples are not shrunk
    known_failures: set[str] = field(default_factory=set)
    # pytest-xdist: on the controller, the workers whose part files it merges at the end
    workers: list[str] = field(default_factory=list)
    # strict: every unexplained non-match fails its item; otherwise only those on ordinary
    # inputs and crashes do, and the rest are findings to triage (listed, not failures)
    strict: bool = True
    findings: list[dict[str, Any]] = field(default_factory=list)
    # --shard i/n: this run holds every n-th item of the whole run, from the i-th on
    shard: tuple[int, int] | None = None

    @classmethod
    def start(
        cls,
        adapter,
        *,
        framework: str | None = None,
        profile: str | None = None,
        device: str = ALL,
        dtype: str = ALL,
        mode: str = ALL,
        loss: str = ALL,
        corpus: str | None = None,
        strict: bool | None = None,
        shard: str | None = None,
        corpus_every: int | str = 1,
        corpus_configs: int | str = 1,
        corpus_pairs: int | str = 1,
        seed: int | str | None = None,
    ) -> Run:
        """A run of ``adapter`` restricted by the ``--device/--dtype/--mode/--loss`` values;
        ``profile`` None means ``$LOSSCONF_PROFILE`` or ci; ``corpus`` a frozen corpus directory;
        ``strict`` None means :func:`strict_default` for the profile; ``shard`` "i/n" one of n
        deterministic shares of the items (None: all); ``corpus_every`` K replays every K-th
        corpus case of each configuration, ``corpus_configs`` K every K-th configuration of each
        loss (at every dtype, device and mode), ``corpus_pairs`` K every K-th (dtype, mode) pair
        of each configuration kept, rotating (:meth:`cases.corpus.Corpus.replays_pair`); ``seed``
        N makes the draws of any profile a function of N and the item alone (no example
        database), as the ci profile's are of 0."""
        try:
            chosen_profile = profiles.get(profile)
        except KeyError as exc:
            raise RunError(f"--profile: {exc.args[0]}") from None
        chosen_seed = parse_seed(seed)
        if chosen_seed is not None:
            chosen_profile = chosen_profile.seeded(chosen_seed)
        loaded = None
        for option, value in (
            ("--corpus-every", corpus_every),
            ("--corpus-configs", corpus_configs),
            ("--corpus-pairs", corpus_pairs),
        ):
            if not corpus and str(value) != "1":
                raise RunError(f"{option} {value}: only with --corpus (it thins a replay)")
        if corpus:
            from . import corpus as corpus_module

            # the shares first: a bad one is refused without loading the corpus (≈ 1.5 s)
            every = parse_every(corpus_every)
            configs_every = parse_every(corpus_configs, "--corpus-configs", "configuration")
            pairs_every = parse_every(corpus_pairs, "--corpus-pairs", "(dtype, mode) pair")
            try:
                loaded = corpus_module.load(corpus)
            except corpus_module.CorpusError as exc:
                raise RunError(f"--corpus {corpus}: {exc}") from None
            loaded.every, loaded.configs_every = every, configs_every
            loaded.pairs_every = pairs_every
        return cls(
            framework=framework or adapter.name,
            adapter=adapter,
            profile=chosen_profile,
            devices=choose(device, adapter.devices(), "device"),
            dtypes=choose(dtype, adapter.dtypes, "dtype"),
            modes=choose(mode, adapter.modes, "mode"),
            losses=choose(loss, R.names(), "loss"),
            corpus=loaded,
            judge=Judge(adapter.divergences(), adapter.version()),
            strict=strict_default(chosen_profile.name) if strict is None else strict,
            shard=parse_shard(shard),
        )

    # --- before the items ---------------------------------------------------------------------

    def identity(self) -> dict[str, str]:
        """Header fields an adapter adds to the run's identity (keras: ``backend`` and
        ``backend_version``); they also name the results file."""
        extra = getattr(self.adapter, "identity", None)
        return dict(extra()) if extra is not None else {}

    def header(self, corpus: str | None, command: str) -> dict[str, Any]:
        """The results file's run header (reports/schema.py)."""
        return {
            "framework": self.framework,
            "framework_version": self.adapter.version(),
            **self.identity(),
            "versions": self.adapter.versions(),
            "lossconf_version": LOSSCONF_VERSION,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "machine": machine(),
            "devices": self.devices,
            "dtypes": self.dtypes,
            "modes": self.modes,
            "profile": self.profile.name,
            "strict": self.strict,
            # None: hypothesis drew at random (and replayed its example database)
            "seed": self.profile.seed if self.profile.derandomize else None,
            "corpus": corpus,
            **self.corpus_share(),
            **self.shape_break_scope(),
            **self.dtype_mode_scope(),
            **self.kernel_assert_scope(),
            "command": command,
            "started": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "shard": None
            if self.shard is None
            else {"index": self.shard[0], "count": self.shard[1]},
        }

    def corpus_share(self) -> dict[str, int]:
        """The header fields of a replay of part of the corpus (``corpus_every``: every K-th case,
        ``corpus_configs``: every K-th configuration, ``corpus_pairs``: every K-th dtype and mode
        pair of each), absent when the whole corpus replays."""
        if self.corpus is None:
            return {}
        share = {
            "corpus_every": self.corpus.every,
            "corpus_configs": self.corpus.configs_every,
            "corpus_pairs": self.corpus.pairs_every,
        }
        return {key: k for key, k in share.items() if k > 1}

    def configs(self, spec) -> list:
        """The configurations of ``spec`` the run's items cover: the profile's, or the share of
        them a corpus replay runs."""
        configs = selection.configs(spec, self.profile)
        return configs if self.corpus is None else self.corpus.configs_of(configs)

    def shape_break_scope(self) -> dict[str, Any]:
        """Where the profile leaves the shape-breaking invalid cases to some dtypes: the header
        field ``shape_breaks`` ({"dtypes", "modes"}), absent when every item runs them."""
        only = self.profile.shape_break_dtypes
        modes = [m for m in self.modes if self.adapter.compiles_per_shape(m)]
        if only is None or not modes or self.corpus is not None:
            return {}
        return {"shape_breaks": {"dtypes": list(only), "modes": modes}}

    def dtype_mode_scope(self) -> dict[str, Any]:
        """Where the profile runs each native form of a configuration at every dtype in one mode
        each (:func:`cases.selection.runs_in_mode`): the header field ``dtype_modes``
        ("alternate"), absent where every dtype runs in every mode (another profile, one mode, a
        corpus replay)."""
        policy = self.dtype_mode_policy()
        if policy == "all" or len(self.modes) < 2:
            return {}
        return {"dtype_modes": policy}

    def kernel_assert_scope(self) -> dict[str, Any]:
        """The devices whose native kernels assert on invalid values (those cases are left out
        there): the header field ``kernel_asserts`` ({"devices", "why"}), absent when none."""
        why = {d: self.adapter.kernel_asserts(d) for d in self.devices}
        devices = [d for d, reason in why.items() if reason]
        if not devices:
            return {}
        return {"kernel_asserts": {"devices": devices, "why": why[devices[0]]}}

    def open_results(
        self, option: str, *, corpus: str | None, command: str, worker: str | None = None
    ) -> Path:
        """Start the results file (``option``: a ``.json`` path or a directory); a ``worker``
        (a pytest-xdist worker id) streams its items into its own part file instead, which the
        controller merges (:meth:`merge_parts`). The results file's path either way."""
        version = "-".join([self.adapter.version(), *self.identity().values()])
        path = results_path(self.framework, version, self.devices, option, self.shard)
        path.parent.mkdir(parents=True, exist_ok=True)
        target = part_path(path, worker) if worker else path
        self.writer = ResultsWriter(target, self.header(corpus, command))
        self.results_path = path
        return path

    def describe(self, corpus: str | None) -> list[str]:
        """The lines a terminal shows before the run."""
        versions = ", ".join(f"{k} {v}" for k, v in self.adapter.versions().items())
        return [
            f"lossconf: framework {self.framework} ({versions})",
            f"lossconf: devices {', '.join(self.devices)}; dtypes {', '.join(self.dtypes)}; "
            f"modes {', '.join(self.modes)}",
            f"lossconf: profile {self.profile.name}, "
            + (
                f"seed {self.profile.seed}, "
                if self.profile.derandomize
                else "random draws (--seed N repeats a run), "
            )
            + f"corpus {corpus or 'none (hypothesis)'}, "
            + ("strict" if self.strict else "not strict (findings outside ordinary inputs listed)"),
        ]

    def items(self) -> list[ItemSpec]:
        """Every item of the run (of its shard, when sharded), in the order they run and are
        recorded."""
        out = []
        registry_order = R.names()
        for loss in self.losses:
            spec = R.get(loss)
            configs = self.configs(spec)
            # each configuration's native forms: the main call (api None), then the alternatives
            forms = [
                {None: self.adapter.mapping(loss, c), **alternatives(self.adapter, loss, c)}
                for c in configs
            ]
            runs = self.dtype_mode_selection(forms, registry_order.index(loss))
            for i, config in enumerate(configs):
                for dtype in self.dtypes:
                    for device in self.devices:
                        for mode in self.modes:
                            item_id = selection.item_id(spec, config, dtype, device, mode)
                            for api in forms[i]:
                                if not runs(i, api, dtype, mode):
                                    continue
                                api_id = f"{item_id}-{api.rsplit('.', 1)[-1]}" if api else item_id
                                out.append(ItemSpec(spec, config, dtype, device, mode, api_id, api))
        return [
            item._replace(index=index)
            for index, item in enumerate(out)
            if in_shard(index, self.shard)
        ]

    def dtype_mode_selection(self, forms: list[dict], loss_number: int = 0):
        """``runs(config_index, api, dtype, mode)``: whether the item of that native form runs,
        by :meth:`dtype_mode_policy` (:func:`cases.selection.runs_in_mode`) and, in a replay of a
        share of the corpus's (dtype, mode) pairs, by :meth:`cases.corpus.Corpus.replays_pair`
        (rotated by ``loss_number``, the loss's place in the registry, and the configuration's
        index: positions that are the same on both sides of an upgrade diff whatever either
        release offers). ``forms``: per configuration of the loss, its native forms (api ->
        Native or NotOffered). Forms are counted among the loss's *offered* ones, so the modes
        alternate along what runs."""
        offered = [
            (i, api)
            for i, natives in enumerate(forms)
            for api, native in natives.items()
            if not isinstance(native, NotOffered)
        ]
        rank = {form: n for n, form in enumerate(offered)}
        policy, dtypes = self.dtype_mode_policy(), list(self.adapter.dtypes)

        def runs(i, api, dtype, mode) -> bool:
            pair = dtypes.index(dtype) * len(self.modes) + self.modes.index(mode)
            if self.corpus is not None and not self.corpus.replays_pair(loss_number + i, pair):
                return False
            return selection.runs_in_mode(
                policy,
                rank.get((i, api)),
                len(offered),
                dtypes.index(dtype),  # the adapter's order: a --dtype run picks the same modes
                self.modes.index(mode),
                len(self.modes),
            )

        return runs

    def dtype_mode_policy(self) -> str:
        """How the items cover dtypes and modes: the profile's ``dtype_modes``; a frozen corpus
        replays at every dtype and mode (its share is ``--corpus-configs``)."""
        return "all" if self.corpus is not None else self.profile.dtype_modes

    def unmatched_known_failures(self, known: dict[str, str], items: list[ItemSpec]) -> list[str]:
        """Known-failure lines naming no item of a whole ci run of their loss (the file is
        written for the ci profile's items, so partial or other runs cannot tell)."""
        ids = {item.id for item in items}
        stale = [i for i in known if i not in ids and i.split("[", 1)[0] in self.losses]
        whole = set(self.dtypes) == set(self.adapter.dtypes) and set(self.modes) == set(
            self.adapter.modes
        )
        return stale if whole and self.profile.name == "ci" else []

    def start_progress(self, stream, total_items: int) -> None:
        self.progress = Progress(stream, total_items=total_items)

    # --- the items ----------------------------------------------------------------------------

    def run_item(self, item: ItemSpec) -> ItemResult:
        """Run every case of one item, write its record; the caller reports the outcome."""
        spec, config = item.spec, item.config
        native = self.native(item)
        self.mapping[R.config_id(spec, config), item.api] = mapping_row(
            spec, config, native, item.api
        )
        if isinstance(native, NotOffered):
            if self.writer:
                record = RecordBuilder.not_offered(
                    spec.name,
                    spec.family,
                    config,
                    R.config_id(spec, config),
                    item.dtype,
                    item.device,
                    item.mode,
                    native,
                )
                self.writer.record({**record, "api": item.api, "item_index": item.index})
            return ItemResult(item, not_offered=native.reason)

        started = time.perf_counter()
        if self.writer:
            self.writer.progress(item.id)
        if self.progress:
            self.progress.start(item.id)
        it = Item(self, spec, config, item.dtype, item.device, item.mode, native, item.id, item.api)
        for case in it.cases():
            it.check(case)
        if self.corpus is None:
            it.explore()

        texts: dict[int, str] = {}

        def text_of(case):
            if id(case) not in texts:
                snippet = (
                    self.adapter.snippet(case, api=item.api)
                    if item.api
                    else self.adapter.snippet(case)
                )
                texts[id(case)] = reproducer(case, self.framework, snippet)
            return texts[id(case)]

        case = it.reproducer_case()
        if case is not None:
            it.builder.set_reproducer(text_of(case))
        for regime, (worst, comparison, _) in it.builder.regime_worst().items():
            if comparison.verdict != "match":
                it.builder.set_regime_reproducer(regime, text_of(worst))
        it.builder.duration_s = time.perf_counter() - started
        record = {**it.builder.to_dict(), "api": item.api, "item_index": item.index}
        self.timer.items.append((it.builder.duration_s, record["examples"]))
        if self.writer:
            self.writer.record(record)
        if self.progress:
            self.progress.update(item.id, record["examples"], record["verdicts"])
            self.progress.finish(item.id, record["verdict"])

        result = ItemResult(item, record=record, unexpected=len(it.unexpected))
        if it.failing:
            case, comparison = it.failing[-1]
            result.failure = (
                f"{len(it.failing)} unexpected result(s); the smallest ({case.label}, "
                f"{regime_of(case)} inputs): {comparison.detail}\n\n"
                f"reproducer:\n{record['reproducer']}"
            )
        result.findings = [
            {
                "item": item.id,
                "regime": regime,
                "count": count,
                "signatures": record["regimes"][regime]["signatures"],
                "detail": record["regimes"][regime]["worst"]["detail"],
                "reproducer": record["regimes"][regime]["reproducer"],
            }
            for regime, count in it.builder.triage_by_regime().items()
            if count and not it.strict
        ]
        self.findings += result.findings
        return result

    def native(self, item: ItemSpec):
        """The Native (or NotOffered) an item runs: ``mapping``'s, or the alternative named by
        its ``api``."""
        if item.api is None:
            return self.adapter.mapping(item.spec.name, item.config)
        return alternatives(self.adapter, item.spec.name, item.config)[item.api]

    def _registered(self, case) -> bool:
        """Whether a registry entry about values or errors applies to ``case`` (not counted)."""
        entries = self.judge.entries
        return any(
            "value" in entries[i].affects or "error" in entries[i].affects
            for i in self.judge.applicable(case)
        )

    def oracle_losses(self, oracle) -> list[str]:
        """The run's losses with a configuration ``oracle`` applies to (offered or not)."""
        return [
            loss
            for loss in self.losses
            if any(oracle.applies(R.get(loss), config) for config in self.configs(R.get(loss)))
        ]

    def check_oracle(self, oracle, losses: Iterable[str] | None = None) -> tuple[int, list[str]]:
        """An identity that needs no reference (γ=0 focal is BCE, masking is slicing, …), float64
        eager, over every configuration of the run (of ``losses``, when given) it applies to:
        (configurations tried, the violations found)."""
        problems, tried = [], 0
        for loss in self.losses if losses is None else losses:
            spec = R.get(loss)
            for config in self.configs(spec):
                if not oracle.applies(spec, config):
                    continue
                # seeded per configuration: adding a loss does not change another loss's draws
                rng = np.random.default_rng(zlib.crc32(R.config_id(spec, config).encode()))
                case_a, case_b, relation = oracle.build(spec, config, rng)
                if any(
                    isinstance(self.adapter.mapping(c.loss, R.config_of(c)), NotOffered)
                    for c in (case_a, case_b)
                ):
                    continue
                if any(self._registered(c) for c in (case_a, case_b)):
                    continue  # a known divergence (e.g. Keras' per-sample `none`) explains it
                tried += 1
                out_a, out_b = self.adapter.run(case_a), self.adapter.run(case_b)
                terms = tolerance.scales(
                    case_b.loss, case_b.rounded(), case_b.params, case_b.rounded_cotangent()
                ).value
                problem = relation.violation(out_a, out_b, value_terms=float(np.max(terms)))
                if problem:
                    problems.append(f"{R.config_id(spec, config)}: {problem}")
        return tried, problems

    # --- after the items ----------------------------------------------------------------------

    def registry_counts(self) -> dict[str, list[int]]:
        """Per registry entry, the examples it applied to and those it explained (plain data, so
        that a run split over processes, e.g. pytest-xdist workers, can be judged as one)."""
        return {"applied": list(self.judge.applied), "diverged": list(self.judge.diverged)}

    def add_registry_counts(self, counts: dict[str, list[int]]) -> None:
        for name in ("applied", "diverged"):
            totals = getattr(self.judge, name)
            for i, n in enumerate(counts[name]):
                totals[i] += n

    def worker_output(self) -> dict[str, Any]:
        """What a pytest-xdist worker hands its controller: registry counts and timings."""
        timer = {"stages": self.timer.samples, "items": self.timer.items}
        return {**self.registry_counts(), "timer": timer, "findings": self.findings}

    def add_worker_output(self, output: dict[str, Any]) -> None:
        self.add_registry_counts(output)
        for stage, samples in output["timer"]["stages"].items():
            self.timer.samples[stage] += samples
        self.timer.items += [tuple(pair) for pair in output["timer"]["items"]]
        self.findings += output.get("findings", [])

    def example_reproduces(self, entry) -> bool:
        """Whether the framework still differs from the reference on the entry's own example, in
        a part the entry affects (the check tests/adapters/test_registry.py makes)."""
        case = entry.example.case(entry.loss)
        api = entry.example.api
        if not entry.applies(case, self.adapter.version(), api):
            return False
        outcome = self.adapter.run(case, api=api) if api else self.adapter.run(case)
        comparison = compare(case, expected(case), outcome)
        return any(explains(entry, comparison, part) for part in comparison.failed_parts)

    def stale_message(self) -> str | None:
        """After the items, in whatever order they ran: the registry entries that applied to
        examples which all agreed with the reference and whose own example no longer shows the
        divergence either (they no longer reproduce), or None.

        An entry that applied without diverging but still reproduces on its example is
        *imprecise* on this run's inputs (its predicate reaches further than the behaviour): it
        is listed in the results file's registry, and does not fail the run. Entries without an
        example are judged on the run's examples alone."""
        for entry in self.judge.candidates_for_staleness():
            if entry.example is not None:
                self.judge.example_reproduces[entry.id] = self.example_reproduces(entry)
        stale = self.judge.stale()
        if not stale:
            return None
        return "stale registry entries (they no longer reproduce): " + ", ".join(
            f"{e['id']} ({e.get('applied', '?')} examples, none diverged)" for e in stale
        )

    def merge_parts(self) -> list[str]:
        """Controller of a run split over workers: write the records of every worker's part file
        into this run's results file, in the order a serial run records them, rebuild the mapping
        the same way, and remove the parts. The ids of items a worker was running when it died
        (its part ends at their progress line, without their record)."""
        order = {}
        for index, item in enumerate(self.items()):
            key = (item.spec.name, R.config_id(item.spec, item.config), *item[2:5], item.api or "")
            order[key] = (index, item)
        ids = {item.id: key for key, (_, item) in order.items()}
        records, in_flight, parts = [], [], [part_path(self.results_path, w) for w in self.workers]
        for part in parts:
            if not part.exists():  # the worker died before it opened its part
                continue
            found = read_document(part)
            records += found["records"]
            keys = {record_key(r) for r in found["records"]}
            stopped = found["run"].get("stopped_at")
            if not found["run"].get("finished") and stopped and ids.get(stopped) not in keys:
                in_flight.append(stopped)
        records.sort(key=lambda r: order.get(record_key(r), (len(order), None))[0])
        for record in records:
            self.writer.record(record)
            _, item = order.get(record_key(record), (None, None))
            if item is not None:
                self.mapping[R.config_id(item.spec, item.config), item.api] = mapping_row(
                    item.spec, item.config, self.native(item), item.api
                )
        for part in parts:
            part.unlink(missing_ok=True)
        return in_flight

    def finish(
        self, *, items: int, timings: str | None = None, stopped_at: str | None = None
    ) -> Path | None:
        """Write the timings file (if asked) and complete the results file; its path, if any.
        ``stopped_at`` (the items a dead worker was running) leaves the file unfinished, saying
        where it stopped, as a killed serial run does."""
        if timings:
            self.timer.write(
                timings,
                {
                    "framework": self.framework,
                    "version": self.adapter.version(),
                    "profile": self.profile.name,
                    "items": items,
                },
            )
        if self.writer is None:
            return None
        self.writer.mapping(list(self.mapping.values()))
        self.writer.registry(self.judge.registry_status())
        if stopped_at:
            self.writer.stop(stopped_at)
        else:
            self.writer.close()
        return self.results_path


def part_path(path: Path, worker: str) -> Path:
    """Where pytest-xdist worker ``worker`` streams its share of the results file ``path``."""
    return path.with_name(f"{path.name}.{worker}.partial")


class _Unexpected(AssertionError):
    """Raised inside the hypothesis loop so that hypothesis shrinks to the smallest failing input."""


@contextlib.contextmanager
def shrink_budget(seconds: float):
    """Hypothesis stops shrinking after ``MAX_SHRINKING_SECONDS`` (300 s in its engine, per
    failing test); the profile's budget replaces that while one item explores. Private API of the
    pinned release, hence the guard: without it, hypothesis' own limit applies."""
    try:
        from hypothesis.internal.conjecture import engine
    except ImportError:  # pragma: no cover
        yield
        return
    try:
        before = engine.MAX_SHRINKING_SECONDS
    except AttributeError:  # pragma: no cover
        before = None
    if before is None or seconds <= 0:
        yield
        return
    engine.MAX_SHRINKING_SECONDS = seconds
    try:
        yield
    finally:
        engine.MAX_SHRINKING_SECONDS = before


class Item:
    """One loss × configuration × dtype × device × mode: runs cases and keeps the record."""

    def __init__(
        self, run: Run, spec, config, dtype, device, mode, native, item_id: str = "", api=None
    ):
        self.run, self.spec, self.config, self.item_id = run, spec, config, item_id
        self.api = api
        self.dtype, self.device, self.mode = dtype, device, mode
        self.builder = RecordBuilder(
            spec.name, spec.family, config, R.config_id(spec, config), dtype, device, mode, native
        )
        self.unexpected: list = []  # (case, comparison), in the order seen
        # those of them that fail the item: all of them in a strict run (and for an item listed
        # as a known failure, a strict xfail); otherwise ordinary inputs' and crashes
        self.failing: list = []
        self.strict = run.strict or item_id in run.known_failures
        self.last_failed = False  # whether the latest checked example failed the item

    def check(self, case: R.Case, generated_in: float = 0.0):
        """Run one case through reference, framework, comparison, registry and record.

        The time of each stage goes to the run's stage timer (the benchmark reads it).
        """
        clock = time.perf_counter
        t0 = clock()
        case = dataclasses.replace(case, dtype=self.dtype, device=self.device, mode=self.mode)
        exp = expected(case)
        t1 = clock()
        adapter = self.run.adapter
        outcome = adapter.run(case, api=self.api) if self.api else adapter.run(case)
        t2 = clock()
        comparison = compare(case, exp, outcome)
        judgement = self.run.judge.judge(case, comparison, outcome, exp, api=self.api)
        t3 = clock()
        self.builder.add(case, comparison, judgement)
        self.last_failed = False
        if judgement.unexpected:
            self.unexpected.append((case, comparison))
            if self.strict or fails_non_strict(regime_of(case), judgement.verdict):
                self.failing.append((case, comparison))
                self.last_failed = True
        t4 = clock()
        self.run.timer.add(
            generate=generated_in,
            reference=t1 - t0,
            native=outcome.seconds,
            compile=outcome.compile_seconds,
            adapter=(t2 - t1) - outcome.seconds - outcome.compile_seconds,
            compare=t3 - t2,
            record=t4 - t3,
        )
        return comparison, judgement

    def explore(self):
        """Hypothesis-drawn cases, steered toward the largest error with ``target``."""

        profile = self.run.profile
        compiled = self.run.adapter.compiles_per_shape(self.mode)

        shrink = profile.shrink_seconds > 0 and self.item_id not in self.run.known_failures
        phases = tuple(p for p in Phase if shrink or p is not Phase.shrink)

        drawn_in: list[float] = []  # the seconds the latest case took to draw

        @settings(
            parent=settings.get_profile(profile.settings_name),
            suppress_health_check=list(HealthCheck),
            deadline=None,
            phases=phases,
            **profile.draws_settings(),
        )
        @given(
            case=strategies.case_strategy(
                self.spec,
                self.config,
                self.dtype,
                self.device,
                self.mode,
                profile,
                compiled,
                drawn_in=lambda seconds: drawn_in.append(seconds),
            )
        )
        def explore(case):
            seconds = drawn_in[-1] if drawn_in else 0.0
            drawn_in.clear()
            comparison, _ = self.check(case, seconds)
            for label, err in (
                ("value ULP", comparison.value_ulp),
                ("grad ULP", comparison.grad_ulp),
            ):
                if err is not None and np.isfinite(err):
                    target(float(err), label=label)
            if self.last_failed:
                raise _Unexpected(comparison.detail)

        if profile.derandomize:
            # Derandomised hypothesis seeds from the test function's source text, so any edit of
            # this method would draw other cases; an explicit seed per item keeps the ci draws
            # a function of the profile's seed and the item alone.
            explore = seed(
                zlib.crc32(
                    f"{profile.seed}:{self.builder.config_id}:{self.dtype}:{self.mode}".encode()
                )
            )(explore)
        try:
            with shrink_budget(profile.shrink_seconds):
                explore()
        except _Unexpected:
            pass  # recorded; the last unexpected example is the smallest hypothesis found

    def cases(self):
        """Edge and invalid cases, then drawn ones; with a corpus, exactly the corpus (which
        already holds the edge and invalid cases it was frozen with). The profile may leave the
        shape-breaking invalid cases of a shape-compiling mode to one dtype; a device whose
        kernels assert on invalid values (``Adapter.kernel_asserts``) gets no invalid values."""
        yield from self._runnable_here(self._fixed_cases())

    def _fixed_cases(self):
        if self.run.corpus is not None:
            yield from self.run.corpus.cases_for(self.spec, self.config)
            return
        yield from edges.edge_cases(self.spec, self.config, self.dtype)
        compiled = self.run.adapter.compiles_per_shape(self.mode)
        shape_breaks = self.run.profile.runs_shape_breaks(self.dtype, compiled)
        for case in invalid.invalid_cases(self.spec, self.config, self.dtype):
            if shape_breaks or not invalid.changes_shape(case):
                yield case

    def _runnable_here(self, cases):
        """``cases`` less the invalid values where the device's kernels assert on them (the
        assertion would end the device's context for the rest of the process), counted."""
        if self.run.adapter.kernel_asserts(self.device) is None:
            yield from cases
            return
        for case in cases:
            if invalid.breaks_a_value(self.spec, case):
                self.builder.not_run += 1
            else:
                yield case

    def reproducer_case(self) -> R.Case | None:
        """The smallest example that fails the item, else the smallest unexpected one, else the
        worst known divergence."""
        if self.failing:
            return self.failing[-1][0]
        if self.unexpected:
            return self.unexpected[-1][0]
        worst = self.builder.worst
        if worst is not None and worst[2].verdict != "match":
            return worst[0]
        return None
