"""What the HTML report shows, computed from results files: runs, matrix, mapping, summaries.

The templates only lay this out; every decision about order, grouping and what counts as a
failure is made here, where it can be tested without parsing HTML.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .schema import REGIMES, Results, predates_regimes, run_label, with_regime_defaults
from .verdicts import FAILING, VERDICTS

DTYPE_ORDER = ("float64", "float32", "float16", "bfloat16")
DTYPE_SHORT = {"float64": "f64", "float32": "f32", "float16": "f16", "bfloat16": "bf16"}
MODE_ORDER = ("eager", "jit")
DEVICE_ORDER = ("cpu",)
# One letter per regime for the matrix cells' small counts (the ordinary one is the cell's mark).
REGIME_LETTERS = {
    "ordinary": "O",
    "boundary": "B",
    "kink": "K",
    "range": "R",
    "special": "S",
    "invalid": "I",
}


def natural_key(text: str) -> tuple:
    """Sort key that puts "2.9" before "2.13"."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def order_key(value: str, order: tuple[str, ...]) -> tuple:
    """Sort key placing the values of ``order`` first, in that order, then the rest by name."""
    return (order.index(value), "") if value in order else (len(order), value)


@dataclass(eq=False)  # identity: columns and cells hash their run
class Run:
    """One results file, with the label and index the page refers to it by."""

    index: int
    label: str
    results: Results

    @property
    def info(self) -> dict[str, Any]:
        return self.results.run

    @property
    def finished(self) -> bool:
        return self.results.finished

    @property
    def file_name(self) -> str:
        return Path(self.results.path).name

    @property
    def predates_regimes(self) -> bool:
        """A results file of format 1: its records carry no per-regime verdicts."""
        return predates_regimes(self.results)

    def _listed_or_recorded(self, key: str, field_name: str, order: tuple[str, ...]) -> list[str]:
        # A run header may leave a list empty; the records still say what was tested.
        listed = self.info.get(key) or {record[field_name] for record in self.results.records}
        return sorted(listed, key=lambda value: order_key(value, order))

    @property
    def devices(self) -> list[str]:
        return self._listed_or_recorded("devices", "device", DEVICE_ORDER)

    @property
    def dtypes(self) -> list[str]:
        return self._listed_or_recorded("dtypes", "dtype", DTYPE_ORDER)

    @property
    def modes(self) -> list[str]:
        return self._listed_or_recorded("modes", "mode", MODE_ORDER)

    @property
    def duration(self) -> str | None:
        """Wall time from start to finish, e.g. "1 h 02 min" or "3 min 05 s"."""
        try:
            started = datetime.fromisoformat(self.info["started"].replace("Z", "+00:00"))
            finished = datetime.fromisoformat(self.info["finished"].replace("Z", "+00:00"))
        except (AttributeError, TypeError, ValueError):
            return None
        minutes, seconds = divmod(int((finished - started).total_seconds()), 60)
        hours, minutes = divmod(minutes, 60)
        if hours:
            return f"{hours} h {minutes:02d} min"
        return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


@dataclass(frozen=True)
class Column:
    run: Run
    device: str
    dtype: str
    mode: str
    starts_run: bool = False  # the first column of its run, drawn with a heavier rule
    api: str | None = None  # the native API when the run offers several for a configuration

    @property
    def where(self) -> str:
        api = f"{self.api} · " if self.api else ""
        return f"{api}{self.device} · {self.dtype} · {self.mode}"


@dataclass(frozen=True)
class RegimeMark:
    """A small count in a matrix cell: the behaviours found in one non-ordinary regime."""

    regime: str
    findings: int  # distinct behaviours: registry entries that explained examples + signatures
    examples: int  # non-matching examples
    unexplained: int  # of which no registry entry explains

    @property
    def letter(self) -> str:
        return REGIME_LETTERS.get(self.regime, self.regime[:1].upper())


