"""What the HTML report shows, computed from results files: runs, matrix, mapping, summaries.

The templates only lay this out; every decision about order, grouping and what counts as a
failure is made here, where it can be tested without parsing HTML.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .schema import Results
from .verdicts import FAILING, VERDICTS

DTYPE_ORDER = ("float64", "float32", "float16", "bfloat16")
DTYPE_SHORT = {"float64": "f64", "float32": "f32", "float16": "f16", "bfloat16": "bf16"}
MODE_ORDER = ("eager", "jit")
DEVICE_ORDER = ("cpu",)


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

    @property
    def where(self) -> str:
        return f"{self.device} · {self.dtype} · {self.mode}"


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
    def known_failure(self) -> bool:
        """A failing verdict the registry expects (a known bug): marked, but not a run failure."""
        return bool(self.record["known"]) and self.verdict in FAILING

    @property
    def value_ulp(self) -> float | None:
        return (self.record["worst"] or {}).get("value_ulp")

    @property
    def grad_ulp(self) -> float | None:
        return (self.record["worst"] or {}).get("grad_ulp")


@dataclass
class Row:
    loss: str
    config_id: str
    family: str | None
    cells: list[Cell | None]

    @property
    def failing(self) -> bool:
        return any(cell and cell.verdict in FAILING for cell in self.cells)

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

    @property
    def cells(self) -> list[Cell]:
        return [cell for row in self.rows for cell in row.cells if cell]


def label_runs(results: list[Results]) -> list[Run]:
    """Runs in framework then version order, each labelled "framework version" (made unique)."""
    ordered = sorted(
        results, key=lambda r: (r.run["framework"], natural_key(str(r.run["framework_version"])))
    )
    seen: Counter[str] = Counter(result.label for result in ordered)
    taken: Counter[str] = Counter()
    runs = []
    for index, result in enumerate(ordered):
        label = result.label
        if seen[label] > 1:
            taken[label] += 1
            label = f"{label} #{taken[label]}"
        runs.append(Run(index, label, result))
    return runs


def build_columns(runs: list[Run]) -> list[Column]:
    columns = []
    for run in runs:
        keys = {(r["device"], r["dtype"], r["mode"]) for r in run.results.records}
        ordered = sorted(
            keys,
            key=lambda k: (
                order_key(k[0], DEVICE_ORDER),
                order_key(k[1], DTYPE_ORDER),
                order_key(k[2], MODE_ORDER),
            ),
        )
        columns.extend(
            Column(run, device, dtype, mode, starts_run=position == 0)
            for position, (device, dtype, mode) in enumerate(ordered)
        )
    return columns


def build_header_rows(columns: list[Column]) -> list[list[HeaderGroup]]:
    """Grouped header rows: run, then device, then dtype; the mode row is one cell per column."""
    levels = (
        lambda c: (c.run.index,),
        lambda c: (c.run.index, c.device),
        lambda c: (c.run.index, c.device, c.dtype),
    )
    labels = (
        lambda c: c.run.label,
        lambda c: c.device,
        lambda c: DTYPE_SHORT.get(c.dtype, c.dtype),
    )
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
        (column.run.index, column.device, column.dtype, column.mode): index
        for index, column in enumerate(columns)
    }
    rows: dict[tuple[str, str], Row] = {}
    for run in dict.fromkeys(column.run for column in columns):
        for record in run.results.records:
            index = position[(run.index, record["device"], record["dtype"], record["mode"])]
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
        runs=runs,
        columns=columns,
        header_rows=build_header_rows(columns),
        rows=rows,
        frameworks=frameworks,
        mapping=mapping,
        failures=failures(rows),
        stale=stale_entries(runs),
        verdict_totals={v: sum(run.results.summary[v] for run in runs) for v in VERDICTS},
    )