@dataclass
class Cell:
    """One record placed in the matrix; ``anchor`` is the id of its drill-down."""

    record: dict[str, Any]
    column: Column
    anchor: str

    @property
    def verdict(self) -> str:
        return self.record["verdict"]

    @property
    def has_regimes(self) -> bool:
        return bool(self.record["regimes"])

    @property
    def headline(self) -> str:
        """The cell's mark: the verdict over ordinary inputs (a /1 record: its overall verdict);
        "none" where the record had examples but no ordinary one."""
        if not self.has_regimes:
            return self.verdict
        return self.record["regime_headline"] or "none"

    @property
    def failing(self) -> bool:
        """This record fails the run (an unexplained divergence on ordinary inputs or a crash)."""
        return bool(self.record["failing"])

    @property
    def triage(self) -> int:
        return int(self.record["triage"] or 0)

    @property
    def known_failure(self) -> bool:
        """A failing verdict the registry expects (a known bug): marked, but not a run failure."""
        return bool(self.record["known"]) and self.headline in FAILING and not self.failing

    @property
    def headline_worst(self) -> dict[str, Any]:
        """The worst example behind the mark: the ordinary regime's, else the record's."""
        if self.has_regimes:
            return (self.record["regimes"].get("ordinary") or {}).get("worst") or {}
        return self.record["worst"] or {}

    @property
    def value_ulp(self) -> float | None:
        return self.headline_worst.get("value_ulp")

    @property
    def grad_ulp(self) -> float | None:
        return self.headline_worst.get("grad_ulp")

    @property
    def regime_marks(self) -> list[RegimeMark]:
        """Per non-ordinary regime with a non-matching example: how many behaviours, in order."""
        marks = []
        for name in REGIMES:
            part = self.record["regimes"].get(name)
            if name == "ordinary" or not part:
                continue
            verdicts = part.get("verdicts") or {}
            examples = sum(n for v, n in verdicts.items() if v != "match")
            if not examples:
                continue
            behaviours = len(part.get("explained_by") or {}) + len(part.get("signatures") or {})
            marks.append(
                RegimeMark(name, max(behaviours, 1), examples, int(part.get("unexpected") or 0))
            )
        return marks


@dataclass
class Row:
    loss: str
    config_id: str
    family: str | None
    cells: list[Cell | None]

    @property
    def failing(self) -> bool:
        return any(cell and (cell.headline in FAILING or cell.failing) for cell in self.cells)

    @property
    def variant(self) -> str:
        """The configuration part of the config id: "[weight,mean]" of "mse_loss[weight,mean]"."""
        return self.config_id.removeprefix(self.loss)


@dataclass(frozen=True)
class HeaderGroup:
    """One cell of a grouped matrix header row: a label spanning ``span`` columns."""

    label: str
    span: int
    run: Run
    first: bool  # starts a run's block of columns, drawn with a heavier rule


@dataclass
class MappingRow:
    loss: str
    config_id: str
    by_framework: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)

    @property
    def variant(self) -> str:
        return self.config_id.removeprefix(self.loss)


@dataclass
class Report:
    runs: list[Run]
    columns: list[Column]
    header_rows: list[list[HeaderGroup]]
    rows: list[Row]
    frameworks: list[str]
    mapping: list[MappingRow]
    failures: list[Cell]
    stale: list[tuple[Run, dict[str, Any]]]
    verdict_totals: dict[str, int]
    findings: list[Finding] = field(default_factory=list)

    @property
    def cells(self) -> list[Cell]:
        return [cell for row in self.rows for cell in row.cells if cell]

    @property
    def finding_counts(self) -> list[tuple[str, int]]:
        """(rank name, findings) for every rank, in rank order."""
        counts = Counter(finding.rank for finding in self.findings)
        return [(name, counts.get(rank, 0)) for rank, name in enumerate(RANKS)]

    @property
    def run_counts(self) -> list[tuple[Run, Counter[str]]]:
        """Per run: cells per mark, records that fail the run, examples to triage, records."""
        counts = {run.index: Counter() for run in self.runs}
        for cell in self.cells:
            tally = counts[cell.column.run.index]
            tally[cell.headline] += 1
            tally["failing"] += cell.failing
            tally["triage"] += cell.triage
            tally["records"] += 1
        return [(run, counts[run.index]) for run in self.runs]

    @property
    def predating_runs(self) -> list[Run]:
        """Runs whose files predate input regimes (format 1)."""
        return [run for run in self.runs if run.predates_regimes]


def label_runs(results: list[Results]) -> list[Run]:
    """Runs in framework then version order, each labelled "framework version" (a keras run
    also by its backend, "keras 3.15.1 · jax 0.10.2"), made unique. Records read through the
    format-2 defaults, so a /1 file looks like one without regimes."""
    ordered = sorted(
        results,
        key=lambda r: (
            r.run["framework"],
            natural_key(str(r.run["framework_version"])),
            str(r.run.get("backend") or ""),
        ),
    )
    for result in ordered:
        for record in result.records:
            with_regime_defaults(record)
    labels = [run_label(result) for result in ordered]
    seen: Counter[str] = Counter(labels)
    taken: Counter[str] = Counter()
    runs = []
    for index, (result, label) in enumerate(zip(ordered, labels, strict=True)):
        if seen[label] > 1:
            taken[label] += 1
            label = f"{label} #{taken[label]}"
        runs.append(Run(index, label, result))
    return runs


def _column_key(record: dict[str, Any]) -> tuple:
    return (record["api"] or "", record["device"], record["dtype"], record["mode"])


def build_columns(runs: list[Run]) -> list[Column]:
    columns = []
    for run in runs:
        keys = {_column_key(record) for record in run.results.records}
        ordered = sorted(
            keys,
            key=lambda k: (
                k[0],  # the run's one (or default) API first: its name is ""
                order_key(k[1], DEVICE_ORDER),
                order_key(k[2], DTYPE_ORDER),
                order_key(k[3], MODE_ORDER),
            ),
        )
        columns.extend(
            Column(run, device, dtype, mode, starts_run=position == 0, api=api or None)
            for position, (api, device, dtype, mode) in enumerate(ordered)
        )
    return columns


def build_header_rows(columns: list[Column]) -> list[list[HeaderGroup]]:
    """Grouped header rows: run, then the API (only where some run offers several), device,
    dtype; the mode row is one cell per column."""
    levels: list = [lambda c: (c.run.index,)]
    labels: list = [lambda c: c.run.label]
    if any(column.api for column in columns):
        levels.append(lambda c: (c.run.index, c.api))
        labels.append(lambda c: c.api or "default API")
    levels += [
        lambda c: (c.run.index, c.api, c.device),
        lambda c: (c.run.index, c.api, c.device, c.dtype),
    ]
    labels += [lambda c: c.device, lambda c: DTYPE_SHORT.get(c.dtype, c.dtype)]
    rows = []
    for key, label in zip(levels, labels, strict=True):
        groups: list[HeaderGroup] = []
        previous = None
        for column in columns:
            if key(column) == previous:
                last = groups[-1]
                groups[-1] = HeaderGroup(last.label, last.span + 1, last.run, last.first)
            else:
                groups.append(HeaderGroup(label(column), 1, column.run, column.starts_run))
            previous = key(column)
        rows.append(groups)
    return rows


def build_rows(columns: list[Column]) -> list[Row]:
    """One row per (loss, config_id); failing rows first, then by family, loss and config."""
    position = {
        (column.run.index, column.api or "", column.device, column.dtype, column.mode): index
        for index, column in enumerate(columns)
    }
    rows: dict[tuple[str, str], Row] = {}
    for run in dict.fromkeys(column.run for column in columns):
        for record in run.results.records:
            index = position[(run.index, *_column_key(record))]
            row = rows.get((record["loss"], record["config_id"]))
            if row is None:
                row = rows[(record["loss"], record["config_id"])] = Row(
                    record["loss"], record["config_id"], record["family"], [None] * len(columns)
                )
            row.family = row.family or record["family"]
            row.cells[index] = Cell(record, columns[index], "")
    ordered = sorted(
        rows.values(),
        key=lambda r: (not r.failing, r.family or "~", r.loss, natural_key(r.config_id)),
    )
    _assign_anchors(ordered)
    return ordered


def _assign_anchors(rows: list[Row]) -> None:
    for row_index, row in enumerate(rows):
        for column_index, cell in enumerate(row.cells):
            if cell:
                cell.anchor = f"d{row_index}-{column_index}"


def failures(rows: list[Row]) -> list[Cell]:
    """Failing cells: unexpected ones first, then by verdict order (mismatch first)."""
    cells = [cell for row in rows for cell in row.cells if cell and cell.verdict in FAILING]
    return sorted(
        cells,
        key=lambda c: (not c.record["unexpected"], VERDICTS.index(c.verdict), c.column.run.index),
    )


# ---------------------------------------------------------------------------------------------
# Findings: one row per distinct behaviour (issue 11), computed from the records


# What each kind of difference (the second half of a signature "<part>|<kind>") means.
DIFFERENCE_KINDS = {
    "beyond-tolerance": "beyond tolerance",
    "nan-where-finite": "NaN where the reference is finite",
    "inf-where-finite": "±inf where the reference is finite",
    "finite-where-nonfinite": "a number where the reference is NaN or ±inf",
    "nonfinite-differs": "NaN or ±inf other than the reference's",
    "shape": "shape differs from the reference's",
    "dtype": "dtype differs from the inputs' dtype",
    "accepted-invalid": "a number where the reference rejects the input",
    "raised-on-valid": "raised on valid input",
}

# Finding ranks, most important first, and how each is named on the page.
RANKS = (
    "unexplained on ordinary inputs",
    "crash",
    "unexplained: to triage",
    "known bug",
    "convention",
)


def describe_signature(signature: str) -> str:
    """ "grad:input|nan-where-finite" → "gradient of input: NaN where the reference is finite"."""
    part, _, kind = signature.partition("|")
    if part.startswith("grad:"):
        part = f"gradient of {part.removeprefix('grad:')}"
    elif part == "error":
        part = "behaviour"
    return f"{part}: {DIFFERENCE_KINDS.get(kind, kind)}"


def _error_size(worst: dict[str, Any] | None) -> float:
    """How bad a worst example is, for choosing among them: its largest error (NaN counts as
    infinite, no error measured as -1)."""
    sizes = []
    for key in ("value_ulp", "grad_ulp"):
        value = (worst or {}).get(key)
        if isinstance(value, (int, float)):
            sizes.append(math.inf if math.isnan(value) else float(value))
    return max(sizes, default=-1.0)


def behaviour_of(entry_id: str) -> str:
    """The behaviour a registry entry names, without its loss: ids are ``loss/behaviour``, and
    one framework's entries of the same behaviour and kind on several losses (Keras' per-sample
    ``none`` on thirteen in the ci runs) are one finding."""
    return entry_id.split("/", 1)[-1]


@dataclass
class Finding:
    """One distinct behaviour: the registry entries of one behaviour (``loss/behaviour`` ids,
    one per loss) that explained examples, or an unexplained signature (framework × loss ×
    regime × part|kind), with where it shows."""

    key: tuple
    kind: str  # "unexplained", "known-bug" or "convention"
    framework: str
    title: str
    loss: str | None = None
    entry: dict[str, Any] = field(default_factory=dict)  # the first registry entry (description…)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)  # every one, by id
    losses: set[str] = field(default_factory=set)
    signature: str | None = None
    examples: int = 0
    crash: bool = False
    regimes: Counter[str] = field(default_factory=Counter)  # regime (None: predates) → examples
    runs: dict[str, None] = field(default_factory=dict)  # ordered sets
    dtypes: set[str] = field(default_factory=set)
    modes: set[str] = field(default_factory=set)
    configs: set[str] = field(default_factory=set)
    apis: set[str] = field(default_factory=set)
    worst_cell: Cell | None = None
    worst_regime: str | None = None
    worst: dict[str, Any] | None = None
    _worst_key: tuple = (-1, -2.0)
    anchor: str = ""

    @property
    def rank(self) -> int:
        if self.kind == "unexplained":
            # a /1 file's unexplained record failed its run: it ranks with ordinary inputs
            if not self.regimes.keys() - {"ordinary", None}:
                return 0
            return 1 if self.crash else 2
        if self.crash:
            return 1
        return 3 if self.kind == "known-bug" else 4

    @property
    def rank_name(self) -> str:
        return RANKS[self.rank]

    @property
    def regime_list(self) -> list[tuple[str, int]]:
        """(regime, examples) in display order; a /1 file's examples under "all inputs"."""
        ordered = [(name, self.regimes[name]) for name in REGIMES if self.regimes.get(name)]
        ordered += [(str(name), n) for name, n in self.regimes.items() if name not in REGIMES]
        return [("all inputs" if name == "None" else name, n) for name, n in ordered]

    @property
    def ordered_dtypes(self) -> list[str]:
        return sorted(self.dtypes, key=lambda d: order_key(d, DTYPE_ORDER))

    @property
    def ordered_modes(self) -> list[str]:
        return sorted(self.modes, key=lambda m: order_key(m, MODE_ORDER))

    @property
    def ordered_configs(self) -> list[str]:
        return sorted(self.configs, key=natural_key)

    @property
    def ordered_losses(self) -> list[str]:
        return sorted(self.losses, key=natural_key)

    @property
    def ordered_entries(self) -> list[dict[str, Any]]:
        """The registry entries of the behaviour, by loss."""
        return [self.entries[i] for i in sorted(self.entries, key=natural_key)]

    @property
    def reproducer(self) -> str | None:
        if self.worst_cell is None:
            return None
        record = self.worst_cell.record
        if self.worst_regime and self.worst_regime in record["regimes"]:
            return record["regimes"][self.worst_regime].get("reproducer")
        return record["reproducer"]

    @property
    def citation(self) -> str | None:
        return self.entry.get("citation")

    def add(self, cell: Cell, regime: str | None, count: int, worst: dict | None, own: bool):
        """Count ``count`` examples of ``cell`` (in ``regime``); ``worst`` is that regime's
        worst example, ``own`` whether it is an example of this very behaviour."""
        self.examples += count
        self.regimes[regime] += count
        self.runs[cell.column.run.label] = None
        self.losses.add(cell.record["loss"])
        self.dtypes.add(cell.record["dtype"])
        self.modes.add(cell.record["mode"])
        self.configs.add(cell.record["config_id"])
        if cell.column.api:
            self.apis.add(cell.column.api)
        key = (int(own), _error_size(worst))
        if worst is not None and key > self._worst_key:
            self._worst_key = key
            self.worst_cell, self.worst_regime, self.worst = cell, regime, worst


def _nonfinite(value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(isinstance(v, float) and not math.isfinite(v) for v in values)


def v1_signature(record: dict[str, Any]) -> str:
    """The signature of a /1 record's worst example, worked out from its verdict and numbers."""
    worst = record["worst"] or {}
    verdict = record["verdict"]
    if verdict == "crash":
        return "error|raised-on-valid"
    if verdict == "error-mismatch":
        return "error|accepted-invalid"
    part = worst.get("part") or "value"
    if part == "shape":
        return "value|shape"
    expected, got = worst.get("expected"), worst.get("got")
    values = got if isinstance(got, list) else [got]
    if _nonfinite(expected) and _nonfinite(got):
        kind = "nonfinite-differs"
    elif _nonfinite(expected):
        kind = "finite-where-nonfinite"
    elif any(isinstance(v, float) and math.isnan(v) for v in values):
        kind = "nan-where-finite"
    elif _nonfinite(got):
        kind = "inf-where-finite"
    else:
        kind = "beyond-tolerance"
    return f"{part}|{kind}"


def _entry_kind(entry: dict[str, Any]) -> str:
    return "convention" if entry.get("kind") == "convention" else "known-bug"


def build_findings(runs: list[Run], rows: list[Row]) -> list[Finding]:
    """Every distinct behaviour of the runs, most important first (see RANKS)."""
    registries = {run.index: {entry["id"]: entry for entry in run.results.registry} for run in runs}
    found: dict[tuple, Finding] = {}

    def entry_finding(run: Run, entry_id: str, fallback: dict | None) -> Finding:
        framework = run.info["framework"]
        entry = registries[run.index].get(entry_id) or fallback or {"id": entry_id}
        kind = _entry_kind(entry)
        key = ("entry", framework, behaviour_of(entry_id), kind)
        if key not in found:
            found[key] = Finding(key, kind, framework, entry_id, entry.get("loss"), dict(entry))
        finding = found[key]
        finding.entries.setdefault(entry_id, {"id": entry_id, **entry})
        return finding

    def signature_finding(run: Run, loss: str, regime: str | None, signature: str) -> Finding:
        framework = run.info["framework"]
        key = ("signature", framework, loss, regime, signature)
        if key not in found:
            where = f" · {regime}" if regime else ""
            title = f"{loss}{where} · {describe_signature(signature)}"
            found[key] = Finding(key, "unexplained", framework, title, loss, signature=signature)
        return found[key]

    for row in rows:
        for cell in row.cells:
            if cell is None:
                continue
            run, record = cell.column.run, cell.record
            if not cell.has_regimes:
                _add_v1(cell, entry_finding, signature_finding)
                continue
            for regime, part in record["regimes"].items():
                worst = part.get("worst") or {}
                explained = part.get("explained_by") or {}
                for entry_id, count in explained.items():
                    finding = entry_finding(run, entry_id, record["divergence"])
                    own = worst.get("divergence_id") == entry_id
                    finding.add(cell, regime, count, worst, own)
                    if (part.get("verdicts") or {}).get("crash") and (own or len(explained) == 1):
                        finding.crash = True
                for signature, count in (part.get("signatures") or {}).items():
                    finding = signature_finding(run, record["loss"], regime, signature)
                    finding.add(cell, regime, count, worst, worst.get("signature") == signature)
                    finding.crash |= signature.endswith("|raised-on-valid")
    _add_v1_registry(runs, found, entry_finding)
    for finding in found.values():
        _title_group(finding)
    ordered = sorted(
        found.values(),
        key=lambda f: (f.rank, -f._worst_key[1] if f.rank < 3 else 0, -f.examples, f.title),
    )
    for index, finding in enumerate(ordered):
        finding.anchor = f"f{index}"
    return ordered


def _title_group(finding: Finding) -> None:
    """An entry finding of one registry entry keeps its id as title; one of several entries (one
    behaviour on several losses) is titled by the behaviour, and shows the first entry (by loss)
    as its description."""
    if len(finding.entries) < 2:
        return
    first = finding.ordered_entries[0]
    finding.title = f"{behaviour_of(first['id'])} · {len(finding.entries)} losses"
    finding.entry, finding.loss = dict(first), None


def _add_v1(cell: Cell, entry_finding, signature_finding) -> None:
    """A /1 record: its worst example's registry entry, or its unexplained failure."""
    record, run = cell.record, cell.column.run
    non_matching = sum(
        n for v, n in record["verdicts"].items() if v not in ("match", "not-offered")
    )
    if record["divergence"] and record["divergence"].get("id"):
        finding = entry_finding(run, record["divergence"]["id"], record["divergence"])
        finding.add(cell, None, non_matching, record["worst"], True)
        finding.crash |= record["verdict"] == "crash"
    elif record["verdict"] in FAILING:
        finding = signature_finding(run, record["loss"], None, v1_signature(record))
        finding.add(cell, None, non_matching, record["worst"], True)
        finding.crash |= record["verdict"] == "crash"


def _add_v1_registry(runs: list[Run], found: dict, entry_finding) -> None:
    """A /1 file names only each record's worst example's entry; its registry counts what
    every entry explained. Entries that explained examples but are no record's worst are
    findings too, and a /1 entry's example count is the registry's."""
    for run in runs:
        if not run.predates_regimes:
            continue
        for entry in run.results.registry:
            diverged = entry.get("diverged", entry.get("examples")) or 0
            if entry["status"] == "stale" or not diverged:
                continue
            finding = entry_finding(run, entry["id"], None)
            if not finding.runs:
                finding.runs[run.label] = None
                finding.regimes[None] += diverged
                finding.examples += diverged


def headline_totals(rows: list[Row]) -> dict[str, int]:
    """Cells per mark (the ordinary-inputs verdict; a /1 record's overall verdict)."""
    counts = Counter(cell.headline for row in rows for cell in row.cells if cell)
    return {verdict: counts.get(verdict, 0) for verdict in (*VERDICTS, "none")}


def stale_entries(runs: list[Run]) -> list[tuple[Run, dict[str, Any]]]:
    return [
        (run, entry) for run in runs for entry in run.results.registry if entry["status"] == "stale"
    ]


def build_mapping(runs: list[Run]) -> tuple[list[str], list[MappingRow]]:
    """Canonical config × framework → the distinct mapping entries, each with its run labels.

    Versions of one framework usually map a config the same way; they share one entry then,
    and the version labels appear only where versions differ.
    """
    frameworks = sorted({run.info["framework"] for run in runs})
    rows: dict[str, MappingRow] = {}
    for run in runs:
        for entry in _mapping_entries(run):
            row = rows.setdefault(entry["config_id"], MappingRow(entry["loss"], entry["config_id"]))
            variants = row.by_framework.setdefault(run.info["framework"], [])
            content = _mapping_content(entry)
            for position, (labels, existing) in enumerate(variants):
                if _mapping_content(existing) == content:
                    variants[position] = (f"{labels}, {run.label}", existing)
                    break
            else:
                variants.append((run.label, entry))
    ordered = sorted(rows.values(), key=lambda r: (r.loss, natural_key(r.config_id)))
    return frameworks, ordered


def _mapping_content(entry: dict[str, Any]) -> tuple:
    return (
        entry.get("native"),
        entry.get("composition"),
        tuple(entry.get("conversions") or ()),
        entry.get("not_offered"),
    )


def _mapping_entries(run: Run) -> list[dict[str, Any]]:
    """The run's mapping, completed from its records for configs the mapping does not list.

    A run that died before writing its mapping still shows the native calls it made.
    """
    entries = {entry["config_id"]: entry for entry in run.results.mapping}
    for record in run.results.records:
        if record["config_id"] in entries:
            continue
        offered = record["verdict"] != "not-offered"
        entries[record["config_id"]] = {
            "loss": record["loss"],
            "config_id": record["config_id"],
            "params": record["params"],
            "native": record["native"],
            "composition": record["composition"],
            "conversions": [],
            "not_offered": None if offered else "not offered (no reason recorded)",
        }
    return list(entries.values())


def build_report(results: list[Results]) -> Report:
    runs = label_runs(results)
    columns = build_columns(runs)
    rows = build_rows(columns)
    frameworks, mapping = build_mapping(runs)
    return Report(
        findings=build_findings(runs, rows),
        runs=runs,
        columns=columns,
        header_rows=build_header_rows(columns),
        rows=rows,
        frameworks=frameworks,
        mapping=mapping,
        failures=failures(rows),
        stale=stale_entries(runs),
        verdict_totals=headline_totals(rows),
    )
